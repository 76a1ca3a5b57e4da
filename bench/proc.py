"""CPU time and memory of processes, read from /proc (Linux): the figures read them from outside,
the same way for the app process and for the bare-LangGraph floor."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")  # /proc/<pid>/stat counts CPU time in these


@dataclass(frozen=True)
class Times:
    """Seconds of CPU: the process's own (all its threads), and of its reaped children."""

    own: float
    children: float


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after `(comm)`: [0] is the state (field 3), [1] the
    parent pid, [11] utime, [12] stime, [13] cutime, [14] cstime. None: the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2 :].split()


def times(pid: int) -> Times | None:
    fields = _stat(pid)
    if fields is None:
        return None
    own = int(fields[11]) + int(fields[12])
    children = int(fields[13]) + int(fields[14])
    return Times(own / TICK, children / TICK)


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (every thread), in seconds."""
    found = times(pid)
    if found is None:
        raise ProcessLookupError(pid)
    return found.own


@dataclass(frozen=True)
class Memory:
    rss: int  # VmRSS: resident now, bytes
    peak: int  # VmHWM: the highest resident size since the process started, bytes


def memory(pid: int) -> Memory:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return Memory(values["VmRSS"], values["VmHWM"])


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def postmasters() -> list[int]:
    """The PostgreSQL servers on this machine: `postgres` processes whose parent is not one."""
    found = []
    for pid in _pids():
        if _comm(pid) != "postgres":
            continue
        fields = _stat(pid)
        if fields is not None and _comm(int(fields[1])) != "postgres":
            found.append(pid)
    return found


def postgres_cpu() -> float | None:
    """CPU seconds PostgreSQL has used: utime + stime of every postgres process (the postmaster
    and its children now: backends, checkpointer, WAL writer, …) plus the postmaster's cutime +
    cstime (the children it has reaped: backends that exited). A delta of two readings is the
    server's CPU between them, backends that came or went meanwhile included. The whole
    server's: other databases' work counts too. None when no server runs on this machine."""
    masters = set(postmasters())
    if not masters:
        return None
    total = 0.0
    for pid in _pids():
        fields = _stat(pid)
        if fields is None:
            continue
        if pid in masters:
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICK
        elif int(fields[1]) in masters:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def cpu_of(pids: list[int]) -> dict[int, float]:
    """utime + stime of each process still there, in seconds."""
    out = {}
    for pid in pids:
        found = times(pid)
        if found is not None:
            out[pid] = found.own
    return out

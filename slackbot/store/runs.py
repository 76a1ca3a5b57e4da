"""A run's own progress, written by the process that holds its lease, and the leases."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from slackbot.store.backends import Tx
from slackbot.store.core import StoreBase
from slackbot.store.models import Decision, Outcome, Review, ReviewStatus, Run


class RunLimitReached(Exception):
    """The person (`whose` = "user") or the channel ("channel") has as many runs in flight
    (running or waiting for people) as allowed: no run was created."""

    def __init__(self, whose: str, limit: int) -> None:
        super().__init__(whose, limit)
        self.whose = whose
        self.limit = limit


@dataclass(frozen=True)
class StepRequest:
    """One thing a step waits for: an interrupt (key = its id) or a pause (key = checkpoint)."""

    key: str
    kind: str
    value: Any  # JSON-plain
    response_schema: dict[str, Any] | None = None


class RunsMixin(StoreBase):
    # -- the run's own progress (written by the lease holder) --------------------------------

    async def create_run(
        self,
        *,
        team_id: str,
        channel_id: str,
        started_by: str,
        topic: str,
        graph: str = "orchestrate",
        graph_input: Any = None,
        limits: tuple[int, int] | None = None,
    ) -> Run:
        """A new run, leased to this process. `limits`: (per person, per channel) runs in
        flight, counted in the same transaction; RunLimitReached when one is reached."""
        now = self.clock()
        async with self.db.transaction() as tx:
            if limits is not None:
                await self._check_limits(tx, team_id, channel_id, started_by, limits)
            row = await tx.fetchone(
                "INSERT INTO orchestrate_runs (run_id, team_id, channel_id, started_by, topic,"
                " graph, input, status, phase, lease_owner, lease_until, created_at, updated_at)"
                " VALUES (%(run_id)s, %(team_id)s, %(channel_id)s, %(started_by)s, %(topic)s,"
                " %(graph)s, %(input)s, 'running', 'planning', %(owner)s, %(until)s, %(now)s,"
                " %(now)s) RETURNING *",
                {
                    "run_id": uuid.uuid4().hex,
                    "team_id": team_id,
                    "channel_id": channel_id,
                    "started_by": started_by,
                    "topic": topic,
                    "graph": graph,
                    "input": json.dumps(graph_input),
                    "owner": self.owner,
                    "until": now + self.lease_seconds,
                    "now": now,
                },
            )
        assert row is not None
        return Run.from_row(row)

    async def _check_limits(
        self, tx: Tx, team_id: str, channel_id: str, user_id: str, limits: tuple[int, int]
    ) -> None:
        """Count and (the caller) insert under a lock per person and per channel, held to the
        commit: two starts at once on two replicas would otherwise both count one short.
        Taken in one order (by number) everywhere, so two starts never wait for each other."""
        if self.db.xact_lock:
            for key in sorted(
                {_lock_key("user", team_id, user_id), _lock_key("channel", team_id, channel_id)}
            ):
                await tx.execute(self.db.xact_lock, {"key": key})
        live = " AND team_id = %(team)s AND status IN ('running', 'waiting')"
        row = await tx.fetchone(
            "SELECT (SELECT COUNT(*) FROM orchestrate_runs WHERE started_by = %(user)s"
            f"{live}) AS mine, (SELECT COUNT(*) FROM orchestrate_runs WHERE channel_id ="
            f" %(channel)s{live}) AS here",
            {"user": user_id, "team": team_id, "channel": channel_id},
        )
        assert row is not None
        per_user, per_channel = limits
        if int(row["mine"]) >= per_user:
            raise RunLimitReached("user", per_user)
        if int(row["here"]) >= per_channel:
            raise RunLimitReached("channel", per_channel)

    async def delete_run(self, run_id: str) -> None:
        """Only for a run that never got a root message: nothing of it reached Slack."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM orchestrate_runs WHERE run_id = %(run_id)s AND root_ts IS NULL",
                {"run_id": run_id},
            )

    async def set_root_ts(self, run_id: str, ts: str) -> None:
        await self._update_run(run_id, {"root_ts": ts})

    async def set_message_ts(self, review_id: str, ts: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE orchestrate_reviews SET message_ts = %(ts)s WHERE review_id = %(id)s",
                {"ts": ts, "id": review_id},
            )

    async def open_step(self, run_id: str, requests: list[StepRequest]) -> tuple[Run, list[Review]]:
        """Record what the graph paused on (interrupts, or a breakpoint) as a new step's reviews;
        returns the run and its step's reviews.

        Keys already known (a restart re-reading the same pause) are not added again.
        The run stays `running` under this lease until its reviews are posted (`end_posting`).
        """
        async with self.db.transaction() as tx:
            run = await self._lock_held_run(tx, run_id)
            known = {
                row["interrupt_id"]
                for row in await tx.fetchall(
                    "SELECT interrupt_id FROM orchestrate_reviews WHERE run_id = %(run_id)s",
                    {"run_id": run_id},
                )
            }
            new = [request for request in requests if request.key not in known]
            if new:
                step = run.step + 1
                for position, request in enumerate(new):
                    await tx.execute(
                        "INSERT INTO orchestrate_reviews (review_id, run_id, step, interrupt_id,"
                        " position, request, status, kind, response_schema) VALUES (%(id)s,"
                        " %(run_id)s, %(step)s, %(iid)s, %(position)s, %(request)s, 'pending',"
                        " %(kind)s, %(schema)s)",
                        {
                            "id": uuid.uuid4().hex,
                            "run_id": run_id,
                            "step": step,
                            "iid": request.key,
                            "position": position,
                            "request": json.dumps(request.value),
                            "kind": request.kind,
                            "schema": (
                                json.dumps(request.response_schema)
                                if request.response_schema is not None
                                else None
                            ),
                        },
                    )
                await self._apply_rules(tx, run, step)
                row = await tx.fetchone(
                    "UPDATE orchestrate_runs SET step = %(step)s, phase = 'waiting',"
                    " updated_at = %(now)s WHERE run_id = %(run_id)s RETURNING *",
                    {"step": step, "now": self.clock(), "run_id": run_id},
                )
                assert row is not None
                run = Run.from_row(row)
            return run, await self._step(tx, run)

    async def end_posting(self, run_id: str, posted: Mapping[str, str] = {}) -> Decision:
        """The step's reviews are all posted (`posted`: the message ts of each review posted
        now, by review id): wait for people, or resume now if all were answered meanwhile."""
        async with self.db.transaction() as tx:
            run = await self._lock_held_run(tx, run_id)
            for review_id, ts in posted.items():
                await tx.execute(
                    "UPDATE orchestrate_reviews SET message_ts = %(ts)s WHERE review_id = %(id)s",
                    {"ts": ts, "id": review_id},
                )
            step = await self._step(tx, run)
            decided, total = sum(r.status == ReviewStatus.DECIDED for r in step), len(step)
            if total and decided == total:
                await self._claim(tx, run_id)  # answered while we were still posting
                return Decision(
                    Outcome.RECORDED,
                    run=run,
                    decided=decided,
                    total=total,
                    resume=True,
                    step=tuple(step),
                )
            now = self.clock()
            expire_after, remind_after = self._step_times(step)  # the rules may override them
            row = await tx.fetchone(
                "UPDATE orchestrate_runs SET status = 'waiting', lease_owner = NULL,"
                " lease_until = NULL, updated_at = %(now)s, waiting_since = %(now)s,"
                " expires_at = %(expires)s, remind_at = %(remind)s, reminders_sent = 0,"
                " remind_claimed_until = NULL, remind_every = %(every)s, escalated_at = NULL"
                " WHERE run_id = %(run_id)s RETURNING *",
                {
                    "now": now,
                    "run_id": run_id,
                    "expires": now + expire_after if expire_after else None,
                    "remind": now + remind_after if remind_after else None,
                    "every": remind_after,
                },
            )
        assert row is not None
        return Decision(Outcome.RECORDED, run=Run.from_row(row), decided=decided, total=total)

    async def finish(self, run_id: str, result: Any = None, summary_ts: str | None = None) -> None:
        """The graph ended: keep its result (its output values, JSON-plain) and the ts of the
        message that shows it."""
        await self._update_run(
            run_id,
            {
                "status": "done",
                "phase": "done",
                "result": json.dumps(result),
                "summary_ts": summary_ts,
                "lease_owner": None,
                "lease_until": None,
            },
            held=True,
        )

    async def fail(self, run_id: str, error: str) -> Run:
        return await self._update_run(
            run_id,
            {
                "status": "failed",
                "phase": "failed",
                "error": error,
                "lease_owner": None,
                "lease_until": None,
            },
            held=True,
        )

    async def renew_leases(self, run_ids: Collection[str]) -> set[str]:
        """Extend this process's leases on these runs, in one statement however many there are;
        returns those another process has taken over meanwhile (their drivers must stop).
        Only the runs named: one this process abandoned (a crashed start) must expire."""
        ids = json.dumps(sorted(run_ids))
        async with self.db.transaction() as tx:
            renewed = await tx.fetchall(
                "UPDATE orchestrate_runs SET lease_until = %(until)s"
                f" WHERE run_id {self.db.in_json('ids')} AND lease_owner = %(owner)s"
                " AND status = 'running' RETURNING run_id",
                {"until": self.clock() + self.lease_seconds, "ids": ids, "owner": self.owner},
            )
            if len(renewed) == len(run_ids):
                return set()
            # The others are either over (waiting, done, failed: nothing to stop) or taken.
            taken = await tx.fetchall(
                f"SELECT run_id FROM orchestrate_runs WHERE run_id {self.db.in_json('ids')}"
                " AND status = 'running' AND lease_owner <> %(owner)s",
                {"ids": ids, "owner": self.owner},
            )
        return {row["run_id"] for row in taken}

    async def claim_expired(self, limit: int = 20) -> list[Run]:
        """Runs whose driver died (lease expired): this process takes them over."""
        now = self.clock()
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE orchestrate_runs SET lease_owner = %(owner)s, lease_until = %(until)s"
                " WHERE run_id IN (SELECT run_id FROM orchestrate_runs WHERE status = 'running'"
                " AND (lease_until IS NULL OR lease_until < %(now)s) ORDER BY updated_at"
                f" LIMIT %(limit)s{self.db.skip_locked}) RETURNING *",
                {
                    "owner": self.owner,
                    "until": now + self.lease_seconds,
                    "now": now,
                    "limit": limit,
                },
            )
        return [Run.from_row(row) for row in rows]

    async def claim_failed(self, run_id: str) -> Run | None:
        """Retry: a failed run goes back to `running` under this process's lease."""
        now = self.clock()
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE orchestrate_runs SET status = 'running', phase = 'resuming', error = NULL,"
                " lease_owner = %(owner)s, lease_until = %(until)s, updated_at = %(now)s"
                " WHERE run_id = %(run_id)s AND status = 'failed' RETURNING *",
                {
                    "owner": self.owner,
                    "until": now + self.lease_seconds,
                    "now": now,
                    "run_id": run_id,
                },
            )
        return Run.from_row(row) if row else None

    async def release_leases(self) -> None:
        """At shutdown: let another process take this one's runs at once."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE orchestrate_runs SET lease_until = 0 WHERE lease_owner = %(owner)s"
                " AND status = 'running'",
                {"owner": self.owner},
            )


def _lock_key(*parts: str) -> int:
    """A stable signed 64-bit number for an advisory lock named by `parts`."""
    digest = hashlib.sha256("\x1f".join(("orchestrate-limit", *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)

"""The results table: a figure's rows, the way their numbers are written, and the Markdown."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def row(figure: str, measured: str, floor: str, ratio: float | str, target: str, met: bool) -> Row:
    """One row; a number for `ratio` is written as `1.23×`."""
    return {
        "figure": figure,
        "measured": measured,
        "floor": floor,
        "ratio": ratio if isinstance(ratio, str) else f"{ratio:.2f}×",
        "target": target,
        "met": met,
    }


def ratio(measured: float, floor: float) -> float:
    return measured / floor if floor else float("inf")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def mb(size: float) -> str:
    return f"{size / 2**20:.1f} MB"


def kb(size: float) -> str:
    return f"{size / 1024:.1f} kB"


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | measured | floor (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "✅" if r["met"] else "❌ missed"
        cells = [r["figure"], r["measured"], r["floor"], r["ratio"], r["target"], met]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

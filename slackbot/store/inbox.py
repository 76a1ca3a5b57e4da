"""Reads for people looking for what waits: a channel's runs waiting for answers
(`/orchestrate status`) and the open reviews one person may answer (the App Home)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slackbot.store.core import StoreBase
from slackbot.store.models import Review, Run

# A review is open while its run waits on its step and nobody has answered it yet.
_OPEN = (
    " FROM orchestrate_reviews v JOIN orchestrate_runs r ON r.run_id = v.run_id"
    " WHERE r.status = 'waiting' AND v.step = r.step"
    " AND v.status IN ('pending', 'awaiting_notes')"
)
# A channel's waiting runs: its own, and those whose open reviews a rule posted in it.
_CHANNEL_WAITING = (
    " FROM orchestrate_runs r WHERE r.team_id = %(team)s AND r.status = 'waiting'"
    " AND (r.channel_id = %(channel)s OR r.run_id IN (SELECT v.run_id FROM orchestrate_reviews v"
    " WHERE v.channel_id = %(channel)s AND v.status IN ('pending', 'awaiting_notes')))"
)
_NEWEST = "COALESCE(r.waiting_since, r.updated_at) DESC"  # see _since
# Without approvers a person's own reviews: runs they started, revisions waiting for their notes
# (the IN lets the database start from the person's runs, not from every waiting run).
_THEIRS = (
    " AND (r.started_by = %(user)s OR v.notes_requested_by = %(user)s) AND v.run_id IN"
    " (SELECT run_id FROM orchestrate_runs WHERE started_by = %(user)s AND status = 'waiting'"
    " UNION SELECT run_id FROM orchestrate_reviews WHERE notes_requested_by = %(user)s"
    " AND status = 'awaiting_notes')"
)


@dataclass(frozen=True)
class WaitingRun:
    run: Run
    decided: int  # answers in for the current step
    total: int  # reviews of the current step
    since: float  # when the step began to wait
    review_ts: str | None = None  # a run from another channel: its review posted in this one
    review_channel: str | None = None  # …and this channel


@dataclass(frozen=True)
class Ruled:
    """Which reviews a person may answer when rules exist (people.answers)."""

    approves: list[str]  # rules whose approvers include them
    escalated: list[str]  # rules whose escalate_to include them (once a run escalated)
    unruled: bool  # ORCHESTRATE_APPROVERS (or their own runs) let them answer the others


@dataclass(frozen=True)
class OpenReview:
    review: Review
    run: Run
    since: float  # when its step began to wait


def _since(row: dict[str, Any]) -> float:
    # Runs that began to wait before migration 0004 have no waiting_since: their updated_at
    # is when (end_posting wrote it, and nothing writes it while they wait).
    return float(row.get("waiting_since") or row["updated_at"])


class InboxMixin(StoreBase):
    async def waiting_runs(
        self, team_id: str, channel_id: str, limit: int
    ) -> tuple[list[WaitingRun], int]:
        """This channel's runs waiting for people, newest first (at most `limit`), and how
        many there are in all."""
        params = {"team": team_id, "channel": channel_id, "limit": limit}
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT r.*,"
                " (SELECT COUNT(*) FROM orchestrate_reviews v WHERE v.run_id = r.run_id"
                " AND v.step = r.step) AS step_total,"
                " (SELECT COUNT(*) FROM orchestrate_reviews v WHERE v.run_id = r.run_id"
                " AND v.step = r.step AND v.status = 'decided') AS step_decided,"
                " (SELECT MIN(v.message_ts) FROM orchestrate_reviews v WHERE v.run_id = r.run_id"
                " AND v.step = r.step AND v.channel_id = %(channel)s"
                " AND v.status IN ('pending', 'awaiting_notes')) AS routed_ts"
                f"{_CHANNEL_WAITING} ORDER BY {_NEWEST}, r.run_id LIMIT %(limit)s",
                params,
            )
            count = await tx.fetchone(f"SELECT COUNT(*) AS n{_CHANNEL_WAITING}", params)
        assert count is not None
        runs = [
            WaitingRun(
                Run.from_row(r), int(r["step_decided"]), int(r["step_total"]), _since(r),
                *((r["routed_ts"], channel_id) if r["channel_id"] != channel_id else ()),
            )
            for r in rows
        ]  # fmt: skip
        return runs, int(count["n"])

    async def open_reviews_for(
        self, user_id: str | None, limit: int, ruled: Ruled | None = None
    ) -> tuple[list[OpenReview], int]:
        """Open reviews across channels, newest first (at most `limit`), and how many there are
        in all: every one (`user_id` None, for an approver), or the person's own. With rules
        (`ruled`), a review a rule covers is listed only for the people that rule lets answer
        it, whatever `user_id` says: the rules they approve for, and those they were escalated
        to once the run escalated. `unruled` False: no review without a rule is listed."""
        theirs = _THEIRS if user_id is not None else ""
        params: dict[str, Any] = {"user": user_id, "limit": limit}
        if ruled is not None:
            unruled = f" AND v.rule IS NULL{theirs}" if ruled.unruled else " AND FALSE"
            theirs = (
                f" AND (TRUE{unruled} OR v.rule {self.db.in_json('approves')}"
                f" OR (r.escalated_at IS NOT NULL AND v.rule {self.db.in_json('escalated')}))"
            )
            params |= {
                "approves": json.dumps(ruled.approves),
                "escalated": json.dumps(ruled.escalated),
            }
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT v.*{_OPEN}{theirs} ORDER BY {_NEWEST}, r.run_id, v.position"
                " LIMIT %(limit)s",
                params,
            )
            count = await tx.fetchone(f"SELECT COUNT(*) AS n{_OPEN}{theirs}", params)
            ids = list(dict.fromkeys(row["run_id"] for row in rows))
            names = {f"run{i}": run_id for i, run_id in enumerate(ids)}
            runs = (
                await tx.fetchall(
                    "SELECT * FROM orchestrate_runs WHERE run_id IN"
                    f" ({', '.join(f'%({name})s' for name in names)})",
                    names,
                )
                if ids
                else []
            )
        assert count is not None
        by_id = {row["run_id"]: row for row in runs}
        found = []
        for row in rows:
            run_row = by_id[row["run_id"]]  # read in the same transaction: always there
            found.append(OpenReview(Review.from_row(row), Run.from_row(run_row), _since(run_row)))
        return found, int(count["n"])

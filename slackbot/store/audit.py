"""The audit log: who answered what, when, under which rule; refusals, cancels, expiries and
escalations too. Append-only, written by the store in the transaction of what it records."""

from __future__ import annotations

import json
import uuid
from typing import Any

from slackbot.store.backends import Tx
from slackbot.store.core import StoreBase
from slackbot.store.models import Review, Run

COLUMNS = ("at", "actor", "action", "run_id", "graph", "review_id", "rule", "shown", "answer",
           "detail")  # fmt: skip


async def record(
    tx: Tx,
    at: float,
    action: str,
    run: Run,
    *,
    actor: str | None = None,
    review: Review | None = None,
    answer: Any = None,
    detail: Any = None,
) -> None:
    """One line of the log. `review`: what was shown (its request); for an Edit the detail
    holds the arguments before and after."""
    if detail is None and review is not None:
        detail = edit_of(review.request, answer)
    await tx.execute(
        "INSERT INTO orchestrate_audit (id, at, actor, action, run_id, graph, review_id, rule,"
        " shown, answer, detail) VALUES (%(id)s, %(at)s, %(actor)s, %(action)s, %(run_id)s,"
        " %(graph)s, %(review_id)s, %(rule)s, %(shown)s, %(answer)s, %(detail)s)",
        {
            "id": uuid.uuid4().hex,
            "at": at,
            "actor": actor,
            "action": action,
            "run_id": run.run_id,
            "graph": run.graph,
            "review_id": review.review_id if review else None,
            "rule": review.rule if review else None,
            "shown": json.dumps(review.request) if review else None,
            "answer": json.dumps(answer) if answer is not None else None,
            "detail": json.dumps(detail) if detail is not None else None,
        },
    )


def edit_of(request: Any, answer: Any) -> dict[str, Any] | None:
    """{"before": …, "after": …} when the answer edits what was shown, else None."""
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]  # an Agent Inbox response
    if not isinstance(answer, dict) or "edit" not in (answer.get("type"), answer.get("action")):
        return None
    if isinstance(request, list) and len(request) == 1:
        request = request[0]
    request = request if isinstance(request, dict) else {}
    if answer.get("action") == "edit":  # a breakpoint: the state's values
        return {"before": request.get("values"), "after": answer.get("values")}
    action = request.get("action", request)
    if "action_request" in request:
        action = request["action_request"]
    after = (answer.get("edited_action") or {}).get("args", answer.get("args"))
    return {"before": action.get("args"), "after": after}


class AuditMixin(StoreBase):
    async def audit_log(
        self, since: float | None = None, run_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The log, oldest first; JSON columns read back as values."""
        where = [("at >= %(since)s", since), ("run_id = %(run_id)s", run_id)]
        chosen = " AND ".join(test for test, value in where if value is not None) or "TRUE"
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT {', '.join(COLUMNS)} FROM orchestrate_audit WHERE {chosen}"
                " ORDER BY at, id",
                {"since": since, "run_id": run_id},
            )
        for row in rows:
            for key in ("shown", "answer", "detail"):
                row[key] = json.loads(row[key]) if row[key] is not None else None
        return rows

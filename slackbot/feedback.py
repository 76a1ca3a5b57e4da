"""Feedback on answers: each final answer of a conversation (a `messages` graph's turn) carries
Slack's feedback buttons; a click is stored as that person's opinion of that answer, a second
click replaces the first, and /metrics counts the current opinions (metrics.Opinions)."""

from __future__ import annotations

import logging
from typing import Any

from slackbot.store import Store

log = logging.getLogger(__name__)

ACTION_FEEDBACK = "feedback"
GOOD, BAD = "good", "bad"
OPINIONS = (GOOD, BAD)
NOT_TAKEN = "I can't take this feedback: the answer belongs to an old or deleted run."
_BLOCK = "feedback:"  # + the run id: the block_id names the run the answer belongs to


def feedback_block(run_id: str) -> dict[str, Any]:
    """A `context_actions` block with Slack's thumbs up / down (`feedback_buttons`)."""
    return {
        "type": "context_actions",
        "block_id": _BLOCK + run_id,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": ACTION_FEEDBACK,
                "positive_button": _button("Good answer", GOOD),
                "negative_button": _button("Bad answer", BAD),
            }
        ],
    }


def _button(label: str, value: str) -> dict[str, Any]:
    return {
        "text": {"type": "plain_text", "text": label},
        "value": value,
        "accessibility_label": label,
    }


def run_of(block_id: str) -> str:
    return block_id[len(_BLOCK) :] if block_id.startswith(_BLOCK) else ""


class Feedback:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(
        self,
        block_id: str,
        value: str,
        user_id: str,
        message_ts: str,
        where: tuple[str, str],
    ) -> str | None:
        """A click on an answer's feedback buttons: stored (replacing that person's earlier
        opinion of it); a one-line notice when it cannot be (else None)."""
        run = await self.store.get_run(run_of(block_id))
        if run is None or value not in OPINIONS or not message_ts or run.elsewhere(*where):
            return NOT_TAKEN
        await self.store.record_opinion(run.run_id, run.channel_id, message_ts, user_id, value)
        log.info("feedback on %s: %s", message_ts, value)
        return None

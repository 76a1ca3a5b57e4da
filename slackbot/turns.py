"""A conversation's turn handed to its graph exactly once.

Each person's message goes to the graph as a user message whose id names the Slack message
(`slack:<channel>:<ts>`): a driver that takes a turn over after a crash reads the checkpoint, sees
whether the message is already in the graph's `messages`, and then only carries on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slackbot.engine.base import Engine, GraphState
from slackbot.store import Run, Store
from slackbot.store.messages import Said


def message_id(channel_id: str, ts: str) -> str:
    return f"slack:{channel_id}:{ts}"


def user_message(said: Said, text: str | None = None) -> dict[str, Any]:
    return {
        "role": "user",
        "content": said.text if text is None else text,
        "id": message_id(said.channel_id, said.ts),
    }


def _ids(messages: Any) -> set[str]:
    found = set()
    for message in messages if isinstance(messages, list) else ():
        ident = message.get("id") if isinstance(message, dict) else getattr(message, "id", None)
        if isinstance(ident, str):
            found.add(ident)
    return found


async def hand_over(
    engine: Engine,
    store: Store,
    run: Run,
    start: Callable[[Any], Awaitable[GraphState | None]],
) -> GraphState | None:
    """Give the graph the message of the run's current turn (`start(input)`: the driver runs
    that step, streamed), unless it has it already; the state it stopped in, when known (None:
    read it)."""
    said = await store.turn_message(run)
    if said is None:
        return None
    state = await engine.state(run.run_id)
    wanted = message_id(said.channel_id, said.ts)
    if state.started and wanted in _ids(state.values.get("messages")):
        return state  # given before a crash: the graph carries on from its checkpoint
    # The first turn's input is the run's own (it may carry the thread's earlier messages).
    first = isinstance(run.input, dict) and wanted in _ids(run.input.get("messages"))
    graph_input = run.input if first else {"messages": [user_message(said)]}
    return await start(graph_input)

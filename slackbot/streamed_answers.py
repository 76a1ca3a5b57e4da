"""A step shown as it runs (streamed by slackbot/live.py), and a turn's answer: the message
its last step streamed when that ended as the answer, else the result posted once. Stop on a
streamed message cancels the run as its Cancel button would."""

from __future__ import annotations

import dataclasses
import logging

from slackbot import blocks
from slackbot.catalog import Catalog, HostedGraph
from slackbot.due import DueWork
from slackbot.engine.base import Engine, GraphState
from slackbot.engine.events import Step, final_state
from slackbot.engine.plain import to_plain
from slackbot.feedback import feedback_block
from slackbot.inbox import Inbox
from slackbot.live import Answer, Live
from slackbot.metrics import Metrics
from slackbot.store import Run, Store
from slackbot.streaming import View
from slackbot.thread import SUMMARY_EVENT, SlackThread, result_metadata

log = logging.getLogger(__name__)


class StreamedAnswers:
    """The Driver's steps and answers (its state is set by Driver.__init__)."""

    store: Store
    catalog: Catalog
    thread: SlackThread
    metrics: Metrics
    inbox: Inbox
    due: DueWork
    live: Live | None
    # run id → (its turn's result key, the streamed message that is that turn's answer)
    _streamed_answers: dict[str, tuple[str, str]]

    async def _cancel_stopped(self, run: Run) -> None:
        """Stop on the streamed answer cancels the run, as its Cancel button would (by the
        person it streamed to: only they see Stop)."""
        log.info("run %s: stopped in Slack by %s", run.run_id, run.started_by)
        cancelled, closed, owed = await self.store.cancel_running(run.run_id, run.started_by)
        if cancelled is None:
            return
        self.metrics.run_ended("cancelled")
        self.inbox.refresh(self.inbox.concerned(cancelled, *closed))
        await self.due.outbox.do(owed)

    async def _run_step(self, engine: Engine, run: Run, step: Step) -> GraphState | None:
        """Run a step of the graph; the state it stopped in when known (`Done`'s). A step of a
        `messages` graph that ends the turn leaves its streamed message as the turn's answer."""
        events = engine.events(run.run_id, step)
        if self.live is None:
            return await final_state(events)
        messages = self.catalog[run.graph].inputs.messages
        key, number = run.result_key, run.step  # a conversation's turns each stream anew

        async def saved(ts: str) -> None:
            await self.store.save_live_message(key, number, ts)

        async def ending(state: GraphState | None, view: View) -> Answer | None:
            if state is None:
                state = await engine.state(run.run_id)
            text = blocks.last_ai_text(to_plain(state.values)) if state.done else None
            if text and view.text.rstrip().endswith(text.strip()):
                return answer_end(run)
            return None

        shown = await self.store.live_message(key, number)  # a crash cut it short
        state, writer, answered = await self.live.run_step(
            run, events, messages=messages, ts=shown, on_ts=saved,
            ending=ending if messages else None,
        )  # fmt: skip
        if writer.stopped_by_user:
            raise StoppedByUser(run)
        if answered and writer.ts:
            self._streamed_answers[run.run_id] = (key, writer.ts)
        return state

    async def _finish(
        self, run: Run, graph: HostedGraph, values: dict, recovering: bool
    ) -> Run | None:
        result = to_plain(values)
        if not run.summary_ts:
            ts = await self._answer(run, graph, values, recovering)
            run = dataclasses.replace(run, summary_ts=ts)
        next_turn = await self.store.finish_turn(run.run_id, result, run.summary_ts)
        if next_turn is not None:
            await self.thread.show_root(next_turn)
            return next_turn
        self.metrics.run_ended("finished")
        await self.thread.show_root(dataclasses.replace(run, phase="done"))
        return None

    async def _answer(self, run: Run, graph: HostedGraph, values: dict, recovering: bool) -> str:
        """The turn's answer: the message its last step streamed, when that ended as the
        answer; else the result message (the summary, for the built-in graph), posted once."""
        key, ts = self._streamed_answers.pop(run.run_id, ("", ""))
        if ts and key == run.result_key:
            return ts
        already = await self.thread.find_posted(run, SUMMARY_EVENT) if recovering else {}
        if run.result_key in already:
            return already[run.result_key]
        messages = graph.inputs.messages
        text = blocks.last_ai_text(to_plain(values)) if messages else None
        shown = await self.store.live_message(run.result_key, run.step) if recovering else None
        if self.live is not None and text and shown:  # the app stopped before it ended it
            await self.live.finish(run, shown, text, answer_end(run))
            return shown
        if graph.builtin:
            message = blocks.summary_message(
                values.get("summary", ""), values.get("plan_note", ""), self.thread.model
            )
        else:
            message = blocks.result_message(to_plain(values), graph.outputs)
            if messages:
                message.blocks.append(feedback_block(run.run_id))
        return await self.thread.post_result(run, message)


class StoppedByUser(Exception):
    """A person pressed Stop on the run's streamed message: the turn is cancelled."""

    def __init__(self, run: Run) -> None:
        super().__init__(run.run_id)
        self.run = run


def answer_end(run: Run) -> Answer:
    """What ends a message that is a turn's answer: the feedback buttons, and the metadata
    that finds it again after a restart."""
    return [feedback_block(run.run_id)], result_metadata(run)

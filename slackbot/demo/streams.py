"""The emulator's streamed messages and status line, validated as Slack does: `chat.startStream`
/ `appendStream` / `stopStream` and `assistant.threads.setStatus`.

A streamed message is a `Message` whose text grows with its `markdown_text` chunks; its stream
(`streams[(channel, ts)]`) keeps every chunk, its tasks by id and whether it still streams.
`refuse_streams` makes `chat.startStream` answer that error (e.g. `unknown_method`);
`stop_by_user(channel, ts)` is a person pressing Stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slackbot.demo.views import SlackError

MAX_MARKDOWN = 12_000
ACTION_ELEMENTS = {"feedback_buttons", "icon_button"}
TASK_STATUSES = {"pending", "in_progress", "complete", "error"}
DISPLAY_MODES = {"timeline", "plan", "dense"}


@dataclass
class Stream:
    mode: str  # "markdown_text" or "chunks": a stream keeps the one it started with
    display: str = "timeline"
    streaming: bool = True
    stopped_by_user: bool = False
    chunks: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → its latest state
    plan_title: str = ""

    def as_page(self) -> dict[str, Any]:
        return {"streaming": self.streaming, "display": self.display,
                "title": self.plan_title, "tasks": list(self.tasks.values())}  # fmt: skip


def check_chunks(chunks: Any) -> list[dict[str, Any]]:
    if not isinstance(chunks, list):
        raise SlackError("invalid_chunks")
    for chunk in chunks:
        kind = chunk.get("type") if isinstance(chunk, dict) else None
        if kind == "markdown_text":
            text = chunk.get("text")
            if not isinstance(text, str) or len(text) > MAX_MARKDOWN:
                raise SlackError("invalid_chunks")
        elif kind == "task_update":
            if not (chunk.get("id") and chunk.get("title")):
                raise SlackError("invalid_chunks")
            if chunk.get("status") not in TASK_STATUSES:
                raise SlackError("invalid_chunks")
            for key in ("details", "output"):
                if key in chunk and not isinstance(chunk[key], str):
                    raise SlackError("invalid_chunks")
        elif kind == "plan_update":
            if not isinstance(chunk.get("title"), str):
                raise SlackError("invalid_chunks")
        elif kind != "blocks":
            raise SlackError("invalid_chunks")
    return chunks


def context_actions_problem(block: dict[str, Any]) -> str | None:
    """What Slack would refuse in a `context_actions` block (the feedback buttons), or None."""
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 5:
        return "context_actions needs 1 to 5 elements"
    for element in elements:
        if element.get("type") not in ACTION_ELEMENTS:
            return f"context_actions cannot hold {element.get('type')}"
        if element["type"] != "feedback_buttons":
            continue
        if not element.get("action_id"):
            return "feedback_buttons without action_id"
        for side in ("positive_button", "negative_button"):
            button = element.get(side) or {}
            text = button.get("text") or {}
            if text.get("type") != "plain_text" or not 0 < len(text.get("text", "")) <= 75:
                return f"{side} text must be plain_text of 1 to 75 characters"
            if not isinstance(button.get("value"), str) or len(button["value"]) > 2000:
                return f"{side} value must be a string of at most 2000 characters"
            if len(button.get("accessibility_label", "")) > 75:
                return f"{side} accessibility_label over 75 characters"
    return None


def feedback_action(message: Any, value: str) -> tuple[dict[str, Any], str]:
    """(the action a click on the feedback button with `value` sends, its block_id)."""
    for block in message.blocks:
        for element in block.get("elements", []) if block.get("type") == "context_actions" else ():
            for side in ("positive_button", "negative_button"):
                button = element.get(side) or {}
                if element.get("type") == "feedback_buttons" and button.get("value") == value:
                    action = {"type": "feedback_buttons", "action_id": element["action_id"],
                              "block_id": block.get("block_id", ""), "value": value,
                              "text": button["text"]}  # fmt: skip
                    return action, block.get("block_id", "")
    raise LookupError(f"no feedback button {value} on message {message.ts}")


class StreamMethods:
    """Mixed into the emulator, which provides `messages`, `_member_channel`, `_message`,
    `_next_ts`, `_valid_blocks` and the `Message` class as `_message_class`."""

    streams: dict[tuple[str, str], Stream]
    statuses: dict[tuple[str, str], str]
    status_log: list[tuple[str, str, str]]
    refuse_streams: str | None

    def _content(self, args: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
        text, chunks = args.get("markdown_text"), args.get("chunks")
        if text is not None and chunks is not None:
            raise SlackError("cannot_provide_both_markdown_text_and_chunks")
        if text is not None:
            if len(text) > MAX_MARKDOWN:
                raise SlackError("msg_too_long")
            return "markdown_text", [{"type": "markdown_text", "text": text}]
        if chunks is not None:
            return "chunks", check_chunks(chunks)
        return None, []

    def _apply(self, message: Any, stream: Stream, chunks: list[dict[str, Any]]) -> None:
        for chunk in chunks:
            stream.chunks.append(chunk)
            if chunk["type"] == "markdown_text":
                message.text += chunk["text"]
            elif chunk["type"] == "task_update":
                stream.tasks[chunk["id"]] = stream.tasks.get(chunk["id"], {}) | chunk
            elif chunk["type"] == "plan_update":
                stream.plan_title = chunk["title"]

    def _streaming(self, args: dict[str, Any]) -> tuple[Any, Stream]:
        channel = self._member_channel(args)  # type: ignore[attr-defined]
        message = self._message(channel, args.get("ts", ""))  # type: ignore[attr-defined]
        stream = self.streams.get((channel, message.ts))
        if stream is None or not stream.streaming:
            raise SlackError("message_not_in_streaming_state")
        if stream.stopped_by_user:
            raise SlackError("stopped_by_user")
        return message, stream

    def _chat_startStream(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.refuse_streams:
            raise SlackError(self.refuse_streams)
        channel = self._member_channel(args)  # type: ignore[attr-defined]
        thread_ts = args.get("thread_ts")
        if not thread_ts:
            raise SlackError("invalid_arguments")
        self._message(channel, thread_ts)  # type: ignore[attr-defined]
        if not channel.startswith("D"):
            if not args.get("recipient_user_id"):
                raise SlackError("missing_recipient_user_id")
            if not args.get("recipient_team_id"):
                raise SlackError("missing_recipient_team_id")
        display = args.get("task_display_mode") or "timeline"
        if display not in DISPLAY_MODES:
            raise SlackError("invalid_arguments")
        mode, chunks = self._content(args)
        ts = self._next_ts()  # type: ignore[attr-defined]
        message = self._message_class(channel, ts, self._bot_user, "", [], thread_ts)  # type: ignore[attr-defined]
        stream = Stream(mode=mode or "chunks", display=display)
        self._apply(message, stream, chunks)
        self.messages[(channel, ts)] = message  # type: ignore[attr-defined]
        self.streams[(channel, ts)] = stream
        return {"channel": channel, "ts": ts}

    def _chat_appendStream(self, args: dict[str, Any]) -> dict[str, Any]:
        message, stream = self._streaming(args)
        mode, chunks = self._content(args)
        if mode is None:
            raise SlackError("invalid_arguments")
        if mode != stream.mode:
            raise SlackError("streaming_mode_mismatch")
        self._apply(message, stream, chunks)
        return {"channel": message.channel, "ts": message.ts}

    def _chat_stopStream(self, args: dict[str, Any]) -> dict[str, Any]:
        message, stream = self._streaming(args)
        mode, chunks = self._content(args)
        if mode is not None and mode != stream.mode:
            raise SlackError("streaming_mode_mismatch")
        blocks = self._valid_blocks(args)  # type: ignore[attr-defined]
        self._apply(message, stream, chunks)
        message.blocks = blocks
        if args.get("metadata"):
            message.metadata = args["metadata"]
        stream.streaming = False
        return {"channel": message.channel, "ts": message.ts, "message": message.as_slack()}

    def _assistant_threads_setStatus(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel_id", "")
        thread_ts = args.get("thread_ts", "")
        if "status" not in args or not thread_ts:
            raise SlackError("invalid_arguments")
        self._member_channel({"channel": channel})  # type: ignore[attr-defined]
        try:
            self._message(channel, thread_ts)  # type: ignore[attr-defined]
        except SlackError:
            raise SlackError("invalid_thread_ts") from None
        self.statuses[(channel, thread_ts)] = args["status"]
        self.status_log.append((channel, thread_ts, args["status"]))
        return {}

    def check_not_streaming(self, channel: str, ts: str) -> None:
        stream = self.streams.get((channel, ts))
        if stream is not None and stream.streaming:
            raise SlackError("streaming_state_conflict")

    def end_stream(self, channel: str, ts: str) -> None:
        """The stream ends on Slack's side (it lives minutes): the next call is refused with
        `message_not_in_streaming_state`."""
        self.streams[(channel, ts)].streaming = False

    def stop_by_user(self, channel: str, ts: str) -> None:
        """A person presses Stop on a streaming message: the next stream call is refused."""
        self.streams[(channel, ts)].stopped_by_user = True

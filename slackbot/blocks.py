"""Block Kit builders: pure functions from our state to Slack messages, written as plain dicts
(building slack_sdk's models costs far more); tests/slackbot/test_block_kit_valid.py checks every
builder's output against those models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slackbot.reviews import KINDS, WORKER, Form
from slackbot.reviews.readable import clip_words, fields_blocks, one_line, says_no
from slackbot.reviews.refusals import refusal_note
from slackbot.safe_text import clip, neutralize, quote
from slackbot.store import Review, ReviewStatus, Run
from slackbot.store.models import BUILTIN_GRAPH

ACTION_APPROVE = "review_approve"
ACTION_REVISE = "review_revise"
ACTION_RETRY = "run_retry"
ACTION_CANCEL = "run_cancel"
# Controls of the other review kinds: `review_answer_<n>` answers at once with control n,
# `review_form_<n>` opens control n's form; the button's value is the review id.
ACTION_ANSWER = "review_answer_"
ACTION_FORM = "review_form_"
FORM_CALLBACK = "review_form"

MARKDOWN_BUDGET = 11_000  # Slack allows 12,000 characters of markdown per message
SECTION_LIMIT = 3_000
HEADER_LIMIT = 150
FALLBACK_LIMIT = 300


@dataclass(frozen=True)
class Message:
    text: str  # notification / accessibility fallback
    blocks: list[dict[str, Any]]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


Block = dict[str, Any]


def _render(text: str, blocks: list[Block]) -> Message:
    return Message(text=clip(text, FALLBACK_LIMIT), blocks=blocks)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}]}


def _header(text: str) -> Block:
    # plain_text never notifies, but keep `<!here>` from even looking like a mention
    plain = text.replace("<", "‹").replace(">", "›")
    return {"type": "header", "text": _plain(clip(plain, HEADER_LIMIT))}


def _button(
    label: str, action_id: str, value: str, style: str | None = None, confirm: Block | None = None
) -> dict[str, Any]:
    button = {"type": "button", "text": _plain(label), "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def _actions(block_id: str, *buttons: dict[str, Any]) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


def _markdown(text: str, budget: int = MARKDOWN_BUDGET) -> Block:
    """Standard Markdown from an LLM, cut to Slack's budget with a visible note when it is long."""
    safe = neutralize(text.strip()) or "_(empty)_"
    if len(safe) > budget:
        note = f"\n\n_… cut here: {len(safe) - budget + 200:,} more characters not shown._"
        safe = safe[: budget - 200].rstrip() + note
    return {"type": "markdown", "text": safe}


def slack_date(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(epoch)}^{{date_short_pretty}} at {{time}}|{moment}>"


GENERIC_PHASES = {
    "planning": "⚙️ Running…",
    "waiting": "👀 Waiting for answers: {decided} of {total} in",
    "resuming": "⚙️ Resuming with your answers…",
    "done": "✅ Done: the result is in the thread",
    "failed": "⚠️ Stopped: {error}. Use Retry in the thread",
    "cancelled": "🛑 Cancelled by <@{ended_by}>",
    "expired": "⌛ Expired: no answer since {since}. Nothing was approved",
}
ROOT_PHASES = {
    "planning": "🧭 Planning the work and drafting…",
    "waiting": "👀 Waiting for reviews: {decided} of {total} in{round}",
    "resuming": "⚙️ Resuming with your answers{round}: approved drafts are kept, drafts to"
    " revise are redrafted…",
    "done": "✅ Done: the summary is in the thread",
    "failed": "⚠️ Stopped: {error}. Use Retry in the thread",
    "cancelled": "🛑 Cancelled by <@{ended_by}>",
    "expired": "⌛ Expired: no answer since {since}. Nothing was approved",
}


def root_message(run: Run, decided: int = 0, total: int = 0) -> Message:
    builtin = run.graph == BUILTIN_GRAPH
    phases = ROOT_PHASES if builtin else GENERIC_PHASES
    status = phases.get(run.phase, run.phase).format(
        decided=decided,
        total=total,
        error=neutralize(clip_words(one_line(run.error or "error"), 200)),
        round=f" · round {run.step}" if run.step > 1 else "",
        ended_by=run.ended_by,
        since=slack_date(run.waiting_since or 0),
    )
    topic = neutralize(run.topic) or "_(no text)_"
    title = "🧭 Orchestration" if builtin else f"🧩 {neutralize(run.graph)}"
    blocks: list[Block] = [
        _mrkdwn(f"*{title}:* {topic}"),
        _context(f"Started by <@{run.started_by}> · {status}"),
    ]
    if run.phase not in ("done", "cancelled", "expired"):
        blocks.append(_actions(f"run-{run.run_id}", _cancel(run)))
    return _render(f"{title}: {topic}", blocks)


def _cancel(run: Run) -> dict[str, Any]:
    confirm = {
        "title": _plain("Cancel this run?"),
        "text": {
            "type": "mrkdwn",
            "text": "Open reviews close and the graph is never resumed. This cannot be undone.",
        },
        "confirm": _plain("Cancel the run"),
        "deny": _plain("Keep it"),
        "style": "danger",
    }
    return _button("Cancel", ACTION_CANCEL, run.run_id, "danger", confirm)


def review_message(review: Review, model: str | None = None) -> Message:
    """A review; for the built-in worker, `model` names the LLM that wrote the draft."""
    if review.kind != WORKER:
        return kind_review_message(review)
    request = review.request
    worker, role = neutralize(request["worker_id"]), neutralize(request["role"])
    round_text = f"Round {request['round']} of {request['max_rounds']}"
    blocks: list[Block] = [
        _header(f"📝 {request['role']} ({request['worker_id']})"),
        _mrkdwn(f"*Task:* {neutralize(request['task'])}"),
    ]
    if request.get("notes"):
        blocks.append(
            _mrkdwn(f"*This draft answers the notes:*\n{quote(neutralize(request['notes']))}")
        )
    blocks.append(_markdown(request["draft"]))
    context = f"{worker} · {round_text}" + (f" · drafted by {neutralize(model)}" if model else "")
    if request.get("notice"):
        context += f" · ⚠️ {neutralize(request['notice'])}"
    blocks.append(_context(context))
    blocks.extend(_review_state(review, worker))
    return _render(f"Review needed: {role} ({worker}), {round_text.lower()}", blocks)


def _review_state(review: Review, worker: str) -> list[Block]:
    value = review.review_id
    approve = _button("Approve", ACTION_APPROVE, value, "primary")
    if review.status == ReviewStatus.PENDING:
        if "revise" in review.request["answers"]:
            return [_actions(f"review-{value}", approve, _button("Revise", ACTION_REVISE, value))]
        return [_actions(f"review-{value}", approve)]
    if review.status == ReviewStatus.AWAITING_NOTES:
        who = f"<@{review.notes_requested_by}>"
        return [
            _mrkdwn(f"✏️ {who}: reply in this thread with your notes for *{worker}*."),
            _actions(f"review-{value}", approve),
        ]
    answer = review.answer or {}
    when = slack_date(review.decided_at or 0)
    if review.status == ReviewStatus.CANCELLED:
        return [_context(f"🛑 Cancelled by <@{review.decided_by}> · {when}")]
    if review.status == ReviewStatus.EXPIRED:
        return [_context(f"⌛ Expired: no answer since {when}")]
    if answer.get("action") == "approve":
        return [_context(f"✅ Approved by <@{review.decided_by}> · {when}")]
    notes = quote(neutralize(str(answer.get("notes", ""))))
    return [_mrkdwn(f"✏️ Revision requested by <@{review.decided_by}> · {when}\n{notes}")]


def summary_message(summary: str, plan_note: str = "", model: str | None = None) -> Message:
    blocks: list[Block] = [_header("🧾 Summary"), _markdown(summary)]
    notes = [f"written by {neutralize(model)}"] if model else []
    if plan_note:
        notes.append(f"ℹ️ {neutralize(plan_note)}")
    if notes:
        blocks.append(_context(" · ".join(notes)))
    return _render("Summary: " + neutralize(clip(summary, 200)), blocks)


def failure_message(run: Run, retried_by: str | None = None) -> Message:
    error = neutralize(clip_words(one_line(run.error or "unknown error"), 1_000))
    blocks: list[Block] = [_mrkdwn(f"⚠️ *The run stopped:* {error}")]
    if retried_by:
        blocks.append(_context(f"🔁 Retried by <@{retried_by}>"))
    else:
        blocks.append(_context("Nothing is lost: Retry picks up from the last saved step."))
        retry = _button("Retry", ACTION_RETRY, run.run_id)
        blocks.append(_actions(f"retry-{run.run_id}", retry))
    return _render(f"The run stopped: {error}", blocks)


# -- the other review kinds -------------------------------------------------------------------


def kind_review_message(review: Review) -> Message:
    """A review of any kind but the worker's: the kind's body, then its controls or the answer."""
    kind = KINDS[review.kind]
    body = kind.body(review)[:46]
    title = neutralize(kind.title(review))
    if review.status == ReviewStatus.EXPIRED:
        expired = f"⌛ Expired: no answer since {slack_date(review.decided_at or 0)}"
        return Message(
            text=clip(f"Expired: {title}", FALLBACK_LIMIT), blocks=[*body, _context(expired)]
        )
    if review.status == ReviewStatus.CANCELLED:
        when = slack_date(review.decided_at or 0)
        cancelled = f"🛑 Cancelled by <@{review.decided_by}> · {when}: not answered"
        return Message(
            text=clip(f"Cancelled: {title}", FALLBACK_LIMIT), blocks=[*body, _context(cancelled)]
        )
    if review.status == ReviewStatus.DECIDED:
        when = slack_date(review.decided_at or 0)
        mark = "🚫" if says_no(review.answer) else "✅"
        answered = f"{mark} <@{review.decided_by}> answered *{kind.describe(review)}* · {when}"
        return Message(
            text=clip(f"Answered: {title}", FALLBACK_LIMIT), blocks=[*body, _context(answered)]
        )
    buttons = []
    for index, control in enumerate(kind.controls(review)[:25]):
        button: dict[str, Any] = {
            "type": "button",
            "text": {"type": "plain_text", "text": clip(control.label, 75)},
            "action_id": f"{ACTION_FORM if control.form else ACTION_ANSWER}{index}",
            "value": review.review_id,
        }
        if control.style:
            button["style"] = control.style
        buttons.append(button)
    actions = {"type": "actions", "block_id": f"review-{review.review_id}", "elements": buttons}
    refused = refusal_note(review, kind)
    notes = [_mrkdwn(refused)] if refused else []
    return Message(
        text=clip(f"Answer needed: {title}", FALLBACK_LIMIT), blocks=[*body, *notes, actions]
    )


MODAL_REQUEST_BLOCKS = 20  # of the request shown above a form's inputs


def form_view(review: Review, control: int, form: Form) -> dict[str, Any]:
    """The modal for a review's form; its private_metadata names the review and the control."""
    kind = KINDS[review.kind]
    # What the form answers: the request as the review shows it, clipped so the form fits the
    # modal's 100 blocks (a breakpoint's editor is the state itself: its title says enough).
    shown = [] if review.kind == "breakpoint" else kind.body(review)[:MODAL_REQUEST_BLOCKS]
    question = clip(neutralize(kind.title(review)), 2_000)
    head = [*shown, {"type": "divider"}] if shown else [_context(question)]
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "private_metadata": f"{review.review_id}|{control}",
        "title": {"type": "plain_text", "text": clip(form.title, 24)},
        "submit": {"type": "plain_text", "text": clip(form.submit, 24)},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [*head, *form.blocks][-100:],
    }


@dataclass(frozen=True)
class FormReply:
    """How to answer a form submission: errors on its inputs, a notice instead, or close."""

    errors: dict[str, str] | None = None
    notice: str | None = None

    def ack_kwargs(self) -> dict[str, Any]:
        if self.errors:
            return {"response_action": "errors", "errors": self.errors}
        if self.notice:
            return {"response_action": "update", "view": notice_view(self.notice)}
        return {}


def notice_view(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Nothing changed"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3_000)}}],
    }


def result_message(result: Any, outputs: tuple[str, ...] | None) -> Message:
    """A graph's result: the last AI message of a `messages` graph, a single string field as
    Markdown, otherwise the output fields."""
    values = result if isinstance(result, dict) else {"result": result}
    if outputs is not None:
        values = {k: v for k, v in values.items() if k in outputs} or values
    text = _last_ai_text(values.get("messages"))
    strings = [v for v in values.values() if isinstance(v, str)]
    if text is None and len(values) == 1 and len(strings) == 1:
        text = strings[0]
    if text is not None:
        return _render(
            "Result: " + neutralize(clip(text, 200)), [_header("🏁 Result"), _markdown(text)]
        )
    shown = fields_blocks(values, max_blocks=45) or [_context("_The graph ended with no output._")]
    return Message(text="Result", blocks=[_header("🏁 Result"), *shown])


def last_ai_text(values: Any) -> str | None:
    """The text of the last AI message in a graph's (JSON-plain) `messages`, if any."""
    return _last_ai_text(values.get("messages")) if isinstance(values, dict) else None


def _last_ai_text(messages: Any) -> str | None:
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("type") in ("ai", "AIMessage", "assistant"):
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(
                    part.get("text", "") if isinstance(part, dict) else str(part)
                    for part in content
                )
            return str(content or "")
    return None


def timed_out_message(run: Run, unanswered: int) -> Message:
    """The thread's note when a step expires: nothing counts as an answer."""
    since = slack_date(run.waiting_since or 0)
    text = (
        f"⌛ *Timed out.* {unanswered} review(s) had no answer since {since}. Nothing was"
        " approved or rejected, and the graph was not resumed."
    )
    return Message(text="Timed out: no answer in time", blocks=[_context(text)])


def reminder_message(run: Run, people: list[str], links: list[str], waiting: int) -> Message:
    """A nudge in the thread for the people who can answer (our own mention, on purpose)."""
    who = " ".join(f"<@{p}>" for p in people)
    since = slack_date(run.waiting_since or 0)
    text = f"⏰ {who}: {waiting} review(s) in this thread wait for an answer since {since}."
    if links:
        text += " " + " · ".join(f"<{link}|review {i}>" for i, link in enumerate(links, 1))
    return Message(text=f"Reminder: {waiting} review(s) waiting", blocks=[_context(text)])

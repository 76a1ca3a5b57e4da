"""What people read when the app answers them privately, and one-line error descriptions."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import openai
from slack_sdk.errors import SlackApiError

from slackbot.engine.remote import LangGraphServerError
from slackbot.reviews.refusals import readable_error
from slackbot.store import Outcome
from slackbot.store.retry import is_transient

MAX_TOPIC_CHARS = 1_000
USAGE = (
    "Usage: `/orchestrate &lt;topic&gt;`, for example `/orchestrate a launch plan for the Berlin "
    "office`. Workers draft, you approve or revise each draft in the thread, and a summary "
    "follows. `/orchestrate status` lists the runs waiting here; `/orchestrate help` says more."
)
TOO_LONG = (
    f"That text is {{length:,}} characters long; the limit is {MAX_TOPIC_CHARS:,}. "
    "Shorten it to the gist: the workers read only this text and your revision notes."
)
HELP = "help"
NO_SUCH_GRAPH = (
    "There is no graph `{name}` here; there are {graphs}. `/orchestrate help` says what each takes."
)
NOT_IN_CHANNEL = (
    "I'm not a member of this channel, so I can't post or read replies here. "
    "Invite me with `/invite @orchestrator` and run the command again."
)
NOT_ALLOWED = "Only the approvers configured for this app can approve, revise or retry here."
NOTICES = {
    Outcome.ALREADY_DECIDED: "Already decided by <@{by}>: nothing changed.",
    Outcome.NOT_PENDING: "This review is no longer open: its step or its run has finished.",
    Outcome.UNKNOWN: "I don't know this review: it may belong to an old or deleted run.",
    Outcome.TAKEN: "<@{by}> is already writing the notes for this review.",
    Outcome.CANCELLED: "This run was cancelled by <@{ended_by}>: nothing changed.",
    Outcome.EXPIRED: "This review expired: no answer came in time, so the run stopped and"
    " nothing changed.",
    Outcome.REFUSED: "Only the approvers this review's rule names can answer it: nothing changed.",
    Outcome.SELF_APPROVAL: "You started this run, so someone else must approve it: nothing"
    " changed. You can still reject it.",
    Outcome.ALREADY_APPROVED: "Your approval is already counted: this review waits for"
    " approvals from others.",
}
NOTES_NOT_ALLOWED = f"I didn't take your reply as notes. {NOT_ALLOWED}"
NOTES_OVERTAKEN = (
    "I didn't take your reply as notes: <@{by}> decided that review meanwhile, so nothing changed."
)
CANCEL_NOT_ALLOWED = "Only the person who started this run or an approver can cancel it."
CANCEL_BUSY = (
    "This run is resuming with its answers right now, so nothing was cancelled. "
    "You can cancel it when it waits for people again."
)
CANCEL_OVER = "This run is already over: nothing to cancel."
CANCEL_LATE = (
    "Cancelled: the run will never resume. Slack did not take the update yet, so its"
    " messages may still show buttons for a moment; they answer that the run was cancelled."
)
TOO_MANY_OF_YOURS = (
    "You already have {limit} runs going (running or waiting for answers), the most one person "
    "may have at once. Finish or cancel one, then start this again."
)
TOO_MANY_HERE = (
    "This channel already has {limit} runs going, the most it may have at once. Finish or "
    "cancel one, then start this again."
)
ANSWERED_BY_YOU = "You already answered this review: nothing changed."
NOT_SAVED = "I couldn't save that just now ({why}): nothing changed. Please try again in a moment."
NOT_SAVED_IN_TIME = (
    "I couldn't save that in time (the database was slow to answer). If the review shows your"
    " answer in a moment, it was saved after all; otherwise submit again."
)
NOT_RECORDED_IN_TIME = (
    "I couldn't save that in time (the database was slow to answer). If the message shows it"
    " in a moment, it was saved after all; otherwise try again."
)
NOT_RETRYABLE = "This run has not stopped on an error, so there is nothing to retry."
FORM_TOO_LATE = "Slack gave up waiting for the form to open: click the button again."


_EMOJI_CODE = re.compile(r":[a-z0-9_+'-]{1,60}:")  # how Slack sends a typed emoji: :tada:


def topic_length(topic: str) -> int:
    """Characters as the person typed them: an emoji arrives as `:code:` but is one."""
    return len(_EMOJI_CODE.sub("•", topic))


def topic_problem(text: str) -> str | None:
    """Why a /orchestrate topic is refused, or None when it is fine."""
    topic = text.strip()
    if not topic:
        return USAGE
    if topic_length(topic) > MAX_TOPIC_CHARS:
        return TOO_LONG.format(length=topic_length(topic))
    return None


def is_transient_fault(error: BaseException) -> bool:
    """The database or Slack is away for a moment (worth retrying later, not a failed run)."""
    if is_transient(error) or isinstance(error, aiohttp.ClientError | asyncio.TimeoutError):
        return True
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        return status == 429 or status >= 500
    return False


def describe(error: BaseException) -> str:
    """One line for people: what failed, without internals."""
    if is_transient(error):
        return "the database was unavailable"
    if isinstance(error, aiohttp.ClientError | asyncio.TimeoutError):
        return "Slack could not be reached"
    if isinstance(error, LangGraphServerError):
        return str(error)  # already one line for people
    if isinstance(error, openai.APIStatusError):
        return f"the LLM call failed (HTTP {error.status_code})"
    if isinstance(error, openai.APIError):
        return f"the LLM call failed ({type(error).__name__})"
    if isinstance(error, SlackApiError):
        return f"Slack refused a call ({error.response.get('error', 'error')})"
    return f"{type(error).__name__}: {readable_error(str(error), 200)}"

"""Let an assistant send an email and open a ticket: ask e.g. "email ana@example.com about the
launch and open a ticket for the flaky login test", and review both calls at once before either
runs.

LangChain's `create_agent` with `HumanInTheLoopMiddleware` in its default, batched mode: one
interrupt per model turn, whose value is `{"action_requests": [{"name", "args",
"description"}], "review_configs": [{"action_name", "allowed_decisions"}]}`. It is resumed with
`{"decisions": [...]}`, one per action request, in order: `{"type": "approve"}`,
`{"type": "edit", "edited_action": {"name", "args"}}`, `{"type": "reject", "message"}` (the
model gets it as the tool's error) or `{"type": "respond", "message"}` (the model gets it as the
tool's result). `send_email` allows all four, `create_ticket` all but respond, `lookup_contact`
runs without asking.

Unlike the other examples it calls a model: `ChatOpenAI` built by `make_graph()` from
OPENAI_API_KEY, OPENAI_BASE_URL (unset: OpenAI's) and OPENAI_MODEL, read when it is called;
the demo's offline stand-in model knows these three tools. It needs `langchain` installed.
The tools only record what they were asked (`CALLS`): nothing is sent.
"""

import os
from typing import Literal

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain.agents.middleware.human_in_the_loop import InterruptMode
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph.state import CompiledStateGraph

SYSTEM_PROMPT = (
    "You help a team by sending email and opening tickets with your tools. A person reviews"
    " each email and ticket before it goes out; if they reject one, do not try it again."
)

CALLS: list[dict] = []  # every tool call that ran, in order: {"tool", "args"}


@tool
def send_email(to: str, subject: str, body: str) -> str:
    """Send an email to one address."""
    CALLS.append({"tool": "send_email", "args": {"to": to, "subject": subject, "body": body}})
    return f"Email sent to {to} with the subject {subject!r}."


@tool
def create_ticket(
    title: str, priority: Literal["low", "normal", "high"] = "normal", description: str = ""
) -> str:
    """Open a ticket in the team's tracker."""
    args = {"title": title, "priority": priority, "description": description}
    CALLS.append({"tool": "create_ticket", "args": args})
    return f"Ticket opened: {title} ({priority} priority)."


@tool
def lookup_contact(name: str) -> str:
    """Find a colleague's email address by name."""
    CALLS.append({"tool": "lookup_contact", "args": {"name": name}})
    return f"{name}: {'.'.join(name.lower().split())}@example.com"


def chat_model() -> ChatOpenAI:
    api_key = os.environ.get("OPENAI_API_KEY", "").strip()
    if not api_key:
        raise RuntimeError(
            "this graph calls a model: set OPENAI_API_KEY, and OPENAI_BASE_URL for an"
            " OpenAI-compatible server such as the demo's stand-in (unset means OpenAI's)"
        )
    return ChatOpenAI(
        model=os.environ.get("OPENAI_MODEL", "").strip() or "gpt-4o-mini",
        api_key=api_key,
        base_url=os.environ.get("OPENAI_BASE_URL", "").strip() or None,
        use_responses_api=False,  # plain Chat Completions: what every compatible server speaks
    )


def make_graph() -> CompiledStateGraph:
    """A graph factory: reads the model's settings from the environment when called."""
    return _agent("batched")


def make_per_call_graph() -> CompiledStateGraph:
    """Let an assistant send an email and open a ticket, with one review per call: ask e.g.
    "email ana@example.com about the launch and open a ticket for the flaky login test", and
    answer each call on its own before it runs.

    The same agent with `interrupt_mode="per_call"`: one interrupt per gated tool call, both
    calls of one model turn waiting at once, each with its own id. The value is `{"type":
    "tool_approval", "tool_call_id", "name", "args", "description"}` and `response_schema` is a
    `oneOf` of the decisions the tool allows, discriminated by `type` (the edit branch pins the
    tool's name and carries its argument schema). Each is resumed with one decision keyed by
    its interrupt id; LangGraph checks it against the schema before saving it.
    """
    return _agent("per_call")


def _agent(mode: InterruptMode) -> CompiledStateGraph:
    review = HumanInTheLoopMiddleware(
        interrupt_on={
            "send_email": True,  # approve, edit, reject or respond
            "create_ticket": {
                "allowed_decisions": ["approve", "edit", "reject"],
                "description": "Open this ticket in the tracker?",
            },
        },
        interrupt_mode=mode,  # batched: one interrupt per turn; per_call: one per gated call
    )
    return create_agent(
        chat_model(),
        tools=[send_email, create_ticket, lookup_contact],
        system_prompt=SYSTEM_PROMPT,
        middleware=[review],
    )

"""Let an assistant send an email and open a ticket, with one review per call: ask e.g. "email
ana@example.com about the launch and open a ticket for the flaky login test", and answer each
call on its own before it runs.

`agent.py` with `HumanInTheLoopMiddleware(interrupt_mode="per_call")`: one interrupt per gated
tool call, raised as the call starts, so both calls of one model turn wait at once, each with
its own interrupt id. The value is `{"type": "tool_approval", "tool_call_id", "name", "args",
"description"}` and the interrupt's `response_schema` is a `oneOf` of the decisions the tool
allows, discriminated by `type`; its edit branch pins `edited_action.name` to the tool and
gives the tool's argument schema for `edited_action.args`. Each is resumed with one decision,
keyed by its interrupt id (`{"type": "approve"}`, `{"type": "edit", "edited_action": {"name",
"args"}}`, `{"type": "reject", "message"}`, `{"type": "respond", "message"}`); LangGraph checks
it against the schema before saving it. `send_email` allows all four, `create_ticket` all but
respond, `lookup_contact` runs without asking.

Unlike the other examples it calls a model: `ChatOpenAI` built by `make_graph()` from
OPENAI_API_KEY, OPENAI_BASE_URL (unset: OpenAI's) and OPENAI_MODEL, read when it is called;
the demo's offline stand-in model knows these three tools. It needs `langchain` installed.
The tools only record what they were asked (`CALLS`): nothing is sent.
"""

import os
from typing import Literal

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
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
    review = HumanInTheLoopMiddleware(
        interrupt_on={
            "send_email": True,  # approve, edit, reject or respond
            "create_ticket": {
                "allowed_decisions": ["approve", "edit", "reject"],
                "description": "Open this ticket in the tracker?",
            },
        },
        interrupt_mode="per_call",  # one interrupt per gated call, each with its own answer
    )
    return create_agent(
        chat_model(),
        tools=[send_email, create_ticket, lookup_contact],
        system_prompt=SYSTEM_PROMPT,
        middleware=[review],
    )

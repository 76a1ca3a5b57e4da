"""Chat with an assistant that keeps notes: ask e.g. "what time is it in Tokyo?", then "note
that the Tokyo call is at 9", and approve the note before it is saved; follow up in the thread
and it remembers.

A `create_agent` chat agent for conversations in Slack (a mention or a DM starts one; each
follow-up is a turn on the same LangGraph thread). Its tools are harmless: `local_time` answers
from the clock, `save_note` only appends to `NOTES` and waits for a person's approval first
(`HumanInTheLoopMiddleware`). The model is `ChatOpenAI` built from OPENAI_API_KEY,
OPENAI_BASE_URL and OPENAI_MODEL when `make_graph()` is called (see agent.py).
"""

from datetime import UTC, datetime, timedelta

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.tools import tool
from langgraph.graph.state import CompiledStateGraph

from graphs.examples.agent import chat_model

SYSTEM_PROMPT = (
    "You are a helpful teammate in a Slack thread. Answer briefly. Use local_time for the time"
    " in a city and save_note when asked to remember something; a person approves each note."
)
OFFSETS = {"tokyo": 9, "berlin": 1, "london": 0, "new york": -5, "san francisco": -8}
NOTES: list[str] = []  # what save_note kept, in order


@tool
def local_time(city: str) -> str:
    """The current time in a city."""
    hours = OFFSETS.get(city.strip().lower())
    if hours is None:
        return f"I don't know the time zone of {city}."
    now = datetime.now(UTC) + timedelta(hours=hours)
    return f"It is {now:%H:%M} in {city}."


@tool
def save_note(text: str) -> str:
    """Save a short note for the team."""
    NOTES.append(text)
    return f"Saved the note: {text}"


def make_graph() -> CompiledStateGraph:
    """Chat with an assistant that keeps notes: ask e.g. "what time is it in Tokyo?" or "note
    that the Tokyo call is at 9", approve the note, and follow up in the thread."""
    review = HumanInTheLoopMiddleware(
        interrupt_on={"save_note": {"allowed_decisions": ["approve", "edit", "reject"]}}
    )
    return create_agent(
        chat_model(),
        tools=[local_time, save_note],
        system_prompt=SYSTEM_PROMPT,
        middleware=[review],
    )

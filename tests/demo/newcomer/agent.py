"""A travel agent from LangChain's docs: `create_agent` whose `book_flight` tool waits for a
person (HumanInTheLoopMiddleware); `search_flights` runs without asking."""

import os

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI


@tool
def search_flights(origin: str, destination: str) -> str:
    """Search flights between two cities."""
    return f"LH 1170 {origin} → {destination}, 09:40, 210 EUR"


@tool
def book_flight(origin: str, destination: str, departure_date: str, passengers: int) -> str:
    """Book a flight for the passengers."""
    return f"Booked {passengers} seat(s) {origin} → {destination} on {departure_date}."


def make_graph():
    model = ChatOpenAI(
        model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        base_url=os.environ.get("OPENAI_BASE_URL") or None,
        use_responses_api=False,
    )
    return create_agent(
        model,
        tools=[search_flights, book_flight],
        middleware=[HumanInTheLoopMiddleware(interrupt_on={"book_flight": True})],
    )

"""Approve a payment: type "pay 1200 EUR to ACME". Amounts above 1,000 wait for a yes or no;
smaller ones are paid straight away.

The conditional interrupt: `approve` asks only above `APPROVAL_THRESHOLD`. Its value is
`{"question", "options": ["yes", "no"], "amount", "currency", "payee", "threshold"}` and the
answer is one of the options, as a string.
"""

import re
from typing import Literal, Required

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict

APPROVAL_THRESHOLD = 1000.0
PAYMENT = re.compile(
    r"(?P<amount>\d[\d,]*(?:\.\d+)?)\s*(?P<currency>[A-Za-z]{3})?\s+to\s+(?P<payee>\S.*)",
    re.IGNORECASE,
)


class State(TypedDict, total=False):
    request: Required[str]  # the slash command's text, e.g. "pay 1200 EUR to ACME"
    amount: float
    currency: str
    payee: str
    decision: str  # "approved" | "rejected" | "auto-approved"
    outcome: str


def parse(state: State) -> dict:
    match = PAYMENT.search(state["request"])
    if not match:
        return {"outcome": f"No payment found in {state['request']!r}: try 'pay 1200 EUR to ACME'."}
    return {
        "amount": float(match["amount"].replace(",", "")),
        "currency": (match["currency"] or "EUR").upper(),
        "payee": match["payee"].strip().rstrip("."),
    }


def after_parse(state: State) -> Literal["approve", "__end__"]:
    return "approve" if "amount" in state else END


def approve(state: State) -> dict:
    if state["amount"] <= APPROVAL_THRESHOLD:
        return {"decision": "auto-approved"}  # small payments need nobody: no interrupt at all
    answer = interrupt(
        {
            "question": f"Approve paying {describe(state)}?",
            "options": ["yes", "no"],
            "amount": state["amount"],
            "currency": state["currency"],
            "payee": state["payee"],
            "threshold": APPROVAL_THRESHOLD,
        }
    )
    return {"decision": "approved" if answer == "yes" else "rejected"}


def pay(state: State) -> dict:
    # A real graph would call the payment service here: after the interrupt, never before it,
    # because a node runs again from its first line when it is resumed.
    if state["decision"] == "rejected":
        return {"outcome": f"Not paid: {describe(state)} was rejected."}
    return {"outcome": f"Paid {describe(state)} ({state['decision']})."}


def describe(state: State) -> str:
    return f"{state['amount']:,.2f} {state['currency']} to {state['payee']}"


builder = StateGraph(State)
builder.add_node("parse", parse)
builder.add_node("approve", approve)
builder.add_node("pay", pay)
builder.add_edge(START, "parse")
builder.add_conditional_edges("parse", after_parse)
builder.add_edge("approve", "pay")
builder.add_edge("pay", END)
graph = builder.compile()

"""Ask a careful assistant: it repeats what you asked, waits for your go-ahead, then replies.

A `messages` graph (`MessagesState`): the host sends the slash command's text as a user message.
`confirm` asks with `options` ["go ahead", "cancel"] and answers with an `AIMessage`; no model
is called, the reply is fixed text.
"""

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt


def confirm(state: MessagesState) -> dict:
    asks = [message for message in state["messages"] if isinstance(message, HumanMessage)]
    request = asks[-1].text.strip() if asks else ""
    if not request:
        return {"messages": [AIMessage("Tell me what to do, and I will check with you first.")]}
    answer = interrupt(
        {
            "question": f"Shall I go ahead with: {request}?",
            "options": ["go ahead", "cancel"],
            "request": request,
        }
    )
    if answer == "go ahead":
        reply = f"Done: {request}. (An example graph: nothing was really done.)"
    else:
        reply = f"Cancelled: I left {request!r} alone."
    return {"messages": [AIMessage(reply)]}


builder = StateGraph(MessagesState)
builder.add_node("confirm", confirm)
builder.add_edge(START, "confirm")
builder.add_edge("confirm", END)
graph = builder.compile()

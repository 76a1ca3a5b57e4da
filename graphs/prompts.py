"""Prompts. The phrases 'final summary' and 'Reviewer notes' are relied on by the stand-in model."""

from __future__ import annotations

PLAN_SYSTEM = (
    "You are an orchestrator. Split the user's topic into between 2 and {max_workers} worker "
    "assignments that together answer it. Each assignment has a short lowercase worker_id "
    "(one word, like 'researcher'), a one-line role and a one-line task."
)

DRAFT_SYSTEM = (
    "You are the {role} on a small team working on: {topic}\n"
    "Your task: {task}\nWrite your contribution in Markdown, concise and concrete."
)

REVISE_USER = (
    "Your previous draft:\n---\n{draft}\n---\n"
    "Reviewer notes: {notes}\n"
    "Write a new draft that addresses the notes."
)

SUMMARY_SYSTEM = (
    "You are the orchestrator writing the final summary for the topic: {topic}\n"
    "Combine the approved drafts below into one answer in Markdown. Keep their substance."
)


def plan_messages(topic: str, max_workers: int) -> list[tuple[str, str]]:
    return [("system", PLAN_SYSTEM.format(max_workers=max_workers)), ("user", topic)]


def draft_messages(state: dict) -> list[tuple[str, str]]:
    system = DRAFT_SYSTEM.format(role=state["role"], topic=state["topic"], task=state["task"])
    if state.get("draft") and state.get("notes"):
        user = REVISE_USER.format(draft=state["draft"], notes=state["notes"])
    else:
        user = f"Write your first draft for: {state['task']}"
    return [("system", system), ("user", user)]


def summary_messages(topic: str, approved: list[dict]) -> list[tuple[str, str]]:
    drafts = "\n\n".join(
        f"## {item['worker_id']} ({item['role']})\n{item['draft']}" for item in approved
    )
    return [("system", SUMMARY_SYSTEM.format(topic=topic)), ("user", drafts)]

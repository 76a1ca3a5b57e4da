"""The Messages tab's suggested prompts: what a person may start with, from the hosted graphs."""

from __future__ import annotations

import re
from typing import Any

from slackbot.catalog import BUILTIN_EXAMPLE, Catalog
from slackbot.safe_text import clip

MAX_PROMPTS = 4  # Slack shows at most four
TITLE_CHARS = 75
DEFAULT = "What can you do?"
_QUOTED = re.compile(r"[\"“]([^\"”]{3,300})[\"”]")


def examples(description: str) -> list[str]:
    """The quoted examples a graph's description gives (`ask e.g. "…"`)."""
    return [" ".join(found.split()) for found in _QUOTED.findall(description or "")]


def suggested_prompts(catalog: Catalog) -> list[dict[str, Any]]:
    """One prompt per hosted graph, in catalog order, the first four; for one graph, the
    examples of its description (or a sensible default)."""
    graphs = list(catalog.graphs.values())
    if len(graphs) == 1:
        found = examples(graphs[0].description)[:MAX_PROMPTS] or [DEFAULT]
        return [{"title": clip(text, TITLE_CHARS), "message": text} for text in found]
    prompts = []
    for graph in graphs[:MAX_PROMPTS]:
        found = [BUILTIN_EXAMPLE] if graph.builtin else examples(graph.description)
        example = next(iter(found), "") or DEFAULT
        about = " ".join(graph.description.split()) or example
        prompts.append(
            {
                "title": clip(f"{graph.name}: {about}", TITLE_CHARS),
                "message": f"{graph.name} {example}",
            }
        )
    return prompts


def talk_example(catalog: Catalog) -> str | None:
    """How a person would mention the app to talk to its first conversational graph (the
    demo page's hint), or None when no hosted graph takes `messages`."""
    for graph in catalog.graphs.values():
        if graph.inputs.messages:
            name = f"{graph.name} " if len(catalog.graphs) > 1 else ""
            example = next(iter(examples(graph.description)), "") or DEFAULT
            return f"@Orchestrator {name}{example}"
    return None

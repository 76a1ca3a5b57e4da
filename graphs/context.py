"""Per-run knobs, passed as `graph.ainvoke(..., context=Context(...))` on every run and resume.

Plain values, so they cross the wire to a LangGraph server as a run's `context`; the nodes build
the chat model from `model` (graphs/llm.py). In-process, the app may hand over a ready model.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from pydantic.json_schema import SkipJsonSchema

from graphs.llm import DEFAULT_MODEL


@dataclass(kw_only=True)
class Context:
    model: str = DEFAULT_MODEL  # the chat model's name, at OPENAI_BASE_URL (unset: OpenAI's)
    max_workers: int = 3  # the plan asks for 2..max_workers workers
    max_revisions: int = 3  # after this many revisions a draft can only be approved
    # A ready chat model wins over `model`: the app's local engine passes its own. A live
    # object cannot be sent to a server, so the schema servers show leaves it out.
    chat_model: SkipJsonSchema[BaseChatModel | None] = None

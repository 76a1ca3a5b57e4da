"""Per-run knobs, passed as `graph.ainvoke(..., context=Context(...))` on every run and resume."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel


@dataclass(kw_only=True)
class Context:
    chat_model: BaseChatModel
    max_workers: int = 3  # the plan asks for 2..max_workers workers
    max_revisions: int = 3  # after this many revisions a draft can only be approved

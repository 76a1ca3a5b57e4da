"""The one factory for the chat model: every LLM knob comes from here.

In the app the settings give the knobs (`LLMConfig`); on a LangGraph server the run's context
names the model and the server's environment gives the key and endpoint (`served_config`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

if TYPE_CHECKING:
    from graphs.context import Context

DEFAULT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True, kw_only=True)
class LLMConfig:
    model: str
    api_key: str
    base_url: str | None = None
    timeout: float = 60.0
    max_retries: int = 2


def build_chat_model(config: LLMConfig) -> ChatOpenAI:
    return ChatOpenAI(
        model=config.model,
        api_key=config.api_key,
        base_url=config.base_url,
        timeout=config.timeout,
        max_retries=config.max_retries,
        # Plain Chat Completions: what every OpenAI-compatible server speaks.
        use_responses_api=False,
    )


def served_config(model: str, env: Mapping[str, str] = os.environ) -> LLMConfig:
    """The model by name, with the key and endpoint of the process serving the graph
    (OPENAI_API_KEY, OPENAI_BASE_URL: a LangGraph server's environment)."""
    api_key = env.get("OPENAI_API_KEY", "").strip()
    if not api_key:
        raise RuntimeError(
            "the orchestration graph calls a model: set OPENAI_API_KEY (and OPENAI_BASE_URL"
            " for an OpenAI-compatible server) where the graph runs"
        )
    return LLMConfig(
        model=model or DEFAULT_MODEL,
        api_key=api_key,
        base_url=env.get("OPENAI_BASE_URL", "").strip() or None,
    )


def chat_model(context: Context) -> BaseChatModel:
    """The run's chat model: the one the context carries, else one built from its knobs."""
    if context.chat_model is not None:
        return context.chat_model
    return _shared(served_config(context.model))


@functools.lru_cache(maxsize=8)
def _shared(config: LLMConfig) -> ChatOpenAI:
    """One client per configuration, shared by every run (its HTTP connections too)."""
    return build_chat_model(config)

"""The one factory for the chat model: every LLM knob comes from here, not the environment."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_openai import ChatOpenAI


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

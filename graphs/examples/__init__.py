"""Example graphs for "bring your own graph": one human-in-the-loop pattern per module.

Point `ORCHESTRATE_GRAPH` at `graphs/examples/langgraph.json` (or at one module) to try them
from Slack. Each module's docstring is what `/orchestrate help` shows.

What every example keeps to, and why:
- It stands alone, so langgraph.json can load it by file path: no imports between examples.
- No `from __future__ import annotations`: a file loaded by path may not be in `sys.modules`,
  and then LangGraph cannot resolve string annotations of the state.
- `typing_extensions.TypedDict`: on Python < 3.12 pydantic (behind `get_input_jsonschema`)
  refuses `typing.TypedDict`.
- Exactly one required `str` input field (or `messages`), so the slash command's text is the input.
- No checkpointer: the host compiles or copies the graph with its own.
- JSON-plain interrupt values and state, nothing with side effects before an `interrupt()`.
- No LLM calls, except the agents (`agent*.py`), which build a `ChatOpenAI` from
  `OPENAI_API_KEY` / `OPENAI_BASE_URL` / `OPENAI_MODEL` when their factory is called (the demo
  points them at its offline stand-in, which proposes tool calls).
"""

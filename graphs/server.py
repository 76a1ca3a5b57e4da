"""The built-in orchestration as a LangGraph server serves it (`langgraph.json` names
`graph`): compiled once, without a checkpointer, as the server brings its own. Runs pass the
knobs (`Context`: model name, max workers, max revisions) as their context."""

from graphs.graph import build_graph

graph = build_graph(None)

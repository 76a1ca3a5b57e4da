"""LangGraph graphs for orchestrations; free of any Slack code."""

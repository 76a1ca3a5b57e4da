"""Engines run graphs for the orchestrator: start, read state, resume (local or remote)."""

from slackbot.engine.base import Engine, GraphState, Interrupt, Pause

__all__ = ["Engine", "GraphState", "Interrupt", "Pause"]

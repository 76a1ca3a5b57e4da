"""Graph state: the orchestration (parent) and one worker (subgraph)."""

from __future__ import annotations

import operator
from typing import Annotated, Required

from pydantic import BaseModel, Field

# typing_extensions' TypedDict: pydantic (and so a LangGraph server) reads it on Python 3.11.
from typing_extensions import TypedDict


class Assignment(BaseModel):
    worker_id: str = Field(description="short lowercase id such as 'researcher'")
    role: str = Field(description="one line: who this worker is")
    task: str = Field(description="one line: what this worker must produce")


class Plan(BaseModel):
    assignments: list[Assignment]


class OrchestrationState(TypedDict, total=False):
    topic: Required[str]  # the graph's input: what /orchestrate was given
    assignments: list[dict]  # Assignment.model_dump() each, JSON-plain
    plan_note: str  # why the default plan was used, else ""
    approved: Annotated[list[dict], operator.add]  # one entry per approved worker
    summary: str


class WorkerState(TypedDict, total=False):
    topic: str
    worker_id: str
    role: str
    task: str
    draft: str
    round: int  # 1 for the first draft, +1 per revision
    notes: str  # the reviewer's notes that the current draft answers ("" on round 1)
    notice: str  # what was wrong with the last answer, shown on the next review
    decision: str  # "approve" | "revise" | "invalid", read by the router after review
    approved: list[dict]


class WorkerOutput(TypedDict):
    approved: list[dict]

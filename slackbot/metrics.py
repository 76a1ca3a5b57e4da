"""Prometheus metrics for GET /metrics, in a registry each app owns (not the process-wide one).

The orchestrator reports what happens to runs and answers; the Slack client reports the calls
Slack refused. `orchestrate_runs_waiting` is counted in the database at scrape time, so every
replica reports the same global number (aggregate it with max(), not sum()).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from slackbot.store.models import Decision, ReviewStatus

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
RUN_OUTCOMES = ("finished", "failed", "cancelled", "expired")
REVIEW_KINDS = ("worker", "typed", "question", "breakpoint", "tool_call", "inbox")
# Last answer stored → resumed graph run started: milliseconds when a slot is free, longer
# when Slack is slow to show the answer or all ORCHESTRATE_MAX_CONCURRENT_RUNS slots are busy.
RESUME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
COUNT_WITHIN = 1.0  # seconds for the waiting-runs count; a scrape without it omits the gauge
MAX_PENDING_RESUMES = 10_000  # claimed resumes not yet started (a run taken over elsewhere)
WAITING_SQL = "SELECT COUNT(*) AS n FROM orchestrate_runs WHERE status = 'waiting'"
OPINIONS_SQL = "SELECT opinion, COUNT(*) AS n FROM orchestrate_feedback GROUP BY opinion"


class Metrics:
    """Every metric of one app. Counters are this process's; the waiting gauge is global."""

    def __init__(self, db: Any = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = CollectorRegistry()
        self.clock = clock
        self.runs_started = Counter(
            "orchestrate_runs_started",
            "Runs started: the root message is posted.",
            registry=self.registry,
        )
        self.runs_ended = Counter(
            "orchestrate_runs_ended",
            "Runs ended, by outcome: finished, failed (stopped on an error; a Retry that"
            " finishes counts as finished too), cancelled, expired.",
            ["outcome"],
            registry=self.registry,
        )
        self.reviews_answered = Counter(
            "orchestrate_reviews_answered",
            "Answers stored (one per review; Revise counts when its notes arrive), by review kind.",
            ["kind"],
            registry=self.registry,
        )
        self.resume_seconds = Histogram(
            "orchestrate_step_resume_seconds",
            "From the transaction that stored a step's last answer (and claimed its resume) to"
            " the resumed graph run starting, in the process that claimed it.",
            buckets=RESUME_BUCKETS,
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "orchestrate_slack_api_errors",
            "Slack Web API calls that failed after retries, by method and Slack's error code"
            " (http_<status> without one, connection_error when Slack was not reached).",
            ["method", "error"],
            registry=self.registry,
        )
        self.graph_errors = Counter(
            "orchestrate_graph_errors",
            "Errors that stopped a run (graph, LLM, LangGraph server), by exception type.",
            ["error_type"],
            registry=self.registry,
        )
        for outcome in RUN_OUTCOMES:  # every outcome shows from the start, at 0
            self.runs_ended.labels(outcome)
        for kind in REVIEW_KINDS:
            self.reviews_answered.labels(kind)
        self.waiting = WaitingRuns(db)
        self.opinions = Opinions(db)
        if db is not None:
            self.registry.register(self.waiting)
            self.registry.register(self.opinions)
        self._claimed: dict[str, float] = {}  # run id → when its step's resume was claimed

    # -- what the orchestrator reports --------------------------------------------------------

    def run_started(self) -> None:
        self.runs_started.inc()

    def run_ended(self, outcome: str) -> None:
        """`outcome`: one of RUN_OUTCOMES."""
        self.runs_ended.labels(outcome).inc()

    def stored(self, decision: Decision) -> None:
        """A decision the store returned: an answer counts by its review's kind; one that
        completed its step (and claimed the resume) starts the resume latency clock."""
        review = decision.review
        if review is not None and review.status == ReviewStatus.DECIDED:
            self.reviews_answered.labels(review.kind).inc()
        if decision.resume and decision.run is not None:
            if len(self._claimed) >= MAX_PENDING_RESUMES:
                self._claimed.pop(next(iter(self._claimed)))
            self._claimed[decision.run.run_id] = self.clock()

    def step_resuming(self, run_id: str) -> None:
        """The graph is about to run with a step's answers. A resume this process did not
        claim (a takeover after a crash, a Retry) is not a latency and is not observed."""
        claimed = self._claimed.pop(run_id, None)
        if claimed is not None:
            self.resume_seconds.observe(max(0.0, self.clock() - claimed))

    def graph_error(self, error: BaseException) -> None:
        self.graph_errors.labels(type(error).__name__).inc()

    # -- what the Slack client reports --------------------------------------------------------

    def slack_error(self, method: str, error: str) -> None:
        self.slack_errors.labels(method, error).inc()

    # -- GET /metrics -------------------------------------------------------------------------

    async def render(self) -> bytes:
        """The text exposition, with the waiting-runs gauge counted now."""
        await self.waiting.refresh()
        await self.opinions.refresh()
        # No await between the count and the text: concurrent scrapes cannot mix them up.
        return generate_latest(self.registry)

    async def close(self) -> None:
        await self.waiting.close()
        await self.opinions.close()


class WaitingRuns(Collector):
    """`orchestrate_runs_waiting`: runs waiting for people, counted in the database at scrape
    time. One count at a time; a scrape waits for it at most COUNT_WITHIN seconds and leaves
    the gauge out when it has no fresh number (a stale one would look like a real value)."""

    NAME = "orchestrate_runs_waiting"
    HELP = "Runs waiting for people (all replicas: counted in the database at scrape time)."

    def __init__(self, db: Any, timeout: float = COUNT_WITHIN) -> None:
        self.db = db
        self.timeout = timeout
        self.value: Any = None
        self._count: asyncio.Task[int] | None = None

    async def refresh(self) -> None:
        self.value = None
        if self.db is None:
            return
        if self._count is None or self._count.done():
            self._count = asyncio.create_task(self._query(), name="metrics-waiting-runs")
        try:
            # Shielded: a cancelled SQLite statement would leave its transaction open.
            self.value = await asyncio.wait_for(asyncio.shield(self._count), self.timeout)
        except Exception as error:
            why = " ".join(str(error).split()) or type(error).__name__
            log.warning("/metrics without %s: %s", self.NAME, why)

    async def close(self) -> None:
        """At shutdown, before the database closes: a count still running ends first."""
        if self._count is not None:
            await asyncio.gather(self._count, return_exceptions=True)

    async def _query(self) -> int:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(WAITING_SQL)
        return int(row["n"]) if row else 0

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self.NAME, self.HELP)

    def collect(self) -> Iterator[Metric]:
        if self.value is not None:
            yield GaugeMetricFamily(self.NAME, self.HELP, value=self.value)


class Opinions(WaitingRuns):
    """`orchestrate_answer_opinions{opinion}`: people's current opinions of answers (feedback
    buttons; a replaced click counts once, as its latest), counted in the database at scrape
    time like the waiting runs."""

    NAME = "orchestrate_answer_opinions"
    HELP = "People's current opinions of answers, good or bad (all replicas; at scrape time)."

    async def _query(self) -> dict[str, int]:  # type: ignore[override]
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(OPINIONS_SQL)
        counts = dict.fromkeys(("good", "bad"), 0)
        counts.update({str(r["opinion"]): int(r["n"]) for r in rows})
        return counts

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self.NAME, self.HELP, labels=["opinion"])

    def collect(self) -> Iterator[Metric]:
        if self.value is not None:
            family = GaugeMetricFamily(self.NAME, self.HELP, labels=["opinion"])
            for opinion, count in self.value.items():  # type: ignore[attr-defined]
                family.add_metric([opinion], count)
            yield family

"""The example graphs, driven the way the Slack app drives them.

Each graph is loaded as its langgraph.json entry names it, given its own checkpointer, started
with the slash command's text, and resumed by interrupt id, like a person answering in Slack.
"""

import importlib
import importlib.util
import inspect
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import is_invalid_resume
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.types import Command, Interrupt
from pydantic import ValidationError

from graphs.review import pending_interrupts

EXAMPLES = Path(__file__).parents[2] / "graphs" / "examples"
CONFIG = json.loads((EXAMPLES / "langgraph.json").read_text())
SPECS = CONFIG["graphs"]


def resolve(target):
    """What a langgraph.json attr names: a compiled graph, a builder, or a factory of either."""
    if isinstance(target, Pregel | StateGraph):
        return target
    return target({"configurable": {}}) if inspect.signature(target).parameters else target()


def with_checkpointer(target):
    graph = resolve(target)
    if isinstance(graph, StateGraph):
        return graph.compile(checkpointer=InMemorySaver())
    # copy() keeps the rest of the compiled graph: interrupt_before/after, name, store, ...
    return graph.copy(update={"checkpointer": InMemorySaver()})


def module_name(name: str) -> str:
    return Path(SPECS[name]["path"].split(":")[0]).stem


def load(name: str):
    attr = SPECS[name]["path"].split(":")[1]
    module = importlib.import_module(f"graphs.examples.{module_name(name)}")
    return with_checkpointer(getattr(module, attr))


def slash_input(graph, text: str) -> dict:
    """The input the app makes of a slash command's text (messages, or the one required str)."""
    schema = graph.get_input_jsonschema()
    if "messages" in schema["properties"]:
        return {"messages": [{"role": "user", "content": text}]}
    (field,) = schema["required"]
    assert schema["properties"][field]["type"] == "string"
    return {field: text}


def is_json_plain(value) -> bool:
    return json.loads(json.dumps(value)) == value


class Run:
    """One thread of one example graph."""

    def __init__(self, name: str):
        self.graph = load(name)
        self.config = {"configurable": {"thread_id": uuid.uuid4().hex}}

    async def start(self, text: str) -> dict:
        return await self.graph.ainvoke(slash_input(self.graph, text), self.config)

    async def pending(self) -> list[Interrupt]:
        interrupts = pending_interrupts(await self.graph.aget_state(self.config))
        for asked in interrupts:
            assert is_json_plain(asked.value), asked.value
            assert asked.response_schema is None or is_json_plain(asked.response_schema)
        return interrupts

    async def ask(self) -> Interrupt:
        (asked,) = await self.pending()
        return asked

    async def resume(self, answers: dict) -> dict:
        return await self.graph.ainvoke(Command(resume=answers), self.config)

    async def answer(self, value) -> dict:
        """Answer the one pending interrupt by its id, as a click or form in Slack does."""
        return await self.resume({(await self.ask()).id: value})

    async def cont(self) -> dict:
        """Continue past a static breakpoint."""
        return await self.graph.ainvoke(None, self.config)

    async def snapshot(self):
        return await self.graph.aget_state(self.config)

    async def finished(self) -> dict:
        snapshot = await self.snapshot()
        assert snapshot.next == () and await self.pending() == []
        return snapshot.values


# --- langgraph.json and loading ---------------------------------------------------------------


def first_paragraph(doc: str) -> str:
    return " ".join(doc.strip().split("\n\n")[0].split())


def test_langgraph_json_names_every_example_with_its_docstring():
    modules = {path.stem for path in EXAMPLES.glob("*.py")} - {"__init__"}
    assert {module_name(name) for name in SPECS} == modules  # every module is offered
    assert next(iter(SPECS)) == "approval"  # the first graph is the default
    assert CONFIG["dependencies"] == ["."]
    for name, spec in SPECS.items():
        module = importlib.import_module(f"graphs.examples.{module_name(name)}")
        attr = getattr(module, spec["path"].split(":")[1])
        # a second graph of one module is described by its factory's docstring
        own = inspect.isfunction(attr) and name != module_name(name)
        doc = attr.__doc__ if own else module.__doc__
        assert spec["description"] == first_paragraph(doc), name


@pytest.mark.parametrize("name", list(SPECS))
def test_example_loads_from_its_file_path_without_a_checkpointer(name, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test")  # the agents build a ChatOpenAI (no request)
    # The strictest loader: a file module that is not registered in sys.modules.
    path, attr = SPECS[name]["path"].split(":")
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph = resolve(getattr(module, attr))
    assert getattr(graph, "checkpointer", None) is None  # the host attaches its own
    graph = with_checkpointer(graph)
    assert slash_input(graph, "some text")  # one required str field, or messages


def test_examples_import_nothing_from_slack():
    probe = (
        "import sys, pkgutil, importlib, graphs.examples as examples\n"
        "for mod in pkgutil.iter_modules(examples.__path__, 'graphs.examples.'):\n"
        "    importlib.import_module(mod.name)\n"
        "roots = {'slack_bolt', 'slack_sdk', 'slackbot'}\n"  # openai itself may import aiohttp
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in roots)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "", f"graphs.examples pulled in: {result.stdout}"


@pytest.mark.parametrize("how", ["copy", "builder"])
async def test_both_ways_of_adding_a_checkpointer_keep_the_breakpoints(how):
    from graphs.examples.breakpoint import graph

    saver = InMemorySaver()
    if how == "copy":
        compiled = graph.copy(update={"checkpointer": saver})
    else:
        compiled = graph.builder.compile(
            checkpointer=saver,
            interrupt_before=graph.interrupt_before_nodes,
            interrupt_after=graph.interrupt_after_nodes,
        )
    assert compiled.interrupt_before_nodes == ["approval"]
    assert compiled.interrupt_after_nodes == ["approval"]
    assert graph.checkpointer is None  # the module's graph is left as it was
    config = {"configurable": {"thread_id": "t"}}
    await compiled.ainvoke({"request": "restart the cache"}, config)
    assert (await compiled.aget_state(config)).next == ("approval",)


# --- approval: options, and a conditional interrupt --------------------------------------------


async def test_approval_asks_above_the_threshold_and_pays_on_yes():
    run = Run("approval")
    await run.start("pay 1,200 EUR to ACME Corp")
    asked = await run.ask()
    assert asked.value == {
        "question": "Approve paying 1,200.00 EUR to ACME Corp?",
        "options": ["yes", "no"],
        "amount": 1200.0,
        "currency": "EUR",
        "payee": "ACME Corp",
        "threshold": 1000.0,
    }
    assert asked.response_schema is None
    result = await run.answer("yes")
    assert result["outcome"] == "Paid 1,200.00 EUR to ACME Corp (approved)."
    assert is_json_plain(await run.finished())


async def test_approval_rejected_pays_nothing():
    run = Run("approval")
    await run.start("pay 5000 usd to Initech")
    result = await run.answer("no")
    assert result["decision"] == "rejected"
    assert result["outcome"] == "Not paid: 5,000.00 USD to Initech was rejected."


async def test_approval_below_the_threshold_asks_nobody():
    run = Run("approval")
    result = await run.start("pay 80 to the bakery")
    assert "__interrupt__" not in result
    assert result["outcome"] == "Paid 80.00 EUR to the bakery (auto-approved)."
    await run.finished()


async def test_approval_without_a_payment_says_how_to_write_one():
    run = Run("approval")
    result = await run.start("buy a boat")
    assert result["outcome"] == "No payment found in 'buy a boat': try 'pay 1200 EUR to ACME'."
    await run.finished()


# --- typed_answer: a Pydantic response_schema --------------------------------------------------

INCIDENT = "checkout API times out on database queries"


async def test_typed_answer_carries_the_json_schema_of_its_form():
    run = Run("typed_answer")
    await run.start(INCIDENT)
    asked = await run.ask()
    assert asked.value == {
        "question": f"Triage this incident: {INCIDENT}",
        "incident": INCIDENT,
        "suspected_teams": ["backend", "database"],
    }
    schema = asked.response_schema
    assert schema["required"] == ["severity", "summary"]
    fields = schema["properties"]
    assert fields["severity"]["enum"] == ["sev1", "sev2", "sev3", "sev4"]
    assert fields["summary"]["type"] == "string" and fields["summary"]["description"]
    assert fields["responders"] == {
        "default": 1,
        "description": "Engineers to pull in",
        "maximum": 10,
        "minimum": 1,
        "title": "Responders",
        "type": "integer",
    }
    assert fields["page_on_call"]["type"] == "boolean"
    assert fields["teams"]["type"] == "array"
    assert fields["teams"]["items"]["enum"] == [
        "backend",
        "frontend",
        "database",
        "network",
        "security",
    ]


async def test_typed_answer_returns_the_validated_model_and_keeps_plain_values():
    run = Run("typed_answer")
    await run.start(INCIDENT)
    # A modal form sends numbers as text: the Pydantic schema turns "3" into 3.
    answer = {"severity": "sev2", "summary": "Checkout is slow", "responders": "3"}
    result = await run.answer(answer | {"page_on_call": True, "teams": ["backend", "database"]})
    assert result["triage"] == {
        "severity": "sev2",
        "summary": "Checkout is slow",
        "responders": 3,
        "page_on_call": True,
        "teams": ["backend", "database"],
    }
    assert result["plan"] == (
        "SEV2 opened: Checkout is slow; 3 responder(s); paging on-call;"
        " notifying backend, database."
    )
    assert is_json_plain(await run.finished())


async def test_typed_answer_that_does_not_fit_raises_and_leaves_the_question_open():
    run = Run("typed_answer")
    await run.start(INCIDENT)
    asked = await run.ask()
    with pytest.raises(ValidationError) as raised:
        await run.resume({asked.id: {"severity": "sev9", "summary": "x"}})
    assert is_invalid_resume(raised.value)
    assert (await run.ask()).id == asked.id  # nothing was saved: answer it again
    result = await run.answer({"severity": "sev4", "summary": "Typo on the checkout page"})
    assert result["plan"] == "SEV4 opened: Typo on the checkout page; 1 responder(s)."


# --- signoff: manager (typed bool) → compliance (options) ---------------------------------------

REQUEST = "sign the 50,000 EUR contract with Globex"


async def test_signoff_asks_manager_then_compliance():
    run = Run("signoff")
    await run.start(REQUEST)
    manager = await run.ask()
    assert manager.value == {
        "stage": "manager",
        "question": f"Approve as manager: {REQUEST}?",
        "request": REQUEST,
    }
    assert manager.response_schema == {"type": "boolean"}
    await run.answer(True)
    compliance = await run.ask()
    assert compliance.id != manager.id
    assert compliance.value["stage"] == "compliance"
    assert compliance.value["options"] == ["approve", "reject"]
    assert compliance.response_schema is None
    result = await run.answer("approve")
    assert result["approvals"] == {"manager": True, "compliance": True}
    assert result["outcome"] == f"Signed off by manager and compliance: {REQUEST}"
    assert is_json_plain(await run.finished())


async def test_signoff_manager_no_skips_compliance():
    run = Run("signoff")
    await run.start(REQUEST)
    result = await run.answer(False)
    assert result["approvals"] == {"manager": False}
    assert result["outcome"] == f"Rejected by manager: {REQUEST}"
    await run.finished()


async def test_signoff_compliance_can_reject():
    run = Run("signoff")
    await run.start(REQUEST)
    await run.answer(True)
    result = await run.answer("reject")
    assert result["approvals"] == {"manager": True, "compliance": False}
    assert result["outcome"] == f"Rejected by compliance: {REQUEST}"


# --- breakpoint: interrupt_before / interrupt_after with state edits ---------------------------


async def test_breakpoint_pauses_before_the_check_and_runs_the_edited_request():
    run = Run("breakpoint")
    await run.start("delete the staging database")
    snapshot = await run.snapshot()
    assert snapshot.next == ("approval",) and await run.pending() == []  # no interrupt() value
    await run.graph.aupdate_state(run.config, {"request": "delete the test database"})
    await run.cont()
    snapshot = await run.snapshot()  # now paused after the check, before what it chose
    assert snapshot.next == ("process",)
    assert snapshot.values["approved"] is True
    result = await run.cont()
    assert result["response"] == (
        "Processed: delete the test database (it names nothing that policy protects)"
    )
    assert is_json_plain(await run.finished())


async def test_breakpoint_edit_after_the_check_overrules_it():
    run = Run("breakpoint")
    await run.start("restart the checkout service")
    await run.cont()
    assert (await run.snapshot()).next == ("process",)
    await run.graph.aupdate_state(
        run.config, {"approved": False, "reason": "change freeze until Monday"}
    )
    assert (await run.snapshot()).next == ("deny",)  # the router saw the edited state
    result = await run.cont()
    assert result["response"] == "Denied: restart the checkout service (change freeze until Monday)"


async def test_breakpoint_policy_refuses_a_protected_resource():
    run = Run("breakpoint")
    await run.start("drop the production database")
    await run.cont()
    snapshot = await run.snapshot()
    assert snapshot.values["approved"] is False and snapshot.next == ("deny",)
    result = await run.cont()
    assert result["response"] == (
        "Denied: drop the production database (it names 'production', which policy protects)"
    )


# --- questions: several interrupts in one node -------------------------------------------------


async def test_questions_come_one_after_the_other_each_with_its_own_id():
    run = Run("questions")
    await run.start("Ada Lovelace")
    team = await run.ask()
    assert team.value == {
        "question": "Which team does Ada Lovelace join?",
        "options": ["engineering", "design", "sales", "support"],
    }
    await run.answer("engineering")
    start = await run.ask()
    assert start.value == {"question": "When does Ada Lovelace start? (for example 2025-03-03)"}
    assert start.response_schema is None  # free text
    await run.answer(" 2025-03-03 ")
    laptop = await run.ask()
    assert laptop.value == {"question": "Does Ada Lovelace need a laptop?"}
    assert laptop.response_schema == {"type": "boolean"}
    assert len({team.id, start.id, laptop.id}) == 3
    result = await run.answer(True)
    assert (result["team"], result["start_date"], result["laptop"]) == (
        "engineering",
        "2025-03-03",
        True,
    )
    assert result["checklist"] == [
        "Add Ada Lovelace to #engineering",
        "Book a welcome call on 2025-03-03",
        "Order a laptop for Ada Lovelace, to arrive before 2025-03-03",
    ]
    assert is_json_plain(await run.finished())


async def test_questions_an_answer_resent_under_the_first_id_answers_the_current_question():
    # Why the host must check ids against what is pending before it resumes: langgraph 1.2.22
    # still accepts the first question's id for a task's later questions (old saved ids).
    run = Run("questions")
    await run.start("Ada Lovelace")
    team = await run.ask()
    await run.answer("design")
    start = await run.ask()
    await run.resume({team.id: "sales"})  # a retried click on the first question
    assert (await run.ask()).id not in {team.id, start.id}  # moved on to the laptop question
    result = await run.answer(False)
    assert (result["team"], result["start_date"]) == ("design", "sales")


# --- edit_flow: accept / edit / reject with Command(goto=...) ---------------------------------

DRAFT = "Office hours change next week."


async def test_edit_flow_edit_then_accept_publishes_the_revision():
    run = Run("edit_flow")
    await run.start(DRAFT)
    review = await run.ask()
    assert review.value == {
        "question": "Publish this announcement?",
        "draft": DRAFT,
        "revisions": 0,
        "options": ["accept", "edit", "reject"],
    }
    await run.answer("edit")
    revise = await run.ask()
    assert revise.value == {"question": "Write the revised announcement:", "draft": DRAFT}
    await run.answer("Office hours are 9 to 17 from Monday.")
    again = await run.ask()
    assert again.value["draft"] == "Office hours are 9 to 17 from Monday."
    assert again.value["revisions"] == 1
    result = await run.answer("accept")
    assert result["status"] == "published"
    assert result["final"] == "[PUBLISHED] Office hours are 9 to 17 from Monday."
    assert is_json_plain(await run.finished())


async def test_edit_flow_reject_ends_without_publishing():
    run = Run("edit_flow")
    await run.start(DRAFT)
    result = await run.answer("reject")
    assert (result["status"], result["final"]) == ("rejected", "")
    await run.finished()


async def test_edit_flow_unknown_answer_asks_again():
    run = Run("edit_flow")
    await run.start(DRAFT)
    await run.answer("maybe")
    assert (await run.ask()).value["options"] == ["accept", "edit", "reject"]


# --- recovery: a discriminated-union response_schema -------------------------------------------

JOB = "sync invoices to the ledger"


async def test_recovery_asks_with_a_one_of_schema_discriminated_by_type():
    run = Run("recovery")
    await run.start(JOB)
    asked = await run.ask()
    error = f"{JOB}: connection reset by the upstream service"
    assert asked.value == {
        "question": f"The job failed: {error}. Retry, skip or abort?",
        "job": JOB,
        "error": error,
        "attempts": 1,
    }
    schema = asked.response_schema
    assert schema["discriminator"]["propertyName"] == "type"
    branches = [schema["$defs"][ref["$ref"].split("/")[-1]] for ref in schema["oneOf"]]
    assert [b["properties"]["type"]["const"] for b in branches] == ["retry", "skip", "abort"]
    assert [b["required"] for b in branches] == [["type"], ["type"], ["type", "reason"]]
    assert branches[0]["description"] == "Run the job again."


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"type": "retry"}, {"status": "done", "result": f"{JOB}: finished on attempt 2"}),
        ({"type": "skip"}, {"status": "skipped", "result": ""}),
        (
            {"type": "abort", "reason": "the ledger is in maintenance"},
            {"status": "aborted", "reason": "the ledger is in maintenance"},
        ),
    ],
)
async def test_recovery_each_branch_ends_the_job(answer, expected):
    run = Run("recovery")
    await run.start(JOB)
    result = await run.answer(answer)
    assert {key: result.get(key) for key in expected} == expected
    assert result["attempts"] == (2 if answer["type"] == "retry" else 1)
    assert is_json_plain(await run.finished())


async def test_recovery_abort_needs_a_reason():
    run = Run("recovery")
    await run.start(JOB)
    with pytest.raises(ValidationError):
        await run.answer({"type": "abort"})
    assert (await run.ask()).value["attempts"] == 1  # still waiting for a valid answer


# --- parallel: one step of several typed interrupts, resumed at once --------------------------


async def test_parallel_pauses_three_reviewers_in_one_step_and_resumes_them_together():
    run = Run("parallel")
    await run.start("Q3 hiring plan")
    pending = await run.pending()
    assert (await run.snapshot()).next == ("review_section",) * 3
    by_section = {asked.value["section"]: asked for asked in pending}
    assert list(by_section) == ["Goals", "Budget", "Risks"]
    assert len({asked.id for asked in pending}) == 3
    budget = by_section["Budget"]
    assert budget.value == {
        "question": "Approve the Budget section of 'Q3 hiring plan'?",
        "section": "Budget",
        "text": "What Q3 hiring plan costs: people, tools and travel, with a 10% reserve.",
    }
    for asked in pending:
        assert asked.response_schema == {"enum": ["approve", "reject"], "type": "string"}
    verdicts = {"Goals": "approve", "Budget": "reject", "Risks": "approve"}
    result = await run.resume({by_section[s].id: verdict for s, verdict in verdicts.items()})
    assert sorted(result["reviews"], key=lambda r: r["section"]) == [
        {"section": "Budget", "verdict": "reject"},
        {"section": "Goals", "verdict": "approve"},
        {"section": "Risks", "verdict": "approve"},
    ]
    assert result["verdict"] == "Back to the author: Budget"
    assert is_json_plain(await run.finished())


async def test_parallel_all_approved_is_ready_to_publish():
    run = Run("parallel")
    await run.start("Q3 hiring plan")
    result = await run.resume({asked.id: "approve" for asked in await run.pending()})
    assert result["verdict"] == "All 3 sections approved: ready to publish."


# --- assistant: a messages graph ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reply"),
    [
        ("go ahead", "Done: book room 4 for Friday. (An example graph: nothing was really done.)"),
        ("cancel", "Cancelled: I left 'book room 4 for Friday' alone."),
    ],
)
async def test_assistant_confirms_then_replies_with_an_ai_message(answer, reply):
    run = Run("assistant")
    await run.start("book room 4 for Friday")
    asked = await run.ask()
    assert asked.value == {
        "question": "Shall I go ahead with: book room 4 for Friday?",
        "options": ["go ahead", "cancel"],
        "request": "book room 4 for Friday",
    }
    result = await run.answer(answer)
    last = result["messages"][-1]
    assert isinstance(last, AIMessage) and last.text == reply
    assert [m.type for m in result["messages"]] == ["human", "ai"]
    await run.finished()

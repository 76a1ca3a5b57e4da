"""Who answers (ORCHESTRATE_RULES): quorum, four-eyes, user groups, routing to a channel, over
signed HTTP against the emulator, on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import graphs.examples
from graphs.examples import agent
from slackbot.rules import load_rules
from tests.slackbot.conftest import ANA, BEN, CHANNEL, EVE, app_settings, block_text, started
from tests.slackbot.test_due import HOUR, Clock
from tests.slackbot.test_own_graph import buttons, fill, form, next_open, press, result, start

EXAMPLES = str(Path(graphs.examples.__file__).parent / "langgraph.json")
ROOT = Path(__file__).parents[2]
EMAIL = {"to": "ana@example.com", "subject": "Launch", "body": "It ships on Friday."}


async def notice(slack, count: int) -> str:
    """The text of the next ephemeral answer (the `count`-th response_url post)."""
    found = await slack.wait_for(lambda: len(slack.responses) >= count and slack.responses)
    return found[count - 1]["text"]


QUORUM = f"""
[[rule]]
name = "emails"
tool = "send_email"
approvers = ["{ANA}", "{BEN}", "{EVE}"]
quorum = 2
"""


async def test_quorum_two_distinct_approvers_resume_once(slack, llm_server, ruled_app):
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])
    async with ruled_app(QUORUM):
        root = await start(slack, "email Ana about the launch")
        review = await next_open(slack, root)
        await press(slack, review, "Approve", user=ANA)
        await slack.wait_for(lambda: "1 of 2 approvals: ✅ <@UANA>" in block_text(review))
        assert "Approve" in buttons(review)  # still open
        await press(slack, review, "Approve", user=ANA)  # the same person again counts once
        assert "already counted" in await notice(slack, 1)
        await asyncio.sleep(0.3)
        assert agent.CALLS == []  # not resumed on one approval
        await press(slack, review, "Approve", user=BEN)
        await result(slack, root)
        assert "2 of 2 approvals: ✅ <@UANA> ✅ <@UBEN>" in block_text(review)
    assert agent.CALLS == [{"tool": "send_email", "args": EMAIL}]  # resumed once


async def test_quorum_a_reject_decides_at_once(slack, llm_server, ruled_app):
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])
    async with ruled_app(QUORUM):
        root = await start(slack, "email Ana about the launch")
        review = await next_open(slack, root)
        await press(slack, review, "Approve", user=ANA)
        await slack.wait_for(lambda: "1 of 2 approvals" in block_text(review))
        view = await form(slack, review, "Reject", user=BEN)
        status, reply = await slack.submit_view(BEN, fill(view, **{"Reason (optional)": "no"}))
        assert status == 200 and not reply
        await result(slack, root)
    assert agent.CALLS == []  # rejected: the tool never ran


FOUR_EYES = f"""
[[rule]]
name = "four eyes"
graph = "agent"
kind = "tool_call"
approvers = ["{ANA}", "{BEN}"]
self_approval = false
"""


async def test_four_eyes_the_starter_may_not_approve(slack, llm_server, ruled_app):
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])
    async with ruled_app(FOUR_EYES):
        root = await start(slack, "email Ana about the launch", user=ANA)
        review = await next_open(slack, root)
        await press(slack, review, "Approve", user=ANA)
        assert "someone else must approve" in await notice(slack, 1)
        await press(slack, review, "Approve", user=EVE)  # not an approver of this rule
        assert "Only the approvers this review's rule names" in await notice(slack, 2)
        await asyncio.sleep(0.3)
        assert agent.CALLS == []
        await press(slack, review, "Approve", user=BEN)
        await result(slack, root)
    assert agent.CALLS == [{"tool": "send_email", "args": EMAIL}]


GROUP = """
[[rule]]
name = "finance"
approvers = ["@finance"]
"""


async def test_a_group_member_may_answer_one_just_added_too(slack, llm_server, ruled_app):
    slack.add_usergroup("S0FINANCE", "finance", "Finance", BEN)
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])
    async with ruled_app(GROUP, group_cache=3600.0):
        root = await start(slack, "email Ana about the launch")
        review = await next_open(slack, root)
        await press(slack, review, "Approve", user=ANA)  # not in the group
        assert "Only the approvers" in await notice(slack, 1)
        slack.add_to_group("S0FINANCE", ANA)  # added in Slack; the app's cache is older
        await press(slack, review, "Approve", user=ANA)
        await result(slack, root)
    assert agent.CALLS == [{"tool": "send_email", "args": EMAIL}]


ROUTED = """
[[rule]]
name = "big payments"
graph = "approval"
value = { required = ["amount"], properties = { amount = { minimum = 5000 } } }
approvers = ["@finance"]
channel = "CAPPROVALS"

[[rule]]
name = "payments"
graph = "approval"
kind = "question"
approvers = ["UANA"]
"""


async def test_routing_by_value_to_another_channel(slack, llm_server, ruled_app):
    slack.add_usergroup("S0FINANCE", "finance", "Finance", BEN)
    slack.add_channel("CAPPROVALS", BEN)
    slack.name_channel("CAPPROVALS", "approvals")
    async with ruled_app(ROUTED, spec=EXAMPLES):
        # 1,200: the second rule, answered in the thread by Ana.
        small = await start(slack, "approval pay 1200 EUR to ACME")
        review = await next_open(slack, small)
        await press(slack, review, "yes", user=ANA)
        assert "Paid 1,200.00 EUR" in await result(slack, small)

        # 5,000: finance, in #approvals; the thread says where and for whom.
        big = await start(slack, "approval pay 5000 EUR to ACME")
        posted = await slack.wait_for(lambda: slack.roots("CAPPROVALS"))
        elsewhere = posted[-1]
        assert "From <#CGENERAL> · started by <@UANA>" in block_text(elsewhere)
        waiting = await slack.wait_for(
            lambda: [m for m in slack.thread(CHANNEL, big.ts) if "Waiting for" in (m.text or "")]
        )
        assert waiting[0].text == "⏳ Waiting for an answer from Finance in #approvals"
        await press(slack, elsewhere, "yes", user=ANA)  # Ana is not in Finance
        assert "Only the approvers" in await notice(slack, 1)
        await press(slack, elsewhere, "yes", user=BEN)
        assert "Paid 5,000.00 EUR" in await result(slack, big)
        told = [m.text for m in slack.thread(CHANNEL, big.ts) if "in #approvals by" in m.text]
        assert told == ["✅ Approved in #approvals by Ben"]


TICKET = {"title": "Flaky login test", "priority": "normal", "description": "Seen twice"}
AUDITED = f"""
[[rule]]
name = "emails"
tool = "send_email"
approvers = ["{ANA}", "{BEN}"]
quorum = 2
"""


def audit_cli(database, *args: str) -> subprocess.CompletedProcess:
    database_url, data_dir = database
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env |= (
        {"DATABASE_URL": database_url} if database_url else {"ORCHESTRATE_DATA_DIR": str(data_dir)}
    )
    return subprocess.run(
        [sys.executable, "-m", "slackbot", "audit", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


async def test_audit_prints_every_decision_with_the_edit_before_and_after(
    slack, llm_server, ruled_app, database
):
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL), ("create_ticket", TICKET)])
    async with ruled_app(AUDITED):
        root = await start(slack, "email Ana and open a ticket")
        email = await next_open(slack, root)
        ticket = await next_open(slack, root, after=email)
        await press(slack, email, "Approve", user=EVE)  # refused: not an approver
        assert "Only the approvers" in await notice(slack, 1)
        await press(slack, email, "Approve", user=ANA)
        await slack.wait_for(lambda: "1 of 2 approvals" in block_text(email))
        await press(slack, email, "Approve", user=BEN)
        view = await form(slack, ticket, "Edit", user=EVE)
        await slack.submit_view(EVE, fill(view, title="Fix the login test"))
        await result(slack, root)

    done = audit_cli(database)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    summary = [(r["action"], r["actor"], r["rule"]) for r in records]
    assert summary == [
        ("refused", EVE, "emails"),
        ("approval", ANA, "emails"),
        ("answer", BEN, "emails"),
        ("answer", EVE, None),
    ]
    assert records[0]["detail"] == {"why": "not one of the rule's approvers"}
    assert records[2]["shown"]["action"]["args"] == EMAIL  # what was shown
    assert records[2]["answer"] == {"type": "approve"}
    edit = records[3]
    assert edit["answer"]["type"] == "edit"
    assert edit["detail"] == {"before": TICKET, "after": TICKET | {"title": "Fix the login test"}}
    assert {r["graph"] for r in records} == {"agent"}
    assert [r["at"] for r in records] == sorted(r["at"] for r in records)

    run_id = records[0]["run_id"]
    table = audit_cli(database, "--format", "csv", "--run", run_id, "--since", "1h")
    assert table.returncode == 0, table.stderr
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [(r["action"], r["actor"]) for r in rows] == [(a, u) for a, u, _ in summary]
    assert json.loads(rows[3]["detail"])["after"]["title"] == "Fix the login test"
    assert audit_cli(database, "--run", "no-such-run").stdout == ""


ESCALATING = f"""
[[rule]]
name = "emails"
tool = "send_email"
approvers = ["{BEN}"]
remind_after = "1h"
escalate_to = ["@leads"]
"""


async def test_reminders_mention_the_rules_approvers_then_escalation_lets_leads_answer(
    slack, llm_server, ruled_app, database
):
    slack.add_usergroup("S0LEADS", "leads", "Leads", EVE)
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])
    clock = Clock()
    async with ruled_app(ESCALATING) as app:
        app.services.store.clock = clock
        root = await start(slack, "email Ana about the launch")
        review = await next_open(slack, root)
        await press(slack, review, "Approve", user=EVE)  # a lead, before any escalation
        assert "Only the approvers" in await notice(slack, 1)

        def nudges(mark):
            return [m.text for m in slack.thread(CHANNEL, root.ts) if m.text.startswith(mark)]

        for hours in (1, 2, 3):
            clock.ahead = hours * HOUR + 5
            await app.services.orchestrator.run_due_work()
        assert len(nudges("⏰")) == 3
        assert all(t.startswith("⏰ <@UBEN>: 1 review(s)") for t in nudges("⏰"))
        assert nudges("⏫") == []  # escalation waits one interval after the last reminder

        clock.ahead = 4 * HOUR + 5
        await app.services.orchestrator.run_due_work()
        await app.services.orchestrator.run_due_work()  # once only
        (escalated,) = nudges("⏫")
        assert escalated.startswith("⏫ Escalated to <!subteam^S0LEADS>: 1 review(s)")
        await press(slack, review, "Approve", user=EVE)  # now a lead may answer
        await result(slack, root)
    assert agent.CALLS == [{"tool": "send_email", "args": EMAIL}]
    for output in ("jsonl", "csv"):
        printed = audit_cli(database, "--format", output).stdout
        records = (
            [json.loads(line) for line in printed.splitlines()]
            if output == "jsonl"
            else [r | {"detail": json.loads(r["detail"] or "null")}
                  for r in csv.DictReader(io.StringIO(printed))]
        )  # fmt: skip
        assert [(r["action"], r["actor"] or None) for r in records] == [
            ("refused", EVE),
            ("escalated", None),
            ("answer", EVE),
        ]
        assert records[1]["detail"] == {"escalate_to": ["@leads"]}
        assert records[1]["rule"] == "emails"


RACE = f"""
[[rule]]
name = "emails"
tool = "send_email"
approvers = ["{ANA}", "{BEN}", "{EVE}"]
quorum = 3
"""


async def test_two_replicas_racing_the_last_two_votes_resume_once(
    slack, llm_server, pg_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    path = tmp_path / "rules.toml"
    path.write_text(RACE)
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])

    def settings(name):
        return app_settings(
            slack, llm_server, database_url=pg_url, data_dir=tmp_path / name,
            graph_spec="graphs.examples.agent:make_graph", rules=load_rules(path),
        )  # fmt: skip

    async with started(settings("a"), slack) as first, started(settings("b"), slack) as second:
        root = await start(slack, "email Ana about the launch")
        review = await next_open(slack, root)
        await press(slack, review, "Approve", user=ANA)
        await slack.wait_for(lambda: "1 of 3 approvals" in block_text(review))
        approve = buttons(review)["Approve"]
        await asyncio.gather(
            slack.click(BEN, review, approve["action_id"], url=first.url),
            slack.click(EVE, review, approve["action_id"], url=second.url),
        )
        await result(slack, root)
        await first.services.orchestrator.wait_idle()
        await second.services.orchestrator.wait_idle()
    assert agent.CALLS == [{"tool": "send_email", "args": EMAIL}]  # resumed exactly once
    assert "3 of 3 approvals" in block_text(review)


BY_ATTR = f"""
[[rule]]
name = "by attr"
graph = "make_graph"
approvers = ["{BEN}"]
"""


async def test_a_rule_names_a_path_attr_graph_by_its_attr(slack, llm_server, ruled_app, database):
    """`graphs/examples/agent.py:make_graph` is named "agent" (its file) by /orchestrate; a
    rule's `graph` may give its attr too."""
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])
    async with ruled_app(BY_ATTR, spec="./graphs/examples/agent.py:make_graph"):
        root = await start(slack, "email Ana about the launch")
        review = await next_open(slack, root)
        await press(slack, review, "Approve", user=ANA)  # the rule names Ben only
        assert "Only the approvers" in await notice(slack, 1)
        await press(slack, review, "Approve", user=BEN)
        await result(slack, root)
    records = [json.loads(line) for line in audit_cli(database).stdout.splitlines()]
    assert [(r["action"], r["graph"], r["rule"]) for r in records] == [
        ("refused", "agent", "by attr"),
        ("answer", "agent", "by attr"),
    ]


EXPIRING = f"""
[[rule]]
name = "emails"
tool = "send_email"
approvers = ["{ANA}", "{BEN}"]
expire_after = "2h"
"""


async def test_a_rules_expire_after_overrides_the_app_wide_one_and_audit_prints_expiry_and_cancel(
    slack, llm_server, ruled_app, database
):
    clock = Clock()
    async with ruled_app(EXPIRING, expire_after=24 * HOUR) as app:
        app.services.store.clock = clock
        llm_server.script_tool_calls([("send_email", EMAIL)])
        email = await start(slack, "email Ana about the launch")
        ruled = await next_open(slack, email)
        llm_server.script_tool_calls([("create_ticket", TICKET)])
        ticket = await start(slack, "open a ticket for the flaky login test", user=BEN)
        unruled = await next_open(slack, ticket)

        clock.ahead = 2 * HOUR + 5  # the rule's 2h, not the app's 24h
        await app.services.orchestrator.run_due_work()
        await slack.wait_for(lambda: "Expired" in block_text(ruled))
        assert "Approve" in buttons(unruled) and "Expired" not in block_text(unruled)
        await press(slack, ticket, "Cancel", user=BEN)
        await slack.wait_for(lambda: "Cancelled by <@UBEN>" in block_text(unruled))

    done = audit_cli(database)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    summary = [(r["action"], r["actor"], r["rule"]) for r in records]
    assert summary == [("expired", None, "emails"), ("cancelled", BEN, None)]
    assert records[0]["shown"]["action"]["args"] == EMAIL  # what nobody answered
    assert records[0]["run_id"] != records[1]["run_id"]
    rows = list(csv.DictReader(io.StringIO(audit_cli(database, "--format", "csv").stdout)))
    assert [(r["action"], r["actor"], r["rule"]) for r in rows] == [
        ("expired", "", "emails"),
        ("cancelled", BEN, ""),
    ]

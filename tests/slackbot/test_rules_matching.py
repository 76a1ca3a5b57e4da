"""Which rule answers a review: by graph, kind, tool and value schema; the first match wins.
Pure: the rules as parsed from TOML, matched against requests as the store keeps them."""

from __future__ import annotations

import pytest

from slackbot.rules import is_approving, load_rules

RULES = """
[[rule]]
name = "big payments"
graph = "expenses"
value = { required = ["amount"], properties = { amount = { minimum = 1000 } } }
approvers = ["UFIN"]
quorum = 2

[[rule]]
name = "payment tool"
kind = "tool_call"
tool = "send_payment"
value = { properties = { amount = { minimum = 1000 } } }
approvers = ["UCFO"]

[[rule]]
name = "expenses"
graph = "expenses"
approvers = ["UANA"]

[[rule]]
name = "breakpoints"
kind = "breakpoint"
value = { properties = { env = { const = "prod" } }, required = ["env"] }
approvers = ["UOPS"]
"""


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    return load_rules(path)


def named(rule):
    return rule.name if rule else None


def test_value_routes_999_and_1000_differently(rules):
    assert named(rules.match("expenses", "question", {"amount": 1000})) == "big payments"
    assert named(rules.match("expenses", "question", {"amount": 999})) == "expenses"
    assert named(rules.match("other", "question", {"amount": 5000})) is None  # no match


def test_tool_calls_match_on_the_tool_and_its_args(rules):
    call = {"action": {"name": "send_payment", "args": {"amount": 1000}}, "index": 0, "of": 1}
    assert named(rules.match("agent", "tool_call", call)) == "payment tool"
    small = {"action": {"name": "send_payment", "args": {"amount": 999}}}
    assert named(rules.match("agent", "tool_call", small)) is None
    other = {"type": "tool_approval", "name": "send_email", "args": {"amount": 5000}}
    assert named(rules.match("agent", "tool_call", other)) is None


def test_first_match_wins_and_kind_counts(rules):
    # Three rules match a big payment tool call of the expenses graph: the first decides.
    call = {"action": {"name": "send_payment", "args": {"amount": 1000}}}
    assert named(rules.match("expenses", "tool_call", call)) == "big payments"
    # The kind narrows: a breakpoint of the same graph with an amount matches the value rule
    # against the paused state's values, not the request around them.
    paused = {"position": "before", "nodes": ["pay"], "values": {"amount": 10}}
    assert named(rules.match("expenses", "breakpoint", paused)) == "expenses"
    paused = {"position": "before", "nodes": ["deploy"], "values": {"env": "prod"}}
    assert named(rules.match("deploy", "breakpoint", paused)) == "breakpoints"
    staging = {"position": "before", "nodes": ["deploy"], "values": {"env": "staging"}}
    assert named(rules.match("deploy", "breakpoint", staging)) is None


def test_rule_defaults(rules):
    big = rules.named("big payments")
    assert (big.quorum, big.self_approval, big.channel) == (2, True, None)


@pytest.mark.parametrize(
    ("answer", "approving"),
    [
        ({"type": "approve"}, True),
        ({"action": "approve", "by": "UANA"}, True),
        ([{"type": "accept", "args": None}], True),
        ({"action": "continue"}, True),
        (True, True),
        ("yes", True),
        ("Approved", True),
        ({"decision": "approve"}, True),
        ({"type": "reject", "message": "no"}, False),
        ({"type": "edit", "edited_action": {"name": "x", "args": {}}}, False),
        ({"action": "revise", "notes": "shorter", "by": "UANA"}, False),
        (False, False),
        ("no", False),
        ([{"type": "response", "args": "later"}], False),
    ],
)
def test_which_answers_approve(answer, approving):
    assert is_approving(answer) is approving

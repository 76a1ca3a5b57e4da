"""A review a rule posts in another channel, as people see it: the run's thread names who it
waits for and what they decided (names, never mentions), the App Home and `/orchestrate status`
list it for the people the rule names and link to it where it is; on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio

from slackbot.demo.process import AppProcess
from slackbot.demo.slack_emulator import PERMALINK_BASE
from tests.slackbot.conftest import ANA, BEN, CHANNEL, EVE
from tests.slackbot.test_home import home_shows, home_text, status_for
from tests.slackbot.test_own_graph import press, result, start
from tests.slackbot.test_rules import EXAMPLES

APPROVALS = "CAPPROVALS"

ROUTED = f"""
[[rule]]
name = "big payments"
graph = "approval"
approvers = ["@finance", "{ANA}"]
channel = "{APPROVALS}"
quorum = 2
"""


def notes(slack, root, *marks: str) -> list[str]:
    """The app's lines in the run's thread that start with one of `marks`."""
    return [m.text for m in slack.thread(CHANNEL, root.ts) if m.text.startswith(marks)]


async def routed(slack, before: int):
    return (await slack.wait_for(lambda: len(r := slack.roots(APPROVALS)) > before and r))[-1]


def setup(slack):
    slack.add_usergroup("S0FINANCE", "finance", "Finance", BEN)
    slack.add_channel(APPROVALS, ANA, BEN, EVE)
    slack.name_channel(APPROVALS, "approvals")


async def test_the_thread_names_who_it_waits_for_and_who_decided(slack, llm_server, ruled_app):
    setup(slack)
    async with ruled_app(ROUTED, spec=EXAMPLES):
        paid = await start(slack, "approval pay 5000 EUR to ACME", user=EVE)
        review = await routed(slack, 0)
        waiting = await slack.wait_for(lambda: notes(slack, paid, "⏳"))
        assert waiting == ["⏳ Waiting for 2 approvals from Finance, Ana in #approvals"]
        await press(slack, review, "yes", user=ANA)
        await slack.wait_for(lambda: "1 of 2 approvals" in str(review.blocks))
        await press(slack, review, "yes", user=BEN)
        assert "Paid 5,000.00 EUR" in await result(slack, paid)
        assert notes(slack, paid, "✅", "❌", "📝") == ["✅ Approved in #approvals by Ana, Ben"]

        refused = await start(slack, "approval pay 7000 EUR to ACME", user=EVE)
        review = await routed(slack, 1)
        await press(slack, review, "yes", user=ANA)
        await slack.wait_for(lambda: "1 of 2 approvals" in str(review.blocks))
        await press(slack, review, "no", user=BEN)  # a no decides at once, and is no approval
        assert "Not paid" in await result(slack, refused)
        assert notes(slack, refused, "✅", "❌", "📝") == ["❌ Rejected in #approvals by Ben"]
    said = [m.text for m in slack.messages.values() if m.channel == CHANNEL]
    assert not [t for t in said if "<@" in t or "<!subteam" in t]  # the thread mentions nobody


GATED = """
[[rule]]
name = "big payments"
graph = "approval"
approvers = ["@finance"]
channel = "CAPPROVALS"
"""


async def test_home_and_status_follow_the_rule_and_link_where_the_review_is(
    slack, llm_server, ruled_app
):
    setup(slack)
    # Eve approves everything else (ORCHESTRATE_APPROVERS); Finance (Ben) answers this rule.
    async with ruled_app(GATED, spec=EXAMPLES, approvers=frozenset({EVE})) as app:
        run = await start(slack, "approval pay 5000 EUR to ACME", user=ANA)
        review = await routed(slack, 0)
        link = f"{PERMALINK_BASE}{APPROVALS}/p{review.ts.replace('.', '')}"

        ben = await home_shows(slack, BEN, "Waiting for you: 1 review", "Open the review")
        assert link in ben and f"in <#{APPROVALS}>" in ben
        assert "approval rules name you" in ben
        assert await slack.open_home(EVE) == 200
        eve = await home_shows(slack, EVE, "Nothing waits")  # not hers: the rule's
        assert "Open the review" not in eve

        here = await status_for(slack, BEN, APPROVALS)  # listed where it waits, linked there
        assert "1 run" in here and f"from <#{CHANNEL}>" in here and link in here
        there = await status_for(slack, ANA)  # and in the run's own channel, its thread
        assert "1 run" in there and "open the thread" in there and link not in there

        await press(slack, review, "yes", user=BEN)
        await result(slack, run)
        await home_shows(slack, BEN, "Nothing waits")
        assert "Nothing in this channel waits" in await status_for(slack, BEN, APPROVALS)
        await app.services.orchestrator.wait_idle()
    assert "Open the review" not in home_text(slack, EVE)


async def test_a_kill_between_posting_a_routed_review_and_saving_it_posts_it_once(
    slack, llm_server, database, tmp_path
):
    """The review is in #approvals, its note for the thread waits on Slack's rate limit, and
    the process dies: the next one finds the review by its metadata there, posts the note it
    owes, and nothing twice."""
    setup(slack)
    database_url, data_dir = database
    (tmp_path / "rules.toml").write_text(GATED)
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.base_url + "/api/",
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": llm_server.base_url,
        "ORCHESTRATE_GRAPH": EXAMPLES,
        "ORCHESTRATE_RULES": str(tmp_path / "rules.toml"),
        "ORCHESTRATE_LEASE_SECONDS": "2",
        **({"DATABASE_URL": database_url} if database_url else {}),
        "ORCHESTRATE_DATA_DIR": str(data_dir),
    }
    slack.post_rate_per_channel = 0.2  # a second post in a channel within 5 s waits
    a = await AppProcess(env, tmp_path, "a").start()
    b = AppProcess(env, tmp_path, "b")
    try:
        slack.app_url = a.url
        run = await start(slack, "approval pay 5000 EUR to ACME", user=ANA)
        await routed(slack, 0)  # posted in #approvals; the thread's note waits on Slack
        await a.kill()
        assert notes(slack, run, "⏳") == []
        slack.post_rate_per_channel = None
        await b.start()
        slack.app_url = b.url
        waiting = await slack.wait_for(lambda: notes(slack, run, "⏳"), 20)
        assert waiting == ["⏳ Waiting for an answer from Finance in #approvals"]
        (review,) = slack.roots(APPROVALS)  # found, not posted again
        await press(slack, review, "yes", user=BEN)
        assert "Paid 5,000.00 EUR" in await result(slack, run)
        assert len(slack.roots(APPROVALS)) == 1 and len(notes(slack, run, "⏳")) == 1
    finally:
        await asyncio.gather(a.stop(), b.stop())

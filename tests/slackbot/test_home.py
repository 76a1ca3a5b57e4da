"""What waits for people: `/orchestrate status` lists a channel's waiting runs, and the App Home
"Waiting for you" lists the open reviews the person may answer, for each person their own."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import yaml

from slackbot import home
from slackbot.blocks import ACTION_APPROVE, ACTION_REVISE
from slackbot.demo.slack_emulator import PERMALINK_BASE
from slackbot.store import Review, ReviewStatus, Run, RunStatus
from slackbot.store.inbox import OpenReview, WaitingRun
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    EVE,
    app_settings,
    block_text,
    start_run,
    started,
    wait_reviews,
)

WORKERS = {"researcher", "critic", "editor"}
ELSEWHERE = "CELSEWHERE"


def home_text(slack, user) -> str:
    view = slack.homes.get(user)
    return block_text(SimpleNamespace(blocks=view["blocks"])) if view else ""


async def home_shows(slack, user, *wanted: str, absent: tuple[str, ...] = ()) -> str:
    """Wait until the person's Home tab shows every `wanted` text and none of `absent`."""

    def shown():
        text = home_text(slack, user)
        ok = all(w in text for w in wanted) and not any(a in text for a in absent)
        return text if ok else None

    return await slack.wait_for(shown)


async def status_for(slack, user, channel=CHANNEL) -> str:
    """`/orchestrate status` typed by `user`: the ephemeral answer that follows the ack."""
    before = len(slack.responses)
    status, body = await slack.slash_command(user, channel, "status")
    assert status == 200 and not body.strip()  # an empty ack; the list follows
    answer = await slack.wait_for(lambda: slack.responses[before:] and slack.responses[-1])
    assert answer["user"] == user and answer["response_type"] == "ephemeral"
    return answer["text"]


def link(channel: str, ts: str, root_ts: str | None = None) -> str:
    url = f"{PERMALINK_BASE}{channel}/p{ts.replace('.', '')}"
    return url + (f"?thread_ts={root_ts}&amp;cid={channel}" if root_ts else "")


async def test_status_and_home_for_two_people(slack, llm_server, pg_app):
    berlin = await start_run(slack, "Berlin office <!here> & <@UEVE>", user=ANA)
    reviews_a = await wait_reviews(slack, berlin.ts, WORKERS)
    lisbon = await start_run(slack, "Lisbon office", user=BEN)
    reviews_b = await wait_reviews(slack, lisbon.ts, WORKERS)

    # Nobody opened a Home tab yet: a new step publishes the starter's.
    ana = await home_shows(slack, ANA, "Waiting for you: 3 reviews", absent=("Lisbon",))
    for worker in WORKERS:
        assert f"({worker})" in ana
        assert link(CHANNEL, reviews_a[worker].ts, berlin.ts) in ana  # into the thread
    assert "Berlin office &lt;!here&gt; &amp; &lt;@UEVE&gt;" in ana and "<!here>" not in ana
    assert f"<#{CHANNEL}>" in ana and "<!date^" in ana
    ben = await home_shows(slack, BEN, "Waiting for you: 3 reviews", "Lisbon", absent=("Berlin",))
    assert link(CHANNEL, reviews_b["editor"].ts, lisbon.ts) in ben

    # Eve started nothing: opening her Home tab shows the empty state.
    assert await slack.open_home(EVE) == 200
    eve = await home_shows(slack, EVE, "Nothing waits")
    assert "runs you started" in eve and "(researcher)" not in eve

    text = await status_for(slack, EVE)
    assert "Waiting for people in this channel: 2 runs" in text
    assert text.index("Lisbon office") < text.index("Berlin office")  # newest first
    assert text.count("0 of 3 answers in") == 2 and "<!date^" in text
    assert f"<{link(CHANNEL, berlin.ts)}|open the thread>" in text
    assert f"<{link(CHANNEL, lisbon.ts)}|open the thread>" in text
    assert "Berlin office &lt;!here&gt; &amp; &lt;@UEVE&gt;" in text and "<!here>" not in text
    assert "<@UEVE>" not in text

    # An answer refreshes the Home tab by itself: the answered review leaves it.
    await slack.click(ANA, reviews_a["researcher"], ACTION_APPROVE)
    await home_shows(slack, ANA, "Waiting for you: 2 reviews", absent=("(researcher)",))

    # Ben asks for a revision of Ana's critic draft: he owes notes, so it is his to answer too.
    await slack.click(BEN, reviews_a["critic"], ACTION_REVISE)
    ben = await home_shows(slack, BEN, "Waiting for you: 4 reviews", "Berlin")
    assert "your notes are awaited" in ben
    await home_shows(slack, ANA, "<@UBEN> is writing notes")
    await slack.reply(BEN, CHANNEL, berlin.ts, "cite the lease terms")
    await home_shows(slack, BEN, "Waiting for you: 3 reviews", absent=("Berlin",))
    await home_shows(slack, ANA, "Waiting for you: 1 review", "(editor)", absent=("(critic)",))

    text = await status_for(slack, ANA)
    assert "2 of 3 answers in" in text and "0 of 3 answers in" in text

    # Across channels on the Home tab; status stays in its channel.
    slack.add_channel(ELSEWHERE, ANA, BEN, EVE)
    await slack.slash_command(ANA, ELSEWHERE, "Porto office")
    porto = await slack.wait_for(lambda: slack.roots(ELSEWHERE) and slack.roots(ELSEWHERE)[0])
    ana = await home_shows(slack, ANA, "Waiting for you: 4 reviews", "Porto", f"<#{ELSEWHERE}>")
    assert ana.index("Porto") < ana.index("Berlin")  # newest first
    assert "Porto" not in await status_for(slack, ANA)
    elsewhere = await status_for(slack, BEN, ELSEWHERE)
    assert "1 run*" in elsewhere and "Porto office" in elsewhere and "Berlin" not in elsewhere
    assert f"<{link(ELSEWHERE, porto.ts)}|open the thread>" in elsewhere


async def test_with_approvers_only_approvers_see_reviews(slack, llm_server, pg_url, tmp_path):
    settings = app_settings(
        slack, llm_server, database_url=pg_url, data_dir=tmp_path, approvers=frozenset({ANA})
    )
    async with started(settings, slack):
        berlin = await start_run(slack, "Berlin office", user=ANA)
        await wait_reviews(slack, berlin.ts, WORKERS)
        lisbon = await start_run(slack, "Lisbon office", user=BEN)
        reviews_b = await wait_reviews(slack, lisbon.ts, WORKERS)

        await slack.open_home(ANA)
        ana = await home_shows(slack, ANA, "Waiting for you: 6 reviews", "Lisbon", "Berlin")
        assert "You are an approver" in ana
        assert ana.index("Lisbon") < ana.index("Berlin")  # Ben's run is the newer one

        await slack.open_home(BEN)  # Ben started a run but may not answer its reviews
        ben = await home_shows(slack, BEN, "Nothing waits", "Only the approvers")
        assert "Lisbon" not in ben

        text = await status_for(slack, BEN)  # status is the channel's, for anyone
        assert "2 runs" in text and "Lisbon office" in text and "Berlin office" in text

        await slack.click(ANA, reviews_b["editor"], ACTION_APPROVE)
        await home_shows(slack, ANA, "Waiting for you: 5 reviews")
        assert "Nothing waits" in home_text(slack, BEN)


async def test_nothing_waiting_and_the_messages_tab(slack, llm_server, pg_app):
    text = await status_for(slack, EVE)
    assert text.startswith("Nothing in this channel waits for people right now")
    assert "&lt;topic&gt;" in text

    await slack.open_home(EVE, tab="messages")  # the app's Messages tab: no Home to publish
    await slack.open_home(ANA)
    await home_shows(slack, ANA, "Nothing waits")
    assert [c.args["user_id"] for c in slack.calls_to("views.publish")] == [ANA]
    assert slack.roots(CHANNEL) == []  # "status" is a command word, never a topic


# -- the builders, without Slack ----------------------------------------------------------------


def _run(i: int, **fields) -> Run:
    values = {
        "run_id": f"run{i}",
        "team_id": "T1",
        "channel_id": CHANNEL,
        "started_by": ANA,
        "topic": f"topic {i} " + "x" * 400,
        "root_ts": f"1700000000.{i:06d}",
        "status": RunStatus.WAITING,
        "phase": "waiting",
        "step": 1,
        "error": None,
        "summary_ts": None,
    }
    return Run(**(values | fields))


def _review(i: int, **fields) -> Review:
    values = {
        "review_id": f"rev{i}",
        "run_id": f"run{i}",
        "step": 1,
        "interrupt_id": f"i{i}",
        "position": 0,
        "request": {"question": "Ship it? <!channel>"},
        "message_ts": f"1700000001.{i:06d}",
        "status": ReviewStatus.PENDING,
        "notes_requested_by": None,
        "answer": None,
        "decided_by": None,
        "decided_at": None,
        "kind": "question",
    }
    return Review(**(values | fields))


def test_home_view_fits_slack_and_counts_what_it_leaves_out():
    items = [
        OpenReview(_review(i), _run(i, graph="approvals"), 1_700_000_000 + i) for i in range(60)
    ]
    view = home.home_view(items, 75, {}, home.APPROVER, ANA)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = block_text(SimpleNamespace(blocks=view["blocks"]))
    assert "Waiting for you: 75 reviews" in text
    assert f"…and {75 - home.HOME_REVIEWS} older reviews not shown here." in text
    assert "Ship it? &lt;!channel&gt;" in text and "<!channel>" not in text
    assert "`approvals`" in text and "Open in the thread" not in text  # no link: none shown


def test_status_lists_twenty_runs_and_counts_the_rest():
    runs = [WaitingRun(_run(i, step=2), 1, 3, 1_700_000_000) for i in range(home.STATUS_RUNS)]
    root = (CHANNEL, runs[0].run.root_ts)
    text = home.status_text(runs, 27, {root: "https://x.example/a?b=1&c=2"})
    assert text.count("\n• ") == home.STATUS_RUNS and text.endswith("…and 7 more.")
    assert "1 of 3 answers in (round 2)" in text
    assert "<https://x.example/a?b=1&amp;c=2|open the thread>" in text
    assert "x" * 200 not in text  # long topics are clipped
    assert len(text) < 40_000


def test_the_manifest_enables_the_home_tab():
    manifest = yaml.safe_load((Path(__file__).parents[2] / "manifest.yml").read_text())
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]

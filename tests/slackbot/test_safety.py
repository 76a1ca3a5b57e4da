"""No text from a person or an LLM reaches Slack as a live mention."""

import json

from tests.slackbot.conftest import ANA, start_run, summaries, wait_reviews

LIVE = ["<!channel>", "<!here>", "<!everyone>", "<@U0LEAK>"]
INJECTION = "Hi <!channel> and <!here>, <!everyone> meet <@U0LEAK>; also @here and @channel"


def sent_to_slack(slack) -> str:
    return json.dumps([c.args for c in slack.calls if c.method.startswith("chat.")])


async def test_mentions_in_the_topic_stay_literal(slack, pg_app):
    root = await start_run(slack, INJECTION)
    await wait_reviews(slack, root.ts, {"researcher", "critic", "editor"})
    sent = sent_to_slack(slack)
    for mention in LIVE:
        assert mention not in sent
    assert "&lt;!channel&gt;" in sent  # still readable, as text
    assert f"<@{ANA}>" in sent  # our own attribution is a real mention
    assert "@here" not in sent.replace("@\\u2060here", "")


async def test_mentions_in_llm_output_stay_literal(slack, llm_server, pg_app):
    plan = {
        "assignments": [
            {"worker_id": "a", "role": "Role <!here>", "task": "Task <@U0LEAK>"},
            {"worker_id": "b", "role": "Other", "task": "Other task"},
        ]
    }
    llm_server.script.extend([json.dumps(plan), INJECTION, INJECTION])
    root = await start_run(slack, "topic")
    reviews = await wait_reviews(slack, root.ts, {"a", "b"})
    from slackbot.blocks import ACTION_APPROVE

    for message in reviews.values():
        await slack.click(ANA, message, ACTION_APPROVE)
    await slack.wait_for(lambda: summaries(slack, root.ts))
    sent = sent_to_slack(slack)
    for mention in LIVE:
        assert mention not in sent
    assert sent.count("&lt;!everyone&gt;") >= 3  # two drafts and the summary

"""No text from a person or an LLM reaches Slack as a live mention or a disguised link."""

import json
import re

import pytest

from slackbot.blocks import ACTION_APPROVE
from slackbot.safe_text import WORD_JOINER, neutralize
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


# -- links show where they go ----------------------------------------------------------------

DISGUISED = (
    "See the [quarterly report](https://evil.example/q3) and ![chart](https://evil.example/c.png)."
    " Also <https://evil.example/slack|the wiki>, the [reference][r] and [shortcut].\n\n"
    '[r]: https://evil.example/ref\n[shortcut]: <https://evil.example/short> "title"\n'
)


def rendered_by_slack(slack) -> str:
    """The text Slack renders as mrkdwn or Markdown (plain_text never has links), joined."""
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, dict):
            if value.get("type") in ("mrkdwn", "markdown") and isinstance(value.get("text"), str):
                found.append(value["text"])
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for call in slack.calls:
        if call.method.startswith("chat."):
            found.append(str(call.args.get("text", "")))  # the notification's text
            walk(call.args.get("blocks"))
    return "\n".join(found)


def test_markdown_and_mrkdwn_links_show_their_target():
    shown = neutralize(DISGUISED)
    for revealed in [
        "quarterly report (https://evil.example/q3)",
        "chart (https://evil.example/c.png)",
        "the wiki (https://evil.example/slack)",
        "reference (https://evil.example/ref)",
        "shortcut (https://evil.example/short)",
    ]:
        assert revealed in shown, shown
    assert "](" not in shown and "][" not in shown and "|the wiki" not in shown
    assert "\n[r]:" not in shown  # no reference definition is left to give a label a target


@pytest.mark.parametrize(
    "text",
    [
        "[a [nested] label](https://evil.example)",
        "[label](<https://evil.example/with space> 'title')",
        "[label](https://evil.example/a_(b))",
        "[![img](https://i.example/x.png)](https://evil.example)",
        "[label]\n[label]: https://evil.example",
        " [label]:\n   https://evil.example\n\n[label]",
        "[label] [x](y",  # unbalanced: whatever is left cannot form a link
    ],
)
def test_no_label_keeps_a_hidden_target(text):
    shown = neutralize(text)
    assert not re.search(r"\]\(|\]\[|^ {0,3}\[[^\]]*\]:", shown, re.MULTILINE), shown
    if "evil" in text:
        assert "https://evil.example" in shown


@pytest.mark.parametrize(
    "definition",
    [
        "- [the policy]: https://evil.example/login",
        "* [the policy]: <https://evil.example/login>",
        "1. [the policy]:\n   https://evil.example/login",
        "- item\n  - [the policy]: https://evil.example/login",
        "> - [the policy]: https://evil.example/login",
        "2) \t[The  Policy]: https://evil.example/login 'title'",
    ],
)
def test_reference_definitions_inside_list_items_show_their_target(definition):
    shown = neutralize(f"Read [the policy].\n\n{definition}\n")
    assert "Read the policy (https://evil.example/login)." in shown, shown
    assert not re.search(r"\]:", shown), shown  # nothing left that could define a target


def test_mentions_stay_literal_inside_links():
    shown = neutralize("[<!here>](https://x.example/<@U0LEAK>) <https://x.example|<!channel>>")
    for mention in LIVE:
        assert mention not in shown
    assert "@here" not in shown.replace(f"@{WORD_JOINER}here", "")


def test_text_without_links_is_unchanged_but_escaped():
    assert neutralize("a & b < c > d [not a link] (nor this)") == (
        "a &amp; b &lt; c &gt; d [not a link] (nor this)"
    )


async def test_links_in_llm_output_show_their_target(slack, llm_server, pg_app):
    plan = {
        "assignments": [
            {"worker_id": "a", "role": "[Role](https://evil.example/r)", "task": "Task"},
            {"worker_id": "b", "role": "Other", "task": "<https://evil.example/t|Other task>"},
        ]
    }
    llm_server.script.extend([json.dumps(plan), DISGUISED, DISGUISED])
    root = await start_run(slack, "topic [with a link](https://evil.example/topic)")
    reviews = await wait_reviews(slack, root.ts, {"a", "b"})
    for message in reviews.values():
        await slack.click(ANA, message, ACTION_APPROVE)
    await slack.wait_for(lambda: summaries(slack, root.ts))
    sent, rendered = sent_to_slack(slack), rendered_by_slack(slack)
    assert "](https://evil" not in rendered and "|Other task" not in rendered
    assert "\n[r]: https" not in rendered  # no reference definition left
    assert sent.count("quarterly report (https://evil.example/q3)") >= 3  # drafts and summary
    assert "Role (https://evil.example/r)" in sent
    assert "with a link (https://evil.example/topic)" in sent

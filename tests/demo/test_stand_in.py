"""The offline stand-in model: plausible, varied, repeatable text that never mentions itself."""

import json
import re

import aiohttp

from graphs import prompts
from slackbot.demo.openai_server import (
    STAND_IN_MODEL,
    OpenAIServer,
    shorten,
    stand_in_content,
)

TOPIC = "a launch plan for our Berlin office"


def body(messages, structured=False):
    out = {"model": "m", "messages": [{"role": r, "content": c} for r, c in messages]}
    if structured:
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": "Plan"}}
    return out


def plan(topic, max_workers=3):
    content = stand_in_content(body(prompts.plan_messages(topic, max_workers), structured=True))
    return json.loads(content)["assignments"]


def draft(topic, assignment, **state):
    return stand_in_content(body(prompts.draft_messages({"topic": topic, **assignment, **state})))


def sentences(text):
    prose = " ".join(line for line in text.splitlines() if line and not line.startswith("- "))
    return [s for s in re.split(r"(?<=[.!?…])\s+", prose) if s]


def test_plan_tasks_are_whole_sentences_about_the_topic():
    assignments = plan(TOPIC)
    assert [a["worker_id"] for a in assignments] == ["researcher", "critic", "editor"]
    assert [a["role"] for a in assignments] == ["Researcher", "Critic", "Editor"]
    for assignment in assignments:
        assert f"“{TOPIC}”" in assignment["task"]
        assert assignment["task"][0].isupper() and assignment["task"].endswith(".")
    assert [a["worker_id"] for a in plan(TOPIC, max_workers=2)] == ["researcher", "critic"]


def test_a_long_topic_is_shortened_at_a_word_with_an_ellipsis():
    topic = "How should we price the enterprise plan across Europe, the US and Asia this year?"
    for assignment in plan(topic):
        quoted = re.search(r"“(.*?)”", assignment["task"]).group(1)
        assert quoted.endswith("…") and len(quoted) <= 60
        kept = quoted.removesuffix("…")
        assert topic.startswith(kept) and topic[len(kept)] in " ,"  # cut between words
    assert shorten("short topic") == "short topic"
    assert shorten("  spaced\n  out  ") == "spaced out"


def test_drafts_mention_topic_and_role_vary_and_repeat_exactly():
    assignments = plan(TOPIC)
    drafts = {a["worker_id"]: draft(TOPIC, a) for a in assignments}
    for assignment in assignments:
        text = drafts[assignment["worker_id"]]
        assert text.startswith(f"First draft by the {assignment['role']}.")
        assert f"“{TOPIC}”" in text
        assert 3 <= len(sentences(text)) <= 5
        assert len([line for line in text.splitlines() if line.startswith("- **")]) == 3
        assert text == draft(TOPIC, assignment)  # deterministic
    assert len(set(drafts.values())) == 3
    others = [draft(f"topic number {n}", assignments[0]) for n in range(6)]
    assert len({re.sub(r"“.*?”", "", text) for text in others}) > 1  # not one fixed text


def test_a_revision_answers_the_notes_and_keeps_the_first_draft():
    editor = plan(TOPIC)[2]
    first = draft(TOPIC, editor)
    notes = "Please make it shorter and cite the lease terms."
    second = draft(TOPIC, editor, draft=first, notes=notes)
    assert second.startswith(f"Revised draft by the Editor, addressing: {notes}")
    assert "shorter" in second and "(source: to confirm)" in second
    assert len([line for line in second.splitlines() if line.startswith("- ")]) == 2
    opening = first.splitlines()[0].split(". ", 1)[1]
    assert opening in second
    third = draft(TOPIC, editor, draft=second, notes="more risks")
    assert "addressing: more risks" in third and opening in third
    assert third.count("(source: to confirm)") == second.count("(source: to confirm)")


def test_the_summary_keeps_every_approved_draft_whole():
    approved = [{**a, "draft": draft(TOPIC, a)} for a in plan(TOPIC)]
    summary = stand_in_content(body(prompts.summary_messages(TOPIC, approved)))
    for item in approved:
        assert item["draft"] in summary
    assert f"“{TOPIC}”" in summary.splitlines()[0]


def test_nothing_it_writes_is_about_itself():
    assignments = plan(TOPIC)
    texts = [json.dumps(assignments)]
    texts += [draft(TOPIC, a) for a in assignments]
    texts.append(draft(TOPIC, assignments[0], draft=texts[1], notes="tighter"))
    for text in texts:
        assert "stand-in" not in text.lower() and "offline" not in text.lower()


async def test_answers_carry_the_model_name_and_tests_keep_their_controls():
    server = OpenAIServer()
    url = await server.start()
    request = body(prompts.draft_messages({"topic": TOPIC, **plan(TOPIC)[0]}))
    try:
        async with aiohttp.ClientSession() as session:

            async def ask():
                async with session.post(url + "/chat/completions", json=request) as response:
                    return response.status, await response.json()

            status, answer = await ask()
            assert status == 200 and answer["model"] == STAND_IN_MODEL
            assert answer["choices"][0]["message"]["content"].startswith("First draft by the")
            server.script.append("canned")
            assert (await ask())[1]["choices"][0]["message"]["content"] == "canned"
            server.fail_next(1, status=503)
            assert (await ask())[0] == 503
            async with session.get(url + "/models") as response:
                assert (await response.json())["data"][0]["id"] == STAND_IN_MODEL
        assert len(server.requests) == 3 and len(server.spans) == 3
        assert len(server.requests_where("Your task: ")) == 3
    finally:
        await server.close()

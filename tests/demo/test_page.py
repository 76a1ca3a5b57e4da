"""The demo page in headless Chromium: it draws every block the app sends, asks a button's
`confirm` first, keeps long text and private notices from hiding anything, and never folds a
thread that still asks for a click; a person talks to the demo's chat agent in the app's
Messages tab and by mentioning it in #demo."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import aiohttp
import pytest
from playwright.async_api import async_playwright, expect
from slack_sdk.web.async_client import AsyncWebClient

from slackbot import blocks
from slackbot.demo.__main__ import CHAT_AGENT
from slackbot.demo.openai_server import OpenAIServer
from slackbot.demo.workspace import CHANNEL, DemoWorkspace
from slackbot.feedback import feedback_block
from slackbot.prompts import talk_example
from slackbot.reviews import KINDS, kind_for
from slackbot.reviews.tools import expand
from slackbot.server import running_app
from slackbot.settings import Settings
from slackbot.store import Review, ReviewStatus, Run, RunStatus
from tests.demo.stand_in_app import CHROMIUM, CHROMIUM_ARGS, notes_view, option

ANA = "UANA"
TRIAGE = {
    "type": "object",
    "required": ["severity", "summary"],
    "properties": {
        "severity": {"enum": ["sev1", "sev2", "sev3"], "type": "string", "title": "Severity"},
        "summary": {"type": "string", "description": "One line for the status page"},
        "responders": {"type": "integer", "default": 1, "maximum": 10},
        "page": {"type": "boolean"},
        "teams": {"type": "array", "items": {"enum": ["web", "db"]}},
    },
}
UNION = {
    "oneOf": [{"$ref": "#/$defs/Retry"}, {"$ref": "#/$defs/Abort"}],
    "discriminator": {"propertyName": "type"},
    "$defs": {
        "Retry": {"type": "object", "properties": {"type": {"const": "retry"}}},
        "Abort": {
            "type": "object",
            "required": ["type", "reason"],
            "properties": {"type": {"const": "abort"}, "reason": {"type": "string"}},
        },
    },
}
HITL = {
    "action_requests": [
        {
            "name": "book_flight",
            "args": {"origin": "Berlin", "destination": "Lisbon", "passengers": 2},
            "description": "Tool execution requires approval",
        }
    ],
    "review_configs": [{"action_name": "book_flight", "allowed_decisions": ["approve", "reject"]}],
}
PER_CALL = {
    "type": "tool_approval",
    "tool_call_id": "call-1",
    "name": "send_email",
    "args": {"to": "ana@example.com", "subject": "Launch", "body": "It ships on Friday."},
    "description": "Send an email to one address.",
}
INBOX = [
    {
        "action_request": {"action": "post_update", "args": {"channel": "#releases"}},
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True},
        "description": "Post the release note?",
    }
]
WORKER = {
    "worker_id": "editor", "role": "Editor", "task": "Tighten the plan",
    "draft": "## Plan\n- Lease", "round": 1, "max_rounds": 4, "answers": ["approve", "revise"],
}  # fmt: skip
# Every review kind the app has, as interrupts people write them (value, response_schema).
REQUESTS = {
    "typed form": ({"ticket": "INC-42", "service": "checkout", "reported_by": "Ben"}, TRIAGE),
    "typed yes/no": ({"question": "Deploy to production?", "build": "1.4.2"}, {"type": "boolean"}),
    "typed union": ({"question": "The sync failed: what now?", "error": "timeout"}, UNION),
    "question text": ("What is the customer's name?", None),
    "question options": ({"question": "Ship it?", "options": ["yes", "no"], "size": 3}, None),
    "tool batched": (expand("k", HITL)[0][1], None),
    "tool per call": (PER_CALL, {"type": "object"}),
    "inbox": (INBOX, None),
    "worker": (WORKER, None),
}


def review(value: Any, schema: dict | None, **changes: Any) -> Review:
    kind = "tool_call" if "allowed" in (value if isinstance(value, dict) else {}) else None
    fields = dict(
        review_id="r" * 32, run_id="run", step=1, interrupt_id="i" * 32, position=0,
        request=value, message_ts="1.0", status=ReviewStatus.PENDING, notes_requested_by=None,
        answer=None, decided_by=None, decided_at=None,
        kind=kind or kind_for(value, schema), response_schema=schema,
    ) | changes  # fmt: skip
    return Review(**fields)


def breakpoint_review() -> Review:
    value = {"position": "before", "nodes": ["approval"], "values": {"request": "drop db", "n": 1}}
    return review(value, None, kind="breakpoint")


def run(**changes: Any) -> Run:
    fields = dict(
        run_id="run-1", team_id="T1", channel_id=CHANNEL, started_by=ANA, topic="Plan the launch",
        root_ts=None, status=RunStatus.RUNNING, phase="waiting", step=1, error=None,
        summary_ts=None, graph="newcomer",
    ) | changes  # fmt: skip
    return Run(**fields)


def reviews() -> dict[str, Review]:
    found = {name: review(value, schema) for name, (value, schema) in REQUESTS.items()}
    found["breakpoint"] = breakpoint_review()
    answered = review(*REQUESTS["typed form"], status=ReviewStatus.DECIDED, decided_by=ANA,
                      answer={"severity": "sev1"}, decided_at=time.time())  # fmt: skip
    found["typed answered"] = answered
    return found


def words(sent: Any) -> set[str]:
    """The words a person must be able to read of Block Kit JSON: every `text` (fields, labels,
    options, context, headers, markdown), without mentions, dates and links (drawn as names),
    and without what only shows later (a button's `confirm`) or as a hint (`placeholder`)."""
    found: list[str] = []

    def walk(node: Any, key: str = "") -> None:
        if key in ("confirm", "placeholder", "initial_value", "value"):
            return
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif key == "text" and isinstance(node, str):
            found.append(node)

    walk(sent)
    text = re.sub(r"<[^<>]*>", " ", html.unescape(" ".join(found)))
    return set(re.findall(r"[^\W_]{2,}", text))


# The visible text nodes of an element, one by one (a row of buttons is no one word); a closed
# <select> counts as showing its options.
TEXT_NODES = """(element) => {
  const out = [], walk = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const parent = walk.currentNode.parentElement;
    if (parent.closest("option") || parent.checkVisibility()) out.push(walk.currentNode.data);
  }
  return out.join(" ");
}"""


async def shown_words(locator) -> set[str]:
    text = await locator.evaluate(TEXT_NODES)
    return set(re.findall(r"[^\W_]{2,}", text))


async def open_page(playwright, url: str):
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = await browser.new_page(viewport={"width": 900, "height": 900})
    await page.goto(url)
    await expect(page.locator("#me")).to_have_value(ANA)
    return browser, page


def client_of(demo) -> AsyncWebClient:
    return AsyncWebClient(token=demo.bot_token, base_url=demo.base_url + "/api/")


async def test_every_review_kind_shows_every_text_the_app_sent_in_messages_and_modals(workspace):
    demo, _ = workspace
    client = client_of(demo)
    sent = {"root": blocks.root_message(run())}
    sent |= {name: blocks.review_message(r) for name, r in reviews().items()}
    sent["result"] = blocks.result_message(
        {"total": 1200, "currency": "EUR", "payee": "ACME"}, None
    )
    root = await client.chat_postMessage(channel=CHANNEL, **sent["root"].as_kwargs())
    posted = {"root": root["ts"]}
    for name, message in list(sent.items())[1:]:
        reply = await client.chat_postMessage(
            channel=CHANNEL, thread_ts=root["ts"], **message.as_kwargs()
        )
        posted[name] = reply["ts"]

    async with async_playwright() as playwright:
        browser, page = await open_page(playwright, demo.page_url)
        for name, ts in posted.items():
            shown = page.locator(f'.msg[data-ts="{ts}"]')
            await expect(shown).to_be_visible()
            missing = words(sent[name].blocks) - await shown_words(shown)
            assert not missing, f"{name}: the page does not show {sorted(missing)}"

        # Each form the reviews open: the modal shows every label, hint, option and text.
        for name, r in reviews().items():
            kind = KINDS.get(r.kind)
            for index, control in enumerate(kind.controls(r) if kind else []):
                if not control.form:
                    continue
                view = blocks.form_view(r, index, kind.form(r, index))
                await client.views_open(trigger_id=demo.issue_trigger(ANA), view=view)
                modal = page.get_by_role("dialog")
                await expect(modal).to_have_count(1)
                await expect(modal.locator("h2")).to_have_text(view["title"]["text"])
                missing = words(view) - await shown_words(modal)
                assert not missing, f"{name} / {control.label}: the modal lacks {sorted(missing)}"
                demo.close_view(ANA)
                await expect(modal).to_have_count(0)
        await browser.close()


async def test_cancel_asks_for_the_confirmation_the_app_sends_before_clicking(workspace):
    demo, app = workspace
    client = client_of(demo)
    await client.chat_postMessage(channel=CHANNEL, **blocks.root_message(run()).as_kwargs())
    async with async_playwright() as playwright:
        browser, page = await open_page(playwright, demo.page_url)
        await page.get_by_role("button", name="Cancel").click()
        ask = page.get_by_role("alertdialog", name="Cancel this run?")
        await expect(ask).to_be_visible()
        await expect(ask).to_contain_text("Open reviews close and the graph is never resumed")
        await ask.get_by_role("button", name="Keep it").click()
        await expect(ask).to_be_hidden()
        assert app.received == []  # denied: Slack sends nothing

        await page.get_by_role("button", name="Cancel").click()
        await ask.get_by_role("button", name="Cancel the run").click()
        await expect(ask).to_be_hidden()
        await demo.wait_for(lambda: app.received)
        [action] = app.received[-1]["actions"]
        assert (action["action_id"], action["value"]) == (blocks.ACTION_CANCEL, "run-1")
        await browser.close()


async def test_long_text_wraps_and_notices_never_cover_the_channel(workspace):
    demo, _ = workspace
    client = client_of(demo)
    word = "x" * 1500
    long_blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": word}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": word}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": word}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{word}```"}},
    ]
    for _ in range(6):
        await client.chat_postMessage(channel=CHANNEL, text="long", blocks=long_blocks)
    async with async_playwright() as playwright:
        browser, page = await open_page(playwright, demo.page_url)
        await expect(page.locator(".msg")).to_have_count(6)
        overflow = await page.evaluate(
            "() => { const f = document.getElementById('feed');"
            " return f.scrollWidth - f.clientWidth; }"
        )
        assert overflow <= 0, f"the channel is {overflow}px wider than the window"

        for n in range(3):
            async with aiohttp.ClientSession() as session:
                await session.post(
                    f"{demo.base_url}/response/{CHANNEL}/{ANA}", json={"text": f"Notice {n} {word}"}
                )
        await expect(page.locator(".notice")).to_have_count(3)
        feed = await page.locator("#feed").bounding_box()
        for box in [await n.bounding_box() for n in await page.locator(".notice").all()]:
            assert box["y"] >= feed["y"] + feed["height"] - 1, "a notice covers the channel"
            assert box["x"] + box["width"] <= 900
        await browser.close()


async def test_a_stopped_run_offering_retry_is_not_folded_away(workspace):
    demo, _ = workspace
    client = client_of(demo)
    stopped = run(phase="failed", status=RunStatus.FAILED, error="KeyError: 'description'")
    root = await client.chat_postMessage(
        channel=CHANNEL, **blocks.root_message(stopped).as_kwargs()
    )
    await client.chat_postMessage(
        channel=CHANNEL, thread_ts=root["ts"], **blocks.failure_message(stopped).as_kwargs()
    )
    async with async_playwright() as playwright:
        browser, page = await open_page(playwright, demo.page_url)
        await expect(page.get_by_text("Stopped: KeyError").first).to_be_visible()
        await expect(page.get_by_role("button", name="Retry")).to_be_visible()
        await expect(page.get_by_text("finished")).to_have_count(0)
        await browser.close()


async def test_the_page_shows_modals_notices_and_folded_threads(workspace):

    demo, app = workspace
    client = AsyncWebClient(token=demo.bot_token, base_url=demo.base_url + "/api/")
    done = [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Started by <@UANA> · ✅ Done: the summary is in the thread",
                }
            ],
        }
    ]
    root = await client.chat_postMessage(channel=CHANNEL, text="Orchestration", blocks=done)
    await client.chat_postMessage(channel=CHANNEL, text="an old reply", thread_ts=root["ts"])
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        failed = []
        page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
        page.on("dialog", lambda d: failed.append("a dialog: " + d.message))
        await page.goto(demo.page_url)

        # A thread finished before the page opened is folded; the toggle opens it.
        await expect(page.get_by_role("button", name="Show 1 reply")).to_be_visible()
        await expect(page.get_by_text("an old reply")).to_be_hidden()
        await page.get_by_role("button", name="Show 1 reply").click()
        await expect(page.get_by_text("an old reply")).to_be_visible()
        assert (await page.locator(".who time").first.get_attribute("title")).endswith("UTC")

        # Text that is not a command gets a hint beside the box, not an alert.
        await page.fill("#composer", "hello")
        await page.press("#composer", "Enter")
        await expect(page.locator("#composer-hint")).to_contain_text("Only /orchestrate")

        # A modal opened for Ana: errors show under the field, what she typed stays.
        trigger_id = demo.issue_trigger(ANA)
        await client.views_open(trigger_id=trigger_id, view=notes_view())
        modal = page.get_by_role("dialog", name="Revision notes")
        await expect(modal).to_be_visible()
        await modal.get_by_label("Notes").fill("Cite the lease")
        await modal.get_by_label("Tone").select_option("blue")
        await modal.get_by_role("checkbox", name="Green").check()
        app.answers.append({"response_action": "errors", "errors": {"notes": "Say more"}})
        await modal.get_by_role("button", name="Send").click()
        await expect(modal.locator(".field-error:not(:empty)")).to_have_text("Say more")
        await expect(modal.get_by_label("Notes")).to_have_value("Cite the lease")
        await modal.get_by_role("button", name="Send").click()
        await expect(modal).to_be_hidden()
        state = app.received[-1]["view"]["state"]["values"]
        assert state["notes"]["notes_input"]["value"] == "Cite the lease"
        assert state["tone"]["tone_input"]["selected_option"]["value"] == "blue"
        assert state["checks"]["checks_input"]["selected_options"] == [option("green")]
        assert state["rounds"]["rounds_input"]["value"] == "2"

        # An ephemeral notice shows at the top and can be dismissed.
        async with aiohttp.ClientSession() as session:
            await session.post(
                f"{demo.base_url}/response/{CHANNEL}/{ANA}",
                json={"text": "Already decided by @ben"},
            )
        notice = page.locator(".notice", has_text="Already decided by @ben")
        await expect(notice).to_be_visible()
        await notice.get_by_role("button", name="Dismiss").click()
        await expect(notice).to_be_hidden()
        await browser.close()
    assert failed == []


# -- talking to the demo's chat agent (the real app, the stand-in model) ------------------------


@pytest.fixture
async def talking_demo(tmp_path, monkeypatch):
    """The demo as `python -m slackbot.demo` hosts it: the built-in graph and the chat agent,
    the app over HTTP, the offline stand-in model (nothing scripted), Ana the approver."""
    from graphs.examples import chat

    chat.NOTES.clear()
    demo, llm = DemoWorkspace(), OpenAIServer()
    api_url, llm_url = await demo.start(), await llm.start()
    monkeypatch.setenv("OPENAI_BASE_URL", llm_url)  # the chat agent builds its own model
    monkeypatch.setenv("OPENAI_API_KEY", "offline")
    settings = Settings(
        slack_bot_token=demo.bot_token,
        slack_signing_secret=demo.signing_secret,
        slack_api_url=api_url,
        port=0,
        data_dir=tmp_path,
        openai_api_key="offline",
        openai_base_url=llm_url,
        approvers=frozenset({ANA}),
        graph_spec=CHAT_AGENT,
        with_builtin=True,
    )
    async with running_app(settings, host="127.0.0.1") as app:
        demo.app_url = app.url
        catalog = app.services.orchestrator.catalog
        assert list(catalog.graphs) == ["orchestrate", "chat"] and catalog.default.builtin
        demo.talk_example = talk_example(catalog)
        yield demo, llm
    await demo.close()
    await llm.close()


def thread_of(page, text: str):
    """The thread under the top-level message that says `text`."""
    root = page.locator(".msg", has_text=text).first
    return root.locator("xpath=following-sibling::div[contains(@class, 'thread')][1]")


async def test_the_messages_tab_shows_the_prompts_and_a_dm_is_a_conversation(talking_demo):
    demo, llm = talking_demo
    async with async_playwright() as playwright:
        browser, page = await open_page(playwright, demo.page_url)
        await page.get_by_role("tab", name="Messages").click()
        prompts = page.locator(".prompt")
        await expect(prompts).to_have_count(2)  # one per hosted graph, set by the app
        await expect(prompts.nth(0)).to_contain_text("orchestrate:")
        await prompts.filter(has_text="chat:").click()  # sent as a DM, as Slack does

        thread = thread_of(page, "chat what time is it in Tokyo?")
        await expect(thread.get_by_text("It is").last).to_be_visible(timeout=20_000)  # the answer
        box = thread.locator("textarea")
        await box.fill("what did I ask you before?")
        await box.press("Enter")
        recall = thread.get_by_text("Earlier in this conversation you asked")
        await expect(recall).to_contain_text("“what time is it in Tokyo?”", timeout=20_000)
        await browser.close()
    call = demo.calls_to("assistant.threads.setSuggestedPrompts")[0]
    assert call.args["channel_id"] == "DANA" and "thread_ts" not in call.args
    assert [m.channel for m in demo.messages.values() if m.user == ANA] == ["DANA", "DANA"]
    last = llm.requests[-1]["messages"]
    assert [m["content"] for m in last if m["role"] == "user"] == [
        "what time is it in Tokyo?",
        "what did I ask you before?",
    ]


async def test_a_mention_in_demo_with_a_tool_approval_then_a_follow_up(talking_demo):
    from graphs.examples import chat

    demo, llm = talking_demo
    async with async_playwright() as playwright:
        browser, page = await open_page(playwright, demo.page_url)
        await expect(page.locator("#composer-hint")).to_contain_text("@Orchestrator chat")
        await page.fill("#composer", "@Orchestrator chat note that the Tokyo call is at 9")
        await page.press("#composer", "Enter")

        thread = thread_of(page, "note that the Tokyo call is at 9")
        await thread.get_by_role("button", name="Approve").click(timeout=20_000)
        await expect(thread.get_by_text("Saved the note").last).to_be_visible(timeout=20_000)
        box = thread.locator("textarea")
        await box.fill("@Orchestrator what did I ask you before?")
        await box.press("Enter")
        recall = thread.get_by_text("Earlier in this conversation you asked")
        await expect(recall).to_contain_text("the Tokyo call is at 9", timeout=20_000)
        await browser.close()
    assert chat.NOTES == ["the Tokyo call is at 9"]  # saved once, after Ana approved it
    (mention,) = [m for m in demo.messages.values() if m.user == ANA and m.thread_ts]
    assert mention.text == "<@UORCHBOT> what did I ask you before?"
    roles = [m["role"] for m in llm.requests[-1]["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]


async def test_a_streamed_answer_grows_shows_its_tasks_status_and_feedback(workspace):
    """What Slack shows of an agent at work: the status line under the thread, the text
    growing as it is appended, a task card going from in progress to complete, and, once the
    stream stops, the feedback buttons, whose click reaches the app."""
    demo, stand_in = workspace
    client = client_of(demo)
    root = await client.chat_postMessage(channel=CHANNEL, text="Plan the launch")
    where = {"channel": CHANNEL, "thread_ts": root["ts"]}
    async with async_playwright() as playwright:
        browser, page = await open_page(playwright, demo.page_url)
        await client.api_call("assistant.threads.setStatus", json={
            "channel_id": CHANNEL, "thread_ts": root["ts"], "status": "is thinking…"})  # fmt: skip
        await expect(page.get_by_role("status")).to_have_text("Orchestrator is thinking…")
        started = await client.api_call("chat.startStream", json={
            **where, "recipient_user_id": ANA, "recipient_team_id": "T1",
            "chunks": [{"type": "markdown_text", "text": "Let me look"}]})  # fmt: skip
        stream = {"channel": CHANNEL, "ts": started["ts"]}
        message = page.locator(f'.msg[data-ts="{started["ts"]}"]')
        await expect(message).to_contain_text("Let me look")
        await client.api_call("chat.appendStream", json={**stream, "chunks": [
            {"type": "markdown_text", "text": " at the calendar."},
            {"type": "task_update", "id": "call-1", "title": "read_calendar",
             "status": "in_progress", "details": "week=12"}]})  # fmt: skip
        await expect(message).to_contain_text("Let me look at the calendar.")
        card = message.locator('[data-task="call-1"]')
        await expect(card).to_contain_text("read_calendar")
        await expect(card.locator(".task-mark")).to_have_attribute("title", "in_progress")
        await expect(message.locator(".cursor")).to_be_visible()  # still writing

        await client.api_call("chat.appendStream", json={**stream, "chunks": [
            {"type": "task_update", "id": "call-1", "title": "read_calendar",
             "status": "complete", "output": "Friday is free"}]})  # fmt: skip
        await expect(card.locator(".task-mark")).to_have_attribute("title", "complete")
        await expect(card).to_contain_text("Friday is free")
        await client.api_call("chat.stopStream", json={**stream, "blocks": [feedback_block("r1")]})
        await client.api_call("assistant.threads.setStatus", json={
            "channel_id": CHANNEL, "thread_ts": root["ts"], "status": ""})  # fmt: skip
        await expect(page.get_by_role("status")).to_have_count(0)
        await expect(message.locator(".cursor")).to_have_count(0)

        good = message.get_by_role("button", name="Good answer")
        await good.click()
        await expect(good).to_have_attribute("aria-pressed", "true")
        await browser.close()
    (click,) = [r for r in stand_in.received if r.get("type") == "block_actions"]
    (action,) = click["actions"]
    assert (action["type"], action["action_id"], action["value"]) == (
        "feedback_buttons", "feedback", "good")  # fmt: skip
    assert action["block_id"] == "feedback:r1" and click["message"]["ts"] == started["ts"]

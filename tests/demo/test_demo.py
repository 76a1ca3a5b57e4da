"""The offline demo: the scripted session end to end, and the web page in headless Chromium."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from slackbot.demo.openai_server import OpenAIServer
from slackbot.demo.workspace import DemoWorkspace
from slackbot.server import running_app
from slackbot.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_scripted_demo_prints_the_whole_thread(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "slackbot.demo", "--script", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "LLM: the offline stand-in model" in out
    assert "Done: the summary is in the thread" in out
    # Ana is the demo's only approver: Ben's click is refused, privately, and nothing changes.
    assert 'only @ben saw: "Only the approvers' in out and "Approved by @ben" not in out
    assert out.count("✅ Approved by @ana") == 3
    assert "✏️ Revision requested by @ana" in out
    assert "Revised draft by the Editor" in out and "Round 2 of 4" in out
    assert "🧾 Summary" in out and "(reactions: memo)" in out
    assert "[offline stand-in model]" not in out  # the label is said once, not in every draft
    assert out.count("drafted by offline-stand-in") == 4  # once per review, in its context line


@pytest.fixture
async def demo(tmp_path):
    workspace = DemoWorkspace()
    llm = OpenAIServer()
    api_url = await workspace.start()
    settings = Settings(
        slack_bot_token=workspace.bot_token,
        slack_signing_secret=workspace.signing_secret,
        slack_api_url=api_url,
        port=0,
        data_dir=tmp_path,
        openai_api_key="offline",
        openai_base_url=await llm.start(),
        llm_max_retries=0,
    )
    async with running_app(settings, host="127.0.0.1") as app:
        workspace.app_url = app.url
        yield workspace
    await workspace.close()
    await llm.close()


async def test_a_person_runs_an_orchestration_in_the_browser(demo, tmp_path):
    assert os.access(CHROMIUM, os.X_OK), "scripts/test installs Debian's chromium for this test"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1100, "height": 1400})
        await page.goto(demo.page_url)
        await expect(page.locator("#me")).to_have_value("UANA")

        await page.fill("#composer", "/orchestrate a launch plan for the Berlin office")
        await page.press("#composer", "Enter")
        await expect(page.get_by_text("Waiting for reviews: 0 of 3 in")).to_be_visible()
        review = {w: page.locator(".msg", has_text=f"({w})") for w in ("researcher", "critic")}

        editor = page.locator(".msg", has_text="(editor)").first
        await editor.get_by_role("button", name="Revise").click()
        await expect(editor).to_contain_text("reply in this thread with your notes for editor")
        await page.fill("textarea[data-thread]", "Shorter, and cite the lease terms")
        await page.press("textarea[data-thread]", "Enter")
        await expect(editor).to_contain_text("Revision requested by @ana")

        for worker in ("researcher", "critic"):
            await review[worker].get_by_role("button", name="Approve").click()
            await expect(review[worker]).to_contain_text("Approved by @ana")

        redraft = page.locator(".msg", has_text="Round 2 of 4")
        await expect(redraft).to_contain_text("addressing: Shorter, and cite the lease terms")
        await redraft.get_by_role("button", name="Approve").click()
        await expect(page.locator(".blk-header", has_text="Summary")).to_be_visible()
        await expect(page.get_by_text("Done: the summary is in the thread")).to_be_visible()

        # An empty command gets usage help that only Ana sees.
        await page.fill("#composer", "/orchestrate")
        await page.press("#composer", "Enter")
        await expect(page.locator(".notice")).to_contain_text("Usage: /orchestrate")
        await page.screenshot(path=str(tmp_path / "demo.png"))
        await browser.close()
    summaries = [m for m in demo.messages.values() if "🧾 Summary" in str(m.blocks)]
    assert len(summaries) == 1

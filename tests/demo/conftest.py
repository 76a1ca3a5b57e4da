"""The demo workspace (emulator + page) with a stand-in for the app, for the emulator's tests."""

import pytest

from slackbot.demo.workspace import DemoWorkspace
from tests.demo.stand_in_app import StandInApp


@pytest.fixture
async def workspace(tmp_path):
    demo = DemoWorkspace(state_file=tmp_path / "slack-emulator.json")
    await demo.start()
    stand_in = StandInApp(demo.signing_secret)
    demo.app_url = await stand_in.start()
    yield demo, stand_in
    await stand_in.close()
    await demo.close()

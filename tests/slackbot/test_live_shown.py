"""Two AI messages of one step stream as two paragraphs, not run together."""

from slackbot.engine.events import TextDelta, ToolFinished, ToolStarted
from slackbot.live import Shown


class Writer:
    """Records what Shown asks of the stream's writer (our own class, no Slack in between)."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def text(self, delta: str) -> None:
        self.said.append(delta)

    def task(self, *args, **kwargs) -> None:
        pass


class Status:
    async def show(self, text: str) -> None:
        pass


async def test_a_second_ai_message_starts_a_new_paragraph():
    writer = Writer()
    shown = Shown(writer, Status(), messages=True, topic="weather")  # type: ignore[arg-type]
    for event in (
        TextDelta("m1", "Let me "),
        TextDelta("m1", "check."),
        ToolStarted("call-1", "get_weather", {"city": "Paris"}),
        ToolFinished("call-1", "get_weather", "Sunny", True),
        TextDelta("m2", "It is sunny."),
    ):
        await shown.event(event)
    assert "".join(writer.said) == "Let me check.\n\nIt is sunny."

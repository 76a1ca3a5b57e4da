"""The emulator's side of conversations: a person mentions the app in a channel (delivered as
`app_mention` and, as Slack does, once more as the post's `message` event), writes to it in its
Messages tab (`message.im`), and the Web API methods that go with them
(`assistant.threads.setSuggestedPrompts`, `users.info`)."""

from __future__ import annotations

import json
from typing import Any

from slackbot.demo.views import SlackError

BOT_MENTION = "<@UORCHBOT>"  # the emulator's bot user, as Slack writes a mention


def dm_channel(user: str) -> str:
    """The app's DM with `user` (its Messages tab)."""
    return "D" + user.removeprefix("U")


class TalkMixin:
    """Mixed into SlackEmulator: uses its messages, channels and delivery."""

    prompts: dict[str, dict[str, Any]]  # DM channel → the last setSuggestedPrompts arguments

    def _talk_init(self) -> None:
        self.prompts = {}

    async def mention(
        self,
        user: str,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        as_message_too: bool = True,
        url: str | None = None,
    ) -> Any:
        """`user` posts `@app <text>` (in the thread `thread_ts`, if given): the `app_mention`
        event, then the same post as a `message` event, as Slack sends both."""
        text = f"{BOT_MENTION} {text}"
        return await self.say(user, channel, text, thread_ts=thread_ts, url=url,
                              as_message_too=as_message_too)  # fmt: skip

    async def say(
        self,
        user: str,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        as_message_too: bool = True,
        url: str | None = None,
    ) -> Any:
        """`user` posts `text` in a channel (or its thread): a text that mentions the app
        (`<@UORCHBOT>`) comes as `app_mention` first, and every post as a `message` event."""
        message = self.post_as_person(user, channel, text, thread_ts)  # type: ignore[attr-defined]
        mentioned = BOT_MENTION in text
        if mentioned:
            await self.deliver_event(self._event(message, "app_mention"), url=url)
        if as_message_too or not mentioned:
            await self.deliver_event(self._event(message, "message", "channel"), url=url)
        return message

    async def dm(
        self, user: str, text: str, *, thread_ts: str | None = None, url: str | None = None
    ) -> Any:
        """`user` writes to the app in its Messages tab (a reply in `thread_ts`, if given)."""
        channel = dm_channel(user)
        self.add_channel(channel, user)  # type: ignore[attr-defined]
        message = self.post_as_person(user, channel, text, thread_ts)  # type: ignore[attr-defined]
        await self.deliver_event(self._event(message, "message", "im"), url=url)
        return message

    async def deliver_event(self, callback: dict[str, Any], *, url: str | None = None) -> int:
        """Deliver an Events API body (again, for a redelivery) over HTTP or Socket Mode."""
        body = json.dumps(callback)
        status, _ = await self._to_app("events_api", callback, body, "application/json", url)  # type: ignore[attr-defined]
        return status

    def _event(self, message: Any, kind: str, channel_type: str | None = None) -> dict[str, Any]:
        callback = self.event_callback(message)  # type: ignore[attr-defined]
        event = callback["event"]
        event["type"] = kind
        if channel_type:
            event["channel_type"] = channel_type
        else:
            event.pop("channel_type", None)
        callback["event_id"] = f"Ev{kind[:3]}{message.ts.replace('.', '')}"
        return callback

    # -- Web API ----------------------------------------------------------------------------------

    def _assistant_threads_setSuggestedPrompts(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, prompts = args.get("channel_id", ""), args.get("prompts")
        if not channel.startswith("D"):
            raise SlackError("channel_not_found")
        if args.get("thread_ts"):
            raise SlackError("invalid_thread_ts")  # agent_view: prompts belong to the tab
        if not isinstance(prompts, list) or not 0 < len(prompts) <= 4:
            raise SlackError("invalid_arguments")
        for prompt in prompts:
            if not isinstance(prompt, dict) or not prompt.get("title") or not prompt.get("message"):
                raise SlackError("invalid_arguments")
        self.prompts[channel] = {"prompts": prompts, "title": args.get("title")}
        return {}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user", "")
        if not user.startswith("U"):
            raise SlackError("user_not_found")
        name = user.removeprefix("U").capitalize()
        return {"user": {"id": user, "name": name.lower(), "real_name": name,
                         "profile": {"display_name": name, "real_name": name}}}  # fmt: skip

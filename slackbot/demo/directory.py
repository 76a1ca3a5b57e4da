"""The emulator's people and user groups: `users.lookupByEmail`, `usergroups.list`,
`usergroups.users.list` and `conversations.info`, answering in Slack's shapes. Tests add people
(`add_person`) and groups (`add_usergroup`, `add_to_group`) at any time."""

from __future__ import annotations

from typing import Any

from slackbot.demo.views import SlackError


class Directory:
    """Mixed into SlackEmulator, whose `_answer` dispatches `_<method>` to these."""

    channels: dict[str, set[str]]
    _bot_user: str

    def _people(self) -> dict[str, str]:  # email → user id
        return self.__dict__.setdefault("emails", {})

    def _groups(self) -> dict[str, dict[str, Any]]:  # group id → {handle, name, users}
        return self.__dict__.setdefault("usergroups", {})

    def add_person(self, user: str, email: str) -> None:
        self._people()[email.lower()] = user

    def add_usergroup(self, group_id: str, handle: str, name: str, *users: str) -> None:
        self._groups()[group_id] = {"handle": handle, "name": name, "users": list(users)}

    def name_channel(self, channel: str, name: str) -> None:
        self.__dict__.setdefault("channel_names", {})[channel] = name

    def add_to_group(self, group_id: str, user: str) -> None:
        self._groups()[group_id]["users"].append(user)

    def _users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._people().get(str(args.get("email", "")).lower())
        if user is None:
            raise SlackError("users_not_found")
        return {"user": {"id": user, "name": user.lower(), "profile": {"email": args["email"]}}}

    def _usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "usergroups": [
                {"id": gid, "handle": g["handle"], "name": g["name"], "user_count": len(g["users"])}
                for gid, g in self._groups().items()
            ]
        }

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self._groups().get(args.get("usergroup", ""))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group["users"])}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        if channel not in self.channels:
            raise SlackError("channel_not_found")
        member = self._bot_user in self.channels[channel]
        name = self.__dict__.get("channel_names", {}).get(channel, channel.lower())
        return {"channel": {"id": channel, "name": name, "is_member": member}}

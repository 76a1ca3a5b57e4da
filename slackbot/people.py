"""Who a rule names, read from Slack: emails and @group handles resolved at start-up (an unknown
one stops it), group members cached a while and read again before anyone is refused, and each
rule's channel checked. Nothing here runs inside a database transaction."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.rules import Gate, Rule, Rules, RulesError

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class Group:
    id: str
    handle: str
    name: str


@dataclass(frozen=True)
class Audience:
    """The people a list in a rule names: users (emails resolved) and user groups."""

    users: frozenset[str] = frozenset()
    groups: tuple[Group, ...] = ()

    def mentions(self) -> list[str]:
        """How a reminder mentions them (Slack's own syntax, never from user text)."""
        return [f"<@{u}>" for u in sorted(self.users)] + [f"<!subteam^{g.id}>" for g in self.groups]

    def names(self) -> str:
        """Who, for the thread (names, not mentions): groups by name, people by id."""
        shown = [g.name for g in self.groups] + [f"@{u}" for u in sorted(self.users)]
        return ", ".join(shown)


class People:
    def __init__(
        self,
        client: AsyncWebClient,
        rules: Rules,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.rules = rules
        self.cache_seconds = cache_seconds
        self.clock = clock
        self.audiences: dict[tuple[str, str], Audience] = {}  # (rule, approvers|escalate_to)
        self.channel_names: dict[str, str] = {}
        self._members: dict[str, tuple[float, frozenset[str]]] = {}  # group id → (when, who)

    async def resolve(self) -> None:
        """At start-up: every email and group handle of every rule, every rule's channel."""
        if not self.rules:
            return
        groups: dict[str, Group] | None = None
        for rule in self.rules.rules:
            for key, written in (("approvers", rule.approvers), ("escalate_to", rule.escalate_to)):
                users, found = set(), []
                for who in written:
                    if who.startswith("@"):
                        groups = groups if groups is not None else await self._groups()
                        group = groups.get(who[1:].lower())
                        if group is None:
                            raise RulesError(
                                f"rule {rule.name!r}: {key}: no user group {who} in this Slack"
                            )
                        found.append(group)
                    elif "@" in who:
                        users.add(await self._by_email(rule, key, who))
                    elif _USER_ID.match(who):
                        users.add(who)
                    else:
                        raise RulesError(
                            f"rule {rule.name!r}: {key}: {who!r} is not a user id, @group or email"
                        )
                self.audiences[(rule.name, key)] = Audience(frozenset(users), tuple(found))
            if rule.channel:
                self.channel_names[rule.channel] = await self._channel(rule)

    async def _groups(self) -> dict[str, Group]:
        try:
            response = await self.client.usergroups_list()
        except SlackApiError as error:
            raise RulesError(
                f"the rules name user groups, but usergroups.list answered"
                f" `{error.response.get('error')}` (the app needs usergroups:read)"
            ) from None
        return {
            g["handle"].lower(): Group(g["id"], g["handle"], g.get("name") or g["handle"])
            for g in response.get("usergroups", [])
        }

    async def _by_email(self, rule: Rule, key: str, email: str) -> str:
        try:
            response = await self.client.users_lookupByEmail(email=email)
        except SlackApiError as error:
            why = error.response.get("error")
            raise RulesError(
                f"rule {rule.name!r}: {key}: {email} is not a person in this Slack ({why})"
            ) from None
        return response["user"]["id"]

    async def _channel(self, rule: Rule) -> str:
        try:
            response = await self.client.conversations_info(channel=rule.channel)
        except SlackApiError as error:
            why = error.response.get("error")
            raise RulesError(f"rule {rule.name!r}: channel {rule.channel}: {why}") from None
        channel = response["channel"]
        if not channel.get("is_member"):
            raise RulesError(
                f"rule {rule.name!r}: channel {rule.channel}: the app is not a member"
                f" (invite it with /invite in #{channel.get('name', rule.channel)})"
            )
        return channel.get("name") or rule.channel

    # -- while running ------------------------------------------------------------------------

    def audience(self, rule: Rule, key: str = "approvers") -> Audience:
        return self.audiences.get((rule.name, key), Audience(frozenset(rule.approvers)))

    async def members(self, audience: Audience, fresh: bool = False) -> frozenset[str]:
        found = set(audience.users)
        for group in audience.groups:
            found |= await self._group_members(group, fresh)
        return frozenset(found)

    async def _group_members(self, group: Group, fresh: bool) -> frozenset[str]:
        cached = self._members.get(group.id)
        if cached and not fresh and self.clock() - cached[0] < self.cache_seconds:
            return cached[1]
        response = await self.client.usergroups_users_list(usergroup=group.id)
        members = frozenset(response.get("users", []))
        self._members[group.id] = (self.clock(), members)
        return members

    async def gate(self, rule: Rule, user: str) -> Gate:
        """Who may answer under the rule, read now; a person missing from a cached group is
        looked up again first, so someone just added to it is never refused."""
        approvers = self.audience(rule, "approvers")
        escalation = self.audience(rule, "escalate_to")
        allowed = await self.members(approvers)
        extra = await self.members(escalation)
        if user not in allowed | extra and (approvers.groups or escalation.groups):
            allowed = await self.members(approvers, fresh=True)
            extra = await self.members(escalation, fresh=True)
        return Gate(rule.name, allowed, extra, rule.quorum, rule.self_approval)

    def channel_name(self, channel: str) -> str:
        return self.channel_names.get(channel, channel)

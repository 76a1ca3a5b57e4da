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
        self.display_names: dict[str, str] = {}  # user id → name (users.info), kept a process
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
        for audience in self.audiences.values():  # whose Home tabs a change concerns
            await self.members(audience)

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

    async def name(self, user: str) -> str:
        """A person's display name from `users.info` (their id when Slack gives none): for
        text that must name people without mentioning them. Raw: escape it before showing."""
        if user not in self.display_names:
            try:
                found = (await self.client.users_info(user=user)).get("user") or {}
            except SlackApiError:
                return user  # asked again next time
            profile = found.get("profile") or {}
            shown = profile.get("display_name") or profile.get("real_name") or found.get("name")
            self.display_names[user] = str(shown or user)
        return self.display_names[user]

    async def names(self, audience: Audience) -> list[str]:
        """Who an audience is, by name (groups, then people): raw, escape before showing."""
        people = [await self.name(u) for u in sorted(audience.users)]
        return [g.name for g in audience.groups] + people

    def known_members(self, rule: Rule, key: str = "approvers") -> set[str]:
        """Who a rule names as far as this process knows now (cached group members): whose
        App Home lists its reviews. Never calls Slack."""
        audience = self.audience(rule, key)
        found = set(audience.users)
        for group in audience.groups:
            found |= self._members.get(group.id, (0.0, frozenset()))[1]
        return found

    async def answers(self, user: str) -> tuple[list[str], list[str]]:
        """(the rules whose approvers include the person, those whose escalate_to do): which
        ruled reviews their App Home lists. Group members as cached (ORCHESTRATE_GROUP_CACHE)."""
        approver, escalation = [], []
        for rule in self.rules.rules:
            if user in await self.members(self.audience(rule, "approvers")):
                approver.append(rule.name)
            if rule.escalate_to and user in await self.members(self.audience(rule, "escalate_to")):
                escalation.append(rule.name)
        return approver, escalation

"""Messages of ours already in Slack: found again by their metadata (a process that died
between posting and saving a ts), and links to them."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient


async def find_in_history(
    client: AsyncWebClient, channel: str, event_type: str, ids: set[str], pages: int = 5
) -> dict[str, str]:
    """Our top-level messages in a channel's recent history (`pages` of 200) whose metadata
    is `event_type` with one of `ids`: id → ts."""
    found: dict[str, str] = {}
    cursor = None
    for _page in range(pages):
        response = await client.conversations_history(
            channel=channel, include_all_metadata=True, limit=200, cursor=cursor
        )
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == event_type and payload.get("id") in ids:
                found.setdefault(payload["id"], message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor or len(found) == len(ids):
            break
    return found


async def permalink(client: AsyncWebClient, channel: str, ts: str | None) -> str | None:
    """A link to the message, or None (no ts, or Slack gave none: a message still shows
    without its links)."""
    if not ts:
        return None
    try:
        response = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except Exception:
        return None
    return response.get("permalink")

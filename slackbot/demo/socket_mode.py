"""Slack's side of Socket Mode, for the emulator: the WebSocket end of `apps.connections.open`.

As Slack documents it: each URL is single use; a new connection gets `hello`; a delivery is an
envelope the app acks with `{"envelope_id", "payload"?}` within 3 s; an Events API envelope not
acked in time goes out again with `retry_attempt` + 1 and `retry_reason: "timeout"` (up to 3
times; commands and interactions are not retried, the person sees an error instead); with several
connections open, envelopes take turns over them. `request_refresh` sends `disconnect`,
`drop_connections` cuts connections without a word. Every envelope sent and every ack received
is recorded (`envelopes`, `acks`), so a test can tell an event was handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

ACK_SECONDS = 3.0  # Slack's deadline for an ack
EVENT_RETRIES = 3  # an event not acked is delivered up to this many times more
CONNECTION_WAIT = 15.0  # how long a delivery waits while no connection is open
REFRESH_GRACE = 10.0  # after `disconnect`, Slack closes the connection itself this much later
PATH = "/link/"  # as in Slack's own wss://wss-primary.slack.com/link/?ticket=…&app_id=…
RETRIED_KINDS = {"events_api"}
ANSWERED_KINDS = {"slash_commands", "interactive"}  # whose ack may carry the answer


@dataclass
class Envelope:
    """One delivery attempt, as sent, and what became of it."""

    envelope_id: str
    type: str  # events_api | slash_commands | interactive
    payload: dict[str, Any]
    retry_attempt: int = 0
    retry_reason: str | None = None
    connection: int = 0  # the id of the connection it went over
    acked: bool = False  # an ack arrived in time (and was not lost on the way)
    answer: dict[str, Any] | None = None  # the ack's payload

    def message(self) -> dict[str, Any]:
        accepts = self.type == "slash_commands" or (
            self.type == "interactive" and self.payload.get("type") == "view_submission"
        )
        return {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": accepts,
            "retry_attempt": self.retry_attempt,
            "retry_reason": self.retry_reason,
        }


@dataclass
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    connection: int
    counted: bool  # False: too late, unknown, a repeat, or lost on the way (`lose_acks`)


@dataclass
class Connection:
    id: int
    ws: web.WebSocketResponse
    request: web.Request
    retiring: bool = False  # sent `disconnect`: no new envelopes go here
    dropped: bool = False  # cut by `drop_connections`; the handler may not have noticed yet
    envelopes: list[str] = field(default_factory=list)


class SocketModeServer:
    """Mount with `add_routes`; `open_url` is what `apps.connections.open` answers."""

    def __init__(
        self,
        *,
        app_id: str,
        ack_timeout: float = ACK_SECONDS,
        event_retries: int = EVENT_RETRIES,
        connection_wait: float = CONNECTION_WAIT,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.app_id = app_id
        self.ack_timeout = ack_timeout
        self.event_retries = event_retries
        self.connection_wait = connection_wait
        self.on_change = on_change
        self.connections: list[Connection] = []  # open now
        self.accepted = 0  # connections ever opened
        self.urls_issued = 0
        self.envelopes: list[Envelope] = []  # every delivery attempt, in order
        self.acks: list[Ack] = []  # every ack received, in order
        self._tickets: set[str] = set()
        self._waiting: dict[str, tuple[Envelope, asyncio.Future[None]]] = {}
        self._turns = itertools.count()
        self._ids = itertools.count(1)
        self._lost_acks: Counter[str] = Counter()
        self._drop_after: Counter[str] = Counter()
        self._changed = asyncio.Event()
        self._timers: set[asyncio.TimerHandle] = set()
        self._closing: set[asyncio.Task[None]] = set()

    # -- set-up -----------------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self._connect)

    def open_url(self, base_url: str) -> str:
        """A fresh single-use WebSocket URL on the server at `base_url` (http://host:port)."""
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        self.urls_issued += 1
        return f"{base_url.replace('http', 'ws', 1)}{PATH}?ticket={ticket}&app_id={self.app_id}"

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for connection in list(self.connections):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY)

    # -- reading what happened --------------------------------------------------------------------

    @property
    def live(self) -> list[Connection]:
        """Open connections that get new envelopes (not those told to `disconnect`)."""
        return [c for c in self.connections if not (c.retiring or c.dropped or c.ws.closed)]

    def delivered(self, kind: str | None = None) -> list[Envelope]:
        return [e for e in self.envelopes if kind in (None, e.type)]

    def event_deliveries(self, event_id: str) -> list[Envelope]:
        """Every attempt at delivering the Events API event `event_id`."""
        found = self.delivered("events_api")
        return [e for e in found if e.payload.get("event_id") == event_id]

    async def wait_connected(self, count: int = 1, timeout: float = 15.0) -> list[Connection]:
        """Wait until `count` connections are open and taking envelopes."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.live) < count:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"{len(self.live)} Socket Mode connections open, not {count}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))
        return self.live

    # -- what Slack does to connections -----------------------------------------------------------

    async def request_refresh(self, reason: str = "refresh_requested") -> int:
        """Send `disconnect` on every open connection; each gets no more envelopes and is
        closed by the server REFRESH_GRACE seconds later if the app has not closed it."""
        told = self.live
        for connection in told:
            connection.retiring = True
            message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "emulator"}}
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.send_json(message)
            loop = asyncio.get_running_loop()
            timer = loop.call_later(REFRESH_GRACE, self._close_later, connection)
            self._timers.add(timer)
        self._note_change()
        return len(told)

    def drop_connections(self) -> int:
        """Cut every open connection at once, without a close frame, as a network failure does."""
        dropped = [c for c in self.connections if not c.dropped]
        for connection in dropped:
            self._abort(connection)
        return len(dropped)

    def drop_after_next(self, kind: str = "events_api") -> None:
        """Cut the connection right after the next envelope of `kind` is sent on it, so the app
        may have it but its ack cannot come back that way."""
        self._drop_after[kind] += 1

    def lose_acks(self, kind: str = "events_api", count: int = 1) -> None:
        """The next `count` acks of `kind` envelopes are lost on the way: recorded, not counted."""
        self._lost_acks[kind] += count

    # -- deliveries -------------------------------------------------------------------------------

    async def deliver(self, kind: str, payload: dict[str, Any]) -> Envelope | None:
        """Deliver `payload` as an envelope of `kind`: the attempt that was acked, else the last
        one (None when no connection opened in time to send it at all)."""
        last = None
        for attempt in range(1 + (self.event_retries if kind in RETRIED_KINDS else 0)):
            envelope = Envelope(
                f"{uuid.uuid4()}", kind, payload, attempt, "timeout" if attempt else None
            )
            if not await self._send(envelope):
                return last
            last = envelope
            if envelope.acked:
                break
        return last

    async def request(self, kind: str, payload: dict[str, Any]) -> tuple[int, str]:
        """`deliver`, answered as the same request over HTTP would be: (200, the ack's payload
        as Bolt sends it as a body), or (504, "") when no ack came in time."""
        envelope = await self.deliver(kind, payload)
        if envelope is None or not envelope.acked:
            return 504, ""
        return 200, as_body(envelope.answer)

    async def _send(self, envelope: Envelope) -> bool:
        """Send on the next connection in turn and wait for the ack; False if none was open."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[envelope.envelope_id] = (envelope, future)
        try:
            while True:
                try:
                    connection = await self._next_connection()
                except TimeoutError:
                    return False
                envelope.connection = connection.id
                try:
                    await connection.ws.send_json(envelope.message())
                except (ConnectionError, RuntimeError):
                    continue  # closed under us: it never went out, try another connection
                break
            connection.envelopes.append(envelope.envelope_id)
            self.envelopes.append(envelope)
            self._note_change()
            if self._drop_after[envelope.type]:
                self._drop_after[envelope.type] -= 1
                self._abort(connection)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, self.ack_timeout)
            return True
        finally:
            del self._waiting[envelope.envelope_id]

    async def _next_connection(self) -> Connection:
        live = self.live or await self.wait_connected(1, self.connection_wait)
        return live[next(self._turns) % len(live)]

    # -- the WebSocket ----------------------------------------------------------------------------

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)  # single use
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = Connection(next(self._ids), ws, request)
        self.connections.append(connection)
        self.accepted += 1
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self.connections),
                    "debug_info": {
                        "host": "emulator",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
            self._note_change()
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._received(connection, message.data)
        except (ConnectionError, RuntimeError):
            pass  # dropped: the finally below forgets it
        finally:
            self.connections.remove(connection)
            self._note_change()
        return ws

    def _received(self, connection: Connection, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
            return  # Slack ignores anything that is not an ack
        payload = message.get("payload")
        ack = Ack(message["envelope_id"], payload if isinstance(payload, dict) else None,
                  connection.id, counted=False)  # fmt: skip
        self.acks.append(ack)
        waiting = self._waiting.get(ack.envelope_id)
        if waiting is None or waiting[1].done():
            return  # too late (already given up or retried), unknown, or acked twice
        envelope, future = waiting
        if self._lost_acks[envelope.type]:
            self._lost_acks[envelope.type] -= 1
            return
        ack.counted = envelope.acked = True
        if envelope.type in ANSWERED_KINDS:
            envelope.answer = ack.payload
        future.set_result(None)
        self._note_change()

    def _abort(self, connection: Connection) -> None:
        connection.dropped = True
        self._note_change()
        transport = connection.request.transport
        if transport is not None:
            transport.abort()

    def _close_later(self, connection: Connection) -> None:
        if not connection.ws.closed:
            task = asyncio.ensure_future(connection.ws.close(code=WSCloseCode.GOING_AWAY))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _note_change(self) -> None:
        self._changed.set()
        self.on_change()


def as_body(answer: dict[str, Any] | None) -> str:
    """An ack's payload as Bolt sends the same answer over HTTP: nothing, the bare text of a
    text-only answer (an ephemeral reply to a command), else JSON."""
    if not answer:
        return ""
    if set(answer) == {"text"} and isinstance(answer["text"], str):
        return answer["text"]
    return json.dumps(answer)

"""The AMI client: one TCP session to an Asterisk manager port, kept up for as long as we run.

Why our own ``asyncio.Protocol`` instead of panoramisk's ``Manager``/``AMIProtocol``: panoramisk
1.4 decodes every TCP read on its own and drops a UTF-8 character cut by a read boundary (our
callers' names and ticket kinds are Chinese), and its per-event path (decode per read, text
splitting, fnmatch over every registered pattern) is the cost the ingestion benchmark measures.
Our reader buffers bytes and decodes whole messages (:mod:`telephony.ami.parser`) and types
events with one pydantic call each (:mod:`telephony.ami.events`). panoramisk stays the
reference we measure against (``python -m benchmarks ami_ingest``).

What the client does:

- login, with :class:`AMIAuthError` on ``Authentication failed``;
- a keep-alive ``Ping`` every ``ping_interval`` seconds; a missing Pong drops the link;
- reconnect with capped exponential back-off and jitter (:func:`backoff_delay`), then
  re-synchronisation hooks (``add_resync_hook``) so a live model can rebuild itself from
  ``QueueStatus``/``CoreShowChannels`` after every (re)connect;
- :meth:`AMIClient.action` returns the reply or raises :class:`AMIError` carrying Asterisk's
  ``Message``; :meth:`AMIClient.list_action` collects a list reply until its ``...Complete``;
  every action has a timeout (:class:`AMITimeout`);
- events go to two kinds of listener. *Inline handlers* run inside the socket reader, in
  order, and must be quick and never block: the live model is one, because losing an event
  would corrupt it. *Subscriptions* get their own bounded queue and task: a slow subscriber
  never stalls the reader; when its queue is full, new events for it are DROPPED and counted
  in ``Subscription.dropped`` (we chose dropping over back-pressure because back-pressure
  would stall the reader and with it every action reply and the live model).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from telephony.ami.errors import AMIAuthError, AMIConnectionError, AMIError, AMITimeout
from telephony.ami.events import Event, GenericEvent, OriginateResponse, to_event
from telephony.ami.parser import AMIParser, Message

log = logging.getLogger(__name__)

HeaderValue = str | int | Sequence[str]
InlineHandler = Callable[[Event], None]
Listener = Callable[[Event], Awaitable[None] | None]
ResyncHook = Callable[["AMIClient"], Awaitable[None]]
CompleteCallback = Callable[["ActionResult"], None]


@dataclass
class ActionResult:
    """A successful reply: the response message and, for list actions, the list items."""

    response: Message
    events: list[Event] = field(default_factory=list)
    complete: Event | None = None  # the closing ...Complete event of a list

    @property
    def message(self) -> str:
        return self.response.get("Message")

    def get(self, header: str, default: str = "") -> str:
        return self.response.get(header, default)


@dataclass
class ClientStats:
    connects: int = 0  # successful logins, the first one included
    events: int = 0
    malformed: int = 0  # events with a field that did not convert or a bad line
    handler_errors: int = 0


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (0-based).

    Exponential (base·2^attempt) capped at ``cap``, then jittered to 50-100 % so that many
    bridges restarted together do not reconnect in lock-step.
    """
    if attempt < 0 or base <= 0 or cap < base:
        raise ValueError(
            f"backoff needs attempt >= 0 and 0 < base <= cap, got {attempt}, {base}, {cap}"
        )
    ceiling = min(cap, base * 2 ** min(attempt, 32))
    return ceiling * rng.uniform(0.5, 1.0)


def encode_action(name: str, action_id: str, headers: Mapping[str, HeaderValue]) -> bytes:
    """The wire form of an action. A value with CR or LF is refused: it would inject headers."""
    lines = [f"Action: {name}", f"ActionID: {action_id}"]
    for key, value in headers.items():
        if not key or not key.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"AMI header name {key!r} in action {name} is not a plain word")
        values = [value] if isinstance(value, str | int) else list(value)
        for item in values:
            text = str(item)
            if "\r" in text or "\n" in text:
                raise ValueError(f"AMI header {key} of action {name} contains CR/LF: {text!r}")
            lines.append(f"{key}: {text}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


async def cancel_and_wait(tasks: list[asyncio.Task[None]], rounds: int = 5) -> None:
    """Cancel tasks and wait until they are done, cancelling again if one swallowed it.

    On Python 3.11 `asyncio.wait_for` can lose a cancellation that lands as its inner future
    completes, so a task that awaits in a loop may carry on; waiting for it unbounded would
    hang `close()`. Each round re-cancels what is still running and waits a bounded time.
    """
    pending = [task for task in tasks if not task.done()]
    for _ in range(rounds):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, still = await asyncio.wait(pending, timeout=1.0)
        pending = list(still)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a task that failed while stopping is not re-raised


class Subscription:
    """A listener with its own bounded queue and task (see the module docstring)."""

    def __init__(self, listener: Listener, names: frozenset[str] | None, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.listener = listener
        self.names = names  # None: every event
        self.queue: asyncio.Queue[Event] = asyncio.Queue(queue_size)
        self.dropped = 0
        self.errors = 0
        self._task: asyncio.Task[None] | None = None

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            if self.dropped == 0:
                log.warning("AMI subscriber %r is too slow: dropping events", self.listener)
            self.dropped += 1

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                result = self.listener(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self.errors += 1
                log.exception("AMI subscriber %r failed on %s", self.listener, event.name)


class _Pending:
    __slots__ = ("action", "events", "future", "is_list", "on_complete", "response")

    def __init__(
        self,
        action: str,
        future: asyncio.Future[ActionResult],
        is_list: bool,
        on_complete: CompleteCallback | None = None,
    ) -> None:
        self.action = action
        self.future = future
        self.is_list = is_list
        self.on_complete = on_complete
        self.response: Message | None = None
        self.events: list[Event] = []


class _AMIProtocol(asyncio.Protocol):
    def __init__(self, client: AMIClient) -> None:
        self.client = client
        self.parser = AMIParser()

    def data_received(self, data: bytes) -> None:
        on_message = self.client._on_message
        for message in self.parser.feed(data):
            on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._on_connection_lost(self, exc)


class AMIClient:
    """One AMI session to ``host:port`` as ``username``; see the module docstring."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        action_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        ping_interval: float = 20.0,
        reconnect_base: float = 0.5,
        reconnect_cap: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        if action_timeout <= 0 or ping_interval <= 0:
            raise ValueError("action_timeout and ping_interval must be positive")
        backoff_delay(0, base=reconnect_base, cap=reconnect_cap, rng=random.Random(0))
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self.action_timeout = action_timeout
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self.reconnect_base = reconnect_base
        self.reconnect_cap = reconnect_cap
        self._rng = rng or random.Random()
        self.stats = ClientStats()
        self.banner: str | None = None
        self._protocol: _AMIProtocol | None = None
        self._transport: asyncio.Transport | None = None
        self._lost: asyncio.Event = asyncio.Event()
        self._pending: dict[str, _Pending] = {}
        self._open_lists: dict[str, _Pending] = {}  # list actions whose items are arriving
        self._originates: dict[str, asyncio.Future[OriginateResponse]] = {}  # by ActionID
        self._ids = itertools.count(1)
        self._inline_by_name: dict[str, list[InlineHandler]] = {}
        self._inline_all: list[InlineHandler] = []
        self._subscriptions: list[Subscription] = []
        # event name -> (inline handlers, subscriptions) that want it; cleared on any change
        self._routes: dict[str, tuple[list[InlineHandler], list[Subscription]]] = {}
        self._resync_hooks: list[ResyncHook] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._logged_in = False

    # --- listeners ----------------------------------------------------------------------

    def add_inline_handler(
        self, handler: InlineHandler, names: Iterable[str] | None = None
    ) -> None:
        """Call ``handler(event)`` inside the reader for the named events (all when None)."""
        self._routes.clear()
        if names is None:
            self._inline_all.append(handler)
            return
        for name in names:
            self._inline_by_name.setdefault(name, []).append(handler)

    def subscribe(
        self, listener: Listener, names: Iterable[str] | None = None, *, queue_size: int = 10_000
    ) -> Subscription:
        """Deliver the named events (all when None) to ``listener`` through its own queue."""
        subscription = Subscription(
            listener, None if names is None else frozenset(names), queue_size
        )
        self._subscriptions.append(subscription)
        self._routes.clear()
        with contextlib.suppress(RuntimeError):  # no running loop yet: started by connect()
            subscription.start()
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.remove(subscription)
        self._routes.clear()
        await subscription.stop()

    def add_resync_hook(self, hook: ResyncHook) -> None:
        """Run ``await hook(client)`` after every successful login (first and reconnects)."""
        self._resync_hooks.append(hook)

    # --- connection ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._logged_in and not self._lost.is_set()

    async def connect(self) -> None:
        """Connect and log in once (errors raise), then keep the session up in the background."""
        self._closing = False
        for subscription in self._subscriptions:
            subscription.start()
        await self._open()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._keep_connected()),
            loop.create_task(self._keep_alive()),
        ]

    async def close(self) -> None:
        """Log off (best effort) and stop every background task."""
        self._closing = True
        if self.connected:
            with contextlib.suppress(AMIError):
                await self.action("Logoff", time_limit=1.0)
        await cancel_and_wait(self._tasks)
        self._tasks = []
        if self._transport is not None:
            self._transport.close()
        for subscription in self._subscriptions:
            await subscription.stop()

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self._lost = asyncio.Event()
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _AMIProtocol(self), self.host, self.port),
                self.connect_timeout,
            )
        except TimeoutError as error:
            raise OSError(f"AMI connect to {self.host}:{self.port} timed out") from error
        # A TCP transport; uvloop's (the service's loop) does not subclass asyncio.Transport.
        self._transport, self._protocol = cast(asyncio.Transport, transport), protocol
        try:
            await self._login()
        except BaseException:
            transport.close()
            self._transport = None
            raise
        self._logged_in = True
        self.banner = protocol.parser.banner
        self.stats.connects += 1
        for hook in self._resync_hooks:
            try:
                await hook(self)
            except Exception:
                log.exception("AMI re-synchronisation hook %r failed", hook)

    async def _login(self) -> None:
        try:
            await self.action("Login", Username=self.username, Secret=self._secret)
        except (AMITimeout, AMIConnectionError):
            raise  # not a refusal: the caller retries
        except AMIError as error:
            raise AMIAuthError(
                "Login", f"{self.host}:{self.port} refused user {self.username!r}: {error.message}"
            ) from error

    async def _keep_connected(self) -> None:
        while not self._closing:
            await self._lost.wait()
            if self._closing:
                return
            attempt = 0
            while not self._closing:
                delay = backoff_delay(
                    attempt, base=self.reconnect_base, cap=self.reconnect_cap, rng=self._rng
                )
                log.warning("AMI %s:%s lost; reconnecting in %.2f s", self.host, self.port, delay)
                await asyncio.sleep(delay)
                try:
                    await self._open()
                    log.info("AMI %s:%s reconnected", self.host, self.port)
                    break
                except (OSError, AMIError) as error:
                    log.warning("AMI reconnect to %s:%s failed: %s", self.host, self.port, error)
                    attempt += 1

    async def _keep_alive(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.ping_interval)
            if not self.connected:
                continue
            try:
                await self.action("Ping")
            except AMIConnectionError:
                continue
            except AMIError as error:
                log.warning("AMI keep-alive failed (%s): dropping the connection", error)
                if self._transport is not None:
                    self._transport.abort()

    def _on_connection_lost(self, protocol: _AMIProtocol, exc: Exception | None) -> None:
        if protocol is not self._protocol:
            return
        self._lost.set()
        self._logged_in = False
        pending, self._pending, self._open_lists = self._pending, {}, {}
        lost = f"connection to {self.host}:{self.port} lost"
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(AMIConnectionError(item.action, lost))
        # an OriginateResponse will not come on a new connection either
        originates, self._originates = self._originates, {}
        for outcome in originates.values():
            if not outcome.done():
                outcome.set_exception(AMIConnectionError("Originate", lost))

    # --- actions ------------------------------------------------------------------------

    async def action(
        self, name: str, *, time_limit: float | None = None, **headers: HeaderValue
    ) -> ActionResult:
        """Send an action; its reply, or AMIError with Asterisk's Message."""
        return await self._send(name, headers, time_limit, _Pending(name, self._future(), False))

    async def list_action(
        self,
        name: str,
        *,
        time_limit: float | None = None,
        on_complete: CompleteCallback | None = None,
        **headers: HeaderValue,
    ) -> ActionResult:
        """Send a list action (QueueStatus, CoreShowChannels, ...) and collect its items.

        ``on_complete(result)`` runs inside the reader the moment the ``...Complete`` event is
        read, before any later event is dispatched: a model can swap in the snapshot there
        without missing or double-applying events.
        """
        pending = _Pending(name, self._future(), True, on_complete)
        return await self._send(name, headers, time_limit, pending)

    @staticmethod
    def _future() -> asyncio.Future[ActionResult]:
        return asyncio.get_running_loop().create_future()

    async def originate(
        self, *, time_limit: float | None = None, **headers: HeaderValue
    ) -> OriginateResponse:
        """Originate with ``Async: true`` and wait for the outcome.

        Asterisk answers ``Success`` at once ("Originate successfully queued") and reports the
        outcome later in an ``OriginateResponse`` event with the action's ActionID:
        ``.success`` False with ``.reason`` 0/3/5 when the call failed (trace 15). The time
        limit defaults to ``action_timeout`` plus the ``Timeout`` header (ms, 30 s if absent).
        """
        if time_limit is None:
            ring = headers.get("Timeout", 30_000)
            if not isinstance(ring, int | str) or not str(ring).isdigit():
                raise ValueError(f"Originate Timeout must be milliseconds, got {ring!r}")
            time_limit = self.action_timeout + int(ring) / 1000
        action_id = self._next_action_id("Originate")
        outcome: asyncio.Future[OriginateResponse] = asyncio.get_running_loop().create_future()
        self._originates[action_id] = outcome
        try:
            async with asyncio.timeout(time_limit):
                pending = _Pending("Originate", self._future(), False)
                await self._send(
                    "Originate", {**headers, "Async": "true"}, None, pending, action_id
                )
                return await outcome
        except TimeoutError:
            raise AMITimeout("Originate", f"no OriginateResponse within {time_limit} s") from None
        finally:
            self._originates.pop(action_id, None)

    def _next_action_id(self, name: str) -> str:
        return f"{name.lower()}-{next(self._ids)}"

    async def _send(
        self,
        name: str,
        headers: Mapping[str, HeaderValue],
        time_limit: float | None,
        pending: _Pending,
        action_id: str | None = None,
    ) -> ActionResult:
        if self._transport is None or self._lost.is_set():
            raise AMIConnectionError(name, f"not connected to {self.host}:{self.port}")
        action_id = action_id or self._next_action_id(name)
        data = encode_action(name, action_id, headers)
        self._pending[action_id] = pending
        self._transport.write(data)
        limit = self.action_timeout if time_limit is None else time_limit
        try:
            return await asyncio.wait_for(pending.future, limit)
        except TimeoutError:
            raise AMITimeout(name, f"no complete reply within {limit} s") from None
        finally:
            self._pending.pop(action_id, None)
            self._open_lists.pop(action_id, None)

    # --- the reader ---------------------------------------------------------------------

    def _on_message(self, message: Message) -> None:
        name = message.event
        if name is None:
            self._on_response(message)
            return
        if self._open_lists:  # only then are events' ActionIDs worth a look
            pending = self._open_lists.get(message.fields.get("ActionID", ""))
            if pending is not None:
                self._collect(pending, message)
                return
        if self._originates and name == "OriginateResponse":
            self._resolve_originate(message)
        self._dispatch(name, message)

    def _resolve_originate(self, message: Message) -> None:
        outcome = self._originates.pop(message.fields.get("ActionID", ""), None)
        if outcome is None or outcome.done():
            return
        event = to_event(message)
        if isinstance(event, OriginateResponse):
            outcome.set_result(event)
        else:
            outcome.set_exception(AMIError("Originate", f"unreadable OriginateResponse: {event}"))

    def _on_response(self, message: Message) -> None:
        pending = self._pending.get(message.fields.get("ActionID", ""))
        if pending is None or pending.future.done():
            return  # a late reply to an action that timed out
        if message.fields.get("Response") == "Error":
            pending.future.set_exception(AMIError(pending.action, message.get("Message")))
        elif pending.is_list and message.fields.get("EventList") == "start":
            pending.response = message  # items follow, then the ...Complete event
            self._open_lists[message.fields.get("ActionID", "")] = pending
        else:
            pending.future.set_result(ActionResult(message))

    def _collect(self, pending: _Pending, message: Message) -> None:
        event = to_event(message)
        if message.fields.get("EventList") == "Complete":
            assert pending.response is not None
            self._open_lists.pop(message.fields.get("ActionID", ""), None)
            if pending.future.done():
                return  # timed out meanwhile
            result = ActionResult(pending.response, pending.events, event)
            if pending.on_complete is not None:
                try:
                    pending.on_complete(result)
                except Exception:
                    self.stats.handler_errors += 1
                    log.exception("AMI %s completion callback failed", pending.action)
            pending.future.set_result(result)
        else:
            pending.events.append(event)

    def _listeners(self, name: str) -> tuple[list[InlineHandler], list[Subscription]]:
        found = self._routes.get(name)
        if found is None:
            inline = self._inline_by_name.get(name, []) + self._inline_all
            subscribed = [s for s in self._subscriptions if s.names is None or name in s.names]
            found = self._routes[name] = (inline, subscribed)
        return found

    def _dispatch(self, name: str, message: Message) -> None:
        self.stats.events += 1
        inline, subscribed = self._listeners(name)
        if not inline and not subscribed:
            return  # nobody listens: not even split into headers
        event = to_event(message, name)
        if isinstance(event, GenericEvent):  # report what is known without forcing a parse
            problems = event.validation_problems + (message.problems if message.parsed else [])
        else:
            problems = message.problems
        if problems:
            self.stats.malformed += 1
            log.warning("AMI %s event malformed: %s", name, "; ".join(problems))
        for handler in inline:
            try:
                handler(event)
            except Exception:
                self.stats.handler_errors += 1
                log.exception("AMI inline handler %r failed on %s", handler, name)
        for subscription in subscribed:
            subscription.offer(event)

"""The worker's one AMQP connection, and the thread it lives on.

pika is not thread-safe, so every pika call happens on this I/O thread, driven by a
SelectConnection: heartbeats, confirms, cancels and acks keep flowing while processors run for
minutes in their own threads, which hand their outcomes back with ``call_threadsafe``. The
connection is kept (amqp-connection-manager's job on the Node side): a lost one is re-opened after
a second, trying the AMQP_URLs in turn; each new connection declares the topology again before
anything else uses it, then tells the listeners (revocations replay, consumers start).
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

import pika
from pika.adapters.select_connection import IOLoop

from .publisher import Publisher
from .topology import Topology, declare_steps, run_steps
from .urls import connection_parameters, redact_url, worker_id

RECONNECT_DELAY_S = 1.0
#: A topology the broker refuses (PRECONDITION_FAILED) will be refused again: try less often.
REDECLARE_DELAY_S = 5.0


def topology_hint(message: str) -> str | None:
    """A queue declared earlier with other arguments cannot be redeclared; say what to do about it."""
    if "PRECONDITION_FAILED" not in message or "inequivalent arg" not in message:
        return None
    return "a queue exists with arguments different from this configuration (e.g. TASK_QUEUE_MAX_LENGTH or DELIVERY_LIMIT changed): align the configuration, or drain and delete the queue so it is declared anew"


class Link:
    def __init__(self, urls: list[str], topology: Topology, log: logging.Logger, publish_timeout_s: float, max_message_bytes: int) -> None:
        self.ioloop = IOLoop()
        self.topology = topology
        self._urls = urls
        self._log = log
        self._next_url = 0
        self.connection: Any = None
        self.publisher = Publisher(self.ioloop, publish_timeout_s, max_message_bytes, log)
        self._ready_listeners: list[Callable[[Any], None]] = []
        self._lost_listeners: list[Callable[[], None]] = []
        #: Listeners learn of each connection once, although its publisher channel may re-open.
        self._announced = False
        self._closing = False
        self._on_closed_for_good: Callable[[], None] | None = None
        self._reconnect_timer: Any = None

    # -- for the other parts of the worker -------------------------------------------------------
    def on_ready(self, listener: Callable[[Any], None]) -> None:
        """``listener(connection)`` runs each time a connection has declared the topology."""
        self._ready_listeners.append(listener)

    def on_lost(self, listener: Callable[[], None]) -> None:
        """``listener()`` runs each time the connection is lost (the broker takes unacked messages back)."""
        self._lost_listeners.append(listener)

    def call_threadsafe(self, callback: Callable[[], None]) -> None:
        """From any thread: run ``callback`` on the I/O thread as soon as it can."""
        self.ioloop.add_callback_threadsafe(self.guard(callback))

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Any:
        """On the I/O thread: run ``callback`` after ``delay_s``; returns a handle for ``cancel_timer``."""
        return self.ioloop.call_later(delay_s, self.guard(callback))

    def cancel_timer(self, handle: Any) -> None:
        if handle is not None:
            self.ioloop.remove_timeout(handle)

    def guard(self, callback: Callable[..., None]) -> Callable[..., None]:
        """Wrap a callback handed to pika: an exception in it is logged, never unwinds the I/O loop
        (which would stop heartbeats and every task with them)."""

        @functools.wraps(callback)
        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception:
                self._log.exception("error in a broker callback; carrying on")

        return guarded

    def open_channel(self, on_open: Callable[[Any], None], on_close: Callable[[Any, Exception], None]) -> None:
        """A new channel on the current connection (nothing happens without one)."""
        if self.connection is None or not self.connection.is_open:
            return

        def opened(channel: Any) -> None:
            channel.add_on_close_callback(self.guard(on_close))
            on_open(channel)

        self.connection.channel(on_open_callback=self.guard(opened))

    # -- the I/O thread --------------------------------------------------------------------------
    def run(self) -> None:
        """The I/O thread's body: connect, then serve the loop until ``close`` is done."""
        self.ioloop.add_callback_threadsafe(self.guard(self._connect))
        while True:
            try:
                self.ioloop.start()
                return
            except Exception:
                self._log.exception("broker I/O loop failed; carrying on")

    def close(self, then: Callable[[], None]) -> None:
        """Close the connection for good (after the worker drained), then stop the loop."""
        self._closing = True
        self._on_closed_for_good = then
        self.cancel_timer(self._reconnect_timer)
        if self.connection is not None and self.connection.is_open:
            self.connection.close()
        elif self.connection is not None and self.connection.is_closing:
            pass  # _on_closed finishes
        else:
            self._finish()

    def _finish(self) -> None:
        self.ioloop.stop()
        if self._on_closed_for_good:
            self._on_closed_for_good()

    def _connect(self) -> None:
        self._reconnect_timer = None
        if self._closing:
            return
        url = self._urls[self._next_url % len(self._urls)]
        self._next_url += 1
        self._url = url
        parameters = connection_parameters(url, f"warren-worker-python@{worker_id()}")
        self.connection = pika.SelectConnection(
            parameters,
            on_open_callback=self.guard(self._on_open),
            on_open_error_callback=self.guard(self._on_open_error),
            on_close_callback=self.guard(self._on_closed),
            custom_ioloop=self.ioloop,
        )

    def _schedule_reconnect(self) -> None:
        if not self._closing and self._reconnect_timer is None:
            self._reconnect_timer = self.ioloop.call_later(RECONNECT_DELAY_S, self.guard(self._connect))

    def _on_open(self, connection: Any) -> None:
        self._log.info("broker connected", extra={"url": redact_url(self._url)})
        self._announced = False
        connection.add_on_connection_blocked_callback(self.guard(lambda _c, frame: self._log.warning("broker blocked publishing", extra={"reason": getattr(frame.method, "reason", None)})))
        self._open_publisher()

    def _on_open_error(self, _connection: Any, error: Exception) -> None:
        self._log.warning("broker connection failed; retrying", extra={"url": redact_url(self._url), "err": str(error)})
        self.connection = None
        if self._closing:
            self._finish()
        else:
            self._schedule_reconnect()

    def _on_closed(self, _connection: Any, reason: Exception) -> None:
        self.publisher.detach("connection lost")
        self.connection = None
        if self._closing:
            self._finish()
            return
        self._log.warning("broker disconnected", extra={"err": str(reason)})
        for listener in self._lost_listeners:
            self.guard(listener)()
        self._schedule_reconnect()

    def _open_publisher(self) -> None:
        """The publisher channel declares the topology first: nothing is published or consumed
        on a connection before every exchange and queue it needs exists."""

        def opened(channel: Any) -> None:
            self.publisher.attach(channel, then=lambda: run_steps(declare_steps(channel, self.topology), lambda: self._on_declared(channel)))

        self.open_channel(opened, self._on_publisher_closed)

    def _on_declared(self, channel: Any) -> None:
        if not channel.is_open:
            return
        self._log.info("broker ready", extra={"prefix": self.topology.prefix})
        if not self._announced and self.connection is not None:
            self._announced = True
            for listener in self._ready_listeners:
                self.guard(listener)(self.connection)

    def _on_publisher_closed(self, _channel: Any, reason: Exception) -> None:
        self.publisher.detach(str(reason))
        if self.connection is None or not self.connection.is_open or self._closing:
            return  # the connection's own close says what happened
        hint = topology_hint(str(reason))
        self._log.error("publisher channel setup failed" if hint else "publisher channel closed; reopening it", extra={"err": str(reason), "hint": hint})
        connection = self.connection
        self.ioloop.call_later(REDECLARE_DELAY_S if hint else RECONNECT_DELAY_S, self.guard(lambda: self._open_publisher() if self.connection is connection else None))

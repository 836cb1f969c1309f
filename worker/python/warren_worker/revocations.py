"""Which tasks were cancelled, as this worker knows it (worker/revocations.ts). Workers cannot
read the store, so they read the revocations stream: every REVOKED event, replayed from the start
of its retention on each (re)connect, then followed live. A worker started after a cancel
therefore still skips the task.

The gate: on each (re)connect the worker appends a marker of its own to the stream and waits to
read it back — everything before it has been seen. Tasks wait for the gate before they run. All
of it runs on the I/O thread.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from typing import Any, Callable

import pika

from .contracts import REVOCATION_SYNC_TYPE, decode_revoked, decode_sync_marker, parse_time, sync_marker
from .errors import ContractError
from .link import RECONNECT_DELAY_S, Link
from .topology import REVOCATION_RETENTION_MS

#: Stream consumers need manual acks and a prefetch; the ack only moves this reader's credit along.
STREAM_PREFETCH = 500


class RevocationWatch:
    def __init__(self, link: Link, log: logging.Logger, worker: str, max_entries: int = 100_000, catch_up_timeout_s: float = 30.0) -> None:
        self._link = link
        self._log = log
        self._worker = worker
        self._max_entries = max_entries
        self._catch_up_timeout_s = catch_up_timeout_s
        #: task id → when the cancel stops mattering (epoch s); insertion order is arrival order.
        self._revoked: OrderedDict[str, float] = OrderedDict()
        self._listeners: list[Callable[[str], None]] = []
        self._marker = ""
        self._open = False
        self._waiting: list[Callable[[], None]] = []
        self._channel: Any = None
        link.on_ready(lambda _connection: self._start())
        # Cancels published while the connection was down are only in the stream: close the gate
        # until the replay after the reconnect.
        link.on_lost(self._close_gate)

    @property
    def caught_up(self) -> bool:
        return self._open

    def when_caught_up(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the replay has reached the present (at once if it has)."""
        if self._open:
            callback()
        else:
            self._waiting.append(callback)

    def is_revoked(self, task_id: str) -> bool:
        return self._revoked.get(task_id, 0.0) > time.time()

    def on_revoke(self, listener: Callable[[str], None]) -> None:
        """``listener(task id)`` for each cancel as it arrives (replayed ones too), to abort a run."""
        self._listeners.append(listener)

    def _close_gate(self) -> None:
        self._open = False
        self._channel = None

    def _open_gate(self) -> None:
        self._open = True
        waiting, self._waiting = self._waiting, []
        for callback in waiting:
            self._link.guard(callback)()

    def _start(self) -> None:
        self._close_gate()
        self._link.open_channel(self._on_channel, self._on_channel_closed)

    def _on_channel(self, channel: Any) -> None:
        self._channel = channel
        queue = self._link.topology.revocations_queue

        def consuming(_frame: Any) -> None:
            self._marker = marker = str(uuid.uuid4())
            channel.basic_publish("", queue, sync_marker(marker, self._worker), pika.BasicProperties(type=REVOCATION_SYNC_TYPE, content_type="application/json"))
            self._link.call_later(self._catch_up_timeout_s, lambda: self._give_up_waiting(marker))

        channel.basic_qos(
            prefetch_count=STREAM_PREFETCH,
            callback=self._link.guard(lambda _frame: channel.basic_consume(queue, self._link.guard(self._on_message), arguments={"x-stream-offset": "first"}, callback=self._link.guard(consuming))),
        )

    def _give_up_waiting(self, marker: str) -> None:
        if marker == self._marker and not self._open and self._channel is not None:
            self._log.warning("revocations not replayed in time; running tasks without them", extra={"timeoutMs": int(self._catch_up_timeout_s * 1000)})
            self._open_gate()

    def _on_channel_closed(self, channel: Any, reason: Exception) -> None:
        if channel is not self._channel:
            return
        self._channel = None
        connection = self._link.connection
        if connection is not None and connection.is_open:
            # The channel alone went (the stream deleted, say): read it again on a fresh one.
            self._log.warning("revocations channel closed; reopening it", extra={"err": str(reason)})
            self._link.call_later(RECONNECT_DELAY_S, lambda: self._start() if self._link.connection is connection and connection.is_open else None)

    def _on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        try:
            if properties.type == REVOCATION_SYNC_TYPE:
                if decode_sync_marker(body) == self._marker and not self._open:
                    self._open_gate()
            else:
                revoked = decode_revoked(body)
                if revoked:
                    self._remember(revoked[0], parse_time(revoked[1]))
        except (ContractError, ValueError) as error:
            # Nothing to dead-letter in a stream: a foreign message is only skipped.
            self._log.warning("revocations stream: message ignored", extra={"err": str(error)})
        finally:
            if channel.is_open:
                channel.basic_ack(method.delivery_tag)

    def _remember(self, task_id: str, at: float) -> None:
        now = time.time()
        expires = at + REVOCATION_RETENTION_MS / 1000
        if expires <= now:
            return
        self._revoked.pop(task_id, None)
        self._revoked[task_id] = expires
        while self._revoked:
            oldest, until = next(iter(self._revoked.items()))
            if until > now and len(self._revoked) <= self._max_entries:
                break
            del self._revoked[oldest]
        for listener in self._listeners:
            self._link.guard(listener)(task_id)

"""One consumer channel per processor queue, with prefetch = the processor's concurrency, opened
on each (re)connect once the topology is declared, and re-opened if the broker closes the channel
alone. Its deliveries go to the runner; the runner learns when a channel (and with it every
unacked message on it) is gone. All on the I/O thread."""

from __future__ import annotations

import logging
from typing import Any, Callable

from .link import RECONNECT_DELAY_S, Link
from .task_run import Served

#: (served, channel, method, properties, body)
OnMessage = Callable[[Served, Any, Any, Any, bytes], None]


class Consumers:
    def __init__(self, link: Link, served: list[Served], on_message: OnMessage, on_channel_gone: Callable[[Any], None], log: logging.Logger, concurrency: int, worker: str) -> None:
        self._link = link
        self._served = served
        self._on_message = on_message
        self._on_channel_gone = on_channel_gone
        self._log = log
        self._concurrency = concurrency
        self._worker = worker
        self._stopping = False
        link.on_ready(lambda _connection: self._start())

    def _start(self) -> None:
        pending = {served.name for served in self._served}

        def consuming(served: Served, tag: str) -> None:
            served.consumer_tag = tag
            pending.discard(served.name)
            if not pending:
                prefetch = {s.name: s.prefetch for s in self._served}
                self._log.info("worker consuming", extra={"processors": [s.name for s in self._served], "concurrency": self._concurrency, "prefetch": prefetch, "workerId": self._worker})

        for served in self._served:
            self._open(served, consuming)

    def _open(self, served: Served, consuming: Callable[[Served, str], None]) -> None:
        guard = self._link.guard

        def opened(channel: Any) -> None:
            served.channel = channel
            if self._stopping:
                return
            channel.add_on_cancel_callback(guard(lambda _frame: self._log.warning("broker cancelled the consumer (queue deleted?)", extra={"queue": served.queue})))
            on_message = guard(lambda ch, method, properties, body: self._on_message(served, ch, method, properties, body))
            channel.basic_qos(
                prefetch_count=served.prefetch,
                callback=guard(lambda _f: channel.basic_consume(served.queue, on_message, callback=guard(lambda frame: consuming(served, frame.method.consumer_tag)))),
            )

        def closed(channel: Any, reason: Exception) -> None:
            if channel is not served.channel:
                return
            served.channel, served.consumer_tag = None, None
            self._on_channel_gone(channel)
            connection = self._link.connection
            if connection is not None and connection.is_open and not self._stopping:
                self._log.warning("consumer channel closed; reopening it", extra={"queue": served.queue, "err": str(reason)})
                self._link.call_later(RECONNECT_DELAY_S, lambda: self._open(served, consuming) if self._link.connection is connection and connection.is_open else None)

        self._link.open_channel(opened, closed)

    def stop(self) -> None:
        """Stop intake: cancel every consumer (what the broker sends meanwhile is handed back)."""
        self._stopping = True
        for served in self._served:
            if served.channel is not None and served.channel.is_open and served.consumer_tag:
                try:
                    served.channel.basic_cancel(served.consumer_tag)
                except Exception as error:  # the connection is going anyway
                    self._log.debug("consumer not cancelled", extra={"err": str(error)})

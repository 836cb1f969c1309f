"""Publishes with publisher confirms on one channel of the connection's thread. A publish is
done when the broker acks it (the callback gets None), and failed — the callback gets a
PublishError — when the broker nacks it (say a full queue with reject-publish), no confirm comes
within PUBLISH_TIMEOUT_MS, or the channel goes away first. Every call here is on the I/O thread."""

from __future__ import annotations

import logging
from typing import Any, Callable

import pika
from pika.spec import Basic

from .errors import MessageTooLargeError, PublishError, WarrenError

Done = Callable[[WarrenError | None], None]


class Publisher:
    def __init__(self, ioloop: Any, timeout_s: float, max_message_bytes: int, log: logging.Logger) -> None:
        self._ioloop = ioloop
        self._timeout_s = timeout_s
        self._max_bytes = max_message_bytes
        self._log = log
        self._channel: Any = None
        self._next_tag = 1
        #: delivery tag → (callback, timeout handle)
        self._pending: dict[int, tuple[Done, Any]] = {}

    @property
    def ready(self) -> bool:
        return self._channel is not None and self._channel.is_open

    def attach(self, channel: Any, then: Callable[[], None]) -> None:
        """Put ``channel`` in confirm mode and publish on it from now on."""

        def confirming(_frame: Any) -> None:
            self._channel, self._next_tag = channel, 1
            then()

        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=confirming)

    def detach(self, reason: str) -> None:
        """The channel is gone: whatever it did not confirm fails (the caller requeues its task)."""
        self._channel = None
        pending, self._pending = self._pending, {}
        for done, timer in pending.values():
            self._ioloop.remove_timeout(timer)
            self._call(done, PublishError(f"broker did not confirm the publish: {reason}"))

    def publish(self, exchange: str, routing_key: str, body: bytes, properties: pika.BasicProperties, done: Done) -> None:
        # A message over the broker's max_message_size closes the channel, failing every publish
        # in flight on it: refused here, it fails only its own sender.
        if len(body) > self._max_bytes:
            done(MessageTooLargeError(f"a message of {len(body)} bytes is larger than the {self._max_bytes} this process publishes (MAX_RESULT_BYTES + 1 MiB)"))
            return
        if not self.ready:
            done(PublishError("not connected to the broker"))
            return
        try:
            self._channel.basic_publish(exchange, routing_key, body, properties)
        except Exception as error:  # the channel closed under us
            done(PublishError(f"broker did not confirm the publish: {error}"))
            return
        tag = self._next_tag
        self._next_tag += 1
        timer = self._ioloop.call_later(self._timeout_s, lambda: self._expire(tag))
        self._pending[tag] = (done, timer)

    def _expire(self, tag: int) -> None:
        entry = self._pending.pop(tag, None)
        if entry:
            self._call(entry[0], PublishError(f"broker did not confirm the publish within {int(self._timeout_s * 1000)} ms"))

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        acked = isinstance(method, Basic.Ack)
        tags = [t for t in self._pending if t <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        for tag in tags:
            entry = self._pending.pop(tag, None)
            if entry is None:
                continue  # timed out already
            done, timer = entry
            self._ioloop.remove_timeout(timer)
            self._call(done, None if acked else PublishError("broker refused the message (nack): is the queue full?"))

    def _call(self, done: Done, error: WarrenError | None) -> None:
        """One sender's bug must not cost the confirms of the others."""
        try:
            done(error)
        except Exception:
            self._log.exception("publish callback failed")

"""What this worker publishes, shaped exactly as shared/events.ts and Broker.deadLetter shape it:
task events to the events exchange (routing key ``task.<status>.<processor>``; messageId = the
event's id, correlationId = the task's, type ``warren.task.event``), tasks republished to a retry
tier, and dead letters with their reason in the headers. All persistent, all confirmed."""

from __future__ import annotations

from typing import Any

import pika

from .contracts import TASK_EVENT_TYPE, TASK_MESSAGE_TYPE, encode, now_iso, task_event
from .publisher import Done, Publisher
from .topology import Topology, event_routing_key

JSON = "application/json"
PERSISTENT = 2


class Events:
    def __init__(self, publisher: Publisher, topology: Topology, worker: str) -> None:
        self._publisher = publisher
        self._topology = topology
        self._worker = worker

    def task_event(self, task: dict[str, Any], status: str, attempt: int, done: Done, result_json: bytes | None = None, **fields: Any) -> None:
        event_id, body = task_event(task, status, attempt, self._worker, result_json, **fields)
        properties = pika.BasicProperties(
            content_type=JSON,
            delivery_mode=PERSISTENT,
            message_id=event_id,
            # The task's id outside the body: a gateway's live-event consumer drops events nobody
            # in it waits for without parsing them.
            correlation_id=task["task_id"],
            type=TASK_EVENT_TYPE,
        )
        self._publisher.publish(self._topology.events_exchange, event_routing_key(status, task["processor"]), body, properties, done)

    def task(self, task: dict[str, Any], exchange: str, done: Done) -> None:
        """Republish a task (to a retry tier, which hands it back to its queue after the delay)."""
        properties = pika.BasicProperties(content_type=JSON, delivery_mode=PERSISTENT, message_id=task["task_id"], type=TASK_MESSAGE_TYPE)
        self._publisher.publish(exchange, task["processor"], encode(task), properties, done)

    def dead_letter(self, queue: str, body: bytes, original: Any, reason: str, done: Done) -> None:
        """A copy of a message into the dead-letter exchange (routing key: the queue it came from),
        its properties kept and the reason added to its headers, for operators and the gateway's
        dead-letter watch. ``user_id`` is not copied: the broker refuses a publish whose user_id is
        not the connection's own, which would close the publisher channel."""
        headers = dict(original.headers or {})
        headers.update({"x-warren-reason": reason[:1000], "x-warren-queue": queue, "x-warren-dead-lettered-at": now_iso()})
        properties = pika.BasicProperties(
            content_type=original.content_type,
            content_encoding=original.content_encoding,
            headers=headers,
            delivery_mode=PERSISTENT,
            priority=original.priority,
            correlation_id=original.correlation_id,
            reply_to=original.reply_to,
            expiration=original.expiration,
            message_id=original.message_id,
            timestamp=original.timestamp,
            type=original.type,
            app_id=original.app_id,
            cluster_id=original.cluster_id,
        )
        self._publisher.publish(self._topology.dead_letter_exchange, queue, body, properties, done)

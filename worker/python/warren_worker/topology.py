"""The broker topology this worker needs, as data, with the very names and arguments that
shared/topology.ts gives them. RabbitMQ refuses a redeclare with other arguments
(PRECONDITION_FAILED), so any drift from the Node side would stop this worker; the unit tests
compare the two. Declared on every (re)connect, so a broker that lost its definitions is repaired.

Left out on purpose: the deliveries exchange, queue and delivery retry tiers, which only deliverers
(Node workers) and the gateway use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

#: How long the revocations stream keeps a cancel (shared/topology.ts: REVOCATION_RETENTION_MS).
REVOCATION_RETENTION_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class ExchangeSpec:
    name: str
    type: str


@dataclass(frozen=True)
class QueueSpec:
    name: str
    arguments: dict[str, Any]
    #: (exchange, routing pattern) pairs.
    bindings: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RetryTier:
    delay_ms: int
    exchange: str


@dataclass(frozen=True)
class Topology:
    prefix: str
    #: processor name → its task queue.
    task_queues: dict[str, str]
    #: Shortest first: a task republished to a tier's exchange waits delay_ms, then returns to its queue.
    retry_tiers: list[RetryTier]
    exchanges: list[ExchangeSpec]
    queues: list[QueueSpec]

    @property
    def tasks_exchange(self) -> str:
        return f"{self.prefix}.tasks"

    @property
    def events_exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dlx"

    @property
    def revocations_queue(self) -> str:
        return f"{self.prefix}.revocations"


def build_topology(prefix: str, processors: list[str], task_queue_max_length: int, delivery_limit: int, retry_delays_ms: list[int], task_queue_ttl_ms: int) -> Topology:
    """buildTopology's exchanges and queues for these processors, minus the delivery side."""
    tasks, events, dlx = f"{prefix}.tasks", f"{prefix}.events", f"{prefix}.dlx"

    def quorum(args: dict[str, Any]) -> dict[str, Any]:
        return {"x-queue-type": "quorum", **args}

    work_queue_args = {
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": dlx,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        "x-max-length": task_queue_max_length,
    }
    task_queues = {name: f"{prefix}.tasks.{name}" for name in processors}
    ttl = {"x-message-ttl": task_queue_ttl_ms} if task_queue_ttl_ms > 0 else {}
    task_queue_specs = [QueueSpec(queue, quorum({**work_queue_args, **ttl}), ((tasks, name),)) for name, queue in task_queues.items()]

    tiers = [RetryTier(delay, f"{prefix}.retry.{delay}ms") for delay in sorted(set(retry_delays_ms))]
    tier_queues = [
        QueueSpec(
            tier.exchange,
            quorum(
                {
                    "x-message-ttl": tier.delay_ms,
                    "x-dead-letter-exchange": tasks,
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                    "x-max-length": task_queue_max_length,
                }
            ),
            ((tier.exchange, "#"),),
        )
        for tier in tiers
    ]
    exchanges = [ExchangeSpec(t.exchange, "topic") for t in tiers] + [
        ExchangeSpec(tasks, "direct"),
        ExchangeSpec(events, "topic"),
        ExchangeSpec(dlx, "topic"),
    ]
    queues = task_queue_specs + tier_queues + [
        QueueSpec(
            f"{prefix}.results",
            quorum({"x-delivery-limit": delivery_limit, "x-dead-letter-exchange": dlx, "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}),
            ((events, "task.#"), (events, "delivery.#")),
        ),
        QueueSpec(
            f"{prefix}.revocations",
            {"x-queue-type": "stream", "x-max-age": f"{REVOCATION_RETENTION_MS // 3_600_000}h", "x-stream-max-segment-size-bytes": 1_000_000},
            ((events, "task.revoked.#"),),
        ),
        QueueSpec(f"{prefix}.dead-letters", quorum({}), ((dlx, "#"),)),
        QueueSpec(f"{prefix}.dead-letter-watch", quorum({"x-delivery-limit": delivery_limit}), ((dlx, "#"),)),
    ]
    return Topology(prefix, task_queues, tiers, exchanges, queues)


def event_routing_key(status: str, processor: str) -> str:
    """``task.<status>.<processor>``, so live listeners can filter."""
    return f"task.{status.lower()}.{processor}"


Step = Callable[[Callable[..., None]], None]


def declare_steps(channel: Any, topology: Topology) -> list[Step]:
    """One asynchronous step per exchange, queue and binding, in assertTopology's order. Each step
    takes the callback pika calls when the broker answers; ``run_steps`` chains them."""
    steps: list[Step] = []
    for exchange in topology.exchanges:
        steps.append(lambda done, e=exchange: channel.exchange_declare(e.name, e.type, durable=True, callback=done))
    for queue in topology.queues:
        steps.append(lambda done, q=queue: channel.queue_declare(q.name, durable=True, arguments=q.arguments, callback=done))
        for exchange, pattern in queue.bindings:
            steps.append(lambda done, q=queue, e=exchange, p=pattern: channel.queue_bind(q.name, e, routing_key=p, callback=done))
    return steps


def run_steps(steps: list[Step], finished: Callable[[], None]) -> None:
    """Run asynchronous steps one after another, then ``finished``. A step that fails closes its
    channel, whose close callback reports it; the rest never run."""
    pending = iter(steps)

    def advance(*_answer: Any) -> None:
        step = next(pending, None)
        if step is None:
            finished()
        else:
            step(advance)

    advance()

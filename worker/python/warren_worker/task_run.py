"""One delivery of a task, from the message to its ack, as the I/O thread tracks it.

A run moves ``waiting`` (for the revocations replay) → ``queued`` (handed to the thread pool) →
``running`` (it has a thread; its clock runs) → ``publishing`` (the final event is out) →
``settled`` (acked, requeued, or given up with its channel). Cancel, timeout, shutdown and a lost
channel decide a run's fate while it is waiting, queued or running — without waiting for its
thread, which may run on — and nothing decides it twice.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from .context import Context
from .processor import Processor

ACTIVE = ("waiting", "queued", "running")


@dataclass
class Served:
    """A processor this worker serves: its queue, its prefetch and the threads its runs use."""

    processor: Processor
    queue: str
    prefetch: int
    executor: ThreadPoolExecutor
    timeout_ms: int
    max_attempts: int
    channel: Any = None
    consumer_tag: str | None = None
    #: A batching processor's Batcher (batching.py); None: each run is a call of its own.
    batcher: Any = None

    @property
    def name(self) -> str:
        return self.processor.name


@dataclass(eq=False)
class TaskRun:
    served: Served
    channel: Any
    delivery_tag: int
    task: dict[str, Any]
    attempt: int
    log: logging.Logger
    ctx: Context | None = None
    state: str = "waiting"
    thread_done: bool = False
    deadline: Any = None
    began: float = field(default_factory=time.monotonic)
    #: When STARTED goes out (started_report.py); set once the run has a thread.
    started: Any = None
    #: STARTED is published without waiting; the ack waits for its confirm (or its failure).
    started_pending: bool = False
    after_started: list[Callable[[], None]] = field(default_factory=list)

    @property
    def task_id(self) -> str:
        return str(self.task["task_id"])

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def elapsed_ms(self) -> int:
        return round((time.monotonic() - self.began) * 1000)

    def when_started_confirmed(self, callback: Callable[[], None]) -> None:
        """The final event is confirmed, so a STARTED the broker refused changes nothing recorded;
        still, the ack waits for STARTED's answer, as the Node runner's does."""
        if self.started_pending:
            self.after_started.append(callback)
        else:
            callback()

    def started_answered(self) -> None:
        self.started_pending = False
        waiting, self.after_started = self.after_started, []
        for callback in waiting:
            callback()

    def settle(self, how: str) -> bool:
        """Acknowledge (``ack``) or hand back (``requeue``) the message on the channel that
        delivered it; False when that channel is gone (the broker has taken the message back)."""
        self.state = "settled"
        if self.channel is None or not self.channel.is_open:
            return False
        try:
            if how == "ack":
                self.channel.basic_ack(self.delivery_tag)
            else:
                self.channel.basic_nack(self.delivery_tag, requeue=True)
        except Exception:  # the connection went first; its channels learn of it a moment later
            return False
        return True

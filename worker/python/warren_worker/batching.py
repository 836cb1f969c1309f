"""Gathers a batching processor's tasks into shared calls (worker/batcher.ts): up to ``max_size``
runs that arrive within ``max_wait_ms`` of the first go to ``run_batch`` together. A run cancelled,
timed out or given up while it waits is left out (the runner has settled it already). Several
batches may be in flight at once, as many as the processor's threads. On the I/O thread."""

from __future__ import annotations

from typing import Any, Callable

from .link import Link
from .task_run import TaskRun


class Batcher:
    def __init__(self, link: Link, max_size: int, max_wait_ms: int, submit: Callable[[list[TaskRun]], None]) -> None:
        self._link = link
        self._max_size = max_size
        self._max_wait_s = max_wait_ms / 1000
        self._submit = submit
        self._waiting: list[TaskRun] = []
        self._timer: Any = None

    def add(self, run: TaskRun) -> None:
        self._waiting.append(run)
        if len(self._waiting) >= self._max_size:
            self._flush()
        elif self._timer is None:
            self._timer = self._link.call_later(self._max_wait_s, self._flush)

    def _flush(self) -> None:
        self._link.cancel_timer(self._timer)
        self._timer = None
        batch = [run for run in self._waiting if run.state == "queued" and run.ctx is not None and not run.ctx.cancelled]
        self._waiting = []
        if batch:
            self._submit(batch)

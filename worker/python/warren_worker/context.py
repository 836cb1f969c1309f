"""``ctx``, what a run gets besides its input: progress, a logger, the cancel flag, its input
files and a place for output files. It lives in the run's thread; the only state it shares with
the connection's thread is the cancel flag (a threading.Event) and the progress throttle (a lock)."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable

from .artifacts import ArtifactWriter
from .errors import Cancelled
from .inputs import TaskInputs

#: (delay in seconds, callback): runs the callback on the connection's thread after the delay.
Schedule = Callable[[float, Callable[[], None]], None]


# At most one progress report per task this often, as the Node runner sends them.
PROGRESS_INTERVAL_S = 0.25


class ProgressThrottle:
    """Progress is throttled like worker/progress.ts: a run may report in a tight loop, but the
    broker sees at most one report per interval per task, and the latest value always goes out
    last. Reports come from the run's thread; sending happens on the connection's thread, at most
    one hand-over pending at a time, so a tight loop costs a lock, not a flood of callbacks."""

    def __init__(self, interval_s: float, schedule: Schedule, send: Callable[[float, str | None], None], clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval_s
        self._schedule = schedule
        self._send = send
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: tuple[float, str | None] | None = None
        self._last_sent = -math.inf
        self._scheduled = False
        self._closed = False

    def report(self, fraction: float, message: str | None) -> None:
        with self._lock:
            if self._closed:
                return
            self._latest = (fraction, message)
            if self._scheduled:
                return
            self._scheduled = True
            delay = max(0.0, self._last_sent + self._interval - self._clock())
        self._schedule(delay, self._flush)

    def _flush(self) -> None:
        with self._lock:
            self._scheduled = False
            latest, self._latest = self._latest, None
            if self._closed or latest is None:
                return
            self._last_sent = self._clock()
        self._send(*latest)

    def close(self) -> None:
        """The run is over: a report still waiting is dropped (the final event says more)."""
        with self._lock:
            self._closed = True
            self._latest = None


class Context:
    """Passed to ``run(input, ctx)``. Attributes: ``task_id``, ``attempt`` (1 for the first run),
    ``max_result_bytes`` (MAX_RESULT_BYTES: larger results fail as result_too_large — write large
    outputs with ``artifacts``), ``log`` (a logging.Logger whose records carry taskId, processor
    and attempt) and ``artifacts`` (``write(name, data, content_type)`` → FileRef)."""

    def __init__(self, task_id: str, attempt: int, max_result_bytes: int, log: logging.Logger, artifacts: ArtifactWriter, throttle: ProgressThrottle) -> None:
        self.task_id = task_id
        self.attempt = attempt
        self.max_result_bytes = max_result_bytes
        self.log = log
        self.artifacts = artifacts
        self._throttle = throttle
        self._stop = threading.Event()
        self._reason: str | None = None
        self._inputs: TaskInputs | None = None

    @property
    def cancelled(self) -> bool:
        """True once cancel, timeout or shutdown asked this run to stop: stop work and return or raise."""
        return self._stop.is_set()

    @property
    def cancel_reason(self) -> str | None:
        """Why: ``revoked``, ``timed_out``, ``shutdown`` or ``connection_lost``; None while running."""
        return self._reason

    def check_cancelled(self) -> None:
        """Raise Cancelled if the run was asked to stop; call it between steps of long work."""
        if self._stop.is_set():
            raise Cancelled(f"run stopped: {self._reason}")

    def sleep(self, seconds: float) -> None:
        """Sleep, but raise Cancelled as soon as the run is asked to stop (a sleep that ignores a
        cancel would hold its thread for nothing)."""
        if self._stop.wait(max(0.0, seconds)):
            self.check_cancelled()

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress 0..1 with an optional message; sent as STARTED events, throttled."""
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not math.isfinite(fraction):
            self.log.warning("progress report not published", extra={"err": f"fraction must be a finite number, got {fraction!r}"})
            return
        self._throttle.report(min(1.0, max(0.0, float(fraction))), None if message is None else str(message)[:1000])

    def file_path(self, file: dict[str, Any]) -> str:
        """The local path of an input file (a FileRef of ``input["files"]``), read-only: on the
        shared volume, or downloaded from S3 for this run and removed after it."""
        if self._inputs is None:
            raise RuntimeError("input files are not available outside the run")
        return self._inputs.path_of(file)

    # Used by the runner, not by processors.
    def _set_inputs(self, inputs: TaskInputs | None) -> None:
        self._inputs = inputs

    def _cancel(self, reason: str) -> None:
        if not self._stop.is_set():
            self._reason = reason
            self._stop.set()

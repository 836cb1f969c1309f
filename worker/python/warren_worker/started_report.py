"""When a run says it has started (STARTED_REPORT_DELAY_MS), as worker/started-report.ts does.

STARTED goes out once the run has had its thread for ``delay_s`` (at once with 0); a run done
sooner is reported by its final event alone: one publish, one confirm, two queue deliveries and a
store write fewer per fast task, and no ``started`` webhook racing its own ``completed``. Progress
reported before then waits for the STARTED it follows, so the first STARTED of a run never carries
progress (that is what tells ``started`` from ``progress`` webhooks). STARTED is published without
waiting for its confirm; the ack waits for it (TaskRun.when_started_confirmed). Everything here
runs on the I/O thread.
"""

from __future__ import annotations

from typing import Any, Callable

from .errors import WarrenError
from .events import Events
from .task_run import TaskRun


class StartedReport:
    def __init__(self, run: TaskRun, events: Events, delay_s: float, call_later: Callable[[float, Callable[[], None]], Any], cancel_timer: Callable[[Any], None]) -> None:
        self._run = run
        self._events = events
        self._cancel_timer = cancel_timer
        self._sent = False
        self._held: tuple[float, str | None] | None = None
        self._timer: Any = call_later(delay_s, self._report) if delay_s > 0 else None
        if self._timer is None:
            self._report()

    def progress(self, fraction: float, message: str | None) -> None:
        """A progress report: published now, or right after the STARTED it has to follow."""
        if not self._run.active:
            return
        if self._sent:
            self._publish_progress(fraction, message)
        else:
            self._held = (fraction, message)

    def cancel(self) -> None:
        """The run is over (or decided): no STARTED, no held progress."""
        self._cancel_timer(self._timer)
        self._timer = None
        self._held = None

    def _report(self) -> None:
        self._timer = None
        run = self._run
        if not run.active:
            return
        self._sent = True
        run.started_pending = True

        def answered(error: WarrenError | None) -> None:
            if error is not None:
                run.log.debug("STARTED not confirmed", extra={"err": error.message})
            run.started_answered()

        self._events.task_event(run.task, "STARTED", run.attempt, answered)
        if self._held is not None:
            self._publish_progress(*self._held)
            self._held = None

    def _publish_progress(self, fraction: float, message: str | None) -> None:
        run = self._run

        def published(error: WarrenError | None) -> None:
            if error is not None:
                run.log.warning("progress report not published", extra={"err": error.message})

        fields: dict[str, Any] = {"progress": fraction} if message is None else {"progress": fraction, "message": message}
        self._events.task_event(run.task, "STARTED", run.attempt, published, **fields)

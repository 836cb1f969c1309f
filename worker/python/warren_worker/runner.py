"""Serves processors from their queues, as worker/runner.ts does. For each task: the processor runs
in a thread of its pool (STARTED is published if it runs longer than STARTED_REPORT_DELAY_MS,
started_report.py), the final event is published and confirmed, and only then is the message
acked — so a worker that dies at any point leaves the task to be redelivered, never lost.
Everything here runs on the I/O thread.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Callable

from .context import PROGRESS_INTERVAL_S, Context, ProgressThrottle
from .contracts import decode_task
from .errors import ContractError, PublishError, WarrenError, describe, is_permanent
from .events import Events
from .execution import Outcome, execute, execute_batch
from .inputs import InputFetcher
from .artifacts import ArtifactWriter
from .consumers import Consumers
from .link import Link
from .logs import child
from .revocations import RevocationWatch
from .started_report import StartedReport
from .task_run import Served, TaskRun


class Runner:
    def __init__(self, link: Link, revocations: RevocationWatch, events: Events, served: list[Served], fetcher: InputFetcher, data_dir: str, max_result_bytes: int, concurrency: int, log: logging.Logger, worker: str, started_delay_ms: int) -> None:
        self._link = link
        self._started_delay_ms = started_delay_ms
        self._revocations = revocations
        self._events = events
        self._fetcher = fetcher
        self._data_dir = data_dir
        self._max_result_bytes = max_result_bytes
        self._log = log
        #: Deliveries not settled yet (runs, and dead letters on their way).
        self._runs: set[TaskRun] = set()
        self._stopping = False
        self._on_stopped: Callable[[], None] | None = None
        self._grace_timer: Any = None
        self._consumers = Consumers(link, served, self._on_message, self._on_channel_gone, log, concurrency, worker)
        link.on_lost(self._on_lost)
        revocations.on_revoke(self._on_revoke)

    def _on_channel_gone(self, channel: Any) -> None:
        """The broker has taken this channel's unacked messages back: their runs are moot."""
        for run in [r for r in self._runs if r.channel is channel]:
            self._abandon(run, "connection_lost")

    def _on_lost(self) -> None:
        for run in [r for r in self._runs if r.channel is None or not r.channel.is_open]:
            self._abandon(run, "connection_lost")

    def _abandon(self, run: TaskRun, reason: str) -> None:
        """The message went back to the broker with its channel: whatever the run comes to is
        moot (it runs again, here or elsewhere), so it is asked to stop and nothing is published
        for it — a RETRY now would put a second copy of the task in the queue."""
        if run.state == "settled":
            return
        if run.ctx is not None:
            run.ctx._cancel(reason)
        if run.active:
            run.log.info("task given up with its channel; the broker redelivers it")
        self._done(run, None)

    # -- a delivery ------------------------------------------------------------------------------
    def _on_message(self, served: Served, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        try:
            self._take(served, channel, method, properties, body)
        except Exception:
            # A bug before the delivery was tracked: hand it back rather than hold it unacked for ever.
            self._log.exception("message handling failed; requeueing it", extra={"queue": served.queue})
            if channel.is_open:
                channel.basic_nack(method.delivery_tag, requeue=True)

    def _take(self, served: Served, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        if self._stopping:
            # Arrived between our cancel and the broker's answer: back to the queue, untouched.
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        try:
            task = decode_task(body)
        except ContractError as error:
            self._dead_letter(served, channel, method, properties, body, str(error))
            return
        if task["processor"] != served.name:
            self._log.warning("task arrived on the wrong queue; dead-lettering it", extra={"taskId": task["task_id"], "processor": served.name, "taskProcessor": task["processor"]})
            self._dead_letter(served, channel, method, properties, body, f'task for "{task["processor"]}" arrived on the queue of "{served.name}"')
            return
        # Quorum queues count redeliveries (a worker died or a channel closed mid-task).
        redeliveries = (properties.headers or {}).get("x-delivery-count", 0)
        attempt = task["attempt"] + (redeliveries if isinstance(redeliveries, int) and not isinstance(redeliveries, bool) else 0)
        log = child(self._log, taskId=task["task_id"], processor=served.name, attempt=attempt)
        run = TaskRun(served, channel, method.delivery_tag, task, attempt, log)
        self._runs.add(run)
        self._revocations.when_caught_up(lambda: self._for(run, self._begin))

    def _for(self, run: TaskRun, step: Callable[[TaskRun], None], *args: Any) -> None:
        """A step of one delivery. A bug in it costs that delivery, not the worker: the task goes
        back to the queue (as a Node handler that throws is requeued), and the delivery limit
        parks it if it keeps failing."""
        try:
            step(run, *args)
        except Exception as error:
            run.log.exception("task handling failed; requeueing it")
            self._done(run, "requeue", f"{type(error).__name__}: {error}")

    def _dead_letter(self, served: Served, channel: Any, method: Any, properties: Any, body: bytes, reason: str) -> None:
        self._log.warning("dead-lettering message", extra={"queue": served.queue, "reason": reason})
        run = TaskRun(served, channel, method.delivery_tag, {"task_id": "", "processor": served.name}, 0, self._log, state="publishing")
        self._runs.add(run)

        def published(error: WarrenError | None) -> None:
            if error is not None:  # the broker redelivers it
                self._log.warning("could not dead-letter the message", extra={"queue": served.queue, "err": error.message})
            self._done(run, "requeue" if error else "ack")

        try:
            self._events.dead_letter(served.queue, body, properties, reason, published)
        except Exception as error:  # properties pika cannot encode again, say
            published(PublishError(f"{type(error).__name__}: {error}"))

    def _begin(self, run: TaskRun) -> None:
        if run.state != "waiting":
            return  # its channel went while it waited
        if self._stopping:
            self._done(run, "requeue", "worker shut down before the task ran")
            return
        if self._revocations.is_revoked(run.task_id):
            run.log.info("task was cancelled before it ran; skipping it")
            self._done(run, "ack")
            return
        run.log.debug("task started")
        throttle = ProgressThrottle(PROGRESS_INTERVAL_S, lambda delay, flush: self._link.call_threadsafe(lambda: self._link.call_later(delay, flush)), partial(self._send_progress, run))
        run.ctx = Context(run.task_id, run.attempt, self._max_result_bytes, run.log, ArtifactWriter(self._data_dir, run.task_id), throttle)
        run.state = "queued"
        if run.served.batcher is not None:
            run.served.batcher.add(run)
        else:
            self.submit([run])

    def submit(self, runs: list[TaskRun]) -> None:
        """Hand runs to their processor's threads: one ``run`` call, or one ``run_batch`` call for a
        batching processor; each run's outcome comes back to this thread on its own."""
        served = runs[0].served
        contexts = [run.ctx for run in runs]

        def on_start() -> None:
            self._link.call_threadsafe(lambda: [self._thread_started(run) for run in runs])

        if served.batcher is not None:
            future = served.executor.submit(execute_batch, served.processor, [r.task for r in runs], contexts, self._fetcher, on_start)
        else:
            future = served.executor.submit(lambda: [execute(served.processor, runs[0].task, contexts[0], self._fetcher, on_start)])

        def finished(f: Any) -> None:
            error = f.exception()
            outcomes = [Outcome(error=error)] * len(runs) if error is not None else f.result()
            for run, outcome in zip(runs, outcomes):
                self._for(run, self._thread_finished, outcome)

        future.add_done_callback(lambda f: self._link.call_threadsafe(lambda: finished(f)))

    def _send_progress(self, run: TaskRun, fraction: float, message: str | None) -> None:
        if run.started is not None:
            run.started.progress(fraction, message)

    def _thread_started(self, run: TaskRun) -> None:
        if run.state == "queued":
            run.state = "running"
            run.deadline = self._link.call_later(run.served.timeout_ms / 1000, lambda: self._timed_out(run))
            run.started = StartedReport(run, self._events, self._started_delay_ms / 1000, self._link.call_later, self._link.cancel_timer)

    def _timed_out(self, run: TaskRun) -> None:
        if not run.active or run.ctx is None:
            return
        run.ctx._cancel("timed_out")
        if not run.thread_done:
            run.log.warning("run outlived its timeout; its thread is held until the processor returns (check ctx.cancelled)")
        self._fail(run, "timed_out", f"timed out after {run.served.timeout_ms} ms", permanent=True)

    def _thread_finished(self, run: TaskRun, outcome: Outcome) -> None:
        run.thread_done = True
        if not run.active:
            return  # decided already: cancelled, timed out, shut down or given up
        if outcome.error is None:
            self._succeed(run, outcome)
        else:
            code, message = describe(outcome.error)
            self._fail(run, code, message, is_permanent(outcome.error))

    # -- the final event -------------------------------------------------------------------------
    def _finalising(self, run: TaskRun) -> None:
        run.state = "publishing"
        self._link.cancel_timer(run.deadline)
        if run.started is not None:
            run.started.cancel()
        if run.ctx is not None:
            run.ctx._throttle.close()

    def _succeed(self, run: TaskRun, outcome: Outcome) -> None:
        self._finalising(run)

        def published(error: WarrenError | None) -> None:
            if error is None:
                run.log.debug("task succeeded", extra={"ms": run.elapsed_ms()})
            self._after_final(run, error)

        self._events.task_event(run.task, "SUCCESS", run.attempt, published, result_json=outcome.result_json, artifacts=outcome.artifacts)

    def _fail(self, run: TaskRun, code: str, message: str, permanent: bool) -> None:
        self._finalising(run)
        error = {"code": code, "message": message[:4000]}
        tiers = self._link.topology.retry_tiers
        if not permanent and run.attempt < run.served.max_attempts and tiers:
            # Transient: RETRY now, and the next attempt waits in a backoff tier (the broker's TTL)
            # before it returns to the queue. Both confirmed before this one is acked.
            tier = tiers[min(run.attempt - 1, len(tiers) - 1)]
            run.log.info("task failed; retrying", extra={"code": code, "err": message, "retryInMs": tier.delay_ms})

            def retry_sent(failure: WarrenError | None) -> None:
                if failure is not None:
                    self._after_final(run, failure)
                else:
                    self._events.task({**run.task, "attempt": run.attempt + 1}, tier.exchange, lambda f: self._after_final(run, f))

            self._events.task_event(run.task, "RETRY", run.attempt, retry_sent, error=error)
        else:
            run.log.info("task failed", extra={"code": code, "err": message, "ms": run.elapsed_ms()})
            self._events.task_event(run.task, "FAILURE", run.attempt, lambda f: self._after_final(run, f), error=error)

    def _after_final(self, run: TaskRun, error: WarrenError | None) -> None:
        """Ack once the final event is confirmed; a publish that failed hands the task back, never
        turns the run into something else."""
        if error is not None:
            self._done(run, "requeue", f"final event not published: {error.message}")
        else:
            run.when_started_confirmed(lambda: self._done(run, "ack"))

    def _done(self, run: TaskRun, how: str | None, reason: str = "") -> None:
        """Settle the delivery (``ack``, ``requeue``, or None when its channel is gone) and forget it."""
        if run.state == "settled":
            return
        self._link.cancel_timer(run.deadline)
        if run.started is not None:
            run.started.cancel()
        if run.ctx is not None:
            run.ctx._throttle.close()
        if how == "requeue":
            self._log.warning("requeueing message", extra={"queue": run.served.queue, "reason": reason, "taskId": run.task_id or None})
        if how is not None and not run.settle(how):
            self._log.warning("could not settle message; broker will redeliver", extra={"queue": run.served.queue})
        run.state = "settled"
        self._runs.discard(run)
        self._check_stopped()

    # -- cancels and shutdown --------------------------------------------------------------------
    def _on_revoke(self, task_id: str) -> None:
        for run in [r for r in self._runs if r.task_id == task_id and r.state in ("queued", "running")]:
            assert run.ctx is not None
            run.ctx._cancel("revoked")
            # Never retried, nothing published: REVOKED is terminal in the store already.
            run.log.info("task cancelled while running; aborted it")
            run.state = "publishing"  # decided: nothing else may decide it
            self._link.cancel_timer(run.deadline)
            run.when_started_confirmed(lambda run=run: self._done(run, "ack"))

    def stop(self, grace_ms: int, then: Callable[[], None]) -> None:
        """Stop taking tasks; runs in flight get ``grace_ms`` to finish, then are asked to stop and requeued; ``then`` runs once every delivery is settled."""
        self._stopping = True
        self._on_stopped = then
        self._consumers.stop()
        for run in [r for r in self._runs if r.state == "waiting"]:
            self._done(run, "requeue", "worker shut down before the task ran")
        self._grace_timer = self._link.call_later(grace_ms / 1000, self._grace_over)
        self._check_stopped()

    def _grace_over(self) -> None:
        self._grace_timer = None
        for run in [r for r in self._runs if r.active]:
            if run.ctx is not None:
                run.ctx._cancel("shutdown")
            run.log.info("task interrupted by shutdown; requeueing it")
            self._done(run, "requeue", "worker shut down mid-task")

    def _check_stopped(self) -> None:
        if self._stopping and not self._runs and self._on_stopped is not None:
            self._link.cancel_timer(self._grace_timer)
            then, self._on_stopped = self._on_stopped, None
            then()

"""The part of a task that runs in a worker thread: fetch the inputs, call the processor, encode
its result. Nothing here touches pika; the outcome goes back to the I/O thread as a value."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

from .context import Context
from .contracts import encode_result
from .errors import Cancelled
from .inputs import InputFetcher, TaskInputs
from .processor import Processor


@dataclass
class Outcome:
    """What a run came to: its result (JSON, already encoded) and files, or what it raised."""

    result_json: bytes | None = None
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None


def execute(processor: Processor, task: dict[str, Any], ctx: Context, fetcher: InputFetcher, on_start: Callable[[], None]) -> Outcome:
    """Run one task in the calling (worker) thread. ``on_start`` tells the I/O thread the run has
    a thread now, so its clock starts then — not while it waited behind a run that outlived its
    timeout (Python cannot stop a thread; such a run keeps it until it returns)."""
    on_start()
    if ctx.cancelled:
        return Outcome(error=Cancelled("run stopped before it began"))
    inputs = None
    try:
        # Inside the run's clock and cancel flag: a download that hangs times out like a processor would.
        inputs = fetcher.fetch(task["task_id"], task["input"]["files"], lambda: ctx.cancelled)
        ctx._set_inputs(inputs)
        # A copy: the processor may change its input, and a retry republishes the task as it came.
        result = processor.run(copy.deepcopy(task["input"]), ctx)
        return Outcome(result_json=encode_result(result, ctx.max_result_bytes), artifacts=ctx.artifacts.written())
    except Exception as error:
        return Outcome(error=error)
    finally:
        ctx._set_inputs(None)
        if inputs is not None:
            try:
                inputs.release()
            except Exception as error:
                ctx.log.warning("downloaded inputs not removed", extra={"err": str(error)})


def execute_batch(processor: Processor, tasks: list[dict[str, Any]], ctxs: list[Context], fetcher: InputFetcher, on_start: Callable[[], None]) -> list[Outcome]:
    """Run a batch of tasks in one ``run_batch`` call (worker/batcher.ts's contract): one outcome
    per task, in order. A task whose inputs cannot be fetched, or that was cancelled before the
    call, is left out of it with its own outcome."""
    on_start()
    outcomes: list[Outcome] = [Outcome(error=Cancelled("run stopped before it began"))] * len(tasks)
    fetched: list[TaskInputs] = []
    called: list[int] = []
    try:
        for index, (task, ctx) in enumerate(zip(tasks, ctxs)):
            if ctx.cancelled:
                continue
            try:
                inputs = fetcher.fetch(task["task_id"], task["input"]["files"], lambda ctx=ctx: ctx.cancelled)
            except Exception as error:
                outcomes[index] = Outcome(error=error)
                continue
            fetched.append(inputs)
            ctx._set_inputs(inputs)
            called.append(index)
        if not called:
            return outcomes
        try:
            results = processor.run_batch([copy.deepcopy(tasks[i]["input"]) for i in called], [ctxs[i] for i in called])  # type: ignore[attr-defined]
            if not isinstance(results, (list, tuple)) or len(results) != len(called):
                count = len(results) if isinstance(results, (list, tuple)) else "no"
                raise RuntimeError(f"{processor.name}: run_batch returned {count} results for {len(called)} inputs")
        except Exception as error:
            for index in called:
                outcomes[index] = Outcome(error=error)
            return outcomes
        for index, result in zip(called, results):
            if isinstance(result, BaseException):
                outcomes[index] = Outcome(error=result)
                continue
            try:
                outcomes[index] = Outcome(result_json=encode_result(result, ctxs[index].max_result_bytes), artifacts=ctxs[index].artifacts.written())
            except Exception as error:
                outcomes[index] = Outcome(error=error)
        return outcomes
    finally:
        for ctx in ctxs:
            ctx._set_inputs(None)
        for inputs in fetched:
            try:
                inputs.release()
            except Exception as error:
                ctxs[0].log.warning("downloaded inputs not removed", extra={"err": str(error)})


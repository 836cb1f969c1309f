"""The part of a task that runs in a worker thread: fetch the inputs, call the processor, encode
its result. Nothing here touches pika; the outcome goes back to the I/O thread as a value."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

from .context import Context
from .contracts import encode_result
from .errors import Cancelled
from .inputs import InputFetcher
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

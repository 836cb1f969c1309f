"""warren's Python worker SDK: serve processors written in Python from warren's RabbitMQ queues,
with the guarantees of the Node worker (worker/runner.ts) — confirmed events, ack after the final
event, retries through backoff tiers, cancels from the revocations stream, dead-lettering of
broken messages, graceful shutdown.

    from warren_worker import processor, PermanentError

    @processor(name="echo-py", version="1.0.0")
    def run(input, ctx):
        ctx.progress(0.5, "half way")
        return {"fields": input["fields"]}

Run it with ``python3 -m warren_worker <module>``.
"""

from .context import Context
from .errors import Cancelled, PermanentError, WarrenError
from .processor import Processor, processor

__all__ = ["processor", "Processor", "PermanentError", "Cancelled", "WarrenError", "Context"]

"""``python3 -m warren_worker <module> [<module> ...]``: serve every processor of the modules.

Signals are taken synchronously (blocked, then ``sigtimedwait`` on the main thread) rather than
by a handler, so a SIGTERM never runs code in the middle of the I/O thread's pika calls. The
process ends with ``os._exit``: a run that ignores its cancel keeps a thread that Python cannot
stop, and must not hold the exit hostage once its task has been requeued.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from .config import load_config
from .errors import ConfigError
from .logs import configure
from .processor import Processor, load_processors
from .worker import Worker

USAGE = "usage: python3 -m warren_worker <module> [<module> ...]   (modules importable from the current directory or PYTHONPATH)"
SIGNALS = {signal.SIGTERM, signal.SIGINT}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 0 if argv else 2
    try:
        config = load_config()
        log = configure(config.log_level, config.log_format)
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        processors = load_processors(argv, config.worker_processors, list(config.processor_concurrency))
    except ConfigError as error:
        print(f"warren worker: bad configuration: {error}", file=sys.stderr)
        return 2
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    if not set_up(processors, log):
        return 1
    worker = Worker(config, processors, log)
    worker.start()
    while True:
        received = signal.sigtimedwait(SIGNALS, 0.5)
        if received is not None:
            break
        if not worker.alive:
            log.critical("the broker I/O thread ended unexpectedly")
            return 1
    log.info("worker shutting down", extra={"signal": signal.Signals(received.si_signo).name, "graceMs": config.shutdown_grace_ms})
    worker.stop()
    if not worker.join(config.shutdown_grace_ms / 1000 + 5):
        log.warning("shutdown outlived the grace period; exiting with work in flight")
        return 1
    for processor in processors:
        try:
            processor.teardown()
        except Exception:
            log.exception("processor teardown failed", extra={"processor": processor.name})
    log.info("worker stopped")
    return 0


def set_up(processors: list[Processor], log: logging.Logger) -> bool:
    """Models load once per process, before the first task, in a thread of their own so that a
    SIGTERM during a long load still ends the process at once."""
    failure: list[BaseException] = []

    def load() -> None:
        for processor in processors:
            began = time.monotonic()
            try:
                processor.setup()
            except BaseException as error:
                log.critical("processor setup failed", exc_info=error, extra={"processor": processor.name})
                failure.append(error)
                return
            log.info("processor ready", extra={"processor": processor.name, "ms": round((time.monotonic() - began) * 1000)})

    thread = threading.Thread(target=load, name="warren-setup", daemon=True)
    thread.start()
    while thread.is_alive():
        received = signal.sigtimedwait(SIGNALS, 0.2)
        if received is not None:
            log.info("worker stopped before it was ready", extra={"signal": signal.Signals(received.si_signo).name})
            sys.stdout.flush()
            os._exit(0)
    return not failure


if __name__ == "__main__":
    code = main(sys.argv[1:])
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

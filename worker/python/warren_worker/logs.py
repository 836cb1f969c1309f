"""Log lines on stdout as the Node worker writes them (pino): one JSON object a line with
``level`` (pino's numbers), ``time`` (ms), ``component``, ``pid``, the record's fields, ``msg``.
Log shippers and the tests read them, so the key lines (``broker ready``, ``worker consuming``…)
are word for word the Node worker's. ``pretty`` is for a person at a terminal.

Fields are the ``extra`` of a logging call (``log.info("task failed", extra={"code": …})``), and a
task's logger adds taskId, processor and attempt to each of its records.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from datetime import datetime
from typing import Any

TRACE = 5
logging.addLevelName(TRACE, "TRACE")
_LEVELS = {"trace": TRACE, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR, "fatal": logging.CRITICAL, "silent": logging.CRITICAL + 10}
_PINO = ((logging.CRITICAL, 60), (logging.ERROR, 50), (logging.WARNING, 40), (logging.INFO, 30), (logging.DEBUG, 20))
#: What every LogRecord has; anything else on a record is a field of the line.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
ROOT = "warren"


def pino_level(levelno: int) -> int:
    return next((pino for python, pino in _PINO if levelno >= python), 10)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        fields["err"] = {"type": type(error).__name__, "message": str(error), "stack": "".join(traceback.format_exception(error)).rstrip()}
    if not record.name.startswith(ROOT):
        # A processor's own logger (or a library's): say whose line it is.
        fields.setdefault("logger", record.name)
    return fields


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self._base = {"component": component, "pid": os.getpid()}

    def format(self, record: logging.LogRecord) -> str:
        line = {"level": pino_level(record.levelno), "time": int(record.created * 1000), **self._base, **fields_of(record), "msg": record.getMessage()}
        return json.dumps(line, default=str, ensure_ascii=False, separators=(",", ":"))


class PrettyFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self._component = component

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        fields = fields_of(record)
        stack = fields.pop("err", {}).get("stack") if "err" in fields else None
        extra = " ".join(f"{k}={json.dumps(v, default=str, ensure_ascii=False)}" for k, v in fields.items())
        text = f"[{at}] {record.levelname:5} {self._component}: {record.getMessage()}{' ' + extra if extra else ''}"
        return f"{text}\n{stack}" if stack else text


def configure(level: str, fmt: str, component: str = "worker") -> logging.Logger:
    """Route every logger (warren's, the processors', the libraries') to stdout in one format, and
    return warren's. pika speaks only from WARNING up: its connection chatter repeats ours."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(component) if fmt == "json" else PrettyFormatter(component))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_LEVELS[level])
    logging.getLogger("pika").setLevel(max(_LEVELS[level], logging.WARNING))
    return logging.getLogger(ROOT)


class _Bindings(logging.Filter):
    """Adds a task's fields to each record logged through its logger; a call's own ``extra`` wins."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__()
        self._fields = fields

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in self._fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def child(parent: logging.Logger, **fields: Any) -> logging.Logger:
    """A real logging.Logger whose records carry ``fields`` (pino's ``logger.child``). Made
    directly, not through logging.getLogger, so it is not registered for ever: a worker runs
    millions of tasks and each gets one."""
    logger = logging.Logger(parent.name)
    logger.parent = parent
    logger.addFilter(_Bindings(fields))
    return logger

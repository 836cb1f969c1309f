"""Every environment variable the Python worker reads, parsed once, as shared/config.ts parses it:
the same names, defaults, bounds and messages, so one environment serves Node and Python workers
alike. A value that is present but wrong raises ConfigError naming the variable (the process exits
2); a message never quotes a URL or a secret.

Variables of the Node worker that concern only its own processors or its deliverers
(PROCESSORS_DIR, OCR_THREADS, MAX_IMAGE_PIXELS, WORKER_MEMORY_BUDGET_MB, WORKER_DELIVERIES,
DELIVERY_*, WEBHOOK_*, FTP_DESTINATIONS, METRICS_*) and the gateway's own are not read here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping

from .destinations import S3Destination, parse_s3_destinations, parse_upload_store
from .errors import ConfigError
from .urls import check_amqp_url, connection_parameters

LOG_LEVELS = ("fatal", "error", "warn", "info", "debug", "trace", "silent")
LOG_FORMATS = ("json", "pretty")
_INTEGER = re.compile(r"^-?[0-9]+$")
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$")
_CONCURRENCY_ENTRY = re.compile(r"^([a-z][a-z0-9_-]{0,63})\s*:\s*(\S+)$")


@dataclass(frozen=True)
class Config:
    """The parsed environment; each field names its variable and default."""

    #: AMQP_URL: broker URLs, comma-separated, tried in turn (default amqp://guest:guest@127.0.0.1:5672).
    amqp_urls: list[str]
    #: AMQP_PREFIX: prefix of every exchange and queue (default warren).
    amqp_prefix: str = "warren"
    #: DATA_DIR: the shared volume, inputs and artifacts (default ./data).
    data_dir: str = os.path.abspath("./data")
    #: LOG_LEVEL (default info) and LOG_FORMAT json | pretty (default json).
    log_level: str = "info"
    log_format: str = "json"
    #: WORKER_PROCESSORS: the processors served, or "all" found in the modules (default all).
    worker_processors: list[str] | str = "all"
    #: WORKER_CONCURRENCY: tasks of one processor run at once, and the cap of every processor's own (default 16).
    worker_concurrency: int = 16
    #: PROCESSOR_CONCURRENCY: `name:n,...`, a processor's prefetch instead of its own `concurrency`.
    processor_concurrency: dict[str, int] = field(default_factory=dict)
    #: PUBLISH_TIMEOUT_MS: how long a publish waits for the broker's confirm (default 5000).
    publish_timeout_ms: int = 5000
    #: TASK_QUEUE_MAX_LENGTH, TASK_QUEUE_TTL_MS, DELIVERY_LIMIT: queue arguments, identical to the Node side's.
    task_queue_max_length: int = 100_000
    task_queue_ttl_ms: int = 86_400_000
    delivery_limit: int = 5
    #: RETRY_DELAYS_MS: backoff tiers before each retry, the last repeating (default 1000,10000,60000,300000).
    retry_delays_ms: list[int] = field(default_factory=lambda: [1000, 10_000, 60_000, 300_000])
    #: TASK_MAX_ATTEMPTS: runs before a transient failure is final (default 3).
    task_max_attempts: int = 3
    #: MAX_RESULT_BYTES: the largest JSON result (default 8 MiB); messages are bounded at this + 1 MiB.
    max_result_bytes: int = 8 * 1024 * 1024
    #: TASK_TIMEOUT_MS: the longest run of a processor that sets no timeout_ms (default 3600000).
    task_timeout_ms: int = 3_600_000
    #: SHUTDOWN_GRACE_MS: how long runs may finish after SIGTERM before they are requeued (default 30000).
    shutdown_grace_ms: int = 30_000
    #: STARTED_REPORT_DELAY_MS: STARTED only for a run still going after this long (default 20; 0: always).
    started_report_delay_ms: int = 20
    #: S3_DESTINATIONS and UPLOAD_STORE: where s3:// inputs are read from (default: volume only).
    s3_destinations: dict[str, S3Destination] = field(default_factory=dict)
    upload_store: S3Destination | None = None


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Parse ``env`` (default os.environ) into a Config, or raise ConfigError naming the variable."""
    env = os.environ if env is None else env

    def read(name: str) -> str | None:
        value = env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    data_dir = os.path.abspath(read("DATA_DIR") or "./data")
    urls = [url.strip() for url in (read("AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672").split(",")]
    for index, url in enumerate(urls):
        check_amqp_url(url, index, len(urls))
        connection_parameters(url, "check")  # a bad ?heartbeat= stops us here, not at connect time

    log_level = read("LOG_LEVEL") or "info"
    if log_level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
    log_format = read("LOG_FORMAT") or "json"
    if log_format not in LOG_FORMATS:
        raise ConfigError("LOG_FORMAT", f"must be one of {', '.join(LOG_FORMATS)}")
    prefix = read("AMQP_PREFIX") or "warren"
    if not _PREFIX.match(prefix):
        raise ConfigError("AMQP_PREFIX", 'must be letters, digits, "_", "." or "-" (at most 101 characters)')

    listed = read("WORKER_PROCESSORS")
    processors: list[str] | str = "all" if listed is None or listed == "all" else [n.strip() for n in listed.split(",") if n.strip()]
    destinations = parse_s3_destinations(read("S3_DESTINATIONS"))
    return Config(
        amqp_urls=urls,
        amqp_prefix=prefix,
        data_dir=data_dir,
        log_level=log_level,
        log_format=log_format,
        worker_processors=processors,
        worker_concurrency=parse_int(env, "WORKER_CONCURRENCY", 16, 1, 10_000),
        processor_concurrency=parse_processor_concurrency(read("PROCESSOR_CONCURRENCY")),
        publish_timeout_ms=parse_int(env, "PUBLISH_TIMEOUT_MS", 5000, 100, 600_000),
        task_queue_max_length=parse_int(env, "TASK_QUEUE_MAX_LENGTH", 100_000, 1, 100_000_000),
        task_queue_ttl_ms=parse_int(env, "TASK_QUEUE_TTL_MS", 86_400_000, 0, 2_147_483_647),
        delivery_limit=parse_int(env, "DELIVERY_LIMIT", 5, 1, 1000),
        retry_delays_ms=parse_int_list(env, "RETRY_DELAYS_MS", [1000, 10_000, 60_000, 300_000], 1, 86_400_000),
        task_max_attempts=parse_int(env, "TASK_MAX_ATTEMPTS", 3, 1, 100),
        max_result_bytes=parse_int(env, "MAX_RESULT_BYTES", 8 * 1024 * 1024, 1024, 120 * 1024 * 1024),
        task_timeout_ms=parse_int(env, "TASK_TIMEOUT_MS", 3_600_000, 100, 86_400_000),
        shutdown_grace_ms=parse_int(env, "SHUTDOWN_GRACE_MS", 30_000, 0, 3_600_000),
        started_report_delay_ms=parse_int(env, "STARTED_REPORT_DELAY_MS", 20, 0, 60_000),
        s3_destinations=destinations,
        upload_store=parse_upload_store(read("UPLOAD_STORE"), destinations),
    )


def parse_int(env: Mapping[str, str], name: str, fallback: int, low: int, high: int) -> int:
    """A whole number within bounds; absent or blank gives the default (config.ts's ``int``)."""
    raw = (env.get(name) or "").strip()
    if raw == "":
        return fallback
    if not _INTEGER.match(raw):
        raise ConfigError(name, f'"{raw}" is not a whole number')
    value = int(raw)
    if value < low or value > high:
        raise ConfigError(name, f"{value} is outside {low}..{high}")
    return value


def parse_int_list(env: Mapping[str, str], name: str, fallback: list[int], low: int, high: int) -> list[int]:
    """Comma-separated whole numbers, as config.ts's ``intList`` reads them (both sides must derive
    the same retry tiers from the same value): an empty entry, a stray comma, stops the process."""
    raw = (env.get(name) or "").strip()
    if raw == "":
        return list(fallback)
    values = []
    for part in raw.split(","):
        if part.strip() == "":
            raise ConfigError(name, f'"{raw}" has an empty entry')
        values.append(parse_int({name: part}, name, 0, low, high))
    return values


def parse_processor_concurrency(raw: str | None) -> dict[str, int]:
    """PROCESSOR_CONCURRENCY, ``document:2,thumbnail:4`` (shared/processor-concurrency.ts)."""
    counts: dict[str, int] = {}
    for entry in (part.strip() for part in (raw or "").split(",")):
        if not entry:
            continue
        match = _CONCURRENCY_ENTRY.match(entry)
        if not match:
            raise ConfigError("PROCESSOR_CONCURRENCY", f'"{entry[:64]}" must be processor:n (e.g. document:2)')
        name, count = match.group(1), match.group(2)
        if name in counts:
            raise ConfigError("PROCESSOR_CONCURRENCY", f"names {name} twice")
        if not re.fullmatch(r"[0-9]+", count) or not 1 <= int(count) <= 10_000:
            raise ConfigError("PROCESSOR_CONCURRENCY", f'{name}: "{count[:16]}" is not a whole number from 1 to 10000')
        counts[name] = int(count)
    return counts

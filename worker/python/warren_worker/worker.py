"""The worker as one object: its connection thread, the revocations watch, the runner and a
thread pool per processor. ``start`` and ``stop`` may be called from the main thread; everything
they set in motion happens on the I/O thread."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from .batching import Batcher
from .config import Config
from .events import Events
from .inputs import InputFetcher, boto3_available
from .link import Link
from .processor import Processor
from .revocations import RevocationWatch
from .runner import Runner
from .task_run import Served
from .topology import build_topology
from .urls import worker_id


class Worker:
    def __init__(self, config: Config, processors: list[Processor], log: logging.Logger) -> None:
        self._config = config
        self.worker_id = worker_id()
        topology = build_topology(
            config.amqp_prefix,
            [p.name for p in processors],
            config.task_queue_max_length,
            config.delivery_limit,
            config.retry_delays_ms,
            config.task_queue_ttl_ms,
        )
        self.link = Link(config.amqp_urls, topology, log, config.publish_timeout_ms / 1000, config.max_result_bytes + 1024 * 1024)
        self.revocations = RevocationWatch(self.link, log, self.worker_id)
        served = []
        for p in processors:
            # Heavy processors take fewer tasks at once than light ones, so their waiting tasks stay
            # in the queue for other workers rather than in this one's memory.
            threads = min(config.worker_concurrency, config.processor_concurrency.get(p.name) or p.concurrency or config.worker_concurrency)
            # A batching processor takes at least a batch's worth, or no batch could ever fill.
            prefetch = max(p.batch["max_size"] if p.batch else 1, threads)
            executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"warren-{p.name}")
            served.append(Served(p, topology.task_queues[p.name], prefetch, executor, p.timeout_ms or config.task_timeout_ms, p.max_attempts or config.task_max_attempts))
        if config.upload_store is not None:
            log.info("uploads live in S3", extra={"uploadStore": config.upload_store.describe()})
            if not boto3_available():
                log.warning("boto3 is not installed: tasks with inputs in S3 will fail (upload_store_unsupported); install Debian's python3-boto3")
        events = Events(self.link.publisher, topology, self.worker_id)
        fetcher = InputFetcher(config.data_dir, config.upload_store)
        self.runner = Runner(self.link, self.revocations, events, served, fetcher, config.data_dir, config.max_result_bytes, config.worker_concurrency, log, self.worker_id, config.started_report_delay_ms)
        for s in served:
            if s.processor.batch:
                s.batcher = Batcher(self.link, s.processor.batch["max_size"], s.processor.batch["max_wait_ms"], self.runner.submit)
        self._thread = threading.Thread(target=self.link.run, name="warren-io", daemon=True)
        self._stopped = threading.Event()

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop intake, drain within SHUTDOWN_GRACE_MS, requeue the rest, close the connection."""
        grace = self._config.shutdown_grace_ms
        self.link.call_threadsafe(lambda: self.runner.stop(grace, then=lambda: self.link.close(then=self._stopped.set)))

    def join(self, timeout_s: float) -> bool:
        """Wait for ``stop`` to finish; False if it did not within ``timeout_s``."""
        return self._stopped.wait(timeout_s)

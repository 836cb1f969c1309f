"""Answers the cross-language checks of test/unit/python-sdk.test.ts: reads a JSON request on
stdin, prints what the Python side makes of it, so the test can hold it against the Node side's
answer for the same input. Not a unittest module (the Node side is the reference)."""

import json
import sys
import uuid

from warren_worker.config import load_config
from warren_worker.contracts import decode_task, encode_result, sync_marker, task_event
from warren_worker.errors import ConfigError, ContractError
from warren_worker.topology import build_topology
from warren_worker.volume import safe_file_name


def config_answer(env: dict) -> dict:
    try:
        c = load_config(env)
    except ConfigError as error:
        return {"error": str(error), "variable": error.variable}
    return {
        "amqpUrls": c.amqp_urls, "amqpPrefix": c.amqp_prefix, "dataDir": c.data_dir, "logLevel": c.log_level, "logFormat": c.log_format,
        "workerProcessors": c.worker_processors, "workerConcurrency": c.worker_concurrency, "processorConcurrency": c.processor_concurrency,
        "publishTimeoutMs": c.publish_timeout_ms, "taskQueueMaxLength": c.task_queue_max_length, "taskQueueTtlMs": c.task_queue_ttl_ms,
        "deliveryLimit": c.delivery_limit, "retryDelaysMs": c.retry_delays_ms, "taskMaxAttempts": c.task_max_attempts,
        "maxResultBytes": c.max_result_bytes, "taskTimeoutMs": c.task_timeout_ms, "shutdownGraceMs": c.shutdown_grace_ms,
        "uploadStore": None if c.upload_store is None else c.upload_store.name,
    }


def topology_answer(options: dict) -> dict:
    t = build_topology(options["prefix"], options["processors"], options["taskQueueMaxLength"], options["deliveryLimit"], options["retryDelaysMs"], options["taskQueueTtlMs"])
    return {
        "exchanges": [{"name": e.name, "type": e.type} for e in t.exchanges],
        "queues": [{"name": q.name, "arguments": q.arguments, "bindings": [list(b) for b in q.bindings]} for q in t.queues],
        "retryTiers": [{"delayMs": r.delay_ms, "exchange": r.exchange} for r in t.retry_tiers],
        "taskQueues": t.task_queues,
    }


def accepts(body: str) -> bool:
    try:
        decode_task(body.encode("utf-8"))
    except ContractError:
        return False
    return True


def events() -> list:
    task = {"task_id": str(uuid.uuid4()), "processor": "echo"}
    made = [
        task_event(task, "STARTED", 1, "h:1"),
        task_event(task, "STARTED", 1, "h:1", progress=0.5, message="half way"),
        task_event(task, "SUCCESS", 2, "h:1", result_json=encode_result({"a": [1, "é"]}, 1024), artifacts=[{"name": "o.txt", "content_type": "text/plain", "size": 1, "location": "volume:artifacts/x/o.txt"}]),
        task_event(task, "RETRY", 1, "h:1", error={"code": "internal_error", "message": "RuntimeError: x"}),
        task_event(task, "FAILURE", 3, "h:1", error={"code": "timed_out", "message": "timed out after 5 ms"}),
    ]
    return [json.loads(body) for _, body in made]


request = json.load(sys.stdin)
json.dump(
    {
        "configs": [config_answer(env) for env in request["configs"]],
        "topologies": [topology_answer(options) for options in request["topologies"]],
        "tasks": [accepts(body) for body in request["tasks"]],
        "names": [safe_file_name(name) for name in request["names"]],
        "events": events(),
        "sync": json.loads(sync_marker(str(uuid.uuid4()), "h:1")),
    },
    sys.stdout,
)

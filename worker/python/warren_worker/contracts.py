"""Message contracts v1 (shared/contracts.ts; docs/asyncapi.json publishes them): validate what
arrives, build what leaves. Unknown extra properties are allowed, so that a newer producer does
not break an older consumer; a breaking change bumps ``version``."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from .errors import ContractError, PermanentError

TASK_MESSAGE_TYPE = "warren.task"
TASK_EVENT_TYPE = "warren.task.event"
REVOCATION_SYNC_TYPE = "warren.revocation.sync"
EVENT_STATUSES = ("STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED")

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_PROCESSOR = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_DATE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T")


def now_iso() -> str:
    """The time as JavaScript's ``toISOString`` writes it (milliseconds, ``Z``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> float:
    """Seconds since the epoch of an ISO 8601 timestamp such as the gateway writes."""
    return datetime.fromisoformat(value).timestamp()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_body(body: bytes) -> Any:
    """JSON as JavaScript's JSON.parse takes it: no NaN or Infinity."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise ContractError("body is not valid JSON") from None


def _is_int(value: Any, minimum: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return isinstance(value, int) and value >= minimum


def _is_time(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _file_ref_problem(path: str, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"{path} must be an object"
    for key in ("name", "content_type", "location"):
        if not isinstance(value.get(key), str):
            return f"{path}/{key} must be a string"
    if not _is_int(value.get("size"), 0):
        return f"{path}/size must be a whole number >= 0"
    return None


def _task_problems(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return ["/ must be an object"]
    problems = []
    if value.get("type") != TASK_MESSAGE_TYPE:
        problems.append(f'/type must be "{TASK_MESSAGE_TYPE}"')
    if value.get("version") != 1 or isinstance(value.get("version"), bool):
        problems.append("/version must be 1")
    if not isinstance(value.get("task_id"), str) or not _UUID.match(value["task_id"]):
        problems.append("/task_id must be a UUID")
    if not isinstance(value.get("processor"), str) or not _PROCESSOR.match(value["processor"]):
        problems.append("/processor must be a processor name")
    if not _is_time(value.get("submitted_at")):
        problems.append("/submitted_at must be an ISO 8601 date-time")
    if not _is_int(value.get("attempt"), 1):
        problems.append("/attempt must be a whole number >= 1")
    task_input = value.get("input")
    if not isinstance(task_input, dict):
        problems.append("/input must be an object")
    else:
        if not isinstance(task_input.get("fields"), dict):
            problems.append("/input/fields must be an object")
        files = task_input.get("files")
        if not isinstance(files, list):
            problems.append("/input/files must be an array")
        else:
            problems.extend(p for i, f in enumerate(files) if (p := _file_ref_problem(f"/input/files/{i}", f)))
    return problems


def decode_task(body: bytes) -> dict[str, Any]:
    """A TaskMessage, or ContractError naming the first problems (the dead letter's reason)."""
    value = _json_body(body)
    problems = _task_problems(value)
    if problems:
        raise ContractError(f"TaskMessage invalid: {'; '.join(problems[:3])}")
    value["attempt"] = int(value["attempt"])
    return value


def decode_revoked(body: bytes) -> tuple[str, str] | None:
    """(task id, at) of a valid REVOKED TaskEvent, None for another valid event; ContractError otherwise."""
    value = _json_body(body)
    valid = (
        isinstance(value, dict)
        and value.get("type") == TASK_EVENT_TYPE
        and value.get("version") == 1
        and all(isinstance(value.get(k), str) and _UUID.match(value[k]) for k in ("event_id", "task_id"))
        and isinstance(value.get("processor"), str)
        and _PROCESSOR.match(value["processor"]) is not None
        and value.get("status") in EVENT_STATUSES
        and _is_int(value.get("attempt"), 1)
        and _is_time(value.get("at"))
    )
    if not valid:
        raise ContractError("TaskEvent invalid")
    return (value["task_id"], value["at"]) if value["status"] == "REVOKED" else None


def decode_sync_marker(body: bytes) -> str:
    """The marker of a RevocationSync message."""
    value = _json_body(body)
    if not isinstance(value, dict) or value.get("type") != REVOCATION_SYNC_TYPE or not isinstance(value.get("marker"), str):
        raise ContractError("RevocationSync invalid")
    return value["marker"]


def encode(value: Any) -> bytes:
    """Compact JSON, as JSON.stringify writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def encode_result(result: Any, max_bytes: int) -> bytes:
    """The result as JSON, checked as worker/runner.ts's ``checkResult`` checks it. Runs in the
    run's thread, so a large result costs that thread, not the connection's; a result that cannot
    be sent fails its task for good rather than failing a publish again on every redelivery."""
    try:
        data = encode(result)
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError) as error:
        raise PermanentError(f"the result is not JSON: {error}", code="result_not_json") from None
    if len(data) > max_bytes:
        raise PermanentError(
            f"the result is {len(data)} bytes of JSON, more than MAX_RESULT_BYTES ({max_bytes}); write large outputs as files with ctx.artifacts",
            code="result_too_large",
        )
    return data


def task_event(task: dict[str, Any], status: str, attempt: int, worker: str, result_json: bytes | None = None, **fields: Any) -> tuple[str, bytes]:
    """(event id, body) of a v1 TaskEvent. ``result_json`` is the result already encoded in the
    run's thread, spliced in rather than encoded twice."""
    event_id = str(uuid.uuid4())
    event = {
        "type": TASK_EVENT_TYPE,
        "version": 1,
        "event_id": event_id,
        "task_id": task["task_id"],
        "processor": task["processor"],
        "at": now_iso(),
        "status": status,
        "attempt": attempt,
        "worker": worker,
        **fields,
    }
    body = encode(event)
    if result_json is not None:
        body = body[:-1] + b',"result":' + result_json + b"}"
    return event_id, body


def sync_marker(marker: str, worker: str) -> bytes:
    """A RevocationSync: read back from the stream, it says every earlier cancel has been seen."""
    return encode({"type": REVOCATION_SYNC_TYPE, "version": 1, "marker": marker, "worker": worker, "at": now_iso()})

"""Messages: what is accepted, what is dead-lettered and why, and what leaves this worker."""

import json
import re
import unittest
import uuid

from warren_worker.contracts import decode_revoked, decode_task, encode_result, now_iso, task_event
from warren_worker.errors import ContractError, PermanentError


def a_task(**changes):
    task = {
        "type": "warren.task",
        "version": 1,
        "task_id": str(uuid.uuid4()),
        "processor": "echo",
        "submitted_at": "2024-05-01T10:00:00.000Z",
        "attempt": 1,
        "input": {"fields": {"item_a": "TV"}, "files": [{"name": "a.txt", "content_type": "text/plain", "size": 3, "location": "volume:uploads/x/0-a.txt"}]},
    }
    task.update(changes)
    return task


def body(value) -> bytes:
    return json.dumps(value).encode()


class TaskMessageTest(unittest.TestCase):
    def test_a_valid_task_is_decoded_with_unknown_properties_kept(self) -> None:
        task = decode_task(body(a_task(extra={"from": "a newer producer"})))
        self.assertEqual(task["processor"], "echo")
        self.assertEqual(task["extra"], {"from": "a newer producer"})

    def test_what_breaks_the_contract_is_named(self) -> None:
        cases = {
            b'{"half": ': "body is not valid JSON",
            b"\xff\xfe": "body is not valid JSON",
            b'{"attempt": NaN}': "body is not valid JSON",
            body([1]): "TaskMessage invalid: / must be an object",
            body(a_task(task_id="nope")): "TaskMessage invalid: /task_id must be a UUID",
            body(a_task(attempt=0)): "TaskMessage invalid: /attempt must be a whole number >= 1",
            body(a_task(attempt=True)): "TaskMessage invalid: /attempt must be a whole number >= 1",
            body(a_task(version=2)): "TaskMessage invalid: /version must be 1",
            body(a_task(processor="Echo")): "TaskMessage invalid: /processor must be a processor name",
            body(a_task(submitted_at="yesterday")): "TaskMessage invalid: /submitted_at must be an ISO 8601 date-time",
            body(a_task(input={"fields": {}, "files": [{"name": "a"}]})): "TaskMessage invalid: /input/files/0/content_type must be a string",
        }
        for raw, reason in cases.items():
            with self.subTest(raw=raw[:40]), self.assertRaises(ContractError) as caught:
                decode_task(raw)
            self.assertEqual(str(caught.exception), reason)

    def test_at_most_three_problems_are_named(self) -> None:
        with self.assertRaises(ContractError) as caught:
            decode_task(body({"type": "warren.task", "version": 1, "task_id": "nope"}))
        self.assertEqual(str(caught.exception).count(";"), 2)

    def test_an_integral_float_attempt_is_a_whole_number(self) -> None:
        self.assertEqual(decode_task(body(a_task(attempt=2.0)))["attempt"], 2)


class EventTest(unittest.TestCase):
    def test_an_event_carries_the_contracts_fields_and_the_result_spliced_in(self) -> None:
        task = a_task()
        event_id, raw = task_event(task, "SUCCESS", 2, "host:1", result_json=encode_result({"ü": [1, None]}, 1024), artifacts=[])
        event = json.loads(raw)
        self.assertEqual(event["event_id"], event_id)
        self.assertEqual({k: event[k] for k in ("type", "version", "task_id", "processor", "status", "attempt", "worker")}, {"type": "warren.task.event", "version": 1, "task_id": task["task_id"], "processor": "echo", "status": "SUCCESS", "attempt": 2, "worker": "host:1"})
        self.assertEqual(event["result"], {"ü": [1, None]})
        self.assertRegex(event["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertNotIn(b" ", raw.replace(b"host:1", b""))

    def test_a_null_result_is_sent_as_null(self) -> None:
        _, raw = task_event(a_task(), "SUCCESS", 1, "w", result_json=encode_result(None, 1024))
        self.assertIsNone(json.loads(raw)["result"])

    def test_now_iso_is_javascripts_format(self) -> None:
        self.assertTrue(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", now_iso()))

    def test_only_a_valid_revoked_event_names_a_cancel(self) -> None:
        task = a_task()
        _, revoked = task_event(task, "REVOKED", 1, "gateway")
        self.assertEqual(decode_revoked(revoked)[0], task["task_id"])
        _, started = task_event(task, "STARTED", 1, "w")
        self.assertIsNone(decode_revoked(started))
        with self.assertRaises(ContractError):
            decode_revoked(body({"type": "warren.task.event", "status": "REVOKED", "task_id": task["task_id"]}))


class ResultTest(unittest.TestCase):
    def test_a_result_over_the_limit_fails_for_good(self) -> None:
        with self.assertRaises(PermanentError) as caught:
            encode_result({"filler": "x" * 2000}, 1024)
        self.assertEqual(caught.exception.code, "result_too_large")
        self.assertIn("MAX_RESULT_BYTES (1024)", str(caught.exception))
        # Measured in UTF-8 bytes, as Buffer.byteLength measures the Node side's.
        self.assertEqual(len(encode_result("é" * 500, 1024)), 1002)
        with self.assertRaises(PermanentError):
            encode_result("é" * 512, 1024)

    def test_a_result_json_cannot_carry_fails_as_not_json(self) -> None:
        circular: list = []
        circular.append(circular)
        for value in ({1, 2}, float("nan"), circular, object(), "\ud800"):
            with self.subTest(value=type(value).__name__), self.assertRaises(PermanentError) as caught:
                encode_result(value, 1 << 20)
            self.assertEqual(caught.exception.code, "result_not_json")


if __name__ == "__main__":
    unittest.main()

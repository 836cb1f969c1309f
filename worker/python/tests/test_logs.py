"""Log lines as the Node worker's (pino): what tests and log shippers read."""

import io
import json
import logging
import os
import unittest

from warren_worker import logs


class LogLineTest(unittest.TestCase):
    def setUp(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logs.JsonFormatter("worker"))
        self.base = logging.getLogger("warren.test-logs")
        self.base.addHandler(self.handler)
        self.base.setLevel(logging.DEBUG)
        self.base.propagate = False

    def tearDown(self) -> None:
        self.base.removeHandler(self.handler)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def test_a_line_is_one_json_object_with_pinos_fields(self) -> None:
        self.base.info("broker ready", extra={"prefix": "warren"})
        [line] = self.lines()
        self.assertEqual({k: line[k] for k in ("level", "component", "pid", "prefix", "msg")}, {"level": 30, "component": "worker", "pid": os.getpid(), "prefix": "warren", "msg": "broker ready"})
        self.assertIsInstance(line["time"], int)
        self.assertEqual(list(line)[-1], "msg")
        self.assertNotIn(": ", self.stream.getvalue().replace("broker ready", ""))

    def test_a_task_logger_is_a_logger_whose_records_carry_the_task(self) -> None:
        task_log = logs.child(self.base, taskId="t-1", processor="echo", attempt=2)
        self.assertIsInstance(task_log, logging.Logger)
        task_log.warning("hello %s", "you", extra={"attempt": 3, "code": "x"})
        task_log.debug("quiet")
        first, second = self.lines()
        self.assertEqual({k: first[k] for k in ("level", "taskId", "processor", "attempt", "code", "msg")}, {"level": 40, "taskId": "t-1", "processor": "echo", "attempt": 3, "code": "x", "msg": "hello you"})
        self.assertEqual((second["level"], second["attempt"]), (20, 2))
        self.assertNotIn(task_log, logging.Logger.manager.loggerDict.values())

    def test_an_exception_is_logged_with_its_type_message_and_stack(self) -> None:
        try:
            raise KeyError("weights.bin")
        except KeyError:
            self.base.exception("setup failed")
        [line] = self.lines()
        self.assertEqual((line["level"], line["err"]["type"], line["err"]["message"]), (50, "KeyError", "'weights.bin'"))
        self.assertIn("Traceback", line["err"]["stack"])

    def test_a_processors_own_logger_is_named(self) -> None:
        self.handler.setFormatter(logs.JsonFormatter("worker"))
        record = logging.LogRecord("mymodel", logging.INFO, "", 0, "loaded", (), None)
        self.assertEqual(json.loads(self.handler.format(record))["logger"], "mymodel")

    def test_pretty_lines_are_for_people(self) -> None:
        self.handler.setFormatter(logs.PrettyFormatter("worker"))
        self.base.info("worker consuming", extra={"processors": ["echo"]})
        self.assertRegex(self.stream.getvalue(), r'^\[\d\d:\d\d:\d\d\.\d{3}\] INFO  worker: worker consuming processors=\["echo"\]\n$')


if __name__ == "__main__":
    unittest.main()

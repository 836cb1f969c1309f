"""Batched inference: one run_batch call for several tasks, each task with its own outcome."""

import logging
import unittest
import uuid

from warren_worker import PermanentError, Processor
from warren_worker.artifacts import ArtifactWriter
from warren_worker.context import Context, ProgressThrottle
from warren_worker.errors import Cancelled
from warren_worker.execution import execute_batch
from warren_worker.inputs import InputFetcher
from warren_worker.processor import check


def task(n: int) -> dict:
    return {"task_id": str(uuid.uuid4()), "processor": "b", "attempt": 1, "input": {"fields": {"n": n}, "files": []}}


def context(max_result_bytes: int = 1024) -> Context:
    throttle = ProgressThrottle(0, lambda _d, callback: callback(), lambda _f, _m: None)
    return Context(str(uuid.uuid4()), 1, max_result_bytes, logging.getLogger("test"), ArtifactWriter("/nonexistent", "t"), throttle)


class Model(Processor):
    name = "b"
    version = "1"
    batch = {"max_size": 4, "max_wait_ms": 10}

    def __init__(self, answer=None) -> None:
        self.calls: list[list[int]] = []
        self.answer = answer

    def run_batch(self, inputs, ctxs):
        self.calls.append([i["fields"]["n"] for i in inputs])
        if self.answer is not None:
            return self.answer(inputs)
        return [PermanentError("odd", code="odd") if i["fields"]["n"] % 2 else {"n": i["fields"]["n"]} for i in inputs]


def run(model: Model, tasks: list, ctxs: list) -> list:
    started: list[bool] = []
    outcomes = execute_batch(model, tasks, ctxs, InputFetcher("/nonexistent", None), lambda: started.append(True))
    assert started == [True]
    return outcomes


class ExecuteBatchTest(unittest.TestCase):
    def test_one_call_answers_each_task_with_its_own_slot(self) -> None:
        model = Model()
        outcomes = run(model, [task(0), task(1), task(2)], [context(), context(), context()])
        self.assertEqual(model.calls, [[0, 1, 2]])
        self.assertEqual(outcomes[0].result_json, b'{"n":0}')
        self.assertIsInstance(outcomes[1].error, PermanentError)
        self.assertEqual(outcomes[2].result_json, b'{"n":2}')

    def test_a_cancelled_task_is_left_out_of_the_call(self) -> None:
        model = Model()
        cancelled = context()
        cancelled._cancel("revoked")
        outcomes = run(model, [task(0), task(2)], [cancelled, context()])
        self.assertEqual(model.calls, [[2]])
        self.assertIsInstance(outcomes[0].error, Cancelled)

    def test_a_raise_or_a_wrong_count_fails_every_task_of_the_call(self) -> None:
        def boom(_inputs):
            raise RuntimeError("GPU fell over")

        outcomes = run(Model(boom), [task(0), task(2)], [context(), context()])
        self.assertEqual([str(o.error) for o in outcomes], ["GPU fell over", "GPU fell over"])
        outcomes = run(Model(lambda inputs: [{}]), [task(0), task(2)], [context(), context()])
        self.assertEqual([str(o.error) for o in outcomes], ["b: run_batch returned 1 results for 2 inputs"] * 2)

    def test_each_result_is_held_to_the_limit_alone(self) -> None:
        outcomes = run(Model(lambda inputs: [{"x": "y" * 2000}, {"x": 1}]), [task(0), task(2)], [context(), context()])
        self.assertEqual(outcomes[0].error.code, "result_too_large")  # type: ignore[union-attr]
        self.assertEqual(outcomes[1].result_json, b'{"x":1}')


class BatchDefinitionTest(unittest.TestCase):
    def test_a_batch_needs_its_sizes_and_run_batch(self) -> None:
        check(Model(), "Model")
        for batch in ({"max_size": 0, "max_wait_ms": 1}, {"max_size": 2}, {"maxSize": 2, "maxWaitMs": 1}, [4, 10]):
            bad = Model()
            bad.batch = batch  # type: ignore[assignment]
            with self.subTest(batch=batch), self.assertRaises(ValueError):
                check(bad, "Model")

        class NoBatchMethod(Processor):
            name = "c"
            version = "1"
            batch = {"max_size": 2, "max_wait_ms": 1}

        with self.assertRaises(ValueError):
            check(NoBatchMethod(), "NoBatchMethod")


if __name__ == "__main__":
    unittest.main()

"""The categorize-torch processor as the Python SDK calls it: setup once, run, run_batch, and
its fields as the gateway's JSON descriptor describes them.

    cd worker/python/examples && PYTHONPATH=..:. /usr/bin/python3 -m unittest categorize_torch.test_processor -v

Until the SDK (worker/python/warren_worker) is merged, a stand-in with its two names this module
uses (Processor, PermanentError with a code) is put in its place; the stand-in is used only when
the package is absent altogether, so a broken SDK still fails here instead of being papered over.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import types
import unittest
from pathlib import Path
from typing import Any
from unittest import mock

import torch

if importlib.util.find_spec("warren_worker") is None:

    class _Processor:
        name = ""
        version = ""

    class _PermanentError(Exception):
        def __init__(self, message: str, code: str | None = None) -> None:
            super().__init__(message)
            self.message = message
            self.code = code or "permanent_error"

    stand_in = types.ModuleType("warren_worker")
    stand_in.Processor = _Processor  # type: ignore[attr-defined]
    stand_in.PermanentError = _PermanentError  # type: ignore[attr-defined]
    sys.modules["warren_worker"] = stand_in

from warren_worker import PermanentError  # noqa: E402

from . import model as model_module  # noqa: E402
from . import processor as processor_module  # noqa: E402
from .processor import CategorizeTorch  # noqa: E402

DESCRIPTOR = Path(__file__).resolve().parents[1] / "processors" / "categorize-torch.json"


class Context:
    """What run and run_batch may use of the SDK's ctx."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.attempt = 1
        self.cancelled = False
        self.log = logging.getLogger(f"test.{task_id}")
        self.progress_reports: list[tuple[float, str | None]] = []

    def progress(self, fraction: float, message: str | None = None) -> None:
        self.progress_reports.append((fraction, message))


def task(**fields: Any) -> dict[str, Any]:
    return {"fields": fields, "files": []}


class CategorizeTorchProcessor(unittest.TestCase):
    processor: CategorizeTorch

    @classmethod
    def setUpClass(cls) -> None:
        cls.processor = CategorizeTorch()
        cls.processor.setup()

    def run_one(self, **fields: Any) -> dict[str, Any]:
        return self.processor.run(task(**fields), Context("t-1"))

    def test_the_original_example_comes_back_as_the_node_categorizer_answers_it(self) -> None:
        result = self.run_one(item_a="Galaxy S23 Ultra 256GB", item_b="Samsung")
        self.assertEqual(result["category"], "Smartphones")
        self.assertGreater(result["confidence"], 0.5)
        self.assertEqual(len(result["alternatives"]), 2)
        self.assertEqual(set(result["alternatives"][0]), {"category", "confidence"})
        self.assertEqual(result["model"]["name"], "categorize-torch")
        self.assertEqual(result["model"]["version"], "1.0.0")
        self.assertTrue(result["model"]["framework"].startswith("pytorch "))
        self.assertGreater(result["model"]["accuracy"], 0.9)
        json.dumps(result)  # an event carries it: it must be plain JSON

    def test_top_chooses_how_many_categories_come_back_and_a_form_string_is_taken(self) -> None:
        self.assertEqual(len(self.run_one(item_a="Kindle Paperwhite", item_b="Amazon", top=5)["alternatives"]), 4)
        self.assertEqual(self.run_one(item_a="Kindle Paperwhite", top="1")["alternatives"], [])
        confidences = [a["confidence"] for a in self.run_one(item_a="Kindle Paperwhite", top=10)["alternatives"]]
        self.assertEqual(confidences, sorted(confidences, reverse=True))

    def test_bad_fields_are_permanent_errors_naming_the_field(self) -> None:
        cases: list[tuple[dict[str, Any], str]] = [
            ({}, "item_a"),
            ({"item_a": "   "}, "item_a"),
            ({"item_a": 42}, "item_a"),
            ({"item_a": "x" * 501}, "item_a"),
            ({"item_a": "TV", "item_b": ["Sony"]}, "item_b"),
            ({"item_a": "TV", "item_b": "b" * 201}, "item_b"),
            ({"item_a": "TV", "top": 0}, "top"),
            ({"item_a": "TV", "top": "eleven"}, "top"),
            ({"item_a": "TV", "top": True}, "top"),
        ]
        for fields, named in cases:
            with self.subTest(fields=str(fields)[:60]):
                with self.assertRaises(PermanentError) as raised:
                    self.run_one(**fields)
                self.assertEqual(raised.exception.code, "invalid_fields")
                self.assertIn(named, str(raised.exception))
        with self.assertRaises(PermanentError):
            self.processor.run({"files": []}, Context("t-2"))

    def test_a_batch_answers_each_task_as_run_would_and_a_bad_task_fails_alone(self) -> None:
        inputs = [
            task(item_a="Galaxy S23 Ultra 256GB", item_b="Samsung"),
            task(item_a=""),
            task(item_a="Samsung 9kg EcoBubble washing machine WW90", item_b="Samsung", top=4),
            task(item_a="MALM bed frame high 160x200 white", item_b="IKEA"),
            task(item_a="TV", top=99),
        ]
        results = self.processor.run_batch(inputs, [Context(f"t-{i}") for i in range(len(inputs))])
        self.assertEqual(len(results), len(inputs))
        for index in (1, 4):
            self.assertIsInstance(results[index], PermanentError)
            self.assertEqual(getattr(results[index], "code"), "invalid_fields")
        for index in (0, 2, 3):
            single = self.processor.run(inputs[index], Context("alone"))
            batched = results[index]
            assert isinstance(batched, dict)
            self.assertEqual(batched["category"], single["category"])
            self.assertEqual([a["category"] for a in batched["alternatives"]], [a["category"] for a in single["alternatives"]])
            self.assertAlmostEqual(batched["confidence"], single["confidence"], delta=1e-4)
        self.assertEqual(len(results[2]["alternatives"]), 3)  # type: ignore[index]

    def test_a_batch_of_only_bad_tasks_fails_each_and_runs_no_forward_pass(self) -> None:
        with mock.patch.object(self.processor.loaded(), "logits", wraps=self.processor.loaded().logits) as forward:
            results = self.processor.run_batch([task(), task(item_a="")], [Context("a"), Context("b")])
        self.assertEqual(len(results), 2)
        self.assertTrue(all(isinstance(r, PermanentError) for r in results))
        forward.assert_not_called()

    def test_the_model_is_loaded_once_per_process_not_per_instance_or_task(self) -> None:
        with mock.patch.object(model_module, "_shared", None), mock.patch.object(torch, "load", wraps=torch.load) as load:
            first, second = CategorizeTorch(), CategorizeTorch()
            first.setup()
            second.setup()
            first.setup()
            for _ in range(5):
                first.run(task(item_a="Sonicare 3100 electric toothbrush", item_b="Philips"), Context("t"))
            second.run_batch([task(item_a="Airfryer 5000 Series XXL")] * 3, [Context("u")] * 3)
            self.assertEqual(load.call_count, 1)
            self.assertIs(first.model, second.model)

    def test_run_before_setup_is_an_error_not_a_silent_load(self) -> None:
        with self.assertRaisesRegex(RuntimeError, "setup"):
            CategorizeTorch().run(task(item_a="TV"), Context("t"))

    def test_the_gateway_descriptor_describes_this_processor(self) -> None:
        descriptor = json.loads(DESCRIPTOR.read_text(encoding="utf-8"))
        self.assertEqual((descriptor["name"], descriptor["version"]), (CategorizeTorch.name, CategorizeTorch.version))
        properties = descriptor["fields"]["properties"]
        self.assertEqual(descriptor["fields"]["required"], ["item_a"])
        self.assertEqual(properties["item_a"]["maxLength"], processor_module.MAX_NAME_LENGTH)
        self.assertEqual(properties["item_b"]["maxLength"], processor_module.MAX_BRAND_LENGTH)
        self.assertEqual((properties["top"]["minimum"], properties["top"]["maximum"], properties["top"]["default"]), (1, processor_module.MAX_TOP, processor_module.DEFAULT_TOP))


if __name__ == "__main__":
    unittest.main()

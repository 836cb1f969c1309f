"""The shipped categorize-torch model (model.pt) and its training script. Needs torch only.

    cd worker/python/examples && /usr/bin/python3 -m unittest categorize_torch.test_model -v
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path
from unittest import mock

import torch

from . import model as model_module
from .dataset import SPLIT_SEED, TEST_FRACTION, load_products, stratified_split
from .evaluation import evaluate
from .model import CategoryModel, shared_model

EXAMPLES = Path(__file__).resolve().parents[1]
# What train.py printed for the committed model.pt (README, "A PyTorch model"). A retrained
# model that falls more than a point and a half below it fails here, whatever it records itself.
README_ACCURACY = 0.928
MARGIN = 0.015


class ShippedModel(unittest.TestCase):
    model: CategoryModel

    @classmethod
    def setUpClass(cls) -> None:
        cls.model = shared_model()
        _, cls.held_out = stratified_split(load_products(), TEST_FRACTION, SPLIT_SEED)

    def test_the_original_example_is_a_smartphone(self) -> None:
        # The original system's example. This very row is among the training rows, so it shows
        # the model serves what it learnt; the held-out test below is what shows it generalises.
        result = self.model.classify("Galaxy S23 Ultra 256GB", "Samsung")
        self.assertEqual(result.category, "Smartphones")
        self.assertGreater(result.confidence, 0.5)
        self.assertEqual(self.model.classify("Galaxy S23 Ultra 256GB").category, "Smartphones")

    def test_titles_in_no_split_with_a_brand_that_sells_in_several_categories(self) -> None:
        # None of these is in the dataset (the Node categorizer's test list); pairs share a brand,
        # so the title has to decide.
        cases = [
            ('Samsung 55" Crystal UHD 4K Smart TV UE55CU8000', "Samsung", "Televisions"),
            ("Samsung 9kg EcoBubble washing machine WW90", "Samsung", "Home Appliances"),
            ("Alpha 7C mirrorless camera body", "Sony", "Cameras"),
            ("PlayStation 5 Digital Edition", "Sony", "Toys & Games"),
            ("WH-CH720N wireless noise cancelling headphones", "Sony", "Audio & Headphones"),
            ("Sonicare 3100 electric toothbrush", "Philips", "Beauty & Personal Care"),
            ("Airfryer 5000 Series XXL", "Philips", "Kitchen"),
            ("Air Zoom Pegasus 39 running shoes", "Nike", "Footwear"),
            ("Dri-FIT Miler running t-shirt", "Nike", "Clothing"),
            ("MacBook Air 15-inch M3 16GB 512GB", "Apple", "Computers & Tablets"),
            ("Aerotwin wiper blade 24 inch", "Bosch", "Automotive"),
            ("Harry Potter and the Chamber of Secrets paperback", "Bloomsbury", "Books"),
            ("Crema e Aroma coffee beans 1kg", "Lavazza", "Grocery"),
            ("MALM bed frame high 160x200 white", "IKEA", "Furniture"),
            ("Forerunner 965 GPS running watch", "Garmin", "Sports & Outdoors"),
        ]
        known = {row.name.lower() for row in load_products()}
        for name, brand, expected in cases:
            with self.subTest(name=name):
                self.assertNotIn(name.lower(), known)
                self.assertEqual(self.model.classify(name, brand).category, expected)

    def test_held_out_accuracy_and_calibration_are_what_training_reported(self) -> None:
        report = evaluate(self.model, self.held_out)
        self.assertEqual(report.rows, 361)
        self.assertGreaterEqual(report.accuracy, README_ACCURACY - MARGIN)
        # The file's float16 weights may move a borderline row, not more.
        self.assertGreaterEqual(report.accuracy, self.model.info["accuracy"] - 0.005)
        self.assertLessEqual(report.calibration_error, self.model.info["calibration_error"] + 0.01)
        self.assertLess(report.calibration_error, 0.05)

    def test_a_batch_gives_what_one_title_at_a_time_gives(self) -> None:
        pairs = [(row.name, row.brand) for row in self.held_out[:48]]
        batched = self.model.classify_batch(pairs)
        backwards = self.model.classify_batch(pairs[::-1])[::-1]
        self.assertEqual(len(batched), len(pairs))
        for pair, together, reversed_, alone in zip(pairs, batched, backwards, (self.model.classify(*p) for p in pairs)):
            with self.subTest(title=pair[0]):
                self.assertEqual(together.category, alone.category)
                self.assertEqual(reversed_.category, alone.category)
                self.assertAlmostEqual(together.confidence, alone.confidence, places=5)
                self.assertEqual([c for c, _ in together.ranked], [c for c, _ in alone.ranked])
        self.assertEqual(self.model.classify_batch([]), [])

    def test_every_category_is_ranked_once_and_the_probabilities_sum_to_one(self) -> None:
        result = self.model.classify("Hario V60 ceramic coffee dripper", "")
        self.assertEqual(sorted(c for c, _ in result.ranked), sorted(self.model.categories))
        self.assertAlmostEqual(sum(p for _, p in result.ranked), 1.0, places=4)
        self.assertEqual([p for _, p in result.ranked], sorted((p for _, p in result.ranked), reverse=True))

    def test_a_title_with_no_known_feature_still_gets_an_answer(self) -> None:
        result = self.model.classify("qqqqzzzz", None)
        self.assertIn(result.category, self.model.categories)
        # Nothing to go on: near the prior (1/16 each), not a confident guess.
        self.assertLess(result.confidence, 0.3)


class Loading(unittest.TestCase):
    def test_the_weights_are_read_once_per_process_however_many_threads_ask(self) -> None:
        with mock.patch.object(model_module, "_shared", None), mock.patch.object(torch, "load", wraps=torch.load) as load:
            models: list[CategoryModel] = []
            threads = [threading.Thread(target=lambda: models.append(shared_model())) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            models.append(shared_model())
            self.assertEqual(load.call_count, 1)
            self.assertTrue(all(m is models[0] for m in models))

    def test_a_file_of_another_format_is_refused(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "other.pt"
            torch.save({"meta": '{"format": "something-else/1"}', "state_dict": {}}, path)
            with self.assertRaisesRegex(ValueError, "expected format"):
                CategoryModel.load(path)


class Training(unittest.TestCase):
    def test_retraining_reproduces_the_shipped_accuracy_within_a_point(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "model.pt"
            done = subprocess.run([sys.executable, "-m", "categorize_torch.train", "--out", str(out)], cwd=EXAMPLES, capture_output=True, text=True, timeout=240)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("held-out rows sharing >= 80% of their words with a training row: 0", done.stdout)
            printed = re.search(r"held-out accuracy: ([\d.]+)% \((\d+)/361\)", done.stdout)
            self.assertIsNotNone(printed, done.stdout)
            assert printed is not None
            shipped = shared_model().info["accuracy"]
            self.assertAlmostEqual(float(printed.group(1)) / 100, shipped, delta=0.01)
            retrained = CategoryModel.load(out)
            self.assertAlmostEqual(retrained.info["accuracy"], shipped, delta=0.01)
            self.assertEqual(retrained.classify("Galaxy S23 Ultra 256GB", "Samsung").category, "Smartphones")
            self.assertLess(out.stat().st_size, 2 * 1024 * 1024)


if __name__ == "__main__":
    unittest.main()

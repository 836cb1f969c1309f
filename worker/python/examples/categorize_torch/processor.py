"""categorize-torch served by the Python worker SDK: a product title (item_a) and brand (item_b)
in, the shop category out with a confidence and the runners-up — the built-in `categorize`'s
fields and result, from a PyTorch model. Start it with (from the repository root):

    PYTHONPATH=worker/python:worker/python/examples /usr/bin/python3 -m warren_worker categorize_torch.processor

and describe it to gateways with examples/processors/categorize-torch.json in PROCESSORS_DIR.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, cast

import torch
from warren_worker import PermanentError, Processor

from .model import CategoryModel, Classification, shared_model

# The same limits as the JSON descriptor: a task published to the queue without the gateway
# (another system, an old message) is held to them too.
MAX_NAME_LENGTH = 500
MAX_BRAND_LENGTH = 200
DEFAULT_TOP = 3
MAX_TOP = 10

log = logging.getLogger(__name__)


def parse_fields(input: dict[str, Any]) -> tuple[str, str | None, int]:  # noqa: A002 - the SDK's name
    """(title, brand, top) of a task, or a PermanentError: bad input never improves on a retry."""
    fields = input.get("fields") if isinstance(input, dict) else None
    if not isinstance(fields, dict):
        raise PermanentError("the task has no fields", code="invalid_fields")
    name = fields.get("item_a")
    if not isinstance(name, str) or not name.strip():
        raise PermanentError("item_a must name a product", code="invalid_fields")
    if len(name) > MAX_NAME_LENGTH:
        raise PermanentError(f"item_a is longer than {MAX_NAME_LENGTH} characters", code="invalid_fields")
    brand = fields.get("item_b")
    if brand is not None and not isinstance(brand, str):
        raise PermanentError("item_b must be a brand name", code="invalid_fields")
    if brand is not None and len(brand) > MAX_BRAND_LENGTH:
        raise PermanentError(f"item_b is longer than {MAX_BRAND_LENGTH} characters", code="invalid_fields")
    return name, brand or None, requested_top(fields.get("top"))


def requested_top(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_TOP
    # A form sends "3"; the gateway converts it by the descriptor, a direct publisher may not.
    top = int(value) if isinstance(value, str) and value.strip().isdigit() else value
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise PermanentError(f"top must be an integer from 1 to {MAX_TOP}", code="invalid_fields")
    return top


def rounded(probability: float) -> float:
    """Four decimals, rounded down (as the Node categorizer does): the returned confidences then
    never sum past 1 and keep the model's order."""
    return math.floor(probability * 10_000) / 10_000


class CategorizeTorch(Processor):
    name = "categorize-torch"
    version = "1.0.0"
    # Two tasks at once on a 2-core box; each is a few milliseconds of one-thread inference.
    concurrency = 2
    # Tasks that arrive within 20 ms of each other share one forward pass (up to 16 titles); see
    # the README for what a batch of 16 costs against 16 single calls.
    batch = {"max_size": 16, "max_wait_ms": 20}

    model: CategoryModel | None = None

    def setup(self) -> None:
        # One intra-op thread: a forward pass over a few hundred features gains nothing from
        # more, and with concurrency 2 a team of threads per task would fight for the cores.
        # This is process-wide, which suits a worker process that serves this model.
        torch.set_num_threads(1)
        self.model = shared_model()
        log.info("categorize-torch model loaded: %d features, %d categories, trained %s, held-out accuracy %s", len(self.model.vocabulary), len(self.model.categories), self.model.info.get("trained_at"), self.model.info.get("accuracy"))

    def run(self, input: dict[str, Any], ctx: Any) -> dict[str, Any]:  # noqa: A002
        name, brand, top = parse_fields(input)
        return self.result(self.loaded().classify(name, brand), top)

    def run_batch(self, inputs: Sequence[dict[str, Any]], ctxs: Sequence[Any]) -> list[dict[str, Any] | Exception]:
        """One slot per task: a task with bad fields gets its PermanentError and fails alone; the
        others are classified together in one forward pass. Cancellation is left to the runner
        (it drops a cancelled task's result): a batch is over in milliseconds."""
        slots: list[dict[str, Any] | Exception | None] = [None] * len(inputs)
        valid: list[tuple[int, str, str | None, int]] = []
        for index, task_input in enumerate(inputs):
            try:
                name, brand, top = parse_fields(task_input)
            except PermanentError as error:
                slots[index] = error
            else:
                valid.append((index, name, brand, top))
        classified = self.loaded().classify_batch([(name, brand) for _, name, brand, _ in valid])
        for (index, _, _, top), classification in zip(valid, classified):
            slots[index] = self.result(classification, top)
        # Every slot is filled by now: an error above, or a result here.
        return cast("list[dict[str, Any] | Exception]", slots)

    def loaded(self) -> CategoryModel:
        if self.model is None:
            raise RuntimeError("categorize-torch: setup() must run before run()")
        return self.model

    def result(self, classification: Classification, top: int) -> dict[str, Any]:
        ranked = [{"category": category, "confidence": rounded(p)} for category, p in classification.ranked[:top]]
        info = self.loaded().info
        return {
            "category": ranked[0]["category"],
            "confidence": ranked[0]["confidence"],
            "alternatives": ranked[1:],
            "model": {
                "name": self.name,
                "version": self.version,
                "framework": f"pytorch {torch.__version__}",
                "trained_at": info.get("trained_at"),
                "accuracy": info.get("accuracy"),
            },
        }

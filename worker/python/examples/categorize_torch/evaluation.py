"""How good a model is on rows it never saw: accuracy, log-loss, expected calibration error (the
same ten-bin definition as the Node categorizer's train.ts), per-class recall and precision, and
the commonest confusions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .dataset import Product
from .model import CategoryModel


@dataclass
class ClassReport:
    category: str
    support: int = 0
    right: int = 0
    predicted: int = 0

    @property
    def recall(self) -> float:
        return self.right / self.support if self.support else 0.0

    @property
    def precision(self) -> float:
        return self.right / self.predicted if self.predicted else 0.0


@dataclass
class Evaluation:
    rows: int
    correct: int
    log_loss: float
    # Over ten confidence bins: how far "80% sure" is from being right 80% of the time.
    calibration_error: float
    per_class: list[ClassReport]
    # (actual, predicted) -> examples, most frequent first.
    confusions: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.rows if self.rows else 0.0


def evaluate(model: CategoryModel, rows: Sequence[Product], temperature: float | None = None) -> Evaluation:
    probabilities = model.probabilities([(row.name, row.brand) for row in rows], temperature)
    confidence, predicted = probabilities.max(dim=1)
    reports = {category: ClassReport(category) for category in model.categories}
    bins = [[0, 0.0, 0] for _ in range(10)]  # rows, summed confidence, right
    confusions: dict[tuple[str, str], list[str]] = {}
    correct = 0
    log_loss = 0.0
    for row, p, best, k in zip(rows, probabilities, confidence.tolist(), predicted.tolist()):
        guess = model.categories[k]
        right = guess == row.category
        actual = model.categories.index(row.category) if row.category in reports else -1
        log_loss -= math.log(max(float(p[actual]) if actual >= 0 else 0.0, 1e-12))
        bin_ = bins[min(9, int(best * 10))]
        bin_[0] += 1
        bin_[1] += best
        bin_[2] += int(right)
        report = reports.setdefault(row.category, ClassReport(row.category))
        report.support += 1
        reports[guess].predicted += 1
        if right:
            correct += 1
            report.right += 1
        else:
            confusions.setdefault((row.category, guess), []).append(f"{row.name} [{row.brand}]" if row.brand else row.name)
    n = len(rows)
    return Evaluation(
        rows=n,
        correct=correct,
        log_loss=log_loss / n if n else 0.0,
        calibration_error=sum(abs(conf - right) for _, conf, right in bins) / n if n else 0.0,
        per_class=list(reports.values()),
        confusions=sorted(((a, p, ex) for (a, p), ex in confusions.items()), key=lambda c: (-len(c[2]), c[0])),
    )


def fit_temperature(model: CategoryModel, rows: Sequence[Product]) -> float:
    """The softmax temperature that minimises log-loss on rows the model did not train on (the
    grid train.ts searches): one parameter, so it fixes over- or under-confidence without
    changing any prediction."""
    logits = model.logits([(row.name, row.brand) for row in rows])
    labels = torch.tensor([model.categories.index(row.category) for row in rows])
    best = (1.0, math.inf)
    for step in range(57):  # 0.20, 0.25, ... 3.00
        temperature = round(0.2 + 0.05 * step, 2)
        loss = float(torch.nn.functional.cross_entropy(logits / temperature, labels))
        if loss < best[1]:
            best = (temperature, loss)
    return best[0]

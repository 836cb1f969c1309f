"""Trains the categorize-torch model on the repo's categorize dataset and writes model.pt.

    cd worker/python/examples && /usr/bin/python3 -m categorize_torch.train

Deterministic: one seed drives the split (the Node model's split, row for row), the initial
weights, the batch order and every dropout; training runs on one thread with deterministic ops.
The shipped model learns from the training rows only, so the accuracy it records (and the tests
re-measure) is that of the very file being served.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from .dataset import SPLIT_SEED, TEST_FRACTION, Product, load_products, nearest_word_overlap, stratified_split
from .evaluation import evaluate, fit_temperature
from .features import GroupWeights, extract
from .model import MODEL_PATH, CategoryModel, TitleClassifier


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 20240611
    dim: int = 32
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 0.01
    # Word bigrams and character n-grams in fewer training rows only memorise one product, and
    # there are tens of thousands of them: without this the file would be three times the size.
    # Words, number shapes and brands are kept from a single row: a word seen once is still
    # evidence for a title that shares it (worth three points of validation accuracy here).
    min_rows_ngrams: int = 2
    # Share of visits that hide the brand, so the title must carry the decision (Samsung sells
    # phones and washing machines) and an empty item_b still works.
    brand_dropout: float = 0.3
    # Share of a title's features hidden per visit: no single n-gram may become the whole answer.
    feature_dropout: float = 0.1
    hidden_dropout: float = 0.2
    init_std: float = 0.1
    weight_decay: float = 0.0


def build_vocabulary(rows: Sequence[Product], weights: GroupWeights, min_rows_ngrams: int) -> dict[str, int]:
    """The features the model gets a row of weights for, numbered in order of first appearance
    (the same on every run)."""
    counts: dict[str, int] = {}
    for row in rows:
        for feature, _ in extract(row.name, row.brand, weights):
            counts[feature] = counts.get(feature, 0) + 1
    kept = [feature for feature, count in counts.items() if count >= min_rows_ngrams or not feature.startswith(("b:", "c:"))]
    return {feature: index for index, feature in enumerate(kept)}


def train(rows: Sequence[Product], config: TrainConfig, categories: list[str], temperature: float = 1.0) -> CategoryModel:
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    group_weights = GroupWeights()
    vocabulary = build_vocabulary(rows, group_weights, config.min_rows_ngrams)
    encoded: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    for row in rows:
        pairs = [(vocabulary[f], w, f.startswith("brand:")) for f, w in extract(row.name, row.brand, group_weights) if f in vocabulary]
        encoded.append((torch.tensor([p[0] for p in pairs], dtype=torch.long), torch.tensor([p[1] for p in pairs]), torch.tensor([p[2] for p in pairs], dtype=torch.bool)))
    labels = torch.tensor([categories.index(row.category) for row in rows])

    module = TitleClassifier(len(vocabulary), config.dim, len(categories), config.hidden_dropout, config.init_std)
    optimiser = torch.optim.AdamW(module.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    module.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(rows), generator=generator).tolist()
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            ids = torch.cat([encoded[i][0] for i in batch])
            weights = torch.cat([encoded[i][1] for i in batch])
            is_brand = torch.cat([encoded[i][2] for i in batch])
            lengths = torch.tensor([len(encoded[i][0]) for i in batch])
            offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
            # A hidden feature contributes nothing this visit; the brand has its own, higher rate.
            drop = torch.where(is_brand, torch.full_like(weights, config.brand_dropout), torch.full_like(weights, config.feature_dropout))
            keep = torch.rand(weights.shape, generator=generator) >= drop
            loss = torch.nn.functional.cross_entropy(module(ids, offsets, weights * keep), labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return CategoryModel(module.eval(), vocabulary, categories, group_weights, temperature, {})


def percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help=f"where to write the model (default {MODEL_PATH.name} beside this file)")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed, help="seed of weights, batch order and dropout (the split keeps train.ts's)")
    args = parser.parse_args()
    config = TrainConfig(seed=args.seed)
    # One thread: results do not depend on how many cores the machine has, and other work on a
    # shared box keeps its cores. The model is small enough that a second thread gains little.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    started = time.perf_counter()

    rows = load_products()
    categories = sorted({row.category for row in rows})
    train_rows, test_rows = stratified_split(rows, TEST_FRACTION, SPLIT_SEED)
    print(f"dataset: {len(rows)} products, {len(categories)} categories; split {len(train_rows)} train / {len(test_rows)} held out (stratified, seed {SPLIT_SEED}, the Node categorizer's split)")
    overlaps = nearest_word_overlap(test_rows, train_rows)
    print(f"held-out rows sharing >= 80% of their words with a training row: {sum(o >= 0.8 for o in overlaps)} (highest overlap {max(overlaps):.2f})")

    # The temperature is fitted on a validation slice of the training rows, so the held-out rows
    # judge the calibration as well as the accuracy.
    fit_rows, validation_rows = stratified_split(train_rows, TEST_FRACTION, SPLIT_SEED + 1)
    temperature = fit_temperature(train(fit_rows, config, categories), validation_rows)
    model = train(train_rows, config, categories, temperature)
    report = evaluate(model, test_rows)
    print(f"held-out accuracy: {percent(report.accuracy)} ({report.correct}/{report.rows})")
    print(f"held-out log-loss {report.log_loss:.3f}, expected calibration error {report.calibration_error:.3f} (softmax temperature {temperature})")
    print("\nper class:                 recall  precision  support")
    for c in report.per_class:
        print(f"  {c.category:<24} {percent(c.recall):>6}  {percent(c.precision):>9}  {c.support:>7}")
    print("\nmost common confusions (actual -> predicted):")
    for actual, predicted, examples in report.confusions[:8]:
        print(f"  {len(examples)} x {actual} -> {predicted}: {'; '.join(examples[:3])}")

    model.info = {
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "accuracy": round(report.accuracy, 4),
        "calibration_error": round(report.calibration_error, 4),
        "log_loss": round(report.log_loss, 4),
        "training_rows": len(train_rows),
        "held_out_rows": len(test_rows),
        "split": {"seed": SPLIT_SEED, "test_fraction": TEST_FRACTION},
        "train_config": asdict(config),
        "torch": torch.__version__,
    }
    size = model.save(args.out)
    parameters = sum(p.numel() for p in model.module.parameters())
    print(f"\nwrote {args.out}: {len(model.vocabulary)} features x {config.dim} dims, {parameters} parameters, {size / 1024:.0f} KiB; trained in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()

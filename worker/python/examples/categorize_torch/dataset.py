"""The categorize dataset (worker/processors/categorize/data/products.csv) read as the Node
categorizer reads it (worker/processors/categorize/dataset.ts): the same de-duplication, the same
seeded PRNG and the same stratified split, so this model is judged on exactly the rows the Node
model is judged on and the two accuracies can be compared."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .features import tokenize

DATASET_PATH = Path(__file__).resolve().parents[3] / "processors" / "categorize" / "data" / "products.csv"
# train.ts's seed and held-out fraction: the split must match the Node model's row for row.
SPLIT_SEED = 20240611
TEST_FRACTION = 0.2

_U32 = 0xFFFFFFFF


@dataclass(frozen=True)
class Product:
    name: str
    brand: str
    category: str


def product_key(name: str) -> str:
    """Names that differ only in case, accents or punctuation are one product."""
    return " ".join(tokenize(name))


def load_products(path: Path = DATASET_PATH) -> list[Product]:
    """Rows of a name,brand,category CSV; a later row naming the same product is dropped."""
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        columns = {column.strip().lower(): column for column in reader.fieldnames or []}
        for needed in ("name", "brand", "category"):
            if needed not in columns:
                raise ValueError(f"dataset: missing column {needed!r} (have {', '.join(columns)})")
        seen: set[str] = set()
        rows: list[Product] = []
        for line, record in enumerate(reader, start=2):
            row = Product(*((record[columns[c]] or "").strip() for c in ("name", "brand", "category")))
            if not row.name and not row.category and not row.brand:
                continue
            if not row.name or not row.category:
                raise ValueError(f"dataset: row {line} needs a name and a category")
            key = product_key(row.name)
            if key in seen:
                continue
            seen.add(key)
            rows.append(row)
    return rows


def seeded_random(seed: int) -> Callable[[], float]:
    """mulberry32 in unsigned 32-bit arithmetic: the same stream as dataset.ts's seededRandom."""
    state = seed & _U32

    def imul(a: int, b: int) -> int:
        return (a * b) & _U32

    def next_float() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & _U32
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & _U32
        return ((t ^ (t >> 14)) & _U32) / 4294967296

    return next_float


def shuffle(items: Sequence[Product], random: Callable[[], float]) -> list[Product]:
    shuffled = list(items)
    for i in range(len(shuffled) - 1, 0, -1):
        j = int(random() * (i + 1))
        shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
    return shuffled


def stratified_split(rows: Sequence[Product], test_fraction: float, seed: int) -> tuple[list[Product], list[Product]]:
    """The same share of every category held out, so a small class is tested and trained alike."""
    random = seeded_random(seed)
    by_category: dict[str, list[Product]] = {}
    for row in rows:
        by_category.setdefault(row.category, []).append(row)
    train: list[Product] = []
    test: list[Product] = []
    for category in sorted(by_category):
        shuffled = shuffle(by_category[category], random)
        # Math.round, not Python's round-half-to-even: a class of 105 rows must hold out 21 in both.
        count = int(len(shuffled) * test_fraction + 0.5)
        test.extend(shuffled[:count])
        train.extend(shuffled[count:])
    return train, test


def nearest_word_overlap(rows: Sequence[Product], reference: Sequence[Product]) -> list[float]:
    """Each row's highest word overlap (Jaccard) with any reference row: at 0.8 or more a held-out
    row is a near-copy of a training row and would flatter the accuracy."""
    reference_words = [set(tokenize(row.name)) for row in reference]
    overlaps: list[float] = []
    for row in rows:
        words = set(tokenize(row.name))
        best = 0.0
        for other in reference_words:
            shared = len(words & other)
            union = len(words) + len(other) - shared
            if union:
                best = max(best, shared / union)
        overlaps.append(best)
    return overlaps

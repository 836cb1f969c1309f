"""The categorize-torch model: a bag of text features (see features.py) summed through an
embedding, one hidden ReLU layer, and a linear layer to the 16 shop categories. Loaded once per
process; classifies one (title, brand) pair or a batch of them in one forward pass."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .features import GroupWeights, extract

MODEL_PATH = Path(__file__).with_name("model.pt")
FORMAT = "warren-categorize-torch/1"


class TitleClassifier(nn.Module):
    """EmbeddingBag(sum) -> +bias -> ReLU -> dropout -> Linear. The bag turns any number of sparse
    features into one dense vector in a single op (no padding), which is what makes a batch of 16
    titles one cheap forward pass. The hidden layer can combine features ("galaxy" with "tab"
    against "galaxy" with "ultra"), which the Node model's logistic regression cannot; on the
    validation rows it measured within noise of a purely linear bag (89.0% against 88.4%)."""

    def __init__(self, vocabulary_size: int, dim: int, classes: int, dropout: float = 0.0, init_std: float = 0.1) -> None:
        super().__init__()
        self.bag = nn.EmbeddingBag(vocabulary_size, dim, mode="sum")
        # PyTorch starts embeddings at N(0, 1): a feature seen in one or two rows gets few updates and
        # would keep a large random vector, i.e. noise in every title that contains it.
        nn.init.normal_(self.bag.weight, std=init_std)
        self.hidden_bias = nn.Parameter(torch.zeros(dim))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(dim, classes)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.bag(ids, offsets, per_sample_weights=weights) + self.hidden_bias)
        return self.out(self.dropout(hidden))


@dataclass(frozen=True)
class Encoded:
    """A batch in EmbeddingBag's flat form: every row's feature ids end to end, where each starts."""

    ids: torch.Tensor
    offsets: torch.Tensor
    weights: torch.Tensor


def encode(vocabulary: dict[str, int], group_weights: GroupWeights, pairs: Sequence[tuple[str, str | None]]) -> Encoded:
    """Features unseen in training are dropped: they have no learned weights to contribute."""
    ids: list[int] = []
    weights: list[float] = []
    offsets: list[int] = []
    for name, brand in pairs:
        offsets.append(len(ids))
        for feature, weight in extract(name, brand, group_weights):
            index = vocabulary.get(feature)
            if index is not None:
                ids.append(index)
                weights.append(weight)
    return Encoded(torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long), torch.tensor(weights, dtype=torch.float32))


@dataclass(frozen=True)
class Classification:
    category: str
    confidence: float
    # Every category with its probability, most likely first (the first is `category`).
    ranked: list[tuple[str, float]]


class CategoryModel:
    """A trained TitleClassifier with what it needs to read text: vocabulary, categories, the
    feature group weights and the softmax temperature fitted on validation rows."""

    def __init__(self, module: TitleClassifier, vocabulary: dict[str, int], categories: list[str], group_weights: GroupWeights, temperature: float, info: dict[str, Any]) -> None:
        self.module = module.eval()
        self.vocabulary = vocabulary
        self.categories = categories
        self.group_weights = group_weights
        self.temperature = temperature
        self.info = info

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> CategoryModel:
        # weights_only: the file may hold tensors, strings and whole numbers only, so loading it
        # runs no pickled code even if someone swaps the file.
        saved = torch.load(path, map_location="cpu", weights_only=True)
        meta = json.loads(saved["meta"])
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: expected format {FORMAT}, got {meta.get('format')!r}")
        module = TitleClassifier(len(meta["vocabulary"]), meta["dim"], len(meta["categories"]))
        # Stored as float16 to halve the file; computed in float32.
        module.load_state_dict({key: value.float() for key, value in saved["state_dict"].items()})
        vocabulary = {feature: index for index, feature in enumerate(meta["vocabulary"])}
        return cls(module, vocabulary, meta["categories"], GroupWeights(**meta["group_weights"]), float(meta["temperature"]), meta["info"])

    def save(self, path: Path) -> int:
        """Writes the model; returns its size in bytes."""
        meta = {
            "format": FORMAT,
            "categories": self.categories,
            "dim": self.module.bag.embedding_dim,
            "temperature": self.temperature,
            "group_weights": vars(self.group_weights),
            "info": self.info,
            "vocabulary": sorted(self.vocabulary, key=self.vocabulary.__getitem__),
        }
        # Everything but the tensors as one JSON string: torch 1.13's weights_only loader refuses
        # pickled floats, and JSON can be read without torch (`unzip -p model.pt '*/data.pkl'`).
        state = {key: value.detach().half() for key, value in self.module.state_dict().items()}
        torch.save({"meta": json.dumps(meta, separators=(",", ":")), "state_dict": state}, path)
        return path.stat().st_size

    def logits(self, pairs: Sequence[tuple[str, str | None]]) -> torch.Tensor:
        batch = encode(self.vocabulary, self.group_weights, pairs)
        with torch.inference_mode():
            return self.module(batch.ids, batch.offsets, batch.weights)

    def probabilities(self, pairs: Sequence[tuple[str, str | None]], temperature: float | None = None) -> torch.Tensor:
        return torch.softmax(self.logits(pairs) / (self.temperature if temperature is None else temperature), dim=1)

    def classify_batch(self, pairs: Sequence[tuple[str, str | None]]) -> list[Classification]:
        """One forward pass for the whole batch; an empty batch is an empty list."""
        if not pairs:
            return []
        # One sort and one conversion for the whole batch: per-row tensor calls would cost more
        # than the forward pass.
        values, order = torch.sort(self.probabilities(pairs), dim=1, descending=True)
        results: list[Classification] = []
        for row_values, row_order in zip(values.tolist(), order.tolist()):
            ranked = [(self.categories[k], p) for k, p in zip(row_order, row_values)]
            results.append(Classification(ranked[0][0], ranked[0][1], ranked))
        return results

    def classify(self, name: str, brand: str | None = None) -> Classification:
        return self.classify_batch([(name, brand)])[0]


_shared: CategoryModel | None = None
_shared_lock = threading.Lock()


def shared_model() -> CategoryModel:
    """The process's one copy of the model: loaded on first use, then reused by every task and
    every processor instance. The lock keeps two threads that start at once from loading twice."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = CategoryModel.load(MODEL_PATH)
        return _shared

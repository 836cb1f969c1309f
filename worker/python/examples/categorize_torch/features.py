"""Text features of a product: the Node categorizer's (worker/processors/categorize/model.ts),
so the two models differ in what learns from the features, not in what they see."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_COMBINING = re.compile("[\u0300-\u036f]")
_WORD = re.compile("[a-z0-9]+")
_DIGITS = re.compile(r"\d+")
_LETTER = re.compile("[a-z]")
CHAR_GRAM_MIN = 3
CHAR_GRAM_MAX = 5


@dataclass(frozen=True)
class GroupWeights:
    """How much each feature group counts after its own length normalisation."""

    words: float = 1.0
    bigrams: float = 0.6
    chars: float = 1.0
    brand: float = 1.0


def tokenize(text: str) -> list[str]:
    """Lower-case ASCII words, accents folded, punctuation dropped ("Kärcher K4" -> karcher, k4)."""
    folded = _COMBINING.sub("", unicodedata.normalize("NFKD", text)).lower()
    return _WORD.findall(folded)


def _char_grams(word: str, into: dict[str, None]) -> None:
    padded = f"<{word}>"
    for n in range(CHAR_GRAM_MIN, CHAR_GRAM_MAX + 1):
        for start in range(len(padded) - n + 1):
            into[f"c:{padded[start:start + n]}"] = None


def brand_feature(brand: str | None) -> str | None:
    key = "_".join(tokenize(brand or ""))
    return f"brand:{key}" if key else None


def extract(name: str, brand: str | None, weights: GroupWeights) -> list[tuple[str, float]]:
    """(feature, weight) pairs in four groups (words and the shapes of numbers, word bigrams,
    character 3-5-grams, the brand), each group scaled to unit length and then by its weight, so a
    long title does not outvote a short one and a name's ~100 character n-grams do not drown its
    few words. Dicts keep insertion order, so the output is the same on every run."""
    words = tokenize(name)
    word_features: dict[str, None] = {}
    bigrams: dict[str, None] = {}
    chars: dict[str, None] = {}
    for i, word in enumerate(words):
        word_features[f"w:{word}"] = None
        if any(ch.isdigit() for ch in word):
            # "256gb" and "s23" vary endlessly; their shape ("#gb", "s#") is what generalises.
            word_features[f"s:{_DIGITS.sub('#', word)}"] = None
        if i > 0:
            bigrams[f"b:{words[i - 1]}_{word}"] = None
        # A bare number has no letters for n-grams to generalise from; its shape is enough.
        if _LETTER.search(word):
            _char_grams(word, chars)
    brand_key = brand_feature(brand)
    groups = [
        (word_features, weights.words),
        (bigrams, weights.bigrams),
        (chars, weights.chars),
        ({brand_key: None} if brand_key else {}, weights.brand),
    ]
    features: list[tuple[str, float]] = []
    for group, weight in groups:
        if not group or weight == 0:
            continue
        value = weight / len(group) ** 0.5
        features.extend((key, value) for key in group)
    return features

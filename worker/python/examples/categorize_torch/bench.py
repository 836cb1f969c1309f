"""How long categorize-torch takes to load and to classify, one title at a time and in batches of
16 (what the runner's `batch = {"max_size": 16}` hands run_batch), on this machine's CPU.

    /usr/bin/python3 worker/python/examples/categorize_torch/bench.py [--threads 1] [--rounds 300]

Titles are the held-out rows, cycled, so every call sees a different title. Prints medians and
the 95th percentile; the split into feature extraction (Python) and the forward pass (torch)
shows where the time goes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

_process_started = time.perf_counter()
# Run as a file, so the package is found beside it as `-m` from examples/ would find it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

_import_ms = (time.perf_counter() - _process_started) * 1000

from categorize_torch.dataset import SPLIT_SEED, TEST_FRACTION, load_products, stratified_split  # noqa: E402
from categorize_torch.model import CategoryModel, encode  # noqa: E402


def timed(rounds: int, call: Callable[[int], object]) -> list[float]:
    """Milliseconds of each of `rounds` calls, after a few warm-up calls."""
    for i in range(5):
        call(i)
    samples = []
    for i in range(rounds):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(label: str, samples: list[float], per: int = 1) -> str:
    median = statistics.median(samples)
    p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
    each = f" ({median / per:.3f} ms per item)" if per > 1 else ""
    return f"  {label:<34} median {median:7.3f} ms   p95 {p95:7.3f} ms{each}"


def main() -> None:
    parser = argparse.ArgumentParser(description="categorize-torch inference timings")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the processor uses 1)")
    parser.add_argument("--rounds", type=int, default=300, help="timed calls per measurement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    started = time.perf_counter()
    model = CategoryModel.load()
    load_ms = (time.perf_counter() - started) * 1000
    _, held_out = stratified_split(load_products(), TEST_FRACTION, SPLIT_SEED)
    pairs = [(row.name, row.brand) for row in held_out]
    batch = 16
    batches = [[pairs[(i * batch + j) % len(pairs)] for j in range(batch)] for i in range(len(pairs))]

    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s), python {sys.version.split()[0]}; import torch {_import_ms:.0f} ms, model load {load_ms:.0f} ms")
    print(summary("one title (classify)", timed(args.rounds, lambda i: model.classify(*pairs[i % len(pairs)]))))
    print(summary(f"batch of {batch} (classify_batch)", timed(args.rounds, lambda i: model.classify_batch(batches[i % len(batches)])), per=batch))
    print(summary("16 titles one at a time", timed(args.rounds // 4, lambda i: [model.classify(*p) for p in batches[i % len(batches)]]), per=batch))
    print("where a batch's time goes:")
    print(summary("  features + encoding (Python)", timed(args.rounds, lambda i: encode(model.vocabulary, model.group_weights, batches[i % len(batches)])), per=batch))
    encoded = [encode(model.vocabulary, model.group_weights, b) for b in batches[:50]]

    def forward(i: int) -> object:
        with torch.inference_mode():
            e = encoded[i % len(encoded)]
            return model.module(e.ids, e.offsets, e.weights)

    print(summary("  forward pass (torch)", timed(args.rounds, forward), per=batch))


if __name__ == "__main__":
    main()

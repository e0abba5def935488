"""Scoring intent predictions: the one definition of macro F1 the tests and the benchmarks share."""
from __future__ import annotations

from collections import Counter


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Macro F1 over the expected intents of (expected, predicted) pairs; a fallback counts as a miss."""
    true_positive: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for expected, got in pairs:
        actual[expected] += 1
        predicted[got] += 1
        true_positive[expected] += expected == got
    scores = []
    for intent in actual:
        precision = true_positive[intent] / predicted[intent] if predicted[intent] else 0.0
        recall = true_positive[intent] / actual[intent]
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)

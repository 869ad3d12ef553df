"""A small sparse softmax (multinomial logistic) regression: answers in plain Python.

features.py turns a message into named features (characters, words, the rule scores);
this module only learns weights for such features from labelled samples and turns the
features of a new message into one probability per label. Training is deterministic (a
fixed shuffle seed, no threads), so the shipped weights can be rebuilt exactly from the
examples.
"""

from __future__ import annotations

import json
import math
import random
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.nlu import cache

Features = dict[str, float]
# One label's weights of a feature: an array of doubles (8 bytes a weight, not a float object
# and its pointer: the intent model holds 600,000 of them).
Row = Sequence[float]

# Chosen by leave-one-writer-out validation over the examples (README, "NLU").
EPOCHS = 30
LEARNING_RATE = 0.3
L2 = 1e-5
# Weights are averaged over models trained in SEEDS different orders: the answers on short,
# ambiguous messages then depend less on the order (97.2% against 96.6% validated with 3).
# 8 since training takes seconds: more orders averaged, less chance in the weights.
SEEDS = 8
# A feature seen in only one training message is noise more often than signal.
MIN_COUNT = 2
DIGITS = 4  # weights are stored rounded: a smaller file, the same answers


@dataclass(frozen=True)
class Model:
    labels: tuple[str, ...]
    weights: dict[str, Row]
    trained_on: str = ""  # a fingerprint of the examples the weights were learnt from

    def probabilities(self, features: Features) -> dict[str, float]:
        """One probability per label; features the model never saw count for nothing."""
        scores = _scores(self.weights, features, len(self.labels))
        return dict(zip(self.labels, _softmax(scores), strict=True))

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "trained_on": self.trained_on,
            "weights": {name: list(row) for name, row in self.weights.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        weights = {name: array("d", row) for name, row in data["weights"].items()}
        return cls(tuple(data["labels"]), weights, data.get("trained_on", ""))

    def save(self, path: Path) -> None:
        compact = json.dumps(
            self.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
        path.write_text(compact + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Model:
        """The model saved at `path`, through the cache of its weights as arrays: parsing the
        JSON of the intent model takes ~0.3 s and ~50 MB at its peak, reading the cache ~10 ms."""
        return cache.cached(
            f"model-{path.stem}",
            [path.read_bytes()],
            lambda: cls.from_json(json.loads(path.read_text(encoding="utf-8"))),
            _pack,
            _unpack,
        )


def _pack(model: Model) -> tuple[Any, ...]:
    # One small bytes object a row: no buffer of the whole model passes through memory.
    rows = tuple(array("d", row).tobytes() for row in model.weights.values())
    return model.labels, model.trained_on, tuple(model.weights), rows


def _unpack(stored: tuple[Any, ...]) -> Model:
    labels, trained_on, names, rows = stored
    weights: dict[str, Row] = {}
    for name, data in zip(names, rows, strict=True):
        weights[name] = row = array("d")
        row.frombytes(data)
    return Model(tuple(labels), weights, trained_on)


def fit(
    samples: Sequence[tuple[Features, str]],
    labels: Sequence[str],
    *,
    epochs: int = EPOCHS,
    seeds: int = SEEDS,
    trained_on: str = "",
) -> Model:
    """Learn weights by stochastic gradient descent with AdaGrad steps and a little L2."""
    counts = Counter(name for features, _ in samples for name in features)
    index = {label: k for k, label in enumerate(labels)}
    data = [
        ({n: v for n, v in features.items() if counts[n] >= MIN_COUNT}, index[label])
        for features, label in samples
    ]
    total: dict[str, list[float]] = {}
    for seed in range(seeds):
        for name, row in _descend(list(data), len(labels), epochs, seed).items():
            summed = total.setdefault(name, [0.0] * len(labels))
            for k, weight in enumerate(row):
                summed[k] += weight
    averaged: dict[str, Row] = {
        name: array("d", [round(w / seeds, DIGITS) for w in row])
        for name, row in sorted(total.items())
    }
    return Model(tuple(labels), averaged, trained_on)


def _descend(
    data: list[tuple[Features, int]], size: int, epochs: int, seed: int
) -> dict[str, list[float]]:
    # The same per-message AdaGrad steps as a plain loop, with each message's rows updated
    # together in numpy: a retrain takes seconds instead of a quarter of an hour. Imported
    # here: answering messages needs no numpy.
    import numpy as np

    names = sorted({name for features, _ in data for name in features})
    column = {name: k for k, name in enumerate(names)}
    rows = [
        (
            np.array([column[n] for n in features], dtype=np.intp),
            np.array(list(features.values()), dtype=np.float64),
            target,
        )
        for features, target in data
    ]
    weights = np.zeros((len(names), size))
    squares = np.full((len(names), size), 1e-8)
    order = list(range(len(rows)))
    shuffle = random.Random(seed).shuffle
    for _ in range(epochs):
        shuffle(order)
        for i in order:
            index, values, target = rows[i]
            scores = values @ weights[index]
            errors = np.exp(scores - scores.max())
            errors /= errors.sum()
            errors[target] -= 1.0
            gradient = np.outer(values, errors) + L2 * weights[index]
            squares[index] += gradient * gradient
            weights[index] -= LEARNING_RATE * gradient / np.sqrt(squares[index])
    return {name: weights[k].tolist() for k, name in enumerate(names)}


def _scores(weights: dict[str, Row], features: Features, size: int) -> list[float]:
    scores = [0.0] * size
    for name, value in features.items():
        row = weights.get(name)
        if row:
            for k, weight in enumerate(row):
                scores[k] += weight * value
    return scores


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]

"""Learning the two models from data/examples/: the examples, their fingerprint, train()."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bot.nlu.features import FEATURES_VERSION, category_features, intent_features
from bot.nlu.labels import CATEGORIES, LABELS
from bot.nlu.model import Model, fit
from bot.nlu.parsing import CATEGORY_MODEL, INTENT_MODEL, head
from bot.nlu.rules import RULES

EXAMPLES = Path(__file__).resolve().parent / "data" / "examples"


def examples() -> list[dict[str, Any]]:
    """The labelled messages the models learn from (data/examples/*.jsonl)."""
    cases: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        cases += [json.loads(line) for line in lines if line.strip()]
    return cases


def fingerprint() -> str:
    """Changes whenever the examples, the rule files or the features change."""
    digest = hashlib.sha256(FEATURES_VERSION.encode())
    rule_files = [path for path in RULES.iterdir() if path.is_file()]
    for path in sorted(EXAMPLES.glob("*.jsonl")) + sorted(rule_files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def train() -> dict[Path, Model]:
    """Both models learnt from the examples, by the file each belongs in (deterministic)."""
    intents, categories = [], []
    for case in examples():
        if case["intent"] not in LABELS:
            raise ValueError(f"examples: unknown intent {case['intent']!r} in {case['text']!r}")
        text = head(case["text"])
        intents.append((intent_features(text), case["intent"]))
        if case["intent"] == "report":
            name = case.get("slots", {}).get("category", "other")
            if name not in CATEGORIES:
                raise ValueError(f"examples: unknown category {name!r} in {case['text']!r}")
            categories.append((category_features(text), name))
    stamp = fingerprint()
    return {
        INTENT_MODEL: fit(intents, LABELS, trained_on=stamp),
        CATEGORY_MODEL: fit(categories, CATEGORIES, trained_on=stamp),
    }

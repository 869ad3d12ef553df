"""What the two models read of a message: its characters and words, and the rule scores."""

from __future__ import annotations

import re
from functools import lru_cache

from bot.nlu import rules
from bot.nlu.model import Features

# Part of the fingerprint: bump it when these features change, so the models must be retrained.
FEATURES_VERSION = "1"


def intent_features(text: str) -> Features:
    """What the intent model reads of normalised text: its characters and words, and what
    the intent rules make of it."""
    found = dict(text_features(text))
    intent, scores, asks = rules.guess(text)
    found["rule:" + intent] = 1.0
    for name, score in scores.items():
        if score > 0:
            found["score:" + name] = min(score, 8.0) / 4
    if asks:
        found["rule_asks"] = 1.0
    return found


def category_features(text: str) -> Features:
    """What the category model reads: the characters and words, and the category rules."""
    found = dict(text_features(text))
    found["category_rule:" + rules.best_category(text)[0]] = 1.0
    for name, score in rules.category_scores(text).items():
        if score > 0:
            found["category_score:" + name] = min(score, 8.0) / 4
    return found


@lru_cache(maxsize=256)  # a report reads them twice: for its intent and its category
def text_features(text: str) -> Features:
    """Characters, character pairs, words and length of normalised text; codes and numbers
    are masked: their digits mean nothing."""
    masked = re.sub(r"\s+", " ", _mask_numbers(text).lower())
    padded = f"^{masked}$"
    found: Features = {"bias": 1.0}
    for i, char in enumerate(padded):
        found["c:" + char] = 1.0
        if i + 1 < len(padded):
            found["b:" + padded[i : i + 2]] = 1.0
    for word in rules.segmenter().lcut(masked):
        if word.strip():
            found["w:" + word] = 1.0
    size = len(text)
    found["len:" + ("s" if size <= 4 else "m" if size <= 12 else "l" if size <= 40 else "xl")] = 1
    return found


def _mask_numbers(text: str) -> str:
    text = rules.TICKET_RE.sub("Ⓣ", text)
    text = rules.INVITE_RE.sub("Ⓑ", text)
    text = rules.CODE_RE.sub("Ⓒ", text)
    return re.sub(r"\d+", "Ⓓ", text)

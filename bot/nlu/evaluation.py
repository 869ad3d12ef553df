"""Accuracy of parse() and category() on labelled messages, per intent and per category."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.nlu.parsing import category, parse


@dataclass
class Evaluation:
    """Accuracy of parse() against labelled cases ({"text", "intent", "slots"})."""

    total: int = 0
    intent_ok: int = 0
    slots_ok: int = 0
    asked: int = 0
    by_intent: dict[str, list[int]] = field(default_factory=dict)  # name → [ok, total]
    by_category: dict[str, list[int]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_ok / self.total if self.total else 0.0

    @property
    def category_accuracy(self) -> float:
        ok = sum(v[0] for v in self.by_category.values())
        total = sum(v[1] for v in self.by_category.values())
        return ok / total if total else 0.0

    @property
    def slots_accuracy(self) -> float:
        return self.slots_ok / self.total if self.total else 0.0

    def lines(self) -> list[str]:
        def row(name: str, ok: int, total: int) -> str:
            return f"  {name:<12} {ok / total:6.1%}  {ok}/{total}"

        out = ["intent accuracy per intent:"]
        out += [row(k, *v) for k, v in sorted(self.by_intent.items())]
        out.append("category accuracy per category (messages labelled report):")
        out += [row(k, *v) for k, v in sorted(self.by_category.items())]
        cat_total = sum(v[1] for v in self.by_category.values())
        out += [
            f"intent accuracy:   {self.intent_accuracy:.1%} ({self.intent_ok}/{self.total})",
            f"category accuracy: {self.category_accuracy:.1%} ({cat_total} report messages)",
            f"slots exact:       {self.slots_accuracy:.1%} ({self.slots_ok}/{self.total})",
            f"asked (alternatives offered): {self.asked}/{self.total}",
        ]
        out += [f"miss: {m}" for m in self.misses]
        return out


def evaluate(cases: Iterable[dict[str, Any]]) -> Evaluation:
    """Score parse() and category() on labelled cases; the intent counted is the best guess."""
    result = Evaluation()
    for case in cases:
        text, want, want_slots = case["text"], case["intent"], case.get("slots", {})
        got = parse(text)
        result.total += 1
        result.asked += bool(got.alternatives)
        cell = result.by_intent.setdefault(want, [0, 0])
        cell[1] += 1
        if got.intent == want:
            result.intent_ok += 1
            cell[0] += 1
        if got.intent == want and got.slots == want_slots:
            result.slots_ok += 1
        else:
            result.misses.append(f"{text[:40]} → {json.dumps(got.as_json(), ensure_ascii=False)}")
        if want == "report":
            want_cat, got_cat = want_slots.get("category", "other"), category(text)
            cat = result.by_category.setdefault(want_cat, [0, 0])
            cat[1] += 1
            cat[0] += got_cat == want_cat
    return result

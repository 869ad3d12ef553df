"""Answers at run time: a message's intent and slots, its problem category, keywords, words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from bot.core.text import code_in
from bot.nlu import rules
from bot.nlu.features import category_features, intent_features
from bot.nlu.labels import CATEGORIES, KINDS, LABELS
from bot.nlu.model import Model
from bot.nlu.rules import TICKET_RE, normalize

MODELS = Path(__file__).resolve().parent / "data" / "models"
INTENT_MODEL = MODELS / "intent_model.json"
CATEGORY_MODEL = MODELS / "category_model.json"

# Only the head of a message is analysed: a pasted 10,000-character text answers at once.
MAX_CHARS = 500
# The model asks when its best intent is less likely than ASK_BELOW or closer than
# ASK_MARGIN to the runner-up (in validation its guesses below 0.7 were right only about
# 63% of the time, above 0.9 99%); it offers intents at least ALTERNATIVE_FLOOR likely.
ASK_BELOW, ASK_MARGIN, ALTERNATIVE_FLOOR = 0.7, 0.2, 0.1
MAX_ALTERNATIVES = 3
CATEGORY_SURE = 0.7
TICKET_INTENTS = frozenset({"my_reports", "tickets", "cosign", "withdraw"})
LOOSE_TICKET_RE = re.compile(r"(?<!\d)(20\d{2})\s*[-—–]\s*(\d{1,4})(?!\d)")


@dataclass(frozen=True)
class Parse:
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    confidence: float = 1.0
    alternatives: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"intent": self.intent, "slots": self.slots}


BARE_TICKET = re.compile(r"\W*(?:wt\s*-?\s*)?(\d{4})\W*", re.I)
# A complaint is a sentence: the report asks for at least this many characters. Shorter text
# read as a report without a word of complaint (冷链物流, 贷款, 厂房) is more likely the
# words of a search: the person is offered both.
SHORTEST_REPORT = 5
COMPLAINT_WORDS = re.compile(
    r"吹哨|反映|投诉|问题|困难|求助|报修|故障|麻烦|急|坏|停|漏|堵|断|不|没|难|慢|卡|帮|办"
)


def parse(text: str) -> Parse:
    """The intent of one message, with its slots (alternatives when unsure)."""
    text = head(text)
    if not re.search(r"\w", text):
        # Only emoji (👍, 😂): a reaction, answered as small talk; only punctuation: nothing.
        symbols = any(unicodedata.category(c) == "So" for c in text)
        return Parse("smalltalk" if symbols else "unknown", {}, confidence=0.0)
    if bare := BARE_TICKET.fullmatch(text):
        # 0005 alone is a ticket number (codes have 6 digits, invites 8): show that ticket.
        return Parse("my_reports", {"ticket": bare.group(1)}, confidence=1.0)
    likely = _model().probabilities(intent_features(text))
    ranked = sorted(likely, key=lambda label: (-likely[label], LABELS.index(label)))
    best, top = ranked[0], likely[ranked[0]]
    if best == "unknown":
        return Parse("unknown", {}, confidence=round(top, 2))
    if best == "report" and len(text) < SHORTEST_REPORT and not COMPLAINT_WORDS.search(text):
        confidence = round(top, 2)
        return Parse("resources", _slots("resources", text), confidence, ("resources", "report"))
    alternatives: tuple[str, ...] = ()
    if top < ASK_BELOW or top - likely[ranked[1]] < ASK_MARGIN:
        # 聊天 is never offered as a choice beside a feature: nobody asks to chat.
        close = [
            label
            for label in ranked[:MAX_ALTERNATIVES]
            if label != "unknown"
            and (label == best or label != "smalltalk")
            and likely[label] >= ALTERNATIVE_FLOOR
        ]
        if len(close) < 2 and best != "help":
            close = [best, "help"]
        alternatives = tuple(close) if len(close) > 1 else ()
    return Parse(best, _slots(best, text), round(top, 2), alternatives)


def head(text: str) -> str:
    """The part of a message that is analysed: normalised, at most MAX_CHARS characters."""
    return normalize(text[: MAX_CHARS * 2])[:MAX_CHARS]


def category(text: str) -> str:
    """The problem category of a complaint (INTERFACES.md), 'other' when none fits."""
    return _category_of(head(text))


def segment(text: str) -> list[str]:
    """Words of `text` (search mode: long words also yield their parts), normalised."""
    return [w for w in rules.segmenter().lcut_for_search(normalize(text)) if w.strip()]


def keywords(text: str) -> list[str]:
    """Meaningful words for a search: filler, punctuation and single characters dropped."""
    words: list[str] = []
    for word in rules.segmenter().lcut(normalize(text)[:MAX_CHARS]):
        word = word.strip().lower()
        if not word or word in rules.stopwords() or not re.search(r"\w", word):
            continue
        if len(word) == 1 and not word.isascii():
            continue
        if word not in words:
            words.append(word)
    return words


def warm_up() -> None:
    """Load the models, jieba and the rule files now, so the first message is not slow
    (the models first, as parse() does: their passing peak comes before jieba is held)."""
    _model()
    _category_model()
    rules.segmenter()
    rules.phrases()
    rules.chitchat()
    rules.category_weights()
    rules.stopwords()
    rules.traditional()


@cache
def _model() -> Model:
    return Model.load(INTENT_MODEL)


@cache
def _category_model() -> Model:
    return Model.load(CATEGORY_MODEL)


@lru_cache(maxsize=256)
def _category_of(text: str) -> str:
    if not re.search(r"\w", text):
        return "other"
    likely = _category_model().probabilities(category_features(text))
    best = max(CATEGORIES, key=lambda name: (likely[name], -CATEGORIES.index(name)))
    # A guess the model is unsure of, with no category word at all, is `other`: an admin
    # routes it, rather than a department receiving what is not theirs.
    if likely[best] < CATEGORY_SURE and rules.best_category(text)[1] == 0:
        return "other"
    return best


def slots_for(intent: str, text: str) -> dict[str, Any]:
    """The slots a message would fill for `intent` (for the "您是想" choices)."""
    return _slots(intent, head(text))


def ticket_number(text: str) -> str | None:
    """A ticket number however typed (WT20260012, wt-2026-12, 2026-0012) as WT-YYYY-NNNN."""
    m = TICKET_RE.search(text) or LOOSE_TICKET_RE.search(text)
    return f"WT-{m.group(1)}-{int(m.group(2)):04d}" if m else None


def _slots(intent: str, text: str) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    if intent in ("checkin", "sign_out") and (code := code_in(TICKET_RE.sub(" ", text), 6)):
        slots["code"] = code
    elif intent == "bind" and (code := code_in(text, 8)):
        slots["code"] = code
    elif intent in TICKET_INTENTS and (number := ticket_number(text)):
        slots["ticket"] = number
    elif intent == "report" and (name := _category_of(text)) != "other":
        slots["category"] = name
    elif intent == "resources":
        kind = next((k for k in KINDS if k in text), None)
        if kind:
            slots["kind"] = kind
        # Cut without the list names: jieba glues 蓝海里 into 蓝 / 海里.
        words = keywords(re.sub("|".join(KINDS), " ", text))
        if words:
            slots["keywords"] = words
    return slots

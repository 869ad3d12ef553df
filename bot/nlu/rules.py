"""The rules kept as data in data/rules/: their tables, jieba, and the scores they give a text."""

from __future__ import annotations

import json
import logging
import re
import sys
import unicodedata
import warnings
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from bot.core.text import fold
from bot.nlu import prefix
from bot.nlu.labels import CATEGORIES, INTENTS

RULES = Path(__file__).resolve().parent / "data" / "rules"

# Below this score the best intent is a guess; closer than MARGIN to the runner-up too.
WEAK = 1.5
MARGIN = 1.0
# Small talk (今天几号, 你好) below this score, naming no problem category, is "unknown":
# the help menu answers it. A complaint that mentions rain or the date is still a report.
CHITCHAT_BELOW = 3.0
# Signals that are not phrases.
CODE_WEIGHT = 3.0  # a 6-digit number inside a sentence
BARE_CODE_WEIGHT = 4.0  # a message that is only a 6-digit number
TICKET_WEIGHT = 4.0
# A clear problem category suggests a report, the more so the more problem words it has.
CATEGORY_BASE, CATEGORY_SCALE, CATEGORY_MAX = 1.0, 0.5, 4.0

# Asking for help is short: in a longer message help words are part of something else
# (需要法律帮助), so they count half.
HELP_LONG, HELP_LONG_FACTOR = 15, 0.5

CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
INVITE_RE = re.compile(r"(?<!\d)(\d{8})(?!\d)")  # invite codes are 8 digits (binding.py)
TICKET_RE = re.compile(r"(?<![A-Za-z])WT\s*-?\s*(\d{4})\s*-?\s*(\d{1,4})(?!\d)", re.I)


def normalize(text: str) -> str:
    """Text folded as at the door (bot.core.text.fold), then all compatibility forms (NFKC:
    full-width punctuation too) and traditional → simplified: what the rules and models read."""
    return unicodedata.normalize("NFKC", fold(text)).translate(traditional())


def guess(text: str) -> tuple[str, dict[str, float], bool]:
    """What the rules alone make of normalised text: intent, scores, whether they would ask."""
    if not re.search(r"\w", text):
        return "unknown", dict.fromkeys(INTENTS, 0.0), False
    scores = intent_scores(text)
    ranked = sorted(
        (i for i in INTENTS if scores[i] > 0), key=lambda i: (-scores[i], INTENTS.index(i))
    )
    if not ranked:
        return "unknown", scores, False
    best = ranked[0]
    top = scores[best]
    if top < CHITCHAT_BELOW and chitchat().search(text) and best_category(text)[1] == 0:
        return "unknown", scores, False
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    return best, scores, top < WEAK or top - runner_up < MARGIN


def intent_scores(text: str) -> dict[str, float]:
    """The score of every intent in normalised text: its phrases, shapes and signals."""
    scores = dict.fromkeys(INTENTS, 0.0)
    pattern, owners, shapes = phrases()
    seen: set[str] = set()
    for match in pattern.finditer(text):
        phrase = match.group(0)
        if phrase in seen:
            continue
        seen.add(phrase)
        for intent, weight in owners[phrase]:
            scores[intent] += weight
    for shape, intent, weight in shapes:
        if shape.search(text):
            scores[intent] += weight
    if len(text) > HELP_LONG:
        scores["help"] *= HELP_LONG_FACTOR
    if CODE_RE.search(text):
        bare = re.fullmatch(r"\W*\d{6}\W*", text)
        scores["checkin"] += BARE_CODE_WEIGHT if bare else CODE_WEIGHT
    if re.fullmatch(r"\W*\d{8}\W*", text):
        scores["bind"] += BARE_CODE_WEIGHT
    if TICKET_RE.search(text):
        scores["my_reports"] += TICKET_WEIGHT
    _, strength = best_category(text)
    if strength > 0:
        scores["report"] += min(CATEGORY_MAX, CATEGORY_BASE + CATEGORY_SCALE * strength)
    return scores


@lru_cache(maxsize=256)  # a parse asks more than once per message
def category_scores(text: str) -> dict[str, float]:
    """The summed word weights of each category found in normalised text."""
    tokens: set[str] | None = None
    scores: dict[str, float] = {}
    for name, words in category_weights().items():
        score = 0.0
        for word, weight in words.items():
            if len(word) > 1:
                hit = word in text
            else:
                if word not in text:
                    continue
                if tokens is None:
                    tokens = set(segmenter().lcut(text))
                hit = word in tokens
            if hit:
                score += weight
        scores[name] = score
    return scores


def best_category(text: str) -> tuple[str, float]:
    """The rules' clear best category of normalised text and its score.

    ('other', score) when two categories tie: the text still names a problem (专利 and
    起诉), which counts for the report intent, but no one category is sure.
    """
    ranked = sorted(category_scores(text).items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] <= 0:
        return "other", 0.0
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return "other", ranked[0][1]
    return ranked[0]


def category_words(name: str, count: int = 3) -> list[str]:
    """The strongest words of a problem category (e.g. to look for matching resources)."""
    words = category_weights().get(name, {})
    ranked = sorted(words, key=lambda word: (-words[word], word))
    return [word for word in ranked if len(word) > 1][:count]


Phrases = tuple[
    re.Pattern[str],
    dict[str, list[tuple[str, float]]],
    list[tuple[re.Pattern[str], str, float]],
]


@cache
def phrases() -> Phrases:
    """intents.json: one regex of every phrase, longest first (so the longest wins at each
    place), the intents and weights of each phrase, and the sentence shapes.

    Keys starting with "re:" are regular expressions for sentence shapes (我…参加…几次);
    each adds its weight once when it matches anywhere, independently of the phrases.
    """
    with (RULES / "intents.json").open(encoding="utf-8") as handle:
        table: dict[str, Any] = json.load(handle)
    owners: dict[str, list[tuple[str, float]]] = {}
    shapes: list[tuple[re.Pattern[str], str, float]] = []
    for intent, entries in table.items():
        if intent.startswith("_"):
            continue
        if intent not in INTENTS:
            raise ValueError(f"intents.json: unknown intent {intent!r}")
        for phrase, weight in entries.items():
            if phrase.startswith("re:"):
                shapes.append((re.compile(phrase[3:]), intent, float(weight)))
            else:
                owners.setdefault(normalize(phrase), []).append((intent, float(weight)))
    alternation = "|".join(re.escape(p) for p in sorted(owners, key=len, reverse=True))
    return re.compile(alternation), owners, shapes


@cache
def chitchat() -> re.Pattern[str]:
    """Small-talk shapes: the "_chitchat" list of intents.json (its first item is a note)."""
    with (RULES / "intents.json").open(encoding="utf-8") as handle:
        shapes = json.load(handle).get("_chitchat", [])[1:]
    return re.compile("|".join(f"(?:{shape})" for shape in shapes) or r"(?!)", re.IGNORECASE)


@cache
def category_weights() -> dict[str, dict[str, float]]:
    """categories.json: the weight of each word, per problem category."""
    with (RULES / "categories.json").open(encoding="utf-8") as handle:
        table: dict[str, Any] = json.load(handle)
    weights = {name: words for name, words in table.items() if not name.startswith("_")}
    unknown = set(weights) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"categories.json: unknown categories {sorted(unknown)}")
    return weights


@cache
def traditional() -> dict[int, str]:
    """traditional.txt: traditional → simplified, as a str.translate table."""
    table: dict[int, str] = {}
    for line in _lines(RULES / "traditional.txt"):
        old, new = line.split()
        table[ord(old)] = new
    return table


@cache
def stopwords() -> frozenset[str]:
    """stopwords.txt: filler that is never a keyword."""
    return frozenset(_lines(RULES / "stopwords.txt"))


@cache
def segmenter() -> Any:
    """jieba, loaded once with its dictionary packed (prefix.py) and userdict.txt (its import
    warns under new setuptools)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        # Without pkg_resources jieba opens its files directly (the same files): importing
        # pkg_resources for it cost ~0.2 s and ~11 MB. Anyone importing it later still can.
        blocked = "pkg_resources" not in sys.modules
        if blocked:
            sys.modules["pkg_resources"] = None  # type: ignore[assignment]
        try:
            import jieba
        finally:
            if blocked:
                del sys.modules["pkg_resources"]

    jieba.setLogLevel(logging.WARNING)
    prefix.install(jieba.dt, jieba.__version__)
    with (RULES / "userdict.txt").open("rb") as handle:
        jieba.load_userdict(handle)
    return jieba


def _lines(path: Path) -> Iterable[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line

"""Free Chinese text → intent and slots (INTERFACES.md, "NLU output"); word segmentation.

jieba with the domain dictionary of bot/nlu_data; no DB, no platform. The rules are data:
intents.json (phrase weights per intent), categories.json (word weights per problem
category), stopwords.txt (filler for keywords), traditional.txt (traditional → simplified),
userdict.txt (domain words for jieba).

How a parse is scored: the normalised text is scanned left to right and at each place the
longest known phrase wins (so 签到记录 is my_record, not checkin); each intent adds the
weights of its phrases, plus a few signals from the text itself (a 6-digit code, a ticket
number, a problem category). The best intent wins; when it is weak or the runner-up is
close, `alternatives` lists the candidates so the bot asks instead of guessing.

One slot beyond INTERFACES.md: `bind.code`, an 8-digit invite code found in the text.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "nlu_data"

INTENTS = (
    "bind",
    "help",
    "me",
    "activities",
    "checkin",
    "my_record",
    "report",
    "my_reports",
    "resources",
    "notices",
    "rotation",
    "stats",
)
CATEGORIES = (
    "finance",
    "tax",
    "labor",
    "market",
    "land",
    "legal",
    "logistics",
    "talent_tech",
    "utilities",
    "other",
)
KINDS = ("伙伴", "管家", "千里马", "蓝海")

# Only the head of a message is analysed: a pasted 10,000-character text answers at once.
MAX_CHARS = 500
# Below this score the best intent is a guess: ask. Closer than MARGIN to the runner-up: ask.
WEAK = 1.5
MARGIN = 1.0
MAX_ALTERNATIVES = 3
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


@dataclass(frozen=True)
class Parse:
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    confidence: float = 1.0
    alternatives: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"intent": self.intent, "slots": self.slots}


def parse(text: str) -> Parse:
    """The intent of one message, with its slots (alternatives when unsure)."""
    text = normalize(text[: MAX_CHARS * 2])[:MAX_CHARS]
    if not re.search(r"[\w]", text):
        return Parse("unknown", {}, confidence=0.0)
    scores = _scores(text)
    ranked = sorted(
        (i for i in INTENTS if scores[i] > 0), key=lambda i: (-scores[i], INTENTS.index(i))
    )
    if not ranked:
        return Parse("unknown", {}, confidence=0.0)
    best = ranked[0]
    top = scores[best]
    if top < CHITCHAT_BELOW and _chitchat().search(text) and _category_score(text)[1] == 0:
        return Parse("unknown", {}, confidence=0.0)
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    confidence = round(min(1.0, top / 4) * top / (top + runner_up), 2)
    alternatives: tuple[str, ...] = ()
    if top < WEAK or top - runner_up < MARGIN:
        close = [i for i in ranked if top - scores[i] < MARGIN][:MAX_ALTERNATIVES]
        if len(close) < 2:
            close = ranked[:2] if len(ranked) > 1 else [best, "help"]
        alternatives = tuple(close)
    return Parse(best, _slots(best, text), confidence, alternatives)


def normalize(text: str) -> str:
    """Full-width → half-width (NFKC), traditional → simplified, outer space trimmed."""
    text = unicodedata.normalize("NFKC", text)
    return text.translate(_traditional()).strip()


def warm_up() -> None:
    """Load jieba and the rule files now, so the first message is not slow."""
    _jieba()
    _phrases()
    _chitchat()
    _category_weights()
    _stopwords()
    _traditional()


def _scores(text: str) -> dict[str, float]:
    scores = dict.fromkeys(INTENTS, 0.0)
    pattern, owners, shapes = _phrases()
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
    _, strength = _category_score(text)
    if strength > 0:
        scores["report"] += min(CATEGORY_MAX, CATEGORY_BASE + CATEGORY_SCALE * strength)
    return scores


def _slots(intent: str, text: str) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    if intent == "checkin" and (m := CODE_RE.search(TICKET_RE.sub(" ", text))):
        slots["code"] = m.group(1)
    elif intent == "bind" and (m := INVITE_RE.search(text)):
        slots["code"] = m.group(1)
    elif intent == "my_reports" and (m := TICKET_RE.search(text)):
        slots["ticket"] = f"WT-{m.group(1)}-{int(m.group(2)):04d}"
    elif intent == "report" and (name := _category_score(text)[0]) != "other":
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


Rules = tuple[
    re.Pattern[str],
    dict[str, list[tuple[str, float]]],
    list[tuple[re.Pattern[str], str, float]],
]


@cache
def _phrases() -> Rules:
    """One regex of every phrase, longest first (so the longest wins at each place).

    Keys starting with "re:" are regular expressions for sentence shapes (我…参加…几次);
    each adds its weight once when it matches anywhere, independently of the phrases.
    """
    with (DATA / "intents.json").open(encoding="utf-8") as handle:
        table: dict[str, Any] = json.load(handle)
    owners: dict[str, list[tuple[str, float]]] = {}
    shapes: list[tuple[re.Pattern[str], str, float]] = []
    for intent, phrases in table.items():
        if intent.startswith("_"):
            continue
        if intent not in INTENTS:
            raise ValueError(f"intents.json: unknown intent {intent!r}")
        for phrase, weight in phrases.items():
            if phrase.startswith("re:"):
                shapes.append((re.compile(phrase[3:]), intent, float(weight)))
            else:
                owners.setdefault(normalize(phrase), []).append((intent, float(weight)))
    alternation = "|".join(re.escape(p) for p in sorted(owners, key=len, reverse=True))
    return re.compile(alternation), owners, shapes


@cache
def _chitchat() -> re.Pattern[str]:
    """Small-talk shapes: the "_chitchat" list of intents.json (its first item is a note)."""
    with (DATA / "intents.json").open(encoding="utf-8") as handle:
        shapes = json.load(handle).get("_chitchat", [])[1:]
    return re.compile("|".join(f"(?:{shape})" for shape in shapes) or r"(?!)", re.IGNORECASE)


@cache
def _traditional() -> dict[int, str]:
    table: dict[int, str] = {}
    for line in _lines(DATA / "traditional.txt"):
        old, new = line.split()
        table[ord(old)] = new
    return table


def _lines(path: Path) -> Iterable[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


@cache
def _jieba() -> Any:
    """jieba, loaded once with the domain dictionary (its import warns under new setuptools)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    with (DATA / "userdict.txt").open("rb") as handle:
        jieba.load_userdict(handle)
    return jieba


@cache
def _stopwords() -> frozenset[str]:
    return frozenset(_lines(DATA / "stopwords.txt"))


def segment(text: str) -> list[str]:
    """Words of `text` (search mode: long words also yield their parts), normalised."""
    return [w for w in _jieba().lcut_for_search(normalize(text)) if w.strip()]


def keywords(text: str) -> list[str]:
    """Meaningful words for a search: filler, punctuation and single characters dropped."""
    words: list[str] = []
    for word in _jieba().lcut(normalize(text)[:MAX_CHARS]):
        word = word.strip().lower()
        if not word or word in _stopwords() or not re.search(r"\w", word):
            continue
        if len(word) == 1 and not word.isascii():
            continue
        if word not in words:
            words.append(word)
    return words


@cache
def _category_weights() -> dict[str, dict[str, float]]:
    with (DATA / "categories.json").open(encoding="utf-8") as handle:
        table: dict[str, Any] = json.load(handle)
    weights = {name: words for name, words in table.items() if not name.startswith("_")}
    unknown = set(weights) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"categories.json: unknown categories {sorted(unknown)}")
    return weights


def category_words(name: str, count: int = 3) -> list[str]:
    """The strongest words of a problem category (e.g. to look for matching resources)."""
    words = _category_weights().get(name, {})
    ranked = sorted(words, key=lambda word: (-words[word], word))
    return [word for word in ranked if len(word) > 1][:count]


def category(text: str) -> str:
    """The problem category of a complaint (INTERFACES.md): weighted words, else 'other'.

    A tie between two categories is not clear either: 'other'.
    """
    return _category_score(normalize(text[: MAX_CHARS * 2])[:MAX_CHARS])[0]


@lru_cache(maxsize=256)  # parse() asks twice per message
def _category_score(text: str) -> tuple[str, float]:
    """The clear best category of normalised text and its score.

    ('other', score) when two categories tie: the text still names a problem (专利 and
    起诉), which counts for the report intent, but no one category is sure.
    """
    tokens: set[str] | None = None
    scores: dict[str, float] = {}
    for name, words in _category_weights().items():
        score = 0.0
        for word, weight in words.items():
            if len(word) > 1:
                hit = word in text
            else:
                if word not in text:
                    continue
                if tokens is None:
                    tokens = set(_jieba().lcut(text))
                hit = word in tokens
            if hit:
                score += weight
        scores[name] = score
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] <= 0:
        return "other", 0.0
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return "other", ranked[0][1]
    return ranked[0]


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

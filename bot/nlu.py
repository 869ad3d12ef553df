"""Free Chinese text → intent and slots (INTERFACES.md, "NLU output"); word segmentation.

jieba with the domain dictionary of bot/nlu_data; no DB, no platform. Two layers:

- Rules, kept as data: intents.json (phrase weights per intent), categories.json (word
  weights per problem category), stopwords.txt (filler for keywords), traditional.txt
  (traditional → simplified), userdict.txt (domain words for jieba). The normalised text is
  scanned left to right and at each place the longest known phrase wins (签到记录 is
  my_record, not checkin); each intent adds the weights of its phrases, plus signals from the
  text itself (a 6-digit code, a ticket number, a problem category).
- Two learned models (bot/nlu_model.py; nlu_data/intent_model.json, category_model.json)
  that read the characters and words of the message together with those rule scores,
  trained on the labelled messages of nlu_data/examples/. They decide the intent and the
  problem category: on held-out wording the rules alone reached 85-93% intent, the models
  98.7% (README, "NLU"). The other slots (codes, ticket numbers, resource list and search
  words) come from the rules.

When the intent model is unsure, `alternatives` lists the candidates so the bot asks instead of
guessing. After changing the examples or the rule files run `python -m bot nlu --train`.

One slot beyond INTERFACES.md: `bind.code`, an 8-digit invite code found in the text.
"""

from __future__ import annotations

import hashlib
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

from bot.nlu_model import Features, Model, fit

DATA = Path(__file__).resolve().parent / "nlu_data"
EXAMPLES = DATA / "examples"
INTENT_MODEL = DATA / "intent_model.json"
CATEGORY_MODEL = DATA / "category_model.json"

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
LABELS = (*INTENTS, "unknown")
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
# The model asks when its best intent is less likely than ASK_BELOW or closer than
# ASK_MARGIN to the runner-up (in validation its guesses below 0.7 were right only about
# 63% of the time, above 0.9 99%); it offers intents at least ALTERNATIVE_FLOOR likely.
ASK_BELOW, ASK_MARGIN, ALTERNATIVE_FLOOR = 0.7, 0.2, 0.1
# Rules: below this score the best intent is a guess; closer than MARGIN to the runner-up too.
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

# Part of the fingerprint: bump it when features() changes, so the model must be retrained.
FEATURES_VERSION = "1"

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
    if not re.search(r"\w", text):
        return Parse("unknown", {}, confidence=0.0)
    likely = _model().probabilities(features(text))
    ranked = sorted(likely, key=lambda label: (-likely[label], LABELS.index(label)))
    best, top = ranked[0], likely[ranked[0]]
    if best == "unknown":
        return Parse("unknown", {}, confidence=round(top, 2))
    alternatives: tuple[str, ...] = ()
    if top < ASK_BELOW or top - likely[ranked[1]] < ASK_MARGIN:
        close = [
            label
            for label in ranked[:MAX_ALTERNATIVES]
            if label != "unknown" and likely[label] >= ALTERNATIVE_FLOOR
        ]
        if len(close) < 2 and best != "help":
            close = [best, "help"]
        alternatives = tuple(close) if len(close) > 1 else ()
    return Parse(best, _slots(best, text), round(top, 2), alternatives)


def features(text: str) -> Features:
    """What the intent model reads of normalised text: its characters and words, and what
    the intent rules make of it."""
    found = dict(_text_features(text))
    intent, scores, asks = _rule_guess(text)
    found["rule:" + intent] = 1.0
    for name, score in scores.items():
        if score > 0:
            found["score:" + name] = min(score, 8.0) / 4
    if asks:
        found["rule_asks"] = 1.0
    return found


def category_features(text: str) -> Features:
    """What the category model reads: the characters and words, and the category rules."""
    found = dict(_text_features(text))
    found["category_rule:" + _category_score(text)[0]] = 1.0
    for name, score in _category_scores(text).items():
        if score > 0:
            found["category_score:" + name] = min(score, 8.0) / 4
    return found


@lru_cache(maxsize=256)  # a report reads them twice: for its intent and its category
def _text_features(text: str) -> Features:
    """Characters, character pairs, words and length of normalised text; codes and numbers
    are masked: their digits mean nothing."""
    masked = re.sub(r"\s+", " ", _mask_numbers(text).lower())
    padded = f"^{masked}$"
    found: Features = {"bias": 1.0}
    for i, char in enumerate(padded):
        found["c:" + char] = 1.0
        if i + 1 < len(padded):
            found["b:" + padded[i : i + 2]] = 1.0
    for word in _jieba().lcut(masked):
        if word.strip():
            found["w:" + word] = 1.0
    size = len(text)
    found["len:" + ("s" if size <= 4 else "m" if size <= 12 else "l" if size <= 40 else "xl")] = 1
    return found


def _mask_numbers(text: str) -> str:
    text = TICKET_RE.sub("Ⓣ", text)
    text = INVITE_RE.sub("Ⓑ", text)
    text = CODE_RE.sub("Ⓒ", text)
    return re.sub(r"\d+", "Ⓓ", text)


def _rule_guess(text: str) -> tuple[str, dict[str, float], bool]:
    """What the rules alone make of normalised text: intent, scores, whether they would ask."""
    if not re.search(r"\w", text):
        return "unknown", dict.fromkeys(INTENTS, 0.0), False
    scores = _scores(text)
    ranked = sorted(
        (i for i in INTENTS if scores[i] > 0), key=lambda i: (-scores[i], INTENTS.index(i))
    )
    if not ranked:
        return "unknown", scores, False
    best = ranked[0]
    top = scores[best]
    if top < CHITCHAT_BELOW and _chitchat().search(text) and _category_score(text)[1] == 0:
        return "unknown", scores, False
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    return best, scores, top < WEAK or top - runner_up < MARGIN


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
    _model()
    _category_model()


@cache
def _model() -> Model:
    return Model.load(INTENT_MODEL)


@cache
def _category_model() -> Model:
    return Model.load(CATEGORY_MODEL)


def examples() -> list[dict[str, Any]]:
    """The labelled messages the models learn from (nlu_data/examples/*.jsonl)."""
    cases: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        cases += [json.loads(line) for line in lines if line.strip()]
    return cases


def fingerprint() -> str:
    """Changes whenever the examples, the rule files or the features change."""
    digest = hashlib.sha256(FEATURES_VERSION.encode())
    models = {INTENT_MODEL, CATEGORY_MODEL}
    rule_files = [path for path in DATA.iterdir() if path.is_file() and path not in models]
    for path in sorted(EXAMPLES.glob("*.jsonl")) + sorted(rule_files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def train() -> dict[Path, Model]:
    """Both models learnt from the examples, by the file each belongs in (deterministic)."""
    intents, categories = [], []
    for case in examples():
        if case["intent"] not in LABELS:
            raise ValueError(f"examples: unknown intent {case['intent']!r} in {case['text']!r}")
        text = normalize(case["text"][: MAX_CHARS * 2])[:MAX_CHARS]
        intents.append((features(text), case["intent"]))
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
    """The problem category of a complaint (INTERFACES.md), 'other' when none fits."""
    return _category_of(normalize(text[: MAX_CHARS * 2])[:MAX_CHARS])


@lru_cache(maxsize=256)
def _category_of(text: str) -> str:
    if not re.search(r"\w", text):
        return "other"
    likely = _category_model().probabilities(category_features(text))
    return max(CATEGORIES, key=lambda name: (likely[name], -CATEGORIES.index(name)))


@lru_cache(maxsize=256)  # a parse asks more than once per message
def _category_scores(text: str) -> dict[str, float]:
    """The rules: the summed word weights of each category found in normalised text."""
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
    return scores


def _category_score(text: str) -> tuple[str, float]:
    """The rules' clear best category of normalised text and its score.

    ('other', score) when two categories tie: the text still names a problem (专利 and
    起诉), which counts for the report intent, but no one category is sure.
    """
    ranked = sorted(_category_scores(text).items(), key=lambda item: -item[1])
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

"""Free Chinese text → intent and slots (INTERFACES.md, "NLU output"); word segmentation.

jieba with the domain dictionary of bot/nlu_data; no DB, no platform.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "nlu_data"

INTENT_WORDS: dict[str, tuple[str, ...]] = {
    "bind": ("绑定", "邀请码"),
    "help": ("帮助", "怎么用", "功能", "菜单"),
    "me": ("我的信息", "我是谁", "个人信息"),
    "checkin": ("签到", "打卡", "报到"),
    "my_record": ("签到记录", "参加过", "参与情况"),
    "activities": ("活动", "主题党日"),
    "my_reports": ("进度", "办得怎么样", "我的诉求", "我反映的"),
    "report": ("吹哨", "反映", "问题", "困难", "贷款", "发票", "招工", "审批"),
    "resources": ("清单", "资源", "伙伴", "管家", "千里马", "蓝海", "找"),
    "notices": ("通知", "公告"),
    "rotation": ("轮值", "轮办", "轮到"),
    "stats": ("统计", "数据", "报表"),
}
# Checked in this order: the more specific intents first.
INTENT_ORDER = (
    "my_record",
    "my_reports",
    "bind",
    "checkin",
    "rotation",
    "notices",
    "stats",
    "resources",
    "report",
    "activities",
    "me",
    "help",
)
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
TICKET_RE = re.compile(r"WT-\d{4}-\d{4}", re.I)


@dataclass(frozen=True)
class Parse:
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    confidence: float = 1.0
    alternatives: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"intent": self.intent, "slots": self.slots}


def parse(text: str) -> Parse:
    """The intent of one message, with its slots."""
    text = text.strip()[:2000]
    for intent in INTENT_ORDER:
        if any(word in text for word in INTENT_WORDS[intent]):
            return Parse(intent, _slots(intent, text))
    return Parse("unknown", {}, confidence=0.0)


def _slots(intent: str, text: str) -> dict[str, Any]:
    if intent == "checkin" and (m := CODE_RE.search(text)):
        return {"code": m.group(1)}
    if intent == "my_reports" and (m := TICKET_RE.search(text)):
        return {"ticket": m.group(0).upper()}
    return {}


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
    lines = (DATA / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip())


def segment(text: str) -> list[str]:
    """Words of `text` (search mode: long words also yield their parts)."""
    return [w for w in _jieba().lcut_for_search(text) if w.strip()]


def keywords(text: str) -> list[str]:
    """Meaningful words for a search: filler, punctuation and single characters dropped."""
    words = []
    for word in _jieba().lcut(text):
        word = word.strip().lower()
        if not word or word in _stopwords() or not re.search(r"[\w]", word):
            continue
        if len(word) == 1 and not word.isascii():
            continue
        if word not in words:
            words.append(word)
    return words


@cache
def _category_weights() -> dict[str, dict[str, int]]:
    with (DATA / "categories.json").open(encoding="utf-8") as handle:
        weights: dict[str, dict[str, int]] = json.load(handle)
    return weights


def category(text: str) -> str:
    """The problem category of a complaint (INTERFACES.md): weighted keywords, else 'other'."""
    scores = {
        name: sum(weight for word, weight in words.items() if word in text)
        for name, words in _category_weights().items()
    }
    best = max(scores, key=lambda name: scores[name])
    return best if scores[best] > 0 else "other"

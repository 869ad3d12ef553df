"""Derived NLU data on disk (bot/nlu/cache.py) and jieba's packed dictionary (prefix.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.nlu import cache, rules
from bot.nlu.model import Model
from bot.nlu.prefix import PackedFreq

FREQ = {"中": 12, "中国": 30, "中国人": 5, "中华": 0, "人": 40, "a": 1, "ab": 0, "𠀀": 2}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(cache, "FOLDER", tmp_path)
    return tmp_path


def test_a_cache_is_built_once_and_rebuilt_when_its_input_changes(folder: Path) -> None:
    builds: list[bytes] = []

    def get(data: bytes) -> str:
        def build() -> str:
            builds.append(data)
            return data.decode()

        return cache.cached("thing", [data], build, lambda v: v, lambda v: v)

    assert [get(b"one"), get(b"one")] == ["one", "one"]
    assert builds == [b"one"]
    assert get(b"two") == "two" and builds == [b"one", b"two"]
    assert len(list(folder.glob("thing-*.marshal"))) == 1  # the old version is dropped


def test_an_unreadable_cache_is_rebuilt(folder: Path) -> None:
    cache.cached("thing", [b"x"], lambda: 1, lambda v: v, lambda v: v)
    (path,) = folder.glob("thing-*.marshal")
    path.write_bytes(b"\xff not marshal")
    assert cache.cached("thing", [b"x"], lambda: 2, lambda v: v, lambda v: v) == 2


def test_packed_dictionary_answers_as_the_dict() -> None:
    packed = PackedFreq.build(FREQ)
    for key, count in FREQ.items():
        assert key in packed and packed[key] == count and packed.get(key) == count
    for missing in ("", "国", "中国人民", "b", "abc", "人人"):
        assert missing not in packed and packed.get(missing, -1) == -1
        with pytest.raises(KeyError):
            packed[missing]
    packed["国"] = 3  # jieba.add_word
    packed["中"] = 0
    assert packed["国"] == 3 and packed.get("中") == 0 and len(packed) == len(FREQ) + 1


def test_a_model_read_from_the_cache_is_the_model(folder: Path, tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    data = {
        "labels": ["a", "b"],
        "trained_on": "x",
        "weights": {"w:甲": [0.1, -0.2], "bias": [1, 0]},
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    first, second = Model.load(path), Model.load(path)  # built, then read back
    assert first == second == Model.from_json(data)
    assert second.to_json() == {**data, "weights": {"w:甲": [0.1, -0.2], "bias": [1.0, 0.0]}}


def test_jieba_uses_the_packed_dictionary_and_the_domain_words() -> None:
    jieba = rules.segmenter()
    assert isinstance(jieba.dt.FREQ, PackedFreq)
    assert jieba.lcut("今天有什么活动") == ["今天", "有", "什么", "活动"]
    assert jieba.dt.FREQ.get("中国") == 129470  # as in jieba 0.42.1's dict.txt

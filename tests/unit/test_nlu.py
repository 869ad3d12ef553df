"""NLU: intents, slots, categories, keywords; robustness; accuracy on held-out sets; the model."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import cli
from bot.nlu import (
    CATEGORIES,
    LABELS,
    category,
    keywords,
    normalize,
    parse,
    parsing,
    rules,
    segment,
)
from bot.nlu.evaluation import evaluate
from bot.nlu.model import Model
from bot.nlu.parsing import CATEGORY_MODEL, INTENT_MODEL
from bot.nlu.training import examples, fingerprint
from tests.fakes import Chat

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bot" / "nlu" / "data" / "heldout"

# Held-out sets: each written by someone who never saw the rules, the examples or the other
# sets, and never trained or tuned on. (file, intent, category, exact slots): the accuracy
# measured, rounded down; a change that lowers one fails the suite. Raise them when the
# parser gets better, never lower them; to teach it new wording, add examples instead.
# Rules alone had 88.3%, 93.3%, 85.3% and 86.7% intent on the first four sets. The floors were
# re-measured when the intents grew from 13 to 30 (every feature reachable from free text) and
# the labels of blind2-5 were mapped to them (greetings → smalltalk, rankings → ranking, ticket
# counts → ticket_stats); blind6 was written for the 30 intents, before any of their training
# examples existed (52.8% intent before them, 96.6% after). The third round (39 intents:
# meetings, 督办, the console link, changing an activity or a notice, withdrawing a report)
# relabelled three questions about 联席会议 times from activities to meetings (blind2, 3, 5)
# and added blind7 for the new intents (written by the engineer who wrote their examples,
# apart from them: not blind like the others). It cost one message on blind2 and on blind5
# (floors 0.97 → 0.96, measured 116/120 and 145/150) and one more question asked. The fourth
# round (55 intents: outcomes, party funds and their campaign, volunteer service, pledges,
# points and extra points, the yearly agreement, claimed projects) relabelled the
# questions about outcome figures (成本, 捐, 帮扶, 产值, 成效) from stats to outcomes, in the
# examples and in blind2-6 (the route that answers them); blind8 was written for the new
# intents by a writer who saw none of the data, and half of it became tuning_6.jsonl. It cost
# one message on blind3 (118 → 117/120, slots 108 → 107) and gained on blind2, 6 and 7, with
# weights averaged over 8 orders instead of 3.
HELD_OUT = [
    ("blind2.jsonl", 0.98, 0.96, 0.86),  # 118/120, 24/25, 104/120
    ("blind3.jsonl", 0.97, 0.96, 0.89),  # 117/120, 24/25, 107/120
    ("blind4.jsonl", 0.97, 0.96, 0.90),  # 146/150, 30/30, 135/150
    ("blind5.jsonl", 0.96, 1.00, 0.88),  # 145/150, 30/30, 132/150
    ("blind6.jsonl", 0.97, 0.96, 0.93),  # 370/379, 57/59, 356/379
    ("blind7.jsonl", 0.97, 1.00, 0.97),  # 98/101, 2/2, 98/101
    ("blind8.jsonl", 0.96, 1.00, 0.94),  # 72/75, 2/2, 71/75
]
# Over all held-out sets: how often the bot asks (28/1095; 23/1020 before the fourth round's
# sixteen intents), how often the guess or one of the offered buttons is what the sender
# wanted (1075/1095).
ASKED_AT_MOST, REACHED_AT_LEAST = 0.026, 0.98


def _cases(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.mark.parametrize(("name", "intent", "cat", "slots"), HELD_OUT)
def test_accuracy_does_not_drop(name: str, intent: float, cat: float, slots: float) -> None:
    result = evaluate(_cases(DATA / name))
    # Figures only: printing the missed messages would invite tuning on them.
    figures = (result.intent_accuracy, result.category_accuracy, result.slots_accuracy)
    floors = (intent, cat, slots)
    assert all(got >= floor for got, floor in zip(figures, floors, strict=True)), figures


def test_the_model_learns_its_examples() -> None:
    result = evaluate(examples())
    assert result.intent_accuracy >= 0.995, result.misses
    assert result.category_accuracy >= 0.94, result.misses


@pytest.mark.parametrize(
    ("path", "labels"), [(INTENT_MODEL, LABELS), (CATEGORY_MODEL, CATEGORIES)]
)
def test_the_models_are_trained_on_the_current_examples_and_rules(
    path: Path, labels: tuple[str, ...]
) -> None:
    shipped = Model.load(path)
    assert shipped.trained_on == fingerprint(), "run: python -m bot nlu --train"
    assert shipped.labels == labels


def test_the_held_out_sets_are_large_enough() -> None:
    assert sum(len(_cases(DATA / name)) for name, *_ in HELD_OUT) >= 150


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("签到 482913", "482913"),
        ("老师我到了，码是738194，帮我签一下", "738194"),
        ("簽到碼：４８２９１３", "482913"),  # traditional characters, full-width colon and digits
        ("我到了😀519046👍", "519046"),
        ("827364", "827364"),
        ("打卡 123456 和 654321", "123456"),
    ],
)
def test_checkin_code_is_found_anywhere(text: str, code: str) -> None:
    assert parse(text).as_json() == {"intent": "checkin", "slots": {"code": code}}


def test_a_phone_number_or_a_year_is_not_a_code() -> None:
    assert parse("签到，我电话13912345678").slots == {}
    assert parse("2026年的签到").slots == {}


@pytest.mark.parametrize(
    "text", ["wt-2026-0012 怎么样了", "ＷＴ－２０２６－００１２", "工单WT 2026 12进度"]
)
def test_ticket_number_is_normalised(text: str) -> None:
    assert parse(text).as_json() == {"intent": "my_reports", "slots": {"ticket": "WT-2026-0012"}}


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("簽到", "checkin"),
        ("最近的活動", "activities"),
        ("查看資源", "resources"),
        ("有問題要反映", "report"),
        ("輪值安排", "rotation"),
        ("幫助", "help"),
    ],
)
def test_traditional_characters(text: str, intent: str) -> None:
    assert parse(text).intent == intent


def test_normalize_folds_width_and_script() -> None:
    assert normalize("  簽到ＡＢＣ，１２３  ") == "签到ABC,123"


@pytest.mark.parametrize("text", ["", "   ", "。。。", "asdfgh", "123"])
def test_nothing_understood_is_unknown(text: str) -> None:
    parsed = parse(text)
    assert (parsed.intent, parsed.slots, parsed.alternatives) == ("unknown", {}, ())


def test_very_long_message_answers_quickly() -> None:
    parse("预热")
    long_texts = ["啊" * 10_000, "签到 482913 " + "好" * 10_000, "我要吹哨，" + "停电" * 5_000]
    started = time.perf_counter()
    parsed = [parse(text) for text in long_texts]
    assert time.perf_counter() - started < 0.5
    # 啊啊啊…: nothing to act on, whether read as an interjection or as nothing.
    assert parsed[0].intent in {"unknown", "smalltalk"} and parsed[0].slots == {}
    assert [p.intent for p in parsed[1:]] == ["checkin", "report"]
    assert parsed[1].slots == {"code": "482913"}
    assert parsed[2].slots == {"category": "utilities"}


def _model_that_says(monkeypatch: pytest.MonkeyPatch, **likely: float) -> None:
    """Every message gets these probabilities (the rest shared by the other labels)."""
    rest = (1 - sum(likely.values())) / (len(LABELS) - len(likely))
    row = [math.log(likely.get(label, rest)) for label in LABELS]
    monkeypatch.setattr(parsing, "_model", lambda: Model(LABELS, {"bias": row}))


def test_close_intents_offer_alternatives(monkeypatch: pytest.MonkeyPatch) -> None:
    _model_that_says(monkeypatch, checkin=0.46, activities=0.38, help=0.12)
    parsed = parse("参加活动")
    assert (parsed.intent, parsed.alternatives) == ("checkin", ("checkin", "activities", "help"))


def test_weak_guess_offers_help_as_the_other_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    _model_that_says(monkeypatch, resources=0.45)
    assert parse("提供").alternatives == ("resources", "help")


def test_a_likely_unknown_is_unknown_without_alternatives(monkeypatch: pytest.MonkeyPatch) -> None:
    _model_that_says(monkeypatch, unknown=0.4, report=0.3)
    assert (parse("嗯").intent, parse("嗯").alternatives) == ("unknown", ())


def test_on_new_wording_the_bot_seldom_asks_and_one_tap_reaches_the_answer() -> None:
    cases = [case for name, *_ in HELD_OUT for case in _cases(DATA / name)]
    parsed = [(str(case["intent"]), parse(str(case["text"]))) for case in cases]
    asked = sum(bool(p.alternatives) for _, p in parsed) / len(cases)
    # The answer is the guess, or one of the buttons offered when the bot asks.
    reached = sum(want == p.intent or want in p.alternatives for want, p in parsed) / len(cases)
    assert asked <= ASKED_AT_MOST and reached >= REACHED_AT_LEAST, (asked, reached)


def test_clear_intent_has_no_alternatives_and_high_confidence() -> None:
    parsed = parse("我要签到，码 004417")
    assert parsed.alternatives == ()
    assert parsed.confidence >= 0.9


def test_longest_phrase_wins() -> None:
    assert parse("我的签到记录").intent == "my_record"
    assert parse("我反映的事情处理完了没").intent == "my_reports"


def test_report_category_only_when_clear() -> None:
    assert parse("我要吹哨").as_json() == {"intent": "report", "slots": {}}
    assert parse("银行贷款批不下来").slots == {"category": "finance"}
    assert category("今天天气不错") == "other"  # 气 inside 天气 is not gas
    assert category("停電好幾天了") == "utilities"


def test_category_names_in_the_data_file_are_the_documented_ones() -> None:
    data = json.loads(
        (ROOT / "bot" / "nlu" / "data" / "rules" / "categories.json").read_text("utf-8")
    )
    assert {name for name in data if not name.startswith("_")} == set(CATEGORIES) - {"other"}


def test_invite_code_in_a_sentence_binds() -> None:
    assert parse("我的邀请码是 12345678").as_json() == {
        "intent": "bind",
        "slots": {"code": "12345678"},
    }


def test_resource_slots() -> None:
    assert parse("有没有做冷链物流的伙伴企业").slots == {
        "kind": "伙伴",
        "keywords": ["冷链", "物流"],
    }
    assert parse("蓝海里有没有食品订单").slots == {"kind": "蓝海", "keywords": ["食品"]}
    assert parse("千里马清单").slots == {"kind": "千里马"}


def test_keywords_drop_filler_and_keep_domain_words() -> None:
    assert keywords("有没有能提供法律援助的企业？") == ["法律援助"]
    assert keywords("找一下 直播带货 的 伙伴") == ["直播带货", "伙伴"]
    assert keywords("😀😀 的 了") == []


def test_segment_uses_the_domain_dictionary() -> None:
    words = segment("红盟吹哨：流动党员参加主题党日")
    for word in ("红盟", "吹哨", "流动党员", "主题党日"):
        assert word in words


def test_import_is_quiet_under_warnings_as_errors() -> None:
    code = "import bot.nlu as n; n.warm_up(); print(n.parse('签到 123456').intent)"
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "checkin", "")


def test_cli_prints_json_lines_and_evaluates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = tmp_path / "set.jsonl"
    labelled.write_text(
        '{"text": "签到 482913", "intent": "checkin", "slots": {"code": "482913"}}\n'
        '{"text": "贷款批不下来", "intent": "report", "slots": {"category": "finance"}}\n'
        '{"text": "哈哈", "intent": "help", "slots": {}}\n',
        encoding="utf-8",
    )
    assert cli.main(["nlu", "--file", str(labelled)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[0]) == {"intent": "checkin", "slots": {"code": "482913"}}
    assert len(lines) == 3
    assert cli.main(["nlu", "--file", str(labelled), "--eval"]) == 0
    out = capsys.readouterr().out
    assert "intent accuracy:   66.7% (2/3)" in out
    assert "  finance      100.0%  1/1" in out
    assert "  help           0.0%  0/1" in out
    assert "miss: 哈哈" in out


async def test_dispatcher_asks_with_buttons_when_unsure(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    _model_that_says(monkeypatch, me=0.45, bind=0.4)
    [reply] = await chat.replies("member", "身份")
    assert reply.text == "您是想："
    assert [b.label for b in reply.buttons] == ["我的信息", "绑定"]
    [profile] = await chat.press("member", "我的信息")
    assert "联盟：" in profile


async def test_dispatcher_answers_nonsense_with_help(chat: Chat) -> None:
    replies = await chat.say("member", "今天天气不错")
    assert replies and replies[0].startswith("没太明白您的意思。")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("前到", "checkin"),  # typo of 签到
        ("今天活动我已经来了", "checkin"),
        ("上次活动我签上没有", "my_record"),
        ("活动室漏雨好久了", "report"),  # a room, not an activity
        ("想注册一个商标", "report"),  # registering a trademark is not binding an account
        ("员工劳动合同怎么签才合规", "report"),  # signing a contract is not a check-in
        ("吹哨后一直没人联系我", "my_reports"),
        ("看看我反映过的问题", "my_reports"),
        ("谁会修空调", "resources"),
        ("有没有要学习的新精神", "notices"),
    ],
)
def test_close_intents_are_told_apart(text: str, intent: str) -> None:
    assert parse(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # The third round's intents, and the neighbours that must keep their words.
        ("我的待办", "todo"),
        ("我的待办工单", "tickets"),  # an officer's queue, not 督办
        ("我们局还有几个待办", "tickets"),
        ("下周的联席会议几点", "meetings"),
        ("明天的活动改时间了没", "activities"),  # a member asking, not a host changing it
        ("我要提个议题", "propose"),
        ("把周五的活动改到下午", "activity_change"),
        ("撤回我昨天的吹哨", "withdraw"),
        ("我吹的哨有进展了吗", "my_reports"),
        ("刚才那条定时通知先不发了", "notice_change"),
        ("通知大家明天的活动改到上午九点", "send_notice"),
        ("有没有会议通知", "notices"),
        ("后台登录", "admin"),
        ("活动", "activities"),
        ("通知", "notices"),
        ("吹哨", "report"),
        ("哈哈 发错了", "smalltalk"),
    ],
)
def test_the_third_rounds_intents_and_their_neighbours(text: str, intent: str) -> None:
    assert parse(text).intent == intent


def test_a_withdrawal_finds_its_ticket_number() -> None:
    assert parse("撤回吹哨 ＷＴ－２０２６－００１２").as_json() == {
        "intent": "withdraw",
        "slots": {"ticket": "WT-2026-0012"},
    }


@pytest.mark.parametrize("text", ["今天几号", "你是谁", "明天天气怎么样"])
def test_questions_the_bot_does_not_answer_are_unknown(text: str) -> None:
    assert (parse(text).intent, parse(text).alternatives) == ("unknown", ())


@pytest.mark.parametrize("text", ["你好", "在吗", "谢谢", "好的收到", "😂😂😂", "👍", "哈哈"])
def test_greetings_thanks_and_reactions_are_small_talk(text: str) -> None:
    assert (parse(text).intent, parse(text).alternatives) == ("smalltalk", ())


def test_small_talk_words_inside_a_complaint_still_report() -> None:
    assert parse("今天几号了，厂里停电还没来").slots == {"category": "utilities"}
    assert parse("村里的道路一下雨就没法走").intent == "report"


def test_a_problem_of_two_equal_categories_is_still_a_report() -> None:
    assert parse("有人侵犯我们的专利，能起诉吗").intent == "report"


def test_a_word_an_admin_adds_to_a_category_counts_before_any_retraining(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    complaint = "区块链溯源系统没人会搭，想找部门支持"
    assert category(complaint) == "other"
    extended = {name: dict(words) for name, words in rules.category_weights().items()}
    extended["talent_tech"]["区块链"] = 3.0
    monkeypatch.setattr(rules, "category_weights", lambda: extended)
    rules.category_scores.cache_clear()
    parsing._category_of.cache_clear()
    try:
        assert category(complaint) == "talent_tech"
        assert parse(complaint).slots == {"category": "talent_tech"}
    finally:
        rules.category_scores.cache_clear()
        parsing._category_of.cache_clear()

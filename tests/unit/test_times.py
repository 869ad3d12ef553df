"""Times people type on a phone, and how they are shown back (bot/core/times.py)."""

from __future__ import annotations

import pytest

from bot.core.clock import local_datetime
from bot.core.text import chinese_number, code_in, digit_runs, fold
from bot.core.times import parse_when, show_when

NOW = local_datetime(2026, 12, 1, 9, 0)  # a Tuesday


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-05 09:30", local_datetime(2026, 12, 5, 9, 30)),
        ("12-05 09:30", local_datetime(2026, 12, 5, 9, 30)),
        ("12月5日 9:30", local_datetime(2026, 12, 5, 9, 30)),
        ("12/5 9：30", local_datetime(2026, 12, 5, 9, 30)),
        ("明天上午9点", local_datetime(2026, 12, 2, 9, 0)),
        ("明天下午两点半", local_datetime(2026, 12, 2, 14, 30)),
        ("12月10日下午2点半", local_datetime(2026, 12, 10, 14, 30)),
        ("下周三 14:00", local_datetime(2026, 12, 9, 14, 0)),
        ("周三下午两点三刻", local_datetime(2026, 12, 2, 14, 45)),
        ("星期天上午10点", local_datetime(2026, 12, 6, 10, 0)),
        ("今晚七点", local_datetime(2026, 12, 1, 19, 0)),
        ("后天晚上8点", local_datetime(2026, 12, 3, 20, 0)),
        ("十点一刻", local_datetime(2026, 12, 1, 10, 15)),
        ("中午12点", local_datetime(2026, 12, 1, 12, 0)),
        ("中午1点", local_datetime(2026, 12, 1, 13, 0)),
        ("12.5 14:00", local_datetime(2026, 12, 5, 14, 0)),
        ("十二月五号上午九点", local_datetime(2026, 12, 5, 9, 0)),
    ],
)
def test_common_chinese_forms(typed: str, expected: object) -> None:
    when = parse_when(typed, NOW)
    assert when is not None and when.moment == expected, typed
    assert when.has_time


def test_a_date_long_past_means_next_year_a_recent_one_stays_past() -> None:
    when = parse_when("1月5日 9:00", NOW)
    assert when is not None and when.moment == local_datetime(2027, 1, 5, 9, 0)
    recent = parse_when("11月28日 9:00", NOW)
    assert recent is not None and recent.moment < NOW  # the caller refuses it


def test_a_day_without_a_clock_time_and_nonsense() -> None:
    day = parse_when("后天", NOW)
    assert day is not None and day.has_date and not day.has_time
    assert parse_when("明天下午", NOW) is not None and not parse_when("明天下午", NOW).has_time  # type: ignore[union-attr]
    assert parse_when("随便", NOW) is None
    assert parse_when("2026-13-40 10:00", NOW) is None
    assert parse_when("25点", NOW) is None


def test_shown_with_the_weekday_and_the_year_only_when_not_this_year() -> None:
    assert show_when(local_datetime(2026, 12, 5, 9, 30), NOW) == "12月05日（周六） 09:30"
    assert show_when(local_datetime(2027, 1, 5, 9, 0), NOW) == "2027年01月05日（周二） 09:00"


def test_text_is_folded_and_codes_read_however_typed() -> None:
    assert fold("签到\u3000１２３４５６，好的") == "签到 123456，好的"
    assert digit_runs("签到 123 456") == ["123456"]
    assert code_in("码是三八二九一零", 6) == "382910"
    assert code_in("123-456", 6) == "123456"
    assert code_in("签到 12345", 6) is None
    assert chinese_number("二十三") == 23 and chinese_number("两") == 2


def test_days_already_past_are_past() -> None:
    for typed in ("昨天下午3点", "前天上午9点", "上周五下午2点", "昨晚八点"):
        when = parse_when(typed, NOW)
        assert when is not None and when.moment < NOW, typed


def test_a_start_and_an_end_typed_together_and_ends_after_noon() -> None:
    from bot.core.times import parse_end, parse_span, show_span

    span = parse_span("下周三下午两点到四点", NOW)
    assert span is not None
    assert (span[0].moment, span[1].moment) == (
        local_datetime(2026, 12, 9, 14, 0),
        local_datetime(2026, 12, 9, 16, 0),
    )
    start = local_datetime(2026, 12, 5, 14, 0)
    end = parse_end("四点", start, NOW)  # people mean the afternoon
    assert end is not None and end.moment == local_datetime(2026, 12, 5, 16, 0)
    clock = parse_end("09:00", local_datetime(2026, 12, 5, 9, 30), NOW)
    assert clock is not None and clock.moment == local_datetime(2026, 12, 5, 9, 0)  # refused later
    later = local_datetime(2026, 12, 10, 14, 30)
    assert show_span(start, later, NOW) == "12月05日（周六） 14:00 至 12月10日（周四） 14:30"

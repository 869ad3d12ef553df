"""Amounts typed in the report's own forms, and written back the way the report writes them."""

from __future__ import annotations

import pytest

from bot.core.money import AmountError, parse_amount, parse_count, show_amount, show_count


@pytest.mark.parametrize(
    ("typed", "fen", "approximate"),
    [
        ("3000余万", 3000_0000_00, True),
        ("3000余万元", 3000_0000_00, True),
        ("1.7亿", 1_7000_0000_00, False),
        ("1.7亿元", 1_7000_0000_00, False),
        ("二百六十万元", 260_0000_00, False),
        ("260余万元", 260_0000_00, True),
        ("2,335万", 2335_0000_00, False),
        ("2335万元", 2335_0000_00, False),
        ("一点七亿", 1_7000_0000_00, False),
        ("1万2千", 1_2000_00, False),
        ("一万零二百", 1_0200_00, False),
        ("一万零五百元", 1_0500_00, False),
        ("1万零200", 1_0200_00, False),
        ("约50万元", 50_0000_00, True),
        ("8600元", 8600_00, False),
        ("８６００ 元", 8600_00, False),
        ("¥1,250.50", 1250_50, False),
        ("五千块", 5000_00, False),
        ("三千多万", 3000_0000_00, True),
        ("３０００余万元", 3000_0000_00, True),
        ("2，335万", 2335_0000_00, False),
        ("两千五百万", 2500_0000_00, False),
        ("一千零五十元", 1050_00, False),
        ("约1.7亿", 1_7000_0000_00, True),
    ],
)
def test_the_reports_figures_parse_to_integer_fen(typed: str, fen: int, approximate: bool) -> None:
    amount = parse_amount(typed)
    assert (amount.fen, amount.approximate) == (fen, approximate), typed
    assert isinstance(amount.fen, int)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-50万", "negative"),
        ("很多钱", "not_a_number"),
        ("1.2.3万", "not_a_number"),
        ("十十", "not_a_number"),
        ("五千亿亿", "too_large"),
    ],
)
def test_bad_input_is_refused_with_a_reason(typed: str, reason: str) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(typed)
    assert refused.value.reason == reason
    with pytest.raises(AmountError):
        parse_amount("万")


def test_counts_of_people_and_things() -> None:
    assert parse_count("37人") == (37, False)
    assert parse_count("三十七名") == (37, False)
    assert parse_count("479余人") == (479, True)
    assert parse_count("13个") == (13, False)
    with pytest.raises(AmountError):
        parse_count("1.5人")


def test_written_the_way_the_report_writes_them() -> None:
    assert show_amount(3000_0000_00, approximate=True) == "3000余万元"
    assert show_amount(2335_0000_00) == "2335万元"
    assert show_amount(1_7000_0000_00) == "1.7亿元"
    assert show_amount(260_0000_00, approximate=True) == "260余万元"
    assert show_amount(12_3500_00) == "12.35万元"
    assert show_amount(8600_00) == "8600元"
    assert show_count(479, "人") == "479人"
    assert show_count(13_000, "人") == "1.3万人"

"""The periods an outcome figure or report is asked for: a year, a quarter, or a run of
quarters (上半年, 前三季度, 二至四季度), in local time."""

from __future__ import annotations

import pytest

from bot.core.clock import local_datetime
from models.outcome import parse_period

NOW = local_datetime(2026, 12, 2, 9, 0)


@pytest.mark.parametrize(
    ("typed", "label", "quarters"),
    [
        ("今年", "2026年", (1, 2, 3, 4)),
        ("三季度", "2026年第三季度", (3,)),
        ("上半年", "2026年上半年", (1, 2)),
        ("2026年下半年", "2026年下半年", (3, 4)),
        ("前三季度", "2026年前三季度", (1, 2, 3)),
        ("一至三季度", "2026年前三季度", (1, 2, 3)),
        ("Q2-Q4", "2026年第二至四季度", (2, 3, 4)),
        ("去年上半年", "2025年上半年", (1, 2)),
    ],
)
def test_periods_as_people_type_them(typed: str, label: str, quarters: tuple[int, ...]) -> None:
    period = parse_period(typed, NOW)
    assert period is not None and (period.label, period.quarters()) == (label, quarters)


def test_a_run_of_quarters_spans_them_in_local_time() -> None:
    period = parse_period("上半年", NOW)
    assert period is not None and not period.single_quarter
    assert period.bounds() == (local_datetime(2026, 1, 1), local_datetime(2026, 7, 1))


@pytest.mark.parametrize("typed", ["3-1季度", "半年", "下个世纪"])
def test_what_is_no_period_is_refused(typed: str) -> None:
    assert parse_period(typed, NOW) is None

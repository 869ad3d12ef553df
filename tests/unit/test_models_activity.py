"""Check-in codes, distances and rotation period arithmetic."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from bot.core.clock import local_datetime
from models.activity import Activity
from models.checkin import code_age, code_at, current_code, distance_m, minute_of
from models.rotation import Period, RotationPlan, align, chair_unit_id, period_bounds, period_index


def test_codes_are_six_digits_and_change_with_the_minute() -> None:
    codes = [code_at("secret", m) for m in range(1000)]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert sum(a == b for a, b in itertools.pairwise(codes)) < 5
    assert code_at("secret", 7) == code_at("secret", 7) != code_at("other", 7)


def test_code_age_accepts_the_current_and_previous_minute() -> None:
    activity = Activity(secret="s" * 64)
    now = local_datetime(2026, 12, 1, 9, 0)
    code = current_code(activity, now)
    assert code_age(activity, code, now, lookback=1) == 0
    assert code_age(activity, code, now + timedelta(seconds=119), lookback=1) == 1
    assert code_age(activity, code, now + timedelta(minutes=2), lookback=1) is None
    assert code_age(activity, code, now + timedelta(minutes=3)) == 3
    assert minute_of(now + timedelta(seconds=59)) == minute_of(now)


def test_haversine_distance() -> None:
    assert round(distance_m(35.55, 118.46, 35.56, 118.46)) == 1112
    assert distance_m(35.55, 118.46, 35.55, 118.46) == 0
    # Beijing to Shanghai, about 1068 km.
    assert 1_060_000 < distance_m(39.9042, 116.4074, 31.2304, 121.4737) < 1_075_000


def _plan(period: Period, first: date) -> RotationPlan:
    return RotationPlan(
        alliance_id=1,
        period=period,
        starts_on=first,
        unit_ids=[1, 2, 3],
        chair_unit_ids=[7, 8],
        chair_starts_on=date(2026, 1, 1),
        chair_term_months=12,
    )


def test_month_periods_follow_local_midnight() -> None:
    plan = _plan(Period.MONTH, date(2026, 12, 1))
    assert period_index(plan, local_datetime(2026, 12, 31, 23, 59)) == 0
    assert period_index(plan, local_datetime(2027, 1, 1, 0, 0)) == 1
    # 2027-01-01 00:00 in Shanghai is still 2026-12-31 in UTC.
    assert period_bounds(plan, 1) == (local_datetime(2027, 1, 1), local_datetime(2027, 2, 1))
    assert period_bounds(plan, 13)[0] == local_datetime(2028, 1, 1)


def test_week_and_quarter_periods() -> None:
    week = _plan(Period.WEEK, align(Period.WEEK, date(2026, 12, 3)))
    assert week.starts_on == date(2026, 11, 30)  # a Monday
    assert period_index(week, local_datetime(2026, 12, 6, 23, 0)) == 0
    assert period_index(week, local_datetime(2026, 12, 7, 0, 0)) == 1
    quarter = _plan(Period.QUARTER, align(Period.QUARTER, date(2026, 12, 3)))
    assert quarter.starts_on == date(2026, 10, 1)
    assert period_index(quarter, local_datetime(2027, 3, 31, 12, 0)) == 1
    assert period_bounds(quarter, 1) == (local_datetime(2027, 1, 1), local_datetime(2027, 4, 1))


def test_the_chair_rotates_on_its_own_term() -> None:
    plan = _plan(Period.MONTH, date(2026, 12, 1))
    assert chair_unit_id(plan, local_datetime(2026, 12, 31, 23, 0)) == 7
    assert chair_unit_id(plan, local_datetime(2027, 1, 1, 0, 0)) == 8
    assert chair_unit_id(plan, local_datetime(2028, 6, 1, 0, 0)) == 7

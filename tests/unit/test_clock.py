"""Time: UTC stored, Asia/Shanghai shown, phone-typed times parsed."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.clock import fmt_local, local_datetime, parse_local


def test_local_display_is_shanghai_time() -> None:
    assert fmt_local(datetime(2026, 12, 1, 1, 30, tzinfo=UTC)) == "12月01日 09:30"


def test_parse_local_variants() -> None:
    now = local_datetime(2026, 12, 1, 9)
    expected = local_datetime(2026, 12, 5, 9, 30)
    for text in ("2026-12-05 09:30", "12-05 09:30", "12月5日 9:30", "12/5 9：30"):
        assert parse_local(text, now) == expected, text
    assert parse_local("1-10 14:00", now) == local_datetime(2027, 1, 10, 14)
    assert parse_local("明天下午", now) is None
    assert parse_local("2026-13-40 10:00", now) is None

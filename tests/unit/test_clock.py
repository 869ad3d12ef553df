"""Time: UTC stored, Asia/Shanghai shown (typed times: test_times.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.clock import fmt_local


def test_local_display_is_shanghai_time() -> None:
    assert fmt_local(datetime(2026, 12, 1, 1, 30, tzinfo=UTC)) == "12月01日 09:30"

"""The one helper for time: UTC inside, Asia/Shanghai (BOT_TIMEZONE) on screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from settings import get_settings


class Clock:
    """Real time; tests use FrozenClock to move it."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


def local_tz() -> ZoneInfo:
    return get_settings().tz


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(local_tz())


def fmt_local(moment: datetime, pattern: str = "%m月%d日 %H:%M") -> str:
    """A short local time for phone screens, e.g. 12月01日 09:30."""
    return to_local(moment).strftime(pattern)


def local_datetime(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC datetime from local wall-clock parts."""
    return datetime(year, month, day, hour, minute, tzinfo=local_tz()).astimezone(UTC)


def add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days after `start` (Saturdays and Sundays skipped; no holidays)."""
    local = to_local(start)
    while days > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            days -= 1
    return local.astimezone(start.tzinfo)

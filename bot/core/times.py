"""Times as people type them on a phone, and as a Chinese reader expects to see them.

`parse_when("下周三下午2点半", now)` understands dates (2026-12-05, 12-05, 12月5日, 12.5),
relative days (今天 明天 后天 大后天 今晚 明早), weekdays (周三 星期三 礼拜三 这周三 下周三),
parts of the day (凌晨 早上 上午 中午 下午 傍晚 晚上) and clock times (9:30, 9点, 9点半,
九点一刻, 两点三刻, 14点05) in Arabic or Chinese numerals. Every dialog that asks for a time
uses it; `show_when` writes a moment back with its weekday, and its year when not this year.

A date without a year that lies more than PAST_DAYS_NEXT_YEAR days back means next year's
(typing 1月5日 in December); a nearer past date stays in the past, so the caller can refuse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core.clock import local_datetime, to_local
from bot.core.text import chinese_number

PAST_DAYS_NEXT_YEAR = 60
WEEKDAYS_ZH = "一二三四五六日"

_NUM = r"(?:\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
_DATE = re.compile(
    rf"(?:(?P<year>\d{{4}})\s*[-/.年]\s*)?(?P<month>{_NUM})\s*[-/.月]\s*(?P<day>{_NUM})\s*[日号]?"
)
_RELATIVE = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_RELATIVE |= {"昨天": -1, "昨日": -1, "前天": -2, "大前天": -3}
_SHORT_DAY = {"今晚": (0, "晚上"), "明早": (1, "早上"), "明晚": (1, "晚上"), "今早": (0, "早上")}
_SHORT_DAY |= {"昨晚": (-1, "晚上"), "昨早": (-1, "早上")}
_WEEKDAY = re.compile(
    r"(?P<which>这|本|下下|下|上上|上)?\s*(?:个)?\s*(?:周|星期|礼拜)(?P<day>[一二三四五六日天1-7])"
)
# 下午两点到四点, 14:00-16:00, 9点至11点半: a start and an end in one message.
_RANGE = re.compile(r"(.+?)\s*(?:到|至|~|～|—|－|-(?=\s*\d{1,2}\s*[:：点]))\s*(.+)")
_PART = re.compile(r"凌晨|清早|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|晚")
_CLOCK = re.compile(
    rf"(?P<hour>{_NUM})\s*(?:[:：]\s*(?P<minute>\d{{1,2}})|[点时]\s*"
    rf"(?:(?P<half>半)|(?P<quarter>[一三])刻|(?P<minute2>{_NUM})\s*分?)?)"
)


@dataclass(frozen=True)
class When:
    """A typed time: the moment (UTC) and whether the text named a day and a clock time."""

    moment: datetime
    has_date: bool
    has_time: bool


def parse_when(text: str, now: datetime, *, on_day: date | None = None) -> When | None:
    """The moment a typed text names, or None when it names none.

    Without a day the time is on `on_day` (an end time on the start's day) or today.
    """
    cleaned = re.sub(r"\s+", " ", text.strip())
    if not cleaned:
        return None
    local_now = to_local(now)
    day, part, rest = _day_of(cleaned, local_now)
    has_date = day is not None
    if day is None and _DATE.search(cleaned):
        return None  # a date was written, but no such day exists (13月40日)
    if day is None:
        day = on_day or local_now.date()
    clock = _clock_of(rest, part)
    if clock is None:
        if not has_date:
            return None
        return When(local_datetime(day.year, day.month, day.day, 0, 0), True, False)
    hour, minute = clock
    try:
        moment = local_datetime(day.year, day.month, day.day, hour, minute)
    except ValueError:
        return None
    return When(moment, has_date, True)


def _day_of(text: str, local_now: datetime) -> tuple[date | None, str, str]:
    """The day the text names, a part of the day it implies (今晚), and the text left over."""
    for word, (offset, part) in _SHORT_DAY.items():
        if word in text:
            return local_now.date() + timedelta(days=offset), part, text.replace(word, " ")
    for word in sorted(_RELATIVE, key=len, reverse=True):
        if word in text:
            day = local_now.date() + timedelta(days=_RELATIVE[word])
            return day, "", text.replace(word, " ")
    weekday = _WEEKDAY.search(text)
    if weekday:
        day = _weekday(weekday.group("which") or "", weekday.group("day"), local_now.date())
        return day, "", text[: weekday.start()] + " " + text[weekday.end() :]
    found = _DATE.search(text)
    if found:
        day = _date(found, local_now.date())
        if day is not None:
            return day, "", text[: found.start()] + " " + text[found.end() :]
    return None, "", text


def _weekday(which: str, name: str, today: date) -> date:
    if name.isdigit():
        target = int(name) - 1
    else:
        target = 6 if name in "日天" else "一二三四五六".index(name)
    monday = today - timedelta(days=today.weekday())
    weeks = {"下": 1, "下下": 2, "上": -1, "上上": -2}.get(which, 0)
    day = monday + timedelta(weeks=weeks, days=target)
    if not which and day < today:  # a bare 周三 after Wednesday: the next one
        day += timedelta(weeks=1)
    return day


def _date(found: re.Match[str], today: date) -> date | None:
    month, day = chinese_number(found.group("month")), chinese_number(found.group("day"))
    if month is None or day is None:
        return None
    year = int(found.group("year")) if found.group("year") else today.year
    try:
        result = date(year, month, day)
    except ValueError:
        return None
    if not found.group("year") and result < today - timedelta(days=PAST_DAYS_NEXT_YEAR):
        try:
            result = date(year + 1, month, day)
        except ValueError:
            return None
    return result


def _clock_of(text: str, part: str) -> tuple[int, int] | None:
    """Hour and minute of a clock time, moved to the afternoon by 下午/晚上."""
    named = _PART.search(text)
    part = named.group(0) if named else part
    found = _CLOCK.search(text)
    if found is None:
        return None
    hour = chinese_number(found.group("hour"))
    if hour is None:
        return None
    minute = 0
    if found.group("minute") is not None:
        minute = int(found.group("minute"))
    elif found.group("half"):
        minute = 30
    elif found.group("quarter"):
        minute = 15 if found.group("quarter") == "一" else 45
    elif found.group("minute2") is not None:
        minute = chinese_number(found.group("minute2")) or 0
    if part in ("下午", "傍晚", "晚上", "夜里", "晚") and hour < 12:
        hour += 12
    elif part == "中午" and hour < 6:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour, minute


def parse_span(text: str, now: datetime) -> tuple[When, When] | None:
    """A start and an end typed together (下周三下午两点到四点, 12-05 09:30-11:30); an end
    without a day is on the start's day, and without 上午/下午 it follows the start's half."""
    found = _RANGE.fullmatch(text.strip())
    if found is None:
        return None
    start = parse_when(found.group(1), now)
    if start is None or not start.has_time:
        return None
    end = parse_end(found.group(2), start.moment, now)
    return (start, end) if end is not None else None


def parse_end(text: str, starts_at: datetime, now: datetime) -> When | None:
    """An end time: on the start's day unless a day is named; 四点 after a 14:00 start is 16:00."""
    end = parse_when(text, now, on_day=to_local(starts_at).date())
    if end is None or not end.has_time:
        return None
    spoken = not re.search(r"\d[:：]\d", text)  # 四点, 4点半; not 04:00, which is a clock
    if end.moment <= starts_at and not end.has_date and spoken and not _PART.search(text):
        later = end.moment + timedelta(hours=12)
        if to_local(later).date() == to_local(starts_at).date() and later > starts_at:
            return When(later, end.has_date, True)
    return end


def show_span(starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    """12月05日（周六） 09:30-11:30; an end on another day shows its day too."""
    start, end = to_local(starts_at), to_local(ends_at)
    if start.date() == end.date():
        return f"{show_when(starts_at, now)}-{end:%H:%M}"
    return f"{show_when(starts_at, now)} 至 {show_when(ends_at, now)}"


def show_when(moment: datetime, now: datetime, *, clock: bool = True) -> str:
    """12月05日（周六）09:30; the year is written when it is not this year's."""
    local, this_year = to_local(moment), to_local(now).year
    day = f"{local:%m月%d日}（周{WEEKDAYS_ZH[local.weekday()]}）"
    if local.year != this_year:
        day = f"{local.year}年" + day
    return f"{day} {local:%H:%M}" if clock else day

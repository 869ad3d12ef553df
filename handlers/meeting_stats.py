"""Meeting and decision figures as /stats and the weekly digest print them (the figures are
models.meeting_figures')."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.meeting_figures import meeting_figures, overdue_items, quarter_bounds
from models.scope import Scope

QUARTER = (
    "会议（{year}年第{q}季度）：召开 {held} 场，{held_in}/{alliances} 个联盟召开（平均每联盟 "
    "{per} 场），出席率 {rate}；决议 {decisions} 项，按时落实 {on_time} 项，逾期落实 {late} 项，"
    "逾期未完成 {overdue} 项"
)
NOT_HELD = "本季度尚未召开会议的联盟：{names}"
MORE = "等 {count} 个"
WEEK = "会议 {held} 场，出席率 {rate}，形成决议 {decisions} 项；逾期未落实的决议 {overdue} 项"
LISTED = 6


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


async def quarter_lines(session: AsyncSession, scope: Scope, now: datetime) -> list[str]:
    """This quarter's meetings per alliance, attendance, decisions made, on time, overdue."""
    start, end, year, quarter = quarter_bounds(now)
    f = await meeting_figures(session, scope, since=start, until=end, now=now)
    lines = [
        QUARTER.format(
            year=year,
            q="一二三四"[quarter - 1],
            held=f.held,
            held_in=f.alliances_held,
            alliances=f.alliances,
            per="—" if f.per_alliance is None else f"{f.per_alliance:.1f}",
            rate=_pct(f.attendance_rate),
            decisions=f.decisions,
            on_time=f.done_on_time,
            late=f.done_late,
            overdue=f.overdue,
        )
    ]
    if f.not_held and f.alliances > 1:
        names = "、".join(f.not_held[:LISTED])
        if len(f.not_held) > LISTED:
            names += MORE.format(count=len(f.not_held))
        lines.append(NOT_HELD.format(names=names))
    return lines


async def week_line(
    session: AsyncSession, scope: Scope, start: datetime, end: datetime, now: datetime
) -> str:
    """The digest's line: last week's meetings and decisions, the items overdue now."""
    f = await meeting_figures(session, scope, since=start, until=end, now=now)
    return WEEK.format(
        held=f.held,
        rate=_pct(f.attendance_rate),
        decisions=f.decisions,
        overdue=await overdue_items(session, scope, now),
    )

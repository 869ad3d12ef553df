"""/myrecord, /attendance (figures and the .xlsx), and the mobile members' monthly summary."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Reply
from bot.core.clock import fmt_local, local_datetime, to_local
from handlers.context import Context
from handlers.files import outgoing, stamp
from models.activity import Activity, get_activity, live
from models.checkin import METHOD_ZH, attendance, member_checkins
from models.export import export_attendance
from models.member import Member
from models.outbox import enqueue
from models.rotation import unit_secretary
from settings import Settings

RECORD_TITLE = "📋 {year} 年您的签到记录（共 {count} 次）："
RECORD_EMPTY = "{year} 年您还没有签到记录。"
ATTEND_NONE = "您还没有可以查看签到情况的活动。"
ATTEND_HEAD = (
    "📊 《{title}》签到情况（编号 {id}，{start}）\n"
    "应到 {expected} 人，已签到 {local} 人，签到率 {rate:.0%}"
)
ATTEND_GUESTS = "另有流动党员 {count} 人参加。"
ATTEND_ABSENT = "未签到（{count} 人）：{names}"
ATTEND_OTHERS = "查看其他活动：发送“签到情况 编号”，例如：签到情况 3"
ATTEND_FILE = "签到表（Excel）"


async def my_record(ctx: Context) -> list[Reply]:
    """The sender's check-ins this year."""
    year = to_local(ctx.now).year
    rows = await member_checkins(
        ctx.session, member_id=ctx.me.id, since=local_datetime(year, 1, 1)
    )
    if not rows:
        return [Reply(RECORD_EMPTY.format(year=year))]
    lines = [RECORD_TITLE.format(year=year, count=len(rows))]
    lines += [
        f"· {fmt_local(c.at)} 《{c.activity.title}》"
        f"（{c.activity.alliance.name}，{METHOD_ZH[c.method]}）"
        for c in rows
    ]
    return [Reply("\n".join(lines))]


async def show(ctx: Context, activity: str = "") -> list[Reply]:
    """Who checked in, how and when, who did not, the rate; and the sheet as a file."""
    typed = activity or ("" if ctx.incoming.text.startswith("/") else ctx.incoming.text)
    number = re.search(r"\d+", typed)
    target = await _attendance_target(ctx, number.group(0) if number else "")
    if target is None:
        return [Reply(ATTEND_NONE)]
    figures = await attendance(ctx.session, target)
    local = len(figures.present) - len(figures.guests)
    lines = [
        ATTEND_HEAD.format(
            title=target.title,
            id=target.id,
            start=fmt_local(target.starts_at),
            expected=figures.expected,
            local=local,
            rate=figures.rate,
        )
    ]
    lines += [
        f"✅ {c.member.name} {fmt_local(c.at, '%H:%M')} {METHOD_ZH[c.method]}"
        + ("（流动党员）" if c in figures.guests else "")
        for c in figures.present
    ]
    if figures.guests:
        lines.append(ATTEND_GUESTS.format(count=len(figures.guests)))
    if figures.absent:
        names = "、".join(m.name for m in figures.absent[:30])
        more = " 等" if len(figures.absent) > 30 else ""
        lines.append(ATTEND_ABSENT.format(count=len(figures.absent), names=names + more))
    lines.append(ATTEND_OTHERS)
    path = outgoing("签到表", target.title, stamp(target.starts_at), suffix=".xlsx")
    await export_attendance(session=ctx.session, path=path, activity_ids=[target.id])
    return [Reply("\n".join(lines)), Reply(ATTEND_FILE, file=path)]


async def _attendance_target(ctx: Context, wanted: str) -> Activity | None:
    if wanted.isdigit():
        activity = await get_activity(ctx.session, int(wanted))
        return activity if activity is not None and ctx.me.may_manage(activity) else None
    opens = ctx.now + timedelta(minutes=ctx.settings.CHECKIN_OPENS_MINUTES_BEFORE)
    stmt = (
        select(Activity.id)
        .where(Activity.starts_at <= opens, live())
        .order_by(Activity.starts_at.desc())
    )
    for activity_id in (await ctx.session.execute(stmt.limit(200))).scalars():
        activity = await get_activity(ctx.session, activity_id)
        if activity is not None and ctx.me.may_manage(activity):
            return activity
    return None


async def mobile_summary(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Sweep: last month's check-ins of each unit's mobile members, to the unit's secretary."""
    local = to_local(now)
    this_month = local_datetime(local.year, local.month, 1)
    prev = to_local(this_month - timedelta(days=1))
    since = local_datetime(prev.year, prev.month, 1)
    stmt = select(Member).where(Member.is_mobile.is_(True), Member.home_unit_id.is_not(None))
    by_unit: dict[int, list[Member]] = {}
    for m in (await session.execute(stmt.order_by(Member.id))).scalars():
        by_unit.setdefault(m.home_unit_id or 0, []).append(m)
    for unit_id, people in by_unit.items():
        secretary = await unit_secretary(session, unit_id)
        if secretary is None:
            continue
        lines = [f"📮 {prev.year} 年 {prev.month} 月本单位流动党员参加活动情况："]
        for m in people:
            rows = await member_checkins(session, member_id=m.id, since=since, until=this_month)
            titles = "、".join(f"《{c.activity.title}》" for c in rows) or "未参加活动"
            lines.append(f"· {m.name}（{m.workplace or '外出'}）：{len(rows)} 次 {titles}")
        await enqueue(
            session=session,
            member_id=secretary.id,
            reply=Reply("\n".join(lines)),
            now=now,
            kind="mobile_summary",
            dedupe_key=f"mobile-summary:{unit_id}:{prev.year}-{prev.month:02d}",
        )

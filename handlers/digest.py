"""The weekly digest to admins (a sweep) and /export: the .xlsx files sent in chat."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Reply, Role
from bot.core.clock import fmt_local, local_datetime, to_local
from handlers import results_lines
from handlers.context import Context
from handlers.files import outgoing, stamp
from handlers.meeting_stats import week_line
from handlers.partnership_figures import lines as partnership_lines
from handlers.stats import pct, scope_label, volunteer_lines
from models.export import (
    export_attendance,
    export_members,
    export_notices,
    export_resources,
    export_tickets,
)
from models.member import Member, MemberRole
from models.org import Alliance
from models.outbox import enqueue
from models.scope import Scope
from models.stats import activity_figures, notice_figures, overdue_tickets
from models.ticket import Ticket
from settings import Settings

DIGEST_KIND = "weekly_digest"
DIGEST_HOUR = 8  # Monday, local time: the digest covers the week that just ended
DIGEST_HEAD = "🗓️ 上周（{start}—{end}）{scope}数据周报"
DIGEST_ACTIVITIES = "活动 {held} 场，参与率 {rate}"
DIGEST_TICKETS = "新吹哨 {filed} 件，办结 {resolved} 件"
DIGEST_NOTICES = "通知 {notices} 条，送达 {delivered}/{recipients} 人次，确认率 {rate}"
DIGEST_OVERDUE = "⚠️ 超期工单 {count} 件："
DIGEST_NO_OVERDUE = "✅ 没有超期工单。"
OVERDUE_KIND = {"sign": "未签收", "resolve": "未办结"}
MORE = "……等 {count} 件，发送“工单”查看。"
EXPORT_USAGE = "导出哪一份？点下面的按钮，或发送：导出 成员 / 签到 / 工单 / 通知 / 资源。"
EXPORT_DONE = "{label}（{rows} 行）"

Exporter = Callable[..., Awaitable[int]]
EXPORTS: dict[str, tuple[str, Exporter]] = {
    "members": ("成员名单", export_members),
    "attendance": ("签到记录", export_attendance),
    "tickets": ("吹哨工单", export_tickets),
    "notices": ("通知确认情况", export_notices),
    "resources": ("资源清单", export_resources),
}
ALIASES = {
    "成员": "members",
    "名单": "members",
    "党员": "members",
    "工单": "tickets",
    "吹哨": "tickets",
    "通知": "notices",
    "回执": "notices",
    "签到": "attendance",
    "考勤": "attendance",
    "出勤": "attendance",
    "资源": "resources",
}
KIND_BUTTONS = (("成员名单", "members"), ("签到记录", "attendance"), ("吹哨工单", "tickets"))
KIND_BUTTONS += (("通知确认", "notices"), ("资源清单", "resources"))


async def export(ctx: Context, kind: str = "") -> list[Reply]:
    """An .xlsx of members, attendance, tickets, notices or resources within the admin's
    scope, named for people (吹哨工单-食品产业链党建红色联盟-20261201-0900.xlsx)."""
    kind = _kind_of(kind or ("" if ctx.incoming.text.startswith("/") else ctx.incoming.text))
    if kind not in EXPORTS:
        buttons = tuple(Button(label, "export", kind=value) for label, value in KIND_BUTTONS)
        return [Reply(EXPORT_USAGE, buttons)]
    scope = ctx.me.admin_scope()
    label, writer = EXPORTS[kind]
    path = outgoing(label, await _scope_name(ctx, scope), stamp(ctx.now), suffix=".xlsx")
    extra = {"now": ctx.now} if kind == "tickets" else {}
    rows = await writer(session=ctx.session, path=path, scope=scope, **extra)
    return [Reply(EXPORT_DONE.format(label=label, rows=rows), file=path)]


async def _scope_name(ctx: Context, scope: Scope) -> str:
    """全县, the alliance's name, or the first of several and how many."""
    if scope.county:
        return "全县"
    names = list(
        await ctx.session.scalars(
            select(Alliance.name).where(scope.where(Alliance.id)).order_by(Alliance.id)
        )
    )
    return names[0] if len(names) == 1 else f"{names[0]}等{len(names)}个联盟"


def _kind_of(text: str) -> str:
    """members, attendance, tickets, notices or resources, named in English or in Chinese."""
    text = text.strip().lower()
    if text in EXPORTS:
        return text
    return next((kind for word, kind in ALIASES.items() if word in text), text)


def last_week(now: datetime) -> tuple[datetime, datetime, str]:
    """UTC bounds of the local ISO week before `now`'s, and its key (e.g. 2026-W48)."""
    local = to_local(now)
    monday = local.date() - timedelta(days=local.weekday())
    end = local_datetime(monday.year, monday.month, monday.day)
    start = end - timedelta(weeks=1)
    year, week, _ = to_local(start).isocalendar()
    return start, end, f"{year}-W{week:02d}"


async def weekly(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Sweep: each admin gets last week's figures and the overdue tickets once per ISO week."""
    local = to_local(now)
    if local.weekday() == 0 and local.hour < DIGEST_HOUR:
        return
    start, end, week = last_week(now)
    for member, scope in await _admins(session):
        text = await digest_text(session, scope, start, end, now)
        await enqueue(
            session=session,
            member_id=member.id,
            reply=Reply(text),
            now=now,
            kind=DIGEST_KIND,
            dedupe_key=f"digest:{member.id}:{week}",
        )


async def _admins(session: AsyncSession) -> list[tuple[Member, Scope]]:
    ids = select(MemberRole.member_id).where(
        MemberRole.role.in_([Role.ALLIANCE_ADMIN, Role.SUPER_ADMIN])
    )
    members = await session.execute(select(Member).where(Member.id.in_(ids)).order_by(Member.id))
    return [(m, m.admin_scope()) for m in members.scalars() if not m.admin_scope().empty]


async def digest_text(
    session: AsyncSession,
    scope: Scope,
    start: datetime,
    end: datetime,
    now: datetime,
) -> str:
    """The digest: the week's activities, tickets and notices, then what is overdue now."""
    acts = await activity_figures(session, scope, since=start, until=end)
    notes = await notice_figures(session, scope, since=start, until=end)
    filed, resolved = await _week_tickets(session, scope, start, end)
    last = end - timedelta(days=1)
    lines = [
        DIGEST_HEAD.format(
            start=fmt_local(start, "%m月%d日"),
            end=fmt_local(last, "%m月%d日"),
            scope=scope_label(scope),
        ),
        DIGEST_ACTIVITIES.format(held=acts.held, rate=pct(acts.rate)),
        DIGEST_TICKETS.format(filed=filed, resolved=resolved),
        DIGEST_NOTICES.format(
            notices=notes.notices,
            delivered=notes.delivered,
            recipients=notes.recipients,
            rate=pct(notes.rate),
        ),
        await week_line(session, scope, start, end, now),
    ]
    lines += await results_lines.week_lines(session, scope, start, end, now)
    # A ticket past both deadlines is one overdue ticket: counted once, both named.
    late: dict[int, tuple[Ticket, list[str]]] = {}
    for ticket, kind in await overdue_tickets(session, scope, now):
        late.setdefault(ticket.id, (ticket, []))[1].append(OVERDUE_KIND[kind])
    if not late:
        lines.append(DIGEST_NO_OVERDUE)
    else:
        lines.append(DIGEST_OVERDUE.format(count=len(late)))
    for ticket, kinds in sorted(late.values(), key=lambda v: v[0].id)[:10]:
        department = ticket.department.name if ticket.department else "待分派"
        lines.append(f"· {ticket.number} {department} {'、'.join(kinds)}")
    if len(late) > 10:
        lines.append(MORE.format(count=len(late)))
    lines += await volunteer_lines(session, scope, now)
    lines += await partnership_lines(session, scope, now)
    return "\n".join(lines)


async def _week_tickets(
    session: AsyncSession, scope: Scope, start: datetime, end: datetime
) -> tuple[int, int]:
    """Tickets filed and tickets resolved within [start, end)."""
    counts = []
    for column in (Ticket.created_at, Ticket.resolved_at):
        stmt = select(func.count()).where(column >= start, column < end)
        stmt = stmt.where(scope.where(Ticket.alliance_id))
        counts.append(await session.scalar(stmt) or 0)
    return counts[0], counts[1]

"""Ticket deadlines sweep: remind officers, escalate (督办) overdue tickets, daily digest."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Reply, Role
from bot.core.clock import fmt_local, to_local
from handlers.ticket_text import summary
from models.member import MemberRole
from models.outbox import enqueue
from models.ticket import Ticket, admin_ids, officer_ids
from models.ticket_deadlines import due_for_reminder, overdue, record_escalation
from settings import Settings

REMIND = {
    "sign": "⏰ 提醒：{number} 需在 {due} 前签收（部门报到）。",
    "resolve": "⏰ 提醒：{number} 需在 {due} 前办结。",
}
ESCALATE = {
    "sign": "🚨 督办：{number}（{department}）超过签收时限 {due}，仍未签收。",
    "resolve": "🚨 督办：{number}（{department}）超过办结时限 {due}，仍未办结。",
}
ESCALATED_FOR_OFFICER = "🚨 {number} 已超时（{due}），已报联盟和县级督办，请尽快办理。"
DIGEST_TITLE = "📋 {date} 超时工单 {count} 件："
DIGEST_HOUR = 8  # local time after which the day's digest goes out


async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Reminders before deadlines, escalation past them, one digest a day per admin."""
    for ticket, kind in await due_for_reminder(session, now):
        due = ticket.sign_due_at if kind == "sign" else ticket.resolve_due_at
        reply = Reply(
            REMIND[kind].format(number=ticket.number, due=fmt_local(due)),
            (Button("查看", "tickets.view", ticket=ticket.id),),
        )
        officers = await officer_ids(session, ticket.department_id)
        await _send_once(session, officers, reply, now, ticket, "ticket_remind", f"remind-{kind}")
    late = await overdue(session, now)
    for ticket, kind in late:
        if ticket.sign_escalated_at if kind == "sign" else ticket.resolve_escalated_at:
            continue
        await _escalate(session, ticket, kind, now)
    if to_local(now).hour >= DIGEST_HOUR and late:
        await _digest(session, late, now)


async def _escalate(session: AsyncSession, ticket: Ticket, kind: str, now: datetime) -> None:
    due = fmt_local(ticket.sign_due_at if kind == "sign" else ticket.resolve_due_at)
    department = ticket.department.name if ticket.department else "待分派"
    await record_escalation(session=session, ticket=ticket, kind=kind, now=now)
    view = (Button("查看", "tickets.view", ticket=ticket.id),)
    to_admins = Reply(
        ESCALATE[kind].format(number=ticket.number, department=department, due=due), view
    )
    admins = await admin_ids(session, ticket.alliance_id)
    await _send_once(
        session, admins, to_admins, now, ticket, "ticket_escalate", f"escalate-{kind}"
    )
    to_officers = Reply(ESCALATED_FOR_OFFICER.format(number=ticket.number, due=due), view)
    officers = await officer_ids(session, ticket.department_id)
    await _send_once(
        session, officers, to_officers, now, ticket, "ticket_escalate", f"escalate-{kind}"
    )


async def _send_once(
    session: AsyncSession,
    member_ids: Iterable[int],
    reply: Reply,
    now: datetime,
    ticket: Ticket,
    kind: str,
    tag: str,
) -> None:
    """One outbox message per member, never twice for the same ticket and tag."""
    for member_id in member_ids:
        await enqueue(
            session=session,
            member_id=member_id,
            reply=reply,
            now=now,
            kind=kind,
            ref_id=ticket.id,
            dedupe_key=f"ticket:{ticket.id}:{tag}:{member_id}",
        )


async def _digest(session: AsyncSession, late: list[tuple[Ticket, str]], now: datetime) -> None:
    """Each admin gets the overdue tickets of their scope, once per local day."""
    day = to_local(now).date()
    rows = (
        await session.execute(
            select(MemberRole.member_id, MemberRole.role, MemberRole.alliance_id).where(
                MemberRole.role.in_([Role.SUPER_ADMIN, Role.ALLIANCE_ADMIN])
            )
        )
    ).all()
    supers = {member_id for member_id, role, _ in rows if role == Role.SUPER_ADMIN}
    alliances: dict[int, set[int]] = {}
    for member_id, role, alliance_id in rows:
        if role == Role.ALLIANCE_ADMIN and alliance_id is not None:
            alliances.setdefault(member_id, set()).add(alliance_id)
    for member_id in sorted(supers | alliances.keys()):
        scope = None if member_id in supers else alliances[member_id]
        mine = list(dict.fromkeys(t for t, _ in late if scope is None or t.alliance_id in scope))
        if not mine:
            continue
        lines = [DIGEST_TITLE.format(date=day.strftime("%m月%d日"), count=len(mine))]
        lines += [f"{i}. {summary(t)}" for i, t in enumerate(mine[:20], 1)]
        await enqueue(
            session=session,
            member_id=member_id,
            reply=Reply("\n".join(lines)),
            now=now,
            kind="ticket_digest",
            dedupe_key=f"ticket-digest:{day.isoformat()}:{member_id}",
        )

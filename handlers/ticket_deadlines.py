"""Ticket deadlines sweep: remind officers, escalate (督办) overdue tickets, daily digest.

Who is told comes from the table `TOLD` ("remind", "escalate") and what they read from
handlers.ticket_text, as for every other ticket event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Role
from bot.core.clock import to_local
from handlers.ticket_text import messages, overdue_digest
from models.member import MemberRole
from models.outbox import enqueue
from models.ticket import Ticket
from models.ticket_deadlines import due_for_reminder, overdue, record_escalation
from settings import Settings

DIGEST_HOUR = 8  # local time after which the day's digest goes out


async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Reminders before deadlines, escalation past them, one digest a day per admin."""
    for ticket, deadline in await due_for_reminder(session, now):
        await _tell_once(session, ticket, "remind", deadline, now)
    late = await overdue(session, now)
    for ticket, deadline in late:
        if ticket.sign_escalated_at if deadline == "sign" else ticket.resolve_escalated_at:
            continue
        await record_escalation(session=session, ticket=ticket, kind=deadline, now=now)
        await _tell_once(session, ticket, "escalate", deadline, now)
    if to_local(now).hour >= DIGEST_HOUR and late:
        await _digest(session, late, now)


async def _tell_once(
    session: AsyncSession, ticket: Ticket, event: str, deadline: str, now: datetime
) -> None:
    """Tell those TOLD of a deadline event, never twice for the same ticket and deadline.

    Kinds and keys: ticket_remind / ticket_escalate, "ticket:<id>:remind-sign:<member id>".
    """
    told = await messages(session=session, ticket=ticket, event=event, note=deadline, actor=None)
    for member_id, reply in told:
        await enqueue(
            session=session,
            member_id=member_id,
            reply=reply,
            now=now,
            kind=f"ticket_{event}",
            ref_id=ticket.id,
            dedupe_key=f"ticket:{ticket.id}:{event}-{deadline}:{member_id}",
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
        await enqueue(
            session=session,
            member_id=member_id,
            reply=overdue_digest(day, mine),
            now=now,
            kind="ticket_digest",
            dedupe_key=f"ticket-digest:{day.isoformat()}:{member_id}",
        )

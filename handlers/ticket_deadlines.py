"""Ticket deadlines sweep: remind officers, escalate (督办) overdue tickets, daily digest.

Escalations are gathered: whoever is told of several in one sweep gets one message.

Who is told comes from the table `TOLD` ("remind", "escalate") and what they read from
handlers.ticket_text, as for every other ticket event.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Role
from bot.core.clock import to_local
from handlers.ticket_text import gathered_escalations, messages, overdue_digest
from models.member import MemberRole
from models.outbox import enqueue
from models.ticket import Audience, Ticket, told
from models.ticket_deadlines import due_for_reminder, overdue, record_escalation
from settings import Settings

DIGEST_HOUR = 8  # local time after which the day's digest goes out


async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Reminders before deadlines, escalation past them (one message per person per sweep,
    listing every ticket escalated for them), one digest a day per admin."""
    for ticket, deadline in await due_for_reminder(session, now):
        await _remind_once(session, ticket, deadline, now)
    late = await overdue(session, now)
    gathered: dict[int, list[tuple[Ticket, str, Audience]]] = {}
    for ticket, deadline in late:
        if ticket.sign_escalated_at if deadline == "sign" else ticket.resolve_escalated_at:
            continue
        await record_escalation(session=session, ticket=ticket, kind=deadline, now=now)
        for audience, member_ids in await told(session=session, ticket=ticket, event="escalate"):
            for member_id in member_ids:
                items = gathered.setdefault(member_id, [])
                if all(t.id != ticket.id or d != deadline for t, d, _ in items):
                    items.append((ticket, deadline, audience))
    for member_id, items in gathered.items():
        await _send_escalations(session, member_id, items, now)
    if to_local(now).hour >= DIGEST_HOUR and late:
        await _digest(session, late, now)


async def _remind_once(
    session: AsyncSession, ticket: Ticket, deadline: str, now: datetime
) -> None:
    """Tell those TOLD of "remind", never twice for the same ticket and deadline (a re-routed
    ticket's new deadline is another one).

    Kind and key: ticket_remind, "ticket:<id>:remind-sign-<due>:<member id>".
    """
    due = ticket.sign_due_at if deadline == "sign" else ticket.resolve_due_at
    told_now = await messages(
        session=session, ticket=ticket, event="remind", note=deadline, actor=None
    )
    for member_id, reply in told_now:
        await enqueue(
            session=session,
            member_id=member_id,
            reply=reply,
            now=now,
            kind="ticket_remind",
            ref_id=ticket.id,
            dedupe_key=f"ticket:{ticket.id}:remind-{deadline}-{due:%Y%m%d%H%M}:{member_id}",
        )


async def _send_escalations(
    session: AsyncSession,
    member_id: int,
    items: list[tuple[Ticket, str, Audience]],
    now: datetime,
) -> None:
    """One message with this sweep's escalations for one person (kind ticket_escalate)."""
    tag = ",".join(f"{t.id}-{d}" for t, d, _ in items)
    digest = hashlib.sha1(tag.encode()).hexdigest()[:16]
    await enqueue(
        session=session,
        member_id=member_id,
        reply=gathered_escalations(items),
        now=now,
        kind="ticket_escalate",
        ref_id=items[0][0].id if len(items) == 1 else None,
        dedupe_key=f"ticket-escalate:{member_id}:{digest}",
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
            reply=overdue_digest(day, mine, now),
            now=now,
            kind="ticket_digest",
            dedupe_key=f"ticket-digest:{day.isoformat()}:{member_id}",
        )

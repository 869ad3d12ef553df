"""Ticket deadlines: working days, the reminder lead times, what is due for a reminder or
overdue, and 督办 (escalation) recorded once per deadline.

Both deadlines count from the latest dispatch: `file_ticket` sets them at submission, and
routing the ticket again (改派, possibly as another category) starts them over from then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.ticket import OPEN_STATES, UNSIGNED_STATES, Ticket, new_event
from models.ticket import TicketState as S

REMIND_BEFORE_SIGN = timedelta(hours=4)
REMIND_BEFORE_RESOLVE = timedelta(days=1)


def late_deadlines(ticket: Ticket, now: datetime) -> list[str]:
    """The deadlines of an open ticket that have passed: 'sign', 'resolve' (none when closed);
    the same rule as `overdue`, for one ticket."""
    late = []
    if ticket.state in UNSIGNED_STATES and ticket.sign_due_at <= now:
        late.append("sign")
    if ticket.state in OPEN_STATES and ticket.resolve_due_at <= now:
        late.append("resolve")
    return late


async def due_for_reminder(session: AsyncSession, now: datetime) -> list[tuple[Ticket, str]]:
    """(ticket, 'sign'|'resolve') whose deadline comes within the reminder lead time."""
    sign = select(Ticket).where(
        Ticket.state == S.DISPATCHED,
        Ticket.sign_due_at > now,
        Ticket.sign_due_at <= now + REMIND_BEFORE_SIGN,
    )
    resolve = select(Ticket).where(
        Ticket.state.in_([S.DISPATCHED, S.SIGNED, S.IN_PROGRESS]),
        Ticket.resolve_due_at > now,
        Ticket.resolve_due_at <= now + REMIND_BEFORE_RESOLVE,
    )
    return [(t, "sign") for t in (await session.execute(sign)).scalars()] + [
        (t, "resolve") for t in (await session.execute(resolve)).scalars()
    ]


async def overdue(session: AsyncSession, now: datetime) -> list[tuple[Ticket, str]]:
    """(ticket, 'sign'|'resolve') past a deadline, whether escalated already or not."""
    sign = select(Ticket).where(Ticket.state.in_(list(UNSIGNED_STATES)), Ticket.sign_due_at <= now)
    resolve = select(Ticket).where(
        Ticket.state.in_(list(OPEN_STATES)), Ticket.resolve_due_at <= now
    )
    rows = [(t, "sign") for t in (await session.execute(sign.order_by(Ticket.id))).scalars()]
    rows += [
        (t, "resolve") for t in (await session.execute(resolve.order_by(Ticket.id))).scalars()
    ]
    return rows


async def record_escalation(
    *, session: AsyncSession, ticket: Ticket, kind: str, now: datetime
) -> None:
    """督办: mark the ticket escalated for `kind` ('sign' or 'resolve') once."""
    if kind == "sign":
        ticket.sign_escalated_at = now
    else:
        ticket.resolve_escalated_at = now
    session.add(new_event(ticket, "escalate", None, now, ticket.state, kind))
    await session.flush()

"""Ticket figures for /ticketstats and /stats: counts by state, category and department, the
resolution rate, the median signing and resolving times, and satisfaction."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.scope import Scope
from models.ticket import UNCOUNTED_STATES, Rating, Ticket, TicketState


@dataclass
class TicketFigures:
    total: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    by_department: Counter[str] = field(default_factory=Counter)
    resolution_rate: float | None = None
    median_sign_hours: float | None = None
    median_resolve_hours: float | None = None
    ratings: Counter[str] = field(default_factory=Counter)
    satisfaction: float | None = None


async def ticket_figures(session: AsyncSession, scope: Scope = Scope.COUNTY) -> TicketFigures:
    """Counts by state, category and department; resolution rate; medians; satisfaction."""
    stmt = select(Ticket).options(selectinload(Ticket.department))
    stmt = stmt.where(scope.where(Ticket.alliance_id))
    tickets = list((await session.execute(stmt)).scalars())
    figures = TicketFigures(total=len(tickets))
    for t in tickets:
        figures.by_state[t.state] += 1
        figures.by_category[t.category] += 1
        figures.by_department[t.department.name if t.department else "待分派"] += 1
        if t.rating:
            figures.ratings[t.rating] += 1
    counted = [t for t in tickets if t.state not in UNCOUNTED_STATES]
    done = [t for t in counted if t.state in (TicketState.RESOLVED, TicketState.CLOSED)]
    if counted:
        figures.resolution_rate = len(done) / len(counted)
    sign_hours = [
        (t.signed_at - t.created_at).total_seconds() / 3600 for t in tickets if t.signed_at
    ]
    resolve_hours = [
        (t.resolved_at - t.created_at).total_seconds() / 3600 for t in done if t.resolved_at
    ]
    figures.median_sign_hours = statistics.median(sign_hours) if sign_hours else None
    figures.median_resolve_hours = statistics.median(resolve_hours) if resolve_hours else None
    rated = sum(figures.ratings.values())
    if rated:
        happy = figures.ratings[Rating.SATISFIED] + figures.ratings[Rating.BASIC]
        figures.satisfaction = happy / rated
    return figures

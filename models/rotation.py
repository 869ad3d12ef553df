"""Rotation rules: host units take periods in turn, a chair unit rotates on its own term.

Periods are counted in local time from the plan's first period; the host of period i is
units[i mod n] unless an override (an admin's, or two halves of an accepted swap) says other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import Role
from bot.core.clock import local_datetime, to_local
from models.base import Base, TimestampMixin
from models.member import Member, MemberRole
from models.org import Unit
from models.scope import Scope


class Period(enum.StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


PERIOD_ZH = {Period.WEEK: "周", Period.MONTH: "月", Period.QUARTER: "季度"}


class RotationPlan(TimestampMixin, Base):
    __tablename__ = "rotation_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(
        ForeignKey("alliance.id", ondelete="CASCADE"), unique=True
    )
    period: Mapped[Period] = mapped_column(String(10), default=Period.MONTH)
    starts_on: Mapped[date]  # local date of period 0's first day
    unit_ids: Mapped[list[Any]] = mapped_column(default=list)
    chair_unit_ids: Mapped[list[Any]] = mapped_column(default=list)
    chair_starts_on: Mapped[date]
    chair_term_months: Mapped[int] = mapped_column(default=12)


class RotationOverride(Base):
    """The host of one period, set by an admin or by an accepted swap."""

    __tablename__ = "rotation_override"
    __table_args__ = (UniqueConstraint("alliance_id", "period_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id", ondelete="CASCADE"))
    period_index: Mapped[int]
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    reason: Mapped[str] = mapped_column(String(10))  # "admin" or "swap"
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    at: Mapped[datetime]


class SwapStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class SwapRequest(Base):
    """One unit asks another to exchange their turns."""

    __tablename__ = "rotation_swap"

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id", ondelete="CASCADE"))
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    from_index: Mapped[int]
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    to_index: Mapped[int]
    status: Mapped[SwapStatus] = mapped_column(String(10), default=SwapStatus.PENDING)
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    at: Mapped[datetime]


class RotationError(Exception):
    """reason: no_plan, not_your_turn, same_unit, past, not_pending, not_yours, not_in_plan."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Turn:
    index: int
    starts_at: datetime
    ends_at: datetime
    unit_id: int


def _month_start(year: int, month: int) -> datetime:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return local_datetime(year, month, 1)


def period_bounds(plan: RotationPlan, index: int) -> tuple[datetime, datetime]:
    """UTC start and end of period `index` (local midnights)."""
    first = plan.starts_on
    if plan.period == Period.WEEK:
        day = first + timedelta(weeks=index)
        start = local_datetime(day.year, day.month, day.day)
        return start, start + timedelta(weeks=1)
    months = 3 if plan.period == Period.QUARTER else 1
    m = first.month + index * months
    return _month_start(first.year, m), _month_start(first.year, m + months)


def period_index(plan: RotationPlan, moment: datetime) -> int:
    local = to_local(moment).date()
    first = plan.starts_on
    if plan.period == Period.WEEK:
        return (local - first).days // 7
    months = (local.year - first.year) * 12 + local.month - first.month
    return months // (3 if plan.period == Period.QUARTER else 1)


def align(period: Period, day: date) -> date:
    """The first day of the period containing `day`."""
    if period == Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period == Period.QUARTER:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, day.month, 1)


def chair_unit_id(plan: RotationPlan, moment: datetime) -> int | None:
    if not plan.chair_unit_ids:
        return None
    local = to_local(moment).date()
    months = (local.year - plan.chair_starts_on.year) * 12 + local.month
    term = (months - plan.chair_starts_on.month) // max(plan.chair_term_months, 1)
    return int(plan.chair_unit_ids[term % len(plan.chair_unit_ids)])


def chair_term_end(plan: RotationPlan, moment: datetime) -> datetime:
    local = to_local(moment).date()
    first = plan.chair_starts_on
    months = (local.year - first.year) * 12 + local.month - first.month
    term = months // max(plan.chair_term_months, 1)
    return _month_start(first.year, first.month + (term + 1) * plan.chair_term_months)


async def get_plan(session: AsyncSession, alliance_id: int) -> RotationPlan | None:
    stmt = select(RotationPlan).where(RotationPlan.alliance_id == alliance_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def all_plans(session: AsyncSession) -> list[RotationPlan]:
    return list((await session.execute(select(RotationPlan).order_by(RotationPlan.id))).scalars())


async def turns(
    session: AsyncSession, plan: RotationPlan, *, first_index: int, count: int
) -> list[Turn]:
    """The hosts of `count` periods from `first_index`, overrides applied."""
    if not plan.unit_ids:
        return []
    rows = await session.execute(
        select(RotationOverride.period_index, RotationOverride.unit_id).where(
            RotationOverride.alliance_id == plan.alliance_id,
            RotationOverride.period_index >= first_index,
            RotationOverride.period_index < first_index + count,
        )
    )
    overrides = dict(rows.all())
    result = []
    for index in range(first_index, first_index + count):
        start, end = period_bounds(plan, index)
        unit = overrides.get(index, plan.unit_ids[index % len(plan.unit_ids)])
        result.append(Turn(index, start, end, int(unit)))
    return result


async def current_turn(session: AsyncSession, plan: RotationPlan, now: datetime) -> Turn:
    [turn] = await turns(session, plan, first_index=period_index(plan, now), count=1)
    return turn


async def hosted_scope(session: AsyncSession, member: Member, now: datetime) -> Scope:
    """Alliances whose current period the member's unit hosts, if the member is its secretary."""
    if member.home_unit_id is None or not member.has_role(Role.SECRETARY):
        return Scope.NONE
    result = set()
    for plan in await all_plans(session):
        if member.home_unit_id in plan.unit_ids:
            turn = await current_turn(session, plan, now)
            if turn.unit_id == member.home_unit_id:
                result.add(plan.alliance_id)
    return Scope.of(result)


async def unit_secretary(session: AsyncSession, unit_id: int) -> Member | None:
    stmt = (
        select(Member)
        .join(MemberRole)
        .where(Member.home_unit_id == unit_id, MemberRole.role == Role.SECRETARY)
        .order_by(Member.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def alliance_admins(session: AsyncSession, alliance_id: int) -> list[Member]:
    stmt = (
        select(Member)
        .join(MemberRole)
        .where(MemberRole.role == Role.ALLIANCE_ADMIN, MemberRole.alliance_id == alliance_id)
        .order_by(Member.id)
    )
    return list((await session.execute(stmt)).scalars())


async def stand_in_admins(session: AsyncSession, alliance_id: int) -> list[Member]:
    """Who answers for a unit whose secretary cannot be reached: the alliance's admins, else
    the super admins."""
    admins = await alliance_admins(session, alliance_id)
    if admins:
        return admins
    stmt = select(Member).join(MemberRole).where(MemberRole.role == Role.SUPER_ADMIN)
    return list((await session.execute(stmt.order_by(Member.id))).scalars())


async def pending_swaps_to(session: AsyncSession, unit_id: int) -> list[SwapRequest]:
    """Swap requests still waiting for this unit's answer."""
    stmt = select(SwapRequest).where(
        SwapRequest.to_unit_id == unit_id, SwapRequest.status == SwapStatus.PENDING
    )
    return list((await session.execute(stmt.order_by(SwapRequest.id))).scalars())


async def unit_names(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    rows = await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids)))
    return dict(rows.all())


async def set_override(
    *,
    session: AsyncSession,
    plan: RotationPlan,
    index: int,
    unit_id: int,
    reason: str,
    by: Member | None,
    now: datetime,
) -> None:
    if unit_id not in plan.unit_ids:
        raise RotationError("not_in_plan")
    if index < period_index(plan, now):
        raise RotationError("past")
    row = (
        await session.execute(
            select(RotationOverride).where(
                RotationOverride.alliance_id == plan.alliance_id,
                RotationOverride.period_index == index,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        row = RotationOverride(alliance_id=plan.alliance_id, period_index=index)
        session.add(row)
    row.unit_id, row.reason, row.set_by_id, row.at = unit_id, reason, by.id if by else None, now
    await session.flush()


async def ask_swap(
    *,
    session: AsyncSession,
    plan: RotationPlan,
    member: Member,
    my_index: int,
    their_index: int,
    now: datetime,
) -> SwapRequest:
    """The member's unit offers its turn `my_index` for the other unit's `their_index`."""
    current = period_index(plan, now)
    if min(my_index, their_index) < current:
        raise RotationError("past")
    first = min(my_index, their_index)
    span = abs(my_index - their_index) + 1
    by_index = {t.index: t for t in await turns(session, plan, first_index=first, count=span)}
    mine, theirs = by_index[my_index], by_index[their_index]
    if mine.unit_id != member.home_unit_id:
        raise RotationError("not_your_turn")
    if theirs.unit_id == mine.unit_id:
        raise RotationError("same_unit")
    swap = SwapRequest(
        alliance_id=plan.alliance_id,
        from_unit_id=mine.unit_id,
        from_index=my_index,
        to_unit_id=theirs.unit_id,
        to_index=their_index,
        asked_by_id=member.id,
        at=now,
    )
    session.add(swap)
    await session.flush()
    return swap


async def answer_swap(
    *, session: AsyncSession, swap: SwapRequest, member: Member, accept: bool, now: datetime
) -> None:
    """The asked unit's secretary, or an admin of the alliance answering for it, accepts (both
    turns change hands) or declines."""
    if swap.status != SwapStatus.PENDING:
        raise RotationError("not_pending")
    secretary = member.home_unit_id == swap.to_unit_id and member.has_role(Role.SECRETARY)
    if not secretary and not member.administers(swap.alliance_id):
        raise RotationError("not_yours")
    plan = await get_plan(session, swap.alliance_id)
    if plan is None:
        raise RotationError("no_plan")
    if accept:
        for index, unit in (
            (swap.from_index, swap.to_unit_id),
            (swap.to_index, swap.from_unit_id),
        ):
            await set_override(
                session=session,
                plan=plan,
                index=index,
                unit_id=unit,
                reason="swap",
                by=member,
                now=now,
            )
    swap.status = SwapStatus.ACCEPTED if accept else SwapStatus.DECLINED
    await session.flush()


def ics_calendar(name: str, rows: list[tuple[Turn, str]], now: datetime) -> str:
    """An iCalendar text with one all-day event per period."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//hongmeng//rotation//ZH",
        "CALSCALE:GREGORIAN",
    ]
    for turn, unit in rows:
        lines += [
            "BEGIN:VEVENT",
            f"UID:rotation-{name}-{turn.index}@hongmeng",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{to_local(turn.starts_at):%Y%m%d}",
            f"DTEND;VALUE=DATE:{to_local(turn.ends_at):%Y%m%d}",
            f"SUMMARY:{_ics_escape(f'{name} 轮值：{unit}')}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _ics_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

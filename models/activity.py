"""Activities: what they are, who publishes them, and the queries that find them.

Check-ins and their rules are in models/checkin.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, ForeignKey, String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship, selectinload

from models.base import Base, TimestampMixin
from models.member import Member
from models.org import Alliance, Membership, Unit
from models.outbox import OutboxMessage, OutboxStatus
from models.scope import Scope

if TYPE_CHECKING:
    from models.checkin import CheckIn

DEFAULT_RADIUS_M = 500


class Activity(TimestampMixin, Base):
    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id", ondelete="CASCADE"))
    host_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(100))
    place: Mapped[str] = mapped_column(String(100), default="")
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    radius_m: Mapped[int] = mapped_column(default=DEFAULT_RADIUS_M)
    secret: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32))
    # Bumped when the start time changes: the reminders start over for the new time.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")

    alliance: Mapped[Alliance] = relationship()
    host_unit: Mapped[Unit | None] = relationship()
    checkins: Mapped[list[CheckIn]] = relationship(back_populates="activity")


class ActivityError(Exception):
    """An activity cannot be changed: `reason` is not_manager, ended, cancelled, past or
    bad_end."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# What the reminder sweep and the change notices are queued as (kinds of outbox rows).
REMINDER_KIND = "reminder"
CHANGE_KIND = "activity_change"
EDITABLE = ("title", "place", "starts_at", "ends_at", "latitude", "longitude", "radius_m")


def live() -> ColumnElement[bool]:
    """An SQL condition: the activity was not cancelled."""
    return Activity.cancelled_at.is_(None)


def reminder_key(activity: Activity, member_id: int, stage: str) -> str:
    """The dedupe key of one reminder stage ('24h', '1h') to one member, per start time."""
    tag = f"{activity.id}" if not activity.revision else f"{activity.id}r{activity.revision}"
    return f"remind:{tag}:{member_id}:{stage}"


def activity_loads() -> tuple[object, ...]:
    """The alliance and host unit, joined into the activity's own SELECT (one statement: the
    check-in path reads them on every check-in)."""
    return (joinedload(Activity.alliance), joinedload(Activity.host_unit))


async def get_activity(session: AsyncSession, activity_id: int) -> Activity | None:
    stmt = select(Activity).where(Activity.id == activity_id).options(*activity_loads())
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_activities(
    session: AsyncSession, *, now: datetime, opens_before_minutes: int
) -> list[Activity]:
    """Activities whose check-in window contains `now`, soonest start first."""
    params = {"opens_by": now + timedelta(minutes=opens_before_minutes), "now": now}
    return list((await session.execute(_open_statement(activity_loads), params)).scalars())


@cache
def _open_statement(loads: Callable[[], tuple[object, ...]]) -> Any:
    """Every check-in reads the open activities: the statement is built once (per way of
    loading the activity's parts: bench/pairs.py measures the former one)."""
    return (
        select(Activity)
        .where(
            Activity.starts_at <= bindparam("opens_by", type_=Activity.__table__.c.starts_at.type),
            Activity.ends_at > bindparam("now", type_=Activity.__table__.c.ends_at.type),
            live(),
        )
        .order_by(Activity.starts_at, Activity.id)
        .options(*loads())
    )


async def upcoming_activities(
    session: AsyncSession, *, now: datetime, scope: Scope, limit: int = 10, offset: int = 0
) -> list[Activity]:
    """Activities not yet ended, of the alliances in scope."""
    stmt = select(Activity).where(
        Activity.ends_at > now, live(), scope.where(Activity.alliance_id)
    )
    stmt = stmt.order_by(Activity.starts_at, Activity.id).offset(offset).limit(limit)
    stmt = stmt.options(*activity_loads())
    return list((await session.execute(stmt)).scalars())


async def recently_ended(session: AsyncSession, *, now: datetime, scope: Scope) -> Activity | None:
    """The latest activity that ended within the last day (to say 'it has ended')."""
    stmt = select(Activity).where(
        Activity.ends_at <= now,
        Activity.ends_at > now - timedelta(1),
        live(),
        scope.where(Activity.alliance_id),
    )
    stmt = stmt.order_by(Activity.ends_at.desc()).limit(1).options(*activity_loads())
    return (await session.execute(stmt)).scalar_one_or_none()


async def create_activity(
    *,
    session: AsyncSession,
    alliance_id: int,
    host_unit_id: int | None,
    created_by: Member | None,
    title: str,
    place: str,
    starts_at: datetime,
    ends_at: datetime,
    latitude: float | None = None,
    longitude: float | None = None,
    radius_m: int = DEFAULT_RADIUS_M,
) -> Activity:
    if ends_at <= starts_at:
        raise ValueError("an activity ends after it starts")
    activity = Activity(
        alliance_id=alliance_id,
        host_unit_id=host_unit_id,
        created_by_id=created_by.id if created_by else None,
        title=title,
        place=place,
        starts_at=starts_at,
        ends_at=ends_at,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
    )
    session.add(activity)
    await session.flush()
    return activity


async def expected_members(session: AsyncSession, alliance_id: int) -> list[Member]:
    """Party members whose home unit belongs to the alliance."""
    stmt = (
        select(Member)
        .join(Membership, Membership.unit_id == Member.home_unit_id)
        .where(Membership.alliance_id == alliance_id, Member.is_party_member.is_(True))
        .order_by(Member.id)
        .options(selectinload(Member.home_unit))
    )
    return list((await session.execute(stmt)).scalars())


async def count_upcoming(session: AsyncSession, *, now: datetime, scope: Scope) -> int:
    stmt = select(func.count()).where(
        Activity.ends_at > now, live(), scope.where(Activity.alliance_id)
    )
    return int(await session.scalar(stmt) or 0)


def check_may_change(activity: Activity, actor: Member, now: datetime) -> None:
    """Raise ActivityError unless `actor` may still edit or cancel the activity."""
    if not actor.may_manage(activity):
        raise ActivityError("not_manager")
    if activity.cancelled_at is not None:
        raise ActivityError("cancelled")
    if activity.ends_at <= now:
        raise ActivityError("ended")


async def edit_activity(
    *, session: AsyncSession, activity: Activity, actor: Member, now: datetime, **values: object
) -> list[str]:
    """Change the fields given (of EDITABLE) as the host or an admin; returns those that
    changed. A new start time starts the reminders over (`revision`)."""
    check_may_change(activity, actor, now)
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    starts_at = values.get("starts_at", activity.starts_at)
    ends_at = values.get("ends_at", activity.ends_at)
    assert isinstance(starts_at, datetime) and isinstance(ends_at, datetime)
    if starts_at != activity.starts_at and starts_at <= now:
        raise ActivityError("past")
    if ends_at <= starts_at:
        raise ActivityError("bad_end")
    changed = [
        name for name in EDITABLE if name in values and getattr(activity, name) != values[name]
    ]
    if "starts_at" in changed:
        activity.revision += 1
    for name in changed:
        setattr(activity, name, values[name])
    await session.flush()
    return changed


async def cancel_activity(
    *, session: AsyncSession, activity: Activity, actor: Member, now: datetime, reason: str = ""
) -> None:
    """Cancel as the host or an admin: no more reminders, check-ins or listings."""
    check_may_change(activity, actor, now)
    activity.cancelled_at = now
    activity.cancel_reason = reason.strip()[:200]
    await session.flush()


async def people_to_tell(session: AsyncSession, activity: Activity) -> tuple[list[int], list[int]]:
    """Who has heard of the activity personally: (members reminded, members checked in).

    Reminded: a reminder or an earlier change notice was queued to one of their accounts
    (unbound members, who received nothing, are not counted)."""
    from models.checkin import CheckIn  # models.checkin imports this module

    reminded = await session.scalars(
        select(OutboxMessage.member_id)
        .where(
            OutboxMessage.kind.in_([REMINDER_KIND, CHANGE_KIND]),
            OutboxMessage.ref_id == activity.id,
            OutboxMessage.status != OutboxStatus.UNREACHABLE,
            OutboxMessage.member_id.is_not(None),
        )
        .distinct()
    )
    came = await session.scalars(
        select(CheckIn.member_id).where(CheckIn.activity_id == activity.id).distinct()
    )
    checked = sorted(set(came))
    return sorted(set(m for m in reminded if m is not None) - set(checked)), checked


@dataclass(frozen=True)
class Told:
    """Who hears of a change or a cancellation: members reminded (or told of an earlier
    change), members checked in, and the alliance's admins and the publisher; the sender of
    the change is in none of them."""

    reminded: list[int]
    checked: list[int]
    others: list[int]

    @property
    def everyone(self) -> list[int]:
        return [*self.reminded, *self.checked, *self.others]


async def who_is_told(session: AsyncSession, activity: Activity, sender_id: int) -> Told:
    """The audience of a change to `activity` made by `sender_id` (chat or console): those
    reminded or invited (a meeting), those checked in, the alliance's admins and the publisher."""
    from models.meeting import invitee_ids  # models.meeting imports this module
    from models.rotation import alliance_admins  # models.rotation is above this module

    reminded, checked = await people_to_tell(session, activity)
    # A meeting's invitees have heard of it (invited, answered 参加 or 请假) even before any
    # reminder: they are told of a change as the reminded are.
    invited = [m for m in await invitee_ids(session, activity.id) if m not in checked]
    reminded = list(dict.fromkeys([*reminded, *invited]))
    admins = [a.id for a in await alliance_admins(session, activity.alliance_id)]
    others = [m for m in dict.fromkeys([*admins, activity.created_by_id]) if m is not None]
    checked = [m for m in checked if m != sender_id]
    reminded = [m for m in reminded if m != sender_id and m not in others]
    others = [m for m in others if m != sender_id and m not in checked]
    return Told(reminded, checked, others)

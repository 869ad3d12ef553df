"""Activities: what they are, who publishes them, and the queries that find them.

Check-ins and their rules are in models/checkin.py.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from models.base import Base, TimestampMixin
from models.member import Member
from models.org import Alliance, Membership, Unit
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

    alliance: Mapped[Alliance] = relationship()
    host_unit: Mapped[Unit | None] = relationship()
    checkins: Mapped[list[CheckIn]] = relationship(back_populates="activity")


def activity_loads() -> tuple[object, ...]:
    return (selectinload(Activity.alliance), selectinload(Activity.host_unit))


async def get_activity(session: AsyncSession, activity_id: int) -> Activity | None:
    stmt = select(Activity).where(Activity.id == activity_id).options(*activity_loads())
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_activities(
    session: AsyncSession, *, now: datetime, opens_before_minutes: int
) -> list[Activity]:
    """Activities whose check-in window contains `now`, soonest start first."""
    stmt = (
        select(Activity)
        .where(
            Activity.starts_at <= now + timedelta(minutes=opens_before_minutes),
            Activity.ends_at > now,
        )
        .order_by(Activity.starts_at, Activity.id)
        .options(*activity_loads())
    )
    return list((await session.execute(stmt)).scalars())


async def upcoming_activities(
    session: AsyncSession, *, now: datetime, scope: Scope, limit: int = 10
) -> list[Activity]:
    """Activities not yet ended, of the alliances in scope."""
    stmt = select(Activity).where(Activity.ends_at > now, scope.where(Activity.alliance_id))
    stmt = stmt.order_by(Activity.starts_at, Activity.id).limit(limit).options(*activity_loads())
    return list((await session.execute(stmt)).scalars())


async def recently_ended(session: AsyncSession, *, now: datetime, scope: Scope) -> Activity | None:
    """The latest activity that ended within the last day (to say 'it has ended')."""
    stmt = select(Activity).where(
        Activity.ends_at <= now,
        Activity.ends_at > now - timedelta(1),
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


class ActivityError(Exception):
    """`reason`: not_manager, ended, started, times, title, place."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


TITLE_MAX = 50
PLACE_MAX = 50


async def update_activity(
    *,
    session: AsyncSession,
    activity: Activity,
    by: Member,
    title: str,
    place: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> dict[str, tuple[object, object]]:
    """Change an activity that has not ended; returns {field: (before, after)}."""
    if not by.may_manage(activity):
        raise ActivityError("not_manager")
    if activity.ends_at <= now:
        raise ActivityError("ended")
    title, place = title.strip(), place.strip()
    if not 2 <= len(title) <= TITLE_MAX:
        raise ActivityError("title")
    if len(place) > PLACE_MAX:
        raise ActivityError("place")
    if ends_at <= starts_at or (starts_at != activity.starts_at and ends_at <= now):
        raise ActivityError("times")
    changed: dict[str, tuple[object, object]] = {}
    for field, value in (
        ("title", title),
        ("place", place),
        ("starts_at", starts_at),
        ("ends_at", ends_at),
    ):
        before = getattr(activity, field)
        if before != value:
            changed[field] = (before, value)
            setattr(activity, field, value)
    await session.flush()
    return changed


async def cancel_activity(
    *, session: AsyncSession, activity: Activity, by: Member, now: datetime
) -> list[int]:
    """Call off an activity that has not started: it is removed; returns the members of its
    alliance to tell. One that started (or has check-ins) is part of the record and stays."""
    from models.checkin import CheckIn

    if not by.may_manage(activity):
        raise ActivityError("not_manager")
    came = await session.scalar(
        select(CheckIn.id).where(CheckIn.activity_id == activity.id).limit(1)
    )
    if activity.starts_at <= now or came is not None:
        raise ActivityError("started")
    told = [m.id for m in await expected_members(session, activity.alliance_id)]
    await session.delete(activity)
    await session.flush()
    return told

"""Activities and check-ins, with the check-in rules: window, rotating code, distance, once.

The 6-digit code is an HMAC of the minute number under a per-activity secret, so it cannot be
guessed from an earlier one; the current and the previous minute's codes are accepted.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from models.base import Base, TimestampMixin
from models.member import Member
from models.org import Alliance, Membership, Unit
from models.scope import Scope

DEFAULT_RADIUS_M = 500
EARTH_RADIUS_M = 6_371_000


class CheckInMethod(enum.StrEnum):
    CODE = "code"
    LOCATION = "location"
    HOST = "host"


METHOD_ZH = {
    CheckInMethod.CODE: "签到码",
    CheckInMethod.LOCATION: "位置",
    CheckInMethod.HOST: "主持人确认",
}


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


class CheckIn(Base):
    """One member at one activity; the home unit is kept for mobile members' summaries."""

    __tablename__ = "checkin"
    __table_args__ = (UniqueConstraint("activity_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    home_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    method: Mapped[CheckInMethod] = mapped_column(String(10))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    distance_m: Mapped[int | None]
    at: Mapped[datetime] = mapped_column(index=True)

    activity: Mapped[Activity] = relationship(back_populates="checkins")
    member: Mapped[Member] = relationship(foreign_keys=[member_id])


class AlreadyCheckedIn(Exception):
    def __init__(self, first: CheckIn) -> None:
        super().__init__("already checked in")
        self.first = first


@dataclass(frozen=True)
class Window:
    opens: datetime
    closes: datetime


def window_of(activity: Activity, opens_before_minutes: int) -> Window:
    return Window(activity.starts_at - timedelta(minutes=opens_before_minutes), activity.ends_at)


def code_at(secret: str, minute: int) -> str:
    digest = hmac.new(secret.encode(), str(minute).encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**6:06d}"


def minute_of(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


def current_code(activity: Activity, now: datetime) -> str:
    return code_at(activity.secret, minute_of(now))


def code_age(activity: Activity, code: str, now: datetime, lookback: int = 60) -> int | None:
    """How many minutes old `code` is for this activity (0 = current), or None."""
    minute = minute_of(now)
    for age in range(lookback + 1):
        if hmac.compare_digest(code_at(activity.secret, minute - age), code):
            return age
    return None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def _loaded() -> tuple[object, ...]:
    return (selectinload(Activity.alliance), selectinload(Activity.host_unit))


async def get_activity(session: AsyncSession, activity_id: int) -> Activity | None:
    stmt = select(Activity).where(Activity.id == activity_id).options(*_loaded())
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
        .options(*_loaded())
    )
    return list((await session.execute(stmt)).scalars())


async def upcoming_activities(
    session: AsyncSession, *, now: datetime, scope: Scope, limit: int = 10
) -> list[Activity]:
    """Activities not yet ended, of the alliances in scope."""
    stmt = select(Activity).where(Activity.ends_at > now, scope.where(Activity.alliance_id))
    stmt = stmt.order_by(Activity.starts_at, Activity.id).limit(limit).options(*_loaded())
    return list((await session.execute(stmt)).scalars())


async def recently_ended(session: AsyncSession, *, now: datetime, scope: Scope) -> Activity | None:
    """The latest activity that ended within the last day (to say 'it has ended')."""
    stmt = select(Activity).where(
        Activity.ends_at <= now,
        Activity.ends_at > now - timedelta(1),
        scope.where(Activity.alliance_id),
    )
    stmt = stmt.order_by(Activity.ends_at.desc()).limit(1).options(*_loaded())
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


async def find_checkin(
    session: AsyncSession, *, activity_id: int, member_id: int
) -> CheckIn | None:
    stmt = select(CheckIn).where(
        CheckIn.activity_id == activity_id, CheckIn.member_id == member_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def check_in(
    *,
    session: AsyncSession,
    activity: Activity,
    member: Member,
    method: CheckInMethod,
    now: datetime,
    confirmed_by: Member | None = None,
    distance: float | None = None,
) -> CheckIn:
    """Record one check-in; a second one raises AlreadyCheckedIn with the first."""
    first = await find_checkin(session, activity_id=activity.id, member_id=member.id)
    if first is not None:
        raise AlreadyCheckedIn(first)
    row = CheckIn(
        activity_id=activity.id,
        member_id=member.id,
        home_unit_id=member.home_unit_id,
        method=method,
        confirmed_by_id=confirmed_by.id if confirmed_by else None,
        distance_m=round(distance) if distance is not None else None,
        at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Two devices of one member at the same moment: the other one won.
        again = await find_checkin(session, activity_id=activity.id, member_id=member.id)
        assert again is not None
        raise AlreadyCheckedIn(again) from None
    return row


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


@dataclass(frozen=True)
class Attendance:
    activity: Activity
    present: list[CheckIn]
    guests: list[CheckIn]  # mobile members from other alliances: welcome, not in the rate
    absent: list[Member]
    expected: int

    @property
    def rate(self) -> float:
        return (len(self.present) - len(self.guests)) / self.expected if self.expected else 0.0


async def attendance(session: AsyncSession, activity: Activity) -> Attendance:
    """Who checked in (by which method, when), who of the alliance did not, and the rate."""
    stmt = (
        select(CheckIn)
        .where(CheckIn.activity_id == activity.id)
        .order_by(CheckIn.at, CheckIn.id)
        .options(selectinload(CheckIn.member).selectinload(Member.home_unit))
    )
    present = list((await session.execute(stmt)).scalars())
    expected = await expected_members(session, activity.alliance_id)
    expected_ids = {m.id for m in expected}
    came = {c.member_id for c in present}
    return Attendance(
        activity=activity,
        present=present,
        guests=[c for c in present if c.member_id not in expected_ids],
        absent=[m for m in expected if m.id not in came],
        expected=len(expected),
    )


async def export_attendance(
    *,
    session: AsyncSession,
    path: Path,
    scope: Scope = Scope.COUNTY,
    activity_ids: list[int] | None = None,
) -> int:
    """Write one sheet row per member and activity (present or absent) of the activities in
    scope (or only these); returns the rows."""
    from openpyxl import Workbook

    from bot.core.clock import fmt_local

    stmt = select(Activity).order_by(Activity.starts_at, Activity.id).options(*_loaded())
    stmt = stmt.where(scope.where(Activity.alliance_id))
    if activity_ids is not None:
        stmt = stmt.where(Activity.id.in_(activity_ids))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "签到记录"
    sheet.append(["活动", "联盟", "开始时间", "姓名", "所在单位", "是否签到", "方式", "签到时间"])
    count = 0
    for activity in (await session.execute(stmt)).scalars():
        figures = await attendance(session, activity)
        head = [
            activity.title,
            activity.alliance.name,
            fmt_local(activity.starts_at, "%Y-%m-%d %H:%M"),
        ]
        for c in figures.present:
            unit = c.member.home_unit.name if c.member.home_unit else ""
            when = fmt_local(c.at, "%Y-%m-%d %H:%M:%S")
            sheet.append([*head, c.member.name, unit, "是", METHOD_ZH[c.method], when])
        for m in figures.absent:
            sheet.append([*head, m.name, m.home_unit.name if m.home_unit else "", "否", "", ""])
        count += len(figures.present) + len(figures.absent)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return count


async def member_checkins(
    session: AsyncSession, *, member_id: int, since: datetime, until: datetime | None = None
) -> list[CheckIn]:
    stmt = select(CheckIn).where(CheckIn.member_id == member_id, CheckIn.at >= since)
    if until is not None:
        stmt = stmt.where(CheckIn.at < until)
    stmt = stmt.order_by(CheckIn.at).options(
        selectinload(CheckIn.activity).selectinload(Activity.alliance)
    )
    return list((await session.execute(stmt)).scalars())

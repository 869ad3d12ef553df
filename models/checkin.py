"""Check-ins and their rules: the window, the rotating code, the distance, once per member.

The 6-digit code is an HMAC of the minute number under a per-activity secret, so it cannot be
guessed from an earlier one; the current and the previous minute's codes are accepted. A
refused check-in raises CheckInRefused with a reason that handlers turn into a sentence.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import (
    Mapped,
    mapped_column,
    relationship,
    selectinload,
)
from sqlalchemy.orm.attributes import set_committed_value

from bot.core import Location
from models.activity import (
    Activity,
    expected_members,
    open_activities,
    recently_ended,
    upcoming_activities,
)
from models.base import Base
from models.member import Member
from models.prebuilt import attached, run_prebuilt
from models.throttle import Lockout
from settings import Settings

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


class CheckInRefused(Exception):
    """A check-in was refused. `reason` says why and `detail` what a sentence needs:

    locked (until), wrong_code (left), stale_code (left), wrong_alliance (activity),
    not_yet (activity, opens), ended (activity), nothing_open, not_live, no_place,
    too_far (activity, distance), already (activity; `first` is the earlier check-in).
    """

    def __init__(self, reason: str, **detail: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class AlreadyCheckedIn(CheckInRefused):
    def __init__(self, first: CheckIn, activity: Activity) -> None:
        super().__init__("already", activity=activity)
        self.first = first


@dataclass(frozen=True)
class CheckInRules:
    """What a check-in is judged by: when the window opens, how many wrong codes are allowed."""

    opens_before_minutes: int
    wrong_codes: Lockout

    @staticmethod
    def of(settings: Settings) -> CheckInRules:
        return CheckInRules(
            settings.CHECKIN_OPENS_MINUTES_BEFORE,
            Lockout(
                "checkin",
                settings.CHECKIN_FAILURES_ALLOWED,
                timedelta(minutes=settings.CHECKIN_LOCK_MINUTES),
            ),
        )


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
    """Record one check-in; a second one raises AlreadyCheckedIn with the first.

    The insert itself finds a second one (the unique activity and member: it then inserts
    nothing), with no SELECT first and no savepoint on the path every check-in takes."""
    values = {
        "activity_id": activity.id,
        "member_id": member.id,
        "home_unit_id": member.home_unit_id,
        "method": method,
        "confirmed_by_id": confirmed_by.id if confirmed_by else None,
        "distance_m": round(distance) if distance is not None else None,
        "at": now,
    }
    row = await _insert_new(session, values)
    if row is None:
        # Checked in already, or two devices of one member at the same moment: the other won.
        again = await find_checkin(session, activity_id=activity.id, member_id=member.id)
        assert again is not None
        raise AlreadyCheckedIn(again, activity)
    set_committed_value(row, "activity", activity)  # known already: no load, no backref
    return row


async def _insert_new(session: AsyncSession, values: dict[str, Any]) -> CheckIn | None:
    """The row written, in the session; None, with nothing written, when the member has
    checked in to the activity already. One statement: no savepoint, no flush."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    written, _ = await run_prebuilt(session, _insert_or_nothing(dialect), values)
    if not written:
        return None
    return attached(session, CheckIn(id=written[0][0], **values))


@cache
def _insert_or_nothing(dialect: str) -> Any:
    """INSERT … ON CONFLICT (activity, member) DO NOTHING RETURNING id, built once."""
    table = CheckIn.__table__
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).on_conflict_do_nothing(index_elements=["activity_id", "member_id"])
    return stmt.returning(table.c.id)


async def attendable(
    session: AsyncSession, member: Member, activities: list[Activity]
) -> list[Activity]:
    """Those of `activities` the member may check in to: of their alliances (or open to a
    mobile member), or a meeting they are invited to (a department officer sitting in)."""
    from models.meeting import invited_to  # models.meeting imports this module

    others = [a.id for a in activities if not member.may_attend(a)]
    invited = await invited_to(session, member.id, others)  # no query when there are none
    return [a for a in activities if member.may_attend(a) or a.id in invited]


async def done_already(
    *, session: AsyncSession, member: Member, now: datetime, rules: CheckInRules
) -> CheckIn | None:
    """The member's check-in when every activity open to them now has one (nothing left to
    check in to), else None."""
    open_now = await open_activities(
        session, now=now, opens_before_minutes=rules.opens_before_minutes
    )
    mine = await attendable(session, member, open_now)
    found = [await find_checkin(session, activity_id=a.id, member_id=member.id) for a in mine]
    if not mine or any(row is None for row in found):
        return None
    first = found[0]
    assert first is not None
    set_committed_value(first, "activity", mine[0])
    return first


async def check_in_by_code(
    *,
    session: AsyncSession,
    member: Member,
    code: str,
    now: datetime,
    rules: CheckInRules,
    key: str,
) -> CheckIn:
    """Check in with a 6-digit code; `key` counts the wrong codes (one per platform account)."""
    until = await rules.wrong_codes.locked_until(session=session, key=key, now=now)
    if until is not None:
        raise CheckInRefused("locked", until=until)
    open_now = await open_activities(
        session, now=now, opens_before_minutes=rules.opens_before_minutes
    )
    mine = []
    allowed_ids = {a.id for a in await attendable(session, member, open_now)}
    for activity in open_now:
        allowed = activity.id in allowed_ids
        if code_age(activity, code, now, lookback=1) is not None:
            if not allowed:
                raise CheckInRefused("wrong_alliance", activity=activity)
            return await check_in(
                session=session,
                activity=activity,
                member=member,
                method=CheckInMethod.CODE,
                now=now,
            )
        if allowed:
            mine.append(activity)
    ended = await recently_ended(session, now=now, scope=member.attend_scope())
    if ended is not None and code_age(ended, code, now) is not None:
        raise CheckInRefused("ended", activity=ended)
    if not mine:
        raise await _closed(session, member, now, rules, ended)
    # Checked in to everything open already: a mistyped or old code changes nothing, so it
    # says so and is not counted towards the pause.
    done = [await find_checkin(session, activity_id=a.id, member_id=member.id) for a in mine]
    if all(done):
        assert done[0] is not None
        raise AlreadyCheckedIn(done[0], mine[0])
    stale = any(code_age(a, code, now) is not None for a in mine)
    left = await rules.wrong_codes.fail(session=session, key=key, now=now)
    if left == 0:
        raise CheckInRefused("locked", until=now + rules.wrong_codes.window)
    raise CheckInRefused("stale_code" if stale else "wrong_code", left=left)


async def check_in_by_location(
    *,
    session: AsyncSession,
    member: Member,
    location: Location,
    now: datetime,
    rules: CheckInRules,
) -> CheckIn:
    """Check in at the nearest open activity within its radius; only a verified position counts
    (the adapter says whether the platform vouches for it, e.g. a Telegram live location)."""
    if not location.verified:
        raise CheckInRefused("not_live")
    open_now = await open_activities(
        session, now=now, opens_before_minutes=rules.opens_before_minutes
    )
    mine = await attendable(session, member, open_now)
    if not mine:
        ended = await recently_ended(session, now=now, scope=member.attend_scope())
        raise await _closed(session, member, now, rules, ended)
    placed = _placed(mine, location)
    if not placed:
        raise CheckInRefused("no_place")
    distance, nearest = min(placed, key=lambda pair: pair[0])
    first = await find_checkin(session, activity_id=nearest.id, member_id=member.id)
    if first is not None:
        raise AlreadyCheckedIn(first, nearest)
    if distance > nearest.radius_m:
        raise CheckInRefused("too_far", activity=nearest, distance=distance)
    return await check_in(
        session=session,
        activity=nearest,
        member=member,
        method=CheckInMethod.LOCATION,
        now=now,
        distance=distance,
    )


async def within_radius(
    *,
    session: AsyncSession,
    member: Member,
    location: Location,
    now: datetime,
    rules: CheckInRules,
) -> Activity | None:
    """The nearest activity open for check-in that the member may attend and whose check-in
    radius contains `location` (verified or not: whether it may be used is check_in's rule)."""
    open_now = await open_activities(
        session, now=now, opens_before_minutes=rules.opens_before_minutes
    )
    placed = _placed([a for a in open_now if member.may_attend(a)], location)
    inside = [(d, a) for d, a in placed if d <= a.radius_m]
    return min(inside, key=lambda pair: pair[0])[1] if inside else None


def _placed(activities: list[Activity], location: Location) -> list[tuple[float, Activity]]:
    return [
        (distance_m(location.latitude, location.longitude, a.latitude, a.longitude), a)
        for a in activities
        if a.latitude is not None and a.longitude is not None
    ]


async def _closed(
    session: AsyncSession,
    member: Member,
    now: datetime,
    rules: CheckInRules,
    ended: Activity | None,
) -> CheckInRefused:
    """Why nothing can be checked in to now: not open yet, ended, or nothing at all."""
    upcoming = await upcoming_activities(session, now=now, scope=member.attend_scope(), limit=1)
    if upcoming and upcoming[0].starts_at - now < timedelta(days=1):
        nxt = upcoming[0]
        opens = nxt.starts_at - timedelta(minutes=rules.opens_before_minutes)
        return CheckInRefused("not_yet", activity=nxt, opens=opens)
    if ended is not None:
        return CheckInRefused("ended", activity=ended)
    return CheckInRefused("nothing_open")


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

"""志愿服务: teams, service activities, service hours and their rules.

A service activity is an activity (models/activity.py) marked as a team's service; members
sign in with the check-in machinery (models/checkin.py) and sign out (签退) with the same
rotating 6-digit code, or the leader confirms. Hours run from sign-in to sign-out, clipped to
the planned time, and count only when the stay covers SERVICE_MIN_PERCENT of the plan. No
sign-out means no hours (a `no_signout` row, and a flag to the leader).

补录 (hours added by hand) is a separate kind: added by an administrator with a reason and
evidence, capped at the activity's planned length, pending until another administrator
approves it (never the one who added it, never the member concerned) or declines it with a
reason. Rows are never deleted.

Star levels by cumulative counted hours are the data STARS.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from bot.core import Attachment
from bot.core.clock import local_datetime, to_local
from models.activity import Activity, live
from models.base import Base
from models.checkin import CheckIn, CheckInRules, code_age, find_checkin
from models.member import HOME_LOADED, Member
from models.scope import Scope
from settings import Settings

# 志愿服务星级 by cumulative hours (中国注册志愿者 star levels): (hours, name).
STARS: tuple[tuple[int, str], ...] = (
    (100, "一星志愿者"),
    (300, "二星志愿者"),
    (600, "三星志愿者"),
    (1000, "四星志愿者"),
    (1500, "五星志愿者"),
)


class HoursKind(enum.StrEnum):
    SIGNED = "signed"  # sign-in and sign-out
    MANUAL = "manual"  # 补录


class HoursState(enum.StrEnum):
    COUNTED = "counted"  # signed, stay long enough
    TOO_SHORT = "too_short"  # signed, stay below the share of the plan
    NO_SIGNOUT = "no_signout"  # signed in, never signed out
    PENDING = "pending"  # 补录 waiting for approval
    APPROVED = "approved"  # 补录 approved
    DECLINED = "declined"  # 补录 declined (kept, with the reason)


COUNTING = (HoursState.COUNTED, HoursState.APPROVED)


class VolunteerTeam(Base):
    """A 党员志愿服务队 of an alliance, with its leader."""

    __tablename__ = "volunteer_team"

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id"), index=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]

    leader: Mapped[Member | None] = relationship(lazy="selectin")


class TeamMember(Base):
    """A member of a team: from any member unit, mobile members included."""

    __tablename__ = "volunteer_team_member"
    __table_args__ = (UniqueConstraint("team_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("volunteer_team.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime]


class ServiceActivity(Base):
    """An activity that is a volunteer service (it has a sign-out), perhaps of a team."""

    __tablename__ = "service_activity"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer_team.id"), index=True)
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))

    activity: Mapped[Activity] = relationship(lazy="selectin")
    team: Mapped[VolunteerTeam | None] = relationship(lazy="selectin")


class ServiceHours(Base):
    """One member's hours at one service: signed (in/out) or 补录; never deleted."""

    __tablename__ = "service_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    home_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    kind: Mapped[HoursKind] = mapped_column(String(10))
    state: Mapped[HoursState] = mapped_column(String(12), index=True)
    signed_in_at: Mapped[datetime | None]
    signed_out_at: Mapped[datetime | None]
    signed_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    minutes: Mapped[int] = mapped_column(default=0)  # the stay, or the hours asked for
    reason: Mapped[str] = mapped_column(default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    file_suffix: Mapped[str] = mapped_column(String(10), default="")
    file_kind: Mapped[str] = mapped_column(String(10), default="")
    file_name: Mapped[str] = mapped_column(String(100), default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    decided_at: Mapped[datetime | None]
    decline_reason: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime]

    activity: Mapped[Activity] = relationship(lazy="selectin")
    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="selectin")
    requested_by: Mapped[Member | None] = relationship(
        foreign_keys=[requested_by_id], lazy="selectin"
    )

    @property
    def counts(self) -> bool:
        return self.state in COUNTING


class ServiceCertificate(Base):
    """A 志愿服务记录证明 issued: its number is ZYFW-<year>-<id>."""

    __tablename__ = "service_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    minutes: Mapped[int]
    issued_at: Mapped[datetime]

    def number(self) -> str:
        return f"ZYFW-{to_local(self.issued_at).year}-{self.id:05d}"


class HoursError(Exception):
    """A sign-out or 补录 refused. `reason`: wrong_code, locked, not_signed_in, already,
    nothing_open, not_service, not_manager, not_ended, over_plan, no_minutes, no_reason,
    no_evidence, counted_already, pending_already, not_pending, own_request, own_hours,
    decline_reason, not_member. `detail` holds what a sentence needs."""

    def __init__(self, reason: str, **detail: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class HoursRules:
    min_percent: int
    grace: timedelta

    @staticmethod
    def of(settings: Settings) -> HoursRules:
        return HoursRules(
            settings.SERVICE_MIN_PERCENT,
            timedelta(minutes=settings.SERVICE_SIGNOUT_GRACE_MINUTES),
        )


def planned_minutes(activity: Activity) -> int:
    return int((activity.ends_at - activity.starts_at).total_seconds() // 60)


def stay_minutes(activity: Activity, signed_in: datetime, signed_out: datetime) -> int:
    """Minutes from sign-in to sign-out, within the planned time."""
    start = max(signed_in, activity.starts_at)
    end = min(signed_out, activity.ends_at)
    return max(0, int((end - start).total_seconds() // 60))


def needed_minutes(activity: Activity, rules: HoursRules) -> int:
    """The shortest stay that counts (rounded up to the minute)."""
    return -(-planned_minutes(activity) * rules.min_percent // 100)


def star_of(hours: float) -> tuple[str | None, tuple[int, str] | None]:
    """(the star level reached or None, the next (hours, name) or None)."""
    reached = None
    for threshold, name in STARS:
        if hours >= threshold:
            reached = name
        else:
            return reached, (threshold, name)
    return reached, None


async def service_of(session: AsyncSession, activity_id: int) -> ServiceActivity | None:
    return await session.get(ServiceActivity, activity_id)


async def mark_service(
    *, session: AsyncSession, activity: Activity, actor: Member, team: VolunteerTeam | None
) -> ServiceActivity:
    """Make an activity a volunteer service (of `team`): its host, an admin or the leader."""
    if not (actor.may_manage(activity) or (team is not None and team.leader_id == actor.id)):
        raise HoursError("not_manager")
    row = await service_of(session, activity.id)
    if row is None:
        row = ServiceActivity(activity_id=activity.id, marked_by_id=actor.id)
        session.add(row)
    row.team_id = team.id if team else None
    await session.flush()
    return row


def may_lead(member: Member, activity: Activity, service: ServiceActivity) -> bool:
    """Who confirms sign-outs and hears of missing ones: the activity's managers, the leader."""
    leader = service.team.leader_id if service.team else None
    return member.may_manage(activity) or leader == member.id


async def signed_row(
    session: AsyncSession, activity_id: int, member_id: int
) -> ServiceHours | None:
    stmt = select(ServiceHours).where(
        ServiceHours.activity_id == activity_id,
        ServiceHours.member_id == member_id,
        ServiceHours.kind == HoursKind.SIGNED,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def sign_out(
    *,
    session: AsyncSession,
    activity: Activity,
    member: Member,
    now: datetime,
    rules: HoursRules,
    by: Member | None = None,
) -> ServiceHours:
    """Record the sign-out of a member signed in to a service: counted or too short."""
    checkin = await find_checkin(session, activity_id=activity.id, member_id=member.id)
    if checkin is None:
        raise HoursError("not_signed_in", activity=activity)
    earlier = await signed_row(session, activity.id, member.id)
    if earlier is not None:
        raise HoursError("already", activity=activity, row=earlier)
    minutes = stay_minutes(activity, checkin.at, now)
    enough = minutes >= needed_minutes(activity, rules)
    row = ServiceHours(
        activity_id=activity.id,
        member_id=member.id,
        home_unit_id=member.home_unit_id,
        kind=HoursKind.SIGNED,
        state=HoursState.COUNTED if enough else HoursState.TOO_SHORT,
        signed_in_at=checkin.at,
        signed_out_at=now,
        signed_out_by_id=by.id if by else None,
        minutes=minutes,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    set_committed_value(row, "activity", activity)
    set_committed_value(row, "member", member)
    return row


async def signing_out(
    session: AsyncSession, *, now: datetime, rules: HoursRules
) -> list[Activity]:
    """Service activities one may sign out of now: started, and ended less than `grace` ago."""
    stmt = (
        select(Activity)
        .join(ServiceActivity, ServiceActivity.activity_id == Activity.id)
        .where(Activity.starts_at <= now, Activity.ends_at > now - rules.grace, live())
        .order_by(Activity.starts_at, Activity.id)
        .options(selectinload(Activity.alliance))
    )
    return list((await session.execute(stmt)).scalars())


async def service_for_code(
    *,
    session: AsyncSession,
    member: Member,
    code: str,
    now: datetime,
    rules: HoursRules,
    checkin_rules: CheckInRules,
    key: str,
) -> Activity:
    """The service a 签退 code is for (the check-in code), when the member may sign out of
    it; a wrong code counts toward the check-in lockout."""
    until = await checkin_rules.wrong_codes.locked_until(session=session, key=key, now=now)
    if until is not None:
        raise HoursError("locked", until=until)
    open_now = await signing_out(session, now=now, rules=rules)
    for activity in open_now:
        if code_age(activity, code, now, lookback=1) is not None:
            if await find_checkin(session, activity_id=activity.id, member_id=member.id) is None:
                raise HoursError("not_signed_in", activity=activity)
            earlier = await signed_row(session, activity.id, member.id)
            if earlier is not None:
                raise HoursError("already", activity=activity, row=earlier)
            return activity
    if not open_now:
        raise HoursError("nothing_open")
    left = await checkin_rules.wrong_codes.fail(session=session, key=key, now=now)
    if left == 0:
        raise HoursError("locked", until=now + checkin_rules.wrong_codes.window)
    raise HoursError("wrong_code", left=left)


async def stay_so_far(
    session: AsyncSession, *, activity: Activity, member: Member, now: datetime
) -> int:
    """The minutes a sign-out now would count as the stay."""
    checkin = await find_checkin(session, activity_id=activity.id, member_id=member.id)
    return stay_minutes(activity, checkin.at, now) if checkin else 0


async def my_open_service(
    session: AsyncSession, *, member: Member, now: datetime, rules: HoursRules
) -> Activity | None:
    """The service the member is signed in to and may still sign out of, if any."""
    for activity in await signing_out(session, now=now, rules=rules):
        came = await find_checkin(session, activity_id=activity.id, member_id=member.id)
        if came is not None and await signed_row(session, activity.id, member.id) is None:
            return activity
    return None


async def not_signed_out(session: AsyncSession, activity: Activity) -> list[CheckIn]:
    """Check-ins at a service with no sign-out row (the ones the sweep flags)."""
    signed = select(ServiceHours.member_id).where(
        ServiceHours.activity_id == activity.id, ServiceHours.kind == HoursKind.SIGNED
    )
    stmt = (
        select(CheckIn)
        .where(CheckIn.activity_id == activity.id, CheckIn.member_id.not_in(signed))
        .order_by(CheckIn.id)
        .options(selectinload(CheckIn.member))
    )
    return list((await session.execute(stmt)).scalars())


async def close_service(
    *, session: AsyncSession, activity: Activity, now: datetime
) -> list[ServiceHours]:
    """After the sign-out window: each check-in without a sign-out gets a no_signout row."""
    rows = []
    for checkin in await not_signed_out(session, activity):
        row = ServiceHours(
            activity_id=activity.id,
            member_id=checkin.member_id,
            home_unit_id=checkin.home_unit_id,
            kind=HoursKind.SIGNED,
            state=HoursState.NO_SIGNOUT,
            signed_in_at=checkin.at,
            minutes=0,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    await session.flush()
    return rows


async def services_to_close(
    session: AsyncSession, *, now: datetime, rules: HoursRules
) -> list[ServiceActivity]:
    """Services whose sign-out window closed in the last week and that still have check-ins
    without a sign-out row."""
    stmt = (
        select(ServiceActivity)
        .join(Activity, ServiceActivity.activity_id == Activity.id)
        .where(
            Activity.ends_at <= now - rules.grace,
            Activity.ends_at > now - timedelta(days=7),
            live(),
        )
        .order_by(Activity.ends_at)
    )
    found = []
    for service in (await session.execute(stmt)).scalars():
        if await not_signed_out(session, service.activity):
            found.append(service)
    return found


def check_admin(actor: Member, activity: Activity) -> None:
    if not actor.administers(activity.alliance_id):
        raise HoursError("not_manager")


async def add_manual(
    *,
    session: AsyncSession,
    activity: Activity,
    member: Member,
    minutes: int,
    reason: str,
    evidence: Attachment | None,
    actor: Member,
    now: datetime,
) -> ServiceHours:
    """补录: hours an administrator adds by hand, pending another administrator's approval."""
    check_admin(actor, activity)
    if await service_of(session, activity.id) is None:
        raise HoursError("not_service", activity=activity)
    if activity.ends_at > now:
        raise HoursError("not_ended", activity=activity)
    plan = planned_minutes(activity)
    if minutes <= 0:
        raise HoursError("no_minutes")
    if minutes > plan:
        raise HoursError("over_plan", plan=plan)
    if not reason.strip():
        raise HoursError("no_reason")
    if evidence is None or not evidence.ok:
        raise HoursError("no_evidence")
    rows = await member_rows(session, member_id=member.id, activity_id=activity.id)
    if any(r.counts for r in rows):
        raise HoursError("counted_already", activity=activity)
    if any(r.state == HoursState.PENDING for r in rows):
        raise HoursError("pending_already", activity=activity)
    row = ServiceHours(
        activity_id=activity.id,
        member_id=member.id,
        home_unit_id=member.home_unit_id,
        kind=HoursKind.MANUAL,
        state=HoursState.PENDING,
        minutes=minutes,
        reason=reason.strip()[:200],
        file_sha256=evidence.sha256,
        file_suffix=evidence.suffix,
        file_kind=evidence.kind,
        file_name=evidence.name[:100],
        requested_by_id=actor.id,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    set_committed_value(row, "activity", activity)
    set_committed_value(row, "member", member)
    return row


def check_decide(row: ServiceHours, actor: Member) -> None:
    """Raise unless `actor` may approve or decline this 补录."""
    if row.state != HoursState.PENDING:
        raise HoursError("not_pending", row=row)
    check_admin(actor, row.activity)
    if row.member_id == actor.id:
        raise HoursError("own_hours")
    if row.requested_by_id == actor.id:
        raise HoursError("own_request")


async def decide(
    *,
    session: AsyncSession,
    row: ServiceHours,
    actor: Member,
    approve: bool,
    now: datetime,
    reason: str = "",
) -> ServiceHours:
    """Approve a pending 补录, or decline it with a reason (it stays, declined)."""
    check_decide(row, actor)
    if not approve and not reason.strip():
        raise HoursError("decline_reason")
    row.state = HoursState.APPROVED if approve else HoursState.DECLINED
    row.decided_by_id = actor.id
    row.decided_at = now
    row.decline_reason = "" if approve else reason.strip()[:200]
    await session.flush()
    return row


async def get_hours(session: AsyncSession, row_id: int) -> ServiceHours | None:
    return await session.get(ServiceHours, row_id)


async def member_rows(
    session: AsyncSession, *, member_id: int, activity_id: int | None = None
) -> list[ServiceHours]:
    stmt = select(ServiceHours).where(ServiceHours.member_id == member_id)
    if activity_id is not None:
        stmt = stmt.where(ServiceHours.activity_id == activity_id)
    stmt = stmt.order_by(ServiceHours.created_at.desc(), ServiceHours.id.desc())
    return list((await session.execute(stmt)).scalars())


async def pending(session: AsyncSession, scope: Scope) -> list[ServiceHours]:
    """The 补录 waiting for approval, oldest first, of the alliances in scope."""
    stmt = (
        select(ServiceHours)
        .join(Activity, ServiceHours.activity_id == Activity.id)
        .where(ServiceHours.state == HoursState.PENDING, scope.where(Activity.alliance_id))
        .order_by(ServiceHours.created_at, ServiceHours.id)
        .options(selectinload(ServiceHours.requested_by))
    )
    return list((await session.execute(stmt)).scalars())


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return local_datetime(year, 1, 1), local_datetime(year + 1, 1, 1)


def _counted() -> Any:
    return ServiceHours.state.in_(COUNTING)


async def total_minutes(session: AsyncSession, *, member_id: int, year: int | None = None) -> int:
    """A member's counted minutes: all time, or in one (local) year of the services."""
    stmt = select(func.coalesce(func.sum(ServiceHours.minutes), 0)).where(
        ServiceHours.member_id == member_id, _counted()
    )
    if year is not None:
        start, end = year_bounds(year)
        stmt = stmt.join(Activity, ServiceHours.activity_id == Activity.id).where(
            Activity.starts_at >= start, Activity.starts_at < end
        )
    return int(await session.scalar(stmt) or 0)


@dataclass(frozen=True)
class Tally:
    label: str
    minutes: int
    people: int
    services: int


async def by_team(session: AsyncSession, *, scope: Scope, year: int) -> list[Tally]:
    """Counted hours per team of the alliances in scope, in one year."""
    start, end = year_bounds(year)
    stmt = (
        select(
            VolunteerTeam.name,
            func.coalesce(func.sum(ServiceHours.minutes), 0),
            func.count(func.distinct(ServiceHours.member_id)),
            func.count(func.distinct(ServiceHours.activity_id)),
        )
        .select_from(VolunteerTeam)
        .join(ServiceActivity, ServiceActivity.team_id == VolunteerTeam.id, isouter=True)
        .join(Activity, Activity.id == ServiceActivity.activity_id, isouter=True)
        .join(
            ServiceHours,
            (ServiceHours.activity_id == Activity.id)
            & _counted()
            & (Activity.starts_at >= start)
            & (Activity.starts_at < end),
            isouter=True,
        )
        .where(scope.where(VolunteerTeam.alliance_id))
        .group_by(VolunteerTeam.id, VolunteerTeam.name)
        .order_by(func.coalesce(func.sum(ServiceHours.minutes), 0).desc(), VolunteerTeam.id)
    )
    return [Tally(n, int(m), int(p), int(s)) for n, m, p, s in (await session.execute(stmt))]


async def by_alliance(session: AsyncSession, *, scope: Scope, year: int) -> list[Tally]:
    """Counted hours per alliance (where the service was held), in one year."""
    from models.org import Alliance

    start, end = year_bounds(year)
    stmt = (
        select(
            Alliance.name,
            func.sum(ServiceHours.minutes),
            func.count(func.distinct(ServiceHours.member_id)),
            func.count(func.distinct(ServiceHours.activity_id)),
        )
        .join(Activity, Activity.alliance_id == Alliance.id)
        .join(ServiceHours, ServiceHours.activity_id == Activity.id)
        .where(
            _counted(),
            Activity.starts_at >= start,
            Activity.starts_at < end,
            scope.where(Alliance.id),
        )
        .group_by(Alliance.id, Alliance.name)
        .order_by(func.sum(ServiceHours.minutes).desc())
    )
    return [Tally(n, int(m), int(p), int(s)) for n, m, p, s in (await session.execute(stmt))]


async def teams_in(session: AsyncSession, scope: Scope) -> list[VolunteerTeam]:
    stmt = select(VolunteerTeam).where(scope.where(VolunteerTeam.alliance_id))
    return list((await session.execute(stmt.order_by(VolunteerTeam.id))).scalars())


async def team_member_ids(session: AsyncSession, team_id: int) -> list[int]:
    stmt = select(TeamMember.member_id).where(TeamMember.team_id == team_id)
    return list((await session.execute(stmt.order_by(TeamMember.id))).scalars())


async def my_team_ids(session: AsyncSession, member_id: int) -> set[int]:
    stmt = select(TeamMember.team_id).where(TeamMember.member_id == member_id)
    return set((await session.execute(stmt)).scalars())


async def join_team(
    *, session: AsyncSession, team: VolunteerTeam, member: Member, now: datetime
) -> bool:
    """Join a team (True), or False when already in it. Members of the alliance's units may,
    and mobile members may join any team."""
    if not member.attend_scope().covers(team.alliance_id):
        raise HoursError("not_member")
    if team.id in await my_team_ids(session, member.id):
        return False
    session.add(TeamMember(team_id=team.id, member_id=member.id, joined_at=now))
    await session.flush()
    return True


async def create_team(
    *,
    session: AsyncSession,
    alliance_id: int,
    name: str,
    leader: Member,
    actor: Member,
    now: datetime,
) -> VolunteerTeam:
    """A new team of an alliance, by its administrator; the leader is its first member."""
    if not actor.administers(alliance_id):
        raise HoursError("not_manager")
    taken = await session.scalar(select(VolunteerTeam.id).where(VolunteerTeam.name == name))
    if taken is not None:
        raise HoursError("name_taken", name=name)
    team = VolunteerTeam(alliance_id=alliance_id, name=name, leader_id=leader.id, created_at=now)
    session.add(team)
    await session.flush()
    session.add(TeamMember(team_id=team.id, member_id=leader.id, joined_at=now))
    await session.flush()
    return team


async def services_for_manual(
    session: AsyncSession, *, scope: Scope, now: datetime, days: int = 90
) -> list[Activity]:
    """Ended services of the alliances in scope, newest first (补录 picks one)."""
    stmt = (
        select(Activity)
        .join(ServiceActivity, ServiceActivity.activity_id == Activity.id)
        .where(
            Activity.ends_at <= now,
            Activity.ends_at > now - timedelta(days=days),
            live(),
            scope.where(Activity.alliance_id),
        )
        .order_by(Activity.starts_at.desc())
        .limit(8)
    )
    return list((await session.execute(stmt)).scalars())


async def issue_certificate(
    *, session: AsyncSession, member: Member, now: datetime
) -> ServiceCertificate:
    minutes = await total_minutes(session, member_id=member.id)
    row = ServiceCertificate(member_id=member.id, minutes=minutes, issued_at=now)
    session.add(row)
    await session.flush()
    return row


async def counted_rows(session: AsyncSession, member_id: int) -> list[ServiceHours]:
    stmt = (
        select(ServiceHours)
        .where(ServiceHours.member_id == member_id, _counted())
        .join(Activity, ServiceHours.activity_id == Activity.id)
        .order_by(Activity.starts_at)
    )
    return list((await session.execute(stmt)).scalars())


async def loaded_member(session: AsyncSession, member_id: int) -> Member | None:
    stmt = select(Member).where(Member.id == member_id).options(HOME_LOADED)
    return (await session.execute(stmt)).scalar_one_or_none()


async def year_figures(session: AsyncSession, *, scope: Scope, year: int) -> Tally:
    """Counted hours, people and services of the alliances in scope (where served), one year."""
    start, end = year_bounds(year)
    stmt = (
        select(
            func.coalesce(func.sum(ServiceHours.minutes), 0),
            func.count(func.distinct(ServiceHours.member_id)),
            func.count(func.distinct(ServiceHours.activity_id)),
        )
        .join(Activity, ServiceHours.activity_id == Activity.id)
        .where(
            _counted(),
            Activity.starts_at >= start,
            Activity.starts_at < end,
            scope.where(Activity.alliance_id),
        )
    )
    minutes, people, services = (await session.execute(stmt)).one()
    return Tally("", int(minutes), int(people), int(services))

"""党建联席会议 and 发展联议: a meeting, its invitees, its agenda, its minutes and decisions.

A meeting is an activity (check-in records attendance) with more: invitees who answer 参加 or
请假 (with a reason), agenda items members propose before the deadline and the convener
accepts or parks, notes and decisions recorded item by item during the meeting or within
RECORD_HOURS_AFTER hours after it, and a close that locks the minutes and turns each decision
into a follow-up item (models.followup). The next meeting of the alliance starts with the
standing item 上次决议落实情况, the earlier decisions and their state (`review_items`).

Who may do what is decided here (`convenable`, `may_run`, ...); a refusal raises
MeetingError with a reason the handlers turn into a sentence. Writing and closing the minutes
are in models.minutes, the figures in models.meeting_figures.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Select, String, UniqueConstraint, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from bot.core import Role
from models.activity import Activity, activity_loads, create_activity, expected_members, live
from models.base import Base, TimestampMixin
from models.checkin import CheckIn
from models.followup import ACTIVE, FollowUp, items_by_source
from models.member import Member, MemberRole
from models.org import Department, Membership, Unit
from models.rotation import chair_unit_id, get_plan
from models.scope import Scope

RECORD_HOURS_AFTER = 48  # minutes may be written until this long after the end
AGENDA_DAYS_BEFORE = 7  # the default agenda deadline
RECORD_OPENS_MINUTES_BEFORE = 30  # as check-in opens
TITLE_LIMIT = (2, 60)
TOPIC_LIMIT = (2, 100)
DECISION_SOURCE = "decision"


class MeetingKind(enum.StrEnum):
    JOINT = "joint"  # 党建联席会议
    DEVELOPMENT = "development"  # 发展联议


class InviteeRole(enum.StrEnum):
    MEMBER = "member"  # 出席: a member unit's secretary or liaison, an alliance admin
    DEPARTMENT = "department"  # 列席: a department's officer
    UPPER = "upper"  # 列席: the upper party organisation (the county)


class Answer(enum.StrEnum):
    NONE = ""
    ATTEND = "attend"
    LEAVE = "leave"


class AgendaState(enum.StrEnum):
    REVIEW = "review"  # the standing first item: 上次决议落实情况
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    PARKED = "parked"


class Meeting(TimestampMixin, Base):
    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), unique=True
    )
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id", ondelete="CASCADE"))
    kind: Mapped[MeetingKind] = mapped_column(String(12))
    convener_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    recorder_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    agenda_deadline: Mapped[datetime]
    department_ids: Mapped[list[Any]] = mapped_column(default=list)
    invite_upper: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))

    activity: Mapped[Activity] = relationship(lazy="selectin")
    convener: Mapped[Member | None] = relationship(lazy="selectin", foreign_keys=[convener_id])
    recorder: Mapped[Member | None] = relationship(lazy="selectin", foreign_keys=[recorder_id])

    @property
    def title(self) -> str:
        return self.activity.title

    @property
    def starts_at(self) -> datetime:
        return self.activity.starts_at

    @property
    def ends_at(self) -> datetime:
        return self.activity.ends_at

    def record_until(self) -> datetime:
        return self.ends_at + timedelta(hours=RECORD_HOURS_AFTER)

    def phase(self, now: datetime) -> str:
        """proposing (before the agenda deadline), upcoming, running, ended (minutes may still
        be written), closed."""
        if self.closed_at is not None:
            return "closed"
        if now < self.agenda_deadline:
            return "proposing"
        if now < self.starts_at:
            return "upcoming"
        if now < self.ends_at:
            return "running"
        return "ended"


class MeetingInvitee(Base):
    __tablename__ = "meeting_invitee"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    role: Mapped[InviteeRole] = mapped_column(String(12))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    answer: Mapped[Answer] = mapped_column(String(8), default=Answer.NONE)
    reason: Mapped[str] = mapped_column(default="")
    answered_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship(lazy="selectin")
    unit: Mapped[Unit | None] = relationship(lazy="selectin")


class AgendaItem(Base):
    __tablename__ = "meeting_agenda"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str]
    state: Mapped[AgendaState] = mapped_column(String(10))
    proposer_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    proposed_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_agenda.id"))
    notes: Mapped[str] = mapped_column(default="")
    recorded_at: Mapped[datetime | None]
    # The standing item's list of earlier decisions and their state, frozen at the close.
    review: Mapped[list[Any]] = mapped_column(default=list)

    proposer: Mapped[Member | None] = relationship(lazy="selectin")
    unit: Mapped[Unit | None] = relationship(lazy="selectin")


class MeetingDecision(Base):
    """A decision of the minutes; at the close it becomes a follow-up item (followup_id)."""

    __tablename__ = "meeting_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    agenda_id: Mapped[int] = mapped_column(ForeignKey("meeting_agenda.id", ondelete="CASCADE"))
    text: Mapped[str]
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    owner_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    due_on: Mapped[date]
    needs_departments: Mapped[bool] = mapped_column(default=False)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followup.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime]

    owner_unit: Mapped[Unit | None] = relationship(lazy="selectin")
    owner_member: Mapped[Member | None] = relationship(
        lazy="selectin", foreign_keys=[owner_member_id]
    )


class MeetingError(Exception):
    """reason: not_permitted, not_invited, closed, too_late (agenda deadline passed), started,
    not_started, close_early (closing before the start), window_closed (minutes no longer
    open), past, bad_deadline, bad_title,
    reason_required, not_found, no_owner, bad_due."""

    def __init__(self, reason: str, **detail: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def meeting_activity_ids() -> Select[tuple[int]]:
    """The activities that are meetings. Activity figures (participation, 轮办 hosting) leave
    them out: a meeting's attendance is counted against its invitees (models.meeting_figures),
    not against every party member of the alliance."""
    return select(Meeting.activity_id)


# Asked on check-ins to activities of other alliances (a department officer sitting in).
_INVITED_TO = (
    select(Meeting.activity_id)
    .join(MeetingInvitee, MeetingInvitee.meeting_id == Meeting.id)
    .where(
        MeetingInvitee.member_id == bindparam("member_id"),
        Meeting.activity_id.in_(bindparam("activity_ids", expanding=True)),
    )
)


async def invited_to(session: AsyncSession, member_id: int, activity_ids: list[int]) -> set[int]:
    """Which of these activities are meetings the member is invited to."""
    if not activity_ids:
        return set()
    params = {"member_id": member_id, "activity_ids": activity_ids}
    return set((await session.execute(_INVITED_TO, params)).scalars())


async def invitee_ids(session: AsyncSession, activity_id: int) -> list[int]:
    """Everyone invited to the meeting held as this activity (none if it is not a meeting)."""
    stmt = (
        select(MeetingInvitee.member_id)
        .join(Meeting, Meeting.id == MeetingInvitee.meeting_id)
        .where(Meeting.activity_id == activity_id)
        .order_by(MeetingInvitee.member_id)
    )
    return list(dict.fromkeys((await session.execute(stmt)).scalars()))


async def to_remind(session: AsyncSession, activity: Activity) -> list[int]:
    """Who an activity's reminders go to: a meeting's invitees who did not ask for leave;
    for any other activity the alliance's party members."""
    meeting_id = await session.scalar(select(Meeting.id).where(Meeting.activity_id == activity.id))
    if meeting_id is None:
        return [m.id for m in await expected_members(session, activity.alliance_id)]
    stmt = (
        select(MeetingInvitee.member_id)
        .where(MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.answer != Answer.LEAVE)
        .order_by(MeetingInvitee.member_id)
    )
    return list(dict.fromkeys((await session.execute(stmt)).scalars()))


# Permissions ------------------------------------------------------------------------------


async def chair_of(session: AsyncSession, alliance_id: int, now: datetime) -> int | None:
    plan = await get_plan(session, alliance_id)
    return chair_unit_id(plan, now) if plan else None


async def convenable(session: AsyncSession, member: Member, now: datetime) -> list[int]:
    """Alliances the member may convene for: those administered, and those whose chair unit
    is the member's unit when the member is its secretary."""
    scope = member.admin_scope()
    stmt = select(Membership.alliance_id).distinct().order_by(Membership.alliance_id)
    ids = list((await session.execute(stmt.where(scope.where(Membership.alliance_id)))).scalars())
    if member.has_role(Role.SECRETARY) and member.home_unit_id is not None:
        for alliance_id in member.home_alliances():
            if alliance_id not in ids and await chair_of(session, alliance_id, now) == (
                member.home_unit_id
            ):
                ids.append(alliance_id)
    return sorted(ids)


def may_run(member: Member, meeting: Meeting) -> bool:
    """The convener, the recorder and the alliance's admins run a meeting."""
    return member.id in (meeting.convener_id, meeting.recorder_id) or member.administers(
        meeting.alliance_id
    )


# Convening --------------------------------------------------------------------------------


def default_deadline(starts_at: datetime, now: datetime) -> datetime:
    """A week before the start; a day before when the meeting is sooner; else now."""
    for days in (AGENDA_DAYS_BEFORE, 1):
        deadline = starts_at - timedelta(days=days)
        if deadline > now:
            return deadline
    return now


async def default_invitees(
    session: AsyncSession,
    alliance_id: int,
    *,
    department_ids: list[int] = (),  # type: ignore[assignment]
    upper: bool = False,
) -> list[tuple[Member, InviteeRole]]:
    """Every member unit's secretary and liaisons and the alliance's admins (出席); the
    departments' officers and the county admins when invited (列席)."""
    units = select(Membership.unit_id).where(Membership.alliance_id == alliance_id)
    unit_people = select(Member).where(Member.home_unit_id.in_(units)).order_by(Member.id)
    admins = (
        select(Member)
        .join(MemberRole, MemberRole.member_id == Member.id)
        .where(MemberRole.role == Role.ALLIANCE_ADMIN, MemberRole.alliance_id == alliance_id)
    )
    found: dict[int, tuple[Member, InviteeRole]] = {}
    for m in (await session.execute(unit_people)).scalars():
        if m.roles and m.has_role(Role.LIAISON) and not m.has_role(Role.SUPER_ADMIN):
            found.setdefault(m.id, (m, InviteeRole.MEMBER))
    for m in (await session.execute(admins)).scalars():
        found.setdefault(m.id, (m, InviteeRole.MEMBER))
    if department_ids:
        officers = (
            select(Member)
            .join(MemberRole, MemberRole.member_id == Member.id)
            .where(MemberRole.role == Role.OFFICER, Member.department_id.in_(list(department_ids)))
        )
        for m in (await session.execute(officers)).scalars():
            found.setdefault(m.id, (m, InviteeRole.DEPARTMENT))
    if upper:
        county = (
            select(Member)
            .join(MemberRole, MemberRole.member_id == Member.id)
            .where(MemberRole.role == Role.SUPER_ADMIN)
        )
        for m in (await session.execute(county)).scalars():
            found.setdefault(m.id, (m, InviteeRole.UPPER))
    return sorted(found.values(), key=lambda pair: (list(InviteeRole).index(pair[1]), pair[0].id))


async def convene(
    *,
    session: AsyncSession,
    convener: Member,
    alliance_id: int,
    kind: MeetingKind,
    title: str,
    place: str,
    starts_at: datetime,
    ends_at: datetime,
    agenda_deadline: datetime,
    now: datetime,
    department_ids: list[int] = (),  # type: ignore[assignment]
    invite_upper: bool = False,
    activity: Activity | None = None,
) -> Meeting:
    """Create the meeting (an activity hosted by the convener's unit, or the given activity of
    the alliance) with its invitees, the standing review item when earlier decisions exist,
    and the topics parked at earlier meetings proposed again."""
    if alliance_id not in await convenable(session, convener, now):
        raise MeetingError("not_permitted")
    if not TITLE_LIMIT[0] <= len(title.strip()) <= TITLE_LIMIT[1]:
        raise MeetingError("bad_title")
    if starts_at <= now or ends_at <= starts_at:
        raise MeetingError("past")
    if not now <= agenda_deadline <= starts_at:
        raise MeetingError("bad_deadline")
    if activity is None:
        activity = await create_activity(
            session=session,
            alliance_id=alliance_id,
            host_unit_id=convener.home_unit_id,
            created_by=convener,
            title=title.strip(),
            place=place.strip(),
            starts_at=starts_at,
            ends_at=ends_at,
        )
    elif activity.alliance_id != alliance_id:
        raise MeetingError("not_permitted")
    meeting = Meeting(
        activity_id=activity.id,
        alliance_id=alliance_id,
        kind=kind,
        convener_id=convener.id,
        recorder_id=convener.id,
        agenda_deadline=agenda_deadline,
        department_ids=sorted(department_ids),
        invite_upper=invite_upper,
    )
    session.add(meeting)
    await session.flush()
    for member, role in await default_invitees(
        session, alliance_id, department_ids=list(department_ids), upper=invite_upper
    ):
        session.add(
            MeetingInvitee(
                meeting_id=meeting.id, member_id=member.id, role=role, unit_id=member.home_unit_id
            )
        )
    if await review_items(session, meeting):
        session.add(
            AgendaItem(
                meeting_id=meeting.id,
                position=0,
                title=REVIEW_TITLE,
                state=AgendaState.REVIEW,
                proposed_at=now,
                decided_at=now,
            )
        )
    for parked in await _parked_before(session, alliance_id, meeting.id):
        session.add(
            AgendaItem(
                meeting_id=meeting.id,
                title=parked.title,
                state=AgendaState.PROPOSED,
                proposer_id=parked.proposer_id,
                unit_id=parked.unit_id,
                proposed_at=now,
                carried_from_id=parked.id,
            )
        )
    await session.flush()
    await session.refresh(meeting, ["activity", "convener", "recorder"])
    return meeting


REVIEW_TITLE = "上次决议落实情况"


async def _parked_before(
    session: AsyncSession, alliance_id: int, meeting_id: int
) -> list[AgendaItem]:
    """Topics parked at the alliance's earlier meetings and not carried forward since."""
    carried = select(AgendaItem.carried_from_id).where(AgendaItem.carried_from_id.is_not(None))
    stmt = (
        select(AgendaItem)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(
            Meeting.alliance_id == alliance_id,
            Meeting.id != meeting_id,
            AgendaItem.state == AgendaState.PARKED,
            AgendaItem.id.not_in(carried),
        )
        .order_by(AgendaItem.id)
    )
    return list((await session.execute(stmt)).scalars())


# Queries ----------------------------------------------------------------------------------


def _loads() -> tuple[Any, ...]:
    return (selectinload(Meeting.activity).options(*activity_loads()),)


async def get_meeting(session: AsyncSession, meeting_id: int) -> Meeting | None:
    stmt = select(Meeting).where(Meeting.id == meeting_id).options(*_loads())
    return (await session.execute(stmt)).scalar_one_or_none()


async def meeting_of_activity(session: AsyncSession, activity_id: int) -> Meeting | None:
    stmt = select(Meeting).where(Meeting.activity_id == activity_id).options(*_loads())
    return (await session.execute(stmt)).scalar_one_or_none()


async def meetings_in(
    session: AsyncSession, scope: Scope, *, since: datetime | None = None, limit: int = 50
) -> list[Meeting]:
    """Meetings of the alliances in scope, latest start first."""
    stmt = (
        select(Meeting)
        .join(Activity, Activity.id == Meeting.activity_id)
        .where(live(), scope.where(Meeting.alliance_id))
        .order_by(Activity.starts_at.desc(), Meeting.id.desc())
        .limit(limit)
        .options(*_loads())
    )
    if since is not None:
        stmt = stmt.where(Activity.ends_at >= since)
    return list((await session.execute(stmt)).scalars())


async def invited_meetings(
    session: AsyncSession, member: Member, limit: int = 20
) -> list[Meeting]:
    ids = select(MeetingInvitee.meeting_id).where(MeetingInvitee.member_id == member.id)
    stmt = (
        select(Meeting)
        .join(Activity, Activity.id == Meeting.activity_id)
        .where(live(), Meeting.id.in_(ids))
        .order_by(Activity.starts_at.desc())
        .limit(limit)
        .options(*_loads())
    )
    return list((await session.execute(stmt)).scalars())


async def invitees(session: AsyncSession, meeting: Meeting) -> list[MeetingInvitee]:
    stmt = (
        select(MeetingInvitee)
        .where(MeetingInvitee.meeting_id == meeting.id)
        .order_by(MeetingInvitee.id)
    )
    return list((await session.execute(stmt)).scalars())


async def invitee(
    session: AsyncSession, meeting: Meeting, member: Member
) -> MeetingInvitee | None:
    stmt = select(MeetingInvitee).where(
        MeetingInvitee.meeting_id == meeting.id, MeetingInvitee.member_id == member.id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def agenda(
    session: AsyncSession, meeting: Meeting, states: tuple[AgendaState, ...] = ()
) -> list[AgendaItem]:
    """The meeting's agenda items: the review first, then by position and time proposed."""
    stmt = select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
    if states:
        stmt = stmt.where(AgendaItem.state.in_(list(states)))
    items = list((await session.execute(stmt)).scalars())
    return sorted(items, key=lambda a: (a.state != AgendaState.REVIEW, a.position, a.id))


async def running_order(session: AsyncSession, meeting: Meeting) -> list[AgendaItem]:
    """What the meeting walks through: the review item, then the accepted topics."""
    return await agenda(session, meeting, (AgendaState.REVIEW, AgendaState.ACCEPTED))


async def decisions(session: AsyncSession, meeting: Meeting) -> list[MeetingDecision]:
    stmt = (
        select(MeetingDecision)
        .where(MeetingDecision.meeting_id == meeting.id)
        .order_by(MeetingDecision.id)
    )
    return list((await session.execute(stmt)).scalars())


async def attended_ids(session: AsyncSession, meeting: Meeting) -> set[int]:
    """Who was there: those checked in, and whoever recorded the minutes (they wrote them
    during the meeting, checked in or not)."""
    stmt = select(CheckIn.member_id).where(CheckIn.activity_id == meeting.activity_id)
    present = set((await session.execute(stmt)).scalars())
    return present | ({meeting.recorder_id} if meeting.recorder_id is not None else set())


@dataclass(frozen=True)
class Reviewed:
    """An earlier decision as the review item lists it, with its follow-up item."""

    decision: MeetingDecision
    meeting: Meeting
    item: FollowUp | None


async def review_items(session: AsyncSession, meeting: Meeting) -> list[Reviewed]:
    """上次决议落实情况: every decision of the alliance's last closed meeting before this one,
    and earlier decisions still not finished (they carry over until done)."""
    stmt = (
        select(Meeting)
        .join(Activity, Activity.id == Meeting.activity_id)
        .where(
            Meeting.alliance_id == meeting.alliance_id,
            Meeting.id != meeting.id,
            Meeting.closed_at.is_not(None),
            Activity.starts_at < meeting.starts_at,
        )
        .order_by(Activity.starts_at.desc())
        .options(*_loads())
    )
    earlier = list((await session.execute(stmt)).scalars())
    if not earlier:
        return []
    by_id = {m.id: m for m in earlier}
    rows = list(
        (
            await session.execute(
                select(MeetingDecision)
                .where(MeetingDecision.meeting_id.in_(list(by_id)))
                .order_by(MeetingDecision.id)
            )
        ).scalars()
    )
    items = await items_by_source(session, DECISION_SOURCE, [d.id for d in rows])
    last = earlier[0].id
    found = []
    for d in rows:
        item = items.get(d.id)
        if d.meeting_id == last or (item is not None and item.status in ACTIVE):
            found.append(Reviewed(d, by_id[d.meeting_id], item))
    return sorted(found, key=lambda r: (r.meeting.starts_at, r.decision.id))


async def departments(session: AsyncSession, ids: list[int]) -> list[Department]:
    if not ids:
        return []
    stmt = select(Department).where(Department.id.in_(ids)).order_by(Department.id)
    return list((await session.execute(stmt)).scalars())


# Answers and agenda -----------------------------------------------------------------------


async def answer(
    *,
    session: AsyncSession,
    meeting: Meeting,
    member: Member,
    attend: bool,
    reason: str,
    now: datetime,
) -> MeetingInvitee:
    """参加 or 请假 (a leave needs a reason); an answer may change until the meeting ends."""
    row = await invitee(session, meeting, member)
    if row is None:
        raise MeetingError("not_invited")
    if meeting.closed_at is not None or now >= meeting.ends_at:
        raise MeetingError("closed")
    if not attend and not reason.strip():
        raise MeetingError("reason_required")
    row.answer = Answer.ATTEND if attend else Answer.LEAVE
    row.reason = "" if attend else reason.strip()
    row.answered_at = now
    await session.flush()
    return row


def may_propose(member: Member, meeting: Meeting) -> bool:
    return member.visible_scope().covers(meeting.alliance_id)


async def propose(
    *, session: AsyncSession, meeting: Meeting, member: Member, title: str, now: datetime
) -> AgendaItem:
    """A topic for the agenda, from a member of the alliance before the deadline."""
    if not may_propose(member, meeting):
        raise MeetingError("not_permitted")
    if meeting.closed_at is not None or now >= meeting.starts_at:
        raise MeetingError("started")
    if now >= meeting.agenda_deadline:
        raise MeetingError("too_late")
    if not TOPIC_LIMIT[0] <= len(title.strip()) <= TOPIC_LIMIT[1]:
        raise MeetingError("bad_title")
    item = AgendaItem(
        meeting_id=meeting.id,
        title=title.strip(),
        state=AgendaState.PROPOSED,
        proposer_id=member.id,
        unit_id=member.home_unit_id,
        proposed_at=now,
    )
    session.add(item)
    await session.flush()
    return item


async def decide_topic(
    *,
    session: AsyncSession,
    meeting: Meeting,
    item: AgendaItem,
    member: Member,
    accept: bool,
    now: datetime,
) -> AgendaItem:
    """采纳 puts the topic on the agenda (last); 暂缓 parks it (it comes back next time)."""
    if not may_run(member, meeting):
        raise MeetingError("not_permitted")
    if meeting.closed_at is not None or now >= meeting.starts_at:
        raise MeetingError("started")
    if item.meeting_id != meeting.id or item.state == AgendaState.REVIEW:
        raise MeetingError("not_found")
    if accept:
        placed = await agenda(session, meeting, (AgendaState.ACCEPTED,))
        item.position = max((a.position for a in placed), default=0) + 1
    item.state = AgendaState.ACCEPTED if accept else AgendaState.PARKED
    item.decided_at = now
    await session.flush()
    return item


async def meetings_to_close(session: AsyncSession, now: datetime) -> list[Meeting]:
    """Meetings whose minutes window has passed without a close."""
    stmt = (
        select(Meeting)
        .join(Activity, Activity.id == Meeting.activity_id)
        .where(
            live(),
            Meeting.closed_at.is_(None),
            Activity.ends_at <= now - timedelta(hours=RECORD_HOURS_AFTER),
        )
        .options(*_loads())
    )
    return list((await session.execute(stmt)).scalars())


async def meetings_starting(
    session: AsyncSession, now: datetime, within: timedelta
) -> list[Meeting]:
    stmt = (
        select(Meeting)
        .join(Activity, Activity.id == Meeting.activity_id)
        .where(
            live(),
            Meeting.closed_at.is_(None),
            Activity.starts_at > now,
            Activity.starts_at <= now + within,
        )
        .options(*_loads())
    )
    return list((await session.execute(stmt)).scalars())


async def deadlines_passed(session: AsyncSession, now: datetime) -> list[Meeting]:
    """Meetings whose agenda deadline has passed and that have not started."""
    stmt = (
        select(Meeting)
        .join(Activity, Activity.id == Meeting.activity_id)
        .where(
            live(),
            Meeting.closed_at.is_(None),
            Meeting.agenda_deadline <= now,
            Activity.starts_at > now,
        )
        .options(*_loads())
    )
    return list((await session.execute(stmt)).scalars())

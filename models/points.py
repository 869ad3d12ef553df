"""党员积分: base points plus the lines of the rule table RULES, each counted from records that
prove it (check-ins, counted service hours, pledges met, tickets resolved, resources listed,
督办事项 done on time, services not signed out), once per record, per year, up to its yearly cap.

Nothing is stored: the points are computed from the records, so an event counts once and a
year starts from BASE again. Mobile members are counted at their home unit; where they served
is shown beside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activity import Activity
from models.checkin import CheckIn
from models.followup import FollowUp, Status
from models.meeting import DECISION_SOURCE
from models.member import Member
from models.org import Alliance
from models.pledge import Pledge, PledgeState
from models.point_claim import approved_count
from models.resource import Resource
from models.ticket import Ticket, TicketState
from models.volunteer import HoursState, ServiceHours, total_minutes, year_bounds

BASE = 60


@dataclass(frozen=True)
class PointRule:
    key: str
    label: str
    per: int  # points per record (negative: a deduction)
    cap: int  # at most this many points (in absolute value) a year
    proof: str  # the record that proves it
    unit: str = "次"
    claimed: bool = False  # the member claims it with a photo or file; the secretary approves


RULES: tuple[PointRule, ...] = (
    PointRule("checkin", "参加活动", 2, 40, "签到记录"),
    PointRule("hours", "志愿服务", 1, 60, "签到签退或审核通过的补录", "小时"),
    PointRule("pledge", "承诺兑现", 5, 20, "兑现的承诺", "项"),
    PointRule("ticket", "为本单位吹哨并办结", 3, 15, "办结的吹哨工单", "件"),
    PointRule("resource", "分享共享资源", 2, 10, "资源清单中本人为联系人的资源", "条"),
    PointRule("decision", "按期完成督办事项", 3, 15, "按期完成的督办事项", "项"),
    PointRule("no_signout", "志愿服务未签退", -1, 5, "未签退记录"),
    PointRule(
        "pioneer", "先锋岗、示范岗表现", 3, 15, "审核通过的加分申请（附照片或文件）", claimed=True
    ),
    PointRule(
        "honour", "获得表彰或媒体报道", 5, 10, "审核通过的加分申请（附证书或报道）", claimed=True
    ),
)
CLAIMABLE = tuple(r for r in RULES if r.claimed)


@dataclass(frozen=True)
class Line:
    rule: PointRule
    count: int

    @property
    def points(self) -> int:
        value = min(abs(self.rule.per) * self.count, self.rule.cap)
        return value if self.rule.per > 0 else -value

    @property
    def capped(self) -> bool:
        return abs(self.rule.per) * self.count > self.rule.cap


@dataclass(frozen=True)
class Points:
    member_id: int
    lines: list[Line]

    @property
    def total(self) -> int:
        return BASE + sum(line.points for line in self.lines)


def _between(column: ColumnElement[datetime] | object, year: int) -> ColumnElement[bool]:
    start, end = year_bounds(year)
    return (column >= start) & (column < end)  # type: ignore[operator, no-any-return]


async def _count(session: AsyncSession, stmt: object) -> int:
    return int(await session.scalar(stmt) or 0)  # type: ignore[call-overload]


async def points_of(session: AsyncSession, member_id: int, year: int) -> Points:
    """A member's lines for one (local) year."""
    counts = {
        "checkin": await _count(
            session,
            select(func.count()).where(CheckIn.member_id == member_id, _between(CheckIn.at, year)),
        ),
        "hours": await total_minutes(session, member_id=member_id, year=year) // 60,
        "pledge": await _count(
            session,
            select(func.count()).where(
                Pledge.member_id == member_id,
                Pledge.state == PledgeState.MET,
                Pledge.year == year,
            ),
        ),
        "ticket": await _count(
            session,
            select(func.count()).where(
                Ticket.reporter_id == member_id,
                Ticket.state.in_([TicketState.RESOLVED, TicketState.CLOSED]),
                _between(Ticket.resolved_at, year),
            ),
        ),
        "resource": await _count(
            session,
            select(func.count()).where(
                or_(Resource.contact_member_id == member_id, Resource.created_by_id == member_id),
                _between(Resource.created_at, year),
            ),
        ),
        "decision": await _count(
            session,
            select(func.count()).where(
                FollowUp.owner_member_id == member_id,
                FollowUp.source == DECISION_SOURCE,
                FollowUp.status == Status.DONE,
                _between(FollowUp.done_at, year),
                func.date(FollowUp.done_at) <= FollowUp.due_on,
            ),
        ),
        "no_signout": await _count(
            session,
            select(func.count())
            .select_from(ServiceHours)
            .join(Activity, ServiceHours.activity_id == Activity.id)
            .where(
                ServiceHours.member_id == member_id,
                ServiceHours.state == HoursState.NO_SIGNOUT,
                _between(Activity.starts_at, year),
            ),
        ),
    }
    for rule in CLAIMABLE:
        counts[rule.key] = await approved_count(session, member_id, rule.key, year)
    return Points(member_id, [Line(rule, counts[rule.key]) for rule in RULES])


async def served_in(session: AsyncSession, member_id: int, year: int) -> list[str]:
    """The alliances whose activities the member checked in to this year, most first."""
    stmt = (
        select(Alliance.name, func.count())
        .join(Activity, Activity.alliance_id == Alliance.id)
        .join(CheckIn, CheckIn.activity_id == Activity.id)
        .where(CheckIn.member_id == member_id, _between(CheckIn.at, year))
        .group_by(Alliance.id, Alliance.name)
        .order_by(func.count().desc())
    )
    return [name for name, _ in (await session.execute(stmt)).all()]


async def ranking(session: AsyncSession, members: list[Member], year: int) -> list[Points]:
    """These members' points, highest first (mobile members at their home unit)."""
    found = [await points_of(session, m.id, year) for m in members]
    return sorted(found, key=lambda p: (-p.total, p.member_id))

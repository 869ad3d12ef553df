"""Figures of meetings and their decisions, for /stats, the weekly digest and the stars.

A meeting counts as held when it started within the period (and before now). Attendance is
the share of its 出席 invitees (member units' secretaries and liaisons, alliance admins) who
checked in; 列席 guests are not counted. Decisions are those recorded at the held meetings,
judged by their follow-up items now: done by the due date in force (an approved extension
moves it), done late, overdue (active and past the due date), still open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import local_datetime, to_local
from models.activity import Activity
from models.checkin import CheckIn
from models.followup import ACTIVE, FollowUp, Status, today_of
from models.meeting import DECISION_SOURCE, InviteeRole, Meeting, MeetingDecision, MeetingInvitee
from models.org import Alliance
from models.scope import Scope


def quarter_bounds(moment: datetime) -> tuple[datetime, datetime, int, int]:
    """UTC start and end of the local calendar quarter of `moment`, its year and number."""
    local = to_local(moment)
    quarter = (local.month - 1) // 3 + 1
    start = local_datetime(local.year, 3 * quarter - 2, 1)
    end = (
        local_datetime(local.year + 1, 1, 1)
        if quarter == 4
        else local_datetime(local.year, 3 * quarter + 1, 1)
    )
    return start, end, local.year, quarter


@dataclass(frozen=True)
class MeetingFigures:
    held: int = 0
    alliances: int = 0  # alliances in scope
    alliances_held: int = 0  # of them, those that held at least one meeting
    not_held: tuple[str, ...] = ()  # names of those that held none
    invited: int = 0
    present: int = 0
    decisions: int = 0
    done_on_time: int = 0
    done_late: int = 0
    overdue: int = 0
    open: int = 0
    by_alliance: dict[int, int] = field(default_factory=dict)

    @property
    def attendance_rate(self) -> float | None:
        return self.present / self.invited if self.invited else None

    @property
    def per_alliance(self) -> float | None:
        return self.held / self.alliances if self.alliances else None


async def meeting_figures(
    session: AsyncSession, scope: Scope, *, since: datetime, until: datetime, now: datetime
) -> MeetingFigures:
    """Meetings held in [since, until) within the scope, with attendance and decisions."""
    stmt = (
        select(Meeting.id, Meeting.alliance_id, Meeting.activity_id)
        .join(Activity, Activity.id == Meeting.activity_id)
        .where(
            scope.where(Meeting.alliance_id),
            Activity.starts_at >= since,
            Activity.starts_at < min(until, now),
        )
    )
    held = list(await session.execute(stmt))
    alliances = {
        a_id: name
        for a_id, name in await session.execute(
            select(Alliance.id, Alliance.name)
            .where(scope.where(Alliance.id))
            .order_by(Alliance.id)
        )
    }
    by_alliance: dict[int, int] = {}
    for _, alliance_id, _ in held:
        by_alliance[alliance_id] = by_alliance.get(alliance_id, 0) + 1
    meeting_ids = [m for m, _, _ in held]
    invited, present = await _attendance(session, meeting_ids)
    counts = await _decisions(session, meeting_ids, now)
    return MeetingFigures(
        held=len(held),
        alliances=len(alliances),
        alliances_held=len(by_alliance),
        not_held=tuple(n for a, n in alliances.items() if a not in by_alliance),
        invited=invited,
        present=present,
        by_alliance=by_alliance,
        **counts,
    )


async def _attendance(session: AsyncSession, meeting_ids: list[int]) -> tuple[int, int]:
    if not meeting_ids:
        return 0, 0
    stmt = (
        select(MeetingInvitee.member_id, CheckIn.id)
        .join(Meeting, Meeting.id == MeetingInvitee.meeting_id)
        .outerjoin(
            CheckIn,
            (CheckIn.activity_id == Meeting.activity_id)
            & (CheckIn.member_id == MeetingInvitee.member_id),
        )
        .where(
            MeetingInvitee.meeting_id.in_(meeting_ids),
            MeetingInvitee.role == InviteeRole.MEMBER,
        )
    )
    rows = list(await session.execute(stmt))
    return len(rows), sum(1 for _, checkin in rows if checkin is not None)


async def _decisions(
    session: AsyncSession, meeting_ids: list[int], now: datetime
) -> dict[str, int]:
    counts = {"decisions": 0, "done_on_time": 0, "done_late": 0, "overdue": 0, "open": 0}
    if not meeting_ids:
        return counts
    stmt = (
        select(MeetingDecision, FollowUp)
        .outerjoin(FollowUp, FollowUp.id == MeetingDecision.followup_id)
        .where(MeetingDecision.meeting_id.in_(meeting_ids))
    )
    today = today_of(now)
    for _, item in await session.execute(stmt):
        counts["decisions"] += 1
        if item is None or item.status == Status.CANCELLED:
            continue
        if item.status == Status.DONE:
            counts["done_on_time" if item.done_on_time() else "done_late"] += 1
        elif item.status in ACTIVE and item.overdue_days(today):
            counts["overdue"] += 1
        else:
            counts["open"] += 1
    return counts


async def overdue_items(session: AsyncSession, scope: Scope, now: datetime) -> int:
    """Active follow-up items from meeting decisions of the scope past their due date, now."""
    stmt = select(FollowUp.id).where(
        FollowUp.source == DECISION_SOURCE,
        FollowUp.status.in_(list(ACTIVE)),
        FollowUp.due_on < today_of(now),
        scope.where(FollowUp.alliance_id),
    )
    return len(list((await session.execute(stmt)).scalars()))

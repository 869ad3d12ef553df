"""认领商圈党建项目: projects the alliance lists, one claimed as lead by a member unit a year.

An alliance admin lists a project (typed in, or from a meeting decision or a need: `source`,
`source_id`); a member unit's secretary claims it as lead (at most one project a unit a year;
other units of the alliance may join). The lead unit's milestones carry weights; each milestone
is a 督办事项 (models/followup.py, source "milestone", owned by the lead unit), so reminders,
escalation, progress notes and deliverables (evidence) come from the follow-up engine.

Nothing about progress is typed in: `progress` is the weights of the milestones done over all
weights, and `health` follows from the due dates (HEALTH below). An admin accepts a project whose
milestones are all done, with a satisfaction rating 1–5; updates stay possible after the year.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import Role
from models.base import Base
from models.followup import ACTIVE, FollowUp, Status, create_item, today_of
from models.member import Member
from models.org import Membership
from models.scope import Scope

SOURCE = "milestone"
AT_RISK_DAYS = 7  # an open milestone due within this many days makes the project 有风险
RATINGS = (1, 2, 3, 4, 5)


class ProjectState(enum.StrEnum):
    LISTED = "listed"  # 待认领
    CLAIMED = "claimed"  # 推进中
    ACCEPTED = "accepted"  # 已验收


class Health(enum.StrEnum):
    ON_TRACK = "on_track"  # 正常
    AT_RISK = "at_risk"  # 有风险: a milestone done late, or one open and due within 7 days
    LATE = "late"  # 已逾期: an open milestone past its due date, or the project's
    NONE = "none"  # no milestones yet, or accepted


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (UniqueConstraint("lead_unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id"), index=True)
    year: Mapped[int] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(default="")
    source: Mapped[str] = mapped_column(String(12), default="admin")  # admin, decision, need
    source_id: Mapped[int | None]
    due_on: Mapped[date]
    state: Mapped[ProjectState] = mapped_column(String(10), index=True)
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    claimed_at: Mapped[datetime | None]
    rating: Mapped[int | None]
    accept_note: Mapped[str] = mapped_column(default="")
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    accepted_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime]

    @property
    def number(self) -> str:
        """项目编号, as an outcome entry or a fund expense is linked by it."""
        return f"XM-{self.id:04d}"


class ProjectUnit(Base):
    """A unit that joined a project it does not lead."""

    __tablename__ = "project_unit"
    __table_args__ = (UniqueConstraint("project_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    joined_at: Mapped[datetime]


class Milestone(Base):
    __tablename__ = "project_milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    weight: Mapped[int]
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followup.id"))


class ProjectError(Exception):
    """A project action refused: `reason` is not_admin, not_secretary, not_member, claimed,
    has_one, not_claimed, not_lead, bad_weight, bad_date, open_milestones, accepted,
    bad_rating, no_title, joined, lead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Figures:
    """What a project's card shows, computed from its milestones' items."""

    progress: int  # percent of the weights done
    health: Health
    done: int
    total: int
    late_done: int  # milestones done after their due date


async def _unit_in(session: AsyncSession, unit_id: int | None, alliance_id: int) -> bool:
    if unit_id is None:
        return False
    found = await session.scalar(
        select(Membership.id).where(
            Membership.unit_id == unit_id, Membership.alliance_id == alliance_id
        )
    )
    return found is not None


async def list_project(
    *,
    session: AsyncSession,
    actor: Member,
    alliance_id: int,
    title: str,
    due_on: date,
    now: datetime,
    description: str = "",
    source: str = "admin",
    source_id: int | None = None,
) -> Project:
    """An alliance admin lists a project for this year, to be claimed."""
    if not actor.administers(alliance_id):
        raise ProjectError("not_admin")
    if len(title.strip()) < 2:
        raise ProjectError("no_title")
    today = today_of(now)
    if due_on < today:
        raise ProjectError("bad_date")
    project = Project(
        alliance_id=alliance_id,
        year=today.year,
        title=title.strip()[:100],
        description=description.strip(),
        source=source,
        source_id=source_id,
        due_on=due_on,
        state=ProjectState.LISTED,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(project)
    await session.flush()
    return project


async def led_by(session: AsyncSession, unit_id: int, year: int) -> Project | None:
    stmt = select(Project).where(Project.lead_unit_id == unit_id, Project.year == year)
    return await session.scalar(stmt)


async def claim(*, session: AsyncSession, project: Project, actor: Member, now: datetime) -> None:
    """The actor's unit takes the project as lead (its secretary; one a unit a year)."""
    if not actor.has_role(Role.SECRETARY) or actor.home_unit_id is None:
        raise ProjectError("not_secretary")
    if not await _unit_in(session, actor.home_unit_id, project.alliance_id):
        raise ProjectError("not_member")
    if project.lead_unit_id is not None:
        raise ProjectError("claimed")
    if await led_by(session, actor.home_unit_id, project.year) is not None:
        raise ProjectError("has_one")
    project.lead_unit_id, project.claimed_by_id, project.claimed_at = (
        actor.home_unit_id,
        actor.id,
        now,
    )
    project.state = ProjectState.CLAIMED
    await session.flush()


async def join(*, session: AsyncSession, project: Project, actor: Member, now: datetime) -> None:
    """Another unit of the alliance joins the project (its secretary)."""
    if not actor.has_role(Role.SECRETARY) or actor.home_unit_id is None:
        raise ProjectError("not_secretary")
    if not await _unit_in(session, actor.home_unit_id, project.alliance_id):
        raise ProjectError("not_member")
    if project.lead_unit_id is None:
        raise ProjectError("not_claimed")
    if project.lead_unit_id == actor.home_unit_id:
        raise ProjectError("lead")
    if actor.home_unit_id in await partner_ids(session, project.id):
        raise ProjectError("joined")
    session.add(ProjectUnit(project_id=project.id, unit_id=actor.home_unit_id, joined_at=now))
    await session.flush()


def may_plan(actor: Member, project: Project) -> bool:
    """The lead unit's secretary or the alliance admin adds milestones."""
    if actor.administers(project.alliance_id):
        return True
    return actor.has_role(Role.SECRETARY) and actor.home_unit_id == project.lead_unit_id


async def add_milestone(
    *,
    session: AsyncSession,
    project: Project,
    actor: Member,
    title: str,
    weight: int,
    due_on: date,
    now: datetime,
    check_date: bool = True,
) -> Milestone:
    """A weighted milestone, and its 督办事项 owned by the lead unit."""
    if project.lead_unit_id is None:
        raise ProjectError("not_claimed")
    if not may_plan(actor, project):
        raise ProjectError("not_lead")
    if project.state == ProjectState.ACCEPTED:
        raise ProjectError("accepted")
    if len(title.strip()) < 2:
        raise ProjectError("no_title")
    if not 1 <= weight <= 100:
        raise ProjectError("bad_weight")
    if check_date and due_on < today_of(now):
        raise ProjectError("bad_date")
    milestone = Milestone(project_id=project.id, title=title.strip()[:100], weight=weight)
    session.add(milestone)
    await session.flush()
    item = await create_item(
        session=session,
        source=SOURCE,
        source_id=milestone.id,
        alliance_id=project.alliance_id,
        title=f"项目里程碑：{project.title} · {milestone.title}",
        due_on=due_on,
        now=now,
        owner_unit_id=project.lead_unit_id,
        created_by=actor,
    )
    milestone.followup_id = item.id
    await session.flush()
    return milestone


async def milestones(
    session: AsyncSession, project_id: int
) -> list[tuple[Milestone, FollowUp | None]]:
    stmt = (
        select(Milestone, FollowUp)
        .outerjoin(FollowUp, FollowUp.id == Milestone.followup_id)
        .where(Milestone.project_id == project_id)
        .order_by(FollowUp.due_on, Milestone.id)
    )
    return [(m, i) for m, i in (await session.execute(stmt)).all()]


def done_late(item: FollowUp) -> bool:
    """Done after its due date (an approved extension moves the due date)."""
    return item.status == Status.DONE and not item.done_on_time()


def figures_of(
    project: Project, rows: list[tuple[Milestone, FollowUp | None]], today: date
) -> Figures:
    """Progress from the weights done; health from the due dates."""
    total = sum(m.weight for m, _ in rows)
    done_rows = [(m, i) for m, i in rows if i is not None and i.status == Status.DONE]
    progress = round(100 * sum(m.weight for m, _ in done_rows) / total) if total else 0
    open_items = [i for _, i in rows if i is not None and i.status in ACTIVE]
    late_done = sum(1 for _, i in done_rows if i is not None and done_late(i))
    if project.state == ProjectState.ACCEPTED or not rows:
        health = Health.NONE
    elif any(i.due_on < today for i in open_items) or (open_items and project.due_on < today):
        health = Health.LATE
    elif late_done or any(i.due_on <= today + timedelta(days=AT_RISK_DAYS) for i in open_items):
        health = Health.AT_RISK
    else:
        health = Health.ON_TRACK
    return Figures(progress, health, len(done_rows), len(rows), late_done)


async def figures(session: AsyncSession, project: Project, now: datetime) -> Figures:
    return figures_of(project, await milestones(session, project.id), today_of(now))


async def accept(
    *,
    session: AsyncSession,
    project: Project,
    actor: Member,
    rating: int,
    note: str,
    now: datetime,
) -> None:
    """验收: an alliance admin, once every milestone is done (or cancelled), rates 1–5."""
    if not actor.administers(project.alliance_id):
        raise ProjectError("not_admin")
    if project.state == ProjectState.ACCEPTED:
        raise ProjectError("accepted")
    if project.lead_unit_id is None:
        raise ProjectError("not_claimed")
    if rating not in RATINGS:
        raise ProjectError("bad_rating")
    rows = await milestones(session, project.id)
    if not rows or any(i is not None and i.status in ACTIVE for _, i in rows):
        raise ProjectError("open_milestones")
    project.state, project.rating, project.accept_note = ProjectState.ACCEPTED, rating, note
    project.accepted_by_id, project.accepted_at = actor.id, now
    await session.flush()


async def get_project(session: AsyncSession, project_id: int) -> Project | None:
    return await session.get(Project, project_id)


async def projects_in(session: AsyncSession, scope: Scope, year: int) -> list[Project]:
    stmt = select(Project).where(Project.year == year, scope.where(Project.alliance_id))
    return list((await session.execute(stmt.order_by(Project.alliance_id, Project.id))).scalars())


async def partner_ids(session: AsyncSession, project_id: int) -> list[int]:
    stmt = select(ProjectUnit.unit_id).where(ProjectUnit.project_id == project_id)
    return list((await session.execute(stmt.order_by(ProjectUnit.id))).scalars())


async def project_of_milestone(session: AsyncSession, milestone_id: int) -> Project | None:
    milestone = await session.get(Milestone, milestone_id)
    return await session.get(Project, milestone.project_id) if milestone else None


async def state_counts(
    session: AsyncSession, scope: Scope, year: int, now: datetime
) -> dict[str, int]:
    """The year's projects in scope: listed, claimed, accepted, and of the claimed the late."""
    stmt = (
        select(Project.state, func.count())
        .where(Project.year == year, scope.where(Project.alliance_id))
        .group_by(Project.state)
    )
    found = {str(s): int(n) for s, n in (await session.execute(stmt)).all()}
    counts = {state.value: found.get(state.value, 0) for state in ProjectState}
    late = 0
    for project in await projects_in(session, scope, year):
        if project.state == ProjectState.CLAIMED:
            if (await figures(session, project, now)).health == Health.LATE:
                late += 1
    counts["late"] = late
    return counts

"""承诺践诺: a member's yearly pledges (亮身份、践承诺) and their rules.

A pledge must be checkable: linked to data (志愿服务时长 N 小时, 参加活动 N 次, counted from
service hours and check-ins), a number the member reports, or a date by which it is done. At
most MAX_A_YEAR a year (the practice asks for 2–5). The branch secretary of the member's home
unit (or an admin of its alliance; never the member) approves it or sends it back with a
reason; a returned pledge is rewritten and sent again. An approved pledge is 公示 (listed for
the alliance) and becomes a 督办事项 (models/followup.py, source "pledge") due at its date or the
year's end; it is met when its linked figure reaches the target, or when the member marks the
item done with evidence.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.core import Role
from bot.core.clock import to_local
from models.base import Base
from models.checkin import CheckIn
from models.followup import FollowUp, FollowUpError, Status, act, create_item
from models.member import Member
from models.scope import Scope
from models.volunteer import total_minutes, year_bounds

SOURCE = "pledge"
MAX_A_YEAR = 5
MIN_TEXT = 6


class PledgeKind(enum.StrEnum):
    HOURS = "hours"  # linked: 志愿服务时长 (hours)
    CHECKINS = "checkins"  # linked: 参加活动 (check-ins)
    COUNT = "count"  # a number the member reports
    DATE = "date"  # done by a date


LINKED = (PledgeKind.HOURS, PledgeKind.CHECKINS)


class PledgeState(enum.StrEnum):
    PENDING = "pending"  # 待审核
    RETURNED = "returned"  # 退回修改
    APPROVED = "approved"  # 公示, 践诺中
    MET = "met"  # 已兑现
    UNMET = "unmet"  # 未兑现


class Pledge(Base):
    __tablename__ = "pledge"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    home_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    alliance_id: Mapped[int | None] = mapped_column(ForeignKey("alliance.id"), index=True)
    year: Mapped[int] = mapped_column(index=True)
    text: Mapped[str]
    kind: Mapped[PledgeKind] = mapped_column(String(10))
    target: Mapped[int] = mapped_column(default=0)
    due_on: Mapped[date]
    state: Mapped[PledgeState] = mapped_column(String(10), index=True)
    return_reason: Mapped[str] = mapped_column(default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    reviewed_at: Mapped[datetime | None]
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followup.id"))
    met_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="selectin")


class PledgeError(Exception):
    """A pledge refused: `reason` is too_many, vague, no_target, bad_date, not_reviewer,
    own, not_pending, no_reason, not_returned, not_yours, not_ratable, too_early, not_unmet."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_content(text: str, kind: PledgeKind, target: int, due_on: date, today: date) -> None:
    if len(text.strip()) < MIN_TEXT:
        raise PledgeError("vague")
    if kind != PledgeKind.DATE and target <= 0:
        raise PledgeError("no_target")
    if due_on < today or due_on.year != today.year:
        raise PledgeError("bad_date")


async def count_this_year(session: AsyncSession, member_id: int, year: int) -> int:
    stmt = select(func.count()).where(Pledge.member_id == member_id, Pledge.year == year)
    return int(await session.scalar(stmt) or 0)


async def write_pledge(
    *,
    session: AsyncSession,
    member: Member,
    text: str,
    kind: PledgeKind,
    target: int,
    due_on: date,
    now: datetime,
) -> Pledge:
    """A new pledge, waiting for the branch's review."""
    today = to_local(now).date()
    if await count_this_year(session, member.id, today.year) >= MAX_A_YEAR:
        raise PledgeError("too_many")
    _check_content(text, kind, target, due_on, today)
    alliances = sorted(member.home_alliances())
    pledge = Pledge(
        member_id=member.id,
        home_unit_id=member.home_unit_id,
        alliance_id=alliances[0] if alliances else None,
        year=today.year,
        text=text.strip()[:200],
        kind=kind,
        target=target,
        due_on=due_on,
        state=PledgeState.PENDING,
        created_at=now,
    )
    session.add(pledge)
    await session.flush()
    return pledge


async def rewrite(
    *,
    session: AsyncSession,
    pledge: Pledge,
    member: Member,
    text: str,
    kind: PledgeKind,
    target: int,
    due_on: date,
    now: datetime,
) -> Pledge:
    """A returned pledge, rewritten and sent for review again."""
    if pledge.member_id != member.id:
        raise PledgeError("not_yours")
    if pledge.state != PledgeState.RETURNED:
        raise PledgeError("not_returned")
    _check_content(text, kind, target, due_on, to_local(now).date())
    pledge.text, pledge.kind, pledge.target, pledge.due_on = (
        text.strip()[:200],
        kind,
        target,
        due_on,
    )
    pledge.state = PledgeState.PENDING
    await session.flush()
    return pledge


def may_review(actor: Member, pledge: Pledge) -> bool:
    """The secretary of the member's home unit, or an admin of its alliance."""
    if actor.id == pledge.member_id:
        return False
    if actor.administers(pledge.alliance_id):
        return True
    return actor.has_role(Role.SECRETARY) and actor.home_unit_id == pledge.home_unit_id


async def review(
    *,
    session: AsyncSession,
    pledge: Pledge,
    actor: Member,
    approve: bool,
    now: datetime,
    reason: str = "",
) -> Pledge:
    """通过 (公示, and a 督办事项 for the member) or 退回 with a reason."""
    if actor.id == pledge.member_id:
        raise PledgeError("own")
    if not may_review(actor, pledge):
        raise PledgeError("not_reviewer")
    if pledge.state != PledgeState.PENDING:
        raise PledgeError("not_pending")
    if not approve and not reason.strip():
        raise PledgeError("no_reason")
    pledge.reviewed_by_id, pledge.reviewed_at = actor.id, now
    if not approve:
        pledge.state, pledge.return_reason = PledgeState.RETURNED, reason.strip()[:200]
        await session.flush()
        return pledge
    pledge.state, pledge.return_reason = PledgeState.APPROVED, ""
    item = await create_item(
        session=session,
        source=SOURCE,
        source_id=pledge.id,
        alliance_id=pledge.alliance_id,
        title=f"承诺：{pledge.text}",
        due_on=pledge.due_on,
        now=now,
        owner_member_id=pledge.member_id,
        created_by=actor,
    )
    pledge.followup_id = item.id
    await session.flush()
    return pledge


async def progress(session: AsyncSession, pledge: Pledge) -> int | None:
    """The linked figure this year (hours, or activities checked in to); None when reported."""
    if pledge.kind == PledgeKind.HOURS:
        return await total_minutes(session, member_id=pledge.member_id, year=pledge.year) // 60
    if pledge.kind == PledgeKind.CHECKINS:
        start, end = year_bounds(pledge.year)
        stmt = select(func.count()).where(
            CheckIn.member_id == pledge.member_id, CheckIn.at >= start, CheckIn.at < end
        )
        return int(await session.scalar(stmt) or 0)
    return None


async def settle(session: AsyncSession, pledge: Pledge, now: datetime) -> bool:
    """Mark an approved pledge met when its linked figure reached the target (its 督办事项 is
    done with the figure as the note), or when its item was done; True when it changed."""
    if pledge.state != PledgeState.APPROVED:
        return False
    item = await session.get(FollowUp, pledge.followup_id) if pledge.followup_id else None
    figure = await progress(session, pledge)
    reached = figure is not None and figure >= pledge.target
    if not reached and not (item is not None and item.status == Status.DONE):
        return False
    if reached and item is not None and item.status != Status.DONE:
        member = await session.get(Member, pledge.member_id)
        assert member is not None
        note = f"关联数据核验：已达 {figure}（目标 {pledge.target}）"
        try:
            await act(session=session, item=item, action="done", actor=member, now=now, note=note)
        except FollowUpError:
            pass  # a cancelled item: the pledge is still met by its figure
    pledge.state, pledge.met_at = PledgeState.MET, now
    await session.flush()
    return True


async def get_pledge(session: AsyncSession, pledge_id: int) -> Pledge | None:
    return await session.get(Pledge, pledge_id)


async def member_pledges(session: AsyncSession, member_id: int, year: int) -> list[Pledge]:
    stmt = select(Pledge).where(Pledge.member_id == member_id, Pledge.year == year)
    return list((await session.execute(stmt.order_by(Pledge.id))).scalars())


async def to_review(session: AsyncSession, actor: Member) -> list[Pledge]:
    """Pending pledges this member may review, oldest first."""
    stmt = select(Pledge).where(Pledge.state == PledgeState.PENDING).order_by(Pledge.id)
    return [p for p in (await session.execute(stmt)).scalars() if may_review(actor, p)]


async def board(session: AsyncSession, scope: Scope, year: int) -> list[Pledge]:
    """公示: the approved and met pledges of the alliances in scope, this year."""
    stmt = select(Pledge).where(
        Pledge.year == year,
        Pledge.state.in_([PledgeState.APPROVED, PledgeState.MET, PledgeState.UNMET]),
        scope.where(Pledge.alliance_id),
    )
    return list((await session.execute(stmt.order_by(Pledge.alliance_id, Pledge.id))).scalars())


async def reviewer_ids(session: AsyncSession, pledge: Pledge) -> list[int]:
    """Who is asked to review: the home unit's secretaries, else the alliance's admins."""
    from models.member import MemberRole
    from models.rotation import alliance_admins

    stmt = (
        select(Member.id)
        .join(MemberRole)
        .where(Member.home_unit_id == pledge.home_unit_id, MemberRole.role == Role.SECRETARY)
    )
    found = [m for m in (await session.execute(stmt)).scalars() if m != pledge.member_id]
    if found or pledge.alliance_id is None:
        return found
    return [m.id for m in await alliance_admins(session, pledge.alliance_id)]


async def state_counts(session: AsyncSession, scope: Scope, year: int) -> dict[PledgeState, int]:
    """How many of the year's pledges of the alliances in scope are in each state."""
    stmt = (
        select(Pledge.state, func.count())
        .where(Pledge.year == year, scope.where(Pledge.alliance_id))
        .group_by(Pledge.state)
    )
    found = {PledgeState(s): int(n) for s, n in (await session.execute(stmt)).all()}
    return {state: found.get(state, 0) for state in PledgeState}


# 评诺: at year end the secretary (the organisation's verdict) and the members rate each
# approved pledge; an unmet verdict by the organisation asks the member for an explanation.
class Verdict(enum.StrEnum):
    MET = "met"  # 已兑现
    PARTLY = "partly"  # 部分兑现
    UNMET = "unmet"  # 未兑现


RATE_FROM_MONTH = 12  # 评诺 opens in December of the pledge's year


class PledgeRating(Base):
    """One rater's verdict on one pledge (the organisation's when by_reviewer)."""

    __tablename__ = "pledge_rating"
    __table_args__ = (UniqueConstraint("pledge_id", "rater_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), index=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    verdict: Mapped[Verdict] = mapped_column(String(10))
    by_reviewer: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime]


class PledgeExplanation(Base):
    """The member's explanation of a pledge the organisation rated unmet."""

    __tablename__ = "pledge_explanation"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), unique=True)
    text: Mapped[str]
    at: Mapped[datetime]


RATABLE = (PledgeState.APPROVED, PledgeState.MET, PledgeState.UNMET)


async def rate_pledge(
    *, session: AsyncSession, pledge: Pledge, actor: Member, verdict: Verdict, now: datetime
) -> PledgeRating:
    """评诺: one verdict a rater; the reviewer's unmet makes the pledge unmet, met makes it met."""
    if actor.id == pledge.member_id:
        raise PledgeError("own")
    if pledge.state not in RATABLE:
        raise PledgeError("not_ratable")
    local = to_local(now)
    if pledge.year == local.year and local.month < RATE_FROM_MONTH:
        raise PledgeError("too_early")
    by_reviewer = may_review(actor, pledge)
    if not by_reviewer and not actor.visible_scope().covers(pledge.alliance_id):
        raise PledgeError("not_reviewer")
    stmt = select(PledgeRating).where(
        PledgeRating.pledge_id == pledge.id, PledgeRating.rater_id == actor.id
    )
    row = await session.scalar(stmt)
    if row is None:
        row = PledgeRating(pledge_id=pledge.id, rater_id=actor.id, verdict=verdict, at=now)
        session.add(row)
    row.verdict, row.by_reviewer, row.at = verdict, by_reviewer, now
    if by_reviewer:
        if verdict == Verdict.UNMET:
            pledge.state = PledgeState.UNMET
        elif verdict == Verdict.MET and pledge.state != PledgeState.MET:
            pledge.state, pledge.met_at = PledgeState.MET, now
        elif verdict == Verdict.PARTLY and pledge.state == PledgeState.UNMET:
            pledge.state = PledgeState.APPROVED
    await session.flush()
    return row


async def ratings_of(session: AsyncSession, pledge_id: int) -> dict[Verdict, int]:
    """How many raters gave each verdict."""
    stmt = (
        select(PledgeRating.verdict, func.count())
        .where(PledgeRating.pledge_id == pledge_id)
        .group_by(PledgeRating.verdict)
    )
    found = {Verdict(v): int(n) for v, n in (await session.execute(stmt)).all()}
    return {v: found.get(v, 0) for v in Verdict}


async def reviewer_verdict(session: AsyncSession, pledge_id: int) -> Verdict | None:
    stmt = select(PledgeRating.verdict).where(
        PledgeRating.pledge_id == pledge_id, PledgeRating.by_reviewer.is_(True)
    )
    found = await session.scalar(stmt.order_by(PledgeRating.at.desc()).limit(1))
    return Verdict(found) if found else None


async def explain(
    *, session: AsyncSession, pledge: Pledge, member: Member, text: str, now: datetime
) -> PledgeExplanation:
    """The member explains an unmet pledge (once; a second text replaces the first)."""
    if pledge.member_id != member.id:
        raise PledgeError("not_yours")
    if pledge.state != PledgeState.UNMET:
        raise PledgeError("not_unmet")
    if len(text.strip()) < 4:
        raise PledgeError("no_reason")
    row = await explanation_of(session, pledge.id)
    if row is None:
        row = PledgeExplanation(pledge_id=pledge.id, text="", at=now)
        session.add(row)
    row.text, row.at = text.strip()[:300], now
    await session.flush()
    return row


async def explanation_of(session: AsyncSession, pledge_id: int) -> PledgeExplanation | None:
    stmt = select(PledgeExplanation).where(PledgeExplanation.pledge_id == pledge_id)
    return await session.scalar(stmt)


async def to_rate(session: AsyncSession, actor: Member, year: int) -> list[Pledge]:
    """The approved pledges of the year this member may rate (not their own)."""
    stmt = select(Pledge).where(
        Pledge.year == year,
        Pledge.state.in_(list(RATABLE)),
        Pledge.member_id != actor.id,
        actor.visible_scope().where(Pledge.alliance_id),
    )
    return list((await session.execute(stmt.order_by(Pledge.id))).scalars())

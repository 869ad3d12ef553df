"""The figures of 共建协议, 认领项目, 评诺 and 加分 for /stats, the weekly digest and the console's
overview: agreements signed and countersigned, projects by state (and the late ones), pledges
met or unmet, the points of the members in scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import to_local
from models.agreement import figures_in
from models.member import Member
from models.pledge import PledgeState, state_counts
from models.point_claim import ClaimState, PointClaim
from models.points import ranking
from models.project import state_counts as project_counts
from models.scope import Scope

AGREEMENTS = (
    "共建协议（{year}年）：成员单位 {units} 家，已签订 {signed} 家，已会签 {counter} 家，"
    "已评定 {rated} 家"
)
PROJECTS = (
    "党建项目（{year}年）：待认领 {listed} 个，推进中 {claimed} 个（逾期 {late} 个），"
    "已验收 {accepted} 个"
)
PLEDGES = "年终评诺：已兑现 {met} 项，未兑现 {unmet} 项"
POINTS = (
    "党员积分（{year}年）：{people} 名党员平均 {avg} 分，最高 {top} 分；"
    "待审核加分申请 {waiting} 条"
)
POINTS_LIMIT = 200  # above this many members (the county) the average is left out: it is
# computed member by member from the records


@dataclass(frozen=True)
class Figures:
    year: int
    agreements: dict[str, int]
    projects: dict[str, int]
    met: int
    unmet: int
    people: int
    average: float | None
    top: int | None
    waiting: int


async def figures(session: AsyncSession, scope: Scope, now: datetime) -> Figures:
    year = to_local(now).year
    pledges = await state_counts(session, scope, year)
    waiting = await session.scalar(
        select(func.count()).where(
            PointClaim.state == ClaimState.PENDING, scope.where(PointClaim.alliance_id)
        )
    )
    stmt = select(Member).where(
        scope.units_where(Member.home_unit_id),
        Member.active.is_(True),
        Member.is_party_member.is_(True),
    )
    people = list((await session.execute(stmt)).scalars())
    average = top = None
    if people and len(people) <= POINTS_LIMIT:
        points = await ranking(session, people, year)
        average = sum(p.total for p in points) / len(points)
        top = points[0].total
    return Figures(
        year=year,
        agreements=await figures_in(session, scope, year),
        projects=await project_counts(session, scope, year, now),
        met=pledges[PledgeState.MET],
        unmet=pledges[PledgeState.UNMET],
        people=len(people),
        average=average,
        top=top,
        waiting=int(waiting or 0),
    )


async def lines(session: AsyncSession, scope: Scope, now: datetime) -> list[str]:
    """The chat's lines, for /stats and the weekly digest (the points where the scope has at
    most POINTS_LIMIT members)."""
    f = await figures(session, scope, now)
    a, p = f.agreements, f.projects
    found = [
        AGREEMENTS.format(
            year=f.year,
            units=a["units"],
            signed=a["signed"],
            counter=a["countersigned"],
            rated=a["rated"],
        ),
        PROJECTS.format(year=f.year, **p),
        PLEDGES.format(met=f.met, unmet=f.unmet),
    ]
    if f.average is not None:
        found.append(
            POINTS.format(
                year=f.year, people=f.people, avg=round(f.average), top=f.top, waiting=f.waiting
            )
        )
    return found

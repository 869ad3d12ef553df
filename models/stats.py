"""Figures computed from the data: the alliance matrix of the report's table."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.member import Member
from models.org import Alliance, AllianceType, Membership, Unit


@dataclass(frozen=True)
class MatrixRow:
    """One row: alliances, member party organisations, party members, units reached."""

    label: AllianceType | None
    alliances: int
    party_orgs: int
    party_members: int
    units: int


async def alliance_matrix(
    session: AsyncSession, alliance_ids: Collection[int] | None = None
) -> list[MatrixRow]:
    """A row per alliance type, then the totals (label None); distinct units and members."""
    rows = [await _row(session, t, alliance_ids) for t in AllianceType]
    rows.append(await _row(session, None, alliance_ids))
    return rows


async def _row(
    session: AsyncSession, kind: AllianceType | None, alliance_ids: Collection[int] | None
) -> MatrixRow:
    alliances = select(Alliance.id)
    if kind is not None:
        alliances = alliances.where(Alliance.type == kind)
    if alliance_ids is not None:
        alliances = alliances.where(Alliance.id.in_(alliance_ids))
    units = select(Membership.unit_id).where(Membership.alliance_id.in_(alliances))
    n_alliances = await session.scalar(select(func.count()).select_from(alliances.subquery()))
    n_units = await session.scalar(
        select(func.count(distinct(Membership.unit_id))).where(
            Membership.alliance_id.in_(alliances)
        )
    )
    n_orgs = await session.scalar(
        select(func.count(Unit.id)).where(Unit.id.in_(units), Unit.has_party_org.is_(True))
    )
    n_members = await session.scalar(
        select(func.count(Member.id)).where(
            Member.home_unit_id.in_(units), Member.is_party_member.is_(True)
        )
    )
    return MatrixRow(kind, n_alliances or 0, n_orgs or 0, n_members or 0, n_units or 0)

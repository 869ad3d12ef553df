"""Demo party fund: 食品产业链's 党建经费众筹, `host` the treasurer, `alliance_admin`, `host`
and `member` its approvers (two must agree; above 2万元 the county reviews too), and this
year's contributions from five member units, each with its transfer number."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.fund import open_fund, record_income
from models.member import Member
from models.org import Alliance, Membership, Unit

FOOD = "食品产业链党建红色联盟"
SHARE = 2000_00  # each unit's share this year, in fen


async def seed(session: AsyncSession, now: datetime, accounts: dict[str, Any]) -> None:
    alliance = await session.scalar(select(Alliance).where(Alliance.name == FOOD))
    assert alliance is not None
    host: Member = accounts["host"]
    fund = await open_fund(
        session=session,
        alliance_id=alliance.id,
        treasurer=host,
        approvers=[accounts["alliance_admin"], host, accounts["member"]],
        approvals_needed=2,
        county_threshold=20_000_00,
        now=now - timedelta(days=60),
    )
    units = list(
        (
            await session.execute(
                select(Unit)
                .join(Membership, Membership.unit_id == Unit.id)
                .where(Membership.alliance_id == alliance.id)
                .order_by(Unit.id)
                .limit(5)
            )
        ).scalars()
    )
    for i, unit in enumerate(units):
        await record_income(
            session=session,
            fund=fund,
            member=host,
            fen=SHARE,
            payer=unit.name,
            unit_id=unit.id,
            transfer_no=f"2026{1001 + i:08d}",
            now=now - timedelta(days=50 - i),
        )

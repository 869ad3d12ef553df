"""Demo party fund: 食品产业链's 党建经费众筹, `host` the treasurer, `alliance_admin`, `host`
and `member` its approvers (two must agree; above 2万元 the county reviews too); this year's
campaign (2000元 a unit, shared equally by every member unit) with five units paid, each with
its transfer number, and one more pledged; and the bank's balance at the end of last month
(it agreed with the ledger), so the monthly reminder waits for next month."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import local_datetime, to_local
from models.fund import (
    ShareRule,
    balance,
    equal_shares,
    open_campaign,
    open_fund,
    pledge,
    record_bank_balance,
    record_income,
)
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
    every = list(
        (
            await session.execute(
                select(Unit)
                .join(Membership, Membership.unit_id == Unit.id)
                .where(Membership.alliance_id == alliance.id)
                .order_by(Unit.id)
            )
        ).scalars()
    )
    year = to_local(now).year
    campaign = await open_campaign(
        session=session,
        fund=fund,
        member=host,
        year=year,
        title=f"{year}年党建经费众筹",
        rule=ShareRule.EQUAL,
        shares=equal_shares(SHARE * len(every), [u.id for u in every]),
        now=now - timedelta(days=55),
    )
    units = every[:5]
    for i, unit in enumerate(units):
        await record_income(
            session=session,
            fund=fund,
            member=host,
            fen=SHARE,
            payer=unit.name,
            unit_id=unit.id,
            transfer_no=f"2026{1001 + i:08d}",
            campaign_id=campaign.id,
            now=now - timedelta(days=50 - i),
        )
    # One more unit has pledged its share (a member of it pressed 认缴) but not paid yet.
    later = next(
        (
            m
            for m in (await session.execute(select(Member).order_by(Member.id))).scalars()
            if m.home_unit_id in {u.id for u in every[5:]}
        ),
        None,
    )
    if later is not None:
        await pledge(
            session=session, campaign=campaign, member=later, now=now - timedelta(days=40)
        )
    # The bank's balance at the end of last month, as the treasurer entered it (it agreed).
    local = to_local(now)
    back = local.year * 12 + local.month - 2  # the month that ended, counted from year 0
    key = f"{back // 12}-{back % 12 + 1:02d}"
    end = local_datetime(local.year, local.month, 1)
    await record_bank_balance(
        session=session,
        fund=fund,
        member=host,
        fen=await balance(session, fund, until=end),
        month=key,
        month_end=end,
        now=min(now, end + timedelta(hours=10)),
    )

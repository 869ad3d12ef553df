"""Figures of the party funds and the outcomes ledger for /stats, the weekly digest and the web
console's overview: balances, income and paid expenses in a period, what waits for approval,
this year's campaigns, bank readings that differ from the ledger, and outcome entries by state.
Money is integer fen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.fund import (
    BankBalance,
    ExpenseState,
    Fund,
    FundCampaign,
    FundExpense,
    FundIncome,
    balance,
    progress,
)
from models.org import Alliance
from models.outcome import OutcomeEntry, State
from models.scope import Scope


@dataclass(frozen=True)
class Mismatch:
    alliance: str
    month: str  # 2026-11
    difference: int  # bank less ledger, fen


@dataclass(frozen=True)
class FundFigures:
    funds: int
    balance: int
    income: int  # in the period
    spent: int  # paid in the period
    waiting: int  # expenses waiting for an approver or the county, now
    campaigns: int  # this year's
    raised: int
    goal: int
    unpaid_units: int
    mismatches: tuple[Mismatch, ...]  # each fund's latest bank reading, when it differs

    @property
    def percent(self) -> int | None:
        return self.raised * 100 // self.goal if self.goal else None


async def fund_figures(
    session: AsyncSession,
    scope: Scope,
    year: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> FundFigures:
    funds = list(
        (
            await session.execute(
                select(Fund).where(scope.where(Fund.alliance_id)).order_by(Fund.alliance_id)
            )
        ).scalars()
    )
    ids = [f.id for f in funds]
    income_q = select(func.coalesce(func.sum(FundIncome.fen), 0)).where(
        FundIncome.fund_id.in_(ids)
    )
    spent_q = select(func.coalesce(func.sum(FundExpense.fen), 0)).where(
        FundExpense.fund_id.in_(ids), FundExpense.state == ExpenseState.PAID
    )
    if since is not None:
        income_q, spent_q = (
            income_q.where(FundIncome.at >= since),
            spent_q.where(FundExpense.paid_at >= since),
        )
    if until is not None:
        income_q, spent_q = (
            income_q.where(FundIncome.at < until),
            spent_q.where(FundExpense.paid_at < until),
        )
    waiting = await session.scalar(
        select(func.count(FundExpense.id)).where(
            FundExpense.fund_id.in_(ids),
            FundExpense.state.in_([ExpenseState.REQUESTED, ExpenseState.COUNTY]),
        )
    )
    total = sum([await balance(session, f) for f in funds])
    raised = goal = unpaid = count = 0
    campaigns = (
        await session.execute(
            select(FundCampaign).where(FundCampaign.fund_id.in_(ids), FundCampaign.year == year)
        )
    ).scalars()
    for campaign in campaigns:
        state = await progress(session, campaign)
        count, raised, goal = count + 1, raised + state.raised, goal + campaign.goal
        unpaid += len(state.unpaid)
    mismatches: list[Mismatch] = []
    for fund in funds:
        latest = await session.scalar(
            select(BankBalance)
            .where(BankBalance.fund_id == fund.id)
            .order_by(BankBalance.month.desc())
            .limit(1)
        )
        if latest is not None and latest.difference:
            alliance = await session.get(Alliance, fund.alliance_id)
            name = alliance.name if alliance else ""
            mismatches.append(Mismatch(name, latest.month, latest.difference))
    return FundFigures(
        funds=len(funds),
        balance=total,
        income=int(await session.scalar(income_q) or 0),
        spent=int(await session.scalar(spent_q) or 0),
        waiting=int(waiting or 0),
        campaigns=count,
        raised=raised,
        goal=goal,
        unpaid_units=unpaid,
        mismatches=tuple(mismatches),
    )


async def outcome_counts(
    session: AsyncSession, scope: Scope, year: int, since: datetime | None = None
) -> dict[State, int]:
    """The year's outcome entries by state (with `since`: those submitted since then)."""
    stmt = (
        select(OutcomeEntry.state, func.count(OutcomeEntry.id))
        .where(scope.where(OutcomeEntry.alliance_id), OutcomeEntry.year == year)
        .group_by(OutcomeEntry.state)
    )
    if since is not None:
        stmt = stmt.where(OutcomeEntry.submitted_at >= since)
    found = {State(s): int(n) for s, n in (await session.execute(stmt)).all()}
    return {s: found.get(s, 0) for s in State}

"""成果与经费 lines for /stats and the weekly digest (and the figures the console's overview
shows): outcome entries by state with the accepted figures in the report's words; the party
funds' balance, income and spending, what waits for approval, this year's 众筹, and bank
readings that differ from the ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import local_datetime, to_local
from bot.core.money import show_amount
from handlers.outcome_text import phrase
from models.fund_figures import FundFigures, Mismatch, fund_figures, outcome_counts
from models.outcome import Period, State, figures
from models.scope import Scope

OUTCOMES = (
    "成果（{year}年）：已验收 {accepted} 条，待县里验收 {approved} 条，"
    "待联盟审核 {submitted} 条，退回修改 {returned} 条"
)
OUTCOME_WORDS = "按报告口径：{words}"
FUNDS = (
    "党建经费：{funds} 个联盟设立，余额合计 {balance}；今年收入 {income}，支出 {spent}；"
    "待审批支出 {waiting} 笔"
)
CAMPAIGN = "众筹（{year}年）：已筹 {raised} / 目标 {goal}（{percent}%），未交齐 {unpaid} 家单位"
MISMATCH = "⚠️ 对账不符：{alliance} {month}月末银行{gap}"
WEEK_FUNDS = "经费：收入 {income}，支出 {spent}；待审批支出 {waiting} 笔"
WEEK_OUTCOMES = "成果：新提交 {new} 条；待联盟审核 {submitted} 条，待县里验收 {approved} 条"


def mismatch_line(m: Mismatch) -> str:
    gap = (
        f"比账面多 {show_amount(m.difference)}"
        if m.difference > 0
        else f"比账面少 {show_amount(-m.difference)}"
    )
    month = int(m.month.split("-")[1])
    return MISMATCH.format(alliance=m.alliance, month=month, gap=gap)


def fund_lines(f: FundFigures, year: int) -> list[str]:
    if not f.funds:
        return []
    lines = [
        FUNDS.format(
            funds=f.funds,
            balance=show_amount(f.balance),
            income=show_amount(f.income),
            spent=show_amount(f.spent),
            waiting=f.waiting,
        )
    ]
    if f.campaigns:
        lines.append(
            CAMPAIGN.format(
                year=year,
                raised=show_amount(f.raised),
                goal=show_amount(f.goal),
                percent=f.percent,
                unpaid=f.unpaid_units,
            )
        )
    lines += [mismatch_line(m) for m in f.mismatches]
    return lines


async def stats_lines(session: AsyncSession, scope: Scope, now: datetime) -> list[str]:
    """/stats: this year's outcomes and funds."""
    year = to_local(now).year
    counts = await outcome_counts(session, scope, year)
    lines = [
        OUTCOMES.format(
            year=year,
            accepted=counts[State.ACCEPTED],
            approved=counts[State.APPROVED],
            submitted=counts[State.SUBMITTED],
            returned=counts[State.RETURNED],
        )
    ]
    found = await figures(session, scope, Period(year), (State.ACCEPTED,))  # as the report
    if found:
        lines.append(OUTCOME_WORDS.format(words="，".join(phrase(f) for f in found)))
    start = local_datetime(year, 1, 1)
    lines += fund_lines(await fund_figures(session, scope, year, since=start), year)
    return lines


async def week_lines(
    session: AsyncSession, scope: Scope, start: datetime, end: datetime, now: datetime
) -> list[str]:
    """The weekly digest: the week's fund income and spending, outcome entries submitted, what
    waits for review, and bank readings that differ."""
    year = to_local(now).year
    f = await fund_figures(session, scope, year, since=start, until=end)
    lines: list[str] = []
    if f.funds:
        lines.append(
            WEEK_FUNDS.format(
                income=show_amount(f.income), spent=show_amount(f.spent), waiting=f.waiting
            )
        )
        lines += [mismatch_line(m) for m in f.mismatches]
    counts = await outcome_counts(session, scope, year)
    new = sum((await outcome_counts(session, scope, year, since=start)).values())
    if new or counts[State.SUBMITTED] or counts[State.APPROVED]:
        lines.append(
            WEEK_OUTCOMES.format(
                new=new, submitted=counts[State.SUBMITTED], approved=counts[State.APPROVED]
            )
        )
    return lines


async def overview(session: AsyncSession, scope: Scope, now: datetime) -> dict[str, object]:
    """What the console's 总览 shows of outcomes and funds this year: entries by state, the
    accepted figures in the report's words, the funds' figures (amounts already written out)
    and the bank readings that differ."""
    year = to_local(now).year
    counts = await outcome_counts(session, scope, year)
    found = await figures(session, scope, Period(year), (State.ACCEPTED,))  # as the report
    f = await fund_figures(session, scope, year, since=local_datetime(year, 1, 1))
    return {
        "year": year,
        "accepted": counts[State.ACCEPTED],
        "waiting": counts[State.SUBMITTED] + counts[State.APPROVED],
        "phrases": [phrase(x) for x in found],
        "funds": f.funds,
        "balance": show_amount(f.balance),
        "income": show_amount(f.income),
        "spent": show_amount(f.spent),
        "expenses_waiting": f.waiting,
        "campaigns": f.campaigns,
        "raised": show_amount(f.raised),
        "goal": show_amount(f.goal),
        "percent": f.percent,
        "unpaid": f.unpaid_units,
        "mismatches": [mismatch_line(m) for m in f.mismatches],
    }

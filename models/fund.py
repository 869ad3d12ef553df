"""党建经费众筹: one fund per alliance, with a treasurer and approvers. The bot records money;
it never moves it.

Income is recorded by the treasurer with a transfer number or a receipt photo. An expense is
requested with its purpose, category and what it paid for; it needs `approvals_needed`
approvals from the fund's approvers, none of whom is the requester; above `county_threshold`
the county (a super admin other than the requester) reviews it too; the treasurer then marks it
paid with a voucher. The balance is income less paid expenses; the ledger lists both in order
with a running balance.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.core import Attachment, Role
from models.base import Base
from models.member import Member

CATEGORIES = ("活动经费", "帮扶慰问", "学习培训", "阵地建设", "宣传资料", "其他")


class ExpenseState(enum.StrEnum):
    REQUESTED = "requested"  # waiting for the approvers
    COUNTY = "county"  # approved by the alliance, above the threshold: the county reviews
    APPROVED = "approved"  # may be paid
    PAID = "paid"
    REJECTED = "rejected"


class Fund(Base):
    __tablename__ = "fund"

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id"), unique=True)
    treasurer_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    approvals_needed: Mapped[int] = mapped_column(default=2)
    county_threshold: Mapped[int] = mapped_column(BigInteger, default=20_000_00)  # fen
    created_at: Mapped[datetime]

    approvers: Mapped[list[FundApprover]] = relationship(lazy="selectin")

    def approver_ids(self) -> set[int]:
        return {a.member_id for a in self.approvers}


class FundApprover(Base):
    __tablename__ = "fund_approver"
    __table_args__ = (UniqueConstraint("fund_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))


class FundIncome(Base):
    """Money received: from a unit (or a person), with a transfer number or a receipt."""

    __tablename__ = "fund_income"

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id", ondelete="CASCADE"), index=True)
    fen: Mapped[int] = mapped_column(BigInteger)
    payer: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    transfer_no: Mapped[str] = mapped_column(String(60), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    file_suffix: Mapped[str] = mapped_column(String(10), default="")
    file_kind: Mapped[str] = mapped_column(String(10), default="")
    file_name: Mapped[str] = mapped_column(String(100), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("fund_campaign.id", ondelete="SET NULL"), index=True
    )
    at: Mapped[datetime]

    @property
    def number(self) -> str:
        return f"SR-{self.id:04d}"


class FundExpense(Base):
    __tablename__ = "fund_expense"

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id", ondelete="CASCADE"), index=True)
    fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str]
    category: Mapped[str] = mapped_column(String(10))
    link_kind: Mapped[str] = mapped_column(String(20), default="")  # activity, ticket, followup
    link_id: Mapped[int | None]
    link_label: Mapped[str] = mapped_column(String(40), default="")
    requester_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    requested_at: Mapped[datetime]
    state: Mapped[ExpenseState] = mapped_column(String(10), default=ExpenseState.REQUESTED)
    reason: Mapped[str] = mapped_column(default="")
    county_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    paid_at: Mapped[datetime | None]
    voucher_sha256: Mapped[str] = mapped_column(String(64), default="")
    voucher_suffix: Mapped[str] = mapped_column(String(10), default="")
    voucher_kind: Mapped[str] = mapped_column(String(10), default="")
    voucher_name: Mapped[str] = mapped_column(String(100), default="")

    approvals: Mapped[list[ExpenseApproval]] = relationship(lazy="selectin")
    requester: Mapped[Member] = relationship(lazy="selectin", foreign_keys=[requester_id])

    @property
    def number(self) -> str:
        return f"ZC-{self.id:04d}"


class ExpenseApproval(Base):
    __tablename__ = "fund_expense_approval"
    __table_args__ = (UniqueConstraint("expense_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expense_id: Mapped[int] = mapped_column(
        ForeignKey("fund_expense.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    at: Mapped[datetime]


class ShareRule(enum.StrEnum):
    EQUAL = "equal"  # the goal split equally among the alliance's member units
    FIXED = "fixed"  # an amount set for each unit; the goal is their sum


class FundCampaign(Base):
    """A year's 众筹: a goal and each unit's share; income recorded against it counts."""

    __tablename__ = "fund_campaign"
    __table_args__ = (UniqueConstraint("fund_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id", ondelete="CASCADE"), index=True)
    year: Mapped[int]
    title: Mapped[str] = mapped_column(String(60))
    goal: Mapped[int] = mapped_column(BigInteger)  # fen
    rule: Mapped[ShareRule] = mapped_column(String(10), default=ShareRule.EQUAL)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime]

    shares: Mapped[list[CampaignShare]] = relationship(
        lazy="selectin", order_by="CampaignShare.id"
    )


class CampaignShare(Base):
    """One unit's share of a campaign, and when (and by whom) the unit pledged it."""

    __tablename__ = "fund_campaign_share"
    __table_args__ = (UniqueConstraint("campaign_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("fund_campaign.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    fen: Mapped[int] = mapped_column(BigInteger)
    pledged_at: Mapped[datetime | None]
    pledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))


class BankBalance(Base):
    """The bank's balance at the end of a month as the treasurer read it, beside the ledger's
    balance at that moment; a difference is flagged."""

    __tablename__ = "fund_bank_balance"
    __table_args__ = (UniqueConstraint("fund_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id", ondelete="CASCADE"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # 2026-11: the month that ended
    fen: Mapped[int] = mapped_column(BigInteger)
    ledger_fen: Mapped[int] = mapped_column(BigInteger)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    at: Mapped[datetime]

    @property
    def difference(self) -> int:
        return self.fen - self.ledger_fen


class FundError(Exception):
    """`reason`: no_fund, not_treasurer, own_request, not_approver, already, illegal,
    not_county, voucher_required, zero, purpose_required, category, short (the balance is
    less than the payment), campaign_exists, no_units, not_in_campaign, pledged, paid (the
    unit paid its share), reason_required, not_admin, approvers (fewer approvers, not
    counting one requester, than the approvals needed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def open_fund(
    *,
    session: AsyncSession,
    alliance_id: int,
    treasurer: Member,
    approvers: list[Member],
    approvals_needed: int,
    county_threshold: int,
    now: datetime,
) -> Fund:
    fund = Fund(
        alliance_id=alliance_id,
        treasurer_id=treasurer.id,
        approvals_needed=approvals_needed,
        county_threshold=county_threshold,
        created_at=now,
        approvers=[FundApprover(member_id=m.id) for m in approvers],
    )
    session.add(fund)
    await session.flush()
    return fund


async def fund_of(session: AsyncSession, alliance_id: int) -> Fund | None:
    return await session.scalar(select(Fund).where(Fund.alliance_id == alliance_id))


async def record_income(
    *,
    session: AsyncSession,
    fund: Fund,
    member: Member,
    fen: int,
    payer: str,
    unit_id: int | None = None,
    transfer_no: str = "",
    receipt: Attachment | None = None,
    campaign_id: int | None = None,
    now: datetime,
) -> FundIncome:
    if member.id != fund.treasurer_id:
        raise FundError("not_treasurer")
    if fen <= 0:
        raise FundError("zero")
    if not transfer_no.strip() and (receipt is None or not receipt.ok):
        raise FundError("voucher_required")
    income = FundIncome(
        fund_id=fund.id,
        fen=fen,
        payer=payer.strip(),
        unit_id=unit_id,
        transfer_no=transfer_no.strip(),
        recorded_by_id=member.id,
        campaign_id=campaign_id,
        at=now,
    )
    if receipt is not None and receipt.ok:
        income.file_sha256, income.file_suffix = receipt.sha256, receipt.suffix
        income.file_kind, income.file_name = receipt.kind, receipt.name
    session.add(income)
    await session.flush()
    return income


async def request_expense(
    *,
    session: AsyncSession,
    fund: Fund,
    member: Member,
    fen: int,
    purpose: str,
    category: str,
    link: tuple[str, int | None, str] | None = None,
    now: datetime,
) -> FundExpense:
    if fen <= 0:
        raise FundError("zero")
    if not purpose.strip():
        raise FundError("purpose_required")
    if category not in CATEGORIES:
        raise FundError("category")
    expense = FundExpense(
        fund_id=fund.id,
        fen=fen,
        purpose=purpose.strip(),
        category=category,
        link_kind=link[0] if link else "",
        link_id=link[1] if link else None,
        link_label=link[2][:40] if link else "",
        requester_id=member.id,
        requested_at=now,
        state=ExpenseState.REQUESTED,
        approvals=[],
    )
    session.add(expense)
    await session.flush()
    await session.refresh(expense, ["requester"])
    return expense


async def approve(
    *, session: AsyncSession, fund: Fund, expense: FundExpense, member: Member, now: datetime
) -> FundExpense:
    """An approver's yes (REQUESTED), or the county's (COUNTY); the requester never approves."""
    if member.id == expense.requester_id:
        raise FundError("own_request")
    if expense.state == ExpenseState.COUNTY:
        if not member.has_role(Role.SUPER_ADMIN):
            raise FundError("not_county")
        expense.county_by_id = member.id
        expense.state = ExpenseState.APPROVED
        await session.flush()
        return expense
    if expense.state != ExpenseState.REQUESTED:
        raise FundError("illegal")
    if member.id not in fund.approver_ids():
        raise FundError("not_approver")
    if any(a.member_id == member.id for a in expense.approvals):
        raise FundError("already")
    expense.approvals.append(ExpenseApproval(member_id=member.id, at=now))
    if len(expense.approvals) >= fund.approvals_needed:
        above = expense.fen > fund.county_threshold
        expense.state = ExpenseState.COUNTY if above else ExpenseState.APPROVED
    await session.flush()
    return expense


async def reject(
    *, session: AsyncSession, fund: Fund, expense: FundExpense, member: Member, reason: str
) -> FundExpense:
    if member.id == expense.requester_id:
        raise FundError("own_request")
    if not reason.strip():
        raise FundError("reason_required")
    county = expense.state == ExpenseState.COUNTY and member.has_role(Role.SUPER_ADMIN)
    alliance = expense.state == ExpenseState.REQUESTED and member.id in fund.approver_ids()
    if not (county or alliance):
        raise FundError(
            "illegal"
            if expense.state not in (ExpenseState.REQUESTED, ExpenseState.COUNTY)
            else "not_approver"
        )
    expense.state, expense.reason = ExpenseState.REJECTED, reason.strip()
    await session.flush()
    return expense


async def mark_paid(
    *,
    session: AsyncSession,
    fund: Fund,
    expense: FundExpense,
    member: Member,
    voucher: Attachment | None,
    now: datetime,
) -> FundExpense:
    if member.id != fund.treasurer_id:
        raise FundError("not_treasurer")
    if expense.state != ExpenseState.APPROVED:
        raise FundError("illegal")
    if voucher is None or not voucher.ok:
        raise FundError("voucher_required")
    if await balance(session, fund) < expense.fen:
        raise FundError("short")
    expense.state, expense.paid_by_id, expense.paid_at = ExpenseState.PAID, member.id, now
    expense.voucher_sha256, expense.voucher_suffix = voucher.sha256, voucher.suffix
    expense.voucher_kind, expense.voucher_name = voucher.kind, voucher.name
    await session.flush()
    return expense


async def balance(session: AsyncSession, fund: Fund, until: datetime | None = None) -> int:
    """Income less paid expenses; with `until`, as the ledger stood at that moment."""
    income_q = select(func.coalesce(func.sum(FundIncome.fen), 0)).where(
        FundIncome.fund_id == fund.id
    )
    paid_q = select(func.coalesce(func.sum(FundExpense.fen), 0)).where(
        FundExpense.fund_id == fund.id, FundExpense.state == ExpenseState.PAID
    )
    if until is not None:
        income_q = income_q.where(FundIncome.at < until)
        paid_q = paid_q.where(FundExpense.paid_at < until)
    income = await session.scalar(income_q)
    paid = await session.scalar(paid_q)
    return int(income or 0) - int(paid or 0)


@dataclass(frozen=True)
class LedgerLine:
    at: datetime
    number: str
    what: str  # 收入 or 支出
    category: str
    party: str  # the payer, or the purpose
    fen: int  # + income, - expense
    balance: int
    voucher: str
    link: str = ""  # what an expense paid for


async def ledger(session: AsyncSession, fund: Fund) -> list[LedgerLine]:
    """Income and paid expenses in time order, each with the balance after it."""
    incomes = (
        await session.execute(select(FundIncome).where(FundIncome.fund_id == fund.id))
    ).scalars()
    paid = (
        await session.execute(
            select(FundExpense).where(
                FundExpense.fund_id == fund.id, FundExpense.state == ExpenseState.PAID
            )
        )
    ).scalars()
    rows: list[tuple[datetime, str, str, str, str, int, str, str]] = [
        (i.at, i.number, "收入", "众筹收入", i.payer, i.fen, i.transfer_no or i.file_name, "")
        for i in incomes
    ]
    rows += [
        (
            e.paid_at or e.requested_at,
            e.number,
            "支出",
            e.category,
            e.purpose,
            -e.fen,
            e.voucher_name,
            e.link_label,
        )
        for e in paid
    ]
    rows.sort(key=lambda r: (r[0], r[1]))
    running, lines = 0, []
    for at, number, what, category, party, fen, voucher, link in rows:
        running += fen
        lines.append(LedgerLine(at, number, what, category, party, fen, running, voucher, link))
    return lines


async def waiting_for(session: AsyncSession, member: Member) -> list[FundExpense]:
    """Expenses this member may decide now (never their own)."""
    stmt = select(FundExpense).where(
        FundExpense.state.in_([ExpenseState.REQUESTED, ExpenseState.COUNTY]),
        FundExpense.requester_id != member.id,
    )
    found = []
    for expense in (await session.execute(stmt.order_by(FundExpense.id))).scalars():
        if expense.state == ExpenseState.COUNTY:
            if member.has_role(Role.SUPER_ADMIN):
                found.append(expense)
            continue
        fund = await session.get(Fund, expense.fund_id)
        approved = any(a.member_id == member.id for a in expense.approvals)
        if fund is not None and member.id in fund.approver_ids() and not approved:
            found.append(expense)
    return found


# ---- set-up --------------------------------------------------------------------------


async def configure(
    *,
    session: AsyncSession,
    alliance_id: int,
    member: Member,
    treasurer: Member,
    approvers: list[Member],
    approvals_needed: int,
    county_threshold: int,
    now: datetime,
) -> Fund:
    """An alliance admin (or the county) opens the alliance's fund or changes who keeps and
    approves it. Enough approvers that an approver's own request can still pass."""
    if not member.administers(alliance_id):
        raise FundError("not_admin")
    if approvals_needed < 1 or len({a.id for a in approvers}) < approvals_needed + 1:
        raise FundError("approvers")
    if county_threshold <= 0:
        raise FundError("zero")
    fund = await fund_of(session, alliance_id)
    if fund is None:
        return await open_fund(
            session=session,
            alliance_id=alliance_id,
            treasurer=treasurer,
            approvers=list({a.id: a for a in approvers}.values()),
            approvals_needed=approvals_needed,
            county_threshold=county_threshold,
            now=now,
        )
    fund.treasurer_id = treasurer.id
    fund.approvals_needed, fund.county_threshold = approvals_needed, county_threshold
    keep = {a.id for a in approvers}
    for old in list(fund.approvers):
        if old.member_id not in keep:
            fund.approvers.remove(old)
            await session.delete(old)
    have = fund.approver_ids()
    fund.approvers += [FundApprover(member_id=i) for i in sorted(keep - have)]
    await session.flush()
    return fund


# ---- 众筹 campaigns -----------------------------------------------------------------------


def equal_shares(goal: int, unit_ids: list[int]) -> dict[int, int]:
    """The goal split into whole fen; the first units carry the remainder, so shares sum to
    the goal exactly."""
    if not unit_ids:
        return {}
    each, left = divmod(goal, len(unit_ids))
    return {u: each + (1 if i < left else 0) for i, u in enumerate(unit_ids)}


async def open_campaign(
    *,
    session: AsyncSession,
    fund: Fund,
    member: Member,
    year: int,
    title: str,
    rule: ShareRule,
    shares: dict[int, int],
    now: datetime,
) -> FundCampaign:
    """The treasurer or an alliance admin opens the year's campaign; the goal is the sum of the
    shares."""
    if member.id != fund.treasurer_id and not member.administers(fund.alliance_id):
        raise FundError("not_admin")
    if not shares:
        raise FundError("no_units")
    if any(fen <= 0 for fen in shares.values()):
        raise FundError("zero")
    if await campaign_for(session, fund, year) is not None:
        raise FundError("campaign_exists")
    campaign = FundCampaign(
        fund_id=fund.id,
        year=year,
        title=title.strip()[:60],
        goal=sum(shares.values()),
        rule=rule,
        created_by_id=member.id,
        created_at=now,
        shares=[CampaignShare(unit_id=u, fen=f) for u, f in shares.items()],
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def campaign_for(session: AsyncSession, fund: Fund, year: int) -> FundCampaign | None:
    return await session.scalar(
        select(FundCampaign).where(FundCampaign.fund_id == fund.id, FundCampaign.year == year)
    )


async def pledge(
    *, session: AsyncSession, campaign: FundCampaign, member: Member, now: datetime
) -> CampaignShare:
    """The member's unit pledges its share (认缴); paying is recorded by the treasurer."""
    share = next((s for s in campaign.shares if s.unit_id == member.home_unit_id), None)
    if share is None:
        raise FundError("not_in_campaign")
    if share.pledged_at is not None:
        raise FundError("pledged")
    paid = await session.scalar(
        select(func.coalesce(func.sum(FundIncome.fen), 0)).where(
            FundIncome.campaign_id == campaign.id, FundIncome.unit_id == share.unit_id
        )
    )
    if int(paid or 0) >= share.fen:
        raise FundError("paid")
    share.pledged_at, share.pledged_by_id = now, member.id
    await session.flush()
    return share


@dataclass(frozen=True)
class UnitProgress:
    unit_id: int
    name: str
    share: int
    paid: int
    pledged: bool

    @property
    def done(self) -> bool:
        return self.paid >= self.share


@dataclass(frozen=True)
class Progress:
    campaign: FundCampaign
    raised: int
    units: list[UnitProgress]

    @property
    def unpaid(self) -> list[UnitProgress]:
        return [u for u in self.units if not u.done]

    @property
    def percent(self) -> int:
        return self.raised * 100 // self.campaign.goal if self.campaign.goal else 0


async def progress(session: AsyncSession, campaign: FundCampaign) -> Progress:
    """Raised against the goal, and each unit's share beside what it paid."""
    from models.org import Unit

    paid_by_unit = dict(
        (
            await session.execute(
                select(FundIncome.unit_id, func.sum(FundIncome.fen))
                .where(FundIncome.campaign_id == campaign.id)
                .group_by(FundIncome.unit_id)
            )
        ).all()
    )
    raised = sum(int(v or 0) for v in paid_by_unit.values())
    ids = [s.unit_id for s in campaign.shares]
    names = dict((await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids)))).all())
    units = [
        UnitProgress(
            s.unit_id,
            names.get(s.unit_id, ""),
            s.fen,
            int(paid_by_unit.get(s.unit_id) or 0),
            s.pledged_at is not None,
        )
        for s in campaign.shares
    ]
    return Progress(campaign, raised, units)


# ---- the bank balance ------------------------------------------------------------------


async def bank_entry(session: AsyncSession, fund: Fund, month: str) -> BankBalance | None:
    return await session.scalar(
        select(BankBalance).where(BankBalance.fund_id == fund.id, BankBalance.month == month)
    )


async def record_bank_balance(
    *,
    session: AsyncSession,
    fund: Fund,
    member: Member,
    fen: int,
    month: str,
    month_end: datetime,
    now: datetime,
) -> BankBalance:
    """The treasurer's reading of the bank at the end of `month`, beside the ledger's balance
    then. Typed again, the month's reading is replaced."""
    if member.id != fund.treasurer_id:
        raise FundError("not_treasurer")
    if fen < 0:
        raise FundError("zero")
    ledger_fen = await balance(session, fund, until=month_end)
    entry = await bank_entry(session, fund, month)
    if entry is None:
        entry = BankBalance(fund_id=fund.id, month=month, fen=0, ledger_fen=0, at=now)
        session.add(entry)
    entry.fen, entry.ledger_fen, entry.entered_by_id, entry.at = fen, ledger_fen, member.id, now
    await session.flush()
    return entry


async def named_in_alliance(session: AsyncSession, alliance_id: int, name: str) -> list[Member]:
    """The alliance's members (by their home unit) with exactly this name."""
    from models.member import HOME_LOADED
    from models.org import Membership

    units = select(Membership.unit_id).where(Membership.alliance_id == alliance_id)
    stmt = select(Member).where(Member.name == name.strip(), Member.home_unit_id.in_(units))
    return list((await session.execute(stmt.options(HOME_LOADED))).scalars())

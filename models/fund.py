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


class FundError(Exception):
    """`reason`: no_fund, not_treasurer, own_request, not_approver, already, illegal,
    not_county, voucher_required, zero, purpose_required, category, short (the balance is
    less than the payment)."""

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
    link_label: str = "",
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
        link_label=link_label,
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


async def balance(session: AsyncSession, fund: Fund) -> int:
    income = await session.scalar(
        select(func.coalesce(func.sum(FundIncome.fen), 0)).where(FundIncome.fund_id == fund.id)
    )
    paid = await session.scalar(
        select(func.coalesce(func.sum(FundExpense.fen), 0)).where(
            FundExpense.fund_id == fund.id, FundExpense.state == ExpenseState.PAID
        )
    )
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
    rows: list[tuple[datetime, str, str, str, str, int, str]] = [
        (i.at, i.number, "收入", "众筹收入", i.payer, i.fen, i.transfer_no or i.file_name)
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
        )
        for e in paid
    ]
    rows.sort(key=lambda r: (r[0], r[1]))
    running, lines = 0, []
    for at, number, what, category, party, fen, voucher in rows:
        running += fen
        lines.append(LedgerLine(at, number, what, category, party, fen, running, voucher))
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

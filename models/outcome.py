"""The outcomes ledger: what the alliances achieved, per unit and quarter, with evidence.

The metric catalogue is data (METRICS): each metric has a definition, a unit, guidance, and
whether evidence is required. Metrics the bot already knows (governance problems solved from
resolved tickets, resources integrated, matches done) are `derived`: computed, never typed.
Named metrics (people helped, old compounds supported) list who or what was helped, and the
roll-up counts each name once in the period, however many entries name it.

An entry moves through ACTIONS: submitted → approved by the alliance → accepted by the county;
either may return it with a reason; an approved or accepted entry is locked (LOCKED), and only a
county admin may reopen an accepted one, with a reason (audited by the handler). Figures roll up
from the entries of units and alliances; the county never types its own figures.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.core import Attachment, Role
from bot.core.clock import local_datetime, to_local
from models.base import Base
from models.member import Member
from models.org import Membership
from models.resource import MatchRequest, MatchState, Resource
from models.scope import Scope
from models.ticket import Ticket, TicketState


class Kind(enum.StrEnum):
    MONEY = "money"  # integer fen
    COUNT = "count"  # a number of things
    NAMED = "named"  # a list of names, each counted once in a period


@dataclass(frozen=True)
class Metric:
    key: str
    name: str  # as a button and a column: 降低企业成本
    kind: Kind
    unit: str  # 元, 人, 个, 条, 次
    definition: str
    guidance: str
    phrase: str  # the report's wording, {v} the figure: 帮助成员企业降低成本{v}
    evidence_required: bool = True
    derived: str = ""  # "tickets", "resources", "matches": computed, never typed
    words: tuple[str, ...] = field(default_factory=tuple)  # other ways people name it


# Problem categories whose resolved tickets are 城市治理难题 solved.
GOVERNANCE_CATEGORIES = ("utilities", "land", "logistics", "legal", "other")

METRICS: tuple[Metric, ...] = (
    Metric(
        "costs_saved",
        "降低企业成本",
        Kind.MONEY,
        "元",
        "联盟帮助成员企业减少的融资、税费、用工、物流等成本。",
        "按可核实的金额填写（合同、减免文件、银行回单），同一笔节省只由一个单位填报一次。",
        "帮助成员企业降低成本{v}",
        words=("降低成本", "降本", "节约成本"),
    ),
    Metric(
        "output_gained",
        "产出效益",
        Kind.MONEY,
        "元",
        "联盟促成的合作、项目带来的新增产值或销售收入。",
        "按合同或财务数据填写，不作估算；跨季度的项目按实际到账分季度填报。",
        "产出效益超过{v}",
        words=("效益", "新增产值", "产值"),
    ),
    Metric(
        "donations",
        "捐资捐物",
        Kind.MONEY,
        "元",
        "成员单位捐赠的资金和物资（物资按折价计）。",
        "附捐赠凭证或受赠方回执；物资写明折价依据。",
        "捐资捐物达{v}",
        words=("捐款", "捐物", "捐赠"),
    ),
    Metric(
        "charity_funds",
        "捐助公益基金",
        Kind.MONEY,
        "元",
        "向公益基金、慈善会的捐款。",
        "附基金会或慈善会开具的收据。",
        "捐助公益基金{v}",
        words=("公益基金", "慈善"),
    ),
    Metric(
        "people_helped",
        "帮扶困难群众",
        Kind.NAMED,
        "人",
        "得到帮扶的困难群众人数。",
        "写出每位被帮扶人的姓名或编号；同一人一年内多次帮扶只计一人，不计人次。",
        "帮扶困难群众{v}",
        words=("困难群众", "帮扶", "帮助困难群众"),
    ),
    Metric(
        "compounds",
        "支援老旧小区改造",
        Kind.NAMED,
        "个",
        "对口支援改造提升基础设施的老旧小区。",
        "写出小区名称；同一小区一年内只计一个。",
        "对口支援{v}老旧小区改造提升基础设施",
        words=("老旧小区", "小区改造"),
    ),
    Metric(
        "governance",
        "解决城市治理难题",
        Kind.COUNT,
        "条",
        "吹哨工单中水电气路、用地规划、交通物流、法律纠纷等治理类问题的办结数。",
        "由系统按办结的工单自动统计，不用填写。",
        "解决城市治理难题{v}",
        evidence_required=False,
        derived="tickets",
    ),
    Metric(
        "resources",
        "整合有效资源",
        Kind.COUNT,
        "条",
        "联盟成员单位提供、列入共享资源清单的资源。",
        "由系统按共享资源清单自动统计，不用填写。",
        "整合有效资源{v}",
        evidence_required=False,
        derived="resources",
    ),
    Metric(
        "matches",
        "资源对接成功",
        Kind.COUNT,
        "次",
        "资源对接请求被提供方接受的次数。",
        "由系统按资源对接记录自动统计，不用填写。",
        "促成资源对接{v}",
        evidence_required=False,
        derived="matches",
    ),
)
BY_KEY = {m.key: m for m in METRICS}
TYPED = tuple(m for m in METRICS if not m.derived)


def find_metric(text: str) -> Metric | None:
    """A typed metric named by its name, its key or one of its words."""
    text = text.strip()
    for metric in TYPED:
        if text in (metric.name, metric.key) or any(
            w in text for w in (metric.name, *metric.words)
        ):
            return metric
    return None


class State(enum.StrEnum):
    SUBMITTED = "submitted"  # waiting for the alliance
    RETURNED = "returned"  # back with the submitter, with a reason
    APPROVED = "approved"  # the alliance approved; waiting for the county; locked
    ACCEPTED = "accepted"  # the county accepted; locked


LOCKED = frozenset({State.APPROVED, State.ACCEPTED})


class Actor(enum.StrEnum):
    SUBMITTER = "submitter"  # who submitted it, or a liaison of its unit, or its alliance's admin
    ALLIANCE = "alliance"  # an admin of the entry's alliance
    COUNTY = "county"  # a super admin


@dataclass(frozen=True)
class Action:
    actor: Actor
    moves: dict[State, State]
    needs_reason: bool = False


ACTIONS: dict[str, Action] = {
    "edit": Action(
        Actor.SUBMITTER, {State.SUBMITTED: State.SUBMITTED, State.RETURNED: State.SUBMITTED}
    ),
    "approve": Action(Actor.ALLIANCE, {State.SUBMITTED: State.APPROVED}),
    "return": Action(Actor.ALLIANCE, {State.SUBMITTED: State.RETURNED}, needs_reason=True),
    "send_back": Action(Actor.COUNTY, {State.APPROVED: State.RETURNED}, needs_reason=True),
    "accept": Action(Actor.COUNTY, {State.APPROVED: State.ACCEPTED}),
    "reopen": Action(Actor.COUNTY, {State.ACCEPTED: State.RETURNED}, needs_reason=True),
}


class OutcomeEntry(Base):
    """One reported outcome of a unit (or of the alliance as a whole) in one quarter."""

    __tablename__ = "outcome_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    metric: Mapped[str] = mapped_column(String(20), index=True)
    year: Mapped[int] = mapped_column(index=True)
    quarter: Mapped[int]
    # fen for money (1.7亿元 is 17,000,000,000: a 64-bit column), a count otherwise
    value: Mapped[int] = mapped_column(BigInteger)
    approximate: Mapped[bool] = mapped_column(default=False)
    names: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(default="")
    link_kind: Mapped[str] = mapped_column(String(20), default="")  # ticket, followup, expense
    link_id: Mapped[int | None]
    link_label: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[State] = mapped_column(String(10), index=True, default=State.SUBMITTED)
    reason: Mapped[str] = mapped_column(default="")  # the last return or reopen reason
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    submitted_at: Mapped[datetime]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    approved_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    accepted_at: Mapped[datetime | None]

    evidence: Mapped[list[OutcomeEvidence]] = relationship(
        back_populates="entry", lazy="selectin", order_by="OutcomeEvidence.id"
    )
    submitted_by: Mapped[Member | None] = relationship(
        lazy="selectin", foreign_keys=[submitted_by_id]
    )
    approved_by: Mapped[Member | None] = relationship(
        lazy="selectin", foreign_keys=[approved_by_id]
    )
    accepted_by: Mapped[Member | None] = relationship(
        lazy="selectin", foreign_keys=[accepted_by_id]
    )

    @property
    def number(self) -> str:
        return f"CG-{self.id:04d}"

    @property
    def spec(self) -> Metric:
        return BY_KEY[self.metric]


class OutcomeEvidence(Base):
    """A photo or file behind an entry (stored once by hash, models.files)."""

    __tablename__ = "outcome_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("outcome_entry.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    suffix: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100), default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    at: Mapped[datetime]

    entry: Mapped[OutcomeEntry] = relationship(back_populates="evidence")


class OutcomeEvent(Base):
    """One line of an entry's history: submitted, edited, approved, returned, accepted..."""

    __tablename__ = "outcome_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("outcome_entry.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(default="")
    at: Mapped[datetime]

    actor: Mapped[Member | None] = relationship(lazy="selectin")


class OutcomeError(Exception):
    """`reason`: not_permitted, illegal, locked, reason_required, evidence_required,
    derived, no_names, zero."""

    def __init__(self, reason: str, entry: OutcomeEntry | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.entry = entry


# ---- periods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A year, one quarter of it, or quarters `quarter`..`last` of it (上半年, 前三季度)."""

    year: int
    quarter: int | None = None
    last: int | None = None  # the last quarter of a run of quarters; None: one quarter

    @property
    def label(self) -> str:
        if self.quarter is None:
            return f"{self.year}年"
        if self.last is None:
            return f"{self.year}年第{'一二三四'[self.quarter - 1]}季度"
        named = {(1, 2): "上半年", (3, 4): "下半年", (1, 3): "前三季度"}
        run = (self.quarter, self.last)
        words = "一二三四"
        return f"{self.year}年" + named.get(run, f"第{words[run[0] - 1]}至{words[run[1] - 1]}季度")

    def bounds(self) -> tuple[datetime, datetime]:
        """UTC bounds of the period in local time."""
        if self.quarter is None:
            return local_datetime(self.year, 1, 1), local_datetime(self.year + 1, 1, 1)
        last = self.last or self.quarter
        start = local_datetime(self.year, 3 * (self.quarter - 1) + 1, 1)
        end = (
            local_datetime(self.year + 1, 1, 1)
            if last == 4
            else local_datetime(self.year, 3 * last + 1, 1)
        )
        return start, end

    def quarters(self) -> tuple[int, ...]:
        if self.quarter is None:
            return (1, 2, 3, 4)
        return tuple(range(self.quarter, (self.last or self.quarter) + 1))

    @property
    def single_quarter(self) -> bool:
        """One quarter: what an entry is reported for."""
        return self.quarter is not None and self.last is None


def quarter_of(now: datetime) -> Period:
    local = to_local(now)
    return Period(local.year, (local.month - 1) // 3 + 1)


def previous_quarter(now: datetime) -> Period:
    current = quarter_of(now)
    assert current.quarter is not None
    if current.quarter == 1:
        return Period(current.year - 1, 4)
    return Period(current.year, current.quarter - 1)


_QUARTER = re.compile(r"(?:第)?([一二三四1-4])\s*季度|[Qq]\s*([1-4])")
_YEAR = re.compile(r"(20\d{2})\s*年?")
_QUARTERS = re.compile(
    r"(?:第|[Qq])?([一二三四1-4])\s*(?:至|到|-|—|~|～)\s*(?:第|[Qq])?([一二三四1-4])\s*季?度?"
)
_HALVES = (
    (("上半年", "上半年度"), (1, 2)),
    (("下半年", "下半年度"), (3, 4)),
    (("前三季度", "前三个季度"), (1, 3)),
)


def _quarter_number(text: str) -> int:
    return int(text) if text.isdigit() else "一二三四".index(text) + 1


def parse_period(text: str, now: datetime) -> Period | None:
    """今年, 去年, 本季度, 上季度, 2026, 2026年, 2026年第三季度, 三季度, Q3, 上半年, 下半年,
    前三季度, 一至三季度, Q2-Q4 (quarters of a year); None if none."""
    text = text.strip()
    this_year = to_local(now).year
    if not text or text in ("今年", "本年", "本年度", "全年"):
        return Period(this_year)
    if text in ("去年", "上年", "上一年"):
        return Period(this_year - 1)
    if text in ("本季度", "这个季度", "这季度", "本季"):
        return quarter_of(now)
    if text in ("上季度", "上个季度", "上一季度"):
        return previous_quarter(now)
    year_match = _YEAR.search(text)
    year = int(year_match.group(1)) if year_match else this_year
    rest = _YEAR.sub("", text) if year_match else text
    if year_match is None and text.startswith(("去年", "上年")):
        year, rest = this_year - 1, text[2:]
    for words, run in _HALVES:
        if rest.strip(" 的") in words:
            return Period(year, *run)
    if run_match := _QUARTERS.search(rest):
        first, last = (_quarter_number(g) for g in run_match.groups())
        if first < last:
            return Period(year, first, last)
        if first == last:
            return Period(year, first)
        return None
    quarter_match = _QUARTER.search(rest)
    if quarter_match:
        q = quarter_match.group(1) or quarter_match.group(2)
        quarter = int(q) if q.isdigit() else "一二三四".index(q) + 1
        return Period(year, quarter)
    if year_match and not rest.strip(" 年度全"):
        return Period(year)
    return None


# ---- who may do what ------------------------------------------------------------------


def _is_actor(member: Member, entry: OutcomeEntry, actor: Actor) -> bool:
    if actor == Actor.COUNTY:
        return member.has_role(Role.SUPER_ADMIN)
    if actor == Actor.ALLIANCE:
        return member.administers(entry.alliance_id)
    return (
        entry.submitted_by_id == member.id
        or member.administers(entry.alliance_id)
        or (
            entry.unit_id is not None
            and entry.unit_id == member.home_unit_id
            and member.has_role(Role.LIAISON)
        )
    )


def allowed(member: Member, entry: OutcomeEntry) -> list[str]:
    """The actions this member may take on this entry now (they decide the buttons)."""
    return [
        name
        for name, action in ACTIONS.items()
        if entry.state in action.moves and _is_actor(member, entry, action.actor)
    ]


def check(member: Member, entry: OutcomeEntry, action: str) -> Action:
    """The action if this member may take it now; else OutcomeError (locked, illegal,
    not_permitted)."""
    spec = ACTIONS[action]
    if entry.state not in spec.moves:
        if action == "edit" and entry.state in LOCKED:
            raise OutcomeError("locked", entry)
        raise OutcomeError("illegal", entry)
    if not _is_actor(member, entry, spec.actor):
        raise OutcomeError("not_permitted", entry)
    return spec


def can_view(member: Member, entry: OutcomeEntry) -> bool:
    return member.visible_scope().covers(entry.alliance_id) or _is_actor(
        member, entry, Actor.SUBMITTER
    )


def may_submit_for(member: Member, alliance_id: int, unit_id: int | None) -> bool:
    """Alliance admins for their alliances and its units; liaisons for their own unit."""
    if member.administers(alliance_id):
        return True
    return unit_id is not None and unit_id == member.home_unit_id and member.has_role(Role.LIAISON)


# ---- writing --------------------------------------------------------------------------


def clean_names(text: str) -> list[str]:
    """张三、李四，王五 → the names, each once, in the order typed."""
    seen: list[str] = []
    for name in re.split(r"[、，,；;\s\n]+", text):
        name = name.strip()
        if name and name not in seen:
            seen.append(name)
    return seen


def _validate(metric: Metric, value: int, names: list[str], evidence: int) -> None:
    if metric.derived:
        raise OutcomeError("derived")
    if metric.kind == Kind.NAMED and not names:
        raise OutcomeError("no_names")
    if value <= 0:
        raise OutcomeError("zero")
    if metric.evidence_required and evidence == 0:
        raise OutcomeError("evidence_required")


def _evidence(attachment: Attachment, member: Member, now: datetime) -> OutcomeEvidence:
    return OutcomeEvidence(
        sha256=attachment.sha256,
        suffix=attachment.suffix,
        kind=attachment.kind,
        name=attachment.name,
        added_by_id=member.id,
        at=now,
    )


async def submit(
    *,
    session: AsyncSession,
    member: Member,
    alliance_id: int,
    unit_id: int | None,
    metric: Metric,
    period: Period,
    value: int,
    approximate: bool = False,
    names: Iterable[str] = (),
    description: str,
    attachments: Iterable[Attachment] = (),
    link: tuple[str, int, str] | None = None,
    now: datetime,
) -> OutcomeEntry:
    """A new entry, waiting for the alliance."""
    if not may_submit_for(member, alliance_id, unit_id):
        raise OutcomeError("not_permitted")
    names = list(names)
    files = [a for a in attachments if a.ok]
    if metric.kind == Kind.NAMED:
        value = len(names)
    _validate(metric, value, names, len(files))
    assert period.single_quarter
    entry = OutcomeEntry(
        alliance_id=alliance_id,
        unit_id=unit_id,
        metric=metric.key,
        year=period.year,
        quarter=period.quarter,
        value=value,
        approximate=approximate and metric.kind == Kind.MONEY,
        names=names,
        description=description.strip(),
        link_kind=link[0] if link else "",
        link_id=link[1] if link else None,
        link_label=link[2] if link else "",
        state=State.SUBMITTED,
        submitted_by_id=member.id,
        submitted_at=now,
        evidence=[_evidence(a, member, now) for a in files],
    )
    session.add(entry)
    await session.flush()
    session.add(OutcomeEvent(entry_id=entry.id, actor_id=member.id, action="submit", at=now))
    return entry


async def edit(
    *,
    session: AsyncSession,
    entry: OutcomeEntry,
    member: Member,
    value: int,
    approximate: bool = False,
    names: Iterable[str] = (),
    description: str | None = None,
    attachments: Iterable[Attachment] = (),
    now: datetime,
) -> OutcomeEntry:
    """Correct a submitted or returned entry; it goes to the alliance again."""
    spec = check(member, entry, "edit")
    names = list(names)
    metric = entry.spec
    if metric.kind == Kind.NAMED:
        value = len(names)
    files = [a for a in attachments if a.ok]
    _validate(metric, value, names, len(entry.evidence) + len(files))
    before = entry.value
    entry.value, entry.names = value, names if metric.kind == Kind.NAMED else []
    entry.approximate = approximate and metric.kind == Kind.MONEY
    if description is not None and description.strip():
        entry.description = description.strip()
    entry.evidence.extend(_evidence(a, member, now) for a in files)
    entry.state = spec.moves[entry.state]
    entry.submitted_at = now
    session.add(
        OutcomeEvent(
            entry_id=entry.id, actor_id=member.id, action="edit", note=f"{before}→{value}", at=now
        )
    )
    await session.flush()
    return entry


async def act(
    *,
    session: AsyncSession,
    entry: OutcomeEntry,
    member: Member,
    action: str,
    reason: str = "",
    now: datetime,
) -> OutcomeEntry:
    """approve, return, send_back, accept or reopen."""
    spec = check(member, entry, action)
    if spec.needs_reason and not reason.strip():
        raise OutcomeError("reason_required", entry)
    entry.state = spec.moves[entry.state]
    if action == "approve":
        entry.approved_by_id, entry.approved_at = member.id, now
    elif action == "accept":
        entry.accepted_by_id, entry.accepted_at = member.id, now
    else:
        entry.reason = reason.strip()
        entry.approved_by_id = entry.approved_at = None
        entry.accepted_by_id = entry.accepted_at = None
    session.add(
        OutcomeEvent(entry_id=entry.id, actor_id=member.id, action=action, note=reason, at=now)
    )
    await session.flush()
    await session.refresh(entry, ["approved_by", "accepted_by"])
    return entry


# ---- reading --------------------------------------------------------------------------


async def get_entry(session: AsyncSession, entry_id: int) -> OutcomeEntry | None:
    return await session.get(OutcomeEntry, entry_id)


async def entries_in(
    session: AsyncSession,
    scope: Scope,
    period: Period,
    states: Iterable[State] | None = None,
) -> list[OutcomeEntry]:
    stmt = select(OutcomeEntry).where(
        scope.where(OutcomeEntry.alliance_id),
        OutcomeEntry.year == period.year,
        OutcomeEntry.quarter.in_(period.quarters()),
    )
    if states is not None:
        stmt = stmt.where(OutcomeEntry.state.in_(list(states)))
    return list((await session.execute(stmt.order_by(OutcomeEntry.id))).scalars())


async def waiting_for(session: AsyncSession, member: Member) -> list[OutcomeEntry]:
    """Entries waiting for this member: the alliance's approval, or the county's acceptance."""
    found: list[OutcomeEntry] = []
    if member.has_role(Role.SUPER_ADMIN):
        stmt = select(OutcomeEntry).where(OutcomeEntry.state == State.APPROVED)
        found += list((await session.execute(stmt.order_by(OutcomeEntry.id))).scalars())
    scope = member.admin_scope()
    if not scope.county and not scope.empty:
        stmt = select(OutcomeEntry).where(
            OutcomeEntry.state == State.SUBMITTED, scope.where(OutcomeEntry.alliance_id)
        )
        found += list((await session.execute(stmt.order_by(OutcomeEntry.id))).scalars())
    return found


async def mine(session: AsyncSession, member: Member) -> list[OutcomeEntry]:
    stmt = select(OutcomeEntry).where(OutcomeEntry.submitted_by_id == member.id)
    return list((await session.execute(stmt.order_by(OutcomeEntry.id.desc()))).scalars())


@dataclass(frozen=True)
class Figure:
    """One metric's figure for a scope and period, and what it rests on."""

    metric: Metric
    value: int
    approximate: bool = False
    entries: int = 0
    evidence: int = 0


async def derived_value(
    session: AsyncSession, metric: Metric, scope: Scope, period: Period
) -> int:
    """What the bot already knows: resolved governance tickets, listed resources, accepted
    matches, within the scope and period."""
    start, end = period.bounds()
    if metric.derived == "tickets":
        stmt = select(func.count(Ticket.id)).where(
            Ticket.state.in_([TicketState.RESOLVED, TicketState.CLOSED]),
            Ticket.category.in_(GOVERNANCE_CATEGORIES),
            Ticket.resolved_at >= start,
            Ticket.resolved_at < end,
            scope.where(Ticket.alliance_id),
        )
    elif metric.derived == "resources":
        stmt = select(func.count(Resource.id)).where(
            Resource.created_at < end,
            (Resource.valid_until.is_(None)) | (Resource.valid_until >= start),
            scope.units_where(Resource.provider_unit_id),
        )
    else:
        requester_unit = select(Member.home_unit_id).where(Member.id == MatchRequest.requester_id)
        in_scope = select(Membership.unit_id).where(scope.where(Membership.alliance_id))
        stmt = select(func.count(MatchRequest.id)).where(
            MatchRequest.state == MatchState.ACCEPTED,
            MatchRequest.decided_at >= start,
            MatchRequest.decided_at < end,
            requester_unit.scalar_subquery().in_(in_scope),
        )
    return int(await session.scalar(stmt) or 0)


async def figures(
    session: AsyncSession,
    scope: Scope,
    period: Period,
    states: Iterable[State] = LOCKED,
) -> list[Figure]:
    """Every metric's figure: typed entries summed (named ones counted once per name),
    derived ones computed; metrics with nothing are left out."""
    entries = await entries_in(session, scope, period, states)
    found: list[Figure] = []
    for metric in METRICS:
        if metric.derived:
            value = await derived_value(session, metric, scope, period)
            if value:
                found.append(Figure(metric, value))
            continue
        mine_ = [e for e in entries if e.metric == metric.key]
        if not mine_:
            continue
        if metric.kind == Kind.NAMED:
            value = len({str(n) for e in mine_ for n in e.names})
        else:
            value = sum(e.value for e in mine_)
        found.append(
            Figure(
                metric,
                value,
                approximate=any(e.approximate for e in mine_),
                entries=len(mine_),
                evidence=sum(len(e.evidence) for e in mine_),
            )
        )
    return found


async def same_period(
    session: AsyncSession, alliance_id: int, unit_id: int | None, metric: str, period: Period
) -> list[OutcomeEntry]:
    """Entries of the same unit (or alliance), metric and quarter: a warning against typing a
    figure twice."""
    stmt = select(OutcomeEntry).where(
        OutcomeEntry.alliance_id == alliance_id,
        OutcomeEntry.metric == metric,
        OutcomeEntry.year == period.year,
        OutcomeEntry.quarter.in_(period.quarters()),
        (OutcomeEntry.unit_id == unit_id) if unit_id else OutcomeEntry.unit_id.is_(None),
    )
    return list((await session.execute(stmt)).scalars())

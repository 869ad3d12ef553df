"""共建协议: the yearly agreement of a member unit with its alliance.

The clauses are data (TEMPLATE): some are measured from live data (the unit's members' check-ins,
the resources the unit provides, its members' counted service hours, the progress of the project
it claimed this year), the others are reported by the unit. An agreement keeps the clauses it was
signed with. The unit's secretary signs in chat (optionally with a scan as evidence), an admin of
the alliance countersigns; one agreement a unit, an alliance and a year. Its status follows from
the year and the signatures (`status_of`), as a yearly membership's does, and from December on
the alliance rates the year (RATINGS).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import Attachment, Role
from bot.core.clock import to_local
from models.activity import Activity
from models.base import Base
from models.checkin import CheckIn
from models.member import Member
from models.org import Membership
from models.project import figures, led_by
from models.resource import Resource
from models.scope import Scope
from models.volunteer import COUNTING, ServiceHours, year_bounds

RATINGS = ("优秀", "良好", "合格", "不合格")
RATE_FROM_MONTH = 12  # the year-end rating opens in December


@dataclass(frozen=True)
class Clause:
    key: str
    text: str
    measure: str = ""  # checkins, resources, hours, project; "" when the unit reports it
    target: int = 0
    unit: str = ""


TEMPLATE: tuple[Clause, ...] = (
    Clause("checkins", "本单位党员全年参加联盟活动", "checkins", 24, "人次"),
    Clause("resources", "向联盟共享资源清单提供资源", "resources", 2, "条"),
    Clause("hours", "本单位党员志愿服务时长", "hours", 50, "小时"),
    Clause("project", "认领并完成一个商圈党建项目", "project", 100, "%"),
    Clause("meeting", "参加党建联席会议，落实联盟决议"),
    Clause("mobile", "为流动党员亮身份、践承诺提供岗位和服务"),
)


class Status(enum.StrEnum):
    UNSIGNED = "unsigned"  # 未签订 (this year, nothing signed yet)
    SIGNED = "signed"  # 待会签
    CURRENT = "current"  # 履行中
    IN_REVIEW = "in_review"  # 待评定 (the year ended, or December: not rated)
    RATED = "rated"  # 已评定
    LAPSED = "lapsed"  # 未生效 (a past year never countersigned)


class Agreement(Base):
    __tablename__ = "agreement"
    __table_args__ = (UniqueConstraint("alliance_id", "unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    year: Mapped[int] = mapped_column(index=True)
    clauses: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reports: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    signed_at: Mapped[datetime]
    scan_sha256: Mapped[str] = mapped_column(String(64), default="")
    scan_suffix: Mapped[str] = mapped_column(String(10), default="")
    scan_kind: Mapped[str] = mapped_column(String(10), default="")
    scan_name: Mapped[str] = mapped_column(String(100), default="")
    countersigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    countersigned_at: Mapped[datetime | None]
    rating: Mapped[str] = mapped_column(String(10), default="")
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    rated_at: Mapped[datetime | None]


class AgreementError(Exception):
    """An agreement action refused: `reason` is not_secretary, not_member, signed, not_admin,
    own, countersigned, not_signed, too_early, bad_rating, rated, no_clause, no_text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def template_clauses() -> list[dict[str, Any]]:
    return [
        {"key": c.key, "text": c.text, "measure": c.measure, "target": c.target, "unit": c.unit}
        for c in TEMPLATE
    ]


def status_of(agreement: Agreement | None, now: datetime) -> Status:
    """The status follows from the year and the signatures."""
    local = to_local(now)
    if agreement is None:
        return Status.UNSIGNED
    if agreement.rating:
        return Status.RATED
    if agreement.countersigned_at is None:
        return Status.SIGNED if agreement.year >= local.year else Status.LAPSED
    if agreement.year < local.year or local.month >= RATE_FROM_MONTH:
        return Status.IN_REVIEW
    return Status.CURRENT


async def find(
    session: AsyncSession, alliance_id: int, unit_id: int, year: int
) -> Agreement | None:
    stmt = select(Agreement).where(
        Agreement.alliance_id == alliance_id, Agreement.unit_id == unit_id, Agreement.year == year
    )
    return await session.scalar(stmt)


async def in_alliance(session: AsyncSession, unit_id: int, alliance_id: int) -> bool:
    stmt = select(Membership.id).where(
        Membership.unit_id == unit_id, Membership.alliance_id == alliance_id
    )
    return await session.scalar(stmt) is not None


async def sign(
    *,
    session: AsyncSession,
    actor: Member,
    alliance_id: int,
    now: datetime,
    scan: Attachment | None = None,
) -> Agreement:
    """The unit's secretary signs this year's agreement with the template's clauses."""
    if not actor.has_role(Role.SECRETARY) or actor.home_unit_id is None:
        raise AgreementError("not_secretary")
    if not await in_alliance(session, actor.home_unit_id, alliance_id):
        raise AgreementError("not_member")
    year = to_local(now).year
    if await find(session, alliance_id, actor.home_unit_id, year) is not None:
        raise AgreementError("signed")
    evidence = scan if scan is not None and scan.ok else None
    agreement = Agreement(
        alliance_id=alliance_id,
        unit_id=actor.home_unit_id,
        year=year,
        clauses=template_clauses(),
        reports={},
        signed_by_id=actor.id,
        signed_at=now,
        scan_sha256=evidence.sha256 if evidence else "",
        scan_suffix=evidence.suffix if evidence else "",
        scan_kind=evidence.kind if evidence else "",
        scan_name=evidence.name[:100] if evidence else "",
    )
    session.add(agreement)
    await session.flush()
    return agreement


async def countersign(
    *, session: AsyncSession, agreement: Agreement, actor: Member, now: datetime
) -> None:
    """An admin of the alliance countersigns (never the one who signed for the unit)."""
    if not actor.administers(agreement.alliance_id):
        raise AgreementError("not_admin")
    if actor.id == agreement.signed_by_id:
        raise AgreementError("own")
    if agreement.countersigned_at is not None:
        raise AgreementError("countersigned")
    agreement.countersigned_by_id, agreement.countersigned_at = actor.id, now
    await session.flush()


async def rate(
    *, session: AsyncSession, agreement: Agreement, actor: Member, rating: str, now: datetime
) -> None:
    """The year-end rating by the alliance, from December of the agreement's year."""
    if not actor.administers(agreement.alliance_id):
        raise AgreementError("not_admin")
    if agreement.countersigned_at is None:
        raise AgreementError("not_signed")
    if agreement.rating:
        raise AgreementError("rated")
    if rating not in RATINGS:
        raise AgreementError("bad_rating")
    if status_of(agreement, now) != Status.IN_REVIEW:
        raise AgreementError("too_early")
    agreement.rating, agreement.rated_by_id, agreement.rated_at = rating, actor.id, now
    await session.flush()


async def report(
    *, session: AsyncSession, agreement: Agreement, actor: Member, key: str, text: str
) -> None:
    """The unit reports how a clause that is not measured was kept."""
    if not actor.has_role(Role.SECRETARY) or actor.home_unit_id != agreement.unit_id:
        raise AgreementError("not_secretary")
    clause = next((c for c in agreement.clauses if c["key"] == key), None)
    if clause is None or clause["measure"]:
        raise AgreementError("no_clause")
    if not text.strip():
        raise AgreementError("no_text")
    agreement.reports = {**agreement.reports, key: text.strip()[:300]}
    await session.flush()


async def measured(
    session: AsyncSession, agreement: Agreement, now: datetime
) -> dict[str, int | None]:
    """The live figure of each measured clause for the unit and year (None: not led)."""
    start, end = year_bounds(agreement.year)
    members = select(Member.id).where(Member.home_unit_id == agreement.unit_id)
    checkins = await session.scalar(
        select(func.count()).where(
            CheckIn.member_id.in_(members), CheckIn.at >= start, CheckIn.at < end
        )
    )
    resources = await session.scalar(
        select(func.count()).where(
            Resource.provider_unit_id == agreement.unit_id,
            Resource.created_at < end,
        )
    )
    minutes = await session.scalar(
        select(func.coalesce(func.sum(ServiceHours.minutes), 0))
        .join(Activity, ServiceHours.activity_id == Activity.id)
        .where(
            ServiceHours.home_unit_id == agreement.unit_id,
            ServiceHours.state.in_(COUNTING),
            Activity.starts_at >= start,
            Activity.starts_at < end,
        )
    )
    project = await led_by(session, agreement.unit_id, agreement.year)
    return {
        "checkins": int(checkins or 0),
        "resources": int(resources or 0),
        "hours": int(minutes or 0) // 60,
        "project": (await figures(session, project, now)).progress if project else None,
    }


async def get_agreement(session: AsyncSession, agreement_id: int) -> Agreement | None:
    return await session.get(Agreement, agreement_id)


async def of_alliance(session: AsyncSession, alliance_id: int, year: int) -> dict[int, Agreement]:
    """unit → its agreement of the year with this alliance."""
    stmt = select(Agreement).where(Agreement.alliance_id == alliance_id, Agreement.year == year)
    return {a.unit_id: a for a in (await session.execute(stmt)).scalars()}


async def unit_ids_of(session: AsyncSession, alliance_id: int) -> list[int]:
    stmt = select(Membership.unit_id).where(Membership.alliance_id == alliance_id)
    return list((await session.execute(stmt.order_by(Membership.unit_id))).scalars())


async def missing(session: AsyncSession, year: int) -> list[tuple[int, int]]:
    """(alliance, unit) pairs with no agreement this year."""
    have = select(Agreement.id).where(
        Agreement.alliance_id == Membership.alliance_id,
        Agreement.unit_id == Membership.unit_id,
        Agreement.year == year,
    )
    stmt = (
        select(Membership.alliance_id, Membership.unit_id)
        .where(~have.exists())
        .order_by(Membership.alliance_id, Membership.unit_id)
    )
    return [(int(a), int(u)) for a, u in (await session.execute(stmt)).all()]


async def to_countersign(session: AsyncSession, scope: Scope) -> list[Agreement]:
    stmt = select(Agreement).where(
        Agreement.countersigned_at.is_(None), scope.where(Agreement.alliance_id)
    )
    return list((await session.execute(stmt.order_by(Agreement.signed_at))).scalars())


async def figures_in(session: AsyncSession, scope: Scope, year: int) -> dict[str, int]:
    """The year's agreements in scope: units, signed, countersigned, rated."""
    units = await session.scalar(
        select(func.count()).select_from(Membership).where(scope.where(Membership.alliance_id))
    )
    rows = list(
        (
            await session.execute(
                select(Agreement).where(Agreement.year == year, scope.where(Agreement.alliance_id))
            )
        ).scalars()
    )
    return {
        "units": int(units or 0),
        "signed": len(rows),
        "countersigned": sum(1 for a in rows if a.countersigned_at is not None),
        "rated": sum(1 for a in rows if a.rating),
    }

"""加分申请: points a member claims with proof (a photo or file) for a rule of the table that
needs proof (models/points.py RULES, `claimed=True`); the secretary of the member's home unit or
an admin of its alliance approves or declines it with a reason, never their own. Approved claims
are the records those rules count; declined ones stay, with the reason.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.core import Attachment, Role
from bot.core.clock import to_local
from models.base import Base
from models.member import Member


class ClaimState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class PointClaim(Base):
    __tablename__ = "point_claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    home_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    alliance_id: Mapped[int | None] = mapped_column(ForeignKey("alliance.id"))
    year: Mapped[int] = mapped_column(index=True)
    rule: Mapped[str] = mapped_column(String(20))
    note: Mapped[str]
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_suffix: Mapped[str] = mapped_column(String(10))
    file_kind: Mapped[str] = mapped_column(String(10))
    file_name: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[ClaimState] = mapped_column(String(10), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    decided_at: Mapped[datetime | None]
    decline_reason: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime]

    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="selectin")


class ClaimError(Exception):
    """A claim refused: `reason` is no_proof, no_note, own, not_reviewer, decided, no_reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def claim_points(
    *,
    session: AsyncSession,
    member: Member,
    rule: str,
    note: str,
    proof: Attachment | None,
    now: datetime,
) -> PointClaim:
    if proof is None or not proof.ok:
        raise ClaimError("no_proof")
    if len(note.strip()) < 4:
        raise ClaimError("no_note")
    alliances = sorted(member.home_alliances())
    row = PointClaim(
        member_id=member.id,
        home_unit_id=member.home_unit_id,
        alliance_id=alliances[0] if alliances else None,
        year=to_local(now).year,
        rule=rule,
        note=note.strip()[:200],
        file_sha256=proof.sha256,
        file_suffix=proof.suffix,
        file_kind=proof.kind,
        file_name=proof.name[:100],
        state=ClaimState.PENDING,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


def may_decide(actor: Member, claim: PointClaim) -> bool:
    if actor.id == claim.member_id:
        return False
    if actor.administers(claim.alliance_id):
        return True
    return actor.has_role(Role.SECRETARY) and actor.home_unit_id == claim.home_unit_id


async def decide(
    *,
    session: AsyncSession,
    claim: PointClaim,
    actor: Member,
    approve: bool,
    now: datetime,
    reason: str = "",
) -> None:
    if actor.id == claim.member_id:
        raise ClaimError("own")
    if not may_decide(actor, claim):
        raise ClaimError("not_reviewer")
    if claim.state != ClaimState.PENDING:
        raise ClaimError("decided")
    if not approve and not reason.strip():
        raise ClaimError("no_reason")
    claim.state = ClaimState.APPROVED if approve else ClaimState.DECLINED
    claim.decline_reason = "" if approve else reason.strip()[:200]
    claim.decided_by_id, claim.decided_at = actor.id, now
    await session.flush()


async def approved_count(session: AsyncSession, member_id: int, rule: str, year: int) -> int:
    stmt = select(func.count()).where(
        PointClaim.member_id == member_id,
        PointClaim.rule == rule,
        PointClaim.year == year,
        PointClaim.state == ClaimState.APPROVED,
    )
    return int(await session.scalar(stmt) or 0)


async def to_decide(session: AsyncSession, actor: Member) -> list[PointClaim]:
    stmt = select(PointClaim).where(PointClaim.state == ClaimState.PENDING)
    rows = (await session.execute(stmt.order_by(PointClaim.id))).scalars()
    return [c for c in rows if may_decide(actor, c)]


async def get_claim(session: AsyncSession, claim_id: int) -> PointClaim | None:
    return await session.get(PointClaim, claim_id)

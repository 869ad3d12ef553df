"""Alliances, member units, their memberships, and government departments."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin


class AllianceType(enum.StrEnum):
    CHAIN = "chain"
    SECTOR = "sector"
    REGION = "region"


ALLIANCE_TYPE_ZH = {
    AllianceType.CHAIN: "产业链",
    AllianceType.SECTOR: "行业",
    AllianceType.REGION: "区域",
}


class UnitKind(enum.StrEnum):
    ENTERPRISE = "enterprise"
    SOCIAL_ORG = "social_org"


class Alliance(TimestampMixin, Base):
    __tablename__ = "alliance"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[AllianceType] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(default="")

    memberships: Mapped[list[Membership]] = relationship(back_populates="alliance")


class Unit(TimestampMixin, Base):
    """A member unit: an enterprise or a social organisation, with or without a party org."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[UnitKind] = mapped_column(String(12))
    has_party_org: Mapped[bool] = mapped_column(default=False)

    memberships: Mapped[list[Membership]] = relationship(back_populates="unit")


class Membership(TimestampMixin, Base):
    """A unit belongs to an alliance."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("alliance_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)

    alliance: Mapped[Alliance] = relationship(back_populates="memberships")
    unit: Mapped[Unit] = relationship(back_populates="memberships")


class Department(TimestampMixin, Base):
    """A government department that tickets are routed to (税务, 人社, 金融...)."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))

"""Inbound events already processed: the dedupe record, also counted for flood control."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class InboxEvent(Base):
    __tablename__ = "inbox_event"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        Index("ix_inbox_event_user_time", "platform", "user_key", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(120))
    user_key: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime]


async def prune_inbox(*, session: AsyncSession, before: datetime) -> int:
    """Forget events older than any platform re-delivers (days, not minutes)."""
    result = await session.execute(delete(InboxEvent).where(InboxEvent.received_at < before))
    return result.rowcount or 0  # type: ignore[attr-defined]

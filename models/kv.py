"""Small shared values with an expiry (the WeCom access token): one row per key.

Kept in SQL so that several workers share one token instead of each fetching its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class KeyValue(Base):
    __tablename__ = "key_value"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    value: Mapped[str]
    expires_at: Mapped[datetime]


async def get_value(*, session: AsyncSession, key: str, now: datetime) -> str | None:
    """The value stored under `key`, unless it has expired."""
    stmt = select(KeyValue.value).where(KeyValue.key == key, KeyValue.expires_at > now)
    return (await session.execute(stmt)).scalar_one_or_none()


async def put_value(*, session: AsyncSession, key: str, value: str, expires_at: datetime) -> None:
    """Store `value` under `key` until `expires_at`, replacing what was there."""
    await session.execute(delete(KeyValue).where(KeyValue.key == key))
    session.add(KeyValue(key=key, value=value, expires_at=expires_at))
    await session.flush()

"""Callback nonces seen recently: a signed request cannot be replayed with other content.

WeCom signs (token, timestamp, nonce, payload). A request is accepted only while its
timestamp is fresh (a few minutes), and each (timestamp, nonce) is remembered that long with
the signature it came with: the same request again (WeCom's own retry) is let through to the
inbox, which drops the copy; the same nonce with another signature is refused.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

PRUNE_ONE_IN = 200  # forget expired nonces on about one call in this many


class CallbackNonce(Base):
    __tablename__ = "callback_nonce"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    signature: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


async def remember_nonce(
    *, session: AsyncSession, key: str, signature: str, now: datetime, expires_at: datetime
) -> bool:
    """Record a nonce; False when it was seen with a different signature (a replay)."""
    if random.randrange(PRUNE_ONE_IN) == 0:
        await prune_nonces(session=session, now=now)
    try:
        async with session.begin_nested():
            session.add(CallbackNonce(key=key[:160], signature=signature, expires_at=expires_at))
            await session.flush()
        return True
    except IntegrityError:
        stmt = select(CallbackNonce).where(CallbackNonce.key == key[:160])
        seen = (await session.execute(stmt)).scalar_one_or_none()
        if seen is None:
            return True
        if seen.expires_at <= now:  # an old nonce reused after its window: a new request
            seen.signature, seen.expires_at = signature, expires_at
            return True
        return seen.signature == signature


async def prune_nonces(*, session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(CallbackNonce).where(CallbackNonce.expires_at <= now))

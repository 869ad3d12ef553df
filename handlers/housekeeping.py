"""Housekeeping sweep: forget old dedupe records, nonces, throttle hits and button tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.button import prune_tokens
from models.inbox import prune_inbox
from models.nonce import prune_nonces
from models.throttle import prune_hits
from settings import Settings


async def prune(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Platforms re-deliver within minutes to hours; a week of history is plenty."""
    await prune_inbox(
        session=session, before=now - timedelta(days=7), failed_before=now - timedelta(days=30)
    )
    await prune_nonces(session=session, now=now)
    await prune_hits(session=session, before=now - timedelta(days=1))
    await prune_tokens(session=session, before=now - timedelta(days=60))

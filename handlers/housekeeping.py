"""Housekeeping sweep: forget old dedupe records, throttle hits and button tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.button import prune_tokens
from models.inbox import prune_inbox
from models.throttle import prune_hits
from settings import Settings


async def prune(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Platforms re-deliver within minutes to hours; a week of history is plenty."""
    await prune_inbox(session=session, before=now - timedelta(days=7))
    await prune_hits(session=session, before=now - timedelta(days=1))
    await prune_tokens(session=session, before=now - timedelta(days=60))

"""The one helper for per-user limits: hits are rows, limits are counts in a time window.

Rows live in SQL so that several workers see the same counts and a restart forgets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.prebuilt import run_prebuilt


class ThrottleHit(Base):
    __tablename__ = "throttle_hit"
    __table_args__ = (Index("ix_throttle_hit_kind_key_at", "kind", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]


# Written and counted on every event (flood control): prebuilt Core statements on the table
# (on the entity, the ORM's bulk-insert and entity-select steps ran on every call).
_HITS = ThrottleHit.__table__
_IN_WINDOW = (
    _HITS.c.kind == bindparam("kind"),
    _HITS.c.key == bindparam("key"),
    _HITS.c.at > bindparam("since"),
)
_INSERT_HIT = insert(_HITS)
_COUNT_HITS = select(func.count()).select_from(_HITS).where(*_IN_WINDOW)


async def record_hit(*, session: AsyncSession, kind: str, key: str, now: datetime) -> None:
    await run_prebuilt(session, _INSERT_HIT, {"kind": kind, "key": key, "at": now})


async def count_hits(
    *, session: AsyncSession, kind: str, key: str, now: datetime, window: timedelta
) -> int:
    params = {"kind": kind, "key": key, "since": now - window}
    rows, _ = await run_prebuilt(session, _COUNT_HITS, params)
    return int(rows[0][0])


_FIRST_HIT = select(func.min(_HITS.c.at)).where(*_IN_WINDOW)


async def first_hit_in_window(
    *, session: AsyncSession, kind: str, key: str, now: datetime, window: timedelta
) -> datetime | None:
    """When the oldest hit still inside the window happened (to say when a lock ends)."""
    params = {"kind": kind, "key": key, "since": now - window}
    rows, _ = await run_prebuilt(session, _FIRST_HIT, params)
    first: datetime | None = rows[0][0]
    return first


async def prune_hits(*, session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(ThrottleHit).where(ThrottleHit.at < before))


@dataclass(frozen=True)
class Lockout:
    """Wrong attempts (check-in codes, invite codes): `allowed` failures within `window`
    pause the attempts for the window. One helper for every such limit."""

    kind: str
    allowed: int
    window: timedelta

    async def locked_until(
        self, *, session: AsyncSession, key: str, now: datetime
    ) -> datetime | None:
        """When the pause on `key` ends, or None when attempts are open."""
        locked_at = await first_hit_in_window(
            session=session, kind=f"{self.kind}_lock", key=key, now=now, window=self.window
        )
        return locked_at + self.window if locked_at is not None else None

    async def fail(self, *, session: AsyncSession, key: str, now: datetime) -> int:
        """Count a failure; returns the attempts left (0: now paused until now + window)."""
        await record_hit(session=session, kind=f"{self.kind}_fail", key=key, now=now)
        failures = await count_hits(
            session=session, kind=f"{self.kind}_fail", key=key, now=now, window=self.window
        )
        if failures >= self.allowed:
            await record_hit(session=session, kind=f"{self.kind}_lock", key=key, now=now)
            return 0
        return self.allowed - failures

"""Dialog state of multi-step flows: one row per (platform, user), with an expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, UniqueConstraint, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import Step
from models.base import Base
from models.prebuilt import attached, run_prebuilt


class DialogState(Base):
    __tablename__ = "dialog_state"
    __table_args__ = (UniqueConstraint("platform", "user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    user_key: Mapped[str] = mapped_column(String(100))
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime]


# Read on every event, most often to find nothing: built once, run on the driver.
_STATE = DialogState.__table__
_FIND_STATE = select(*_STATE.c).where(
    _STATE.c.platform == bindparam("platform"), _STATE.c.user_key == bindparam("user_key")
)


class Dialog:
    """aiogram-style storage verbs over the user's DialogState row."""

    def __init__(
        self, session: AsyncSession, platform: str, user_key: str, now: datetime, idle: timedelta
    ) -> None:
        self._session = session
        self._platform = platform
        self._user_key = user_key
        self._now = now
        self._idle = idle
        self._row: DialogState | None = None

    async def load(self) -> None:
        """Read the row; an expired one is dropped silently."""
        params = {"platform": self._platform, "user_key": self._user_key}
        found, _ = await run_prebuilt(self._session, _FIND_STATE, params)
        row = None
        if found:
            values = dict(zip(_STATE.c.keys(), found[0], strict=True))
            row = attached(self._session, DialogState(**values))
        if row is not None and row.expires_at <= self._now:
            await self._session.delete(row)
            await self._session.flush()
            row = None
        self._row = row

    @property
    def step(self) -> str | None:
        return self._row.step if self._row else None

    @property
    def flow(self) -> str | None:
        return self._row.flow if self._row else None

    def get_data(self) -> dict[str, Any]:
        return dict(self._row.data) if self._row else {}

    async def set_state(self, step: Step, **data: Any) -> None:
        """Enter `step`, merging `data` into what the flow holds."""
        flow, name = step.name.split(".", 1)[0], step.name
        expires = self._now + self._idle
        if self._row is None or self._row.flow != flow:
            if self._row is not None:
                await self._session.delete(self._row)
                await self._session.flush()
            self._row = DialogState(
                platform=self._platform,
                user_key=self._user_key,
                flow=flow,
                step=name,
                data=dict(data),
                expires_at=expires,
            )
            self._session.add(self._row)
        else:
            self._row.step = name
            self._row.data = {**self._row.data, **data}
            self._row.expires_at = expires
        await self._session.flush()

    async def update_data(self, **data: Any) -> None:
        if self._row is None:
            raise RuntimeError("no dialog in progress")
        self._row.data = {**self._row.data, **data}
        await self._session.flush()

    async def clear(self) -> bool:
        """End the dialog; tells whether one was in progress."""
        if self._row is None:
            return False
        await self._session.delete(self._row)
        await self._session.flush()
        self._row = None
        return True

"""Statements run on the driver (models.prebuilt): values and errors as through the session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.app import App
from bot.core import Incoming
from models.inbox import insert_pending, pending_values
from models.throttle import count_hits, first_hit_in_window, record_hit

AT = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)


async def test_times_come_back_as_they_went_in(app: App) -> None:
    async with app.sessionmaker() as session, session.begin():
        for minutes in (3, 1, 2):
            await record_hit(
                session=session, kind="t", key="k", now=AT - timedelta(minutes=minutes)
            )
        first = await first_hit_in_window(
            session=session, kind="t", key="k", now=AT, window=timedelta(minutes=5)
        )
        assert first == AT - timedelta(minutes=3)
        assert first is not None and first.utcoffset() == timedelta(0)
        counted = await count_hits(
            session=session, kind="t", key="k", now=AT, window=timedelta(minutes=2, seconds=30)
        )
        assert counted == 2  # the hit 3 minutes ago is outside


async def test_a_repeated_event_is_sqlalchemys_integrity_error_and_nothing_is_written(
    app: App,
) -> None:
    incoming = Incoming("console", "same-1", "u1", "u1", AT, text="/help")
    async with app.sessionmaker() as session, session.begin():
        first = await insert_pending(session=session, values=pending_values(incoming, now=AT))
    with pytest.raises(IntegrityError):
        async with app.sessionmaker() as session, session.begin():
            await insert_pending(session=session, values=pending_values(incoming, now=AT))
    async with app.sessionmaker() as session, session.begin():  # the connection still works
        other = Incoming("console", "other-1", "u1", "u1", AT, text="/help")
        second = await insert_pending(session=session, values=pending_values(other, now=AT))
    assert second > first

"""Statements run on the driver (models.prebuilt): values, errors and loaded objects as
through the session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from bot.app import App
from bot.core import Incoming
from models.inbox import InboxEvent, insert_pending, pending_values
from models.member import HOME_LOADED, Identity, Member, find_member
from models.org import Membership
from models.prebuilt import driver_transaction, run_prebuilt
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


async def test_a_constraint_broken_is_sqlalchemys_integrity_error_and_the_connection_works(
    app: App,
) -> None:
    table = InboxEvent.__table__
    plain_insert = insert(table).returning(table.c.id)  # no ON CONFLICT: a repeat breaks it
    incoming = Incoming("console", "same-1", "u1", "u1", AT, text="/help")
    async with app.sessionmaker() as session, session.begin():
        first = (await run_prebuilt(session, plain_insert, pending_values(incoming, now=AT)))[0]
    with pytest.raises(IntegrityError):
        async with app.sessionmaker() as session, session.begin():
            await run_prebuilt(session, plain_insert, pending_values(incoming, now=AT))
    async with app.sessionmaker() as session, session.begin():  # the connection still works
        other = Incoming("console", "other-1", "u1", "u1", AT, text="/help")
        second = (await run_prebuilt(session, plain_insert, pending_values(other, now=AT)))[0]
    assert second[0][0] > first[0][0]


async def test_a_repeated_event_writes_nothing_and_spoils_no_transaction(app: App) -> None:
    incoming = Incoming("console", "same-1", "u1", "u1", AT, text="/help")
    other = Incoming("console", "other-1", "u1", "u1", AT, text="/help")
    async with app.sessionmaker() as session, session.begin():
        first = await insert_pending(session=session, values=pending_values(incoming, now=AT))
        again = await insert_pending(session=session, values=pending_values(incoming, now=AT))
        second = await insert_pending(session=session, values=pending_values(other, now=AT))
    assert first is not None and again is None and second is not None
    async with app.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(InboxEvent))
    assert count == 2


async def test_a_driver_transaction_commits_its_writes_and_undoes_them_all_on_an_error(
    app: App,
) -> None:
    table = InboxEvent.__table__
    plain_insert = insert(table).returning(table.c.id)
    kept = Incoming("console", "kept-1", "u1", "u1", AT, text="/help")
    async with driver_transaction(app.sessionmaker) as transaction:
        await run_prebuilt(transaction, plain_insert, pending_values(kept, now=AT))
    undone = Incoming("console", "undone-1", "u1", "u1", AT, text="/help")
    with pytest.raises(IntegrityError):  # the second insert repeats the first event
        async with driver_transaction(app.sessionmaker) as transaction:
            await run_prebuilt(transaction, plain_insert, pending_values(undone, now=AT))
            await run_prebuilt(transaction, plain_insert, pending_values(kept, now=AT))
    with pytest.raises(RuntimeError):  # the block's own error rolls back as well
        async with driver_transaction(app.sessionmaker) as transaction:
            await run_prebuilt(transaction, plain_insert, pending_values(undone, now=AT))
            raise RuntimeError("the caller failed")
    async with app.sessionmaker() as session:  # and the pool's connection works afterwards
        stored = (await session.scalars(select(InboxEvent.event_id))).all()
    assert stored == ["kept-1"]


@pytest.mark.parametrize("user", ["admin", "alliance_admin", "host", "officer_tax", "mobile"])
async def test_the_sender_comes_with_the_parts_the_orm_loads_and_nothing_to_write(
    demo_app: App, user: str
) -> None:
    async with demo_app.sessionmaker() as session:
        member = await find_member(session, platform="console", user_key=user)
        assert member is not None
        # Read in plain async code: an attribute not loaded would raise (no lazy load here).
        got = (
            member.name,
            sorted((r.role, r.alliance_id) for r in member.roles),
            member.department.name if member.department else None,
            member.home_unit.name if member.home_unit else None,
            sorted(m.alliance.name for m in member.home_unit.memberships)
            if member.home_unit
            else [],
            member.visible_scope(),
        )
        assert not session.new and not session.dirty  # committing writes nothing
    async with demo_app.sessionmaker() as session:
        stmt = (
            select(Member)
            .join(Identity)
            .where(Identity.platform == "console", Identity.user_key == user)
            .options(
                HOME_LOADED.selectinload(Membership.alliance),
                selectinload(Member.department),
                selectinload(Member.roles),
            )
        )
        orm = (await session.execute(stmt)).scalar_one()
        want = (
            orm.name,
            sorted((r.role, r.alliance_id) for r in orm.roles),
            orm.department.name if orm.department else None,
            orm.home_unit.name if orm.home_unit else None,
            sorted(m.alliance.name for m in orm.home_unit.memberships) if orm.home_unit else [],
            orm.visible_scope(),
        )
    assert got == want
    assert got[1] or got[2] or user == "mobile"  # the demo's officers hold a role or a department


async def test_a_sender_the_session_holds_already_is_that_object_and_unbound_is_none(
    demo_app: App,
) -> None:
    async with demo_app.sessionmaker() as session:
        held = (
            await session.execute(
                select(Member)
                .join(Identity)
                .where(Identity.platform == "console", Identity.user_key == "member")
            )
        ).scalar_one()
        held.name = "改过的名字"  # a change not yet written stays what the session sees
        again = await find_member(session, platform="console", user_key="member")
        assert again is held and again.name == "改过的名字"
        assert await find_member(session, platform="console", user_key="newcomer") is None

"""enqueue_many: the bulk form of enqueue, with the same rows and the same send-once rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.core import Button, Reply
from bot.core.clock import FrozenClock
from models.member import Identity, Member
from models.outbox import OutboxMessage, OutboxStatus, enqueue, enqueue_many

REPLY = Reply("hello", buttons=(Button("收到", "notices.ack", notice=1),))


async def _people(session: AsyncSession) -> list[int]:
    """Four members: one identity, two identities, none, and one blocked identity."""
    members = [Member(name=f"m{i}") for i in range(4)]
    session.add_all(members)
    await session.flush()
    a, b, c, d = (m.id for m in members)
    session.add_all(
        [
            Identity(platform="console", user_key="a", member_id=a),
            Identity(platform="console", user_key="b", member_id=b),
            Identity(platform="telegram", user_key="b-tg", member_id=b),
            Identity(platform="telegram", user_key="d-tg", member_id=d, unreachable=True),
        ]
    )
    await session.flush()
    return [a, b, c, d]


def _shape(rows: list[OutboxMessage]) -> list[tuple[object, ...]]:
    return sorted(
        (r.member_id, r.platform, r.user_key, r.status, r.dedupe_key, r.text, r.buttons)
        for r in rows
    )


async def _rows(session: AsyncSession, kind: str) -> list[OutboxMessage]:
    return list(
        (await session.execute(select(OutboxMessage).where(OutboxMessage.kind == kind))).scalars()
    )


async def test_bulk_rows_match_enqueue_row_for_row(app: App, clock: FrozenClock) -> None:
    now: datetime = clock.now()
    async with app.sessionmaker() as session, session.begin():
        ids = await _people(session)
        for m in ids:
            await enqueue(
                session=session,
                member_id=m,
                reply=REPLY,
                now=now,
                kind="one",
                dedupe_key=f"k:{m}",
            )
        added = await enqueue_many(
            session=session, member_ids=ids, reply=REPLY, now=now, kind="many", dedupe_prefix="k2"
        )
        one, many = await _rows(session, "one"), await _rows(session, "many")
    assert added == 5
    assert [s[:4] for s in _shape(many)] == [s[:4] for s in _shape(one)]
    assert {(r.member_id, r.status) for r in many} == {
        (ids[0], OutboxStatus.PENDING),
        (ids[1], OutboxStatus.PENDING),
        (ids[2], OutboxStatus.UNREACHABLE),
        (ids[3], OutboxStatus.UNREACHABLE),
    }
    assert sorted(r.dedupe_key or "" for r in many) == sorted(
        (r.dedupe_key or "").replace("k:", "k2:") for r in one
    )
    assert all(r.buttons == [["收到", "notices.ack", {"notice": 1}]] for r in many)


async def test_a_retry_adds_nothing_and_new_members_only_once(
    app: App, clock: FrozenClock
) -> None:
    async with app.sessionmaker() as session, session.begin():
        ids = await _people(session)
        first = await enqueue_many(
            session=session, member_ids=ids[:2], reply=REPLY, now=clock.now(), dedupe_prefix="n"
        )
        again = await enqueue_many(
            session=session, member_ids=ids, reply=REPLY, now=clock.now(), dedupe_prefix="n"
        )
        # enqueue and enqueue_many share keys: enqueue sees the bulk rows as already sent.
        single = await enqueue(
            session=session,
            member_id=ids[0],
            reply=REPLY,
            now=clock.now(),
            dedupe_key=f"n:{ids[0]}",
        )
        rows = await _rows(session, "message")
    assert (first, again, single) == (3, 2, [])
    assert sorted(r.member_id for r in rows) == sorted([ids[0], ids[1], ids[1], ids[2], ids[3]])


async def test_a_thousand_members_in_one_call(app: App, clock: FrozenClock) -> None:
    async with app.sessionmaker() as session, session.begin():
        members = [Member(name=f"p{i}") for i in range(1200)]
        session.add_all(members)
        await session.flush()
        session.add_all(
            Identity(platform="console", user_key=f"u{m.id}", member_id=m.id) for m in members
        )
        await session.flush()
        ids = [m.id for m in members]
        assert (
            await enqueue_many(
                session=session, member_ids=ids, reply=REPLY, now=clock.now(), dedupe_prefix="big"
            )
            == 1200
        )
        assert (
            await enqueue_many(
                session=session, member_ids=ids, reply=REPLY, now=clock.now(), dedupe_prefix="big"
            )
            == 0
        )

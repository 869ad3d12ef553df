"""Several workers on one database: the rate share, one handling per event, one send per row."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App, build_app
from bot.core import Incoming, Reply, Route, Sweep
from bot.core.clock import FrozenClock
from bot.dispatcher import INTERNAL_ERROR, Dispatcher
from bot.scheduler import start_scheduler
from handlers import ROUTES
from handlers.context import Context
from models.inbox import InboxEvent
from models.member import Identity, Member
from models.outbox import OutboxMessage, OutboxStatus, claim_due, enqueue
from settings import Settings
from tests.conftest import ON_POSTGRES, START, make_settings
from tests.fakes import RecordingTransport


def test_each_sending_worker_gets_its_share_of_the_telegram_rate(settings: Settings) -> None:
    from bot.adapters.telegram import TelegramTransport

    def rate(**overrides: object) -> float:
        configured = make_settings(settings.DATABASE_URL, TELEGRAM_BOT_TOKEN="1:x", **overrides)
        limiter = TelegramTransport(configured).limiter
        assert limiter is not None
        return limiter.per_second

    assert rate() == 30
    assert rate(SENDING_WORKERS=4) == 7  # 4 x 7 <= 30
    assert rate(TELEGRAM_MESSAGES_PER_SECOND=500, SENDING_WORKERS=2) == 250


async def _two_workers(settings: Settings, routes: tuple[Route, ...] = ROUTES) -> list[App]:
    """Two apps with their own engines, like two processes on one database."""
    apps = []
    for _ in range(2):
        transport = SlowTransport()
        app = build_app(settings, {"console": transport}, FrozenClock(START))
        app.dispatcher = Dispatcher(routes, app.sessionmaker, settings, app.clock)
        apps.append(app)
    return apps


@dataclass
class SlowTransport(RecordingTransport):
    """Takes a moment per send, so two senders' batches overlap."""

    async def send(self, user_key: str, reply: Reply) -> None:
        await asyncio.sleep(0.001)
        await super().send(user_key, reply)


async def test_same_event_at_two_workers_at_once_is_handled_once(
    demo_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    started = asyncio.Event()
    calls: list[str] = []

    async def slow(ctx: Context) -> list[Reply]:
        """Holds its transaction open while the other worker receives the same event."""
        calls.append(ctx.incoming.user_key)
        started.set()
        await asyncio.sleep(0.3)
        assert ctx.member is not None
        await ctx.notify(ctx.member.id, Reply("已处理"))
        return [Reply("好的")]

    routes = (*ROUTES, Route("slow", slow, "慢", "测试"))
    first, second = await _two_workers(demo_settings, routes)
    event = Incoming("console", "same-update-1", "member", "member", START, text="/slow")

    async def later() -> list[Reply]:
        await started.wait()  # the first worker holds the inbox row, uncommitted
        return await second.dispatcher.handle(event)

    try:
        with caplog.at_level(logging.INFO):
            a, b = await asyncio.gather(first.dispatcher.handle(event), later())
        assert a == [Reply("好的")] and b == []  # no error reply to the second delivery
        assert calls == ["member"]
        assert "duplicate event console:same-update-1 ignored" in caplog.text
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        async with first.sessionmaker() as session:
            inbox = select(func.count()).select_from(InboxEvent)
            assert await session.scalar(inbox.where(InboxEvent.event_id == "same-update-1")) == 1
            sent = select(func.count()).where(OutboxMessage.text == "已处理")
            assert await session.scalar(sent) == 1
    finally:
        for app in (first, second):
            await app.close()


async def test_two_senders_draining_the_same_rows_send_each_once(settings: Settings) -> None:
    first, second = await _two_workers(settings)
    count = 600
    async with first.sessionmaker() as session, session.begin():
        members = [Member(name=f"成员{i}") for i in range(count)]
        session.add_all(members)
        await session.flush()
        session.add_all(
            Identity(platform="console", user_key=f"u{m.id}", member_id=m.id) for m in members
        )
        await session.flush()
        for m in members:
            await enqueue(session=session, member_id=m.id, reply=Reply("通知"), now=START)
    try:
        for app in (first, second):
            app.sender.batch = 40
        done = await asyncio.gather(first.sender.drain(), second.sender.drain())
        sent = [
            key
            for app in (first, second)
            for key, replies in app.sender.transports["console"].sent.items()  # type: ignore[attr-defined]
            for _ in replies
        ]
        assert sum(done) == len(sent) == count
        assert len(set(sent)) == count  # nobody got the message twice
        if ON_POSTGRES:  # SQLite serialises writers, so one sender may win every claim
            assert all(done), done
        async with first.sessionmaker() as session:
            status = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            assert dict((await session.execute(status)).all()) == {OutboxStatus.SENT: count}
    finally:
        for app in (first, second):
            await app.close()


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only")
async def test_claims_skip_rows_another_sender_holds(settings: Settings) -> None:
    first, second = await _two_workers(settings)
    try:
        async with first.sessionmaker() as session, session.begin():
            member = Member(name="甲")
            session.add(member)
            await session.flush()
            session.add(Identity(platform="console", user_key="a", member_id=member.id))
            await session.flush()
            for i in range(4):
                await enqueue(session=session, member_id=member.id, reply=Reply(f"{i}"), now=START)
        async with first.sessionmaker() as holder, holder.begin():
            held = await claim_due(session=holder, platforms=["console"], now=START, limit=2)
            async with second.sessionmaker() as other, other.begin():
                rest = await claim_due(session=other, platforms=["console"], now=START, limit=4)
            assert [r.text for r in held] == ["0", "1"]
            assert [r.text for r in rest] == ["2", "3"]  # did not wait, did not take 0 and 1
    finally:
        for app in (first, second):
            await app.close()


async def test_a_handler_integrity_error_is_not_taken_for_a_duplicate(
    demo_settings: Settings,
) -> None:
    """Only the inbox row's conflict means "seen"; any other conflict is a failed event."""

    async def clash(ctx: Context) -> list[Reply]:
        """Fails the way a unique index in a feature's own table would."""
        raise IntegrityError("INSERT ...", {}, Exception("unique"))

    apps = await _two_workers(demo_settings, (*ROUTES, Route("clash", clash, "冲突", "测试")))
    event = Incoming("console", "clash-1", "member", "member", START, text="/clash")
    try:
        assert await apps[0].dispatcher.handle(event) == [Reply(INTERNAL_ERROR)]
        assert await apps[1].dispatcher.handle(event) == []  # recorded: a re-delivery is ignored
    finally:
        for app in apps:
            await app.close()


async def test_a_new_scheduler_leader_sweeps_at_once(settings: Settings) -> None:
    """Workers restart more often than a 6-hour sweep's interval; each leader starts with one."""
    ran: list[datetime] = []

    async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
        ran.append(now)

    app = build_app(settings, {}, FrozenClock(START))
    scheduler = start_scheduler(
        [Sweep("rare", sweep, timedelta(hours=6))], app.sessionmaker, app.clock, settings
    )
    try:
        for _ in range(100):
            if ran:
                break
            await asyncio.sleep(0.02)
        assert ran == [START]
    finally:
        scheduler.shutdown(wait=False)
        await app.close()


async def test_a_sender_whose_claim_lapsed_while_waiting_does_not_send(settings: Settings) -> None:
    """Worker A waits out a long rate-limit pause; B re-claims the lapsed row and sends it."""
    first, second = await _two_workers(settings)
    clock = FrozenClock(START)
    for app in (first, second):
        app.sender.clock = clock

    class PausedLimiter:
        """Before A's second message, time passes beyond the lease and B drains."""

        def __init__(self) -> None:
            self.calls = 0

        async def acquire(self, key: str = "") -> None:
            self.calls += 1
            if self.calls == 2:
                clock.advance(minutes=3)
                await second.sender.drain()

        def pause(self, seconds: float) -> None:
            pass

    ours: Any = first.sender.transports["console"]
    ours.limiter = PausedLimiter()
    async with first.sessionmaker() as session, session.begin():
        member = Member(name="乙")
        session.add(member)
        await session.flush()
        session.add(Identity(platform="console", user_key="b", member_id=member.id))
        await session.flush()
        for text in ("一", "二"):
            await enqueue(session=session, member_id=member.id, reply=Reply(text), now=START)
    try:
        await first.sender.drain()
        theirs: Any = second.sender.transports["console"]
        assert ours.texts("b") == ["一"] and theirs.texts("b") == ["二"]  # each sent once
    finally:
        for app in (first, second):
            await app.close()


async def test_one_users_events_at_two_workers_run_one_after_the_other(
    demo_settings: Settings,
) -> None:
    """Two quick messages from one user, spread over two workers, must not interleave."""
    steps: list[str] = []

    async def step(ctx: Context) -> list[Reply]:
        """Reads, waits, writes: what a dialog step or a failure count does."""
        steps.append(f"start {ctx.incoming.event_id}")
        await asyncio.sleep(0.2)
        steps.append(f"end {ctx.incoming.event_id}")
        return [Reply("好")]

    first, second = await _two_workers(demo_settings, (*ROUTES, Route("step", step, "步", "测试")))
    one = Incoming("console", "one", "member", "member", START, text="/step")
    two = Incoming("console", "two", "member", "member", START, text="/step")

    async def later() -> list[Reply]:
        while not steps:
            await asyncio.sleep(0.01)
        return await second.dispatcher.handle(two)

    try:
        replies = await asyncio.gather(first.dispatcher.handle(one), later())
        assert replies == [[Reply("好")], [Reply("好")]]
        assert steps == ["start one", "end one", "start two", "end two"]
    finally:
        for app in (first, second):
            await app.close()


async def test_the_same_dedupe_key_from_two_workers_at_once_is_queued_once(
    settings: Settings,
) -> None:
    """Two leaders overlapping for a moment both send "the reminder": one row, no failure."""
    first, second = await _two_workers(settings)
    async with first.sessionmaker() as session, session.begin():
        member = Member(name="丙")
        session.add(member)
        await session.flush()
        session.add(Identity(platform="console", user_key="c", member_id=member.id))
    member_id = member.id
    queued = asyncio.Event()

    async def remind(app: App, wait_for_other: bool) -> int:
        async with app.sessionmaker() as session, session.begin():
            if wait_for_other:
                await queued.wait()
            rows = await enqueue(
                session=session,
                member_id=member_id,
                reply=Reply("活动提醒"),
                now=START,
                dedupe_key="reminder:1",
            )
            if not wait_for_other:
                queued.set()
                await asyncio.sleep(0.3)  # still uncommitted while the other tries
            return len(rows)

    try:
        counts = await asyncio.gather(remind(first, False), remind(second, True))
        assert sorted(counts) == [0, 1]
        async with first.sessionmaker() as session:
            total = select(func.count()).where(OutboxMessage.text == "活动提醒")
            assert await session.scalar(total) == 1
    finally:
        for app in (first, second):
            await app.close()

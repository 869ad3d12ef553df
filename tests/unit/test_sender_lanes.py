"""The running sender: direct replies overtake a broadcast under one rate limit; stop lets the
sends in flight finish and gives the rest back; /readyz tells what waits too long."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy import select

from bot.app import App, build_app
from bot.core import Incoming, Reply
from bot.core.clock import FrozenClock
from bot.outbox import OutboxSender
from bot.ratelimit import RateLimiter
from bot.runtime import Background
from bot.web import build_web_app, readiness
from models.inbox import InboxEvent, pending_event
from models.outbox import (
    PRIORITY_BULK,
    OutboxMessage,
    OutboxStatus,
    enqueue_replies,
)
from settings import Settings
from tests.conftest import START
from tests.fakes import LimitedPlatform


async def _bulk(app: App, count: int, platform: str = "telegram") -> None:
    async with app.sessionmaker() as session, session.begin():
        session.add_all(
            OutboxMessage(
                platform=platform,
                user_key=f"{1000 + i}",
                text="📢 全县通知",
                kind="notice",
                priority=PRIORITY_BULK,
                created_at=START,
                not_before=START,
            )
            for i in range(count)
        )


async def _replies(app: App, users: list[str]) -> None:
    async with app.sessionmaker() as session, session.begin():
        for user in users:
            incoming = Incoming("telegram", f"r{user}", user, user, START, text="/me")
            await enqueue_replies(
                session=session,
                incoming=incoming,
                replies=[Reply(f"回复{user}")],
                now=START,
                inbox_id=None,
            )


async def test_replies_written_during_a_broadcast_go_out_first(
    settings: Settings, clock: FrozenClock
) -> None:
    platform = LimitedPlatform(limiter=RateLimiter(20, 1.03, window=1.03), per_second=20)
    app = build_app(settings, {"telegram": platform}, clock)
    await _bulk(app, 200)  # ten seconds' worth at 20/s
    running = asyncio.create_task(app.sender.run_forever(interval=0.2))
    try:
        await asyncio.sleep(1.0)
        asked = time.monotonic()
        users = [str(9000 + i) for i in range(10)]
        await _replies(app, users)
        app.sender.nudge()
        for _ in range(100):
            if all(any(k == u for _, k, _ in platform.accepted) for u in users):
                break
            await asyncio.sleep(0.05)
        arrived = {k: t for t, k, _ in platform.accepted if k in users}
        assert sorted(arrived) == users
        waits = [arrived[u] - asked for u in users]
        assert max(waits) < 1.5, waits  # ten replies need half a second of the 20/s
        bulk_by_then = sum(
            1 for t, k, _ in platform.accepted if k not in users and t <= asked + 1.5
        )
        assert bulk_by_then < 100  # the broadcast was far from done
        assert platform.rejected == []  # and the platform's limit was kept throughout
    finally:
        app.sender.stop()
        await running
        await app.close()


@dataclass
class SlowTransport:
    platform: str = "console"
    limiter: RateLimiter | None = None
    concurrency: int = 4
    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)

    async def send(self, user_key: str, reply: Reply) -> None:
        self.started.append(user_key)
        await asyncio.sleep(0.3)
        self.finished.append(user_key)


async def test_stop_lets_sends_in_flight_finish_and_gives_back_the_rest(
    settings: Settings, clock: FrozenClock
) -> None:
    transport = SlowTransport()
    app = build_app(settings, {"console": transport}, clock)
    await _bulk(app, 40, platform="console")
    running = asyncio.create_task(app.sender.run_forever(interval=0.1))
    try:
        while len(transport.started) < 4:
            await asyncio.sleep(0.01)
        app.sender.stop()
        await asyncio.wait_for(running, 5)
        assert transport.finished == transport.started  # the sends in flight finished
        async with app.sessionmaker() as session:
            rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        sent = {r.user_key for r in rows if r.status == OutboxStatus.SENT}
        assert sent == set(transport.finished) and len(sent) == 4  # marked, so never re-sent
        rest = [r for r in rows if r.status != OutboxStatus.SENT]
        assert len(rest) == 36
        assert {(r.status, r.claimed_until) for r in rest} == {(OutboxStatus.PENDING, None)}
        # A new sender (a restart) sends them at once, not after a lease.
        again = OutboxSender(app.sessionmaker, {"console": transport}, clock)
        transport.concurrency = 40
        assert await again.drain() == 36
        assert len(transport.finished) == 40 and len(set(transport.finished)) == 40
    finally:
        await app.close()


async def test_readyz_says_what_waits_too_long(settings: Settings, clock: FrozenClock) -> None:
    app = build_app(settings, {"console": SlowTransport()}, clock)
    try:
        runtime = Background(app, scheduler=False)
        runtime.start()
        try:
            # The loops turn once they have given back an earlier run's claims: a database round
            # trip that a loaded machine may take a while over.
            async with asyncio.timeout(10):
                while not all(runtime.health().values()):
                    await asyncio.sleep(0.05)
            checks = await readiness(app, runtime)
            assert all(check["ok"] for check in checks.values()), checks
            async with app.sessionmaker() as session, session.begin():
                old = pending_event(
                    Incoming("console", "old", "u", "u", START, text="/me"),
                    now=clock.now() - timedelta(minutes=3),
                )
                old.not_before = clock.now() + timedelta(days=1)  # waiting for a retry
                session.add(old)
            checks = await readiness(app, runtime)
            assert checks["oldest_event"] == {"ok": False, "seconds": 180.0, "bound": 120}
            async with app.sessionmaker() as session, session.begin():
                await session.delete(await session.scalar(select(InboxEvent)))
        finally:
            await runtime.stop()
        await _replies_for(app, "console", minutes=5)  # nobody sends it: the sender stopped
        checks = await readiness(app, runtime)
        assert (checks["worker"]["ok"], checks["sender"]["ok"]) == (False, False)
        assert checks["oldest_event"]["ok"] is True
        assert checks["oldest_reply"] == {"ok": False, "seconds": 300.0, "bound": 120}
        assert checks["oldest_outbox"]["ok"] is True  # within the half hour a broadcast may take
        web = build_web_app(app)  # not started: its lifespan never ran
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://test"
        ) as client:
            assert (await client.get("/healthz")).status_code == 200
            answer = await client.get("/readyz")
        assert answer.status_code == 503 and answer.json()["ready"] is False
    finally:
        await app.close()


async def _replies_for(app: App, platform: str, minutes: int) -> None:
    """A direct reply due `minutes` ago that nobody sent (the sender is stopped)."""
    async with app.sessionmaker() as session, session.begin():
        incoming = Incoming(platform, "late", "u", "u", START, text="/me")
        [row] = await enqueue_replies(
            session=session,
            incoming=incoming,
            replies=[Reply("迟到的回复")],
            now=START - timedelta(minutes=minutes),
            inbox_id=None,
        )
    assert row.not_before == START - timedelta(minutes=minutes)

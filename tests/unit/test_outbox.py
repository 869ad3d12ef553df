"""The outbox sender: retries, rate-limit deferrals and permanent failures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import event, select

from bot.app import App
from bot.core import Reply
from bot.core.clock import FrozenClock
from bot.outbox import MAX_ATTEMPTS, DeliveryError, OutboxSender
from models.member import Identity, Member
from models.outbox import OutboxMessage, OutboxStatus, enqueue


@dataclass
class FlakyTransport:
    """Fails the first `failures` sends with `error`, then delivers."""

    error: DeliveryError
    failures: int
    delivered: list[str] = field(default_factory=list)
    platform: str = "console"
    limiter: None = None
    concurrency: int = 1

    async def send(self, user_key: str, reply: Reply) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        self.delivered.append(reply.text)


async def _one_row(app: App, clock: FrozenClock) -> int:
    async with app.sessionmaker() as session, session.begin():
        member = Member(name="收件人")
        session.add(member)
        await session.flush()
        session.add(Identity(platform="console", user_key="r", member_id=member.id))
        [row] = await enqueue(
            session=session, member_id=member.id, reply=Reply("你好"), now=clock.now()
        )
    return row.id


async def _row(app: App, row_id: int) -> OutboxMessage:
    async with app.sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.id == row_id))
    assert row is not None
    return row


async def _drain_until_quiet(sender: OutboxSender, clock: FrozenClock, rounds: int) -> None:
    for _ in range(rounds):
        await sender.drain()
        clock.advance(minutes=15)


async def test_rate_limit_answers_defer_but_never_fail_a_message(
    app: App, clock: FrozenClock
) -> None:
    row_id = await _one_row(app, clock)
    transport = FlakyTransport(DeliveryError("429", retry_after=1), failures=MAX_ATTEMPTS + 2)
    await _drain_until_quiet(
        OutboxSender(app.sessionmaker, {"console": transport}, clock), clock, MAX_ATTEMPTS + 3
    )
    assert transport.delivered == ["你好"]
    assert (await _row(app, row_id)).status == OutboxStatus.SENT


async def test_other_errors_give_up_after_the_last_attempt(app: App, clock: FrozenClock) -> None:
    row_id = await _one_row(app, clock)
    transport = FlakyTransport(DeliveryError("timeout"), failures=MAX_ATTEMPTS + 2)
    await _drain_until_quiet(
        OutboxSender(app.sessionmaker, {"console": transport}, clock), clock, MAX_ATTEMPTS + 3
    )
    row = await _row(app, row_id)
    assert transport.delivered == []
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, MAX_ATTEMPTS)


async def test_a_blocked_user_is_marked_unreachable_at_once(app: App, clock: FrozenClock) -> None:
    row_id = await _one_row(app, clock)
    transport = FlakyTransport(DeliveryError("403", unreachable=True), failures=1)
    await OutboxSender(app.sessionmaker, {"console": transport}, clock).drain()
    assert (await _row(app, row_id)).status == OutboxStatus.UNREACHABLE
    async with app.sessionmaker() as session:
        assert await session.scalar(select(Identity.unreachable)) is True


async def test_rate_limiter_window_leaves_a_margin() -> None:
    from bot.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(per_second=3, per_key_interval=1.03, clock=lambda: now[0], window=1.03)
    for key in ("a", "b", "c"):
        await limiter.acquire(key)
    assert limiter._wait_needed("d") == 1.03
    assert limiter._wait_needed("a") == 1.03
    now[0] = 1.0
    assert round(limiter._wait_needed("d"), 2) == 0.03
    now[0] = 1.031
    assert limiter._wait_needed("d") <= 0


@dataclass
class SlowTransport:
    """Sends in flight together, each taking a few milliseconds, as a Bot API round trip."""

    delivered: list[str] = field(default_factory=list)
    platform: str = "console"
    limiter: None = None
    concurrency: int = 10

    async def send(self, user_key: str, reply: Reply) -> None:
        await asyncio.sleep(0.005)
        self.delivered.append(user_key)


async def test_sends_finishing_together_are_marked_sent_in_fewer_transactions(
    app: App, clock: FrozenClock
) -> None:
    async with app.sessionmaker() as session, session.begin():
        for n in range(30):
            member = Member(name=f"收件人{n}")
            session.add(member)
            await session.flush()
            session.add(Identity(platform="console", user_key=f"r{n}", member_id=member.id))
            await enqueue(
                session=session, member_id=member.id, reply=Reply("你好"), now=clock.now()
            )
    transport = SlowTransport()
    sender = OutboxSender(app.sessionmaker, {"console": transport}, clock=clock)
    commits: list[int] = []
    listen = event.listens_for(app.engine.sync_engine, "commit")
    listen(lambda *_: commits.append(1))
    await sender.drain()
    assert len(transport.delivered) == 30
    async with app.sessionmaker() as session:
        statuses = (await session.scalars(select(OutboxMessage.status))).all()
    assert statuses == [OutboxStatus.SENT] * 30
    assert len(commits) < 30  # one per claim, and the marks of sends that ended together

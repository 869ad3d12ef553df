"""Broadcast delivery through the real OutboxSender: platform limits, 429, crash and resume."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise

from sqlalchemy import func, select

from bot.app import App
from bot.core import Reply, Role
from bot.core.clock import FrozenClock
from bot.outbox import OutboxSender
from bot.ratelimit import RateLimiter
from handlers.notices import card
from models.member import Identity, Member, MemberRole
from models.notice import AudienceKind, create_notice, notice_stats
from models.org import Alliance, AllianceType, Membership, Unit, UnitKind
from models.outbox import OutboxMessage, OutboxStatus, enqueue
from tests.fakes import LimitedPlatform


async def _county(app: App, people: int, platform: str = "telegram") -> Member:
    """One alliance, one unit, `people` members with a platform identity; returns an admin."""
    async with app.sessionmaker() as session, session.begin():
        alliance = Alliance(name="测试联盟", type=AllianceType.REGION)
        unit = Unit(name="测试单位", kind=UnitKind.ENTERPRISE, has_party_org=True)
        session.add_all([alliance, unit, Membership(alliance=alliance, unit=unit)])
        members = [Member(name=f"党员{i}", home_unit=unit) for i in range(people)]
        admin = Member(name="管理员")
        session.add_all([*members, admin])
        await session.flush()
        session.add_all(
            Identity(platform=platform, user_key=f"u{m.id}", member_id=m.id) for m in members
        )
        session.add(MemberRole(member_id=admin.id, role=Role.SUPER_ADMIN))
        await session.flush()
        await session.refresh(admin, ["roles"])
        return admin


async def _notice(app: App, admin: Member, clock: FrozenClock) -> int:
    async with app.sessionmaker() as session, session.begin():
        notice = await create_notice(
            session=session,
            author=admin,
            text="紧急通知",
            audience={"kind": AudienceKind.ALL, "ids": []},
            now=clock.now(),
            card=card,
        )
        return notice.id


async def test_a_broadcast_keeps_within_the_platform_limits(app: App, clock: FrozenClock) -> None:
    admin = await _county(app, 88)
    async with app.sessionmaker() as session, session.begin():
        first = await session.scalar(select(Identity).order_by(Identity.id).limit(1))
        assert first is not None
        # Three messages to one chat, queued first: they must go 1 s apart.
        for extra in ("补充一", "补充二"):
            await enqueue(
                session=session, member_id=first.member_id, reply=Reply(extra), now=clock.now()
            )
    notice_id = await _notice(app, admin, clock)
    platform = LimitedPlatform(limiter=RateLimiter(per_second=30, per_key_interval=1.0))
    sender = OutboxSender(app.sessionmaker, {"telegram": platform}, clock)
    started = time.monotonic()
    assert await sender.drain() == 90
    elapsed = time.monotonic() - started
    assert platform.rejected == []  # no 429: the limiter kept within the platform's limits
    assert len(platform.accepted) == 90
    # 90 messages at 30/s take three one-second windows: just over 2 s from the first send to
    # the last is the minimum. The margin is for a loaded machine (2 cores shared in CI):
    # marking rows competes with sending, and the event loop wakes late.
    times = sorted(t for t, _, _ in platform.accepted)
    assert 1.95 <= times[-1] - times[0] < 3.3, times[-1] - times[0]
    assert elapsed < 8.0
    to_first = sorted(t for t, k, _ in platform.accepted if k == first.user_key)
    assert len(to_first) == 3 and all(b - a >= 0.99 for a, b in pairwise(to_first))
    async with app.sessionmaker() as session:
        figures = await notice_stats(session=session, notice_id=notice_id)
    assert (figures.recipients, figures.delivered, figures.pending) == (88, 88, 0)


async def test_a_429_pauses_every_send_for_retry_after(app: App, clock: FrozenClock) -> None:
    admin = await _county(app, 2)
    async with app.sessionmaker() as session, session.begin():
        ids = list(await session.scalars(select(Member.id).where(Member.id != admin.id)))
        for member_id, text in ((ids[0], "一"), (ids[0], "二"), (ids[1], "三")):
            await enqueue(session=session, member_id=member_id, reply=Reply(text), now=clock.now())
    # A limiter that forgets the per-chat gap: the platform refuses the second message.
    platform = LimitedPlatform(limiter=RateLimiter(per_second=30), concurrency=1)
    sender = OutboxSender(app.sessionmaker, {"telegram": platform}, clock)
    assert await sender.drain() == 2
    [(refused_at, _, refused)] = platform.rejected
    assert refused == "二"
    third = next(t for t, _, text in platform.accepted if text == "三")
    assert third - refused_at >= platform.retry_after - 0.01  # the pause held everyone back
    async with app.sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.text == "二"))
    assert row is not None and row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.not_before == clock.now() + timedelta(seconds=platform.retry_after)
    assert await sender.drain() == 0  # not before retry_after on our clock either
    clock.advance(seconds=1)
    assert await sender.drain() == 1
    assert [text for _, _, text in platform.accepted] == ["一", "三", "二"]


@dataclass
class CrashingPlatform:
    """Records deliveries; the send after `crash_after` hangs, so the test can kill the sender."""

    crash_after: int | None
    delivered: list[str] = field(default_factory=list)
    crashed: asyncio.Event = field(default_factory=asyncio.Event)
    platform: str = "telegram"
    limiter: RateLimiter | None = None
    concurrency: int = 1

    async def send(self, user_key: str, reply: Reply) -> None:
        if self.crash_after is not None and len(self.delivered) >= self.crash_after:
            self.crashed.set()
            await asyncio.Event().wait()  # until cancelled: the process dies here
        self.delivered.append(user_key)


async def test_a_sender_killed_mid_broadcast_resumes_without_duplicates_or_loss(
    app: App, clock: FrozenClock
) -> None:
    admin = await _county(app, 50)
    notice_id = await _notice(app, admin, clock)
    dying = CrashingPlatform(crash_after=27)
    first = OutboxSender(app.sessionmaker, {"telegram": dying}, clock, batch=20)
    task = asyncio.create_task(first.drain())
    await asyncio.wait_for(dying.crashed.wait(), timeout=10)
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    assert len(dying.delivered) == 27
    async with app.sessionmaker() as session:
        states = Counter((await session.execute(select(OutboxMessage.status))).scalars().all())
    # batch 1 sent, batch 2 half sent and still claimed, batch 3 never claimed
    assert states == {OutboxStatus.SENT: 27, OutboxStatus.SENDING: 13, OutboxStatus.PENDING: 10}

    restarted = CrashingPlatform(crash_after=None, delivered=list(dying.delivered))
    second = OutboxSender(app.sessionmaker, {"telegram": restarted}, clock, batch=20)
    assert await second.drain() == 10  # the rows the dead sender held wait for their lease
    clock.advance(minutes=3)
    assert await second.drain() == 13
    async with app.sessionmaker() as session:
        keys = set((await session.execute(select(Identity.user_key))).scalars())
        sent = await session.scalar(
            select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
        )
        figures = await notice_stats(session=session, notice_id=notice_id)
    assert Counter(restarted.delivered) == Counter({key: 1 for key in keys})
    assert sent == 50 and figures.delivered == 50

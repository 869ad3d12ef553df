"""The outbox sender batches identical rows for transports that can send to many at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from bot.app import App
from bot.core import Button, Reply
from bot.outbox import DeliveryError, OutboxSender
from bot.ratelimit import RateLimiter
from models.button import SHARED, ButtonToken, Press, resolve_token
from models.member import Identity, Member
from models.outbox import OutboxMessage, OutboxStatus, enqueue
from tests.fakes import RecordingTransport


@dataclass
class BatchingTransport:
    """Records each call: (user keys, reply); can reject users or fail a call."""

    platform: str = "batchy"
    batch_size: int = 3
    limiter: RateLimiter | None = None
    concurrency: int = 1
    calls: list[tuple[list[str], Reply]] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)
    fail_with: DeliveryError | None = None

    async def send(self, user_key: str, reply: Reply) -> None:
        self.calls.append(([user_key], reply))

    async def send_batch(self, user_keys: list[str], reply: Reply) -> list[str]:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append((list(user_keys), reply))
        return [k for k in user_keys if k in self.invalid]


async def _members(app: App, platform: str, count: int) -> list[int]:
    async with app.sessionmaker() as session, session.begin():
        members = [Member(name=f"m{i}") for i in range(count)]
        session.add_all(members)
        await session.flush()
        for i, member in enumerate(members):
            session.add(Identity(platform=platform, user_key=f"u{i}", member_id=member.id))
        return [m.id for m in members]


async def _enqueue(app: App, member_ids: list[int], reply: Reply, **kw: object) -> None:
    async with app.sessionmaker() as session, session.begin():
        for member_id in member_ids:
            await enqueue(
                session=session, member_id=member_id, reply=reply, now=app.clock.now(), **kw
            )


async def _statuses(app: App) -> dict[str, str]:
    async with app.sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage.user_key, OutboxMessage.status))
        return {key: str(status) for key, status in rows.all()}


async def test_identical_rows_go_out_in_batches(app: App) -> None:
    transport = BatchingTransport()
    sender = OutboxSender(app.sessionmaker, {"batchy": transport}, app.clock)
    ids = await _members(app, "batchy", 7)
    await _enqueue(app, ids, Reply("通知：明天开会"), kind="notice", ref_id=1)
    assert await sender.drain() == 7
    assert [len(keys) for keys, _ in transport.calls] == [3, 3, 1]
    assert sorted(k for keys, _ in transport.calls for k in keys) == sorted(
        f"u{i}" for i in range(7)
    )
    assert set((await _statuses(app)).values()) == {"sent"}


async def test_different_content_is_not_merged(app: App) -> None:
    transport = BatchingTransport()
    sender = OutboxSender(app.sessionmaker, {"batchy": transport}, app.clock)
    ids = await _members(app, "batchy", 4)
    await _enqueue(app, ids[:2], Reply("甲"))
    await _enqueue(app, ids[2:], Reply("乙"))
    await _enqueue(app, ids[:1], Reply("甲"), kind="other")
    await sender.drain()
    assert sorted((r.text, len(k)) for k, r in transport.calls) == [
        ("乙", 2),
        ("甲", 1),
        ("甲", 2),
    ]


async def test_a_batched_card_carries_shared_tokens_that_work_for_each_user(app: App) -> None:
    transport = BatchingTransport()
    sender = OutboxSender(app.sessionmaker, {"batchy": transport}, app.clock)
    ids = await _members(app, "batchy", 2)
    await _enqueue(app, ids, Reply("请确认", buttons=(Button("收到", "notices.ack", notice=5),)))
    await sender.drain()
    [(keys, reply)] = transport.calls
    token = reply.buttons[0].token
    async with app.sessionmaker() as session:
        owner = await session.scalar(
            select(ButtonToken.user_key).where(ButtonToken.token == token)
        )
        assert owner == SHARED
        for key in keys:
            assert await resolve_token(
                session=session, platform="batchy", user_key=key, token=token
            ) == Press("notices.ack", {"notice": 5})


async def test_rejected_users_become_unreachable(app: App) -> None:
    transport = BatchingTransport(invalid={"u1"})
    sender = OutboxSender(app.sessionmaker, {"batchy": transport}, app.clock)
    ids = await _members(app, "batchy", 3)
    await _enqueue(app, ids, Reply("hi"))
    assert await sender.drain() == 2
    assert (await _statuses(app))["u1"] == "unreachable"
    async with app.sessionmaker() as session:
        flagged = await session.scalar(
            select(Identity.unreachable).where(Identity.user_key == "u1")
        )
        assert flagged is True


async def test_a_failed_batch_is_retried_later_and_pauses_the_limiter(app: App) -> None:
    limiter = RateLimiter(per_second=10)
    transport = BatchingTransport(fail_with=DeliveryError("busy", retry_after=30), limiter=limiter)
    sender = OutboxSender(app.sessionmaker, {"batchy": transport}, app.clock)
    ids = await _members(app, "batchy", 3)
    await _enqueue(app, ids, Reply("hi"))
    assert await sender.drain() == 0
    async with app.sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert {r.status for r in rows} == {OutboxStatus.PENDING}
    assert all((r.not_before - app.clock.now()).total_seconds() == 30 for r in rows)
    assert limiter._wait_needed("") > 29


async def test_transports_without_batching_still_send_one_by_one(
    app: App, transport: RecordingTransport
) -> None:
    ids = await _members(app, "console", 3)
    await _enqueue(app, ids, Reply("同样的话"))
    assert await app.sender.drain() == 3
    assert {k: transport.texts(k) for k in transport.sent} == {
        "u0": ["同样的话"],
        "u1": ["同样的话"],
        "u2": ["同样的话"],
    }


async def test_acquire_many_keeps_each_keys_gap() -> None:
    now = [100.0]
    limiter = RateLimiter(per_second=100, per_key_interval=2.0, clock=lambda: now[0])
    await limiter.acquire_many(["a", "b"])
    assert limiter._wait_needed("b") == 2.0
    assert limiter._wait_needed("c") <= 0

"""Stored events: processed once, in each user's order, many users at once; transient faults
retried before an event fails; a failed event keeps its error, tells its sender once and can
be replayed; a restart gives back what the previous run had claimed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.app import App, build_app
from bot.cli import main
from bot.core import Incoming, Reply, Role, Route
from bot.core.clock import FrozenClock
from bot.dispatcher import INTERNAL_ERROR, Dispatcher
from handlers import ROUTES
from handlers.context import Context
from models.inbox import EventStatus, InboxEvent, claim_events
from models.outbox import PRIORITY_REPLY, OutboxMessage, OutboxStatus
from settings import Settings
from tests.conftest import START, make_settings
from tests.fakes import RecordingTransport


class Faults:
    """A route's faults to come: each call pops one (None: work normally)."""

    def __init__(self) -> None:
        self.plan: list[BaseException | None] = []
        self.calls: list[str] = []
        self.running = 0
        self.most = 0

    async def route(self, ctx: Context, words: str = "") -> list[Reply]:
        self.calls.append(f"{ctx.user_key}:{words}")
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(0.02)
            fault = self.plan.pop(0) if self.plan else None
            if fault is not None:
                raise fault
            return [Reply(f"好的：{words}")]
        finally:
            self.running -= 1


LOCKED = OperationalError("UPDATE member ...", {}, Exception("database is locked"))


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def fast_settings(demo_settings: Settings) -> Settings:
    return make_settings(demo_settings.DATABASE_URL, EVENT_ATTEMPTS=3, EVENT_RETRY_SECONDS=1.0)


@pytest.fixture
async def stored_app(
    fast_settings: Settings, clock: FrozenClock, transport: RecordingTransport, faults: Faults
) -> AsyncIterator[App]:
    app = build_app(fast_settings, {"console": transport}, clock, name="test-worker")
    route = Route("work", faults.route, "办理", "测试", aliases=("办理",), arg="words")
    app.dispatcher = Dispatcher((*ROUTES, route), app.sessionmaker, fast_settings, clock)
    yield app
    await app.close()


def event(user: str, text: str, n: int) -> Incoming:
    return Incoming("console", f"e{n}", user, user, START, text=text)


async def rows(app: App, model: Any, **where: Any) -> list[Any]:
    async with app.sessionmaker() as session:
        stmt = select(model).filter_by(**where).order_by(model.id)
        return list((await session.execute(stmt)).scalars())


async def test_events_arriving_together_one_a_re_delivery_are_each_applied_once(
    stored_app: App, transport: RecordingTransport
) -> None:
    events = [event(f"u{n}", f"/work {n}", n) for n in range(30)]
    events.append(event("u0", "/work 0", 0))  # a re-delivery among them
    stored = await asyncio.gather(*(stored_app.worker.store(e) for e in events))
    assert [s.new for s in stored].count(True) == 30
    assert (stored[-1].new, stored[-1].id) == (False, stored[0].id)
    assert await stored_app.worker.drain() == 30
    assert await stored_app.sender.drain() == 30
    assert [len(transport.texts(f"u{n}")) for n in range(30)] == [1] * 30  # answered once


async def test_a_stored_event_is_applied_once_and_answered_through_the_outbox(
    stored_app: App, transport: RecordingTransport
) -> None:
    first = await stored_app.worker.store(event("member", "/work 一", 1), raw='{"raw": 1}')
    again = await stored_app.worker.store(event("member", "/work 一", 1))  # re-delivered
    assert (first.new, again.new, again.id) == (True, False, first.id)
    assert await stored_app.worker.drain() == 1
    assert await stored_app.worker.drain() == 0
    [done] = await rows(stored_app, InboxEvent)
    assert (done.status, done.raw, done.attempts) == (EventStatus.DONE, '{"raw": 1}', 0)
    [reply] = await rows(stored_app, OutboxMessage, inbox_id=done.id)
    assert (reply.kind, reply.priority, reply.user_key) == ("reply", PRIORITY_REPLY, "member")
    assert await stored_app.sender.drain() == 1
    assert transport.texts("member") == ["好的：一"]


async def test_each_users_events_in_order_many_users_at_once(
    stored_app: App, faults: Faults
) -> None:
    for n in range(3):
        for user in ("member", "host", "admin"):
            await stored_app.worker.store(event(user, f"/work {n}", 10 * n + len(user)))
    assert await stored_app.worker.drain() == 9
    for user in ("member", "host", "admin"):
        assert [c for c in faults.calls if c.startswith(user)] == [f"{user}:{n}" for n in range(3)]
    # Each round takes the head of every user's queue: nobody waits for another's backlog.
    assert [{c.split(":")[0] for c in faults.calls[i : i + 3]} for i in (0, 3, 6)] == [
        {"member", "host", "admin"}
    ] * 3
    # At once where the database lets writers overlap (SQLite runs one write at a time).
    assert faults.most == (1 if stored_app.settings.is_sqlite else 3)


async def test_a_transient_fault_is_retried_with_a_growing_wait_and_then_succeeds(
    stored_app: App, clock: FrozenClock, transport: RecordingTransport, faults: Faults
) -> None:
    faults.plan = [LOCKED, LOCKED]
    await stored_app.worker.store(event("member", "/work 绑定", 1))
    await stored_app.worker.store(event("member", "/work 下一条", 2))  # waits its turn
    assert await stored_app.worker.drain() == 1
    pending, _ = await rows(stored_app, InboxEvent)
    assert (pending.status, pending.attempts) == (EventStatus.PENDING, 1)
    assert "database is locked" in pending.error
    assert pending.not_before == clock.now() + timedelta(seconds=1)
    assert await stored_app.worker.drain() == 0  # not before its time; the next one waits
    clock.advance(seconds=1)
    assert await stored_app.worker.drain() == 1
    clock.advance(seconds=1)
    assert await stored_app.worker.drain() == 0  # the second wait is twice the first
    clock.advance(seconds=1)
    assert await stored_app.worker.drain() == 2  # done, then the user's next event
    assert [e.status for e in await rows(stored_app, InboxEvent)] == [EventStatus.DONE] * 2
    await stored_app.sender.drain()
    assert transport.texts("member") == ["好的：绑定", "好的：下一条"]
    assert faults.calls == ["member:绑定"] * 3 + ["member:下一条"]


async def test_a_fault_that_lasts_fails_the_event_once_and_a_replay_applies_it(
    stored_app: App, clock: FrozenClock, transport: RecordingTransport, faults: Faults
) -> None:
    faults.plan = [LOCKED, LOCKED, LOCKED, LOCKED]
    stored = await stored_app.worker.store(event("member", "/work 签到", 1))
    for _ in range(3):  # EVENT_ATTEMPTS = 3
        await stored_app.worker.drain()
        clock.advance(seconds=5)
    [failed] = await rows(stored_app, InboxEvent)
    assert (failed.status, failed.attempts) == (EventStatus.FAILED, 3)
    assert failed.error.startswith("OperationalError") and "database is locked" in failed.error
    await stored_app.sender.drain()
    assert transport.texts("member") == [INTERNAL_ERROR]  # told once, after the last try
    # A re-delivery of a failed event is not applied: replay is the way.
    assert (await stored_app.worker.store(event("member", "/work 签到", 1))).new is False
    assert await stored_app.worker.drain() == 0
    # Replay: the fault strikes once more (a retry, nobody told), then the event goes through.
    async with stored_app.sessionmaker() as session, session.begin():
        from models.inbox import requeue

        assert await requeue(session=session, ids=[stored.id, 999], now=clock.now()) == [stored.id]
    assert await stored_app.worker.drain() == 1
    clock.advance(seconds=5)
    assert await stored_app.worker.drain() == 1
    [done] = await rows(stored_app, InboxEvent)
    assert done.status == EventStatus.DONE
    await stored_app.sender.drain()
    assert transport.texts("member") == [INTERNAL_ERROR, "好的：签到"]


async def test_a_bug_fails_the_event_at_once_and_a_failed_replay_tells_nobody_again(
    stored_app: App, clock: FrozenClock, transport: RecordingTransport, faults: Faults
) -> None:
    faults.plan = [RuntimeError("a bug"), RuntimeError("still a bug")]
    stored = await stored_app.worker.store(event("member", "/work 一", 1))
    assert await stored_app.worker.drain() == 1
    [failed] = await rows(stored_app, InboxEvent)
    assert (failed.status, failed.attempts, failed.error) == (
        EventStatus.FAILED,
        1,
        "RuntimeError: a bug",
    )
    async with stored_app.sessionmaker() as session, session.begin():
        from models.inbox import requeue

        await requeue(session=session, ids=[stored.id], now=clock.now())
    assert await stored_app.worker.drain() == 1
    [again] = await rows(stored_app, InboxEvent)
    assert (again.status, again.error) == (EventStatus.FAILED, "RuntimeError: still a bug")
    await stored_app.sender.drain()
    assert transport.texts("member") == [INTERNAL_ERROR]


async def test_the_events_command_lists_failed_events_and_replays_them(
    stored_app: App, transport: RecordingTransport, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failure a fix removed: the command applies the event with the routes in force."""

    async def broken(ctx: Context) -> list[Reply]:
        raise RuntimeError("profile table missing")

    without_me = [r for r in ROUTES if r.name != "me"]
    stored_app.dispatcher = Dispatcher(
        (Route("me", broken, "我的信息", "测试", role=Role.ANYONE), *without_me),
        stored_app.sessionmaker,
        stored_app.settings,
        stored_app.clock,
    )
    stored = await stored_app.worker.store(event("member", "/me", 1))
    await stored_app.worker.drain()
    assert await asyncio.to_thread(main, ["events"]) == 0
    listing = capsys.readouterr().out
    assert f"{stored.id}\tconsole:member\t" in listing
    assert "RuntimeError: profile table missing" in listing
    assert await asyncio.to_thread(main, ["events", "replay", str(stored.id), "424242"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"事件 {stored.id}：已重新处理", "事件 424242：不是处理失败的事件，未改动"]
    [done] = await rows(stored_app, InboxEvent)
    assert done.status == EventStatus.DONE
    replies = await rows(stored_app, OutboxMessage, inbox_id=stored.id)
    assert len(replies) == 2 and replies[0].text == INTERNAL_ERROR
    assert replies[1].text.startswith("👤")  # the real /me answer, this time
    assert await asyncio.to_thread(main, ["events"]) == 0
    assert capsys.readouterr().out.strip() == "没有处理失败的事件。"


async def test_a_restarted_worker_resumes_its_claims_at_once(
    stored_app: App, clock: FrozenClock, transport: RecordingTransport
) -> None:
    await stored_app.worker.store(event("member", "/work 一", 1))
    async with stored_app.sessionmaker() as session, session.begin():  # then killed
        [claimed] = await claim_events(
            session=session, now=clock.now(), limit=5, worker=stored_app.name
        )
    assert claimed.claimed_until is not None
    assert await stored_app.worker.drain() == 0  # held by the claim for a minute
    stored_app.worker.interval = 0.02
    running = asyncio.create_task(stored_app.worker.run_forever())  # the same worker, restarted
    try:
        for _ in range(200):
            if [e.status for e in await rows(stored_app, InboxEvent)] == [EventStatus.DONE]:
                break
            await asyncio.sleep(0.02)
        assert [e.status for e in await rows(stored_app, InboxEvent)] == [EventStatus.DONE]
    finally:
        stored_app.worker.stop()
        await running


async def test_handle_retries_a_transient_fault_in_place(stored_app: App, faults: Faults) -> None:
    """The console's door: the same rule, a short wait in place."""
    faults.plan = [LOCKED]
    queued = len(await rows(stored_app, OutboxMessage))
    replies = await stored_app.dispatcher.handle(event("member", "/work 一", 1))
    assert [r.text for r in replies] == ["好的：一"]
    [done] = await rows(stored_app, InboxEvent)
    assert done.status == EventStatus.DONE
    assert len(await rows(stored_app, OutboxMessage)) == queued  # shown by the caller


async def test_a_real_database_lock_longer_than_the_busy_time_out_is_waited_out(
    demo_settings: Settings, clock: FrozenClock, transport: RecordingTransport
) -> None:
    """The binding that used to be lost: another connection holds the write lock for longer
    than a write waits for it; the event is tried again, and the user is bound."""
    if not demo_settings.is_sqlite:
        pytest.skip("SQLite's write lock")
    import sqlite3

    settings = make_settings(
        demo_settings.DATABASE_URL,
        DATABASE_BUSY_TIMEOUT_SECONDS=0.3,
        EVENT_RETRY_SECONDS=0.5,
        EVENT_ATTEMPTS=6,
    )
    app = build_app(settings, {"console": transport}, name="lock-test")
    observer = build_app(demo_settings, {})  # the test's own reads wait for the lock
    try:
        async with app.sessionmaker() as session:
            from models.member import InviteCode

            code = await session.scalar(
                select(InviteCode.code).where(InviteCode.used_at.is_(None))
            )
        bind = Incoming("console", "bind-1", "newcomer", "newcomer", START, text=f"绑定 {code}")
        stored = await app.worker.store(bind)  # stored (and acknowledged) before the lock
        path = settings.DATABASE_URL.split(":///", 1)[1]
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        releasing: list[asyncio.Task[None]] = []

        async def release() -> None:
            await asyncio.sleep(1.2)  # four times as long as a write waits
            await asyncio.to_thread(holder.execute, "COMMIT")

        claim = app.worker._claim

        async def claim_then_lock(limit: int, only: list[int] | None = None) -> Any:
            """Another process takes the write lock just as the event begins."""
            events = await claim(limit, only)
            if events and not releasing:
                await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")
                releasing.append(asyncio.create_task(release()))
            return events

        app.worker._claim = claim_then_lock  # type: ignore[method-assign]
        app.worker.interval = 0.05
        running = asyncio.create_task(app.worker.run_forever())
        try:
            for _ in range(200):
                [row] = await rows(observer, InboxEvent, id=stored.id)
                if row.status != EventStatus.PENDING:
                    break
                await asyncio.sleep(0.05)
        finally:
            app.worker.stop()
            await running
            await asyncio.gather(*releasing)
            holder.close()
        [bound] = await rows(app, InboxEvent, id=stored.id)
        assert bound.status == EventStatus.DONE
        assert bound.attempts >= 1 and "database is locked" in bound.error  # it was retried
        await app.sender.drain()
        [text] = transport.texts("newcomer")
        assert text.startswith("绑定成功")
    finally:
        await app.close()
        await observer.close()


async def test_outbox_rows_claimed_by_a_previous_run_go_out_at_once(
    stored_app: App, clock: FrozenClock, transport: RecordingTransport
) -> None:
    await stored_app.worker.store(event("member", "/work 一", 1))
    await stored_app.worker.drain()
    async with stored_app.sessionmaker() as session, session.begin():  # claimed, then killed
        from models.outbox import claim_due

        [row] = await claim_due(
            session=session, platforms=["console"], now=clock.now(), limit=5, worker="test-worker"
        )
    assert row.status == OutboxStatus.SENDING
    assert await stored_app.sender.drain() == 0  # the lease holds it for two minutes
    running = asyncio.create_task(stored_app.sender.run_forever(interval=0.02))
    try:
        for _ in range(200):
            if transport.texts("member"):
                break
            await asyncio.sleep(0.02)
    finally:
        stored_app.sender.stop()
        await running
    assert transport.texts("member") == ["好的：一"]


async def _until(check: Any, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if await check():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_running_worker_applies_new_events_at_once_each_users_in_order(
    stored_app: App, faults: Faults
) -> None:
    """No poll to wait for (the loop would look again only after a minute): each event is
    taken as it is stored, or as soon as the user's event before it is done."""
    stored_app.worker.interval = 60
    running = asyncio.create_task(stored_app.worker.run_forever())
    try:
        assert await _until(lambda: _true(stored_app.worker.heartbeat > 0))
        for n in range(3):
            for user in ("member", "host"):
                await stored_app.worker.store(event(user, f"/work {n}", 10 * n + len(user)))

        async def all_done() -> bool:
            statuses = [e.status for e in await rows(stored_app, InboxEvent)]
            return statuses == [EventStatus.DONE] * 6

        assert await _until(all_done, 3.0)
        for user in ("member", "host"):
            assert [c for c in faults.calls if c.startswith(user)] == [
                f"{user}:{n}" for n in range(3)
            ]
    finally:
        stored_app.worker.stop()
        await running


async def test_a_new_event_waits_behind_its_users_event_that_is_retried(
    stored_app: App, clock: FrozenClock, transport: RecordingTransport, faults: Faults
) -> None:
    faults.plan = [LOCKED]
    stored_app.worker.interval = 60
    running = asyncio.create_task(stored_app.worker.run_forever())
    try:
        assert await _until(lambda: _true(stored_app.worker.heartbeat > 0))
        first = await stored_app.worker.store(event("member", "/work 绑定", 1))

        async def retried() -> bool:
            [row] = await rows(stored_app, InboxEvent, id=first.id)
            return row.attempts == 1

        assert await _until(retried)
        second = await stored_app.worker.store(event("member", "/work 下一条", 2))

        async def given_back() -> bool:
            [row] = await rows(stored_app, InboxEvent, id=second.id)
            return row.claimed_by == ""

        assert await _until(given_back)
        assert faults.calls == ["member:绑定"]  # the later event did not jump the queue
        clock.advance(seconds=1)
        stored_app.worker.nudge()

        async def both_done() -> bool:
            statuses = [e.status for e in await rows(stored_app, InboxEvent)]
            return statuses == [EventStatus.DONE] * 2

        assert await _until(both_done)
        assert faults.calls == ["member:绑定", "member:绑定", "member:下一条"]
        await stored_app.sender.drain()
        assert transport.texts("member") == ["好的：绑定", "好的：下一条"]
    finally:
        stored_app.worker.stop()
        await running


async def _true(value: bool) -> bool:
    return value


async def test_replies_are_handed_to_the_running_sender_which_makes_no_claim_for_them(
    stored_app: App, transport: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each reply row is written claimed by the running sender and handed to it: no claim
    (a transaction on the shared database) per reply, none of a user's replies overtaken."""
    import bot.outbox

    claims = []
    claim_due = bot.outbox.claim_due

    async def counted(**kwargs: Any) -> list[OutboxMessage]:
        claimed = await claim_due(**kwargs)
        if kwargs["priorities"] == (PRIORITY_REPLY, PRIORITY_REPLY):  # the reply lane's
            claims.append(len(claimed))
        return claimed

    monkeypatch.setattr(bot.outbox, "claim_due", counted)
    stored_app.worker.interval = 60
    sending = asyncio.create_task(stored_app.sender.run_forever(interval=60))
    working = asyncio.create_task(stored_app.worker.run_forever())
    try:
        assert await _until(lambda: _true(stored_app.sender.heartbeat > 0))
        assert await _until(lambda: _true(stored_app.worker.heartbeat > 0))
        assert await _until(lambda: _true(len(claims) == 1))  # it looks once as it starts
        for n in range(3):
            for user in ("member", "host"):
                await stored_app.worker.store(event(user, f"/work {n}", 10 * n + len(user)))

        async def all_sent() -> bool:
            return len(transport.texts("member")) == len(transport.texts("host")) == 3

        assert await _until(all_sent, 3.0)
        for user in ("member", "host"):
            assert transport.texts(user) == [f"好的：{n}" for n in range(3)]
        assert claims == [0]
        sent = await rows(stored_app, OutboxMessage, kind="reply")
        assert [r.status for r in sent] == [OutboxStatus.SENT] * 6
        assert {r.claimed_by for r in sent} == {"test-worker"}
    finally:
        stored_app.worker.stop()
        await working
        stored_app.sender.stop()
        await sending


async def test_a_reply_written_for_a_sender_that_died_goes_out_on_restart_or_after_its_lease(
    stored_app: App, clock: FrozenClock, transport: RecordingTransport
) -> None:
    """Committed, claimed by the running sender, and the process ends before the hand-over:
    the restarted sender (same name) sends it at once; any other once the claim lapses."""
    for n, user in enumerate(("member", "host")):
        stored = await stored_app.worker.store(event(user, f"/work {user}", n))
        [row] = await stored_app.dispatcher.process_stored(stored.id, sender="test-worker")
        assert (row.status, row.claimed_by) == (OutboxStatus.SENDING, "test-worker")
    other = build_app(stored_app.settings, {"console": transport}, clock, name="other-worker")
    try:
        assert await other.sender.drain() == 0  # the claim holds
        clock.advance(seconds=121)
        assert await other.sender.drain() == 2
    finally:
        await other.close()
    assert transport.texts("member") == ["好的：member"]
    assert transport.texts("host") == ["好的：host"]

"""Faults against real processes: `python -m bot serve` and `python -m bot telegram` on
127.0.0.1, killed (-9) or stopped (SIGTERM) at chosen points, with a fake Bot API that keeps
Telegram's offsets and limits and answers 429 and 502, and the WeCom stand-in.

After each: every acknowledged update has exactly one effect and a reply, no broadcast
recipient is missed, and copies sent twice are at most the sends that were in flight.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.core.clock import Clock
from models.db import make_engine, make_sessionmaker
from models.inbox import EventStatus, InboxEvent
from models.member import Identity, InviteCode, Member
from models.outbox import PRIORITY_BULK, OutboxMessage, OutboxStatus
from settings import Settings
from tests.fake_botapi import TOKEN, FakeBotApi, start_fake, text_update
from tests.wecom_sim import FakeWeComApi, ServerThread, WeComCrypto, text_xml, wecom_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "reliability-secret"
# The most sends one worker has in flight at a moment: 8 per transport in each of two lanes.
IN_FLIGHT = 16
BROADCAST = "📢 全县通知：周五下午三点召开联盟季度例会。"
WAIT = 60.0


def wait_until(probe: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
            if value:
                return value
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Bot:
    """One bot process, started again on the same port (so it is the same worker)."""

    mode: str  # "serve" or "polling"
    env: dict[str, str]
    log: Path
    fake: FakeBotApi | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = ["serve", "--port", str(self.port)] if self.mode == "serve" else ["telegram"]
        menus = self.fake.calls.get("setMyCommands", 0) if self.fake else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", *command],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if self.mode == "serve":
            wait_until(
                lambda: self.alive() and httpx.get(f"{self.base}/healthz").status_code == 200,
                "serve to answer /healthz",
            )
        else:
            assert self.fake is not None
            wait_until(
                lambda: self.alive() and self.fake.calls.get("setMyCommands", 0) > menus,
                "the poller to start",
            )

    def alive(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, f"the bot exited:\n{self.text()[-3000:]}"
        return True

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> float:
        """SIGTERM; the seconds until the process exited."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def post(self, update: dict[str, Any]) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        try:
            url = f"{self.base}/telegram/webhook"
            return httpx.post(url, json=update, headers=headers, timeout=20).status_code
        except httpx.TransportError as error:
            print(f"webhook POST failed: {error!r}")
            return 0  # no answer: not acknowledged


def db_run(settings: Settings, work: Any) -> Any:
    async def go() -> Any:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def count(settings: Settings, stmt: Any) -> int:
    async def work(session: Any) -> int:
        return int((await session.execute(stmt)).scalar() or 0)

    return int(db_run(settings, work))


def newcomers(settings: Settings, n: int, first_chat: int) -> list[tuple[int, str]]:
    """`n` members not bound yet, each with an invite code: (Telegram id, code)."""

    async def work(session: Any) -> list[tuple[int, str]]:
        members = [Member(name=f"新党员{first_chat + i}") for i in range(n)]
        session.add_all(members)
        await session.flush()
        expires = Clock().now() + timedelta(days=1)
        found = []
        for i, member in enumerate(members):
            code = f"7{first_chat // 1_000_000 % 10}{i:06d}"
            session.add(InviteCode(code=code, member_id=member.id, expires_at=expires))
            found.append((first_chat + i, code))
        return found

    return list(db_run(settings, work))


def broadcast(settings: Settings, chats: list[int]) -> None:
    async def work(session: Any) -> None:
        now = Clock().now()
        session.add_all(
            OutboxMessage(
                platform="telegram",
                user_key=str(chat),
                text=BROADCAST,
                kind="notice",
                priority=PRIORITY_BULK,
                created_at=now,
                not_before=now,
            )
            for chat in chats
        )

    db_run(settings, work)


def bulk_sent_while_replies_waited(settings: Settings, chats: list[int]) -> list[int]:
    """For each reply to these chats: broadcast rows sent between its queueing and its send."""

    async def work(session: Any) -> list[int]:
        replies = (
            await session.execute(
                select(OutboxMessage.created_at, OutboxMessage.sent_at).where(
                    OutboxMessage.user_key.in_([str(c) for c in chats]),
                    OutboxMessage.status == OutboxStatus.SENT,
                )
            )
        ).all()
        counts = []
        for queued, sent in replies:
            stmt = select(func.count()).where(
                OutboxMessage.priority == PRIORITY_BULK,
                OutboxMessage.sent_at > queued,
                OutboxMessage.sent_at < sent,
            )
            counts.append(int(await session.scalar(stmt) or 0))
        return counts

    result: list[int] = wait_until(
        lambda: (found := db_run(settings, work)) and len(found) == len(chats) and found,
        "every reply marked sent",
    )
    return result


def bound(settings: Settings, users: list[tuple[int, str]]) -> Counter[str]:
    async def work(session: Any) -> Counter[str]:
        keys = [str(u) for u, _ in users]
        stmt = select(Identity.user_key).where(
            Identity.platform == "telegram", Identity.user_key.in_(keys)
        )
        return Counter(await session.scalars(stmt))

    result: Counter[str] = db_run(settings, work)
    return result


def copies(fake: FakeBotApi, chats: list[int], text: str | None = None) -> Counter[int]:
    wanted = set(chats)
    return Counter(
        m.chat_id
        for m in fake.messages()
        if m.chat_id in wanted and (text is None or m.text == text)
    )


def check_bound_once(settings: Settings, fake: FakeBotApi, users: list[tuple[int, str]]) -> int:
    """Each user bound once and told so; returns the copies sent twice."""
    assert set(bound(settings, users).values()) == {1}
    assert len(bound(settings, users)) == len(users)
    extra = 0
    for chat, _ in users:
        texts = fake.texts(chat)
        assert texts and all(t.startswith("绑定成功") for t in texts), (chat, texts)
        extra += len(texts) - 1
    return extra


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    value, server = start_fake()
    yield value
    server.stop()


@pytest.fixture
def env(demo_settings: Settings, fake: FakeBotApi) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": demo_settings.DATABASE_URL,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake.api,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "SCHEDULER_ENABLED": "false",  # the demo is dated on the tests' clock
        "SHUTDOWN_GRACE_SECONDS": "5",
    }


@pytest.fixture
def bots(request: pytest.FixtureRequest) -> Iterator[list[Bot]]:
    """Bot processes made by a test; each is stopped at the end, its log shown on failure."""
    made: list[Bot] = []
    yield made
    for bot in made:
        bot.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for bot in made:
            print(f"--- {bot.mode} log ---\n{bot.text()[-5000:]}")


def serve(bots: list[Bot], env: dict[str, str], tmp_path: Path, fake: FakeBotApi) -> Bot:
    bot = Bot("serve", env, tmp_path / f"bot-{len(bots)}.log", fake)
    bots.append(bot)
    bot.start()
    return bot


def test_webhook_kill_9_right_after_the_200s_loses_no_update(
    demo_settings: Settings, fake: FakeBotApi, env: dict[str, str], bots: list[Bot], tmp_path: Path
) -> None:
    users = newcomers(demo_settings, 103, 81_000_000)
    bot = serve(bots, env, tmp_path, fake)
    updates = [
        text_update(500_000 + i, chat, f"绑定 {code}") for i, (chat, code) in enumerate(users)
    ]
    for update in updates[:3]:  # single updates, the process killed right after each 200
        assert bot.post(update) == 200
        bot.kill()
        bot.start()
    with ThreadPoolExecutor(50) as pool:  # then a burst of 100 at once
        statuses = list(pool.map(bot.post, updates[3:]))
    bot.kill()
    assert statuses == [200] * 100
    answered_before = sum(1 for chat, _ in users if fake.texts(chat))
    bot.start()
    wait_until(lambda: all(fake.texts(chat) for chat, _ in users), "every user's reply")
    time.sleep(1.0)  # any late copy
    extra = check_bound_once(demo_settings, fake, users)
    assert extra <= 4 * IN_FLIGHT, extra  # four kills
    done = select(func.count()).where(
        InboxEvent.event_id.in_([str(u["update_id"]) for u in updates]),
        InboxEvent.status == EventStatus.DONE,
    )
    assert count(demo_settings, done) == 103
    print(f"answered before the last kill: {answered_before}/103; copies sent twice: {extra}")


def test_polling_kill_9_before_the_offset_moves_loses_no_update(
    demo_settings: Settings, fake: FakeBotApi, env: dict[str, str], bots: list[Bot], tmp_path: Path
) -> None:
    users = newcomers(demo_settings, 40, 82_000_000)
    bot = Bot("polling", env, tmp_path / "polling.log", fake)
    bots.append(bot)
    bot.start()
    fake.push(
        *(text_update(600_000 + i, chat, f"绑定 {code}") for i, (chat, code) in enumerate(users))
    )
    wait_until(lambda: fake.served, "getUpdates to hand the updates out", timeout=20)
    bot.kill()  # fetched; stored or not, the offset past them was not confirmed by a store
    bot.start()
    wait_until(lambda: all(fake.texts(chat) for chat, _ in users), "every user's reply")
    time.sleep(1.0)
    extra = check_bound_once(demo_settings, fake, users)
    assert extra <= IN_FLIGHT, extra
    served = Counter(fake.served)
    print(f"updates served twice: {sum(1 for n in served.values() if n > 1)}; copies: {extra}")


def test_sigterm_mid_broadcast_finishes_in_flight_sends_and_a_restart_resumes_at_once(
    demo_settings: Settings, fake: FakeBotApi, env: dict[str, str], bots: list[Bot], tmp_path: Path
) -> None:
    fake.limits = True  # 30 messages a second: 300 take ten seconds
    chats = list(range(83_000_000, 83_000_300))
    broadcast(demo_settings, chats)
    bot = serve(bots, env, tmp_path, fake)
    wait_until(lambda: len(copies(fake, chats)) >= 45, "the broadcast under way", timeout=20)
    took = bot.terminate()
    assert took < 5 + 10, took  # the grace, and the server's own shutdown
    # uvicorn ends with the signal it stopped for, once its shutdown is complete
    assert bot.process is not None and bot.process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in bot.text()
    assert "gave back" in bot.text()  # the rows claimed for the broadcast
    got = copies(fake, chats)
    assert set(got.values()) == {1}
    sending = select(func.count()).where(OutboxMessage.status == OutboxStatus.SENDING)
    assert count(demo_settings, sending) == 0  # every claim given back
    sent = select(func.count()).where(
        OutboxMessage.text == BROADCAST, OutboxMessage.status == OutboxStatus.SENT
    )
    assert count(demo_settings, sent) == len(got)  # every send that went out was marked
    stopped_at = len(got)
    bot.start()
    ready = time.monotonic()
    wait_until(lambda: len(copies(fake, chats)) > stopped_at, "sending to resume", timeout=5)
    resumed = time.monotonic() - ready
    wait_until(lambda: len(copies(fake, chats)) == 300, "the whole broadcast")
    time.sleep(0.5)
    assert set(copies(fake, chats).values()) == {1}  # nobody twice, nobody missed
    print(f"SIGTERM took {took:.1f} s after {stopped_at} sends; resumed {resumed:.1f} s after")


def test_kill_9_mid_broadcast_misses_nobody_and_repeats_at_most_the_sends_in_flight(
    demo_settings: Settings, fake: FakeBotApi, env: dict[str, str], bots: list[Bot], tmp_path: Path
) -> None:
    fake.limits = True
    chats = list(range(84_000_000, 84_000_300))
    broadcast(demo_settings, chats)
    bot = serve(bots, env, tmp_path, fake)
    wait_until(lambda: len(copies(fake, chats)) >= 45, "the broadcast under way", timeout=20)
    bot.kill()
    before = len(copies(fake, chats))
    bot.start()
    ready = time.monotonic()
    wait_until(lambda: len(copies(fake, chats)) > before, "sending to resume", timeout=5)
    resumed = time.monotonic() - ready
    wait_until(lambda: len(copies(fake, chats)) == 300, "every recipient")
    time.sleep(0.5)
    got = copies(fake, chats)
    twice = sum(n - 1 for n in got.values())
    assert twice <= IN_FLIGHT, twice
    print(f"copies sent twice: {twice}; resumed {resumed:.1f} s after the restart")


def test_a_bot_api_answering_502_five_times_loses_no_reply(
    demo_settings: Settings, fake: FakeBotApi, env: dict[str, str], bots: list[Bot], tmp_path: Path
) -> None:
    bot = serve(bots, env, tmp_path, fake)
    fake.fail_next([502] * 5)
    chats = list(range(85_000_000, 85_000_010))
    with ThreadPoolExecutor(10) as pool:
        statuses = list(
            pool.map(lambda c: bot.post(text_update(700_000 + c % 1000, c, "/help")), chats)
        )
    assert statuses == [200] * 10
    wait_until(lambda: len(copies(fake, chats)) == 10, "every reply", timeout=30)
    time.sleep(0.5)
    assert set(copies(fake, chats).values()) == {1}
    assert [status for _, _, status in fake.rejected] == [502] * 5


def test_200_users_at_once_under_telegrams_limits_all_get_their_reply(
    demo_settings: Settings, fake: FakeBotApi, env: dict[str, str], bots: list[Bot], tmp_path: Path
) -> None:
    fake.limits = True
    bot = serve(bots, env, tmp_path, fake)
    chats = list(range(86_000_000, 86_000_200))
    started = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        statuses = list(
            pool.map(lambda c: bot.post(text_update(800_000 + c % 1000, c, "/help")), chats)
        )
    assert statuses == [200] * 200
    wait_until(lambda: len(copies(fake, chats)) == 200, "every reply", timeout=90)
    took = time.monotonic() - started
    time.sleep(0.5)
    assert set(copies(fake, chats).values()) == {1}
    print(
        f"200 replies in {took:.1f} s (30/s allows {200 / 30:.1f} s); 429s: {len(fake.rejected)}"
    )


def test_users_writing_during_a_broadcast_get_their_replies_first(
    demo_settings: Settings, fake: FakeBotApi, env: dict[str, str], bots: list[Bot], tmp_path: Path
) -> None:
    fake.limits = True
    recipients = list(range(87_000_000, 87_000_900))  # thirty seconds of broadcast
    broadcast(demo_settings, recipients)
    bot = serve(bots, env, tmp_path, fake)
    wait_until(lambda: len(copies(fake, recipients)) >= 30, "the broadcast under way", timeout=20)
    writers = list(range(87_100_000, 87_100_030))
    asked = {}

    def write(chat: int) -> int:
        asked[chat] = time.monotonic()
        return bot.post(text_update(900_000 + chat % 1000, chat, "/help"))

    with ThreadPoolExecutor(30) as pool:
        assert list(pool.map(write, writers)) == [200] * 30
    wait_until(lambda: len(copies(fake, writers)) == 30, "every writer's reply", timeout=30)
    arrived = {m.chat_id: m.at for m in fake.messages() if m.chat_id in set(writers)}
    waits = sorted(arrived[c] - asked[c] for c in writers)
    broadcast_by_then = len(copies(fake, recipients))
    assert broadcast_by_then < 900  # the broadcast is still going
    # A reply does not queue behind the broadcast (about 800 rows ahead of it when it came):
    # while one waits, only the broadcast's sends in flight and the slots between the replies
    # go out, at most three seconds' worth. Counted in rows, not seconds: wall-clock waits
    # depend on the machine's load.
    overtaken = bulk_sent_while_replies_waited(demo_settings, writers)
    assert max(overtaken) < 90, overtaken
    assert set(copies(fake, writers).values()) == {1}
    bot.terminate()
    print(
        f"reply waits p50 {waits[15]:.2f} s, max {waits[-1]:.2f} s; at {broadcast_by_then}; "
        f"broadcast sends while a reply waited: at most {max(overtaken)}"
    )


@pytest.fixture
def wecom_api() -> Iterator[FakeWeComApi]:
    api = FakeWeComApi()
    server = ServerThread(api.asgi(), lifespan="off").start()
    api.base = f"{server.url}/cgi-bin"
    yield api
    server.stop()


def test_wecom_kill_9_while_a_reply_is_sent_after_the_answer_delivers_it_once(
    demo_settings: Settings, wecom_api: FakeWeComApi, bots: list[Bot], tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": demo_settings.DATABASE_URL,
        "SCHEDULER_ENABLED": "false",
        **wecom_settings(wecom_api.base),
    }

    async def bind(session: Any) -> None:
        member_id = await session.scalar(
            select(Identity.member_id).where(
                Identity.platform == "console", Identity.user_key == "member"
            )
        )
        session.add(Identity(platform="wecom", user_key="wxkill", member_id=member_id))

    db_run(demo_settings, bind)
    bot = Bot("serve", env, tmp_path / "wecom.log")
    bots.append(bot)
    bot.start()
    wecom_api.delay = 3.0  # message/send delivers, then takes 3 s to answer
    crypto = WeComCrypto()
    params, body = crypto.callback(text_xml("wxkill", "资源", 990_001))
    response = httpx.post(f"{bot.base}/wecom/callback", params=params, content=body, timeout=10)
    assert (response.status_code, response.text) == (200, "")  # buttons: through the API later
    wait_until(lambda: wecom_api.sent, "the card on its way", timeout=15)
    bot.kill()  # the send is in flight: delivered, not yet marked sent
    wecom_api.delay = 0.0
    bot.start()
    wait_until(lambda: wecom_api.dropped, "the re-send, dropped by WeCom's duplicate check")
    delivered = [m for m in wecom_api.sent if m["touser"] == "wxkill"]
    assert len(delivered) == 1 and delivered[0]["msgtype"] == "template_card"
    assert len(wecom_api.dropped) == 1  # the one send in flight, sent again
    assert delivered[0]["enable_duplicate_check"] == 1
    sent = select(OutboxMessage.status).where(
        OutboxMessage.user_key == "wxkill", OutboxMessage.kind == "reply"
    )

    async def status(session: Any) -> list[str]:
        return list(await session.scalars(sent))

    wait_until(lambda: db_run(demo_settings, status) == [OutboxStatus.SENT], "the row marked sent")

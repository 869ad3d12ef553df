"""Two real `python -m bot serve` workers on one PostgreSQL database, behind no proxy: the same
Telegram updates reach both, a broadcast of thousands of messages is shared out, and killing
the scheduler leader hands the sweeps to the other worker.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.core import Reply
from bot.core.clock import Clock
from models.db import make_engine, make_sessionmaker
from models.inbox import InboxEvent
from models.member import Identity, InviteCode, Member
from models.org import Alliance, Membership
from models.outbox import OutboxMessage, OutboxStatus, enqueue
from settings import Settings
from tests.conftest import ON_POSTGRES
from tests.e2e.telegram_harness import (
    ROOT,
    SECRET,
    TOKEN,
    Emulator,
    User,
    free_port,
    running_emulator,
    wait_until,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="several workers share a PostgreSQL database: set DATABASE_URL=postgresql://...",
    ),
]

BROADCAST = 2000
BROADCAST_TEXT = "全县通知：明天上午九点召开党建联席会议。"
FIRST_CHAT = 7_000_001
LEADS = "this worker now runs the scheduler"


@dataclass
class Worker:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def leads(self) -> bool:
        return LEADS in self.text()

    def sent(self) -> int:
        return sum(int(n) for n in re.findall(r"outbox: sent (\d+) message", self.text()))

    def post(self, update: dict[str, Any]) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        url = f"{self.base}/telegram/webhook"
        return httpx.post(url, json=update, headers=headers, timeout=10).status_code


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


@pytest.fixture
def workers(demo_settings: Settings, tmp_path: Path) -> Iterator[tuple[Emulator, list[Worker]]]:
    """The emulator and two workers; every process is stopped at the end."""
    with running_emulator() as emulator:
        env = {
            **os.environ,
            "DATABASE_URL": demo_settings.DATABASE_URL,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": emulator.api,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_MESSAGES_PER_SECOND": "1000",  # the real 30/s would take 100 s here
            "SENDING_WORKERS": "2",
        }
        started: list[Worker] = []
        try:
            for name in ("a", "b"):
                port = free_port()
                log = tmp_path / f"worker-{name}.log"
                with log.open("wb") as out:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                started.append(Worker(name, f"http://127.0.0.1:{port}", process, log))
            for worker in started:
                wait_until(
                    lambda w=worker: (
                        w.process.poll() is None
                        and httpx.get(f"{w.base}/healthz").status_code == 200
                    ),
                    f"worker {worker.name}",
                    timeout=30,
                )
            yield emulator, started
        except BaseException:
            for worker in started:
                print(f"--- worker {worker.name} log ---\n{worker.text()[-4000:]}")
            raise
        finally:
            for worker in started:
                if worker.process.poll() is None:
                    worker.process.terminate()
            for worker in started:
                worker.process.wait(timeout=15)


def deliver_to_both(workers: list[Worker], update: dict[str, Any]) -> None:
    """The same update at both workers at the same moment (a retried or duplicated POST)."""
    with ThreadPoolExecutor(len(workers)) as pool:
        statuses = list(pool.map(lambda w: w.post(update), workers))
    assert statuses == [200, 200]


def test_two_workers_share_one_database(
    workers: tuple[Emulator, list[Worker]], demo_settings: Settings
) -> None:
    emulator, pair = workers
    db = demo_settings

    # 1. The same updates at both workers: each handled once.
    async def invite(session: Any) -> tuple[str, str]:
        # A member of an alliance with no activities in the demo: the workers' scheduler runs
        # on real time over data dated on the tests' clock, and must not remind this user.
        member = await session.scalar(
            select(Member)
            .join(Membership, Membership.unit_id == Member.home_unit_id)
            .join(Alliance)
            .where(Alliance.name == "民营医院行业党建红色联盟")
            .order_by(Member.id.desc())
            .limit(1)
        )
        expires = Clock().now() + timedelta(days=1)
        session.add(InviteCode(code="55550001", member_id=member.id, expires_at=expires))
        return "55550001", member.name

    code, name = db_run(db, invite)
    user = User(emulator, id=60_001)
    for text, expected in ((f"/bind {code}", f"绑定成功！欢迎您，{name}"), ("/me", name)):
        update = user.text_update(text)
        deliver_to_both(pair, update)
        replies = user.expect()
        assert len(replies) == 1 and expected in replies[0]
        event = InboxEvent.event_id == str(update["update_id"])
        assert count(db, select(func.count()).select_from(InboxEvent).where(event)) == 1
    user.quiet(1.0)  # no second reply, and no error reply, to either update
    bound = select(func.count()).select_from(Identity).where(Identity.user_key == str(user.id))
    assert count(db, bound) == 1

    # 2. A broadcast: both workers send, and every chat gets the message exactly once.
    async def broadcast(session: Any) -> None:
        members = [Member(name=f"群众{i}", is_party_member=False) for i in range(BROADCAST)]
        session.add_all(members)
        await session.flush()
        session.add_all(
            Identity(platform="telegram", user_key=str(FIRST_CHAT + i), member_id=m.id)
            for i, m in enumerate(members)
        )
        await session.flush()
        now = Clock().now()
        for m in members:
            await enqueue(session=session, member_id=m.id, reply=Reply(BROADCAST_TEXT), now=now)

    db_run(db, broadcast)
    sent = select(func.count()).where(
        OutboxMessage.text == BROADCAST_TEXT, OutboxMessage.status == OutboxStatus.SENT
    )
    wait_until(lambda: count(db, sent) == BROADCAST, "the broadcast to be sent", timeout=60)
    history = emulator.post("/getUpdatesHistory", token=TOKEN)
    per_chat = Counter(
        int(item["message"]["chat_id"])
        for item in history
        if item["message"].get("text") == BROADCAST_TEXT
    )
    assert len(per_chat) == BROADCAST and set(per_chat.values()) == {1}
    assert set(per_chat) == set(range(FIRST_CHAT, FIRST_CHAT + BROADCAST))
    # The logs count every row a worker sent: the broadcast and the two replies (/bind, /me).
    wait_until(lambda: sum(w.sent() for w in pair) == BROADCAST + 2, "both logs to count")
    shares = {w.name: w.sent() for w in pair}
    assert all(shares.values()), f"one worker sent nothing: {shares}"

    # 3. Kill the scheduler leader: the other worker takes over and sweeps.
    [leader] = [w for w in pair if w.leads()]
    [standby] = [w for w in pair if w is not leader]

    async def stale_event(session: Any) -> None:
        old = Clock().now() - timedelta(days=8)
        session.add(
            InboxEvent(platform="telegram", event_id="stale", user_key="0", received_at=old)
        )

    db_run(db, stale_event)  # housekeeping forgets events older than 7 days
    stale = select(func.count()).select_from(InboxEvent).where(InboxEvent.event_id == "stale")
    assert count(db, stale) == 1
    leader.process.send_signal(signal.SIGKILL)
    leader.process.wait(timeout=10)
    wait_until(standby.leads, "the standby to take over the scheduler", timeout=15)
    wait_until(lambda: count(db, stale) == 0, "the new leader's housekeeping sweep")
    assert standby.process.poll() is None

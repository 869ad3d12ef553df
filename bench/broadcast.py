"""A broadcast to 10,000 recipients through the real OutboxSender and TelegramTransport.

Run: python bench/broadcast.py [--recipients 10000]   (about recipients/30 seconds of wall time)

The transport's Bot talks to an in-process fake Bot API (a stubbed request object) that
enforces Telegram's limits as documented: at most 30 messages in any one second overall and
one message per second per chat; a breach is answered with HTTP 429 and retry_after=1, and
counted. `SLACK` forgives arrivals a few milliseconds early: our limiter reads the clock at
acquire time, the fake at arrival, and an event loop under load delays some sends more than
others. The figures also give the tightest 1 s window and per-chat gap with no slack at all.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from common import StubRequest, add_members, bench_settings, fresh_demo, loadavg, machine, save
from sqlalchemy import func, select
from telegram import Bot

from bot.adapters.telegram import TelegramTransport
from bot.core import Reply
from bot.core.clock import Clock
from bot.outbox import OutboxSender
from models.db import make_engine, make_sessionmaker
from models.member import Identity
from models.outbox import OutboxMessage, OutboxStatus, enqueue_many

SLACK = 0.010
TEXT = "📢 通知：本周五下午三点在县党群服务中心召开联盟季度例会，请准时参加。"


class FakeTelegram:
    """The limits of the Bot API, applied to sendMessage calls as they arrive."""

    def __init__(self, per_second: int = 30, per_chat: float = 1.0, slack: float = SLACK):
        self.per_second = per_second
        self.per_chat = per_chat
        self.slack = slack
        self.window: deque[float] = deque()
        self.last: dict[int, float] = {}
        self.accepted: list[tuple[float, int]] = []
        self.rejected = 0
        self.started = time.monotonic()
        self.rejected_at: list[float] = []

    def __call__(self, method: str, params: dict[str, Any]) -> tuple[int, bytes] | None:
        if method != "sendMessage":
            return None
        now = time.monotonic()
        chat = int(params["chat_id"])
        while self.window and self.window[0] <= now - 1.0 + self.slack:
            self.window.popleft()
        last = self.last.get(chat)
        if len(self.window) >= self.per_second or (
            last is not None and now - last < self.per_chat - self.slack
        ):
            self.rejected += 1
            self.rejected_at.append(round(now - self.started, 3))
            body = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
            return 429, json.dumps(body).encode()
        self.window.append(now)
        self.last[chat] = now
        self.accepted.append((now, chat))
        return None

    def tightest(self) -> dict[str, Any]:
        """Most messages in any 1 s window and the smallest gap to one chat, without slack."""
        times = [t for t, _ in self.accepted]
        most = max(
            (bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0
        )
        by_chat: dict[int, list[float]] = {}
        for t, chat in self.accepted:
            by_chat.setdefault(chat, []).append(t)
        gaps = [b - a for ts in by_chat.values() for a, b in itertools.pairwise(ts)]
        return {"most_in_any_1s_window": most, "smallest_per_chat_gap_s": min(gaps, default=None)}


async def main(args: argparse.Namespace) -> None:
    settings = bench_settings(None, TELEGRAM_BOT_TOKEN="1:bench")
    await fresh_demo(settings)
    await add_members(settings, args.recipients)
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        ids = list(
            (
                await session.execute(
                    select(Identity.member_id).where(Identity.platform == "telegram")
                )
            ).scalars()
        )
        added = await enqueue_many(
            session=session, member_ids=ids, reply=Reply(TEXT), now=now, kind="notice"
        )
    fake = FakeTelegram()
    transport = TelegramTransport(settings, bot=Bot("1:bench", request=StubRequest(gate=fake)))
    sender = OutboxSender(sessionmaker, {"telegram": transport}, Clock())

    async def pending() -> int:
        async with sessionmaker() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.platform == "telegram",
                        OutboxMessage.status == OutboxStatus.PENDING,
                    )
                )
                or 0
            )

    load_before = loadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    while await pending():
        await sender.drain()
        await asyncio.sleep(0.05)  # rows waiting for a retry_after
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    async with sessionmaker() as session:
        counts = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count())
                    .where(OutboxMessage.text == TEXT)
                    .group_by(OutboxMessage.status)
                )
            ).all()
        )
    await engine.dispose()
    limit_s = args.recipients / 30
    save(
        "broadcast",
        {
            "machine": machine(),
            "recipients": args.recipients,
            "rows_enqueued": added,
            "total_s": round(wall, 2),
            "limit_s": round(limit_s, 2),
            "ratio_to_limit": round(wall / limit_s, 4),
            "cpu_s": round(cpu, 2),
            "messages_accepted": len(fake.accepted),
            "responses_429": fake.rejected,
            "slack_s": SLACK,
            "429_at_s": fake.rejected_at[:20],
            **fake.tightest(),
            "outbox_status": {str(k): v for k, v in counts.items()},
            "loadavg": [load_before, loadavg()],
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    asyncio.run(main(parser.parse_args()))

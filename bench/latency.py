"""Reply latency through a real `python -m bot serve`: a burst of users at once, and users
writing while a broadcast is going out, against a fake Bot API that enforces Telegram's limits;
and updates per second end to end through the webhook against a Bot API that answers each
send after 200 ms, without limits (the bot's own rate set to 1,000 messages a second).

Run: python bench/latency.py [--users 200] [--broadcast 1800] [--writers 60]
     [--throughput 2000] [--root DIR]

The bot runs as its own process on a fresh SQLite demo county; the fake Bot API (the tests'
tests/fake_botapi.py) runs in this process and answers a breach of 30 messages in any second,
or of one message a second to one chat, with 429 retry_after=1. Latency counts from the start
of a user's webhook POST to the moment the fake Bot API accepts the reply to that chat (both
clocks are this process's). `--root DIR` runs another checkout's bot (a before/after figure)
on a database migrated by this checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from common import ROOT, bench_settings, fresh_demo, loadavg, machine, save, summary_ms

from tests.fake_botapi import TOKEN, FakeBotApi, start_fake, text_update

SECRET = "bench-secret"
BROADCAST = "📢 通知：本周五下午三点在县党群服务中心召开联盟季度例会，请准时参加。"


def serve(
    root: Path, database_url: str, fake: FakeBotApi, port: int, log: Path, **extra: str
) -> Any:
    env = {
        **os.environ,
        **extra,
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake.api,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "SCHEDULER_ENABLED": "false",
        "PYTHONPATH": str(root),
    }
    out = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "serve did not start"
        time.sleep(0.1)
    return process  # no setWebhook: the bench posts to the webhook itself, as Telegram would


def post(port: int, update: dict[str, Any]) -> int:
    try:
        return httpx.post(
            f"http://127.0.0.1:{port}/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            timeout=30,
        ).status_code
    except httpx.TransportError:
        return 0


def replies(fake: FakeBotApi, chats: set[int]) -> dict[int, float]:
    """The time each chat's first message was accepted."""
    first: dict[int, float] = {}
    for message in fake.messages():
        if message.chat_id in chats and message.chat_id not in first:
            first[message.chat_id] = message.at
    return first


def wait_for(fake: FakeBotApi, chats: set[int], timeout: float) -> dict[int, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = replies(fake, chats)
        if len(got) == len(chats):
            return got
        time.sleep(0.05)
    return replies(fake, chats)


def figures(asked: dict[int, float], got: dict[int, float]) -> dict[str, Any]:
    latencies = [got[c] - asked[c] for c in asked if c in got]
    result: dict[str, Any] = {"users": len(asked), "answered": len(latencies)}
    if latencies:
        result.update(summary_ms(latencies))
    return result


def burst(fake: FakeBotApi, port: int, users: int) -> dict[str, Any]:
    chats = list(range(20_000_000, 20_000_000 + users))
    asked: dict[int, float] = {}

    def one(chat: int) -> int:
        asked[chat] = time.monotonic()
        return post(port, text_update(100_000 + chat % 100_000, chat, "/help"))

    started = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(one, chats))
    got = wait_for(fake, set(chats), 120)
    return {
        **figures(asked, got),
        "acknowledged": statuses.count(200),
        "whole_burst_s": round(max(got.values(), default=started) - started, 3),
        "limit_s": round(users / 30, 3),
    }


def throughput(fake: FakeBotApi, port: int, updates: int) -> dict[str, Any]:
    """`updates` users, one /help each, posted by 64 clients at once as fast as the webhook
    takes them; each reply is answered by the fake Bot API 200 ms after it is sent."""
    chats = list(range(50_000_000, 50_000_000 + updates))
    asked: dict[int, float] = {}
    local = threading.local()

    def one(chat: int) -> int:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30)
        asked[chat] = time.monotonic()
        try:
            return client.post(
                f"http://127.0.0.1:{port}/telegram/webhook",
                json=text_update(300_000 + chat % 1_000_000, chat, "/help"),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            ).status_code
        except httpx.TransportError:
            return 0

    started = time.monotonic()
    with ThreadPoolExecutor(64) as pool:
        statuses = list(pool.map(one, chats))
    posted = time.monotonic() - started
    got = wait_for(fake, set(chats), 300)
    whole = max(got.values(), default=started) - started
    return {
        **figures(asked, got),
        "acknowledged": statuses.count(200),
        "bot_api_delay_ms": round(fake.delay * 1000),
        "posting_s": round(posted, 3),
        "whole_s": round(whole, 3),
        "updates_per_s_end_to_end": round(len(got) / whole, 1) if whole > 0 else None,
    }


def during_broadcast(
    fake: FakeBotApi, port: int, database_url: str, recipients: int, writers: int
) -> dict[str, Any]:
    import sqlite3

    targets = list(range(30_000_000, 30_000_000 + recipients))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    path = database_url.split(":///", 1)[1]
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(outbox_message)")}
        extra = ", priority" if "priority" in columns else ""
        db.executemany(
            "INSERT INTO outbox_message (platform, user_key, text, buttons, image, file, kind,"
            f" status, attempts, error, created_at, not_before{extra}) VALUES"
            f" ('telegram', ?, ?, '[]', '', '', 'notice', 'pending', 0, '', ?, ?"
            f"{', 2' if extra else ''})",
            [(str(t), BROADCAST, now, now) for t in targets],
        )
    started = time.monotonic()
    targets_set = set(targets)
    while len(replies(fake, targets_set)) < 60:  # two seconds into the broadcast
        time.sleep(0.05)
    chats = list(range(40_000_000, 40_000_000 + writers))
    asked: dict[int, float] = {}

    def one(chat: int) -> int:
        asked[chat] = time.monotonic()
        return post(port, text_update(200_000 + chat % 100_000, chat, "/help"))

    statuses = []
    with ThreadPoolExecutor(writers) as pool:
        futures = []
        for chat in chats:  # four users a second
            futures.append(pool.submit(one, chat))
            time.sleep(0.25)
        statuses = [f.result() for f in futures]
    got = wait_for(fake, set(chats), 120)
    sent_then = len(replies(fake, targets_set))
    return {
        **figures(asked, got),
        "acknowledged": statuses.count(200),
        "broadcast_recipients": recipients,
        "broadcast_sent_when_writers_done": sent_then,
        "broadcast_rate_per_s": round(sent_then / max(0.001, time.monotonic() - started), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--broadcast", type=int, default=1800)
    parser.add_argument("--writers", type=int, default=60)
    parser.add_argument("--throughput", type=int, default=2000, help="updates; 0: skip")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose bot runs")
    parser.add_argument("--name", default="latency", help="results file name")
    args = parser.parse_args()
    settings = bench_settings(None)
    asyncio.run(fresh_demo(settings))
    log = Path(settings.DATABASE_URL.split(":///", 1)[1]).with_suffix(".log")
    results: dict[str, Any] = {"machine": machine(), "root": str(args.root)}
    loads = [loadavg()]
    # Throughput first: the broadcast scenario ends with most of its rows unsent, and a later
    # serve (at 1,000 messages/s) would send them beside the updates it measures.
    scenarios = [*(["throughput"] if args.throughput else []), "burst", "broadcast"]
    for n, scenario in enumerate(scenarios):
        fast = scenario == "throughput"
        fake, server = start_fake(limits=not fast, delay=0.2 if fast else 0.0)
        port = 18_000 + os.getpid() % 1000 + n
        extra = {"TELEGRAM_MESSAGES_PER_SECOND": "1000"} if fast else {}
        process = serve(args.root, settings.DATABASE_URL, fake, port, log, **extra)
        try:
            if scenario == "throughput":
                results["throughput"] = throughput(fake, port, args.throughput)
            elif scenario == "burst":
                results["burst"] = burst(fake, port, args.users)
            else:
                results["broadcast"] = during_broadcast(
                    fake, port, settings.DATABASE_URL, args.broadcast, args.writers
                )
            results[scenario]["responses_429"] = sum(1 for r in fake.rejected if r[2] == 429)
        finally:
            process.terminate()
            process.wait(timeout=30)
            server.stop()
        loads.append(loadavg())
    results["loadavg"] = loads
    save(args.name, results)


if __name__ == "__main__":
    main()

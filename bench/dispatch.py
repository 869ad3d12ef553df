"""Events per second through the whole dispatcher against a bare PTB echo bot; a check-in burst.

Run: python bench/dispatch.py [--users 300] [--reps 3] [--burst 1000] [--database-url URL]

Both bots are python-telegram-bot Applications fed the same de_json'ed updates in-process
with `process_update`, their Bot talking to a stubbed request object (no network). Ours
takes each update the whole durable way: stored in the inbox, applied by the event worker,
its replies sent from the outbox by the sender (the rate limiter off: this measures our
work, not Telegram's 30/s); the baseline echoes the text back with reply_text.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from common import (
    START,
    StubRequest,
    add_members,
    bench_settings,
    fresh_demo,
    loadavg,
    machine,
    party_day_code,
    save,
    summary_ms,
    text_update,
)
from sqlalchemy import func, select
from telegram import Bot, Update
from telegram.ext import Application, ContextTypes, MessageHandler, TypeHandler, filters

from bot import nlu
from bot.app import App, build_app
from bot.core import Incoming, Reply
from bot.core.clock import FrozenClock
from bot.dispatcher import INTERNAL_ERROR
from models.checkin import CheckIn
from models.member import Identity, Member
from models.org import Unit
from settings import Settings

SEARCH = "资源 冷链物流"
REPORT_TEXT = "营业执照年检材料不知道怎么准备，已经跑了两趟"


def user_script(code: str, unit_name: str) -> list[str]:
    """What one member sends: a check-in by code, look-ups, a search and a /report dialog."""
    return [
        f"签到 {code}",
        "/activities",
        "/me",
        SEARCH,
        "/report",
        REPORT_TEXT,
        unit_name,
        "取消",
    ]


def interleaved(users: list[str], script: list[str], first_id: int) -> list[dict[str, Any]]:
    """Round-robin over users, so each user's steps stay in order amid the others' traffic."""
    updates = []
    n = first_id
    for text in script:
        for user in users:
            updates.append(text_update(n, int(user), text))
            n += 1
    return updates


class Sink:
    """Counts the texts the bots sent, and error replies among them."""

    def __init__(self) -> None:
        self.sent = 0
        self.errors = 0

    def __call__(self, method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage":
            self.sent += 1
            if params.get("text") == INTERNAL_ERROR:
                self.errors += 1


class Delivered:
    """The running sender's reply rows: written (handed over, or left for its claim) and
    finished (sent and marked), so each update can wait until its replies are out."""

    def __init__(self, app: App) -> None:
        self.written = 0
        self.finished = 0
        self._caught_up = asyncio.Event()
        sender = app.sender
        take, send_one = sender.take, sender._send_one

        def counted_take(rows: Any) -> None:
            self.written += len(rows)
            take(rows)

        async def counted_send(*args: Any) -> bool:
            try:
                return await send_one(*args)
            finally:
                self.finished += 1
                if self.finished >= self.written:
                    self._caught_up.set()

        sender.take = counted_take  # type: ignore[method-assign]
        sender._send_one = counted_send  # type: ignore[method-assign]

    async def wait(self) -> None:
        while self.finished < self.written:
            self._caught_up.clear()
            await self._caught_up.wait()


def ours(app: App, request: StubRequest) -> Application:  # type: ignore[type-arg]
    """Each update stored, applied by the running worker and its replies sent by the running
    sender (`running`), as in `python -m bot serve`; the next update once they are out."""
    from bot.adapters.telegram import TelegramTransport, incoming_of

    delivered = Delivered(app)

    async def on_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        incoming = incoming_of(app, context.bot, update)
        if incoming is not None:
            stored = await app.worker.store(incoming, seq=update.update_id)
            await app.worker.wait_done(stored.id, 30)
            if app.sender.heartbeat:
                await delivered.wait()
            else:
                await app.sender.drain()

    application = Application.builder().bot(Bot("1:bench", request=request)).updater(None).build()
    application.add_handler(TypeHandler(Update, on_update))
    transport = TelegramTransport(app.settings, bot=application.bot)
    transport.limiter = None
    app.sender.transports["telegram"] = transport
    return application


@contextlib.asynccontextmanager
async def running(app: App) -> AsyncIterator[None]:
    """The app's event worker and outbox sender running, as in `python -m bot serve`."""
    task = asyncio.create_task(app.worker.run_forever())
    sending = asyncio.create_task(app.sender.run_forever())
    while not (app.worker.heartbeat and app.sender.heartbeat):
        await asyncio.sleep(0.001)
    try:
        yield
    finally:
        app.worker.stop()
        await task
        app.sender.stop()
        await sending


def echo(request: StubRequest) -> Application:  # type: ignore[type-arg]
    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    application = Application.builder().bot(Bot("1:bench", request=request)).updater(None).build()
    application.add_handler(MessageHandler(filters.TEXT, on_text))
    return application


async def feed(application: Application, raw: list[dict[str, Any]]) -> dict[str, Any]:  # type: ignore[type-arg]
    """process_update each update in turn; wall time, CPU time and per-update latency."""
    updates = [Update.de_json(u, application.bot) for u in raw]
    latencies = []
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for update in updates:
        t = time.perf_counter()
        await application.process_update(update)
        latencies.append(time.perf_counter() - t)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"events": len(updates), "wall_s": wall, "cpu_s": cpu, "latencies": latencies}


async def unit_of_demo_member(app: App) -> str:
    async with app.sessionmaker() as session:
        name = await session.scalar(
            select(Unit.name)
            .join(Member, Member.home_unit_id == Unit.id)
            .join(Identity)
            .where(Identity.platform == "console", Identity.user_key == "member")
        )
    assert name is not None
    return name


async def throughput(settings: Settings, users: int, reps: int) -> dict[str, Any]:
    warm = 20
    keys = await add_members(settings, warm + users * reps)
    activity_id, code = await party_day_code(settings, START)
    nlu.warm_up()
    app = build_app(settings, {}, FrozenClock(START))
    unit = await unit_of_demo_member(app)
    script = user_script(code, unit)
    sink_ours, sink_echo = Sink(), Sink()
    mine = ours(app, StubRequest(gate=lambda m, p: sink_ours(m, p)))
    baseline = echo(StubRequest(gate=lambda m, p: sink_echo(m, p)))
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "echo": []}
    loads = [loadavg()]
    async with mine, baseline, running(app):
        warmup = interleaved(keys[:warm], script, 1)
        await feed(mine, warmup)
        await feed(baseline, warmup)
        next_id = len(warmup) + 1
        for rep in range(reps):
            chunk = keys[warm + rep * users : warm + (rep + 1) * users]
            raw = interleaved(chunk, script, next_id)
            next_id += len(raw)
            runs["echo"].append(await feed(baseline, raw))
            runs["ours"].append(await feed(mine, raw))
            loads.append(loadavg())
    async with app.sessionmaker() as session:
        checkins = await session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.activity_id == activity_id)
        )
    await app.close()
    shown = [text.replace(code, "<code>") for text in script]
    out: dict[str, Any] = {"users_per_rep": users, "script": shown, "reps": reps}
    for name, items in runs.items():
        rates = [r["events"] / r["wall_s"] for r in items]
        cpu = [r["cpu_s"] / r["events"] * 1000 for r in items]
        pooled = [x for r in items for x in r["latencies"]]
        out[name] = {
            "events_per_rep": items[0]["events"],
            "events_per_s": [round(x, 1) for x in rates],
            "median_events_per_s": round(sorted(rates)[len(rates) // 2], 1),
            "cpu_ms_per_event": [round(x, 3) for x in cpu],
            "median_cpu_ms_per_event": round(sorted(cpu)[len(cpu) // 2], 3),
            **summary_ms(pooled),
        }
    steps = len(script)
    by_step: list[list[float]] = [[] for _ in script]
    for r in runs["ours"]:
        per = len(r["latencies"]) // steps
        for i, x in enumerate(r["latencies"]):
            by_step[i // per].append(x)
    out["ours"]["p50_ms_by_message"] = {
        text.replace(code, "<code>"): summary_ms(xs)["p50_ms"]
        for text, xs in zip(script, by_step, strict=True)
    }
    out["ratio_events_per_s"] = round(
        out["ours"]["median_events_per_s"] / out["echo"]["median_events_per_s"], 4
    )
    out["ratio_cpu_per_event"] = round(
        out["ours"]["median_cpu_ms_per_event"] / out["echo"]["median_cpu_ms_per_event"], 2
    )
    out["replies_sent"] = {"ours": sink_ours.sent, "echo": sink_echo.sent}
    out["path"] = "stored"  # inbox → event worker → outbox, one update at a time
    out["error_replies"] = sink_ours.errors
    out["checkin_rows"] = checkins
    out["checkin_rows_expected"] = warm + users * reps
    out["loadavg"] = loads
    return out


async def burst(settings: Settings, count: int, spread_s: float = 0.0) -> dict[str, Any]:
    """`count` members check in to one activity: concurrent dispatcher.handle calls.

    With spread_s = 0 all calls start at once; otherwise member i arrives at i·spread_s/count
    seconds. Latency counts from each call's arrival to its return.
    """
    platform = f"burst{spread_s:g}"
    keys = await add_members(settings, count, platform=platform)
    activity_id, code = await party_day_code(settings, START)
    nlu.warm_up()
    app = build_app(settings, {}, FrozenClock(START))
    received = datetime.now(UTC)
    events = [
        Incoming(
            platform=platform,
            event_id=f"b{i}",
            user_key=key,
            chat_key=key,
            received_at=received,
            text=f"签到 {code}",
        )
        for i, key in enumerate(keys)
    ]
    latencies: list[float] = []
    replies: list[list[Reply]] = []

    async def one(event: Incoming, arrival: float) -> None:
        delay = arrival - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        result = await app.dispatcher.handle(event)
        latencies.append(time.perf_counter() - arrival)
        replies.append(result)

    load_before = loadavg()
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    step = spread_s / count
    await asyncio.gather(*(one(e, wall + i * step) for i, e in enumerate(events)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    async with app.sessionmaker() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(CheckIn)
            .join(Member, Member.id == CheckIn.member_id)
            .join(Identity, Identity.member_id == Member.id)
            .where(CheckIn.activity_id == activity_id, Identity.platform == platform)
        )
    await app.close()
    texts = [r.text for rs in replies for r in rs]
    ok = sum(t.startswith("✅ 签到成功") for t in texts)
    return {
        "checkins_sent": count,
        "spread_s": spread_s,
        "wall_s": round(wall, 3),
        "window_s": 60,
        "ratio_wall_to_window": round(wall / 60, 4),
        "cpu_s": round(cpu, 3),
        "checkin_rows": rows,
        "success_replies": ok,
        "error_replies": texts.count(INTERNAL_ERROR),
        "other_replies": len(texts) - ok - texts.count(INTERNAL_ERROR),
        "events_without_reply": sum(1 for rs in replies if not rs),
        **summary_ms(latencies),
        "loadavg": [load_before, loadavg()],
    }


async def main(args: argparse.Namespace) -> None:
    label = "postgresql" if args.database_url else "sqlite"
    settings = bench_settings(args.database_url)
    await fresh_demo(settings)
    result: dict[str, Any] = {"database": label, "machine": machine()}
    result["throughput"] = await throughput(settings, args.users, args.reps)
    if args.burst:
        settings = bench_settings(args.database_url)
        await fresh_demo(settings)
        result["burst"] = await burst(settings, args.burst)
        if args.spread:
            settings = bench_settings(args.database_url)
            await fresh_demo(settings)
            result["burst_spread"] = await burst(settings, args.burst, args.spread)
    save(f"dispatch-{label}", result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=300, help="members per repetition")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--burst", type=int, default=1000, help="0 skips the burst")
    parser.add_argument(
        "--spread", type=float, default=60.0, help="also a burst spread over this many s; 0 skips"
    )
    parser.add_argument("--database-url", default=None)
    asyncio.run(main(parser.parse_args()))

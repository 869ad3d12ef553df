"""Where an event's cost goes, per message kind, against a bare PTB echo bot in the same run.

Run: python bench/breakdown.py [--users 150] [--reps 5] [--database-url URL] [--profile-users 60]

Each generated member sends, in order: a check-in by code, /help, a resource search, /notices
(the list, whose buttons open a notice), a press of its first button (the notice with 收到),
and a typed 收到 (the notice acknowledged). Every member does one step before anyone does the
next, so each kind is one block of events, measured on its own: per event, SQL statements,
transactions, round trips to aiosqlite's thread ("thread hops": each queued call to the
connection's thread), CPU of the whole process and of the database thread, wall time. Ours
takes the stored path (inbox → event worker → outbox → sender), one update at a time, as
bench/dispatch.py; the echo bot gets the same texts (a press: its label as text) right before
ours, so each pair shares the machine's load. Medians over the repetitions.

A separate profiled repetition splits the CPU by layer: cProfile's own time per function,
grouped by package, in the event loop's thread and (separately) inside the calls run on the
database thread. Profiling slows everything; the shares, not the times, are the figure.

Not a test: pytest collects only tests/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import pstats
import statistics
import threading
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

from common import (
    ROOT,
    START,
    StubRequest,
    add_members,
    bench_settings,
    fresh_demo,
    loadavg,
    machine,
    party_day_code,
    save,
    text_update,
)
from dispatch import echo, ours, running
from sqlalchemy import event, insert, select
from telegram import Update

import models.prebuilt
from bot import nlu
from bot.app import build_app
from bot.core.clock import FrozenClock
from bot.dispatcher import INTERNAL_ERROR
from models.member import Identity, Member
from models.notice import AudienceKind, Notice, NoticeRecipient, NoticeState

SEARCH = "资源 冷链物流"
WAIT = "waiting (epoll, locks): idle, not CPU"


def script(code: str) -> list[tuple[str, str]]:
    """(kind, text) in order; the press's text is a placeholder: the button is read later."""
    return [
        ("check-in", f"签到 {code}"),
        ("help", "/help"),
        ("search", SEARCH),
        ("notice list", "/notices"),
        ("button press", ""),
        ("notice ack", "收到"),
    ]


class Counters:
    """Statements and transactions on our engine; queued calls to aiosqlite's thread."""

    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0
        self.hops = 0
        self.profiling = False
        self.thread_profiles: dict[int, cProfile.Profile] = {}
        self.db_threads: set[int] = set()
        self.trace: list[str] | None = None

    def snapshot(self) -> tuple[int, int, int]:
        return self.statements, self.commits, self.hops


COUNTERS = Counters()


def instrument(engine: Any) -> None:
    sync = engine.sync_engine

    @event.listens_for(sync, "before_cursor_execute")
    def _statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN"):
            return  # counted by _begin below (before, it went through exec_driver_sql)
        COUNTERS.statements += 1
        if COUNTERS.trace is not None:
            COUNTERS.trace.append(" ".join(statement.split())[:100])

    @event.listens_for(sync, "commit")
    def _commit(*_: Any) -> None:
        COUNTERS.commits += 1

    if sync.dialect.name == "sqlite":  # BEGIN IMMEDIATE goes to the driver's cursor itself

        @event.listens_for(sync, "begin")
        def _begin(*_: Any) -> None:
            COUNTERS.statements += 1
            if COUNTERS.trace is not None:
                COUNTERS.trace.append("BEGIN IMMEDIATE")

    count_driver_statements()
    try:
        import aiosqlite.core
    except ImportError:  # PostgreSQL only: psycopg's async connection has no thread
        return
    original = aiosqlite.core.Connection._execute
    if getattr(original, "_bench", False):
        return

    async def _execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTERS.hops += 1
        thread = getattr(self, "_thread", None) or self  # a Thread itself before 0.22
        ident = getattr(thread, "ident", None)
        if ident is not None:
            COUNTERS.db_threads.add(ident)
        if COUNTERS.profiling:
            inner = fn

            def fn(*a: Any, **k: Any) -> Any:
                ident = threading.get_ident()
                profile = COUNTERS.thread_profiles.setdefault(ident, cProfile.Profile())
                return profile.runcall(inner, *a, **k)

        return await original(self, fn, *args, **kwargs)

    _execute._bench = True  # type: ignore[attr-defined]
    aiosqlite.core.Connection._execute = _execute  # type: ignore[method-assign]


def count_driver_statements() -> None:
    """Count the statements models.prebuilt runs on the driver's connection itself (the
    engine's events do not see them; SQLAlchemy's own go through driver cursors)."""
    drivers = []
    with contextlib.suppress(ImportError):
        import aiosqlite

        drivers.append(aiosqlite.Connection)
    with contextlib.suppress(ImportError):
        import psycopg

        drivers.append(psycopg.AsyncConnection)
    for driver in drivers:
        original = driver.execute
        if getattr(original, "_bench", False):
            continue

        def counted(original: Any) -> Any:
            async def execute(self: Any, sql: Any, *args: Any, **kwargs: Any) -> Any:
                COUNTERS.statements += 1
                if COUNTERS.trace is not None:
                    COUNTERS.trace.append(" ".join(str(sql).split())[:100])
                return await original(self, sql, *args, **kwargs)

            execute._bench = True  # type: ignore[attr-defined]
            return execute

        driver.execute = counted(original)  # type: ignore[method-assign]
    count_direct_statements()
    count_driver_commits()


def count_driver_commits() -> None:
    """Count the commits of models.prebuilt's driver transactions (no engine event)."""
    original = models.prebuilt._on_driver
    if getattr(original, "_bench", False):
        return

    async def counted(errors: Any, what: str, call: Any) -> None:
        await original(errors, what, call)
        if what == "COMMIT":
            COUNTERS.commits += 1

    counted._bench = True  # type: ignore[attr-defined]
    models.prebuilt._on_driver = counted


def count_direct_statements() -> None:
    """Count those run on the sqlite3 connection itself (models.db.run_direct)."""
    original = models.prebuilt.run_direct
    if getattr(original, "_bench", False):
        return

    def counted(driver: Any, sql: str, args: Any, fetch: bool) -> Any:
        result = original(driver, sql, args, fetch)
        if result is not None:
            COUNTERS.statements += 1
            if COUNTERS.trace is not None:
                COUNTERS.trace.append(" ".join(sql.split())[:100])
        return result

    counted._bench = True  # type: ignore[attr-defined]
    models.prebuilt.run_direct = counted


def db_thread_cpu() -> float:
    """CPU seconds of the database threads (aiosqlite's), 0 when there are none."""
    total = 0.0
    for ident in list(COUNTERS.db_threads):
        try:
            total += time.clock_gettime(time.pthread_getcpuclockid(ident))
        except (OSError, ProcessLookupError):
            COUNTERS.db_threads.discard(ident)
    return total


def layer(key: tuple[str, int, str]) -> str:
    """The package a profiled function belongs to."""
    filename, _, name = key
    if filename == "~":
        if "sqlite3" in name:
            return "sqlite3 (C)"
        if "psycopg" in name:
            return "psycopg (C)"
        if "epoll" in name or "acquire" in name:
            return WAIT
        if "_queue" in name:
            return "asyncio, threads, queues"
        return "builtins (C)"
    path = filename.replace("\\", "/")
    for part, label in (
        ("/sqlalchemy/orm/", "SQLAlchemy ORM"),
        ("/sqlalchemy/sql/", "SQLAlchemy SQL (statements, compiling, cache keys)"),
        ("/sqlalchemy/engine/", "SQLAlchemy engine (execute, results)"),
        ("/sqlalchemy/dialects/", "SQLAlchemy dialect (aiosqlite/psycopg adaptor)"),
        ("/sqlalchemy/", "SQLAlchemy other (pool, asyncio glue, util)"),
        ("/greenlet/", "SQLAlchemy other (pool, asyncio glue, util)"),
        ("/aiosqlite/", "aiosqlite (thread hops)"),
        ("/psycopg", "psycopg"),
        ("/telegram/", "python-telegram-bot"),
        ("/jieba/", "jieba"),
        ("/asyncio/", "asyncio, threads, queues"),
        ("/threading.py", "asyncio, threads, queues"),
        ("/queue.py", "asyncio, threads, queues"),
        ("/concurrent/", "asyncio, threads, queues"),
        ("/json/", "json"),
    ):
        if part in path:
            return label
    root = str(ROOT) + "/"
    if path.startswith(root):
        top = path[len(root) :].split("/", 1)[0]
        if top == "bot":
            sub = path[len(root) :].split("/")
            return "ours: bot/" + (sub[1] if len(sub) > 2 else "")
        return f"ours: {top}/"
    return "other Python (stdlib, libraries)"


def by_layer(profile: pstats.Stats) -> dict[str, float]:
    """Shares of the profiled own time by layer, idle waits left out."""
    totals: dict[str, float] = defaultdict(float)
    for key, (_, _, tottime, _, _) in profile.stats.items():  # type: ignore[attr-defined]
        totals[layer(key)] += tottime
    totals.pop(WAIT, None)
    whole = sum(totals.values()) or 1.0
    return {
        name: round(100 * value / whole, 1)
        for name, value in sorted(totals.items(), key=lambda kv: -kv[1])
        if value / whole >= 0.002
    }


class Buttons:
    """The Stub Bot API's gate: counts replies and remembers each chat's last keyboard."""

    def __init__(self) -> None:
        self.last: dict[int, list[tuple[str, str]]] = {}
        self.sent = 0
        self.errors = 0

    def __call__(self, method: str, params: dict[str, Any]) -> None:
        if method != "sendMessage":
            return
        self.sent += 1
        if params.get("text") == INTERNAL_ERROR:
            self.errors += 1
        markup = params.get("reply_markup")
        if markup is None:
            return
        if isinstance(markup, str):
            markup = json.loads(markup)
        elif hasattr(markup, "to_dict"):
            markup = markup.to_dict()
        rows = markup.get("inline_keyboard", [])
        self.last[int(params["chat_id"])] = [
            (b["text"], b["callback_data"]) for row in rows for b in row if "callback_data" in b
        ]


def press_update(update_id: int, user_id: int, label: str, token: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": {"id": user_id, "is_bot": False, "first_name": "党员"},
            "chat_instance": str(user_id),
            "data": token,
            "message": {
                "message_id": update_id,
                "date": int(START.timestamp()),
                "chat": {"id": user_id, "type": "private", "first_name": "党员"},
                "from": {"id": 1, "is_bot": True, "first_name": "红盟助手"},
                "text": label,
            },
        },
    }


async def send_notice_to(settings: Any, app: Any, keys: list[str]) -> None:
    """One notice already sent to the generated members (rows only: no outbox flood)."""
    async with app.sessionmaker() as session, session.begin():
        author = await session.scalar(
            select(Member.id)
            .join(Identity)
            .where(Identity.platform == "console", Identity.user_key == "admin")
        )
        notice = Notice(
            author_id=author,
            text="关于开展冬季安全生产检查的通知：请各单位于本周五前完成自查。",
            audience={"kind": AudienceKind.ALL},
            scope=[],
            state=NoticeState.SENT,
            created_at=START - timedelta(hours=1),
            send_at=START - timedelta(hours=1),
            sent_at=START - timedelta(hours=1),
        )
        session.add(notice)
        await session.flush()
        ids = (
            await session.scalars(
                select(Identity.member_id).where(
                    Identity.platform == "telegram", Identity.user_key.in_(keys)
                )
            )
        ).all()
        await session.execute(
            insert(NoticeRecipient), [{"notice_id": notice.id, "member_id": m} for m in ids]
        )


async def block(application: Any, raw: list[dict[str, Any]]) -> dict[str, Any]:
    updates = [Update.de_json(u, application.bot) for u in raw]
    gc.collect()
    before = COUNTERS.snapshot()
    db_cpu = db_thread_cpu()
    wall, cpu = time.perf_counter(), time.process_time()
    for update in updates:
        await application.process_update(update)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    db_cpu = db_thread_cpu() - db_cpu
    after = COUNTERS.snapshot()
    n = len(updates)
    return {
        "events": n,
        "wall_ms": wall / n * 1000,
        "cpu_ms": cpu / n * 1000,
        "db_thread_cpu_ms": db_cpu / n * 1000,
        "statements": (after[0] - before[0]) / n,
        "commits": (after[1] - before[1]) / n,
        "hops": (after[2] - before[2]) / n,
    }


def updates_for(
    kind: str, text: str, users: list[str], first_id: int, buttons: Buttons
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ours, echo's) updates of one block."""
    mine, theirs = [], []
    for i, user in enumerate(users):
        uid = int(user)
        if kind == "button press":
            keyboard = buttons.last.get(uid) or []
            if not keyboard:
                raise SystemExit(f"no button shown to {user} after /notices")
            label, token = keyboard[0]
            mine.append(press_update(first_id + i, uid, label, token))
            theirs.append(text_update(first_id + i, uid, label))
        else:
            mine.append(text_update(first_id + i, uid, text))
            theirs.append(text_update(first_id + i, uid, text))
    return mine, theirs


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = bench_settings(args.database_url)
    await fresh_demo(settings)
    warm = 10
    total = warm + args.users * args.reps + args.profile_users
    keys = await add_members(settings, total)
    _, code = await party_day_code(settings, START)
    nlu.warm_up()
    app = build_app(settings, {}, FrozenClock(START))
    instrument(app.engine)
    await send_notice_to(settings, app, keys)
    steps = script(code)
    buttons_ours, buttons_echo = Buttons(), Buttons()
    mine = ours(app, StubRequest(gate=lambda m, p: buttons_ours(m, p)))
    baseline = echo(StubRequest(gate=lambda m, p: buttons_echo(m, p)))
    per_kind: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k, _ in steps}
    echo_cpu: dict[str, list[float]] = defaultdict(list)
    echo_wall: dict[str, list[float]] = defaultdict(list)
    loads = [loadavg()]
    next_id = 1
    async with mine, baseline, running(app):
        groups = [keys[:warm]]
        for rep in range(args.reps):
            groups.append(keys[warm + rep * args.users : warm + (rep + 1) * args.users])
        for g, users in enumerate(groups):
            for kind, text in steps:
                raw, raw_echo = updates_for(kind, text, users, next_id, buttons_ours)
                next_id += len(raw)
                e = await block(baseline, raw_echo)
                o = await block(mine, raw)
                if g == 0:
                    continue  # the warm-up
                echo_cpu[kind].append(e["cpu_ms"])
                echo_wall[kind].append(e["wall_ms"])
                for name, value in o.items():
                    per_kind[kind][name].append(value)
            loads.append(loadavg())
        profiled: dict[str, Any] = {}
        if args.profile_users:
            users = keys[total - args.profile_users :]
            for kind, text in steps:
                raw, _ = updates_for(kind, text, users, next_id, buttons_ours)
                next_id += len(raw)
                updates = [Update.de_json(u, mine.bot) for u in raw]
                COUNTERS.trace = []
                await mine.process_update(updates.pop(0))
                trace, COUNTERS.trace = COUNTERS.trace, None
                COUNTERS.thread_profiles.clear()
                COUNTERS.profiling = True
                profile = cProfile.Profile()
                profile.enable()
                for update in updates:
                    await mine.process_update(update)
                profile.disable()
                COUNTERS.profiling = False
                main = pstats.Stats(profile)
                thread = None
                for p in COUNTERS.thread_profiles.values():
                    thread = pstats.Stats(p) if thread is None else thread.add(p)
                main_s = main.total_tt  # type: ignore[attr-defined]
                thread_s = thread.total_tt if thread is not None else 0.0  # type: ignore[attr-defined]
                profiled[kind] = {
                    "event_loop_thread_pct": by_layer(main),
                    "db_thread_calls_pct": by_layer(thread) if thread is not None else {},
                    "statements_of_one_event": trace,
                    "db_thread_share_of_profiled_time_pct": round(
                        100 * thread_s / ((main_s + thread_s) or 1), 1
                    ),
                }
    await app.close()

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    kinds: dict[str, Any] = {}
    for kind, _ in steps:
        figures = per_kind[kind]
        kinds[kind] = {
            "statements_per_event": round(med(figures["statements"]), 2),
            "commits_per_event": round(med(figures["commits"]), 2),
            "thread_hops_per_event": round(med(figures["hops"]), 2),
            "cpu_ms_per_event": round(med(figures["cpu_ms"]), 3),
            "db_thread_cpu_ms_per_event": round(med(figures["db_thread_cpu_ms"]), 3),
            "wall_ms_per_event": round(med(figures["wall_ms"]), 3),
            "echo_cpu_ms_per_event": round(med(echo_cpu[kind]), 4),
            "echo_wall_ms_per_event": round(med(echo_wall[kind]), 4),
            "ratio_cpu_ours_to_echo": round(med(figures["cpu_ms"]) / med(echo_cpu[kind]), 1),
            "cpu_ms_per_rep": [round(x, 3) for x in figures["cpu_ms"]],
        }
        if kind in profiled:
            kinds[kind]["profile"] = profiled[kind]
    all_cpu = [x for k in per_kind.values() for x in k["cpu_ms"]]
    all_echo = [x for xs in echo_cpu.values() for x in xs]
    return {
        "database": "postgresql" if args.database_url else "sqlite",
        "machine": machine(),
        "users_per_rep": args.users,
        "reps": args.reps,
        "profile_users": args.profile_users,
        "kinds": kinds,
        "mean_of_kinds": {
            "cpu_ms_per_event": round(statistics.fmean(all_cpu), 3),
            "echo_cpu_ms_per_event": round(statistics.fmean(all_echo), 4),
            "statements_per_event": round(
                statistics.fmean(k["statements_per_event"] for k in kinds.values()), 2
            ),
            "thread_hops_per_event": round(
                statistics.fmean(k["thread_hops_per_event"] for k in kinds.values()), 2
            ),
        },
        "replies_sent": buttons_ours.sent,
        "error_replies": buttons_ours.errors,
        "loadavg": loads,
    }


def show(result: dict[str, Any]) -> None:
    """A short table on stdout (the JSON goes to bench/results/)."""
    print(f"\nper event, {result['database']}, medians of {result['reps']} reps:")
    head = f"{'kind':<14}{'stmts':>7}{'commits':>8}{'hops':>7}{'cpu ms':>9}{'db-thr':>8}"
    print(head + f"{'wall ms':>9}{'echo cpu':>10}{'×echo':>8}")
    for kind, k in result["kinds"].items():
        print(
            f"{kind:<14}{k['statements_per_event']:>7}{k['commits_per_event']:>8}"
            f"{k['thread_hops_per_event']:>7}{k['cpu_ms_per_event']:>9}"
            f"{k['db_thread_cpu_ms_per_event']:>8}{k['wall_ms_per_event']:>9}"
            f"{k['echo_cpu_ms_per_event']:>10}{k['ratio_cpu_ours_to_echo']:>8}"
        )
    print(f"error replies: {result['error_replies']}; replies sent: {result['replies_sent']}")
    for kind, k in result["kinds"].items():
        if "profile" in k:
            top = list(k["profile"]["event_loop_thread_pct"].items())[:6]
            print(f"{kind}: " + ", ".join(f"{name} {pct}%" for name, pct in top))


async def main(args: argparse.Namespace) -> None:
    result = await run(args)
    save(f"breakdown-{result['database']}", result)
    show(result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=150, help="members per repetition")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--profile-users", type=int, default=60, help="0: no profile")
    parser.add_argument("--database-url", default=None)
    asyncio.run(main(parser.parse_args()))

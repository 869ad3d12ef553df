"""Engine and session factory; SQLite gets WAL, a busy time-out, BEGIN IMMEDIATE, one
connection per process, and its statements run inline (see `_run_inline`)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from settings import Settings


def make_engine(settings: Settings) -> AsyncEngine:
    if not settings.is_sqlite:
        return create_async_engine(settings.DATABASE_URL, pool_pre_ping=True)
    path = settings.DATABASE_URL.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    busy = settings.DATABASE_BUSY_TIMEOUT_SECONDS
    # One connection per process, so this process's transactions queue in order for it.
    # Every transaction here writes (IMMEDIATE, below) and SQLite runs one at a time; with
    # several connections each waiter sleeps in SQLite's busy handler and a newcomer can take
    # the lock first, again and again: under a burst (webhooks, the worker, the sender) an
    # event could wait seconds. A waiter now queues for the pool up to the busy time-out.
    engine = create_async_engine(
        settings.DATABASE_URL,
        # The connection is used from the event loop's thread too (`_run_inline`), one call
        # at a time: the connection is checked out by one session and each call is awaited.
        connect_args={"timeout": busy, "check_same_thread": False},
        pool_size=1,
        max_overflow=0,
        pool_timeout=busy,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control so each transaction can start IMMEDIATE: a deferred
        # one that later writes can fail with "database is locked" despite the busy time-out.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        _run_inline(dbapi_connection._connection, int(busy * 1000))

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        begin_immediate(conn)

    return engine


def begin_immediate(conn: Any) -> None:
    """BEGIN IMMEDIATE on the driver's cursor: through exec_driver_sql it took a seventh of an
    empty transaction's calls (compiled, logged, its result built and closed)."""
    errors = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except errors as error:  # raised as SQLAlchemy's, as exec_driver_sql did
        raise DBAPIError.instance("BEGIN IMMEDIATE", (), error, errors) from error
    finally:
        cursor.close()


class Session(AsyncSession):
    """AsyncSession, closed at the end of `async with` without a task of its own.

    SQLAlchemy closes in a new task, shielded, so that a cancelled caller's close still
    completes: a task and two loop turns, a fifth of the calls of each of an event's three
    transactions. A caller cancelled while closing (at shutdown) is safe without it: the pool
    checks the connection in as failed, and it is not used again.
    """

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        await self.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=Session, expire_on_commit=False)


INLINE_STATEMENTS = True  # False: every call goes to aiosqlite's thread (bench/pairs.py)
SLOW_INLINE_SECONDS = 0.002  # a statement that took longer runs in the thread from then on


def _run_inline(connection: Any, busy_ms: int) -> None:
    """Run the connection's calls in the event loop's thread instead of aiosqlite's.

    aiosqlite hands every call (cursor, execute, fetch, close, commit) to its thread and back:
    about four round trips per statement, each costing far more than the ~10 µs of SQLite it
    runs. Inline, the loop must never wait on a lock: BEGIN IMMEDIATE is tried with no busy
    time-out, and when another process holds the write lock it waits in the thread instead
    (with the busy time-out, as before). A statement that once took more than
    SLOW_INLINE_SECONDS runs in the thread from then on (long searches, reports and exports
    keep running beside the loop). In WAL mode nothing else waits for a lock; a commit that
    checkpoints writes the database file inline (once every ~1,000 pages written).
    """
    in_thread = connection._execute  # aiosqlite's own: queue to the thread, await the result
    raw = connection._connection  # the sqlite3 connection
    slow: set[str] = set()

    def begin(fn: Any, args: tuple[Any, ...]) -> tuple[bool, Any]:
        raw.execute("PRAGMA busy_timeout=0")
        try:
            return True, fn(*args)
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            return False, None
        finally:
            raw.execute(f"PRAGMA busy_timeout={busy_ms}")

    async def _execute(fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not INLINE_STATEMENTS or not connection._running or connection._connection is None:
            return await in_thread(fn, *args, **kwargs)
        sql = args[0] if args and isinstance(args[0], str) else None
        if sql is not None:
            if sql in slow:
                return await in_thread(fn, *args, **kwargs)
            if sql[:5].upper() == "BEGIN" and not kwargs:
                began, result = begin(fn, args)
                if began:
                    return result
                return await in_thread(fn, *args, **kwargs)  # wait for the lock off the loop
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            if sql is not None and time.perf_counter() - start > SLOW_INLINE_SECONDS:
                slow.add(sql)

    def direct(sql: str, args: Any, fetch: bool) -> tuple[list[Any], int] | None:
        if not INLINE_STATEMENTS or not connection._running or sql in slow:
            return None
        start = time.perf_counter()
        try:
            cursor = raw.execute(sql, args)
            try:
                return (cursor.fetchall() if fetch else []), cursor.rowcount
            finally:
                cursor.close()
        finally:
            if time.perf_counter() - start > SLOW_INLINE_SECONDS:
                slow.add(sql)

    connection._execute = _execute
    connection.run_direct = direct


def run_direct(driver: Any, sql: str, args: Any, fetch: bool) -> tuple[list[Any], int] | None:
    """Run one statement on the sqlite3 connection under `driver` (an aiosqlite connection
    whose calls run inline), in the transaction it is in: its rows (if `fetch`) and row count.
    None when the statement must go the driver's own way (PostgreSQL, calls in the thread, a
    statement once slow): through aiosqlite a statement is four awaited calls (cursor,
    execute, fetch, close), each a coroutine and a check of the rules above."""
    runner = getattr(driver, "run_direct", None)
    return None if runner is None else runner(sql, args, fetch)

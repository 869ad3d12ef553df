"""Engine and session factory; SQLite gets WAL, a busy time-out, BEGIN IMMEDIATE and one
connection per process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
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
        connect_args={"timeout": busy},
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

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)

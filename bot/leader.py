"""Scheduler leadership: only one worker runs the sweeps at a time.

PostgreSQL: a session-level advisory lock held on one open connection; if the leader dies,
its connection closes, the lock is freed and a standby takes over. SQLite (one machine): an
exclusive flock on a file beside the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from settings import Settings

logger = logging.getLogger(__name__)

ADVISORY_KEY = 0x48_4D_5A_53  # "HMZS": any constant shared by all workers


class LeaderLock:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._conn: AsyncConnection | None = None
        self._file: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        if self.held:
            return True
        if self.settings.is_sqlite:
            return self._try_file_lock()
        conn = await self.engine.connect()
        try:
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY})
            await conn.commit()
        except Exception:
            await conn.close()
            raise
        if got:
            self._conn = conn
            return True
        await conn.close()
        return False

    async def still_held(self) -> bool:
        """False once the connection holding the lock is gone."""
        if self._file is not None:
            return True
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
            return True
        except Exception:
            logger.warning("lost the scheduler lock's connection")
            await self.release()
            return False

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY}
                )
                await self._conn.commit()
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def _try_file_lock(self) -> bool:
        database = self.settings.sync_database_url.split(":///", 1)[-1] or "memory"
        path = Path(f"{database}.scheduler.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "ab")  # held open for as long as this worker leads
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle
        return True


async def lead_when_possible(
    lock: LeaderLock,
    start: Callable[[], object],
    stop: Callable[[object], Awaitable[None] | None],
    poll: float = 2.0,
) -> None:
    """Stand by until the lock is free, then lead; step down if the lock is lost."""
    running: object | None = None
    try:
        while True:
            try:
                if running is None and await lock.try_acquire():
                    logger.info("this worker now runs the scheduler")
                    running = start()
                elif running is not None and not await lock.still_held():
                    result = stop(running)
                    if result is not None:
                        await result
                    running = None
            except Exception as error:
                # The database is away (a restart, a network cut): keep standing by, or no
                # worker would ever run the sweeps again until someone restarts them all.
                logger.warning("scheduler lock check failed, retrying: %s", error)
            await asyncio.sleep(poll)
    finally:
        if running is not None:
            result = stop(running)
            if result is not None:
                await result
        await lock.release()

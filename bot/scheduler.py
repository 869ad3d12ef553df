"""Scheduler: runs the registered sweeps (handlers.SWEEPS) with APScheduler 3.

Sweeps are stateless: each reads what is due from SQL and writes outbox rows in one
transaction, so a memory job store is enough and a restart loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Sweep
from bot.core.clock import Clock
from settings import Settings

logger = logging.getLogger(__name__)


async def run_sweep(
    sweep: Sweep, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> None:
    """One sweep in one transaction; a failure is logged and retried at the next tick."""
    try:
        async with sessionmaker() as session, session.begin():
            await sweep.func(session=session, now=clock.now(), settings=settings)
    except Exception:
        logger.exception("sweep %s failed", sweep.id)


async def run_all(
    sweeps: Sequence[Sweep],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
) -> None:
    for sweep in sweeps:
        await run_sweep(sweep, sessionmaker, clock, settings)


def start_scheduler(
    sweeps: Sequence[Sweep],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    for sweep in sweeps:
        scheduler.add_job(
            run_sweep,
            "interval",
            seconds=sweep.every.total_seconds(),
            id=sweep.id,
            args=(sweep, sessionmaker, clock, settings),
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            # A new leader (a restart, a fail-over) sweeps at once: the interval timer starts
            # afresh in each process, so restarts more frequent than `every` would starve it.
            next_run_time=datetime.now(settings.tz),
        )
    scheduler.start()
    return scheduler

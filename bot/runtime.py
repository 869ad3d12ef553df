"""What runs beside the adapters in `serve` and `telegram`: the event worker, the outbox
sender and (while this worker leads) the scheduler; and their orderly stop.

Stop (SIGTERM): intake has already stopped (the server closed its socket, the poller its
loop); the worker finishes the events it is applying; the sender starts no new send, lets
those in flight finish within SHUTDOWN_GRACE_SECONDS and gives back the rows it had claimed,
so a restarted or another worker sends them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from bot.app import App
from bot.leader import LeaderLock, lead_when_possible
from bot.scheduler import start_scheduler

logger = logging.getLogger(__name__)

ALIVE_WITHIN = 30.0  # seconds: a loop that has not turned for longer is stuck


class Background:
    def __init__(self, app: App, *, sender: bool = True, scheduler: bool | None = None) -> None:
        self.app = app
        self.with_sender = sender
        self.with_scheduler = app.settings.SCHEDULER_ENABLED if scheduler is None else scheduler
        self.worker_task: asyncio.Task[None] | None = None
        self.sender_task: asyncio.Task[None] | None = None
        self.leader_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        app = self.app
        self.worker_task = asyncio.create_task(app.worker.run_forever())
        if self.with_sender:
            self.sender_task = asyncio.create_task(app.sender.run_forever())
        if self.with_scheduler:

            def start() -> object:
                return start_scheduler(app.sweeps, app.sessionmaker, app.clock, app.settings)

            def stop(scheduler: Any) -> None:
                scheduler.shutdown(wait=False)

            lock = LeaderLock(app.engine, app.settings)
            self.leader_task = asyncio.create_task(lead_when_possible(lock, start, stop))

    async def stop(self, grace: float | None = None) -> None:
        """Stop in order: scheduler, worker, sender (sends in flight may finish)."""
        grace = self.app.settings.SHUTDOWN_GRACE_SECONDS if grace is None else grace
        if self.leader_task is not None:
            self.leader_task.cancel()
            await asyncio.gather(self.leader_task, return_exceptions=True)
        if self.worker_task is not None:
            self.app.worker.stop()
            await _within(self.worker_task, grace)
        if self.sender_task is not None:
            self.app.sender.stop()
            await _within(self.sender_task, grace)

    def health(self) -> dict[str, bool]:
        """Whether the worker and the sender loops are running and turning."""
        now = time.monotonic()
        return {
            "worker": _turning(self.worker_task, self.app.worker.heartbeat, now),
            "sender": _turning(self.sender_task, self.app.sender.heartbeat, now),
        }


def _turning(task: asyncio.Task[None] | None, heartbeat: float, now: float) -> bool:
    return task is not None and not task.done() and now - heartbeat < ALIVE_WITHIN


async def _within(task: asyncio.Task[None], grace: float) -> None:
    """Wait for a loop to end by itself; cancel it after `grace` seconds."""
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        logger.warning("still busy after %.1f s: stopping it now", grace)
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task

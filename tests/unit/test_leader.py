"""Only one worker leads the scheduler; a standby takes over when the leader goes."""

from __future__ import annotations

import asyncio

from bot.leader import LeaderLock, lead_when_possible
from models.db import make_engine
from settings import Settings


async def test_second_lock_waits_until_the_first_is_released(settings: Settings) -> None:
    first_engine, second_engine = make_engine(settings), make_engine(settings)
    first, second = LeaderLock(first_engine, settings), LeaderLock(second_engine, settings)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.still_held()
        await first.release()
        assert await second.try_acquire()
        assert not await first.try_acquire()
    finally:
        await first.release()
        await second.release()
        await first_engine.dispose()
        await second_engine.dispose()


async def test_standby_starts_the_scheduler_when_the_leader_stops(settings: Settings) -> None:
    engines = [make_engine(settings), make_engine(settings)]
    started: list[str] = []
    stopped: list[str] = []

    def worker(name: str, engine: object) -> asyncio.Task[None]:
        lock = LeaderLock(engine, settings)  # type: ignore[arg-type]
        return asyncio.create_task(
            lead_when_possible(lock, lambda: started.append(name) or name, stopped.append, 0.05)
        )

    leader = worker("a", engines[0])
    await asyncio.sleep(0.2)
    standby = worker("b", engines[1])
    await asyncio.sleep(0.2)
    assert started == ["a"]
    leader.cancel()
    await asyncio.gather(leader, return_exceptions=True)
    await asyncio.sleep(0.3)
    assert started == ["a", "b"]
    assert stopped == ["a"]
    standby.cancel()
    await asyncio.gather(standby, return_exceptions=True)
    for engine in engines:
        await engine.dispose()


async def test_standby_keeps_trying_while_the_database_is_away() -> None:
    """A failed lock attempt (database restarting) must not end the standby's loop."""

    class FlakyLock:
        def __init__(self) -> None:
            self.attempts = 0

        async def try_acquire(self) -> bool:
            self.attempts += 1
            if self.attempts < 3:
                raise ConnectionError("server closed the connection unexpectedly")
            return True

        async def still_held(self) -> bool:
            return True

        async def release(self) -> None:
            pass

    started: list[str] = []
    task = asyncio.create_task(
        lead_when_possible(FlakyLock(), lambda: started.append("x") or "x", lambda _: None, 0.01)  # type: ignore[arg-type]
    )
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert started == ["x"]

"""Group commit: writes that arrive while one is being written go together in the next.

Each caller returns only once its own item is written (or raises the write's error), so
nothing is acknowledged before it is durable; one caller at a time writes, the others wait
for it. Alone, a caller writes at once; under load, one transaction serves many.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class WriterCancelled(RuntimeError):
    """The caller writing a batch was cancelled: the batch's other items are not written."""


class GroupCommit(Generic[Item]):
    def __init__(self, write: Callable[[list[Item]], Awaitable[None]]) -> None:
        self._write = write
        self._queue: list[tuple[Item, asyncio.Future[bool]]] = []
        self._busy = False

    async def add(self, item: Item) -> None:
        """Write `item` with whatever else is waiting; returns once it is written."""
        mine: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((item, mine))
        if self._busy:
            try:
                if not await mine:
                    return  # written in another caller's batch
            except asyncio.CancelledError:
                if mine.done() and not mine.cancelled() and mine.result():
                    self._pass_on()  # handed the next batch just as it was cancelled
                raise
        else:
            self._busy = True
            # One loop turn first: callers woken in the same turn (sends answered together)
            # join this write. SQLite's writes run inline and never yield, so without it
            # nobody would ever wait behind one.
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                mine.cancel()  # left like any waiting caller: its item goes with the next
                self._pass_on()
                raise
        while True:
            batch, self._queue = self._queue, []
            try:
                await self._write([queued for queued, _ in batch])
            except BaseException as error:
                told = error if isinstance(error, Exception) else WriterCancelled(repr(error))
                _settle(batch, mine, told)
                self._pass_on()
                raise
            _settle(batch, mine, None)
            if not self._queue:
                self._busy = False
                return
            if self._pass_on():
                return
            self._busy = True  # every caller waiting behind this batch left: written here

    def _pass_on(self) -> bool:
        """The first caller still waiting writes the next batch. With none left, the next
        caller to come writes (and takes along what is queued)."""
        for _, waiting in self._queue:
            if not waiting.done():
                waiting.set_result(True)
                return True
        self._busy = False
        return False


def _settle(
    batch: list[tuple[object, asyncio.Future[bool]]],
    writer: asyncio.Future[bool],
    error: Exception | None,
) -> None:
    for _, waiting in batch:
        if waiting is writer or waiting.done():
            continue
        if error is None:
            waiting.set_result(False)
        else:
            waiting.set_exception(error)

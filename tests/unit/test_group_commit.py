"""Group commit (bot.group_commit): what waits behind a write goes together in the next one,
and nobody returns before their own item is written."""

from __future__ import annotations

import asyncio

import pytest

from bot.group_commit import GroupCommit, WriterCancelled


class Store:
    """A write that takes a while, as a database transaction does; records each batch."""

    def __init__(self, fail_on: object = None) -> None:
        self.batches: list[list[object]] = []
        self.written: set[object] = set()
        self.fail_on = fail_on
        self.release = asyncio.Event()
        self.release.set()

    async def write(self, batch: list[object]) -> None:
        await asyncio.sleep(0.01)
        await self.release.wait()
        if self.fail_on in batch:
            raise OSError("disk full")
        self.batches.append(batch)
        self.written.update(batch)


async def test_alone_an_item_is_written_at_once() -> None:
    store = Store()
    group = GroupCommit(store.write)
    await group.add("a")
    await group.add("b")
    assert store.batches == [["a"], ["b"]]


async def test_items_waiting_behind_a_write_go_together_and_each_returns_once_written() -> None:
    store = Store()
    group = GroupCommit(store.write)

    async def add(item: int) -> bool:
        await group.add(item)
        return item in store.written  # written by the time its caller goes on

    results = await asyncio.gather(*(add(i) for i in range(40)))  # all in one loop turn
    assert all(results)
    assert store.batches == [list(range(40))]

    first = asyncio.create_task(add(100))
    await asyncio.sleep(0.005)  # its write is under way: these wait behind it
    results = await asyncio.gather(first, *(add(i) for i in range(101, 111)))
    assert all(results)
    assert store.batches[1:] == [[100], list(range(101, 111))]


async def test_a_failed_write_fails_every_caller_in_it_and_the_next_write_works() -> None:
    store = Store(fail_on=5)
    group = GroupCommit(store.write)
    await group.add(0)
    outcomes = await asyncio.gather(*(group.add(i) for i in range(1, 10)), return_exceptions=True)
    assert all(isinstance(o, OSError) for o in outcomes)  # all were in the batch holding 5
    assert store.written == {0}
    await group.add(99)
    assert store.written == {0, 99}


async def test_a_caller_that_leaves_while_waiting_has_its_item_written_anyway() -> None:
    store = Store()
    group = GroupCommit(store.write)
    first = asyncio.create_task(group.add("first"))
    await asyncio.sleep(0)
    leaving = asyncio.create_task(group.add("leaving"))
    await asyncio.sleep(0)
    leaving.cancel()
    await first
    with pytest.raises(asyncio.CancelledError):
        await leaving
    await group.add("later")  # nobody is left writing: the next caller writes
    assert "leaving" in store.written and "later" in store.written


async def test_a_writer_cancelled_mid_write_fails_its_batch_without_blocking_the_next() -> None:
    store = Store()
    group = GroupCommit(store.write)
    store.release.clear()
    writer = asyncio.create_task(group.add("w"))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(group.add(i)) for i in range(3)]
    await asyncio.sleep(0.02)
    writer.cancel()  # shut down while its write is in flight
    store.release.set()
    outcomes = await asyncio.gather(writer, *waiting, return_exceptions=True)
    assert isinstance(outcomes[0], asyncio.CancelledError)
    # the waiters were not in the cancelled write: one of them writes them next
    assert outcomes[1:] == [None, None, None]
    assert {0, 1, 2} <= store.written and "w" not in store.written
    await asyncio.wait_for(group.add("after"), 1)
    assert "after" in store.written


async def test_waiters_in_a_cancelled_write_are_told_with_an_error_not_a_cancellation() -> None:
    store = Store()
    group = GroupCommit(store.write)
    first = asyncio.create_task(group.add("first"))
    await asyncio.sleep(0)
    behind = [asyncio.create_task(group.add(i)) for i in range(3)]
    await first  # the batch of 0, 1, 2 is handed to the first of them
    store.release.clear()  # its write is held in flight
    await asyncio.sleep(0.02)
    assert not any(t.done() for t in behind)
    behind[0].cancel()
    store.release.set()
    outcomes = await asyncio.gather(*behind, return_exceptions=True)
    assert isinstance(outcomes[0], asyncio.CancelledError)
    assert all(isinstance(o, WriterCancelled) for o in outcomes[1:])
    await asyncio.wait_for(group.add("after"), 1)
    assert store.written == {"first", "after"}

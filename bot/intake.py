"""Durable intake: adapters store each event before answering; workers process stored events.

`EventWorker.store` writes the event (pending, with its raw payload) in its own short
transaction; only once it is committed does the adapter answer the platform. A running
`EventWorker` with a free slot takes a new event at once (written already claimed by it,
applied only if no earlier event of its user is pending, and not read back); otherwise it
claims the oldest pending event of each user — many users at once, one event of a user at a
time, in the platform's order. The
dispatcher applies an event's effects, replies (outbox rows) and done mark in one transaction;
with the outbox sender running, the reply rows are written claimed by it and handed to it
once they are committed (no claim of its own to wait for). A transient fault
(database busy or locked, connection lost) puts the event back with a growing delay,
EVENT_ATTEMPTS times at most; then, or at once for any other fault, the event is marked
failed with its error and the sender is told once. At start a worker gives back what its
previous run had claimed, so a restart resumes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Incoming
from bot.core.clock import Clock
from bot.dispatcher import Dispatcher, is_transient
from models.files import fetch_pending
from models.inbox import (
    EventStatus,
    InboxEvent,
    NotFirstOfUser,
    Taken,
    claim_events,
    event_status,
    find_event,
    insert_pending,
    pending_values,
    release_claim,
    release_claims,
    retry_later,
    store_attachments,
)
from models.outbox import OutboxMessage
from models.prebuilt import driver_transaction
from settings import Settings

logger = logging.getLogger(__name__)

CONCURRENCY = 8  # events of different users processed at once by one worker
LEASE = timedelta(seconds=60)
RETRY_CAP = 60.0  # seconds: the longest wait between two tries of an event
RECORD_TRIES = 5  # tries to record a fault while the database is away


def default_name() -> str:
    """This process, as claims name it: host and process id (a server passes its port)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Stored:
    """An event as the inbox holds it: new, or the row an earlier delivery wrote."""

    id: int
    new: bool
    status: EventStatus


async def store_event(
    sessionmaker: async_sessionmaker[AsyncSession], values: dict[str, Any]
) -> int | None:
    """Write an event (its row's columns) in a transaction of its own: its id, or None when
    an earlier delivery stored it; raises, with nothing written, if the database cannot."""
    async with driver_transaction(sessionmaker) as transaction:
        return await insert_pending(session=transaction, values=values)


Download = Callable[[str], Awaitable[bytes]]  # a platform reference → the file's bytes


class Handover(Protocol):
    """The outbox sender, as the worker hands it an event's reply rows (bot.outbox)."""

    def taking(self) -> str:
        """Its name while it takes rows at once (written claimed by it); "" otherwise."""
        ...

    def take(self, rows: Sequence[OutboxMessage]) -> None:
        """Rows just committed: it sends those claimed by it; the others it looks for."""
        ...

    def nudge(self) -> None: ...


class Host(Protocol):
    """What the worker needs of the app (bot.app.App), read at each use: tests swap the
    dispatcher after the app is built."""

    dispatcher: Dispatcher
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: Settings


class EventWorker:
    def __init__(
        self,
        host: Host,
        *,
        name: str = "",
        concurrency: int = CONCURRENCY,
        interval: float = 1.0,
        sender: Handover | None = None,
        downloader: Callable[[str], Download | None] | None = None,
    ) -> None:
        self.host = host
        self.downloader = downloader  # platform → how to download what its users sent
        self.name = name or default_name()
        self.concurrency = concurrency
        self.interval = interval
        self.sender = sender
        self.heartbeat = 0.0  # time.monotonic() of the last loop turn; 0: not running
        self._wake = asyncio.Event()
        self._stopping = False
        self._running: dict[int, asyncio.Task[None]] = {}
        self._waiters: dict[int, asyncio.Event] = {}
        # Users with an event in flight here (or being written to be taken at once): the
        # slots in use, and whose next event must wait.
        self._users: dict[str, int] = {}
        self._behind: set[str] = set()  # users with an event stored while one ran here
        self._full = False  # events may be waiting for a free slot

    async def store(
        self,
        incoming: Incoming,
        *,
        raw: str = "",
        seq: int = 0,
        passive_until: datetime | None = None,
    ) -> Stored:
        """Store an event; a running worker with a free slot applies it at once (no claim
        to wait for), otherwise it wakes the worker to claim it."""
        user = incoming.sender
        at_once = self._can_take(user)
        now = self.host.clock.now()
        if at_once:
            self._users[user] = 0  # the slot is kept while the event is written
        try:
            values = pending_values(
                incoming,
                now=now,
                raw=raw,
                seq=seq,
                passive_until=passive_until,
                claimed_by=self.name if at_once else "",
                claimed_until=now + LEASE if at_once else None,
            )
            stored = await self._stored(
                incoming, await store_event(self.host.sessionmaker, values)
            )
        except BaseException:
            if at_once:
                self._users.pop(user, None)
            raise
        if at_once and stored.new:
            self._start(stored.id, incoming, attempts=0, taken=Taken(incoming, passive_until))
            return stored
        if at_once:
            self._users.pop(user, None)
        elif user in self._users:
            self._behind.add(user)  # claimable once the user's event in flight is done
        else:
            self._full = True
        self.nudge()
        return stored

    async def _stored(self, incoming: Incoming, new_id: int | None) -> Stored:
        if new_id is not None:
            return Stored(new_id, True, EventStatus.PENDING)
        async with self.host.sessionmaker() as session:
            found = await find_event(
                session=session, platform=incoming.platform, event_id=incoming.event_id
            )
        if found is None:  # gone between the two statements: the platform delivers again
            raise LookupError(f"stored event {incoming.event_id} not found")
        return Stored(found.id, False, EventStatus(found.status))

    def _can_take(self, user: str) -> bool:
        return (
            self.heartbeat > 0
            and not self._stopping
            and user not in self._users
            and len(self._users) < self.concurrency
        )

    def nudge(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        """Process stored events until stop(): first those left from an earlier run."""
        self._stopping = False
        await self._release()
        try:
            while not self._stopping:
                self.heartbeat = time.monotonic()
                free = self.concurrency - len(self._users)
                self._full = free <= 0
                if free > 0:
                    try:
                        events = await self._claim(free)
                        self._full = len(events) == free
                        for event in events:
                            self._start(event.id, event.incoming(), event.attempts)
                    except Exception as error:
                        logger.warning("claiming events failed, retrying: %s", error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                self._wake.clear()
        finally:
            self.heartbeat = 0.0
            await self._finish_running()
            await self._release()

    def stop(self) -> None:
        """Stop claiming; events being processed finish (or roll back when cancelled)."""
        self._stopping = True
        self._wake.set()

    async def drain(self, only: list[int] | None = None) -> int:
        """Process every event that is due now (tests, the replay command); returns how many."""
        done = 0
        while events := await self._claim(self.concurrency, only):
            await asyncio.gather(
                *(self._one(event.id, event.incoming(), event.attempts) for event in events)
            )
            done += len(events)
        return done

    async def wait_done(self, event_id: int, timeout: float) -> bool:
        """Wait until the event is processed (done or failed), here or by another worker."""
        waiter = self._waiters.setdefault(event_id, asyncio.Event())
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), min(left, 0.25))
                    return True
                if event_id in self._running:
                    continue  # ours: the waiter tells (a read could wait for its lock on SQLite)
                with contextlib.suppress(TimeoutError):  # perhaps another worker's
                    async with asyncio.timeout(max(0.05, deadline - time.monotonic())):
                        async with self.host.sessionmaker() as session:
                            status = await event_status(session=session, event_id=event_id)
                        if status != EventStatus.PENDING:
                            return True
        finally:
            self._waiters.pop(event_id, None)

    async def _claim(self, limit: int, only: list[int] | None = None) -> list[InboxEvent]:
        async with self.host.sessionmaker() as session, session.begin():
            return await claim_events(
                session=session,
                now=self.host.clock.now(),
                limit=limit,
                worker=self.name,
                lease=LEASE,
                only=only,
            )

    def _start(
        self, event_id: int, incoming: Incoming, attempts: int, taken: Taken | None = None
    ) -> None:
        user = incoming.sender
        self._users[user] = event_id
        task = asyncio.create_task(self._one(event_id, incoming, attempts, taken))
        self._running[event_id] = task

        def finished(_: asyncio.Task[None]) -> None:
            self._running.pop(event_id, None)
            self._users.pop(user, None)
            # A claimed event's user may have more; an event taken at once wakes the loop
            # only when something may be waiting for its slot or behind it.
            if taken is None or self._full or user in self._behind:
                self._behind.discard(user)
                self._wake.set()

        task.add_done_callback(finished)

    async def _one(
        self, event_id: int, incoming: Incoming, attempts: int, taken: Taken | None = None
    ) -> None:
        dispatcher = self.host.dispatcher
        try:
            fetched = await self._download(event_id, incoming)
            if taken is not None and fetched is not None:
                taken = replace(taken, incoming=fetched)
            sender = self.sender.taking() if self.sender else ""
            rows = await dispatcher.process_stored(event_id, taken=taken, sender=sender)
        except asyncio.CancelledError:
            raise
        except NotFirstOfUser:
            await self._give_back(event_id)
        except Exception as error:
            if await self._fault(dispatcher, event_id, attempts, error):
                if self.sender is not None:
                    self.sender.nudge()  # the sender is told
                self._processed(event_id)
        else:
            if rows and self.sender is not None:
                self.sender.take(rows)
            self._processed(event_id)

    async def _give_back(self, event_id: int) -> None:
        """An event taken at once waits behind its user's earlier one: the loop claims it."""
        self._full = True  # wake the loop when this slot is free
        try:
            async with self.host.sessionmaker() as session, session.begin():
                await release_claim(session=session, event_id=event_id, worker=self.name)
        except Exception as error:
            logger.warning("event %s: could not give it back (%s)", event_id, error)

    async def _download(self, event_id: int, incoming: Incoming) -> Incoming | None:
        """Fetch the pictures and files the event announced (outside its transaction: a
        download takes seconds) and keep them on the stored event; returns the event with
        them (None: nothing to fetch)."""
        if not any(a.waiting for a in incoming.attachments):
            return None
        download = self.downloader(incoming.platform) if self.downloader else None
        settings = self.host.settings
        fetched = tuple(
            [
                await fetch_pending(a, download, settings) if a.waiting else a
                for a in incoming.attachments
            ]
        )
        async with self.host.sessionmaker() as session, session.begin():
            await store_attachments(session=session, event_id=event_id, attachments=fetched)
        return replace(incoming, attachments=fetched)

    async def _fault(
        self, dispatcher: Dispatcher, event_id: int, attempts: int, error: Exception
    ) -> bool:
        """Retry later or give up; True when the event was marked failed.

        Recording that needs the database too: while it is away (the lock that made the event
        fail still held), recording is tried again after the same waits.
        """
        attempts += 1
        settings = self.host.settings
        wait = settings.EVENT_RETRY_SECONDS * 2 ** (attempts - 1)
        delay = min(RETRY_CAP, wait)
        for retry in range(RECORD_TRIES):
            try:
                if not (is_transient(error) and attempts < settings.EVENT_ATTEMPTS):
                    return await dispatcher.fail_stored(event_id, error, attempts)
                async with self.host.sessionmaker() as session, session.begin():
                    await retry_later(
                        session=session,
                        event_id=event_id,
                        attempts=attempts,
                        error=f"{type(error).__name__}: {error}",
                        not_before=self.host.clock.now() + timedelta(seconds=delay),
                    )
                logger.warning(
                    "event %s: %s (try %d of %d); again in %.1f s",
                    event_id,
                    error,
                    attempts,
                    settings.EVENT_ATTEMPTS,
                    delay,
                )
                return False
            except Exception as again:
                logger.warning("event %s: could not record the fault (%s)", event_id, again)
                if self._stopping:
                    break
                await asyncio.sleep(min(RETRY_CAP, settings.EVENT_RETRY_SECONDS * 2**retry))
        return False  # the claim lapses and the event comes back

    def _processed(self, event_id: int) -> None:
        waiter = self._waiters.get(event_id)
        if waiter is not None:
            waiter.set()

    async def _finish_running(self, grace: float = 5.0) -> None:
        tasks = list(self._running.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _release(self) -> None:
        try:
            async with self.host.sessionmaker() as session, session.begin():
                released = await release_claims(session=session, worker=self.name)
            if released:
                logger.info("gave back %d claimed event(s)", released)
        except Exception as error:
            logger.warning("could not give back claimed events: %s", error)

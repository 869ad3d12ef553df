"""Outbox sender: claims due rows, sends them through each platform's transport, marks them.

A row is marked sent right after its send, so a crash re-sends at most the rows in flight;
failures are retried with back-off (429 waits its retry_after), and a permanent failure marks
the identity unreachable. Direct replies go first, through the same rate limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Reply
from bot.core.clock import Clock
from bot.group_commit import GroupCommit
from bot.ratelimit import RateLimiter
from models.button import SHARED, issue_token
from models.member import Identity
from models.outbox import (
    PRIORITY_BULK,
    PRIORITY_REPLY,
    OutboxMessage,
    OutboxStatus,
    claim_due,
    release_claims,
    stored_buttons,
    update_row,
)
from models.prebuilt import driver_transaction

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


class DeliveryError(Exception):
    """A send failed. `permanent`: do not retry; `unreachable`: the user blocked us."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        unreachable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or unreachable
        self.unreachable = unreachable
        self.retry_after = retry_after


class Transport(Protocol):
    """What a platform adapter offers the sender."""

    platform: str
    limiter: RateLimiter | None
    concurrency: int

    async def send(self, user_key: str, reply: Reply) -> None: ...


class BatchTransport(Transport, Protocol):
    """A transport that can send one message to up to `batch_size` users in one call."""

    batch_size: int

    async def send_batch(self, user_keys: list[str], reply: Reply) -> list[str]:
        """Send to all; returns the user keys the platform rejected."""
        ...


Mark = tuple[int, dict[str, object]]  # an outbox row's id and the columns to set


def _batch_size(transport: Transport) -> int:
    return max(1, int(getattr(transport, "batch_size", 1)))


def _groups(rows: list[OutboxMessage], size: int) -> list[list[OutboxMessage]]:
    """Rows in claim order, rows of identical content grouped in chunks of at most `size`."""
    if size <= 1:
        return [[row] for row in rows]
    same: dict[tuple[object, ...], list[OutboxMessage]] = {}
    for row in rows:
        content = (row.text, repr(row.buttons), row.image, row.file, row.kind, row.ref_id)
        same.setdefault(content, []).append(row)
    return [group[i : i + size] for group in same.values() for i in range(0, len(group), size)]


def retry_delay(attempts: int, priority: int) -> float:
    """Seconds before the next try: a direct reply from 2 s (at most a minute), other rows
    from 10 s (at most ten minutes)."""
    if priority <= PRIORITY_REPLY:
        return min(60.0, 2.0**attempts)
    return min(600.0, 5.0 * 2**attempts)


Job = tuple[list[OutboxMessage], Reply]
URGENT = (PRIORITY_REPLY, PRIORITY_REPLY)
LATER = (PRIORITY_REPLY + 1, PRIORITY_BULK)


class OutboxSender:
    """Sends outbox rows; in `run_forever`, direct replies in a lane of their own.

    Two lanes share each platform's rate limiter: the reply lane (woken by `nudge`) and the
    lane of everything else (polled every second). The limiter serves a waiting reply before
    a waiting broadcast message, so a broadcast never starves a conversation. An event's
    reply rows can be written claimed by this sender and handed over (`take`): the reply lane
    sends them without a claim of its own. `stop()` lets
    the sends in flight finish, then the rows claimed but not sent go back to the queue.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        transports: Mapping[str, Transport],
        clock: Clock | None = None,
        batch: int = 200,
        name: str = "",
    ) -> None:
        self.sessionmaker = sessionmaker
        self.transports = dict(transports)
        self.clock = clock or Clock()
        self.batch = batch
        self.name = name
        self.heartbeat = 0.0  # time.monotonic() of the reply lane's last turn; 0: not running
        self._held: dict[int, datetime | None] = {}  # claimed by us, not finished: id → lease
        self._stopping = False
        self._wake = {True: asyncio.Event(), False: asyncio.Event()}
        self._look = {True: True, False: True}  # a lane claims: nudged, or nothing else to do
        self._handed: list[OutboxMessage] = []  # rows written claimed by us, not sent yet
        self._giving_back: set[asyncio.Task[None]] = set()
        # Sends that finish while one's mark is being written are marked together after it.
        self._sent_marks: GroupCommit[Mark] = GroupCommit(self._write_marks)

    def nudge(self) -> None:
        """New rows are due: look now rather than at the next poll."""
        for urgent, event in self._wake.items():
            self._look[urgent] = True
            event.set()

    def taking(self) -> str:
        """This sender's name while its reply lane runs: an event's reply rows can then be
        written claimed by it and handed over (`take`), with no claim to wait for."""
        running = self.heartbeat > 0 and not self._stopping
        return self.name if running and self.name else ""

    def take(self, rows: Sequence[OutboxMessage]) -> None:
        """Rows just committed: the reply lane sends those written claimed by this sender, in
        order after the rows it already holds; for any other row the lanes look."""
        mine = [r for r in rows if r.status == OutboxStatus.SENDING and r.claimed_by == self.name]
        if len(mine) < len(rows):
            self.nudge()
        if not mine:
            return
        for row in mine:
            self._held[row.id] = row.claimed_until
        if not self.taking():  # stopped meanwhile: back to the queue, for a claim
            task = asyncio.get_running_loop().create_task(self._release())
            self._giving_back.add(task)
            task.add_done_callback(self._giving_back.discard)
            return
        self._handed.extend(mine)
        self._wake[True].set()

    def stop(self) -> None:
        """Claim nothing more and start no new send; `run_forever` then returns."""
        self._stopping = True
        self.nudge()

    async def drain(self) -> int:
        """Send everything due now, most urgent first; returns how many rows were sent. A
        claim that took fewer rows than it may took every row due: no second look."""
        sent = 0
        more = True
        while more:
            jobs, more = await self._claim(URGENT[0], LATER[1])
            if not jobs:
                break
            sent += sum(await self._send_all(jobs))
        if sent:
            logger.info("outbox: sent %d message(s)", sent)  # per worker, when several share
        return sent

    async def run_forever(self, interval: float = 1.0) -> None:
        """Both lanes until stop(); then give back the rows claimed and not sent."""
        self._stopping = False
        await self._release(previous_run=True)
        lanes = [
            asyncio.create_task(self._lane(True, interval)),
            asyncio.create_task(self._lane(False, interval)),
        ]
        try:
            await asyncio.gather(*lanes)
        finally:
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
            self.heartbeat = 0.0
            self._handed = []  # in _held too: given back below
            await self._release()

    async def _lane(self, urgent: bool, interval: float) -> None:
        low, high = URGENT if urgent else LATER
        wake = self._wake[urgent]
        claimed_at = 0.0
        while not self._stopping:
            if urgent:
                self.heartbeat = time.monotonic()
            wake.clear()  # a nudge from now on means rows this claim may not see
            jobs: list[Job] = []
            if urgent and self._handed:
                jobs = [([row], row.to_reply()) for row in self._handed]
                self._handed = []
            more = False
            # Rows handed over need no claim; one is still made when nudged, when nothing
            # was handed, and once per interval (rows held back fall due unannounced).
            if self._look[urgent] or not jobs or time.monotonic() - claimed_at >= interval:
                self._look[urgent] = False
                claimed_at = time.monotonic()
                try:
                    claimed, more = await self._claim(low, high)
                    jobs = claimed + jobs  # rows of earlier events first
                except Exception:
                    logger.exception("outbox lane: claiming failed")
            try:
                if jobs:
                    sent = sum(await self._send_all(jobs))
                    if sent:
                        logger.info("outbox: sent %d message(s)", sent)
                    if more:
                        self._look[urgent] = True
                        continue
            except Exception:
                logger.exception("outbox lane failed")
            if not wake.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), interval)

    async def _release(self, previous_run: bool = False) -> None:
        """Rows claimed and not sent go back to the queue, due at once."""
        held, self._held = dict(self._held), {}
        if not held and not (previous_run and self.name):
            return
        try:
            async with self.sessionmaker() as session, session.begin():
                released = await release_claims(
                    session=session, held=held, worker=self.name if previous_run else ""
                )
            if released:
                logger.info("outbox: gave back %d claimed row(s)", released)
        except Exception as error:
            logger.warning("outbox: could not give back claimed rows: %s", error)

    async def _claim(self, low: int, high: int) -> tuple[list[Job], bool]:
        """Claim due rows per platform; rows a batching transport can send together are grouped.
        Also says whether more may be due (a platform's claim took as many as it may).

        Buttons carry tokens issued to the recipient, or to SHARED for a group (one card sent
        to many cannot carry per-user tokens; a shared token acts for whoever presses it).
        """
        now = self.clock.now()
        jobs: list[Job] = []
        more = False
        async with self.sessionmaker() as session, session.begin():
            for platform, transport in self.transports.items():
                size = _batch_size(transport)
                limit = max(self.batch, size)
                rows = await claim_due(
                    session=session,
                    platforms=[platform],
                    now=now,
                    limit=limit,
                    priorities=(low, high),
                    worker=self.name,
                )
                more = more or len(rows) == limit
                for row in rows:
                    self._held[row.id] = row.claimed_until
                for group in _groups(rows, size):
                    jobs.append((group, await self._reply_for(session, group)))
        return jobs, more

    async def _reply_for(self, session: AsyncSession, rows: list[OutboxMessage]) -> Reply:
        """The rows' common content as a Reply whose buttons carry tokens.

        Tokens are issued once and kept on the rows, so a re-send after a crash is the same
        message (WeCom's duplicate check can then drop it).
        """
        reply = rows[0].to_reply()
        if not reply.buttons or all(b.token for b in reply.buttons):
            return reply
        user_key = rows[0].user_key if len(rows) == 1 else SHARED
        now = self.clock.now()  # one moment for the message: its buttons are typed as a set
        buttons = tuple(
            [
                b.issued(
                    await issue_token(
                        session=session,
                        platform=rows[0].platform,
                        user_key=user_key,
                        button=b,
                        now=now,
                        position=position,
                    )
                )
                for position, b in enumerate(reply.buttons)
            ]
        )
        reply = replace(reply, buttons=buttons)
        for row in rows:
            row.buttons = stored_buttons(reply)
        return reply

    async def _send_all(self, jobs: list[Job]) -> list[int]:
        """Jobs in claim order, up to each transport's concurrency at once; a user's rows one
        after the other (a reply's parts arrive in order)."""
        gates = {p: asyncio.Semaphore(max(1, t.concurrency)) for p, t in self.transports.items()}
        loop = asyncio.get_running_loop()
        last: dict[tuple[str, str], asyncio.Future[None]] = {}

        async def one(
            rows: list[OutboxMessage],
            reply: Reply,
            before: asyncio.Future[None] | None,
            done: asyncio.Future[None],
        ) -> int:
            platform = rows[0].platform
            transport = self.transports[platform]
            try:
                async with gates[platform]:  # taken in claim order: the user's earlier row first
                    if before is not None:
                        await before
                    if len(rows) > 1:
                        return await self._send_batch(transport, rows, reply)
                    return int(await self._send_one(transport, rows[0], reply))
            finally:
                done.set_result(None)

        calls = []
        for n, (rows, reply) in enumerate(jobs):
            who = rows[0].user_key if len(rows) == 1 else f"#batch{n}"
            done: asyncio.Future[None] = loop.create_future()
            calls.append(one(rows, reply, last.get((rows[0].platform, who)), done))
            last[(rows[0].platform, who)] = done
        return list(await asyncio.gather(*calls))

    async def _send_batch(
        self, transport: Transport, rows: list[OutboxMessage], reply: Reply
    ) -> int:
        """One call for many recipients; the users the platform rejects become unreachable."""
        if self._stopping:
            return 0
        keys = [row.user_key for row in rows]
        if transport.limiter is not None:
            await transport.limiter.acquire_many(keys)
        if self._stopping:
            return 0
        try:
            invalid = set(await transport.send_batch(keys, reply))  # type: ignore[attr-defined]
        except Exception as error:
            failure = error if isinstance(error, DeliveryError) else DeliveryError(str(error))
            logger.warning("batched send of %d outbox rows failed: %s", len(rows), error)
            if failure.retry_after and transport.limiter is not None:
                transport.limiter.pause(failure.retry_after)
            for row in rows:
                await self._failed(row, failure)
            return 0
        for row in rows:
            if row.user_key in invalid:
                await self._failed(row, DeliveryError("invalid user", unreachable=True))
        sent = [row.id for row in rows if row.user_key not in invalid]
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(sent))
                .values(status=OutboxStatus.SENT, sent_at=self.clock.now(), error="")
            )
        for row_id in sent:
            self._held.pop(row_id, None)
        return len(sent)

    async def _send_one(self, transport: Transport, row: OutboxMessage, reply: Reply) -> bool:
        if self._stopping:
            return False  # given back to the queue when the lane stops
        if transport.limiter is not None:
            if row.priority <= PRIORITY_REPLY:
                await transport.limiter.acquire(row.user_key, urgent=True)
            else:
                await transport.limiter.acquire(row.user_key)
        if self._stopping:
            return False
        lease = row.claimed_until
        if lease is not None and self.clock.now() >= lease:
            # We waited past our claim (a long 429 pause): another worker may own the row now.
            logger.info("outbox row %s: claim lapsed before sending, left for a new claim", row.id)
            self._held.pop(row.id, None)
            return False
        try:
            await transport.send(row.user_key, reply)
        except DeliveryError as error:
            if error.retry_after and transport.limiter is not None:
                transport.limiter.pause(error.retry_after)
            await self._failed(row, error)
            return False
        except Exception as error:  # a transport bug or network error: retry later
            logger.warning("send of outbox row %s failed: %s", row.id, error)
            await self._failed(row, DeliveryError(str(error)))
            return False
        sent = {"status": OutboxStatus.SENT, "sent_at": self.clock.now(), "error": ""}
        await self._sent_marks.add((row.id, sent))
        return True

    async def _failed(self, row: OutboxMessage, error: DeliveryError) -> None:
        attempts = row.attempts + 1
        # A rate-limit answer (retry_after) defers the message; it never makes it fail.
        if error.permanent or (attempts >= MAX_ATTEMPTS and not error.retry_after):
            await self._mark(
                row.id,
                status=(OutboxStatus.UNREACHABLE if error.unreachable else OutboxStatus.FAILED),
                attempts=attempts,
                error=str(error)[:500],
            )
            if error.unreachable:
                await self._mark_unreachable(row)
            return
        delay = error.retry_after or retry_delay(attempts, row.priority)
        await self._mark(
            row.id,
            status=OutboxStatus.PENDING,
            attempts=attempts,
            error=str(error)[:500],
            not_before=self.clock.now() + timedelta(seconds=delay),
        )

    async def _mark(self, row_id: int, **values: object) -> None:
        await self._write_marks([(row_id, values)])

    async def _write_marks(self, marks: list[Mark]) -> None:
        """Set each row's columns, in one transaction; the rows are ours no longer."""
        async with driver_transaction(self.sessionmaker) as transaction:
            for row_id, values in marks:
                await update_row(session=transaction, row_id=row_id, **values)
        for row_id, _ in marks:
            self._held.pop(row_id, None)

    async def _mark_unreachable(self, row: OutboxMessage) -> None:
        if row.kind == "pointer":
            return  # a group chat the bot was removed from: nobody's identity
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(Identity)
                .where(Identity.platform == row.platform, Identity.user_key == row.user_key)
                .values(unreachable=True)
            )

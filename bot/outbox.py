"""Outbox sender: claims due rows, sends them through each platform's transport, marks them.

A row is marked sent right after its send, so a crash re-sends at most the rows in flight;
failures are retried with back-off, and a permanent failure marks the identity unreachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Reply
from bot.core.clock import Clock
from bot.ratelimit import RateLimiter
from models.button import SHARED, issue_token
from models.member import Identity
from models.outbox import OutboxMessage, OutboxStatus, claim_due

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


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


class OutboxSender:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        transports: Mapping[str, Transport],
        clock: Clock | None = None,
        batch: int = 200,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.transports = dict(transports)
        self.clock = clock or Clock()
        self.batch = batch

    async def drain(self) -> int:
        """Send everything due now; returns how many rows were sent."""
        sent = 0
        while rows := await self._claim():
            results = await self._send_all(rows)
            sent += sum(results)
        if sent:
            logger.info("outbox: sent %d message(s)", sent)  # per worker, when several share
        return sent

    async def run_forever(self, interval: float = 1.0) -> None:
        while True:
            try:
                await self.drain()
            except Exception:
                logger.exception("outbox drain failed")
            await asyncio.sleep(interval)

    async def _claim(self) -> list[tuple[list[OutboxMessage], Reply]]:
        """Claim due rows per platform; rows a batching transport can send together are grouped.

        Buttons carry tokens issued to the recipient, or to SHARED for a group (one card sent
        to many cannot carry per-user tokens; a shared token acts for whoever presses it).
        """
        now = self.clock.now()
        jobs: list[tuple[list[OutboxMessage], Reply]] = []
        async with self.sessionmaker() as session, session.begin():
            for platform, transport in self.transports.items():
                size = _batch_size(transport)
                rows = await claim_due(
                    session=session, platforms=[platform], now=now, limit=max(self.batch, size)
                )
                for group in _groups(rows, size):
                    jobs.append((group, await self._reply_for(session, group)))
        return jobs

    async def _reply_for(self, session: AsyncSession, rows: list[OutboxMessage]) -> Reply:
        """The rows' common content as a Reply whose buttons carry fresh tokens."""
        reply = rows[0].to_reply()
        if not reply.buttons:
            return reply
        user_key = rows[0].user_key if len(rows) == 1 else SHARED
        buttons = tuple(
            [
                b.issued(
                    await issue_token(
                        session=session,
                        platform=rows[0].platform,
                        user_key=user_key,
                        button=b,
                        now=self.clock.now(),
                        position=position,
                    )
                )
                for position, b in enumerate(reply.buttons)
            ]
        )
        return replace(reply, buttons=buttons)

    async def _send_all(self, jobs: list[tuple[list[OutboxMessage], Reply]]) -> list[int]:
        by_platform: dict[str, list[tuple[list[OutboxMessage], Reply]]] = {}
        for rows, reply in jobs:
            by_platform.setdefault(rows[0].platform, []).append((rows, reply))
        results: list[int] = []
        for platform, items in by_platform.items():
            transport = self.transports[platform]
            gate = asyncio.Semaphore(max(1, transport.concurrency))

            async def one(
                rows: list[OutboxMessage],
                reply: Reply,
                t: Transport = transport,
                g: asyncio.Semaphore = gate,
            ) -> int:
                async with g:
                    if len(rows) > 1:
                        return await self._send_batch(t, rows, reply)
                    return int(await self._send_one(t, rows[0], reply))

            results += await asyncio.gather(*(one(rows, reply) for rows, reply in items))
        return results

    async def _send_batch(
        self, transport: Transport, rows: list[OutboxMessage], reply: Reply
    ) -> int:
        """One call for many recipients; the users the platform rejects become unreachable."""
        keys = [row.user_key for row in rows]
        if transport.limiter is not None:
            await transport.limiter.acquire_many(keys)
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
        return len(sent)

    async def _send_one(self, transport: Transport, row: OutboxMessage, reply: Reply) -> bool:
        if transport.limiter is not None:
            await transport.limiter.acquire(row.user_key)
        lease = row.claimed_until
        if lease is not None and self.clock.now() >= lease:
            # We waited past our claim (a long 429 pause): another worker may own the row now.
            logger.info("outbox row %s: claim lapsed before sending, left for a new claim", row.id)
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
        await self._mark(row.id, status=OutboxStatus.SENT, sent_at=self.clock.now(), error="")
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
        delay = error.retry_after or min(600.0, 5.0 * 2**attempts)
        await self._mark(
            row.id,
            status=OutboxStatus.PENDING,
            attempts=attempts,
            error=str(error)[:500],
            not_before=self.clock.now() + timedelta(seconds=delay),
        )

    async def _mark(self, row_id: int, **values: object) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
            )

    async def _mark_unreachable(self, row: OutboxMessage) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(Identity)
                .where(Identity.platform == row.platform, Identity.user_key == row.user_key)
                .values(unreachable=True)
            )

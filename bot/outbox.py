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

from bot.clock import Clock
from bot.core import Button, Reply
from bot.ratelimit import RateLimiter
from models.button import issue_token
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

    async def _claim(self) -> list[tuple[OutboxMessage, Reply]]:
        now = self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            rows = await claim_due(
                session=session, platforms=list(self.transports), now=now, limit=self.batch
            )
            return [(row, await self._reply_for(session, row)) for row in rows]

    async def _reply_for(self, session: AsyncSession, row: OutboxMessage) -> Reply:
        """The row as a Reply whose buttons carry tokens issued to its recipient."""
        reply = row.to_reply()
        if not reply.buttons:
            return reply
        buttons = tuple(
            [
                Button(
                    b.label,
                    await issue_token(
                        session=session,
                        platform=row.platform,
                        user_key=row.user_key,
                        action=b.action,
                        now=self.clock.now(),
                    ),
                )
                for b in reply.buttons
            ]
        )
        return replace(reply, buttons=buttons)

    async def _send_all(self, rows: list[tuple[OutboxMessage, Reply]]) -> list[bool]:
        by_platform: dict[str, list[tuple[OutboxMessage, Reply]]] = {}
        for row, reply in rows:
            by_platform.setdefault(row.platform, []).append((row, reply))
        results: list[bool] = []
        for platform, items in by_platform.items():
            transport = self.transports[platform]
            gate = asyncio.Semaphore(max(1, transport.concurrency))

            async def one(
                row: OutboxMessage,
                reply: Reply,
                t: Transport = transport,
                g: asyncio.Semaphore = gate,
            ) -> bool:
                async with g:
                    return await self._send_one(t, row, reply)

            results += await asyncio.gather(*(one(row, reply) for row, reply in items))
        return results

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
        if error.permanent or attempts >= MAX_ATTEMPTS:
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

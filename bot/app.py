"""Wiring shared by every entry point: engine, dispatcher and outbox sender."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.dispatcher import Dispatcher
from bot.outbox import OutboxSender, Transport
from handlers import ROUTES
from models.db import make_engine, make_sessionmaker
from settings import Settings


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    dispatcher: Dispatcher
    sender: OutboxSender
    clock: Clock = field(default_factory=Clock)

    async def close(self) -> None:
        for transport in self.sender.transports.values():
            aclose = getattr(transport, "aclose", None)  # transports holding HTTP clients
            if aclose is not None:
                await aclose()
        await self.engine.dispose()


def build_app(
    settings: Settings, transports: Mapping[str, Transport], clock: Clock | None = None
) -> App:
    clock = clock or Clock()
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    return App(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        dispatcher=Dispatcher(ROUTES, sessionmaker, settings, clock),
        sender=OutboxSender(sessionmaker, transports, clock),
        clock=clock,
    )


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram", "jieba", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

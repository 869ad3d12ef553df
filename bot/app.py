"""The composition module: the one place the registration tables (handlers.ROUTES, SWEEPS)
meet the machinery. Every entry point builds its App here: engine, dispatcher, event worker,
outbox sender."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core import Route, Sweep
from bot.core.clock import Clock
from bot.dispatcher import Dispatcher
from bot.intake import Download, EventWorker, default_name
from bot.outbox import OutboxSender, Transport
from handlers import ROUTES, SWEEPS
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
    routes: Sequence[Route] = ROUTES
    sweeps: Sequence[Sweep] = SWEEPS
    name: str = ""  # this worker, as its claims are marked (host:port for `serve`)
    worker: EventWorker = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.name or default_name()
        self.sender.name = self.sender.name or self.name
        # The worker reads app.dispatcher at each event: tests swap it after build_app.
        self.worker = EventWorker(
            self,
            name=self.name,
            sender=self.sender,
            downloader=self._downloader,
        )

    def _downloader(self, platform: str) -> Download | None:
        """The platform's download (Telegram getFile, WeCom media/get), read at each use."""
        transport = self.sender.transports.get(platform)
        download = getattr(transport, "download", None)
        return download if callable(download) else None

    async def close(self) -> None:
        for transport in self.sender.transports.values():
            aclose = getattr(transport, "aclose", None)  # transports holding HTTP clients
            if aclose is not None:
                await aclose()
        await self.engine.dispose()


def build_app(
    settings: Settings,
    transports: Mapping[str, Transport],
    clock: Clock | None = None,
    name: str = "",
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
        name=name,
    )


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram", "jieba", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

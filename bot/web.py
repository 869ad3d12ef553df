"""The web app of `python -m bot serve`: platform webhooks plus GET /healthz.

Each platform adapter that is configured contributes its routes and its outbox transport
through `PLATFORMS`; the app also runs the outbox sender and the scheduler in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.adapters import wecom
from bot.app import App
from bot.outbox import Transport
from settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Platform:
    """How one adapter plugs into `serve`: is it configured, its routes, its transport."""

    name: str
    configured: Callable[[Settings], bool]
    routes: Callable[[App], list[BaseRoute]]
    transport: Callable[[Settings], Transport]


# Adapters register here (telegram, wecom); see bot/adapters/.
PLATFORMS: list[Platform] = [
    Platform("wecom", wecom.configured, wecom.routes, wecom.transport),
]


def transports_for(settings: Settings) -> dict[str, Transport]:
    return {p.name: p.transport(settings) for p in PLATFORMS if p.configured(settings)}


def build_web_app(app: App, background: bool = True) -> Starlette:
    """The ASGI app; with `background`, the outbox sender and scheduler run alongside."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    for platform in PLATFORMS:
        if platform.configured(app.settings):
            routes += platform.routes(app)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        scheduler = None
        if background:
            from bot.scheduler import start_scheduler
            from handlers import SWEEPS

            tasks.append(asyncio.create_task(app.sender.run_forever()))
            scheduler = start_scheduler(SWEEPS, app.sessionmaker, app.clock, app.settings)
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await app.close()

    return Starlette(routes=routes, lifespan=lifespan)

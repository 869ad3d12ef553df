"""The web app of `python -m bot serve`: platform webhooks plus GET /healthz.

Each platform adapter that is configured contributes its routes and its outbox transport
through `PLATFORMS`; the app also runs the outbox sender and the scheduler in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.adapters import telegram, wecom
from bot.admin import console_routes
from bot.app import App
from bot.outbox import Transport
from settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Platform:
    """How one adapter plugs into `serve`: is it configured, its routes, its transport.

    `lifespan`, if given, runs while the server runs; the dict it yields is merged into the
    lifespan state that endpoints read as `request.state`.
    """

    name: str
    configured: Callable[[Settings], bool]
    routes: Callable[[App], list[BaseRoute]]
    transport: Callable[[Settings], Transport]
    lifespan: Callable[[App], AbstractAsyncContextManager[dict[str, Any]]] | None = None


# Adapters register here (telegram, wecom); see bot/adapters/.
PLATFORMS: list[Platform] = [
    Platform(
        "telegram",
        telegram.configured,
        telegram.webhook_routes,
        telegram.TelegramTransport,
        telegram.webhook_lifespan,
    ),
    Platform("wecom", wecom.configured, wecom.routes, wecom.transport),
]


def transports_for(settings: Settings) -> dict[str, Transport]:
    return {p.name: p.transport(settings) for p in PLATFORMS if p.configured(settings)}


def build_web_app(app: App, background: bool = True) -> Starlette:
    """The ASGI app; with `background`, the outbox sender and scheduler run alongside."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"]), *console_routes(app)]
    for platform in PLATFORMS:
        if platform.configured(app.settings):
            routes += platform.routes(app)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        stack = contextlib.AsyncExitStack()
        state: dict[str, Any] = {}
        for platform in PLATFORMS:
            if platform.lifespan is not None and platform.configured(app.settings):
                state.update(await stack.enter_async_context(platform.lifespan(app)))
        tasks = start_background(app) if background else []
        try:
            yield state
        finally:
            await stack.aclose()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await app.close()

    return Starlette(routes=routes, lifespan=lifespan)


def start_background(app: App) -> list[asyncio.Task[None]]:
    """The outbox sender, and the scheduler whenever this worker holds the leader lock."""
    from bot.leader import LeaderLock, lead_when_possible
    from bot.scheduler import start_scheduler

    def start() -> object:
        return start_scheduler(app.sweeps, app.sessionmaker, app.clock, app.settings)

    def stop(scheduler: object) -> None:
        scheduler.shutdown(wait=False)  # type: ignore[attr-defined]

    tasks = [asyncio.create_task(app.sender.run_forever())]
    if app.settings.SCHEDULER_ENABLED:
        lock = LeaderLock(app.engine, app.settings)
        tasks.append(asyncio.create_task(lead_when_possible(lock, start, stop)))
    return tasks

"""The web app of `python -m bot serve`: platform webhooks, GET /healthz and GET /readyz.

Each platform adapter that is configured contributes its routes and its outbox transport
through `PLATFORMS`; the app also runs the event worker, the outbox sender and the scheduler
(bot/runtime.py). /healthz: the process answers. /readyz: it can do its work (see readiness).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.adapters import telegram, wecom
from bot.admin import console_routes
from bot.app import App
from bot.outbox import Transport
from bot.runtime import Background
from models.inbox import oldest_pending
from models.outbox import PRIORITY_REPLY, oldest_due
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
    """The ASGI app. The event worker always runs; with `background`, the outbox sender and
    the scheduler run alongside (without them, tests drain the outbox themselves)."""
    runtime = Background(app, sender=background, scheduler=None if background else False)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def readyz(request: Request) -> JSONResponse:
        checks = await readiness(app, runtime)
        ready = all(check["ok"] for check in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *console_routes(app),
    ]
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
        runtime.start()
        try:
            yield state
        finally:
            await runtime.stop()
            await stack.aclose()
            await app.close()

    return Starlette(routes=routes, lifespan=lifespan)


async def readiness(app: App, runtime: Background) -> dict[str, dict[str, Any]]:
    """The database answers; the worker and sender loops turn; nothing waits too long: the
    oldest unprocessed event and the oldest due direct reply within READY_LAG_SECONDS, any
    due outbox row within READY_OUTBOX_LAG_SECONDS (platforms this worker sends to)."""
    settings = app.settings
    checks: dict[str, dict[str, Any]] = {}
    health = runtime.health()
    checks["worker"] = {"ok": health["worker"]}
    checks["sender"] = {"ok": health["sender"] or not runtime.with_sender}
    now = app.clock.now()
    platforms = list(app.sender.transports)

    def lag(since: datetime | None, bound: int) -> dict[str, Any]:
        seconds = max(0.0, (now - since).total_seconds()) if since else 0.0
        return {"ok": seconds <= bound, "seconds": round(seconds, 1), "bound": bound}

    try:
        async with asyncio.timeout(3):
            async with app.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
                event = await oldest_pending(session=session)
                reply = await oldest_due(
                    session=session, platforms=platforms, now=now, priority=PRIORITY_REPLY
                )
                row = await oldest_due(session=session, platforms=platforms, now=now)
    except Exception as error:
        checks["database"] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:200]}
        return checks
    checks["database"] = {"ok": True}
    checks["oldest_event"] = lag(event, settings.READY_LAG_SECONDS)
    checks["oldest_reply"] = lag(reply, settings.READY_LAG_SECONDS)
    checks["oldest_outbox"] = lag(row, settings.READY_OUTBOX_LAG_SECONDS)
    return checks

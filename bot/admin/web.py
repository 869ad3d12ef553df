"""The console's routes under /admin: login by a one-time link, logout, every page, static files.

Each page is `async def page(request, viewer) -> Response` listed in its module's PAGES with
the role it needs; `guard` gives it one database transaction, refuses a visitor without a
session (401 page: how to get a link), a viewer without the role (403 page: which role), a
write without the CSRF token (403, nothing read or written), and turns `Missing` into 404.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.admin.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    NEED_ZH,
    Viewer,
    clear_session_cookies,
    csrf_ok,
    csrf_token,
    session_cookie,
    set_session_cookies,
    viewer_of,
)
from bot.admin.render import render
from bot.app import App
from models.console_login import LoginError, check_login, console_secret, redeem_login

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
Page = Callable[[Request, Viewer], Awaitable[Response]]

LOGIN_PROBLEMS = {
    "unknown": "这个登录链接无效。",
    "used": "这个登录链接已经用过了，每个链接只能使用一次。",
    "expired": "这个登录链接已过期（10 分钟内有效）。",
    "not_allowed": "您的账号目前不能登录管理后台（需要联盟管理员、县级管理员或部门干部身份）。",
}


class Missing(Exception):
    """A record that does not exist or is outside the viewer's scope: 404, never a hint."""


@dataclass(frozen=True)
class PageRoute:
    path: str
    page: Page
    need: str
    methods: tuple[str, ...] = ("GET",)


def form_of(request: Request) -> FormData:
    """The posted form (read once by the guard, for the CSRF check)."""
    return request.state.form  # type: ignore[no-any-return]


def guard(app: App, page: Page, need: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        now = app.clock.now()
        async with app.sessionmaker() as session:
            try:
                response = await _run(request, session, now)
            except Missing:  # rendered before the rollback expires the viewer's rows
                viewer = getattr(request.state, "viewer", None)
                missing = render(request, viewer, "missing.html", status=404)
                await session.rollback()
                return missing
            except BaseException:
                await session.rollback()
                raise
            finally:
                form = getattr(request.state, "form", None)
                if form is not None:
                    await form.close()  # uploaded files' temporary copies
            if response.status_code >= 400:
                await session.rollback()  # a refused write leaves nothing half-written
            else:
                await session.commit()
            return response

    async def _run(request: Request, session: Any, now: Any) -> Response:
        viewer = await viewer_of(request, session, now, app.settings)
        if viewer is None:
            return render(request, None, "need_login.html", status=401)
        if not viewer.may(need):
            return render(request, viewer, "need_role.html", status=403, need=NEED_ZH[need])
        if request.method == "POST":
            request.state.form = await request.form()
            sent = request.headers.get(CSRF_HEADER) or str(request.state.form.get(CSRF_FIELD, ""))
            if not csrf_ok(request, sent, viewer.csrf):
                logger.warning("console: a write without a valid CSRF token was refused")
                return render(request, viewer, "csrf.html", status=403)
        request.state.viewer = viewer
        return await page(request, viewer)

    return endpoint


def build_routes(app: App, pages: list[PageRoute]) -> list[BaseRoute]:
    """Everything under /admin."""

    async def login(request: Request) -> Response:
        """GET shows a 登录 button (link previews fetch pages: they must not use the link up);
        POST uses the link and starts the session."""
        now = app.clock.now()
        if request.method == "GET":
            token = request.query_params.get("t", "")
            async with app.sessionmaker() as session:
                try:
                    await check_login(session=session, token=token, now=now)
                except LoginError as error:
                    problem = LOGIN_PROBLEMS[error.reason]
                    return render(request, None, "login_failed.html", status=403, problem=problem)
            return render(request, None, "login.html", token=token)
        async with request.form() as form:
            token = str(form.get("t", ""))
        async with app.sessionmaker() as session, session.begin():
            try:
                member = await redeem_login(session=session, token=token, now=now)
            except LoginError as error:
                problem = LOGIN_PROBLEMS[error.reason]
                return render(request, None, "login_failed.html", status=403, problem=problem)
            secret = await console_secret(session=session, settings=app.settings, now=now)
            value, nonce = session_cookie(secret, member.id, now)
            viewer = Viewer(member, session, now, csrf_token(secret, nonce), app.settings)
            viewer.audit("login")
        target = "/admin/" if viewer.is_admin else "/admin/tickets"
        response = RedirectResponse(target, status_code=303)
        secure = app.settings.PUBLIC_BASE_URL.startswith("https://")
        set_session_cookies(response, session_value=value, csrf=viewer.csrf, secure=secure)
        return response

    async def logout(request: Request, viewer: Viewer) -> Response:
        viewer.audit("logout")
        response = render(request, None, "logged_out.html")
        clear_session_cookies(response)
        return response

    routes: list[BaseRoute] = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", guard(app, logout, "queue"), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    for p in pages:
        routes.append(Route(p.path, guard(app, p.page, p.need), methods=list(p.methods)))
    return [Mount("/admin", routes=routes)]


def int_or(value: Any, default: int | None = None) -> int | None:
    """A form or query value as an int, else the default."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default

"""The web console under /admin (`python -m bot serve`): Starlette + Jinja2, htmx vendored.

Pages call the same model functions and scope rules as the chat handlers; see bot/admin/web.py
for login, sessions, CSRF and the page guard, bot/admin/pages/ for the pages.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from bot.app import App


def console_routes(app: App) -> list[BaseRoute]:
    """Every route of the console, mounted at /admin."""
    from bot.admin.pages import PAGES
    from bot.admin.web import build_routes

    return build_routes(app, PAGES)

"""The console's pages, one module each; PAGES lists every route with the role it needs."""

from __future__ import annotations

from bot.admin.pages import (
    activities,
    audit,
    departments,
    funds,
    imports,
    invites,
    notices,
    overview,
    resources,
    reviews,
    roster,
    rotation,
    tickets,
)
from bot.admin.web import PageRoute

PAGES: list[PageRoute] = [
    *overview.PAGES,
    *roster.PAGES,
    *imports.PAGES,
    *invites.PAGES,
    *rotation.PAGES,
    *departments.PAGES,
    *tickets.PAGES,
    *resources.PAGES,
    *notices.PAGES,
    *activities.PAGES,
    *funds.PAGES,
    *reviews.PAGES,
    *audit.PAGES,
]

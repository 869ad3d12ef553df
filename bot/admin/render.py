"""Pages: the Jinja2 templates, the navigation, lists that filter, page and export to .xlsx.

A list page is a `Column` tuple and a fetch function; the same columns and the same filtered
query make the table on screen and the .xlsx (`?format=xlsx`), so the export holds exactly
what the page lists (every page of it).
"""

from __future__ import annotations

import io
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.admin.auth import CSRF_FIELD, Need, Viewer
from bot.core.clock import fmt_local

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_SIZE = 20
# Pages hold people's data: not cached, not framed, no address (a login link) sent elsewhere.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (path, title, what the viewer needs): the navigation, in this order.
NAV: tuple[tuple[str, str, str], ...] = (
    ("/admin/", "总览", Need.ADMIN),
    ("/admin/roster", "花名册", Need.ADMIN),
    ("/admin/rotation", "轮值", Need.ADMIN),
    ("/admin/departments", "部门与分派", Need.COUNTY),
    ("/admin/tickets", "工单", Need.QUEUE),
    ("/admin/resources", "资源", Need.ADMIN),
    ("/admin/notices", "通知", Need.ADMIN),
    ("/admin/activities", "活动", Need.ADMIN),
    ("/admin/funds", "党建经费", Need.ADMIN),
    ("/admin/reviews", "审核", Need.ADMIN),
    ("/admin/audit", "审计日志", Need.ADMIN),
)


def cell(value: Any) -> str:
    """What a table cell (and the same cell of the export) shows."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return fmt_local(value, "%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = cell
    env.filters["local"] = lambda value, pattern="%Y-%m-%d %H:%M": (
        fmt_local(value, pattern) if value else ""
    )
    env.filters["pct"] = lambda value: "—" if value is None else f"{value:.0%}"
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return env


ENV = _env()


def nav_for(viewer: Viewer | None) -> list[tuple[str, str]]:
    if viewer is None:
        return []
    return [(path, title) for path, title, need in NAV if viewer.may(need)]


def render(
    request: Request,
    viewer: Viewer | None,
    template: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page, or only its fragment for an htmx request that asks for one."""
    values = {
        "request": request,
        "viewer": viewer,
        "me": viewer.member if viewer else None,
        "csrf": viewer.csrf if viewer else "",
        "nav": nav_for(viewer),
        "path": request.url.path,
        "ok": request.query_params.get("ok", ""),
        **context,
    }
    return HTMLResponse(
        ENV.get_template(template).render(values), status_code=status, headers=HEADERS
    )


def back_to(path: str, ok: str = "", **query: Any) -> RedirectResponse:
    """After a write: see the result (Post/Redirect/Get), with what was done as `ok`."""
    params = {k: v for k, v in {**query, "ok": ok}.items() if v not in ("", None)}
    return RedirectResponse(path + (f"?{urlencode(params)}" if params else ""), status_code=303)


def xlsx_response(
    name: str, title: str, head: Sequence[str], rows: Sequence[Sequence[object]]
) -> Response:
    """An .xlsx download of one sheet (filename in UTF-8)."""
    from models.export import sheet_book

    book, _ = sheet_book(title, head, rows)
    buffer = io.BytesIO()
    book.save(buffer)
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    return Response(
        buffer.getvalue(), media_type=XLSX, headers={"Content-Disposition": disposition}
    )


@dataclass(frozen=True)
class Column:
    head: str
    value: Callable[[Any], object]
    href: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class Filter:
    """A filter of a list: a select (`options`), a text box, or a check box ('1' when on)."""

    name: str
    label: str
    options: Sequence[tuple[str, str]] = ()
    kind: str = "select"  # select, text, check


@dataclass
class Listing:
    title: str
    columns: Sequence[Column]
    filters: Sequence[Filter]
    values: dict[str, str]
    rows: list[list[tuple[str, str | None]]]  # (text, link) per cell
    row_marks: list[str]
    total: int
    page: int
    pages: int
    export: str
    page_links: dict[str, str] = field(default_factory=dict)


Fetch = Callable[[int, int | None], Awaitable[tuple[Sequence[Any], int]]]


def filter_values(request: Request, filters: Sequence[Filter]) -> dict[str, str]:
    return {f.name: request.query_params.get(f.name, "").strip() for f in filters}


async def listing(
    request: Request,
    viewer: Viewer,
    *,
    title: str,
    columns: Sequence[Column],
    filters: Sequence[Filter],
    fetch: Fetch,
    sheet: str,
    mark: Callable[[Any], str] | None = None,
    template: str = "list.html",
    status: int = 200,
    **context: Any,
) -> Response:
    """The list page (or its table for htmx), or with ?format=xlsx the same rows as .xlsx."""
    values = filter_values(request, filters)
    if request.query_params.get("format") == "xlsx":
        rows, _ = await fetch(0, None)
        data = [[cell(c.value(r)) for c in columns] for r in rows]
        stamp = fmt_local(viewer.now, "%Y%m%d-%H%M")
        return xlsx_response(f"{sheet}-{stamp}.xlsx", sheet, [c.head for c in columns], data)
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    rows, total = await fetch((page - 1) * PAGE_SIZE, PAGE_SIZE)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    query = {k: v for k, v in values.items() if v}
    shown = Listing(
        title=title,
        columns=columns,
        filters=filters,
        values=values,
        rows=[[(cell(c.value(r)), c.href(r) if c.href else None) for c in columns] for r in rows],
        row_marks=[mark(r) if mark else "" for r in rows],
        total=total,
        page=page,
        pages=pages,
        export=f"{request.url.path}?{urlencode({**query, 'format': 'xlsx'})}",
        page_links={
            "prev": f"{request.url.path}?{urlencode({**query, 'page': page - 1})}"
            if page > 1
            else "",
            "next": f"{request.url.path}?{urlencode({**query, 'page': page + 1})}"
            if page < pages
            else "",
        },
    )
    fragment = request.headers.get("HX-Target") == "listing"
    chosen = "_listing.html" if fragment else template
    return render(request, viewer, chosen, status=status, listing=shown, **context)

"""The web console over httpx (ASGI, no server): a client per console user, logged in from
the link the chat sends, on the demo county with the frozen clock."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from html.parser import HTMLParser

import httpx
import pytest

from bot.app import App
from bot.web import build_web_app
from tests.fakes import Chat

BASE = "http://127.0.0.1:8080"
LINK_RE = re.compile(r"(http://127\.0\.0\.1:8080/admin/login\?t=[\w-]+)")
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]+)"')

Login = Callable[[str], Awaitable[httpx.AsyncClient]]


async def link_for(chat: Chat, user: str) -> str:
    """The one-time link the chat sends `user` for 后台."""
    [reply] = await chat.say(user, "后台")
    found = LINK_RE.search(reply)
    assert found, reply
    return found.group(1)


def csrf_of(page: str) -> str:
    found = CSRF_RE.search(page)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture
async def login(chat: Chat, demo_app: App) -> AsyncIterator[Login]:
    """login(user) -> a client with that user's console session."""
    web = build_web_app(demo_app, background=False)
    clients: list[httpx.AsyncClient] = []

    async def make(user: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE)
        clients.append(client)
        url = await link_for(chat, user)
        shown = await client.get(url)
        assert shown.status_code == 200 and "登录管理后台" in shown.text
        token = url.split("t=", 1)[1]
        done = await client.post("/admin/login", data={"t": token})
        assert done.status_code == 303, done.text
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def anonymous(demo_app: App) -> AsyncIterator[httpx.AsyncClient]:
    web = build_web_app(demo_app, background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE) as client:
        yield client


class _Table(HTMLParser):
    """The cell texts of the first list table (<table class="list ...">) of a page's list
    (inside #listing when the page has one)."""

    def __init__(self, within_listing: bool) -> None:
        super().__init__()
        self._want_listing = within_listing
        self._in_listing = False
        self.rows: list[list[str]] = []
        self.head: list[str] = []
        self._in_table = False
        self._done = False
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "div" and dict(attrs).get("id") == "listing":
            self._in_listing = True
        ready = self._in_listing or not self._want_listing
        if tag == "table" and "list" in classes and not self._done and ready:
            self._in_table = True
        elif self._in_table and tag == "thead":
            self._in_head = True
        elif self._in_table and tag == "tr":
            self._row = []
        elif self._in_table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if not self._in_table:
            return
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            (self.head if self._in_head else self.rows).append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._in_table, self._done = False, True

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(page: str) -> list[list[str]]:
    parser = _Table('id="listing"' in page)
    parser.feed(page)
    return parser.rows


def table_head(page: str) -> list[str]:
    parser = _Table('id="listing"' in page)
    parser.feed(page)
    return parser.head[0] if parser.head else []


def xlsx_rows(content: bytes) -> list[list[str]]:
    """The rows of an .xlsx download as text (the header row first)."""
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [
        ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]


def csrf_data(client: httpx.AsyncClient, **data: object) -> dict[str, object]:
    """A form with this session's CSRF token (the double-submit cookie's value)."""
    return {"csrf": client.cookies.get("hm_csrf", path="/admin"), **data}

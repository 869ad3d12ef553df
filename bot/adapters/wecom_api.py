"""WeCom API side: a thin client (gettoken, message/send, media/upload, menu/create), payloads
and the transport.

wechatpy's client is synchronous, has no default time-outs and hard-codes the gettoken URL;
these three calls are simpler to make directly. Every call has a time-out, and every URL
starts with settings.WECOM_API_BASE_URL. The access token is cached in the database so that
several workers share one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core import Reply, Role, Route
from bot.core.clock import Clock
from bot.outbox import DeliveryError
from bot.ratelimit import RateLimiter
from models.kv import get_value, put_value
from settings import Settings

logger = logging.getLogger(__name__)

TOKEN_INVALID = frozenset({40014, 42001})  # invalid / expired access_token
TOKEN_MARGIN = timedelta(minutes=5)  # refresh a little before WeCom expires the token
MENU_GROUPS = ("常用", "更多", "其他")
MENU_MAX = 15  # 3 top-level buttons of 5 items each
TEXT_LIMIT = 2048  # bytes: WeCom truncates longer text
TITLE_MAX = 36  # characters of a card's main title
SUB_MAX = 160  # characters of a card's sub-title text
BUTTONS_PER_CARD = 6
LABEL_MAX = 10
PICK = "请选择："
MORE = "更多选择："
RETRY_LATER = frozenset({45009, 45033})  # API frequency / concurrency limits
ALL_INVALID = 81013
# WeCom drops silently more than 30 messages a minute or 1000 an hour to one member:
# a gap of 3.6 s between two messages to the same member keeps under both.
MEMBER_GAP = 3.6
CALLS_PER_SECOND = 20


class WeComError(Exception):
    """The WeCom API answered with a non-zero errcode."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"WeCom error {code}: {message}")
        self.code = code


class WeComClient:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.base_url = settings.WECOM_API_BASE_URL.rstrip("/")
        self.timeout = timeout
        self.clock = clock or Clock()
        self.sessionmaker = sessionmaker
        self._engine: AsyncEngine | None = None
        self._http: httpx.AsyncClient | None = None
        self._lock: asyncio.Lock | None = None
        self._token_key = f"wecom_token:{settings.WECOM_CORP_ID}:{settings.WECOM_AGENT_ID}"

    def bind(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Share the app's database connections for the token cache."""
        self.sessionmaker = sessionmaker

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def call(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        upload: Path | None = None,
        **params: str,
    ) -> dict[str, Any]:
        """POST `body` (or a file as multipart) to `path`; an invalid token is refreshed once,
        then the error stands."""
        token = await self.token()
        data = await self._post(path, body, upload, token, params)
        if data.get("errcode") in TOKEN_INVALID:
            logger.info("WeCom token rejected (%s); fetching a new one", data.get("errcode"))
            token = await self.token(stale=token)
            data = await self._post(path, body, upload, token, params)
        code = int(data.get("errcode", 0))
        if code != 0:
            raise WeComError(code, str(data.get("errmsg", "")))
        return data

    async def token(self, stale: str | None = None) -> str:
        """The shared access token; with `stale`, a token other than that one."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            sessionmaker = self._sessions()
            now = self.clock.now()
            async with sessionmaker() as session:
                cached = await get_value(session=session, key=self._token_key, now=now)
            if cached and cached != stale:
                return cached
            response = await self._client().get(
                f"{self.base_url}/gettoken",
                params={
                    "corpid": self.settings.WECOM_CORP_ID,
                    "corpsecret": self.settings.WECOM_SECRET,
                },
            )
            data = response.json()
            if int(data.get("errcode", 0)) != 0 or not data.get("access_token"):
                raise WeComError(int(data.get("errcode", -1)), str(data.get("errmsg", "")))
            token = str(data["access_token"])
            lifetime = timedelta(seconds=int(data.get("expires_in", 7200)))
            async with sessionmaker() as session, session.begin():
                await put_value(
                    session=session,
                    key=self._token_key,
                    value=token,
                    expires_at=now + max(lifetime - TOKEN_MARGIN, timedelta(seconds=60)),
                )
            return token

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self.call("menu/create", menu, agentid=self.settings.WECOM_AGENT_ID)

    async def upload(self, path: Path, kind: str) -> str:
        """media/upload: a temporary media id (valid 3 days) for an image or file message."""
        data = await self.call("media/upload", upload=path, type=kind)
        return str(data["media_id"])

    async def download(self, media_id: str) -> bytes:
        """media/get: what a member sent (its media id is valid for 3 days); an invalid token
        is refreshed once. WeCom answers JSON only for an error."""
        token = await self.token()
        for attempt in range(2):
            response = await self._client().get(
                f"{self.base_url}/media/get", params={"access_token": token, "media_id": media_id}
            )
            response.raise_for_status()
            kind = response.headers.get("content-type", "")
            if not kind.startswith(("application/json", "text/")):
                return response.content
            data = response.json()
            code = int(data.get("errcode", 0))
            if code in TOKEN_INVALID and attempt == 0:
                token = await self.token(stale=token)
                continue
            raise WeComError(code, str(data.get("errmsg", "")))
        raise WeComError(-1, "media/get failed")

    async def _post(
        self,
        path: str,
        body: dict[str, Any] | None,
        upload: Path | None,
        token: str,
        params: dict[str, str],
    ) -> dict[str, Any]:
        url, query = f"{self.base_url}/{path}", {"access_token": token, **params}
        if upload is None:
            response = await self._client().post(url, params=query, json=body)
        else:
            media = {"media": (upload.name, upload.read_bytes(), "application/octet-stream")}
            response = await self._client().post(url, params=query, files=media)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout))
        return self._http

    def _sessions(self) -> async_sessionmaker[AsyncSession]:
        if self.sessionmaker is None:
            from models.db import make_engine, make_sessionmaker

            self._engine = make_engine(self.settings)
            self.sessionmaker = make_sessionmaker(self._engine)
        return self.sessionmaker


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut between lines where possible."""
    chunks: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        if current and len((current + piece).encode()) > limit:
            chunks.append(current)
            current = ""
        current += piece
    chunks.append(current)
    return [c.rstrip("\n") for c in chunks if c.strip()] or [text]


def _pieces(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:
            head = line.encode()[:limit].decode("utf-8", "ignore")
            pieces.append(head)
            line = line[len(head) :]
        pieces.append(line)
    return pieces


def render(reply: Reply, task_id: str | None = None) -> list[dict[str, Any]]:
    """message/send bodies (without touser/agentid): text pieces, then cards for buttons."""
    if not reply.buttons:
        return [_text(piece) for piece in split_text(reply.text)]
    payloads: list[dict[str, Any]] = []
    title, _, rest = reply.text.strip().partition("\n")
    if len(title) > TITLE_MAX or len(rest) > SUB_MAX:
        payloads += [_text(piece) for piece in split_text(reply.text)]
        title, rest = PICK, ""
    labels, legend = card_labels([b.label for b in reply.buttons])
    if legend:  # the full text of each numbered choice, in the card body or before it
        if len(rest) + len(legend) + 1 <= SUB_MAX and payloads == []:
            rest = f"{rest}\n{legend}".strip()
        else:
            payloads += [_text(piece) for piece in split_text(legend)]
    task_id = task_id or secrets.token_hex(8)
    for n, i in enumerate(range(0, len(reply.buttons), BUTTONS_PER_CARD)):
        card: dict[str, Any] = {
            "card_type": "button_interaction",
            "main_title": {"title": title or PICK},
            "task_id": f"{task_id}-{n}",
            "button_list": [
                {"text": label, "style": 1, "key": b.token}
                for label, b in zip(
                    labels[i : i + BUTTONS_PER_CARD],
                    reply.buttons[i : i + BUTTONS_PER_CARD],
                    strict=True,
                )
            ],
        }
        if rest.strip():
            card["sub_title_text"] = rest.strip()
        payloads.append({"msgtype": "template_card", "template_card": card})
        title, rest = MORE, ""
    return payloads


def task_id(reply: Reply) -> str:
    """A card's task id from its content: the same outbox row sent again (after a crash) is
    the same message, while buttons of every row carry their own tokens, so ids never clash."""
    content = repr((reply.text, [(b.label, b.token) for b in reply.buttons]))
    return hashlib.sha1(content.encode()).hexdigest()[:16]


def card_labels(labels: list[str]) -> tuple[list[str], str]:
    """Button texts that fit a card and tell the choices apart, and the legend they need.

    Labels that fit and differ stay as they are. Otherwise every choice is numbered
    ("1 WT-2026-", "2 WT-2026-" still differ) and the legend lists each in full.
    """
    if all(len(label) <= LABEL_MAX for label in labels) and len(set(labels)) == len(labels):
        return labels, ""
    numbered = [f"{n} {label}"[:LABEL_MAX] for n, label in enumerate(labels, 1)]
    legend = "\n".join(f"{n}. {label}" for n, label in enumerate(labels, 1))
    return numbered, legend


def _text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def media(reply: Reply) -> list[tuple[str, Path]]:
    """A reply's picture and file as (WeCom media type, path): each is uploaded, then sent as
    its own message after the text."""
    found = [("image", reply.image), ("file", reply.file)]
    return [(kind, path) for kind, path in found if path is not None]


class WeComTransport:
    """Sends outbox rows (and slow replies) through message/send, up to 1000 users a call."""

    platform = "wecom"
    batch_size = 1000
    concurrency = 4

    def __init__(
        self, settings: Settings, client: WeComClient | None = None, backoff: float = 60.0
    ) -> None:
        self.client = client or WeComClient(settings)
        self.agent_id = int(settings.WECOM_AGENT_ID or 0)
        self.backoff = backoff
        self.duplicate_check = settings.WECOM_DUPLICATE_CHECK_SECONDS
        self.limiter: RateLimiter | None = RateLimiter(CALLS_PER_SECOND, MEMBER_GAP)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def download(self, media_id: str) -> bytes:
        return await self.client.download(media_id)

    async def send(self, user_key: str, reply: Reply) -> None:
        if await self.send_batch([user_key], reply):
            raise DeliveryError(f"WeCom rejected user {user_key}", unreachable=True)

    async def send_batch(self, user_keys: list[str], reply: Reply) -> list[str]:
        """Send to all; returns the users WeCom rejected."""
        invalid: set[str] = set()
        attachments = media(reply)
        missing = [str(path) for _, path in attachments if not path.is_file()]
        if missing:  # an export deleted before the send: retrying cannot help
            raise DeliveryError(f"attachment missing: {', '.join(missing)}", permanent=True)
        text = reply.text.strip() or not attachments
        payloads = render(reply, task_id(reply)) if text else []
        try:
            for kind, path in attachments:
                media_id = await self.client.upload(path, kind)
                payloads.append({"msgtype": kind, kind: {"media_id": media_id}})
            for payload in payloads:
                body = {
                    "touser": "|".join(user_keys),
                    "agentid": self.agent_id,
                    **payload,
                    # A copy of this message to the same member within the interval (a re-send
                    # after a crash) is dropped by WeCom.
                    "enable_duplicate_check": 1,
                    "duplicate_check_interval": self.duplicate_check,
                }
                data = await self.client.call("message/send", body)
                invalid.update(k for k in str(data.get("invaliduser") or "").split("|") if k)
        except WeComError as error:
            if error.code == ALL_INVALID:
                return list(user_keys)
            retry_after = self.backoff if error.code in RETRY_LATER else None
            raise DeliveryError(str(error), retry_after=retry_after) from error
        return sorted(invalid)


def build_menu(routes: Sequence[Route]) -> dict[str, Any]:
    """The app menu: every member-level route as a click whose key is the route name."""
    items = [
        {"type": "click", "name": r.title[:7], "key": r.name}
        for r in routes
        if r.menu and r.name != "cancel" and r.role in (Role.ANYONE, Role.MEMBER)
    ]
    if len(items) > MENU_MAX:
        logger.warning("menu: %d routes, only the first %d fit", len(items), MENU_MAX)
        items = items[:MENU_MAX]
    if len(items) <= len(MENU_GROUPS):
        return {"button": items}
    size = -(-len(items) // len(MENU_GROUPS))
    groups = [items[i : i + size] for i in range(0, len(items), size)]
    named = zip(MENU_GROUPS, groups, strict=False)
    return {"button": [{"name": name, "sub_button": group} for name, group in named]}

"""WeCom (企业微信) self-built app: the callback routes of `serve` and the outbox transport.

A callback is verified (signature, then decryption) before anything else reads it, becomes
one Incoming, and is answered within 5 s: a quick single text goes back passively, anything
else (buttons, several replies, a slow handler) through the API once the handler finishes.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.events import ClickEvent, SubscribeEvent
from wechatpy.enterprise.messages import LocationMessage, TextMessage
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply

from bot.adapters.wecom_api import TEXT_LIMIT, WeComTransport, render, split_text
from bot.core import Incoming, Location, Reply
from settings import Settings, SettingsError

__all__ = ["Callback", "WeComTransport", "render", "routes", "split_text", "to_incoming"]

if TYPE_CHECKING:
    from bot.app import App

logger = logging.getLogger(__name__)

PLATFORM = "wecom"
PATH = "/wecom/callback"
REPLY_WAIT = 4.0  # seconds; WeCom gives up after 5 and retries
MAX_BODY = 64 * 1024
ENCRYPT_RE = re.compile(rb"<Encrypt>\s*(?:<!\[CDATA\[)?([A-Za-z0-9+/=]+)(?:\]\]>)?\s*</Encrypt>")


def to_incoming(message: BaseMessage, now: datetime) -> Incoming | None:
    """A parsed callback as a core event, or None for what the bot ignores.

    A location the user sends is an event; the app's automatic LOCATION reports (on entering
    the app, or every 5 s) are ignored: answering each one would flood the user.
    """
    data: dict[str, Any] = getattr(message, "_data", {}) or {}
    user = str(data.get("FromUserName") or "")
    if not user:
        return None
    created = str(data.get("CreateTime") or "")
    event = str(data.get("Event") or "").lower()
    key = str(data.get("EventKey") or "")
    event_id = str(data.get("MsgId") or "") or f"{user}:{created}:{event}:{key}"[:120]
    base: dict[str, Any] = {
        "platform": PLATFORM,
        "event_id": event_id,
        "user_key": user,
        "chat_key": user,
        "received_at": now,
    }
    try:
        if isinstance(message, TextMessage):
            return Incoming(**base, text=str(message.content or "").strip())
        if isinstance(message, LocationMessage):
            lat, lon = float(message.location_x), float(message.location_y)
            return Incoming(**base, location=Location(lat, lon))
    except (TypeError, ValueError):
        return None
    if isinstance(message, ClickEvent) and key:
        return Incoming(**base, text=f"/{key}")
    if isinstance(message, SubscribeEvent):
        return Incoming(**base, text="/start")
    if event == "template_card_event" and key:
        return Incoming(**base, action=key)
    return None


class Callback:
    """GET: URL verification; POST: one event, answered within REPLY_WAIT seconds."""

    def __init__(self, app: App, transport: WeComTransport, reply_wait: float = REPLY_WAIT):
        settings = app.settings
        try:
            self.crypto = WeChatCrypto(
                settings.WECOM_TOKEN, settings.WECOM_AES_KEY, settings.WECOM_CORP_ID
            )
        except (AssertionError, ValueError) as error:
            raise SettingsError(
                "Configuration error: WECOM_AES_KEY: must be the 43-character EncodingAESKey."
            ) from error
        self.app = app
        self.transport = transport
        self.reply_wait = reply_wait
        self.corp_id = settings.WECOM_CORP_ID
        self.tasks: set[asyncio.Task[None]] = set()

    async def verify(self, request: Request) -> Response:
        q = request.query_params
        try:
            echo = self.crypto.check_signature(
                q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]
            )
        except Exception as error:  # wrong signature, bad base64, bad padding, other corp
            logger.info("WeCom URL verification refused: %r", error)
            return Response(status_code=403)
        return PlainTextResponse(echo.decode() if isinstance(echo, bytes) else str(echo))

    async def receive(self, request: Request) -> Response:
        q = request.query_params
        body = await request.body()
        found = ENCRYPT_RE.search(body) if len(body) <= MAX_BODY else None
        try:
            if found is None:
                raise ValueError("no Encrypt element")
            xml = self.crypto.decrypt_message(
                {"Encrypt": found.group(1).decode()},
                q.get("msg_signature", ""),
                q.get("timestamp", ""),
                q.get("nonce", ""),
            )
        except Exception as error:  # refused before any parsing or database write
            logger.info("WeCom callback refused: %r", error)
            return Response(status_code=403)
        incoming = to_incoming(parse_message(xml), self.app.clock.now())
        if incoming is None:
            return PlainTextResponse("")
        task = asyncio.create_task(self.app.dispatcher.handle(incoming))
        done, _ = await asyncio.wait({task}, timeout=self.reply_wait)
        if done and task.exception() is None:
            replies = task.result()
            if len(replies) == 1 and _passive(replies[0]):
                return self._passive_reply(incoming.user_key, replies[0].text, q)
        self._later(self._deliver(incoming.user_key, task))
        return PlainTextResponse("")

    def _passive_reply(self, user: str, text: str, q: Any) -> Response:
        xml = TextReply(source=self.corp_id, target=user, content=text).render()
        encrypted = self.crypto.encrypt_message(xml, q.get("nonce", ""), q.get("timestamp"))
        return Response(encrypted, media_type="application/xml")

    async def _deliver(self, user: str, task: asyncio.Task[list[Reply]]) -> None:
        """Send a handler's replies through the API once it finishes."""
        try:
            for reply in await task:
                if self.transport.limiter is not None:
                    await self.transport.limiter.acquire(user)
                await self.transport.send(user, reply)
        except Exception:
            logger.exception("WeCom reply to %s failed", user)

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def _passive(reply: Reply) -> bool:
    plain = not (reply.buttons or reply.image or reply.file)
    return plain and 0 < len(reply.text.encode()) <= TEXT_LIMIT


def configured(settings: Settings) -> bool:
    return all(
        (
            settings.WECOM_CORP_ID,
            settings.WECOM_AGENT_ID,
            settings.WECOM_SECRET,
            settings.WECOM_TOKEN,
            settings.WECOM_AES_KEY,
        )
    )


def transport(settings: Settings) -> WeComTransport:
    return WeComTransport(settings)


def routes(app: App) -> list[BaseRoute]:
    """The callback routes; the sender's WeCom transport also sends slow replies."""
    sender_transport = app.sender.transports.get(PLATFORM)
    wecom = (
        sender_transport
        if isinstance(sender_transport, WeComTransport)
        else WeComTransport(app.settings)
    )
    wecom.client.bind(app.sessionmaker)
    callback = Callback(app, wecom)
    return [
        Route(PATH, callback.verify, methods=["GET"]),
        Route(PATH, callback.receive, methods=["POST"]),
    ]

"""WeCom (企业微信) self-built app: the callback routes of `serve` and the outbox transport.

A callback is checked (timestamp, size, signature, nonce) before anything else reads it, is
decrypted and stored as one event, and is answered within 5 s: a quick single text goes back
passively, anything else (buttons, several replies, a slow handler) through the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.events import ClickEvent, SubscribeEvent
from wechatpy.enterprise.messages import ImageMessage, LocationMessage, TextMessage
from wechatpy.messages import BaseMessage

from bot.adapters.http import BodyTooLarge, read_limited
from bot.adapters.wecom_api import TEXT_LIMIT, WeComTransport, render, split_text
from bot.core import Attachment, Incoming, Location, Reply
from models.inbox import end_passive_wait
from models.nonce import remember_nonce
from models.outbox import OutboxMessage, held_replies, mark_sent, release_hold
from settings import Settings, SettingsError

__all__ = ["Callback", "WeComTransport", "render", "routes", "split_text", "to_incoming"]

if TYPE_CHECKING:
    from bot.app import App

logger = logging.getLogger(__name__)

PLATFORM = "wecom"
PATH = "/wecom/callback"
REPLY_WAIT = 4.0  # seconds; WeCom gives up after 5 and retries
PASSIVE_MARGIN = 2.0  # seconds the replies stay held after REPLY_WAIT (for the answer)
MAX_BODY = 64 * 1024
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0
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
        if isinstance(message, ImageMessage) and message.media_id:
            name = f"图片{data.get('MsgId') or created}.jpg"
            picture = Attachment("photo", name, source=str(message.media_id))
            return Incoming(**base, attachments=(picture,))
        if str(data.get("MsgType") or "") == "file" and data.get("MediaId"):
            name = str(data.get("FileName") or f"文件{data.get('MsgId') or created}")
            document = Attachment("file", name, source=str(data["MediaId"]))
            return Incoming(**base, attachments=(document,))
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
    """GET: URL verification; POST: one event, stored, then answered within REPLY_WAIT s.

    Checked in this order, each refusal before anything is parsed or stored: the timestamp
    (within WECOM_TIMESTAMP_WINDOW_SECONDS), the body size (MAX_BODY, before reading more),
    the signature, the nonce (the same nonce with other content is a replay). Then the event
    is decrypted, parsed (malformed: 400) and stored; the worker processes it. If its reply is
    one short text ready within REPLY_WAIT, it goes back passively in the answer (and its
    outbox row is marked sent); otherwise the outbox sends the replies through the API.
    """

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
        self.token = settings.WECOM_TOKEN
        self.corp_id = settings.WECOM_CORP_ID
        self.window = settings.WECOM_TIMESTAMP_WINDOW_SECONDS

    def _fresh(self, timestamp: str) -> bool:
        try:
            sent = int(timestamp)
        except ValueError:
            return False
        return abs(time.time() - sent) <= self.window

    def _signed(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
        joined = "".join(sorted([self.token, timestamp, nonce, encrypt]))
        expected = hashlib.sha1(joined.encode()).hexdigest()
        return hmac.compare_digest(expected, signature.lower())

    async def verify(self, request: Request) -> Response:
        q = request.query_params
        if not self._fresh(q.get("timestamp", "")):
            return Response(status_code=403)
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
        signature, timestamp, nonce = (
            q.get(k, "") for k in ("msg_signature", "timestamp", "nonce")
        )
        if not self._fresh(timestamp):
            logger.info("WeCom callback refused: timestamp %r outside the window", timestamp)
            return Response(status_code=403)
        try:
            body = await read_limited(request, MAX_BODY)
        except BodyTooLarge:
            return Response(status_code=413)
        found = ENCRYPT_RE.search(body)
        encrypt = found.group(1).decode() if found else ""
        if not encrypt or not self._signed(signature, timestamp, nonce, encrypt):
            logger.info("WeCom callback refused: bad or missing signature")
            return Response(status_code=403)
        try:
            if not await self._new_nonce(timestamp, nonce, signature):
                logger.info("WeCom callback refused: nonce %r reused with other content", nonce)
                return Response(status_code=403)
        except Exception:
            logger.exception("could not check the callback nonce")
            return Response(status_code=503)
        try:
            xml = self.crypto.decrypt_message({"Encrypt": encrypt}, signature, timestamp, nonce)
        except Exception as error:  # another key or corp, bad padding, not base64
            logger.info("WeCom callback refused: cannot decrypt (%r)", error)
            return Response(status_code=403)
        try:
            incoming = to_incoming(parse_message(xml), self.app.clock.now())
            seq = _create_time(xml)
        except Exception as error:  # signed, yet not a message we can read
            logger.info("WeCom callback malformed: %r", error)
            return Response(status_code=400)
        if incoming is None:
            return PlainTextResponse("")
        deadline = time.monotonic() + self.reply_wait
        hold = self.app.clock.now() + timedelta(seconds=self.reply_wait + PASSIVE_MARGIN)
        try:
            stored = await self.app.worker.store(incoming, raw=xml, seq=seq, passive_until=hold)
        except Exception:
            logger.exception("could not store the WeCom event %s", incoming.event_id)
            return Response(status_code=503)  # WeCom tries again
        if await self.app.worker.wait_done(stored.id, deadline - time.monotonic()):
            with contextlib.suppress(TimeoutError):
                left = max(0.2, deadline - time.monotonic())
                row = await asyncio.wait_for(self._passive_row(stored.id), left)
                if row is not None:
                    return self._passive_reply(incoming.user_key, row, q)
        # No passive answer: the replies go through the outbox, without waiting for the hold.
        return PlainTextResponse("", background=BackgroundTask(self._no_passive, stored.id))

    async def _new_nonce(self, timestamp: str, nonce: str, signature: str) -> bool:
        now = self.app.clock.now()
        async with self.app.sessionmaker() as session, session.begin():
            return await remember_nonce(
                session=session,
                key=f"wecom:{timestamp}:{nonce}",
                signature=signature,
                now=now,
                expires_at=now + timedelta(seconds=2 * self.window),
            )

    async def _passive_row(self, inbox_id: int) -> OutboxMessage | None:
        """The event's one reply, if it is a short plain text still held for this answer."""
        now = self.app.clock.now() + timedelta(seconds=PASSIVE_MARGIN)
        async with self.app.sessionmaker() as session:
            rows = await held_replies(session=session, inbox_id=inbox_id, now=now)
        if len(rows) == 1 and _passive(rows[0].to_reply()):
            return rows[0]
        return None

    async def _no_passive(self, inbox_id: int) -> None:
        """No passive answer (not processed in time, or not a short text): nothing waits."""
        try:
            async with self.app.sessionmaker() as session, session.begin():
                await end_passive_wait(session=session, event_id=inbox_id)
                await release_hold(session=session, inbox_id=inbox_id, now=self.app.clock.now())
            self.app.sender.nudge()
        except Exception as error:  # the replies then go out when their hold ends
            logger.warning("could not release the held replies of event %s: %s", inbox_id, error)

    def _passive_reply(self, user: str, row: OutboxMessage, q: Any) -> Response:
        xml = passive_xml(self.corp_id, user, row.text, int(time.time()))
        encrypted = self.crypto.encrypt_message(xml, q.get("nonce", ""), q.get("timestamp"))
        # Marked sent once the answer is on its way: should we die first, the row's hold ends
        # and the sender delivers it (a copy at most, never a loss).
        task = BackgroundTask(self._mark_sent, row.id)
        return Response(encrypted, media_type="application/xml", background=task)

    async def _mark_sent(self, row_id: int) -> None:
        try:
            async with self.app.sessionmaker() as session, session.begin():
                await mark_sent(session=session, row_id=row_id, now=self.app.clock.now())
        except Exception as error:
            logger.warning(
                "passive reply %s not recorded (%s): the API sends a copy", row_id, error
            )


def passive_xml(source: str, target: str, text: str, created: int) -> str:
    """A passive text reply. Each value sits in CDATA with every "]]>" split across two
    sections, so no text a user or the bot writes can end the section and add elements."""
    fields = {
        "ToUserName": target,
        "FromUserName": source,
        "CreateTime": str(created),
        "MsgType": "text",
        "Content": text,
    }
    parts = "".join(f"<{k}><![CDATA[{_cdata(v)}]]></{k}>" for k, v in fields.items())
    return f"<xml>{parts}</xml>"


def _cdata(value: str) -> str:
    return NOT_XML.sub("", value).replace("]]>", "]]]]><![CDATA[>")


def _create_time(xml: str) -> int:
    """The callback's CreateTime (the order WeCom gives a user's messages), 0 if none."""
    found = re.search(r"<CreateTime>\s*(?:<!\[CDATA\[)?(\d{1,12})", xml)
    return int(found.group(1)) if found else 0


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

"""Telegram adapter: updates → Incoming, Reply → Bot API calls, and the outbox transport.

Intake is durable: the webhook stores an update before its 200, polling before the next
getUpdates moves the offset past it; the event worker then processes it and its replies go
out through the outbox (bot/intake.py, bot/outbox.py).
Texts go out without a parse mode, so user-supplied text can never be read as markup.
In groups the bot answers only commands and mentions, and answers in the user's private
chat (a reply may show codes, tickets or a profile); the group gets a one-line pointer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import os
import re
import signal
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.routing import Route as WebRoute
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.adapters.http import BodyTooLarge, read_limited
from bot.adapters.telegram_request import SpreadRequest
from bot.app import App
from bot.core import Attachment, Incoming, Location, Reply, Route
from bot.outbox import DeliveryError
from bot.ratelimit import RateLimiter
from settings import Settings

# PTB 22's documented opt-in: durations (retry_after, live_period) are timedeltas, no warnings.
os.environ.setdefault("PTB_TIMEDELTA", "true")
logger = logging.getLogger(__name__)

PLATFORM = "telegram"
MAX_TEXT = 4096
MAX_CAPTION = 1024
BUTTONS_PER_ROW = 2
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # an update is a few kilobytes; a body over this is refused
POLL_TIMEOUT = 10  # seconds a getUpdates call waits for news
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]

Call = tuple[str, dict[str, Any]]


def to_incoming(update: Update, bot_username: str = "", live_only: bool = True) -> Incoming | None:
    """The core's event for an update, or None when the bot should ignore it.

    A location counts for check-in (`verified`) only when shared live, unless `live_only` is
    off (CHECKIN_TELEGRAM_LIVE_ONLY): a plain pin can be dropped anywhere on the map.
    """
    query = update.callback_query
    if query is not None:
        if not query.data:
            return None
        chat = query.message.chat if query.message else None
        return Incoming(
            platform=PLATFORM,
            event_id=str(update.update_id),
            user_key=str(query.from_user.id),
            chat_key=str(chat.id if chat else query.from_user.id),
            received_at=datetime.now(UTC),
            action=query.data,
            display_name=query.from_user.full_name,
            is_group=bool(chat and chat.type != "private"),
        )
    message = update.message or update.edited_message
    if message is None or message.from_user is None:
        return None
    location = None
    if message.location is not None:
        followup = update.edited_message is not None  # only live locations are edited
        live = bool(message.location.live_period) or followup
        location = Location(
            message.location.latitude,
            message.location.longitude,
            live,
            followup,
            verified=live or not live_only,
        )
    elif update.edited_message is not None:
        return None  # an edited text is not a new request
    attachments = _attachments(message)
    text = (message.text or message.caption or "").strip()
    is_group = message.chat.type != "private"
    if is_group:
        mention = re.compile(rf"@{re.escape(bot_username)}\b", re.I) if bot_username else None
        if mention is not None and mention.search(text) and not text.startswith("/"):
            text = mention.sub("", text).strip()
        elif not text.startswith("/"):
            return None
    if not text and location is None and not attachments:
        return None
    return Incoming(
        platform=PLATFORM,
        event_id=str(update.update_id),
        user_key=str(message.from_user.id),
        chat_key=str(message.chat.id),
        received_at=message.date or datetime.now(UTC),
        text=text,
        location=location,
        display_name=message.from_user.full_name,
        is_group=is_group,
        attachments=attachments,
    )


def _attachments(message: Message) -> tuple[Attachment, ...]:
    """A photo (its largest size) or a document, announced by file_id; the event worker
    downloads it (TelegramTransport.download) once the update is stored."""
    if message.photo:
        photo = message.photo[-1]
        name = f"照片{message.message_id}.jpg"
        return (Attachment("photo", name, source=photo.file_id, size=photo.file_size or 0),)
    document = message.document
    if document is not None:
        name = document.file_name or f"文件{message.message_id}"
        return (Attachment("file", name, source=document.file_id, size=document.file_size or 0),)
    return ()


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most `limit` characters, cut at line ends where possible."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            chunks.append(current)
            current = ""
        current += line
    if current or not chunks:
        chunks.append(current)
    return [c.rstrip("\n") or c for c in chunks]


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Buttons as an inline keyboard; callback_data is the server-side token (< 64 bytes)."""
    if not reply.buttons:
        return None
    buttons = [InlineKeyboardButton(b.label, callback_data=b.token) for b in reply.buttons]
    rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
    return InlineKeyboardMarkup(rows)


def render(reply: Reply) -> list[Call]:
    """Bot API calls (method name, keyword arguments without chat_id) that show a reply."""
    markup = keyboard(reply)
    calls: list[Call] = []
    media = [("send_photo", "photo", reply.image), ("send_document", "document", reply.file)]
    media = [m for m in media if m[2] is not None]
    text = reply.text
    caption = ""
    if media and len(text) <= MAX_CAPTION:
        caption, text = text, ""
    if text or not media:
        chunks = split_text(text)
        calls += [("send_message", {"text": chunk}) for chunk in chunks]
    for method, field, path in media:
        calls.append((method, {field: path, "caption": caption or None}))
        caption = ""
    if markup is not None:
        calls[-1][1]["reply_markup"] = markup
    return calls


def commands(routes: tuple[Route, ...] | list[Route]) -> list[BotCommand]:
    """The command menu: each menu route with the short Chinese description from its help."""
    return [BotCommand(r.name, f"{r.title}：{r.help}"[:256]) for r in routes if r.menu]


async def deliver(bot: Bot, chat_id: int | str, reply: Reply) -> list[Message]:
    """Send a reply's calls in order, turning Bot API errors into DeliveryError."""
    missing = [str(p) for p in (reply.image, reply.file) if p is not None and not p.is_file()]
    if missing:  # PTB would send the path as a file id: fail clearly, retrying cannot help
        raise DeliveryError(f"attachment missing: {', '.join(missing)}", permanent=True)
    sent = []
    for method, kwargs in render(reply):
        try:
            sent.append(await getattr(bot, method)(chat_id=chat_id, **kwargs))
        except RetryAfter as error:
            raise DeliveryError(str(error), retry_after=_seconds(error)) from error
        except Forbidden as error:
            raise DeliveryError(str(error), unreachable=True) from error
        except BadRequest as error:
            raise DeliveryError(str(error), permanent=True) from error
        except TelegramError as error:
            raise DeliveryError(str(error)) from error
    return sent


def _seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# Sends in flight: enough for this worker's rate at a slow round trip to Telegram, within a
# bound. Measured through the webhook, a Bot API answering after 200 ms: with one pool of all
# connections, 40 in flight gave 122-129 updates/s and 80 gave 66/s; with pools of 8, 40 gave
# 136/s, 64 gave 170-174/s, 80-128 gave 166-176/s.
SLOW_ROUND_TRIP_SECONDS = 0.2
MOST_IN_FLIGHT = 64


def sends_in_flight(settings: Settings) -> int:
    in_flight = math.ceil(settings.telegram_share_per_second * SLOW_ROUND_TRIP_SECONDS)
    return max(8, min(MOST_IN_FLIGHT, in_flight))


class TelegramTransport:
    """The outbox sender's Telegram leg: this worker's share of the overall rate, 1/s per chat."""

    platform = PLATFORM

    def __init__(self, settings: Settings, bot: Bot | None = None) -> None:
        self.bot = bot or make_bot(settings)
        # 3% over Telegram's one-second windows: our send times jitter against its clock.
        self.limiter: RateLimiter | None = RateLimiter(
            settings.telegram_share_per_second, 1.03, window=1.03
        )
        self.concurrency = sends_in_flight(settings)
        self._ready = False

    async def send(self, user_key: str, reply: Reply) -> None:
        if not self._ready:
            await self.bot.initialize()
            self._ready = True
        await deliver(self.bot, int(user_key), reply)

    async def download(self, file_id: str) -> bytes:
        """getFile, then the file itself (its link is valid for an hour)."""
        if not self._ready:
            await self.bot.initialize()
            self._ready = True
        found = await self.bot.get_file(file_id)
        return bytes(await found.download_as_bytearray())

    async def aclose(self) -> None:
        """Close the Bot's HTTP connections (App.close calls it)."""
        await self.bot.shutdown()
        self._ready = False


def make_bot(settings: Settings) -> Bot:
    base = settings.TELEGRAM_API_BASE_URL
    # Files live beside the methods: https://api.telegram.org/file/bot<token>/<path>.
    files = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base
    return Bot(
        settings.TELEGRAM_BOT_TOKEN,
        base_url=base,
        base_file_url=files,
        request=SpreadRequest(sends_in_flight(settings)),
    )


def incoming_of(app: App, bot: Bot, update: Update) -> Incoming | None:
    return to_incoming(update, bot.username, app.settings.CHECKIN_TELEGRAM_LIVE_ONLY)


async def receive(app: App, bot: Bot, update: Update, incoming: Incoming, raw: str) -> None:
    """Store an update for the worker (raises when the database cannot take it), then answer
    a button press's spinner."""
    await app.worker.store(incoming, raw=raw, seq=update.update_id)
    query = update.callback_query
    if query is not None:
        _later(_answer(bot, query.id))


async def _answer(bot: Bot, query_id: str) -> None:
    try:
        await bot.answer_callback_query(query_id)
    except TelegramError as error:
        logger.info("answerCallbackQuery failed: %s", error)


_tasks: set[asyncio.Task[None]] = set()


def _later(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(work)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def poll(app: App, bot: Bot, stop: asyncio.Event, timeout: int = POLL_TIMEOUT) -> None:
    """Long polling: each batch is stored before the next getUpdates confirms its offset, so
    an update Telegram counts as delivered is always in the inbox."""
    offset: int | None = None
    while not stop.is_set():
        try:
            updates = await bot.get_updates(
                offset=offset,
                timeout=timeout,
                allowed_updates=ALLOWED_UPDATES,
                read_timeout=timeout + 10,
            )
        except TelegramError as error:
            logger.warning("getUpdates failed, retrying: %s", error)
            await _pause(stop, 2.0)
            continue
        for update in updates:
            incoming = None
            try:
                incoming = incoming_of(app, bot, update)
            except Exception as error:  # an update we cannot read: skip it, as Telegram would
                logger.warning("update %s ignored: %r", update.update_id, error)
            while incoming is not None and not stop.is_set():
                try:
                    raw = json.dumps(update.to_dict(), ensure_ascii=False, default=str)
                    await receive(app, bot, update, incoming, raw)
                    break
                except Exception as error:
                    logger.warning(
                        "storing update %s failed, retrying: %s", update.update_id, error
                    )
                    await _pause(stop, 2.0)
            if stop.is_set():
                return  # not stored: the offset stays, Telegram delivers it again
            offset = update.update_id + 1


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def run_polling(app: App, bot: Bot) -> None:
    """`python -m bot telegram`: poll, process and send until SIGTERM or SIGINT, then stop in
    order (bot/runtime.py)."""
    from bot.runtime import Background

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await bot.initialize()
    try:
        await bot.delete_webhook()
    except TelegramError as error:
        logger.warning("deleteWebhook failed: %s", error)
    await set_commands(bot, app.routes)
    runtime = Background(app)
    runtime.start()
    poller = asyncio.create_task(poll(app, bot, stop))
    try:
        await stop.wait()
    finally:
        logger.info("stopping: no more polling; letting sends in flight finish")
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
        await runtime.stop()
        await app.close()


async def set_commands(bot: Bot, routes: tuple[Route, ...] | list[Route]) -> None:
    """Publish the command menu; a Bot API server without setMyCommands is tolerated."""
    try:
        await bot.set_my_commands(commands(routes))
    except TelegramError as error:
        logger.warning("setMyCommands failed (menu not updated): %s", error)


def configured(settings: Settings) -> bool:
    return bool(settings.TELEGRAM_BOT_TOKEN)


def webhook_routes(app: App) -> list[BaseRoute]:
    """POST /telegram/webhook: the secret header is checked before the body is read; the
    update is stored before the 200 (a database fault answers 503: Telegram sends it again)."""
    secret = app.settings.TELEGRAM_WEBHOOK_SECRET.encode()
    if not secret:
        logger.warning("TELEGRAM_WEBHOOK_SECRET is empty: every webhook call will be refused")

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            return Response(status_code=403)
        try:
            body = await read_limited(request, MAX_UPDATE_BYTES)
        except BodyTooLarge:
            return Response(status_code=413)
        bot: Bot = request.state.telegram
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("an update is a JSON object")
            update = Update.de_json(data, bot)
            incoming = incoming_of(app, bot, update)
        except Exception as error:  # malformed, hostile or of a kind we cannot read
            logger.info("webhook body refused: %r", error)
            return Response(status_code=400)
        if incoming is None:
            return Response()
        try:
            await receive(app, bot, update, incoming, body.decode("utf-8", "replace"))
        except Exception:
            logger.exception("could not store update %s", update.update_id)
            return Response(status_code=503)
        return Response()

    return [WebRoute("/telegram/webhook", webhook, methods=["POST"])]


@contextlib.asynccontextmanager
async def webhook_lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
    """The Bot (the sender's) ready while the web server runs: it knows its own username."""
    transport = app.sender.transports.get(PLATFORM)
    bot = transport.bot if isinstance(transport, TelegramTransport) else make_bot(app.settings)
    await bot.initialize()
    await set_commands(bot, app.routes)
    yield {"telegram": bot}

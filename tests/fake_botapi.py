"""A fake Telegram Bot API for reliability tests: real offsets, real limits, chosen faults.

- getUpdates honours `offset` the way Telegram does: updates below it are confirmed and
  forgotten, the others are served again (so an update fetched by a process killed before
  it stored it comes back). Long polling waits up to `timeout` seconds.
- sendMessage / sendPhoto / sendDocument are recorded per chat with their arrival time. With
  `limits` on, more than 30 messages in any second or two to one chat within a second are
  answered 429 (retry_after 1), as Telegram does. `fail_next([502, 502])` makes the next sends
  answer those statuses; with `delay`, each send is answered that many seconds late.
- getFile and /file/bot<token>/<path> serve what `files` holds (file_id → bytes), as users'
  photos and documents are fetched.
- Runs in a thread on 127.0.0.1 (tests.wecom_sim.ServerThread).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.wecom_sim import ServerThread

TOKEN = "123456:FAKE-token"


@dataclass
class Sent:
    at: float  # time.monotonic() when the fake accepted it
    chat_id: int
    text: str
    method: str
    markup: Any = None


@dataclass
class FakeBotApi:
    per_second: int = 30
    per_chat: float = 1.0
    limits: bool = False
    delay: float = 0.0  # seconds before a send is answered: a far-away Bot API
    slack: float = 0.005  # our send time and the fake's arrival time are read apart
    sent: list[Sent] = field(default_factory=list)
    rejected: list[tuple[float, int, int]] = field(default_factory=list)  # (at, chat, status)
    updates: list[dict[str, Any]] = field(default_factory=list)
    served: list[int] = field(default_factory=list)  # update ids handed out by getUpdates
    confirmed: int = 0  # the highest offset a getUpdates call confirmed
    commands: list[Any] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    failures: list[int] = field(default_factory=list)
    webhook: str = ""
    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # file_id → what a user sent
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 1000

    @property
    def api(self) -> str:
        """What TELEGRAM_API_BASE_URL is set to (PTB appends the token)."""
        return f"{self.url}/bot"

    def fail_next(self, statuses: list[int]) -> None:
        with self._lock:
            self.failures.extend(statuses)

    def push(self, *updates: dict[str, Any]) -> None:
        """Updates for getUpdates to serve."""
        with self._lock:
            self.updates.extend(updates)

    def texts(self, chat_id: int) -> list[str]:
        with self._lock:
            return [s.text for s in self.sent if s.chat_id == chat_id]

    def messages(self) -> list[Sent]:
        with self._lock:
            return list(self.sent)

    def asgi(self) -> Starlette:
        async def method(request: Request) -> JSONResponse:
            name = request.path_params["method"]
            params = await _params(request)
            with self._lock:
                self.calls[name] = self.calls.get(name, 0) + 1
            if name == "getUpdates":
                return await self._get_updates(params)
            if name in ("sendMessage", "sendPhoto", "sendDocument"):
                if self.delay:
                    await asyncio.sleep(self.delay)
                return self._send(name, params)
            return _ok(self._other(name, params))

        async def file(request: Request) -> Response:
            found = self.files.get(request.path_params["path"].rsplit("/", 1)[-1])
            if found is None:
                return Response(status_code=404)
            return Response(found, media_type="application/octet-stream")

        return Starlette(
            routes=[
                Route("/bot{token}/{method}", method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", file, methods=["GET"]),
            ]
        )

    def _other(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return {"id": 666, "is_bot": True, "first_name": "红盟助手", "username": "hm_bot"}
        if name == "setMyCommands":
            self.commands = params.get("commands") or []
        if name == "setWebhook":
            self.webhook = str(params.get("url") or "")
        if name == "deleteWebhook":
            self.webhook = ""
        if name == "getFile":
            file_id = str(params.get("file_id") or "")
            size = len(self.files.get(file_id, b""))
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": size,
                "file_path": f"photos/{file_id}",
            }
        return True

    async def _get_updates(self, params: dict[str, Any]) -> JSONResponse:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 30)
        while True:
            with self._lock:
                if offset:
                    self.confirmed = max(self.confirmed, offset)
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                batch = list(self.updates[:100])
                self.served += [u["update_id"] for u in batch]
            if batch or time.monotonic() >= deadline:
                return _ok(batch)
            await asyncio.sleep(0.05)

    def _send(self, name: str, params: dict[str, Any]) -> JSONResponse:
        now = time.monotonic()
        chat = int(params.get("chat_id") or 0)
        text = str(params.get("text") or params.get("caption") or "")
        with self._lock:
            if self.failures:
                status = self.failures.pop(0)
                self.rejected.append((now, chat, status))
                return _error(status)
            if self.limits:
                window = [s for s in self.sent if s.at > now - 1.0 + self.slack]
                last = max((s.at for s in self.sent if s.chat_id == chat), default=None)
                close = last is not None and now - last < self.per_chat - self.slack
                if len(window) >= self.per_second or close:
                    self.rejected.append((now, chat, 429))
                    return _error(429)
            self._next_id += 1
            self.sent.append(Sent(now, chat, text, name, params.get("reply_markup")))
            message_id = self._next_id
        return _ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
                "text": text,
            }
        )


async def _params(request: Request) -> dict[str, Any]:
    """PTB posts form fields whose values are JSON (strings are sent as they are)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        return dict(await request.json())
    form = await request.form()
    try:
        return _form_params(form)
    finally:
        await form.close()  # uploaded files are spooled to temporary files


def _form_params(form: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in form.items():
        if not isinstance(value, str):
            params[key] = value.filename
        elif key in ("text", "caption"):
            params[key] = value
        else:
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    return params


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(status: int) -> JSONResponse:
    if status == 429:
        body = {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
    else:
        body = {"ok": False, "error_code": status, "description": "Bad Gateway"}
    return JSONResponse(body, status_code=status)


def start_fake(**options: Any) -> tuple[FakeBotApi, ServerThread]:
    fake = FakeBotApi(**options)
    server = ServerThread(fake.asgi(), lifespan="off").start()
    fake.url = server.url
    return fake, server


def text_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A private text message as the Bot API sends it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "党员"},
            "from": {"id": user_id, "is_bot": False, "first_name": "党员"},
            "text": text,
        },
    }


def photo_update(
    update_id: int, user_id: int, file_id: str, size: int, caption: str = ""
) -> dict[str, Any]:
    """A private photo message (two sizes, as Telegram sends them) with an optional caption."""
    update = text_update(update_id, user_id, "")
    message = update["message"]
    del message["text"]
    message["photo"] = [
        {"file_id": f"{file_id}-thumb", "file_unique_id": "t", "width": 90, "height": 90},
        {
            "file_id": file_id,
            "file_unique_id": "p",
            "width": 800,
            "height": 600,
            "file_size": size,
        },
    ]
    if caption:
        message["caption"] = caption
    return update

"""WeCom's side, for tests: callback encryption written from WeCom's documentation (not
wechatpy), a stand-in for the WeCom API that records calls, and a uvicorn server in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from xml.etree import ElementTree

import uvicorn
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "hongmengToken"
CORP_ID = "ww0123456789abcdef"
AES_KEY = base64.b64encode(bytes(range(32))).decode()[:-1]  # 43 characters


def wecom_settings(api_base: str) -> dict[str, str]:
    return {
        "WECOM_CORP_ID": CORP_ID,
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": "app-secret",
        "WECOM_TOKEN": TOKEN,
        "WECOM_AES_KEY": AES_KEY,
        "WECOM_API_BASE_URL": api_base,
    }


class WeComCrypto:
    """AES-256-CBC (IV = first 16 key bytes), PKCS#7 padding to 32 bytes, SHA-1 signature."""

    def __init__(self, token: str = TOKEN, aes_key: str = AES_KEY, corp_id: str = CORP_ID):
        self.token = token
        self.key = base64.b64decode(aes_key + "=")
        self.corp_id = corp_id

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        joined = "".join(sorted([self.token, timestamp, nonce, encrypt]))
        return hashlib.sha1(joined.encode()).hexdigest()

    def encrypt(self, text: str | bytes) -> str:
        body = text.encode() if isinstance(text, str) else text
        plain = os.urandom(16) + struct.pack(">I", len(body)) + body + self.corp_id.encode()
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt(self, encrypt: str) -> str:
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        plain = decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()
        plain = plain[: -plain[-1]]
        (length,) = struct.unpack(">I", plain[16:20])
        assert plain[20 + length :].decode() == self.corp_id
        return plain[20 : 20 + length].decode()

    def callback(
        self,
        xml: str | bytes,
        forge: bool = False,
        timestamp: str | None = None,
        nonce: str | None = None,
    ) -> tuple[dict[str, str], str]:
        """Query parameters and body of one encrypted callback POST."""
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or os.urandom(6).hex()
        encrypt = self.encrypt(xml)
        signature = self.sign(timestamp, nonce, encrypt)
        if forge:
            signature = hashlib.sha1(b"forged" + signature.encode()).hexdigest()
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<AgentID><![CDATA[1000002]]></AgentID>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}, body

    def verification(self, echo: str) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), os.urandom(6).hex()
        echostr = self.encrypt(echo)
        return {
            "msg_signature": self.sign(timestamp, nonce, echostr),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }

    def open_reply(self, body: str, params: dict[str, str]) -> dict[str, str]:
        """The fields of an encrypted passive reply, after checking its signature."""
        outer = ElementTree.fromstring(body)
        encrypt = outer.findtext("Encrypt") or ""
        timestamp, nonce = outer.findtext("TimeStamp") or "", outer.findtext("Nonce") or ""
        assert outer.findtext("MsgSignature") == self.sign(timestamp, nonce, encrypt)
        assert nonce == params["nonce"]
        inner = ElementTree.fromstring(self.decrypt(encrypt))
        return {child.tag: child.text or "" for child in inner}


def text_xml(user: str, content: str, msg_id: int, created: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


def image_xml(user: str, media_id: str, msg_id: int) -> str:
    """A picture a member sent in the app's chat (WeCom passes its media id)."""
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{int(time.time())}"
        f"</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://127.0.0.1/unused.jpg]]></PicUrl>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{msg_id}</MsgId>"
        f"<AgentID>1000002</AgentID></xml>"
    )


def location_xml(user: str, latitude: float, longitude: float, msg_id: int) -> str:
    """A location the user sends from the chat (not the app's automatic LOCATION event)."""
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[location]]></MsgType>"
        f"<Location_X>{latitude}</Location_X><Location_Y>{longitude}</Location_Y>"
        f"<Scale>15</Scale><Label><![CDATA[县党群服务中心附近]]></Label>"
        f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


def event_xml(user: str, event: str, created: int | None = None, **fields: str) -> str:
    extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
        f"{extra}<AgentID>1000002</AgentID></xml>"
    )


@dataclass
class FakeWeComApi:
    """gettoken, message/send, media/upload and menu/create as WeCom answers them; `fail_next`
    holds errcodes that the next message/send calls answer instead.

    message/send with enable_duplicate_check drops, as WeCom does, a message whose content
    this member already got within duplicate_check_interval seconds (recorded in `dropped`);
    `sent` holds what was delivered, to the members it reached.
    """

    sent: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    delivered_at: dict[tuple[str, str], float] = field(default_factory=dict)
    attempts: int = 0
    menus: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    token_calls: int = 0
    fail_next: list[int] = field(default_factory=list)
    current_token: str = ""
    base: str = ""  # WECOM_API_BASE_URL once served
    delay: float = 0.0  # seconds message/send takes to answer, after it has delivered
    media: dict[str, bytes] = field(default_factory=dict)  # media id → what a member sent

    def reset(self) -> None:
        self.sent.clear()
        self.dropped.clear()
        self.delivered_at.clear()
        self.menus.clear()
        self.uploads.clear()
        self.fail_next.clear()
        self.attempts = self.token_calls = 0
        self.current_token = ""
        self.delay = 0.0

    def deliver(self, body: dict[str, Any]) -> None:
        """Record a message/send body, less the members a duplicate check drops it for."""
        check = ("enable_duplicate_check", "duplicate_check_interval", "touser", "agentid")
        content = json.dumps(
            {k: v for k, v in body.items() if k not in check}, sort_keys=True, ensure_ascii=False
        )
        interval = float(body.get("duplicate_check_interval") or 1800)
        now = time.monotonic()
        reached = []
        for user in str(body.get("touser", "")).split("|"):
            last = self.delivered_at.get((user, content))
            if body.get("enable_duplicate_check") and last is not None and now - last < interval:
                self.dropped.append({**body, "touser": user})
                continue
            self.delivered_at[(user, content)] = now
            reached.append(user)
        if reached:
            self.sent.append({**body, "touser": "|".join(reached)})

    def asgi(self) -> Starlette:
        async def gettoken(request: Request) -> JSONResponse:
            q = request.query_params
            if q.get("corpid") != CORP_ID or q.get("corpsecret") != "app-secret":
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
            self.token_calls += 1
            self.current_token = f"token-{self.token_calls}"
            return JSONResponse(
                {"errcode": 0, "errmsg": "ok", "access_token": self.current_token,
                 "expires_in": 7200}
            )  # fmt: skip

        async def send(request: Request) -> JSONResponse:
            self.attempts += 1
            if self.fail_next:
                code = self.fail_next.pop(0)
                return JSONResponse({"errcode": code, "errmsg": "simulated"})
            if request.query_params.get("access_token") != self.current_token:
                return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
            self.deliver(await request.json())
            if self.delay:
                await asyncio.sleep(self.delay)
            return JSONResponse({"errcode": 0, "errmsg": "ok", "invaliduser": ""})

        async def menu(request: Request) -> JSONResponse:
            if request.query_params.get("access_token") != self.current_token:
                return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
            self.menus.append(
                {"agentid": request.query_params.get("agentid"), **(await request.json())}
            )
            return JSONResponse({"errcode": 0, "errmsg": "ok"})

        async def upload(request: Request) -> JSONResponse:
            if request.query_params.get("access_token") != self.current_token:
                return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
            kind = request.query_params.get("type", "")
            name, content = media_part(request.headers["content-type"], await request.body())
            media_id = f"media-{len(self.uploads) + 1}"
            self.uploads.append(
                {"type": kind, "filename": name, "content": content, "media_id": media_id}
            )
            return JSONResponse(
                {"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id,
                 "created_at": str(int(time.time()))}
            )  # fmt: skip

        async def media_get(request: Request) -> Response:
            if request.query_params.get("access_token") != self.current_token:
                return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
            found = self.media.get(request.query_params.get("media_id", ""))
            if found is None:
                return JSONResponse({"errcode": 40007, "errmsg": "invalid media_id"})
            return Response(found, media_type="image/jpeg")

        return Starlette(
            routes=[
                Route("/cgi-bin/gettoken", gettoken, methods=["GET"]),
                Route("/cgi-bin/media/get", media_get, methods=["GET"]),
                Route("/cgi-bin/message/send", send, methods=["POST"]),
                Route("/cgi-bin/media/upload", upload, methods=["POST"]),
                Route("/cgi-bin/menu/create", menu, methods=["POST"]),
            ]
        )


def media_part(content_type: str, body: bytes) -> tuple[str, bytes]:
    """The file name and bytes of the multipart field `media` (WeCom's upload form)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    for part in message.iter_parts():  # type: ignore[attr-defined]
        if part.get_param("name", header="content-disposition") == "media":
            return str(part.get_filename()), bytes(part.get_payload(decode=True))
    raise AssertionError("no media field in the upload")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """A uvicorn server on 127.0.0.1 in a daemon thread, stopped by `stop()`."""

    def __init__(self, app: Any, lifespan: str = "auto") -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan=lifespan
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

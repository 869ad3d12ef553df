"""WeCom callbacks at the door: stored before they are answered, hostile input refused with
4xx before anything is written, passive replies no text can break, one user's messages in
the order they came."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.core import Incoming, Reply
from bot.dispatcher import Dispatcher
from bot.web import build_web_app
from models.inbox import EventStatus, InboxEvent
from models.nonce import CallbackNonce
from models.outbox import OutboxMessage, OutboxStatus
from settings import Settings, load_settings
from tests.wecom_sim import WeComCrypto, event_xml, text_xml, wecom_settings

CRYPTO = WeComCrypto()
CHUNK = 64 * 1024


class Recording(Dispatcher):
    """The real dispatcher (inbox, outbox rows, done marks) whose routing answers with fixed
    replies and notes the order events reach it."""

    def __init__(self, app: App, replies: list[Reply], pause: float = 0.0) -> None:
        super().__init__((), app.sessionmaker, app.settings, app.clock)
        self.replies = replies
        self.pause = pause
        self.seen: list[tuple[str, str]] = []

    async def _route(self, session: Any, incoming: Incoming, *args: Any) -> list[Reply]:
        self.seen.append((incoming.user_key, incoming.text))
        if self.pause:
            await asyncio.sleep(self.pause)
        return list(self.replies)


@dataclass
class Door:
    app: App
    client: httpx.AsyncClient
    dispatcher: Recording
    ids: Any = field(default_factory=lambda: iter(range(50_000, 10**6)))

    async def post(self, xml: str | bytes, **kwargs: Any) -> tuple[httpx.Response, dict[str, str]]:
        params, body = CRYPTO.callback(xml, **kwargs)
        response = await self.client.post("/wecom/callback", params=params, content=body)
        return response, params

    async def rows(self) -> tuple[int, int]:
        """Inbox events and outbox rows written so far."""
        async with self.app.sessionmaker() as session:
            events = await session.scalar(select(func.count()).select_from(InboxEvent))
            sent = await session.scalar(select(func.count()).select_from(OutboxMessage))
        return int(events or 0), int(sent or 0)


@pytest.fixture
async def door(settings: Settings) -> AsyncIterator[Door]:
    value = load_settings(
        _env_file=None,
        DATABASE_URL=settings.DATABASE_URL,
        SCHEDULER_ENABLED=False,
        **wecom_settings("http://127.0.0.1:9/cgi-bin"),
    )
    app = build_app(value, {})
    dispatcher = Recording(app, [Reply("收到，谢谢！")])
    app.dispatcher = dispatcher
    web = build_web_app(app, background=False)  # the worker is run here, without lifespan
    worker = asyncio.create_task(app.worker.run_forever())
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Door(app, client, dispatcher)
    app.worker.stop()
    await worker
    await app.close()


async def test_a_quick_reply_goes_back_passively_and_its_row_is_marked_sent(door: Door) -> None:
    answer = await door.client.get(
        "/wecom/callback", params=CRYPTO.verification("1616140317555161061")
    )
    assert (answer.status_code, answer.text) == (200, "1616140317555161061")
    response, params = await door.post(text_xml("lisi", "你好", 42))
    assert response.status_code == 200
    fields = CRYPTO.open_reply(response.text, params)
    assert (fields["ToUserName"], fields["MsgType"], fields["Content"]) == (
        "lisi",
        "text",
        "收到，谢谢！",
    )
    assert door.dispatcher.seen == [("lisi", "你好")]
    async with door.app.sessionmaker() as session:
        event = await session.scalar(select(InboxEvent))
        row = await session.scalar(select(OutboxMessage))
    assert event is not None and (event.event_id, event.status) == ("42", EventStatus.DONE)
    assert "<Content><![CDATA[你好]]></Content>" in event.raw  # the payload as it came
    assert row is not None and (row.kind, row.inbox_id, row.status) == (
        "reply",
        event.id,
        OutboxStatus.SENT,
    )


async def test_no_user_text_can_change_the_passive_reply(door: Door) -> None:
    hostile = "好]]></Content><MsgType><![CDATA[image]]></MsgType><Content><![CDATA[x\x01"
    door.dispatcher.replies = [Reply(hostile)]
    response, params = await door.post(text_xml("lisi", "你好", 43))
    fields = CRYPTO.open_reply(response.text, params)
    assert fields["MsgType"] == "text"
    assert fields["Content"] == hostile.replace("\x01", "")  # a control character XML forbids
    assert sorted(fields) == ["Content", "CreateTime", "FromUserName", "MsgType", "ToUserName"]


async def test_forged_or_undecryptable_callbacks_are_refused_and_write_nothing(
    door: Door,
) -> None:
    response, _ = await door.post(text_xml("u", "hi", 1), forge=True)
    assert response.status_code == 403
    other_key = WeComCrypto(aes_key="A" * 43)  # signs right (same token), encrypts wrong
    params, body = other_key.callback(text_xml("u", "hi", 2))
    response = await door.client.post("/wecom/callback", params=params, content=body)
    assert response.status_code == 403
    params, body = CRYPTO.callback(text_xml("u", "hi", 3))
    assert (
        await door.client.post("/wecom/callback", params=params, content="<xml/>")
    ).status_code == 403
    not_base64 = body.replace(body.split("CDATA[")[3].split("]]")[0], "!!!!")
    params["msg_signature"] = CRYPTO.sign(params["timestamp"], params["nonce"], "!!!!")
    response = await door.client.post("/wecom/callback", params=params, content=not_base64)
    assert response.status_code == 403
    bad = {**CRYPTO.verification("echo"), "msg_signature": "0" * 40}
    assert (await door.client.get("/wecom/callback", params=bad)).status_code == 403
    assert door.dispatcher.seen == []
    assert await door.rows() == (0, 0)


LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "&lol;" * 10}">' for i in range(9))
BOMB = (
    f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">{LAUGHS}]>'
    "<xml><FromUserName>&l8;</FromUserName><MsgType>text</MsgType></xml>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<xml><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>&e;</Content></xml>"
)


@pytest.mark.parametrize(
    "plain",
    [
        "not xml at all",
        "<xml><FromUserName>u</FromUserName>",  # cut short
        BOMB,
        EXTERNAL,
        b"<xml><FromUserName>\xff\xfe</FromUserName><MsgType>text</MsgType></xml>",
        "<xml>" + "<a>" * 5000 + "</a>" * 5000 + "</xml>",
        "<xml><FromUserName>u</FromUserName><MsgType>location</MsgType>"
        "<Location_X>north</Location_X><Location_Y>1</Location_Y><MsgId>9</MsgId></xml>",
        "<xml><MsgType>text</MsgType><Content>no sender</Content></xml>",
    ],
    ids=["text", "cut", "bomb", "external", "utf8", "deep", "location", "nobody"],
)
async def test_signed_but_malformed_or_hostile_payloads_get_4xx_or_nothing(
    door: Door, plain: str | bytes
) -> None:
    response, _ = await door.post(plain)
    assert response.status_code in (200, 400, 403), response.status_code
    assert response.text == ""  # a 200 here is an event the bot ignores: no answer
    assert door.dispatcher.seen == []
    assert await door.rows() == (0, 0)


async def test_a_timestamp_outside_the_window_is_refused(door: Door) -> None:
    now = int(time.time())
    for offset in (-400, 400, -(10**9)):
        response, _ = await door.post(text_xml("u", "hi", 7), timestamp=str(now + offset))
        assert response.status_code == 403
    response, _ = await door.post(text_xml("u", "hi", 8), timestamp=str(now - 200))
    assert response.status_code == 200
    assert door.dispatcher.seen == [("u", "hi")]
    assert await door.rows() == (1, 1)


async def test_a_nonce_reused_with_other_content_is_refused(door: Door) -> None:
    stamp, nonce = str(int(time.time())), "n0nce0001"
    first, _ = await door.post(text_xml("u", "一", 11), timestamp=stamp, nonce=nonce)
    assert first.status_code == 200
    again, _ = await door.post(text_xml("u", "二", 12), timestamp=stamp, nonce=nonce)
    assert again.status_code == 403
    # The same request again (WeCom retrying it) is let through; the inbox drops the copy.
    params, body = CRYPTO.callback(text_xml("u", "三", 13), timestamp=stamp, nonce="n0nce0002")
    for _ in range(2):
        response = await door.client.post("/wecom/callback", params=params, content=body)
        assert response.status_code == 200
    assert door.dispatcher.seen == [("u", "一"), ("u", "三")]
    async with door.app.sessionmaker() as session:
        nonces = await session.scalar(select(func.count()).select_from(CallbackNonce))
    assert nonces == 2


async def _huge(pulled: list[int], size: int = 50 * 1024 * 1024) -> AsyncIterable[bytes]:
    chunk = b"A" * CHUNK
    for _ in range(size // CHUNK):
        pulled.append(1)
        yield chunk


async def test_a_huge_body_is_refused_before_it_is_read(door: Door) -> None:
    params, _ = CRYPTO.callback(text_xml("u", "hi", 21))
    for _ in range(4):  # four unsigned 50 MB bodies, streamed: at most the cap is read
        pulled: list[int] = []
        response = await door.client.post("/wecom/callback", params=params, content=_huge(pulled))
        assert response.status_code == 413
        assert len(pulled) <= 2, len(pulled)
    declared: list[int] = []
    response = await door.client.post(
        "/wecom/callback",
        params=params,
        content=_huge(declared),
        headers={"Content-Length": str(50 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert len(declared) <= 1  # refused on the header alone
    assert await door.rows() == (0, 0)


async def test_two_quick_messages_from_one_user_are_processed_in_order(door: Door) -> None:
    door.dispatcher.pause = 0.05  # each event takes a moment: the second arrives meanwhile
    created = int(time.time())

    async def stored(msg_id: int) -> bool:
        async with door.app.sessionmaker() as session:
            found = await session.scalar(
                select(InboxEvent.id).where(InboxEvent.event_id == str(msg_id))
            )
        return found is not None

    async def pair(n: int) -> None:
        user = f"quick{n:02d}"
        first = asyncio.create_task(
            door.post(text_xml(user, f"{n}-一", 70_000 + 2 * n, created=created))
        )
        while not await stored(70_000 + 2 * n):  # the first is in; its answer is not back
            await asyncio.sleep(0.002)
        second = door.post(text_xml(user, f"{n}-二", 70_001 + 2 * n, created=created))
        for response, _ in await asyncio.gather(first, second):
            assert response.status_code == 200

    await asyncio.gather(*(pair(n) for n in range(20)))
    for _ in range(200):  # the last ones may be answered (after 4 s) before they are done
        if len(door.dispatcher.seen) == 40:
            break
        await asyncio.sleep(0.05)
    for n in range(20):
        mine = [text for user, text in door.dispatcher.seen if user == f"quick{n:02d}"]
        assert mine == [f"{n}-一", f"{n}-二"], mine


async def test_events_the_bot_ignores_store_nothing(door: Door) -> None:
    report = event_xml("u", "LOCATION", Latitude="35.5", Longitude="118.4")
    response, _ = await door.post(report)
    assert (response.status_code, response.text) == (200, "")
    assert await door.rows() == (0, 0)

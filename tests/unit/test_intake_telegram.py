"""The Telegram webhook at the door: an update is stored before its 200; whatever is not an
update object answers 4xx and writes nothing; a body over the cap is refused unread."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App, build_app
from bot.web import build_web_app, transports_for
from models.db import make_engine, make_sessionmaker
from models.files import stored_path
from models.inbox import EventStatus, InboxEvent
from models.member import Identity
from settings import Settings, load_settings
from tests.fake_botapi import TOKEN, FakeBotApi, photo_update, start_fake, text_update
from tests.unit.test_files import photo
from tests.wecom_sim import ServerThread

SECRET = "webhook-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    value, server = start_fake()
    yield value
    server.stop()


@dataclass
class Hook:
    url: str
    app: App  # served in the server's thread and loop: read with `db`, from this loop
    db: async_sessionmaker[AsyncSession]

    def post(self, content: bytes | str, **headers: str) -> int:
        response = httpx.post(
            f"{self.url}/telegram/webhook",
            content=content,
            headers={**HEADERS, **headers},
            timeout=10,
        )
        return response.status_code

    async def events(self) -> int:
        async with self.db() as session:
            return int(await session.scalar(select(func.count()).select_from(InboxEvent)) or 0)


@pytest.fixture
async def hook(demo_settings: Settings, fake: FakeBotApi) -> AsyncIterator[Hook]:
    settings = load_settings(
        _env_file=None,
        DATABASE_URL=demo_settings.DATABASE_URL,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=fake.api,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        SCHEDULER_ENABLED=False,
    )
    app = build_app(settings, transports_for(settings))
    server = await asyncio.to_thread(lambda: ServerThread(build_web_app(app)).start())
    engine = make_engine(settings)
    yield Hook(server.url, app, make_sessionmaker(engine))
    await asyncio.to_thread(server.stop)
    await engine.dispose()


async def test_an_update_is_stored_then_answered_through_the_outbox(
    hook: Hook, fake: FakeBotApi
) -> None:
    update = text_update(5001, 4242, "/help")
    assert await asyncio.to_thread(hook.post, json.dumps(update)) == 200
    assert await asyncio.to_thread(hook.post, json.dumps(update)) == 200  # Telegram re-sends
    for _ in range(100):
        if fake.texts(4242):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    [help_text] = fake.texts(4242)
    assert "绑定" in help_text
    async with hook.db() as session:
        [event] = list(await session.scalars(select(InboxEvent)))
    assert (event.event_id, event.seq, event.status) == ("5001", 5001, EventStatus.DONE)
    assert json.loads(event.raw) == update


NESTED = b"[" * 200_000 + b"]" * 200_000  # 400 kB, under the cap


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"update"',
        b"42",
        b"null",
        b"true",
        b"{not json",
        b"\xff\xfe{}",
        NESTED,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"message": {"text": "no update id"}}',
        b'{"update_id": 7, "message": [1, 2, 3]}',
        b'{"update_id": 8, "message": {"message_id": 1, "date": "x", "chat": 5}}',
    ],
    ids=[
        "list",
        "string",
        "number",
        "null",
        "bool",
        "garbled",
        "binary",
        "deep-list",
        "deep-object",
        "no-id",
        "list-message",
        "bad-fields",
    ],
)
async def test_what_is_not_an_update_object_gets_400_and_writes_nothing(
    hook: Hook, body: bytes
) -> None:
    assert await asyncio.to_thread(hook.post, body) == 400
    assert await hook.events() == 0


async def test_a_body_over_the_cap_is_refused_before_it_is_read(hook: Hook) -> None:
    big = b'{"update_id": 1, "message": {"text": "' + b"x" * (1024 * 1024) + b'"}}'
    started = time.monotonic()
    assert await asyncio.to_thread(hook.post, big) == 413
    assert time.monotonic() - started < 5
    assert await hook.events() == 0


async def test_a_wrong_secret_is_refused_before_the_body_is_read(hook: Hook) -> None:
    update = json.dumps(text_update(5002, 4242, "/help"))
    assert await asyncio.to_thread(hook.post, update, **{HEADERS_KEY: "wrong"}) == 403
    assert await hook.events() == 0


HEADERS_KEY = "X-Telegram-Bot-Api-Secret-Token"


async def _bind_member(hook: Hook, user_id: int) -> None:
    """The demo's member, on Telegram as `user_id`."""
    async with hook.db() as session, session.begin():
        console = await session.scalar(
            select(Identity).where(Identity.platform == "console", Identity.user_key == "member")
        )
        assert console is not None
        session.add(
            Identity(platform="telegram", user_key=str(user_id), member_id=console.member_id)
        )


async def _texts(fake: FakeBotApi, chat: int, count: int) -> list[str]:
    for _ in range(200):
        if len(fake.texts(chat)) >= count:
            break
        await asyncio.sleep(0.05)
    return fake.texts(chat)


async def test_a_photo_is_fetched_after_the_200_and_stored_once(
    hook: Hook, fake: FakeBotApi
) -> None:
    await _bind_member(hook, 4243)
    picture = photo()
    fake.files["ph-1"] = picture
    update = photo_update(5101, 4243, "ph-1", len(picture))
    assert await asyncio.to_thread(hook.post, json.dumps(update)) == 200
    [offered] = await _texts(fake, 4243, 1)
    assert offered.startswith("收到照片")  # taken: the 督办 answer depends on the demo's date
    sha = hashlib.sha256(picture).hexdigest()
    assert stored_path(hook.app.settings, sha, ".jpg").read_bytes() == picture
    async with hook.db() as session:
        [event] = list(await session.scalars(select(InboxEvent)))
    [kept] = event.incoming().attachments
    assert (kept.sha256, kept.kind, kept.sent_as) == (sha, "picture", "photo")


async def test_a_photo_that_cannot_be_fetched_or_is_too_big_is_said_so(
    hook: Hook, fake: FakeBotApi
) -> None:
    await _bind_member(hook, 4244)
    gone = photo_update(5201, 4244, "never-uploaded", 1000)
    assert await asyncio.to_thread(hook.post, json.dumps(gone)) == 200
    [first] = await _texts(fake, 4244, 1)
    assert first == "没能收到这张照片（照片5201.jpg），请再发送一次。（未保存）"
    asked = fake.calls.get("getFile", 0)
    huge = photo_update(5202, 4244, "huge", 21 * 1024 * 1024)
    assert await asyncio.to_thread(hook.post, json.dumps(huge)) == 200
    [_, second] = await _texts(fake, 4244, 2)
    assert second.startswith("这张照片（照片5202.jpg）太大了，请发送不超过 20 MB")
    assert fake.calls.get("getFile", 0) == asked  # announced too big: never downloaded


def _button(fake: FakeBotApi, chat: int, label: str) -> str:
    """The callback data of the newest inline button `label` sent to this chat."""
    for sent in reversed(fake.messages()):
        rows = (sent.markup or {}).get("inline_keyboard", []) if sent.chat_id == chat else []
        for row in rows:
            for button in row:
                if button["text"] == label:
                    return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} sent to {chat}")


def _press(update_id: int, user_id: int, data: str) -> dict[str, object]:
    pressed = text_update(update_id, user_id, "")
    message = pressed.pop("message")
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": message["from"],
            "message": {**message, "text": "…"},
            "chat_instance": "1",
            "data": data,
        },
    }


async def test_a_photo_as_evidence_reaches_the_chair_as_a_photo(
    hook: Hook, fake: FakeBotApi
) -> None:
    from datetime import UTC, date, datetime, timedelta

    from models.followup import create_item
    from models.member import Member
    from models.org import Membership

    await _bind_member(hook, 4245)
    async with hook.db() as session, session.begin():
        chair = await session.scalar(
            select(Identity).where(Identity.platform == "console", Identity.user_key == "host")
        )
        assert chair is not None
        session.add(Identity(platform="telegram", user_key="4246", member_id=chair.member_id))
        owner = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == "4245")
        )
        assert owner is not None
        alliance_id = await session.scalar(
            select(Membership.alliance_id).where(Membership.unit_id == owner.home_unit_id)
        )
        item = await create_item(
            session=session,
            source="meeting",
            source_id=None,
            alliance_id=alliance_id,
            title="整理成员单位融资需求清单",
            due_on=date.today() + timedelta(days=10),
            now=datetime.now(UTC),
            owner_member_id=owner.id,
        )
        number = item.number
    picture = photo()
    fake.files["ph-evidence"] = picture
    posts = [photo_update(5301, 4245, "ph-evidence", len(picture))]
    assert await asyncio.to_thread(hook.post, json.dumps(posts[0])) == 200
    [offer] = await _texts(fake, 4245, 1)
    assert offer.startswith("收到照片。要作为哪项督办事项的完成凭证？"), offer
    steps = [
        _press(5302, 4245, _button(fake, 4245, number)),
        text_update(5303, 4245, "清单已整理"),
    ]
    for i, update in enumerate(steps):
        assert await asyncio.to_thread(hook.post, json.dumps(update)) == 200
        await _texts(fake, 4245, 2 + i)
    assert f"请确认完成 {number}" in fake.texts(4245)[-1]
    confirm = _press(5304, 4245, _button(fake, 4245, "确认完成"))
    assert await asyncio.to_thread(hook.post, json.dumps(confirm)) == 200
    [*_, done] = await _texts(fake, 4245, 4)
    assert done == f"🎉 {number} 已完成，已告知主席单位。"
    for _ in range(200):
        if any(s.chat_id == 4246 and s.method == "sendPhoto" for s in fake.messages()):
            break
        await asyncio.sleep(0.05)
    shown = [s for s in fake.messages() if s.chat_id == 4246]
    assert any(s.method == "sendPhoto" and number in s.text for s in shown), shown

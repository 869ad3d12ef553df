"""Telegram adapter: pure conversion and rendering, and the transport's error mapping."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update
from telegram.error import Forbidden, RetryAfter

from bot.adapters.telegram import (
    TelegramTransport,
    commands,
    deliver,
    render,
    split_text,
    to_incoming,
)
from bot.app import App, build_app
from bot.core import Button, Location, Reply
from bot.core.clock import FrozenClock
from bot.outbox import DeliveryError
from handlers import ROUTES
from models.member import Identity, Member
from models.outbox import OutboxMessage, OutboxStatus, enqueue
from settings import Settings
from tests.conftest import make_settings

USER = {"id": 4242, "is_bot": False, "first_name": "张", "last_name": "三"}
PRIVATE = {"id": 4242, "type": "private", "first_name": "张"}
GROUP = {"id": -100500, "type": "supergroup", "title": "红盟群"}


def update(**fields: Any) -> Update:
    return Update.de_json({"update_id": 77, **fields}, None)  # type: ignore[arg-type]


def message(text: str | None = None, chat: dict[str, Any] = PRIVATE, **extra: Any) -> dict:
    body: dict[str, Any] = {"message_id": 5, "date": 1796014850, "chat": chat, "from": USER}
    if text is not None:
        body["text"] = text
    return {**body, **extra}


def test_text_message_becomes_incoming() -> None:
    event = to_incoming(update(message=message("/me")))
    assert event is not None
    assert (event.platform, event.event_id, event.user_key, event.chat_key) == (
        "telegram",
        "77",
        "4242",
        "4242",
    )
    assert event.text == "/me"
    assert event.display_name == "张 三"
    assert not event.is_group


def test_button_press_carries_the_token_as_action() -> None:
    query = {
        "id": "9",
        "from": USER,
        "chat_instance": "1",
        "data": "bTOKEN123",
        "message": message("您是想："),
    }
    event = to_incoming(update(callback_query=query))
    assert event is not None
    assert event.action == "bTOKEN123"
    assert event.text == ""


def test_locations_live_and_edited() -> None:
    plain = to_incoming(update(message=message(location={"latitude": 35.5, "longitude": 118.4})))
    assert plain is not None and plain.location == Location(35.5, 118.4, False, verified=False)
    pin = to_incoming(
        update(message=message(location={"latitude": 35.5, "longitude": 118.4})), live_only=False
    )
    assert pin is not None and pin.location == Location(35.5, 118.4, False, verified=True)
    live_loc = {"latitude": 35.5, "longitude": 118.4, "live_period": 900}
    live = to_incoming(update(message=message(location=live_loc)))
    assert live is not None and live.location == Location(35.5, 118.4, True)
    moved = {"latitude": 35.6, "longitude": 118.5}
    edited = to_incoming(update(edited_message=message(location=moved, edit_date=1796014900)))
    assert edited is not None and edited.location == Location(35.6, 118.5, True, followup=True)


def test_edited_text_and_empty_messages_are_ignored() -> None:
    assert to_incoming(update(edited_message=message("改了", edit_date=1796014900))) is None
    assert to_incoming(update(message=message(None))) is None


def test_group_answers_only_commands_and_mentions() -> None:
    assert to_incoming(update(message=message("大家好", chat=GROUP)), "HongBot") is None
    command = to_incoming(update(message=message("/help@HongBot", chat=GROUP)), "HongBot")
    assert command is not None and command.is_group and command.chat_key == "-100500"
    mention = to_incoming(update(message=message("@hongbot 我的信息", chat=GROUP)), "HongBot")
    assert mention is not None and mention.text == "我的信息"
    assert mention.user_key == "4242"


def test_photos_and_documents_are_announced_for_the_worker_to_fetch() -> None:
    sizes = [
        {"file_id": "small", "file_unique_id": "a", "width": 90, "height": 90},
        {"file_id": "big", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 9000},
    ]
    event = to_incoming(update(message=message(photo=sizes, caption="整改后现场")))
    assert event is not None and event.text == "整改后现场"
    [picture] = event.attachments
    assert (picture.sent_as, picture.source, picture.size, picture.waiting) == (
        "photo", "big", 9000, True
    )  # fmt: skip
    document = {"file_id": "doc", "file_unique_id": "d", "file_name": "台账.xlsx"}
    event = to_incoming(update(message=message(document=document)))
    assert event is not None and event.text == ""
    assert [(a.sent_as, a.name, a.source) for a in event.attachments] == [
        ("file", "台账.xlsx", "doc")
    ]
    # In a group, a picture is for the bot only with a mention in its caption.
    assert to_incoming(update(message=message(chat=GROUP, photo=sizes)), "hm_bot") is None


def test_split_text_cuts_at_line_ends() -> None:
    line = "甲" * 100 + "\n"
    text = line * 100  # 10,100 characters
    chunks = split_text(text)
    assert all(len(c) <= 4096 for c in chunks)
    assert len(chunks) == 3
    assert all(c.endswith("甲") for c in chunks)
    assert "".join(c + "\n" for c in chunks) == text
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]
    assert split_text("短") == ["短"]


def test_render_buttons_as_inline_keyboard_on_the_last_chunk() -> None:
    reply = Reply(
        "a\n" * 3000,
        buttons=(
            Button("是", "x", token="bAAA"),
            Button("否", "x", token="bBBB"),
            Button("取消", "x", token="bC"),
        ),
    )
    calls = render(reply)
    assert [m for m, _ in calls] == ["send_message", "send_message"]
    assert "reply_markup" not in calls[0][1]
    markup = calls[-1][1]["reply_markup"]
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows == [[("是", "bAAA"), ("否", "bBBB")], [("取消", "bC")]]
    assert "parse_mode" not in calls[0][1]  # plain text: user text is never markup


def test_render_picture_with_caption_or_separate_text(tmp_path: Path) -> None:
    picture = tmp_path / "code.png"
    assert render(Reply("签到码", image=picture)) == [
        ("send_photo", {"photo": picture, "caption": "签到码"})
    ]
    long = render(Reply("长" * 2000, image=picture))
    assert [m for m, _ in long] == ["send_message", "send_photo"]
    doc = render(Reply("导出", file=tmp_path / "a.xlsx"))
    assert doc == [("send_document", {"document": tmp_path / "a.xlsx", "caption": "导出"})]


def test_command_menu_from_routes() -> None:
    menu = {c.command: c.description for c in commands(ROUTES)}
    assert menu["help"] == "帮助：看看能做什么"
    assert "start" not in menu  # menu=False
    assert all(c.isascii() and c.islower() and len(c) <= 32 for c in menu)


class FakeBot:
    """Stands in for telegram.Bot: raises what it is told to, records the rest."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[int, str]] = []

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def send_message(self, chat_id: int, text: str, **_: Any) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append((chat_id, text))


@pytest.fixture
async def telegram_app(demo_settings: Settings, clock: FrozenClock) -> Any:
    apps: list[App] = []

    async def make(bot: FakeBot) -> App:
        transport = TelegramTransport(demo_settings, bot=bot)  # type: ignore[arg-type]
        app = build_app(demo_settings, {"telegram": transport}, clock)
        apps.append(app)
        async with app.sessionmaker() as session, session.begin():
            member = (await session.execute(select(Member).limit(1))).scalar_one()
            session.add(Identity(platform="telegram", user_key="4242", member_id=member.id))
            await session.flush()
            await enqueue(
                session=session, member_id=member.id, reply=Reply("通知"), now=clock.now()
            )
        return app

    yield make
    for app in apps:
        await app.close()


class FarBot(FakeBot):
    """A Bot API 200 ms away; notes how many sends were in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most = 0

    async def send_message(self, chat_id: int, text: str, **_: Any) -> None:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.2)
            self.sent.append((chat_id, text))
        finally:
            self.in_flight -= 1


async def test_replies_do_not_queue_behind_a_slow_round_trip_when_the_rate_allows_more(
    demo_settings: Settings, clock: FrozenClock
) -> None:
    """At 1,000 messages a second, 64 sends go at once (320 a second at a 200 ms round trip);
    at Telegram's usual 30 a second, 8 are enough."""
    fast = make_settings(demo_settings.DATABASE_URL, TELEGRAM_MESSAGES_PER_SECOND=1000)
    assert TelegramTransport(demo_settings, bot=FarBot()).concurrency == 8  # type: ignore[arg-type]
    bot = FarBot()
    app = build_app(fast, {"telegram": TelegramTransport(fast, bot=bot)}, clock)  # type: ignore[arg-type]
    try:
        async with app.sessionmaker() as session, session.begin():
            session.add_all(
                OutboxMessage(
                    platform="telegram",
                    user_key=str(7000 + i),
                    text=f"回复{i}",
                    kind="reply",
                    priority=0,
                    created_at=clock.now(),
                    not_before=clock.now(),
                )
                for i in range(130)
            )
        assert await app.sender.drain() == 130
    finally:
        await app.close()
    assert bot.most == 64
    assert sorted(bot.sent) == [(7000 + i, f"回复{i}") for i in range(130)]


async def rows(app: App) -> tuple[OutboxMessage, Identity]:
    async with app.sessionmaker() as session:
        row = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.platform == "telegram")
            )
        ).scalar_one()
        identity = (
            await session.execute(select(Identity).where(Identity.platform == "telegram"))
        ).scalar_one()
        return row, identity


async def test_outbox_delivers_through_the_bot(telegram_app: Any) -> None:
    bot = FakeBot()
    app = await telegram_app(bot)
    assert await app.sender.drain() == 1
    assert bot.sent == [(4242, "通知")]
    row, _ = await rows(app)
    assert row.status == OutboxStatus.SENT


async def test_429_retry_after_is_honoured(telegram_app: Any, clock: FrozenClock) -> None:
    app = await telegram_app(FakeBot(RetryAfter(7)))
    assert await app.sender.drain() == 0
    row, identity = await rows(app)
    assert row.status == OutboxStatus.PENDING
    assert row.not_before == clock.now() + timedelta(seconds=7)
    assert not identity.unreachable
    limiter = app.sender.transports["telegram"].limiter
    assert limiter is not None and limiter._wait_needed("") > 6


async def test_403_blocked_marks_identity_unreachable(telegram_app: Any) -> None:
    app = await telegram_app(FakeBot(Forbidden("Forbidden: bot was blocked by the user")))
    assert await app.sender.drain() == 0
    row, identity = await rows(app)
    assert row.status == OutboxStatus.UNREACHABLE
    assert identity.unreachable


async def test_a_missing_attachment_fails_before_anything_is_sent(tmp_path: Path) -> None:
    bot = FakeBot()
    with pytest.raises(DeliveryError) as failure:
        await deliver(bot, 4242, Reply("签到表（Excel）", file=tmp_path / "gone.xlsx"))  # type: ignore[arg-type]
    assert failure.value.permanent and bot.sent == []

"""The real Telegram bot against a Bot API emulator, by long polling and by webhook."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.core import Button, Reply
from bot.core.clock import Clock
from bot.dispatcher import BUTTON_GONE, GROUP_POINTER
from models.button import issue_token
from models.db import make_engine, make_sessionmaker
from models.inbox import InboxEvent
from models.member import Identity, InviteCode, Member
from models.outbox import OutboxMessage, OutboxStatus, enqueue
from settings import Settings
from tests.e2e.telegram_harness import (
    SECRET,
    Emulator,
    User,
    running_bot,
    wait_until,
)

pytestmark = pytest.mark.e2e


class Db:
    """Reads and writes the bot's database from the test process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def run(self, work: Any) -> Any:
        async def go() -> Any:
            engine = make_engine(self.settings)
            try:
                async with make_sessionmaker(engine)() as session, session.begin():
                    return await work(session)
            finally:
                await engine.dispose()

        return asyncio.run(go())

    def scalar(self, stmt: Any) -> Any:
        async def work(session: Any) -> Any:
            return (await session.execute(stmt)).scalar()

        return self.run(work)

    def identity(self, user: User) -> Identity | None:
        async def work(session: Any) -> Identity | None:
            stmt = select(Identity).where(
                Identity.platform == "telegram", Identity.user_key == str(user.id)
            )
            return (await session.execute(stmt)).scalar_one_or_none()

        return self.run(work)

    def notify(self, member_id: int, reply: Reply) -> None:
        async def work(session: Any) -> None:
            await enqueue(session=session, member_id=member_id, reply=reply, now=Clock().now())

        self.run(work)


@pytest.fixture
def db(live_demo_settings: Settings) -> Db:
    """The demo with its activities at the wall-clock time: the bot's scheduler runs every sweep
    at start, and the demo's START-based party day would send a reminder in the day before."""
    return Db(live_demo_settings)


def newcomer(db: Db) -> tuple[str, str]:
    """The demo newcomer's invite code and name."""

    async def work(session: Any) -> tuple[str, str]:
        stmt = (
            select(InviteCode.code, Member.name).join(Member).where(InviteCode.used_at.is_(None))
        )
        code, name = (await session.execute(stmt)).first()
        return code, name

    return db.run(work)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_bind_help_me_buttons_and_outbox(
    mode: str, emulator: Emulator, db: Db, live_demo_settings: Settings
) -> None:
    code, name = newcomer(db)
    user = User(emulator, id=50_001)
    with running_bot(mode, live_demo_settings.DATABASE_URL, emulator) as base:
        assert {"command": "help", "description": "帮助：看看能做什么"} in emulator.commands()

        user.say("/help")
        assert "绑定" in user.expect()[0]

        # Telegram re-sends an update it thinks was lost: the second copy has no effect.
        update = user.text_update(f"/bind {code}")
        user.inject(update)
        user.inject(update)
        replies = user.expect()
        user.quiet(1.0)
        assert len(replies) == 1 and replies[0].startswith(f"绑定成功！欢迎您，{name}")
        identity = db.identity(user)
        assert identity is not None and identity.chat_key == str(user.id)
        event = InboxEvent.event_id == str(update["update_id"])
        assert db.scalar(select(func.count()).select_from(InboxEvent).where(event)) == 1

        user.say("/me")
        assert name in user.expect()[0]

        # A message through the outbox, with a button the user then presses.
        db.notify(identity.member_id, Reply("请核对您的信息", buttons=(Button("我的信息", "me"),)))
        assert user.expect() == ["请核对您的信息"]
        button = user.inbox[-1]["reply_markup"]["inline_keyboard"][0][0]
        assert button["text"] == "我的信息" and len(button["callback_data"].encode()) < 64
        assert button["callback_data"] != "me"  # an opaque token, not the action
        user.press("我的信息")
        assert name in user.expect()[0]

        # Forged button data, and a real token issued to someone else, do nothing.
        identities = db.scalar(select(func.count()).select_from(Identity))
        user.press_data("bFORGED-by-hand")
        assert user.expect() == [BUTTON_GONE]

        async def stolen(session: Any) -> str:
            return await issue_token(
                session=session,
                platform="telegram",
                user_key="7",
                button=Button("我的信息", "me"),
                now=Clock().now(),
            )

        user.press_data(db.run(stolen))
        assert user.expect() == [BUTTON_GONE]
        assert db.scalar(select(func.count()).select_from(Identity)) == identities

        if mode == "webhook":
            check_webhook_refuses_bad_secrets(base, db, user, emulator)

        # A user who blocked the bot: 403 marks the identity unreachable.
        emulator.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        db.notify(identity.member_id, Reply("活动提醒"))
        wait_until(lambda: db.identity(user).unreachable, "identity marked unreachable")
        sent = select(OutboxMessage.status).where(OutboxMessage.text == "活动提醒")
        assert db.scalar(sent) == OutboxStatus.UNREACHABLE


def check_webhook_refuses_bad_secrets(base: str, db: Db, user: User, emulator: Emulator) -> None:
    update = user.text_update("/me")
    url = f"{base}/telegram/webhook"
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}):
        response = httpx.post(url, json=update, headers=headers, timeout=5)
        assert response.status_code == 403
    # Refused before parsing: not even a malformed body gets further than the secret check.
    bad = httpx.post(url, content=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": ""})
    assert bad.status_code == 403
    user.quiet(1.0)
    event = InboxEvent.event_id == str(update["update_id"])
    assert db.scalar(select(func.count()).select_from(InboxEvent).where(event)) == 0
    # The emulator's own deliveries carried the right secret and were all accepted.
    assert {entry["status"] for entry in emulator.webhook_log()} == {200}


def test_polling_honours_429_retry_after(
    emulator: Emulator, db: Db, live_demo_settings: Settings, tmp_path: Path
) -> None:
    code, _ = newcomer(db)
    user = User(emulator, id=50_002)
    with running_bot("polling", live_demo_settings.DATABASE_URL, emulator):
        user.say(f"绑定 {code}")
        assert user.expect()[0].startswith("绑定成功")
        identity = db.identity(user)
        assert identity is not None
        emulator.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        db.notify(identity.member_id, Reply("稍后送达"))
        assert user.expect() == ["稍后送达"]
        row = select(OutboxMessage).where(OutboxMessage.text == "稍后送达")

        async def attempts(session: Any) -> tuple[int, OutboxStatus]:
            message = (await session.execute(row)).scalar_one()
            return message.attempts, message.status

        # The row is marked sent just after the emulator answers: give the sender a moment.
        wait_until(lambda: db.run(attempts) == (1, OutboxStatus.SENT), "row marked sent")

        # A picture goes out as sendPhoto with the text as its caption.
        picture = tmp_path / "code.png"
        picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        db.notify(identity.member_id, Reply("本期签到码", image=picture))
        assert user.expect() == ["本期签到码"]
        assert user.inbox[-1]["kind"] == "sendPhoto"

        # In a group: chatter is ignored; a command is answered privately, with a pointer.
        group = -100_777
        user.say("大家早上好", group=group)
        user.say("/me@TestNameBot", group=group)
        me = user.expect()
        assert len(me) == 1 and identity_name(db, identity) in me[0]
        pointer = wait_until(lambda: emulator.sent_to(group), "the pointer in the group")
        # One pointer whatever became of the private reply (it is sent later, by the outbox).
        assert pointer == [GROUP_POINTER.format(name="测试")]
        user.quiet(1.0)


def identity_name(db: Db, identity: Identity) -> str:
    return str(db.scalar(select(Member.name).where(Member.id == identity.member_id)))

"""WeCom end to end: the real web app on 127.0.0.1, callbacks encrypted as WeCom does (by
tests/wecom_sim.py, not wechatpy), and a stand-in WeCom API that records what was sent."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapters.wecom_api import WeComTransport
from bot.app import App, build_app
from bot.cli import cmd_wecom_menu
from bot.core import Button, Reply, Role, Route
from bot.dispatcher import Dispatcher
from bot.outbox import OutboxSender
from bot.web import build_web_app, transports_for
from handlers import ROUTES
from handlers.context import Context
from models.db import make_engine, make_sessionmaker
from models.inbox import InboxEvent
from models.member import Identity, InviteCode, Member
from models.outbox import OutboxMessage, OutboxStatus
from models.throttle import ThrottleHit
from settings import Settings, load_settings, use_settings
from tests.wecom_sim import (
    FakeWeComApi,
    ServerThread,
    WeComCrypto,
    event_xml,
    text_xml,
    wecom_settings,
)

pytestmark = pytest.mark.e2e
CRYPTO = WeComCrypto()
_msg_ids = iter(range(10_000, 1_000_000))


async def pick(ctx: Context) -> list[Reply]:
    """Test route: a reply with buttons (a template card on WeCom)."""
    buttons = (
        Button("红色", "pick.choose", color="red"),
        Button("蓝色", "pick.choose", color="blue"),
    )
    return [Reply("请选择颜色", buttons=buttons)]


async def picked(ctx: Context, color: str = "") -> list[Reply]:
    """Test route: what a button press does."""
    return [Reply(f"您选择了：{color}")]


async def slow(ctx: Context) -> list[Reply]:
    """Test route: a handler that takes 10 s."""
    await asyncio.sleep(10)
    return [Reply("慢工出细活，处理完成。")]


EXTRA_ROUTES = (
    Route("pick", pick, "选择", "测试按钮", buttons={"choose": picked}, menu=False),
    Route("slow", slow, "慢", "测试慢处理", role=Role.ANYONE, menu=False),
)


@pytest.fixture
def settings(demo_settings: Settings, api: FakeWeComApi) -> Iterator[Settings]:
    api.reset()
    value = load_settings(
        _env_file=None,
        DATABASE_URL=demo_settings.DATABASE_URL,
        SCHEDULER_ENABLED=False,  # the sender runs; the sweeps would remind of the demo's days
        **wecom_settings(api.base),
    )
    use_settings(value)
    yield value
    use_settings(demo_settings)


@dataclass
class Live:
    url: str
    app: App

    async def post(self, xml: str, forge: bool = False) -> tuple[httpx.Response, dict[str, str]]:
        params, body = CRYPTO.callback(xml, forge=forge)
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(f"{self.url}/wecom/callback", params=params, content=body)
        return response, params

    async def say(self, user: str, text: str) -> str:
        """Send a text; returns the passive reply's content ('' when none)."""
        response, params = await self.post(text_xml(user, text, next(_msg_ids)))
        assert response.status_code == 200
        return CRYPTO.open_reply(response.text, params)["Content"] if response.text else ""


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    app = build_app(settings, transports_for(settings))
    app.dispatcher = Dispatcher((*ROUTES, *EXTRA_ROUTES), app.sessionmaker, settings, app.clock)
    server = ServerThread(build_web_app(app)).start()
    yield Live(server.url, app)
    server.stop()


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return value


async def _member_id(db: async_sessionmaker[AsyncSession], console_user: str) -> int:
    async with db() as session:
        member_id = await session.scalar(
            select(Identity.member_id).where(
                Identity.platform == "console", Identity.user_key == console_user
            )
        )
    assert member_id is not None
    return member_id


async def _wecom_identity(db: async_sessionmaker[AsyncSession], user: str, member_id: int) -> None:
    async with db() as session, session.begin():
        session.add(Identity(platform="wecom", user_key=user, member_id=member_id))


async def test_url_verification(live: Live) -> None:
    async with httpx.AsyncClient() as client:
        good = await client.get(f"{live.url}/wecom/callback", params=CRYPTO.verification("echo"))
        forged = CRYPTO.verification("echo") | {"timestamp": "1"}
        bad = await client.get(f"{live.url}/wecom/callback", params=forged)
    assert (good.status_code, good.text) == (200, "echo")
    assert bad.status_code == 403


async def test_newcomer_binds_then_asks_for_help_and_profile(
    live: Live, db: async_sessionmaker[AsyncSession]
) -> None:
    async with db() as session:
        invite = await session.scalar(select(InviteCode).where(InviteCode.used_at.is_(None)))
        assert invite is not None
        newcomer = await session.get(Member, invite.member_id)
    assert newcomer is not None
    assert (await live.say("zhaoliu", f"绑定 {invite.code}")).startswith(
        f"绑定成功！欢迎您，{newcomer.name}"
    )
    assert (await live.say("zhaoliu", "/help")).startswith("📖 您可以这样用")
    assert newcomer.name in await live.say("zhaoliu", "/me")
    async with db() as session:
        bound = await session.scalar(
            select(Identity.member_id).where(
                Identity.platform == "wecom", Identity.user_key == "zhaoliu"
            )
        )
    assert bound == newcomer.id


async def test_a_console_member_also_binds_on_wecom(
    live: Live, db: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    member_id = await _member_id(db, "member")
    async with db() as session, session.begin():
        session.add(
            InviteCode(
                code="87654321",
                member_id=member_id,
                expires_at=live.app.clock.now() + timedelta(1),
            )
        )
    assert (await live.say("wangwu", "绑定 87654321")).startswith("绑定成功")
    on_wecom = await live.say("wangwu", "/me")
    async with db() as session:
        member = await session.get(Member, member_id)
        platforms = await session.scalars(
            select(Identity.platform).where(Identity.member_id == member_id)
        )
        assert sorted(platforms) == ["console", "wecom"]
    assert member is not None and member.name in on_wecom


async def test_template_card_buttons(
    live: Live, db: async_sessionmaker[AsyncSession], api: Any
) -> None:
    await _wecom_identity(db, "lisi", await _member_id(db, "member"))
    assert await live.say("lisi", "/pick") == ""  # buttons go out as a card through the API
    [card] = await wait_for(lambda: api.sent)
    assert (card["touser"], card["agentid"], card["msgtype"]) == ("lisi", 1000002, "template_card")
    assert card["template_card"]["main_title"]["title"] == "请选择颜色"
    buttons = {b["text"]: b["key"] for b in card["template_card"]["button_list"]}
    assert set(buttons) == {"红色", "蓝色"} and "pick:" not in buttons["蓝色"]
    press = event_xml(
        "lisi",
        "template_card_event",
        EventKey=buttons["蓝色"],
        TaskId=card["template_card"]["task_id"],
        CardType="button_interaction",
        ResponseCode="resp-1",
    )
    response, params = await live.post(press)
    assert CRYPTO.open_reply(response.text, params)["Content"] == "您选择了：blue"
    # Someone else cannot use lisi's token.
    await _wecom_identity(db, "other", await _member_id(db, "host"))
    stolen = event_xml("other", "template_card_event", EventKey=buttons["红色"])
    response, params = await live.post(stolen)
    assert CRYPTO.open_reply(response.text, params)["Content"] == "这个按钮已失效，请重新操作。"


async def _counts(db: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    async with db() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(InboxEvent)) or 0),
            int(await session.scalar(select(func.count()).select_from(ThrottleHit)) or 0),
            int(await session.scalar(select(func.count()).select_from(Identity)) or 0),
        )


async def test_forged_signature_gets_403_and_writes_nothing(
    live: Live, db: async_sessionmaker[AsyncSession]
) -> None:
    before = await _counts(db)
    async with db() as session:
        code = await session.scalar(select(InviteCode.code).where(InviteCode.used_at.is_(None)))
    response, _ = await live.post(text_xml("mallory", f"绑定 {code}", 99), forge=True)
    assert response.status_code == 403
    assert await _counts(db) == before


async def test_a_callback_retried_three_times_has_one_effect(
    live: Live, db: async_sessionmaker[AsyncSession], api: Any
) -> None:
    async with db() as session:
        code = await session.scalar(select(InviteCode.code).where(InviteCode.used_at.is_(None)))
    xml = text_xml("retry", f"绑定 {code}", 4242)
    answers = [await live.post(xml) for _ in range(3)]
    assert CRYPTO.open_reply(answers[0][0].text, answers[0][1])["Content"].startswith("绑定成功")
    assert [a[0].text for a in answers[1:]] == ["", ""]
    click = event_xml("retry", "click", created=1764470000, EventKey="me")
    assert [(await live.post(click))[0].status_code for _ in range(3)] == [200] * 3
    async with db() as session:
        events = await session.scalars(
            select(InboxEvent.event_id).where(InboxEvent.user_key == "retry")
        )
        assert sorted(events) == ["4242", "retry:1764470000:click:me"]
        hits = await session.scalar(select(func.count()).where(ThrottleHit.key == "wecom:retry"))
        assert hits == 2
    await asyncio.sleep(0.2)
    assert api.sent == []


async def test_a_slow_handler_still_gets_the_callback_answered_in_time(
    live: Live, api: Any
) -> None:
    started = time.monotonic()
    response, _ = await live.post(text_xml("slowpoke", "/slow", 777))
    assert time.monotonic() - started < 5
    assert (response.status_code, response.text) == (200, "")
    [message] = await wait_for(lambda: api.sent, timeout=15)
    assert message["touser"] == "slowpoke"
    assert message["text"]["content"] == "慢工出细活，处理完成。"


async def _outbox(
    db: async_sessionmaker[AsyncSession], users: list[str], reply: Reply, now: Any
) -> None:
    async with db() as session, session.begin():
        members = [Member(name=f"群发{i}") for i in range(len(users))]
        session.add_all(members)
        await session.flush()
        session.add_all(
            Identity(platform="wecom", user_key=u, member_id=m.id)
            for u, m in zip(users, members, strict=True)
        )
        session.add_all(
            OutboxMessage(
                member_id=m.id,
                platform="wecom",
                user_key=u,
                text=reply.text,
                buttons=[[b.label, b.target, dict(b.values)] for b in reply.buttons],
                kind="notice",
                ref_id=1,
                created_at=now,
                not_before=now,
            )
            for u, m in zip(users, members, strict=True)
        )


async def test_a_broadcast_to_2500_users_goes_out_in_3_calls(
    settings: Settings, db: async_sessionmaker[AsyncSession], api: Any
) -> None:
    users = [f"wx{i:04d}" for i in range(2500)]
    notice = Reply("【通知】周五下午开展主题党日活动。", buttons=(Button("收到", "help"),))
    await _outbox(db, users, notice, OutboxSender(db, {}).clock.now())
    transport = WeComTransport(settings)
    transport.client.bind(db)
    try:
        assert await OutboxSender(db, {"wecom": transport}).drain() == 2500
    finally:
        await transport.aclose()
    assert [len(m["touser"].split("|")) for m in api.sent] == [1000, 1000, 500]
    assert sorted(u for m in api.sent for u in m["touser"].split("|")) == users
    assert {m["msgtype"] for m in api.sent} == {"template_card"}
    async with db() as session:
        statuses = await session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.platform == "wecom").distinct()
        )
        assert list(statuses) == [OutboxStatus.SENT]


async def test_45009_backs_off_and_42001_refreshes_the_token_once(
    settings: Settings, db: async_sessionmaker[AsyncSession], api: Any
) -> None:
    transport = WeComTransport(settings, backoff=0.3)
    transport.client.bind(db)
    sender = OutboxSender(db, {"wecom": transport})

    async def row(user: str) -> OutboxMessage:
        async with db() as session:
            found = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.user_key == user)
            )
        assert found is not None
        return found

    try:
        await _outbox(db, ["busy"], Reply("稍后再发"), sender.clock.now())
        api.fail_next = [45009]
        assert await sender.drain() == 0
        pending = await row("busy")
        assert (pending.status, pending.attempts) == (OutboxStatus.PENDING, 1)
        assert "45009" in pending.error
        assert pending.not_before > sender.clock.now()
        assert transport.limiter is not None and transport.limiter._wait_needed("") > 0
        await asyncio.sleep(0.35)
        assert await sender.drain() == 1  # after the back-off (and the member's 3.6 s gap)
        assert api.token_calls == 1

        await _outbox(db, ["expired"], Reply("令牌过期"), sender.clock.now())
        api.fail_next = [42001]
        assert await sender.drain() == 1
        assert api.token_calls == 2

        await _outbox(db, ["broken"], Reply("一直过期"), sender.clock.now())
        api.fail_next = [42001, 42001]
        attempts = api.attempts
        assert await sender.drain() == 0
        assert (api.token_calls, api.attempts - attempts) == (3, 2)  # refreshed once, not more
        failed = await row("broken")
        assert (failed.status, "42001" in failed.error) == (OutboxStatus.PENDING, True)
    finally:
        await transport.aclose()
    assert [m["text"]["content"] for m in api.sent] == ["稍后再发", "令牌过期"]


async def test_workers_share_one_access_token(
    settings: Settings, db: async_sessionmaker[AsyncSession], api: Any
) -> None:
    workers = [WeComTransport(settings) for _ in range(2)]
    try:
        for i, worker in enumerate(workers):
            worker.client.bind(db)
            await worker.send(f"a{i + 1}", Reply(f"第{i + 1}个进程"))
    finally:
        for worker in workers:
            await worker.aclose()
    assert api.token_calls == 1
    assert [m["touser"] for m in api.sent] == ["a1", "a2"]


def test_wecom_menu_command_creates_the_menu(settings: Settings, api: Any) -> None:
    assert cmd_wecom_menu(argparse.Namespace(), settings) == 0
    [menu] = api.menus
    assert menu["agentid"] == "1000002"
    items = [item for group in menu["button"] for item in group.get("sub_button", [group])]
    assert {"help", "checkin", "report"} <= {item["key"] for item in items}

"""The dispatcher: routing order, roles, dedupe, dialog expiry, flood control, transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.core import Button, Flow, Reply, Role, Route
from bot.core.clock import FrozenClock
from bot.dispatcher import Dispatcher
from bot.nlu import Parse
from handlers import ROUTES
from handlers.context import Context
from models.member import Identity, Member, MemberRole
from models.outbox import OutboxMessage
from tests.fakes import Chat, RecordingTransport


async def echo_command(ctx: Context, words: str = "") -> list[Reply]:
    return [Reply(f"command:{words}")]


FLOW = Flow("flow")


async def start_flow(ctx: Context) -> list[Reply]:
    await ctx.dialog.set_state(flow_step)
    buttons = (Button("A", "flow.ask", choice="a"), Button("Other", "other.press", data="x"))
    return [Reply("flow started", buttons=buttons)]


@FLOW.step("ask")
async def flow_step(ctx: Context, text: str = "", choice: str | None = None) -> list[Reply]:
    await ctx.dialog.clear()
    return [Reply(f"step:{text}:{choice}")]


async def other_button(ctx: Context, data: str = "") -> list[Reply]:
    return [Reply(f"button:{data}")]


async def by_intent(ctx: Context, code: str = "") -> list[Reply]:
    return [Reply(f"intent:{code}")]


async def admin_only(ctx: Context) -> list[Reply]:
    return [Reply("secret")]


async def notify_then_fail(ctx: Context) -> list[Reply]:
    await ctx.notify(ctx.me.id, Reply("should never be sent"))
    raise RuntimeError("boom")


async def notify_ok(ctx: Context) -> list[Reply]:
    await ctx.notify(ctx.me.id, Reply("to myself"))
    return [Reply("done")]


def fake_nlu(text: str) -> Parse:
    if "码" in text:
        return Parse("code_intent", {"code": "123456"})
    if "单选" in text:
        return Parse("code_intent", alternatives=("no_such_intent", "code_intent"))
    if "两可" in text:
        return Parse("code_intent", alternatives=("code_intent", "other_intent"))
    return Parse("unknown", confidence=0.0)


TEST_ROUTES = (
    *[r for r in ROUTES if r.name in ("help", "cancel", "start")],
    Route("echo", echo_command, "回声", "测试", aliases=("回声",), arg="words", role=Role.ANYONE),
    Route(
        "flow",
        start_flow,
        "流程",
        "测试",
        aliases=("流程",),
        steps=FLOW,
        role=Role.ANYONE,
    ),
    Route(
        "other",
        admin_only,
        "其他",
        "测试",
        buttons={"press": other_button},
        intent="other_intent",
        role=Role.ANYONE,
    ),
    Route("coded", by_intent, "代码", "测试", intent="code_intent", role=Role.ANYONE),
    Route("secret", admin_only, "机密", "测试", role=Role.SUPER_ADMIN),
    Route("failing", notify_then_fail, "失败", "测试"),
    Route("notifying", notify_ok, "通知", "测试"),
)


@pytest.fixture
async def bound_app(app: App) -> AsyncIterator[App]:
    """The test app with the test routes and one bound console user, 'u'."""
    async with app.sessionmaker() as session, session.begin():
        member = Member(name="测试员")
        session.add(member)
        await session.flush()
        session.add(Identity(platform="console", user_key="u", member_id=member.id))
    app.dispatcher = Dispatcher(TEST_ROUTES, app.sessionmaker, app.settings, app.clock, fake_nlu)
    yield app


@pytest.fixture
def tchat(bound_app: App, transport: RecordingTransport) -> Chat:
    return Chat(bound_app, transport)


async def test_command_alias_and_argument(tchat: Chat) -> None:
    assert await tchat.say("u", "/echo 你好 世界") == ["command:你好 世界"]
    assert await tchat.say("u", "回声 你好") == ["command:你好"]
    assert await tchat.say("u", "/echo@hongmeng_bot hi") == ["command:hi"]


async def test_unknown_command_is_named(tchat: Chat) -> None:
    assert await tchat.say("u", "/nosuch") == ["没有“/nosuch”这个命令。发送“帮助”看看能做什么。"]


async def test_free_text_goes_to_intent_with_slots(tchat: Chat) -> None:
    assert await tchat.say("u", "我的签到码来了") == ["intent:123456"]


async def test_close_intents_are_asked_with_buttons(tchat: Chat) -> None:
    replies = await tchat.replies("u", "两可的话")
    assert replies[0].text == "您是想："
    assert [b.label for b in replies[0].buttons] == ["代码", "其他"]
    assert await tchat.press("u", "代码") == ["intent:"]


async def test_a_single_routable_alternative_is_taken_without_asking(tchat: Chat) -> None:
    assert await tchat.say("u", "单选的话") == ["intent:"]


async def test_nothing_understood_gets_help(tchat: Chat) -> None:
    texts = await tchat.say("u", "今天天气不错")
    assert texts[0].startswith("没太明白您的意思。")


async def test_a_command_leaves_the_dialog_and_says_so(tchat: Chat) -> None:
    await tchat.say("u", "流程")
    assert await tchat.say("u", "/echo x") == ["（已退出“流程”）command:x"]
    assert await tchat.say("u", "/echo x") == ["command:x"]
    await tchat.say("u", "流程")
    assert await tchat.say("u", "回声 y") == ["（已退出“流程”）command:y"]


async def test_free_text_goes_to_the_step(tchat: Chat) -> None:
    await tchat.say("u", "流程")
    assert await tchat.say("u", "随便说点什么") == ["step:随便说点什么:None"]


async def test_button_of_the_flow_goes_to_the_step_other_buttons_to_their_route(
    tchat: Chat,
) -> None:
    await tchat.say("u", "流程")
    flow_button = tchat.last["u"][0]
    assert await tchat.press("u", "Other") == ["button:x"]
    replies = await tchat.send(tchat.event("u", action=flow_button.token))
    assert [r.text for r in replies] == ["step::a"]


async def test_cancel_wins_over_the_dialog(tchat: Chat) -> None:
    await tchat.say("u", "流程")
    assert await tchat.say("u", "取消") == ["已取消当前操作。"]
    assert await tchat.say("u", "/echo back") == ["command:back"]
    assert await tchat.say("u", "/cancel") == ["当前没有进行中的操作。"]


async def test_expired_dialog_is_dropped_silently(tchat: Chat, clock: FrozenClock) -> None:
    await tchat.say("u", "流程")
    clock.advance(minutes=31)
    assert await tchat.say("u", "/echo later") == ["command:later"]


async def test_dialog_survives_within_the_idle_time(tchat: Chat, clock: FrozenClock) -> None:
    await tchat.say("u", "流程")
    clock.advance(minutes=29)
    assert await tchat.say("u", "answer") == ["step:answer:None"]


async def test_unbound_and_unauthorised_are_refused_politely(tchat: Chat) -> None:
    assert await tchat.say("stranger", "/failing") == [
        "您还没有绑定身份。请发送“绑定 邀请码”（邀请码由所在单位或联盟管理员提供）。"
    ]
    assert await tchat.say("u", "/secret") == ["抱歉，“机密”只对县级管理员开放。"]


async def test_role_granted_opens_the_route(tchat: Chat, bound_app: App) -> None:
    async with bound_app.sessionmaker() as session, session.begin():
        member_id = await session.scalar(
            select(Identity.member_id).where(Identity.user_key == "u")
        )
        session.add(MemberRole(member_id=member_id, role=Role.SUPER_ADMIN))
    assert await tchat.say("u", "/secret") == ["secret"]


async def test_same_event_twice_has_one_effect(tchat: Chat, bound_app: App) -> None:
    event = tchat.event("u", text="/notifying")
    assert [r.text for r in await tchat.send(event)] == ["done"]
    assert await tchat.send(replace(event, text="/notifying")) == []
    async with bound_app.sessionmaker() as session:
        assert await session.scalar(select(func.count(OutboxMessage.id))) == 1
    assert tchat.received("u") == ["to myself"]


async def test_failing_handler_leaves_no_outbox_row(tchat: Chat, bound_app: App) -> None:
    assert await tchat.say("u", "/failing") == [
        "抱歉，系统出了点问题，本次操作未生效，请稍后再试。"
    ]
    async with bound_app.sessionmaker() as session:
        assert await session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert tchat.received("u") == []


async def test_flooding_gets_one_notice_then_silence(tchat: Chat, clock: FrozenClock) -> None:
    for i in range(20):
        assert await tchat.say("u", f"/echo {i}") == [f"command:{i}"]
    assert await tchat.say("u", "/echo 21") == ["您发送得太快了，请稍等一分钟再试。"]
    assert await tchat.say("u", "/echo 22") == []
    clock.advance(seconds=61)
    assert await tchat.say("u", "/echo again") == ["command:again"]


async def test_a_forged_button_token_does_nothing(tchat: Chat) -> None:
    replies = await tchat.send(tchat.event("u", action="bforged-token"))
    assert [r.text for r in replies] == ["这个按钮已失效，请重新操作。"]


async def test_someone_elses_button_token_does_nothing(tchat: Chat) -> None:
    await tchat.say("u", "流程")
    token = tchat.last["u"][1].token
    replies = await tchat.send(tchat.event("intruder", action=token))
    assert [r.text for r in replies] == ["这个按钮已失效，请重新操作。"]


async def test_a_step_button_after_its_dialog_ended_does_not_restart_it(tchat: Chat) -> None:
    await tchat.say("u", "流程")
    flow_button = tchat.last["u"][0]
    replies = await tchat.send(tchat.event("u", action=flow_button.token))
    assert [r.text for r in replies] == ["step::a"]
    again = await tchat.send(tchat.event("u", action=flow_button.token))
    assert [r.text for r in again] == ["这个按钮已失效，请重新操作。"]
    assert await tchat.say("u", "answer") != ["step:answer:None"]  # no dialog was begun

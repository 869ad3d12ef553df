"""/rotation, period boundaries, unpublished reminders, swaps, admin overrides, .ics."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.core.clock import FrozenClock, local_datetime
from bot.scheduler import run_all
from handlers import SWEEPS
from models.member import Identity, InviteCode, Member
from models.org import Alliance, Unit
from models.rotation import RotationOverride, RotationPlan, SwapRequest, SwapStatus, unit_secretary
from tests.fakes import Chat

FOOD = "食品产业链党建红色联盟"


async def food_plan(chat: Chat) -> tuple[RotationPlan, list[str]]:
    async with chat.app.sessionmaker() as session:
        plan = await session.scalar(
            select(RotationPlan)
            .join(Alliance, Alliance.id == RotationPlan.alliance_id)
            .where(Alliance.name == FOOD)
        )
        assert plan is not None
        names = [(await session.get(Unit, u)).name for u in plan.unit_ids]  # type: ignore[union-attr]
    return plan, names


async def bind_secretary(chat: Chat, unit_name: str, key: str) -> Member:
    async with chat.app.sessionmaker() as session, session.begin():
        unit = await session.scalar(select(Unit).where(Unit.name == unit_name))
        assert unit is not None
        secretary = await unit_secretary(session, unit.id)
        assert secretary is not None
        session.add(
            Identity(platform="console", user_key=key, chat_key=key, member_id=secretary.id)
        )
    return secretary


async def sweep(chat: Chat) -> None:
    await run_all(SWEEPS, chat.app.sessionmaker, chat.app.clock, chat.app.settings)
    await chat.app.sender.drain()


async def test_rotation_shows_chair_current_host_and_next_three(chat: Chat) -> None:
    _, names = await food_plan(chat)
    [reply] = await chat.replies("member", "轮值")
    assert reply.text.splitlines() == [
        f"🔄 {FOOD}",
        f"主席单位：{names[0]}（任期至 2026年12月31日）",
        f"本期轮值（2026年12月）：{names[0]}",
        "接下来：",
        f"· 2027年1月：{names[1]}",
        f"· 2027年2月：{names[2]}",
        f"· 2027年3月：{names[3]}",
    ]
    assert [b.label for b in reply.buttons] == ["📅 日历文件"]
    [host] = await chat.replies("host", "/rotation")
    assert [b.label for b in host.buttons] == ["📅 日历文件", "🔁 申请换班"]


async def test_period_boundary_advances_the_host_and_tells_its_secretary(
    chat: Chat, clock: FrozenClock
) -> None:
    _, names = await food_plan(chat)
    await sweep(chat)
    assert chat.received("host") == [
        f"🔄 本期（2026年12月）由贵单位承办 {FOOD} 的轮值活动，请及时发送“发布活动”发布本期活动。"
    ]
    await bind_secretary(chat, names[1], "next_host")
    clock.set(local_datetime(2026, 12, 31, 23, 59))
    await sweep(chat)
    assert chat.received("next_host") == []
    clock.set(local_datetime(2027, 1, 1, 0, 0))
    await sweep(chat)
    await sweep(chat)
    assert chat.received("next_host") == [
        f"🔄 本期（2027年1月）由贵单位承办 {FOOD} 的轮值活动，请及时发送“发布活动”发布本期活动。"
    ]
    assert len(chat.received("host")) == 1
    [reply] = await chat.say("member", "轮值")
    assert f"本期轮值（2027年1月）：{names[1]}" in reply
    # The chair's term is the calendar year: the second unit chairs 2027.
    assert f"主席单位：{names[1]}（任期至 2027年12月31日）" in reply


async def test_unpublished_period_reminds_the_host_and_tells_the_admin(
    chat: Chat, clock: FrozenClock
) -> None:
    _, names = await food_plan(chat)
    clock.set(local_datetime(2026, 12, 25, 9, 0))  # December has activities: no reminder
    await sweep(chat)
    assert not any("还没有发布" in t for t in chat.received("alliance_admin"))
    await bind_secretary(chat, names[1], "next_host")
    clock.set(local_datetime(2027, 1, 24, 9, 0))  # 8 days before the end: not yet
    await sweep(chat)
    assert not any("还没有发布" in t for t in chat.received("next_host"))
    clock.set(local_datetime(2027, 1, 25, 9, 0))
    await sweep(chat)
    await sweep(chat)
    assert [t for t in chat.received("next_host") if "还没有发布" in t] == [
        f"⏰ {FOOD} 本期（2027年1月）还没有发布轮值活动，本期 01月31日 结束，请尽快发布。"
    ]
    assert [t for t in chat.received("alliance_admin") if "还没有发布" in t] == [
        f"⏰ {FOOD} 本期轮值单位 {names[1]} 还没有发布本期（2027年1月）活动。"
    ]


async def test_two_units_swap_turns_and_the_admin_sees_it(chat: Chat) -> None:
    _, names = await food_plan(chat)
    await bind_secretary(chat, names[1], "next_host")
    await chat.replies("host", "/rotation")
    assert await chat.press("host", "🔁 申请换班") == ["用您单位的 2026年12月 和哪一期交换？"]
    assert await chat.press("host", f"2027年1月 {names[1]}") == [
        f"已向 {names[1]} 发出换班申请，对方同意后生效。"
    ]
    [invite] = chat.received("next_host")
    assert invite == f"{names[0]} 想用它的 2026年12月 与贵单位的 2027年1月 交换轮值，是否同意？"
    done = f"换班已生效：{names[1]} 承办 2026年12月，{names[0]} 承办 2027年1月。"
    assert await chat.press("next_host", "同意") == [done]
    assert chat.received("host")[-1] == done
    assert chat.received("alliance_admin")[-1] == done
    [reply] = await chat.say("member", "轮值")
    assert f"本期轮值（2026年12月）：{names[1]}" in reply
    assert f"· 2027年1月：{names[0]}" in reply
    async with chat.app.sessionmaker() as session:
        swap = await session.scalar(select(SwapRequest))
        overrides = (await session.execute(select(RotationOverride))).scalars().all()
    assert swap is not None and swap.status == SwapStatus.ACCEPTED
    assert sorted((o.period_index, o.reason) for o in overrides) == [(0, "swap"), (1, "swap")]
    # The new December host may now publish; the old one may not.
    assert (await chat.say("host", "发布活动"))[0].startswith("只有本期轮值单位的书记")
    assert await chat.say("next_host", "发布活动") == ["请输入活动名称（例如：12月主题党日）："]


async def test_a_swap_can_be_declined_and_not_answered_twice(chat: Chat) -> None:
    _, names = await food_plan(chat)
    await bind_secretary(chat, names[1], "next_host")
    await chat.replies("host", "/rotation")
    await chat.press("host", "🔁 申请换班")
    await chat.press("host", f"2027年1月 {names[1]}")
    invite = chat.last["next_host"]
    assert await chat.press("next_host", "拒绝") == ["已拒绝换班申请。"]
    chat.last["next_host"] = invite  # pressing the other button of the same message later
    assert await chat.press("next_host", "同意") == ["这个换班申请已经处理过了。"]
    assert chat.received("host")[-1] == f"{names[1]} 没有同意换班申请（2026年12月）。"
    async with chat.app.sessionmaker() as session:
        assert (await session.execute(select(RotationOverride))).first() is None


async def test_admin_overrides_one_period(chat: Chat) -> None:
    _, names = await food_plan(chat)
    await bind_secretary(chat, names[4], "fifth")
    await chat.replies("alliance_admin", "/rotation")
    assert await chat.press("alliance_admin", "✏️ 调整轮值") == ["调整哪一期的轮值单位？"]
    assert await chat.press("alliance_admin", f"2027年2月 {names[2]}") == [
        "2027年2月 改由哪个单位承办？"
    ]
    assert await chat.press("alliance_admin", names[4]) == [
        f"已调整：2027年2月 由 {names[4]} 承办。"
    ]
    assert chat.received("fifth") == [f"联盟管理员安排贵单位承办 {FOOD} 2027年2月 的轮值活动。"]
    [reply] = await chat.say("member", "轮值")
    assert f"· 2027年2月：{names[4]}" in reply


async def test_rotation_as_an_ics_file(chat: Chat) -> None:
    await chat.replies("member", "/rotation")
    replies = await chat.send(chat.event("member", action=chat.last["member"][0].token))
    [ics] = replies
    assert ics.text == f"{FOOD} 轮值日历（可导入手机日历）"
    assert ics.file is not None
    text = Path(ics.file).read_bytes().decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.count("BEGIN:VEVENT") == 12
    assert "DTSTART;VALUE=DATE:20261201\r\nDTEND;VALUE=DATE:20270101" in text


async def test_a_swap_to_an_unbound_secretary_goes_to_the_admin_then_to_the_secretary(
    chat: Chat,
) -> None:
    _, names = await food_plan(chat)
    async with chat.app.sessionmaker() as session, session.begin():
        unit = await session.scalar(select(Unit).where(Unit.name == names[1]))
        assert unit is not None
        secretary = await unit_secretary(session, unit.id)
        assert secretary is not None
        session.add(
            InviteCode(
                code="24681357",
                member_id=secretary.id,
                expires_at=chat.app.clock.now() + timedelta(days=7),
            )
        )
        admin_name = await session.scalar(
            select(Member.name).where(Member.identities.any(user_key="alliance_admin"))
        )
    await chat.replies("host", "/rotation")
    await chat.press("host", "🔁 申请换班")
    assert await chat.press("host", f"2027年1月 {names[1]}") == [
        f"{names[1]} 的书记还没有使用红盟助手，收不到换班申请。已转联盟管理员（{admin_name}）"
        "联系该单位代为答复；书记绑定后也会收到。结果会通知您。"
    ]
    assert chat.received("alliance_admin")[-1] == (
        f"🔁 {names[0]} 想用它的 2026年12月 与 {names[1]} 的 2027年1月 交换轮值，"
        f"但{names[1]} 的书记还没有绑定红盟助手。请联系该单位后代为答复："
    )
    # The secretary binds later and gets the request that waited for them.
    [bound] = await chat.say("next_host", "绑定 24681357")
    assert bound.startswith("绑定成功！")
    invite = f"{names[0]} 想用它的 2026年12月 与贵单位的 2027年1月 交换轮值，是否同意？"
    assert chat.received("next_host") == [invite]
    await chat.say("next_host", "/cancel")
    assert chat.received("next_host") == [invite]  # sent once
    done = f"换班已生效：{names[1]} 承办 2026年12月，{names[0]} 承办 2027年1月。"
    assert await chat.press_received("next_host", "同意") == [done]
    assert chat.received("host")[-1] == done
    # The admin's copy is answered already.
    assert await chat.press_received("alliance_admin", "拒绝") == ["这个换班申请已经处理过了。"]


async def test_the_admin_answers_for_a_unit_nobody_can_reach(chat: Chat) -> None:
    _, names = await food_plan(chat)
    await chat.replies("host", "/rotation")
    await chat.press("host", "🔁 申请换班")
    await chat.press("host", f"2027年1月 {names[1]}")
    done = f"换班已生效：{names[1]} 承办 2026年12月，{names[0]} 承办 2027年1月。"
    assert await chat.press_received("alliance_admin", "同意") == [done]
    assert chat.received("host")[-1] == done
    # An override for an unbound secretary says that nobody was told.
    await chat.replies("alliance_admin", "/rotation")
    await chat.press("alliance_admin", "✏️ 调整轮值")
    await chat.press("alliance_admin", f"2027年2月 {names[2]}")
    assert await chat.press("alliance_admin", names[3]) == [
        f"已调整：2027年2月 由 {names[3]} 承办。\n"
        "⚠️ 该单位书记还没有使用红盟助手，未能通知到，请电话告知。"
    ]

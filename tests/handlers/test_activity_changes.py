"""Editing and cancelling a published activity: who may, what is previewed, who is told."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.clock import FrozenClock, local_datetime
from bot.scheduler import run_all
from handlers import SWEEPS
from models.activity import Activity
from tests.fakes import Chat
from tests.handlers.test_checkin import MEETING, PARTY_DAY, host_code

REMIND_SWEEPS = [s for s in SWEEPS if s.id == "activity_reminders"]
HALL = "食品产业链联盟会议室"


async def _sweep(chat: Chat) -> None:
    await run_all(REMIND_SWEEPS, chat.app.sessionmaker, chat.app.clock, chat.app.settings)
    await chat.app.sender.drain()


async def _activity(chat: Chat, title: str) -> Activity:
    async with chat.app.sessionmaker() as session:
        row = await session.scalar(select(Activity).where(Activity.title == title))
    assert row is not None
    return row


async def test_host_moves_the_meeting_and_the_reminded_are_told(
    chat: Chat, clock: FrozenClock
) -> None:
    clock.set(local_datetime(2026, 12, 3, 9, 5))  # the 24 h reminders go out
    await _sweep(chat)
    reminder = f"⏰ 活动提醒：《{MEETING}》12月04日（周五） 09:00-11:00 · {HALL}\n"
    assert chat.received("member")[0].startswith(reminder)
    assert await chat.say("host", "修改活动") == [
        f"要修改或取消哪个活动？\n1. 《{MEETING}》12月04日（周五） 09:00-11:00 · {HALL}"
    ]
    assert await chat.press("host", f"1. {MEETING}") == [
        f"📅 《{MEETING}》12月04日（周五） 09:00-11:00 · {HALL}（食品产业链党建红色联盟）\n"
        "签到：签到码\n已签到 0 人，已收到提醒的党员 1 人。"
    ]
    assert await chat.press("host", "修改活动") == ["要修改哪一项？"]
    await chat.press("host", "时间")
    await chat.say("host", "12月5日下午2点")
    [preview] = await chat.say("host", "16:00")
    assert preview == (
        f"请确认修改后的活动：\n《{MEETING}》（食品产业链党建红色联盟）\n"
        f"时间：12月05日（周六） 14:00-16:00\n地点：{HALL}\n仅签到码签到\n"
        "改动：时间改为 12月05日（周六） 14:00-16:00\n"
        "确认后将告知：已收到提醒的 1 人、联盟管理员。"
    )
    assert len(chat.received("member")) == 1  # nothing is sent before the confirmation
    # Another field can still be corrected before saving.
    await chat.press("host", "修改")
    await chat.press("host", "地点")
    [preview] = await chat.say("host", "县党群服务中心二楼")
    assert "改动：时间改为 12月05日（周六） 14:00-16:00；地点改为 县党群服务中心二楼" in preview
    assert await chat.press("host", "确认修改") == [
        f"✅ 已修改活动：《{MEETING}》12月05日（周六） 14:00-16:00 · 县党群服务中心二楼\n"
        "已告知 2 人。"
    ]
    changed = (
        f"📢 活动有变更：《{MEETING}》12月05日（周六） 14:00-16:00 · 县党群服务中心二楼\n"
        "时间改为 12月05日（周六） 14:00-16:00；地点改为 县党群服务中心二楼"
    )
    assert chat.received("member")[-1] == changed
    assert chat.received("alliance_admin")[-1] == changed
    row = await _activity(chat, MEETING)
    assert (row.starts_at, row.place, row.revision) == (
        local_datetime(2026, 12, 5, 14),
        "县党群服务中心二楼",
        1,
    )
    # The old time's 1 h reminder never comes; the new time's reminders do, with the new text.
    clock.set(local_datetime(2026, 12, 4, 8, 30))
    await _sweep(chat)
    assert chat.received("member")[-1] == changed
    clock.set(local_datetime(2026, 12, 4, 14, 5))
    await _sweep(chat)
    assert chat.received("member")[-1].startswith(
        f"⏰ 活动提醒：《{MEETING}》12月05日（周六） 14:00-16:00 · 县党群服务中心二楼"
    )


async def test_a_change_within_a_day_takes_the_place_of_the_reminder(
    chat: Chat, clock: FrozenClock
) -> None:
    clock.set(local_datetime(2026, 12, 3, 9, 5))
    await _sweep(chat)
    await chat.say("alliance_admin", "/activity")
    await chat.press("alliance_admin", f"1. {MEETING}")
    await chat.press("alliance_admin", "修改活动")
    await chat.press("alliance_admin", "时间")
    await chat.say("alliance_admin", "明天上午10点")
    await chat.say("alliance_admin", "12:00")
    [done] = await chat.press("alliance_admin", "确认修改")
    assert done.endswith("已告知 2 人。")  # member and host; the admin made the change
    await _sweep(chat)  # the 24 h reminder for 10:00 is the change notice itself
    assert [t[:8] for t in chat.received("member")] == ["⏰ 活动提醒：《", "📢 活动有变更："]


async def test_cancelling_tells_who_checked_in_and_stops_everything(
    chat: Chat, clock: FrozenClock
) -> None:
    code = await host_code(chat)
    await chat.say("member", f"签到 {code}")
    assert await chat.say("host", "取消活动") == [
        "要修改或取消哪个活动？\n"
        f"1. 《{PARTY_DAY}》12月01日（周二） 08:50-11:00 · 县党群服务中心三楼\n"
        f"2. 《{MEETING}》12月04日（周五） 09:00-11:00 · {HALL}"
    ]
    await chat.press("host", f"1. {PARTY_DAY}")
    assert await chat.press("host", "取消活动") == [
        "请写一句取消的原因（会告知已收到提醒和已签到的党员），或点“跳过”："
    ]
    assert await chat.say("host", "停电，改期另行通知") == [
        "请确认取消活动：\n"
        f"《{PARTY_DAY}》12月01日（周二） 08:50-11:00 · 县党群服务中心三楼\n"
        "确认后将告知：已签到的 1 人、联盟管理员。\n"
        f"他们将收到：“❌ 活动取消：《{PARTY_DAY}》12月01日（周二） 08:50-11:00 · "
        "县党群服务中心三楼\n原因：停电，改期另行通知”"
    ]
    assert await chat.press("host", "修改原因") == [
        "请写一句取消的原因（会告知已收到提醒和已签到的党员），或点“跳过”："
    ]
    await chat.say("host", "停电，改期另行通知")
    assert await chat.press("host", "确认取消活动") == [
        f"已取消活动《{PARTY_DAY}》。已告知 2 人。"
    ]
    cancelled = (
        f"❌ 活动取消：《{PARTY_DAY}》12月01日（周二） 08:50-11:00 · 县党群服务中心三楼\n"
        "原因：停电，改期另行通知"
    )
    assert chat.received("member") == [cancelled]
    assert chat.received("alliance_admin") == [cancelled]
    row = await _activity(chat, PARTY_DAY)
    assert row.cancelled_at == local_datetime(2026, 12, 1, 9) and row.cancel_reason
    # No code, no check-in, not listed, no reminder.
    assert (await chat.say("host", "/code"))[0].startswith("您现在没有正在签到中的活动")
    assert not (await chat.say("mobile", f"签到 {code}"))[0].startswith("✅")
    [listing] = await chat.say("member", "活动")
    assert PARTY_DAY not in listing
    assert await chat.say("host", f"/activity {row.id}") == ["这个活动已经取消了。"]


async def test_cancel_without_a_reason_and_nobody_reminded_yet(chat: Chat) -> None:
    await chat.say("host", "活动管理")
    await chat.press("host", f"2. {MEETING}")
    await chat.press("host", "取消活动")
    [preview] = await chat.press("host", "跳过")
    assert preview.splitlines()[2] == (
        "目前还没有党员收到提醒，取消后也不会再提醒。确认后将告知：联盟管理员。"
    )
    assert "原因" not in preview
    assert await chat.press("host", "确认取消活动") == [
        f"已取消活动《{MEETING}》。已告知 1 人。还没有党员收到提醒，之后也不会再提醒。"
    ]
    assert chat.received("alliance_admin") == [
        f"❌ 活动取消：《{MEETING}》12月04日（周五） 09:00-11:00 · {HALL}"
    ]


async def test_a_field_and_its_new_value_typed_at_once_go_to_the_preview(chat: Chat) -> None:
    await chat.say("host", "活动管理")
    await chat.press("host", f"2. {MEETING}")
    [ask] = await chat.press("host", "修改活动")
    assert ask.startswith("要修改哪一项？")
    [preview] = await chat.say("host", "地点改成县委党校二楼报告厅")
    assert preview.startswith("请确认修改后的活动：") and "地点：县委党校二楼报告厅" in preview


async def test_only_the_host_unit_or_an_admin_may_change_and_not_after_the_end(
    chat: Chat, clock: FrozenClock
) -> None:
    [refusal] = await chat.say("member", "修改活动")
    assert refusal.startswith("抱歉，“活动管理”只对支部书记开放。")
    # The super admin manages every alliance's activities.
    [listing] = await chat.say("admin", "活动管理")
    assert "亮身份践承诺：快递小哥服务日" in listing
    meeting = await _activity(chat, MEETING)
    clock.set(local_datetime(2026, 12, 4, 11, 30))
    assert await chat.say("host", f"/activity {meeting.id}") == [
        "这个活动已经结束，不能再修改或取消。"
    ]
    assert await chat.say("host", "修改活动") == [
        "您近期没有可以修改或取消的活动（只有主办单位的书记或联盟管理员可以）。"
    ]


async def test_activities_list_offers_management_to_whoever_may(chat: Chat) -> None:
    [host] = await chat.replies("host", "活动")
    assert [b.label for b in host.buttons] == ["修改或取消活动"]
    [member] = await chat.replies("member", "活动")
    assert member.buttons == ()
    assert (await chat.press("host", "修改或取消活动"))[0].startswith("要修改或取消哪个活动？")

"""Publishing (dialog, roles, bad input), /activities, and reminders across restarts."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import build_app
from bot.core.clock import FrozenClock, local_datetime
from bot.scheduler import run_all
from handlers import SWEEPS
from models.activity import Activity
from models.outbox import OutboxMessage
from settings import Settings
from tests.fakes import Chat, RecordingTransport

MEETING = "党建联席会议"


async def test_host_publishes_an_activity_with_a_location(chat: Chat) -> None:
    assert await chat.say("host", "发布活动") == ["请输入活动名称（例如：12月主题党日）："]
    assert await chat.say("host", "x") == ["活动名称请写 2 到 50 个字。（发送“取消”退出）"]
    assert await chat.say("host", "12月志愿服务") == [
        "什么时候开始？（例如：明天上午9点、12月10日下午2点半、下周三 14:00）"
    ]
    assert await chat.say("host", "随便哪天") == [
        "没看懂这个时间，可以这样写：明天上午9点、12月10日下午2点半、12-05 09:30。"
        "（发送“取消”退出）"
    ]
    assert await chat.say("host", "2026-12-01 08:00") == [
        "12月01日（周二） 08:00 已经过去了，请输入一个将来的时间。（发送“取消”退出）"
    ]
    assert await chat.say("host", "周六") == [
        "12月05日（周六）几点？请写上时间，例如：上午9点。（发送“取消”退出）"
    ]
    assert await chat.say("host", "周六上午九点半") == [
        "开始时间：12月05日（周六） 09:30。几点结束？（例如：11:30、下午5点）"
    ]
    assert await chat.say("host", "09:00") == [
        "结束时间要晚于开始时间（12月05日（周六） 09:30），请重新输入。（发送“取消”退出）"
    ]
    assert await chat.say("host", "11:30") == ["活动地点？（例如：县党群服务中心三楼）"]
    assert await chat.say("host", "阳都社区") == [
        "请分享活动地点的位置，用于位置签到；不需要请发送“跳过”。"
    ]
    assert await chat.say("host", "嗯") == ["请分享位置，或发送“跳过”。（发送“取消”退出）"]
    assert await chat.locate("host", 35.6, 118.4) == [
        "签到范围多少米？发送数字，或发送“默认”（500 米）。"
    ]
    assert await chat.say("host", "9") == [
        "请发送 50 到 5000 之间的数字，或发送“默认”。（发送“取消”退出）"
    ]
    assert await chat.say("host", "300米") == [
        "请确认要发布的活动：\n《12月志愿服务》（食品产业链党建红色联盟）\n"
        "时间：12月05日（周六） 09:30-11:30\n地点：阳都社区\n位置签到：活动地点 300 米内\n"
        "发布后，联盟党员会在活动前 24 小时和 1 小时收到提醒。"
    ]
    assert chat.received("alliance_admin") == []  # nothing is sent before the confirmation
    # Correcting one field comes back to the preview.
    assert await chat.press("host", "修改") == ["要修改哪一项？"]
    assert await chat.press("host", "地点") == ["活动地点？（例如：县党群服务中心三楼）"]
    [preview] = await chat.say("host", "阳都社区党群服务站")
    assert "地点：阳都社区党群服务站" in preview
    [done] = await chat.say("host", "确认发布")  # what the button says, typed
    assert done == (
        "✅ 活动已发布：《12月志愿服务》12月05日（周六） 09:30-11:30 · 阳都社区党群服务站\n"
        "活动前 24 小时和 1 小时会提醒联盟党员。"
    )
    async with chat.app.sessionmaker() as session:
        row = await session.scalar(select(Activity).where(Activity.title == "12月志愿服务"))
    assert row is not None
    assert (row.latitude, row.longitude, row.radius_m) == (35.6, 118.4, 300)
    assert row.starts_at == local_datetime(2026, 12, 5, 9, 30)
    [note] = chat.received("alliance_admin")
    assert note.endswith(
        "发布了活动：《12月志愿服务》12月05日（周六） 09:30-11:30 · 阳都社区党群服务站"
    )


async def test_publish_without_location_uses_no_geofence(chat: Chat) -> None:
    for line in ("发布活动", "读书会", "12-06 14:00", "16:00", "会议室"):
        await chat.say("host", line)
    [preview] = await chat.say("host", "跳过")
    assert "仅签到码签到" in preview
    [done] = await chat.press("host", "确认发布")
    assert done.startswith("✅ 活动已发布：《读书会》12月06日（周日） 14:00-16:00")
    async with chat.app.sessionmaker() as session:
        row = await session.scalar(select(Activity).where(Activity.title == "读书会"))
    assert row is not None and row.latitude is None


async def test_only_the_current_host_or_an_admin_may_publish(
    chat: Chat, clock: FrozenClock
) -> None:
    assert (await chat.say("member", "发布活动"))[0].startswith("抱歉，“发布活动”只对支部书记开放")
    assert await chat.say("alliance_admin", "发布活动") == [
        "请输入活动名称（例如：12月主题党日）："
    ]
    clock.set(local_datetime(2027, 1, 2, 9, 0))  # the host's unit no longer hosts
    assert await chat.say("host", "发布活动") == [
        "只有本期轮值单位的书记或联盟管理员可以发布活动。发送“轮值”查看本期轮值单位。"
    ]


async def test_super_admin_picks_the_alliance(chat: Chat) -> None:
    [ask] = await chat.replies("admin", "发布活动")
    assert ask.text == "为哪个联盟发布活动？" and len(ask.buttons) == 14
    assert await chat.press("admin", "快递物流行业党建红色联盟") == [
        "请输入活动名称（例如：12月主题党日）："
    ]


async def test_members_see_their_alliances_and_mobile_members_every_open_one(
    chat: Chat,
) -> None:
    [mine] = await chat.say("member", "活动")
    assert mine.splitlines()[0] == "📅 近期活动："
    assert "《党建联席会议》12月04日（周五） 09:00-11:00" in mine
    assert "志愿服务：园区环境整治" not in mine
    [county] = await chat.say("admin", "活动")
    assert "志愿服务：园区环境整治" in county and "亮身份践承诺" in county
    [mobile] = await chat.replies("mobile", "/activities")
    lines = mobile.text.splitlines()
    assert "亮身份践承诺" in lines[1]
    assert lines[2] == "🚩 各联盟开放活动（流动党员可参加）："
    assert [b.label for b in mobile.buttons] == ["📍 按距离排序"]
    assert await chat.press("mobile", "📍 按距离排序") == [
        "请分享您的位置，我按距离从近到远列出开放活动。"
    ]
    # At the open activity's place the location also checks in (test_conversation_reach.py).
    checked, near = await chat.locate("mobile", 35.58, 118.5)
    assert checked.startswith("✅ 签到成功：《志愿服务：园区环境整治》")
    others = near.splitlines()[3:]
    assert others[0].startswith("· 《志愿服务：园区环境整治》") and "（约 0 米）" in others[0]
    assert "（约 4.9 公里）" in others[1]


async def _reminder_rows(settings: Settings) -> list[tuple[str, str]]:
    app = build_app(settings, {})
    try:
        async with app.sessionmaker() as session:
            rows = await session.execute(
                select(OutboxMessage.dedupe_key, OutboxMessage.text)
                .where(OutboxMessage.kind == "reminder")
                .order_by(OutboxMessage.id)
            )
            return [(k or "", t) for k, t in rows.all()]
    finally:
        await app.close()


async def _restart_and_sweep(settings: Settings, clock: FrozenClock) -> RecordingTransport:
    """A new process: fresh app, sender and scheduler objects over the same database."""
    transport = RecordingTransport()
    app = build_app(settings, {"console": transport}, clock)
    try:
        await run_all(SWEEPS, app.sessionmaker, clock, settings)
        await app.sender.drain()
    finally:
        await app.close()
    return transport


async def test_reminders_are_sent_once_across_restarts_and_none_is_lost(
    chat: Chat, clock: FrozenClock, demo_settings: Settings
) -> None:
    clock.set(local_datetime(2026, 12, 3, 9, 5))  # 23 h 55 min before the meeting
    first = await _restart_and_sweep(demo_settings, clock)
    assert first.texts("member") == [
        "⏰ 活动提醒：《党建联席会议》12月04日（周五） 09:00-11:00 · 食品产业链联盟会议室\n"
        "到场后发送“签到 签到码”或分享位置签到。"
    ]
    rows = await _reminder_rows(demo_settings)
    assert len([k for k, _ in rows if k.endswith(":24h|console")]) == 3  # bound food members
    assert len(rows) == 30  # one per member of the alliance, unbound ones unreachable
    clock.advance(minutes=5)
    again = await _restart_and_sweep(demo_settings, clock)
    assert again.texts("member") == []
    assert len(await _reminder_rows(demo_settings)) == 30
    # Down from 09:10 until 08:20 on the day: the 1 h reminder is sent at the first sweep.
    clock.set(local_datetime(2026, 12, 4, 8, 20))
    late = await _restart_and_sweep(demo_settings, clock)
    assert late.texts("member") == [
        "⏰ 活动 1 小时内开始：《党建联席会议》12月04日（周五） 09:00-11:00 · "
        "食品产业链联盟会议室\n"
        "到场后发送“签到 签到码”或分享位置签到。"
    ]
    clock.advance(minutes=30)
    assert (await _restart_and_sweep(demo_settings, clock)).texts("member") == []
    assert len(await _reminder_rows(demo_settings)) == 60


async def test_no_reminder_for_an_activity_already_started(
    chat: Chat, clock: FrozenClock, demo_settings: Settings
) -> None:
    transport = await _restart_and_sweep(demo_settings, clock)
    assert not any("主题党日" in t for t in transport.texts("member"))
    async with chat.app.sessionmaker() as session:
        park = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like("remind:3:%:1h|%"))
        )
    assert park == 27  # 食品产业园's members: its activity starts in 20 minutes


def test_the_scheduler_runs_every_sweep_without_dropping_late_runs(
    demo_settings: Settings,
) -> None:
    import asyncio

    from bot.scheduler import start_scheduler

    async def jobs() -> dict[str, object]:
        app = build_app(demo_settings, {})
        scheduler = start_scheduler(SWEEPS, app.sessionmaker, app.clock, demo_settings)
        try:
            return {j.id: j.misfire_grace_time for j in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)
            await app.close()

    found = asyncio.run(jobs())
    assert {"activity_reminders", "rotation_advance", "mobile_summary"} <= set(found)
    assert all(grace is None for grace in found.values())

"""Notices: the /notice dialog, delivery to consoles, 收到, /notices and /noticestats."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.core import Button, Role
from bot.core.clock import FrozenClock, local_datetime
from bot.scheduler import run_all
from handlers import SWEEPS
from models.button import issue_token
from models.member import Member, MemberRole
from models.notice import Notice, NoticeRecipient, NoticeState
from models.org import Alliance, Unit
from models.outbox import OutboxMessage, OutboxStatus
from tests.fakes import Chat

NOTICE_SWEEPS = [s for s in SWEEPS if s.id == "notices"]
FOOD = "食品产业链党建红色联盟"
TEXT = "请各单位周五前报送党员名册。"
ADMIN = "县两新组织工委·王建国"
DELIVERED = f"📢 通知 #3（{ADMIN}）\n{TEXT}"  # the demo holds notices #1 and #2


async def _write(chat: Chat, user: str, audience: str = "选择联盟", pick: str = FOOD) -> str:
    """Walk the dialog up to the preview; returns the preview text."""
    assert await chat.say(user, "/notice") == ["请输入通知内容（发送“取消”可退出）："]
    assert await chat.say(user, TEXT) == ["发给谁？"]
    replies = await chat.press(user, audience)
    if audience == "选择联盟":
        await chat.press(user, pick)
        replies = await chat.press(user, "选好了")
    return replies[-1]


async def _count(chat: Chat, model: type, *where: object) -> int:
    async with chat.app.sessionmaker() as session:
        return (await session.scalar(select(func.count()).select_from(model).where(*where))) or 0


async def test_admin_notices_one_alliance_and_sees_the_figures(chat: Chat) -> None:
    preview = await _write(chat, "admin")
    assert preview == (
        f"📢 通知预览\n{TEXT}\n——\n对象：{FOOD}\n"
        "收件人 30 人，其中 27 人未绑定或无法送达（计入“无法送达”）。"
    )
    assert await chat.press("admin", "立即发送") == ["确认立即发送给 30 人？"]
    assert await chat.press("admin", "确认发送") == [
        "✅ 通知 #3 已发出：收件人 30 人，其中无法送达 27 人。\n"
        "发送“通知统计 3”查看送达与确认情况。"
    ]
    # The food alliance's console users got it once each; mobile (another alliance) did not.
    for user in ("host", "member", "alliance_admin"):
        assert chat.received(user) == [DELIVERED]
    # The food alliance's admin may follow up the county's notice to their alliance.
    assert (await chat.say("alliance_admin", "/noticestats 3"))[0].startswith("📊 通知 #3")
    assert chat.received("mobile") == [] and chat.received("admin") == []
    card = chat.last["member"]
    assert await chat.press("member", "收到") == ["已确认收到通知 #3，谢谢！"]
    chat.last["member"] = card  # the same card, pressed again
    assert await chat.press("member", "收到") == ["您已确认过通知 #3。"]
    [stats] = await chat.say("admin", "/noticestats 3")
    lines = stats.splitlines()
    assert lines[1:7] == [
        "收件人：30 人",
        "已送达：3",
        "发送失败：0",
        "无法送达：27",
        "已确认收到：1",
        "未确认（29 人）：",
    ]
    # Those it reached but who did not answer apart from those it never reached.
    ignored, unreached = lines[7], lines[8]
    assert ignored.startswith("· 已送达未确认（2 人，可提醒）：")
    assert len(ignored.split("：", 1)[1].split("、")) == 2
    assert unreached.startswith("· 未绑定或无法送达（27 人，需先绑定）：")
    assert len(unreached.split("：", 1)[1].split("、")) == 27
    assert await _count(chat, OutboxMessage, OutboxMessage.ref_id == 3) == 30


async def test_the_member_who_acknowledged_is_not_listed(chat: Chat) -> None:
    await _write(chat, "admin")
    await chat.press("admin", "立即发送")
    await chat.press("admin", "确认发送")
    await chat.press("member", "收到")
    async with chat.app.sessionmaker() as session:
        member_name = await session.scalar(
            select(Member.name)
            .join(NoticeRecipient)
            .where(NoticeRecipient.notice_id == 3, NoticeRecipient.acked_at.is_not(None))
        )
        host_name = await session.scalar(
            select(Member.name)
            .join(Member.identities)
            .where(Member.identities.any(user_key="host"))
        )
    [stats] = await chat.say("admin", "/noticestats 3")
    ignored = stats.splitlines()[7]
    assert ignored.startswith("· 已送达未确认（2 人，可提醒）：")
    assert member_name not in stats and host_name in ignored


async def test_notices_lists_unread_marked_and_acks_only_after_the_full_text(
    chat: Chat,
) -> None:
    [listing] = await chat.replies("member", "/notices")
    assert listing.text.startswith("📬 我的通知（1 条，未读 1 条）：\n#2 ")
    assert "🔴未读" in listing.text and listing.text.endswith("点“查看”阅读全文并确认收到。")
    assert [b.label for b in listing.buttons] == ["查看 #2"]  # no 收到 on a 30-character line
    [full] = await chat.press("member", "查看 #2")
    assert full == (
        "📢 通知 #2（" + full.split("（", 1)[1].split("，", 1)[0] + "，11月29日 09:00）\n"
        "本季度党建联席会议定于下周三下午在轮值主席单位召开，请各成员单位书记参加。\n"
        "🔴 您还没有确认收到，读完请点“收到”。"
    )
    assert await chat.press("member", "收到") == ["已确认收到通知 #2，谢谢！"]
    [listing] = await chat.say("member", "通知")
    assert "✅已收到" in listing and "🔴未读" not in listing
    assert (await chat.say("member", "通知 2"))[0].endswith("✅ 您已于 12月01日 09:00 确认收到。")


async def test_a_pressed_ack_counts_only_for_a_recipient(chat: Chat) -> None:
    async with chat.app.sessionmaker() as session, session.begin():
        token = await issue_token(
            session=session,
            platform="console",
            user_key="officer_tax",
            button=Button("收到", "notices.ack", notice=2),
            now=chat.app.clock.now(),
        )
    replies = await chat.send(chat.event("officer_tax", action=token))
    assert [r.text for r in replies] == ["通知 #2 不是发给您的。"]
    assert await _count(chat, NoticeRecipient, NoticeRecipient.acked_at.is_not(None)) == 2


async def test_alliance_admin_reaches_only_their_alliance(chat: Chat) -> None:
    assert await chat.say("alliance_admin", "/notice") == ["请输入通知内容（发送“取消”可退出）："]
    await chat.say("alliance_admin", TEXT)
    await chat.press("alliance_admin", "选择联盟")
    assert [b.label for b in chat.last["alliance_admin"]] == [FOOD, "选好了"]
    await chat.say("alliance_admin", "取消")
    # "全体" for an alliance admin is their alliance: 30 members, not the county's 360.
    preview = await _write(chat, "alliance_admin", audience="全体")
    assert preview.endswith("收件人 30 人，其中 27 人未绑定或无法送达（计入“无法送达”）。")
    await chat.say("alliance_admin", "取消")
    # The county's mobile member belongs to another alliance: nobody to address here.
    replies = await _write(chat, "alliance_admin", audience="流动党员")
    assert replies == "这个范围内没有可通知的人，请重新选择：发给谁？"


async def test_alliance_admin_cannot_see_another_alliances_figures(chat: Chat) -> None:
    async with chat.app.sessionmaker() as session, session.begin():
        other = await session.scalar(select(Alliance.id).where(Alliance.name != FOOD).limit(1))
        host = await session.scalar(
            select(Member).join(Member.identities).where(Member.identities.any(user_key="host"))
        )
        assert host is not None
        session.add(MemberRole(member_id=host.id, role=Role.ALLIANCE_ADMIN, alliance_id=other))
    # Notice #2 went to the food alliance; the host now administers another one only.
    assert await chat.say("host", "/noticestats 2") == ["您只能查看本联盟的通知情况。"]
    assert (await chat.say("alliance_admin", "/noticestats 2"))[0].startswith("📊 通知 #2")
    # The super admin's notice #1 went to every secretary: not one alliance's business.
    assert await chat.say("alliance_admin", "/noticestats 1") == ["您只能查看本联盟的通知情况。"]
    assert await chat.say("admin", "/noticestats 99") == ["没有编号为 99 的通知。"]
    # Without a number: the latest notice the sender sent.
    assert (await chat.say("admin", "/noticestats"))[0].startswith("📊 通知 #1")
    assert (await chat.say("member", "/noticestats 2"))[0].startswith(
        "抱歉，“通知统计”只对联盟管理员开放"
    )


async def test_units_are_found_by_keyword_and_toggled(chat: Chat) -> None:
    await chat.say("admin", "/notice")
    await chat.say("admin", TEXT)
    assert await chat.press("admin", "选择单位") == ["请输入单位名称中的关键词（例如“鑫源”）："]
    assert await chat.say("admin", "不存在的公司") == [
        "没有找到名称含“不存在的公司”的单位，请换个关键词：（发送“取消”退出）"
    ]
    async with chat.app.sessionmaker() as session:
        host = await session.scalar(
            select(Member).join(Member.identities).where(Member.identities.any(user_key="host"))
        )
        assert host is not None
        unit_name = await session.scalar(select(Unit.name).where(Unit.id == host.home_unit_id))
        members = await session.scalar(
            select(func.count()).where(Member.home_unit_id == host.home_unit_id)
        )
    assert unit_name
    await chat.say("admin", unit_name)
    assert await chat.press("admin", "选好了") == [
        "请至少选择一项。",
        "请点选（可多选），选好后点“选好了”：（发送“取消”退出）",
    ]
    await chat.press("admin", unit_name)
    [preview] = await chat.press("admin", "选好了")
    assert f"对象：{unit_name}\n收件人 {members} 人" in preview


async def test_scheduled_notice_goes_out_when_due(chat: Chat, clock: FrozenClock) -> None:
    await _write(chat, "admin", audience="支部书记")
    assert await chat.press("admin", "定时发送") == [
        "什么时候发送？例如：明天上午9点、12-05 09:30："
    ]
    assert await chat.say("admin", "明天") == [
        "没看懂这个时间，可以这样写：明天上午9点、12月5日下午2点、12-05 09:30：（发送“取消”退出）"
    ]
    assert await chat.say("admin", "12-01 08:00") == [
        "12月01日（周二） 08:00 已经过去了，请输入一个将来的时间：（发送“取消”退出）"
    ]
    assert await chat.say("admin", "今天上午十点半") == [
        "确认于 12月01日（周二） 10:30 发送给 63 人？"
    ]
    assert await chat.press("admin", "确认发送") == [
        "🕘 通知 #3 将于 12月01日（周二） 10:30 发送。\n"
        "发出前可发送“修改通知 3”修改或取消；发出后发送“通知统计 3”查看情况。"
    ]
    assert await chat.say("admin", "/noticestats 3") == [
        "通知 #3 定于 12月01日 10:30 发送，尚未发出。"
    ]
    app = chat.app
    clock.advance(minutes=89)
    await run_all(NOTICE_SWEEPS, app.sessionmaker, clock, app.settings)
    await app.sender.drain()
    assert chat.received("host") == []
    clock.advance(minutes=1)
    await run_all(NOTICE_SWEEPS, app.sessionmaker, clock, app.settings)
    await run_all(
        NOTICE_SWEEPS, app.sessionmaker, clock, app.settings
    )  # a second tick sends nothing
    await app.sender.drain()
    assert chat.received("host") == [DELIVERED]
    assert chat.received("member") == []  # not a secretary
    async with app.sessionmaker() as session:
        notice = await session.get(Notice, 3)
        assert notice is not None and notice.state == NoticeState.SENT
        assert notice.sent_at == local_datetime(2026, 12, 1, 10, 30)
    assert await _count(chat, OutboxMessage, OutboxMessage.ref_id == 3) == 63


async def test_one_reminder_goes_to_those_who_did_not_acknowledge(
    chat: Chat, clock: FrozenClock
) -> None:
    await _write(chat, "admin")
    await chat.press("admin", "立即发送")
    await chat.press("admin", "发送，24 小时后提醒未确认者")
    await chat.press("member", "收到")
    app = chat.app
    for hours in (23, 1, 5):
        clock.advance(hours=hours)
        await run_all(NOTICE_SWEEPS, app.sessionmaker, clock, app.settings)
        await app.sender.drain()
    reminder = f"⏰ 提醒：通知 #3 您还没有确认收到（{ADMIN}）\n{TEXT}"
    assert chat.received("host") == [DELIVERED, reminder]
    assert chat.received("alliance_admin") == [DELIVERED, reminder]
    assert chat.received("member") == [DELIVERED]
    assert await chat.press("host", "收到") == ["已确认收到通知 #3，谢谢！"]


async def test_typed_text_at_a_button_step_gets_a_hint(chat: Chat) -> None:
    await chat.say("admin", "/notice")
    await chat.say("admin", TEXT)
    assert await chat.say("admin", "全体人员") == ["请点上面的按钮选择（发送“取消”可退出）。"]
    await chat.say("admin", "取消")
    await _write(chat, "admin", audience="全体")
    assert await chat.say("admin", "发吧") == ["请点上面的按钮选择（发送“取消”可退出）。"]
    await chat.say("admin", "取消")
    assert await _count(chat, Notice) == 2
    assert await _count(chat, OutboxMessage, OutboxMessage.status == OutboxStatus.PENDING) == 0

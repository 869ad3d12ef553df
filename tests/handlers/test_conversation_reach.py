"""Transcripts of the third round of user trials: the meetings, 督办, console, change and
withdraw features reached from plain words; replies that name what a phone user types (not
English commands); 修改 before a notice is sent; departments named as people name them; a
location shared at the activity list checks in at an open activity."""

from __future__ import annotations

from sqlalchemy import select

from bot.core import Location
from bot.core.clock import FrozenClock
from models.activity import Activity
from models.checkin import CheckIn, CheckInMethod
from models.notice import Notice, NoticeState
from models.ticket import Ticket, TicketState
from tests.fakes import Chat
from tests.handlers.test_report import COMPLAINT, file

FOOD = "食品产业链党建红色联盟"


async def _ticket(chat: Chat, number: str) -> Ticket:
    async with chat.app.sessionmaker() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        return ticket


async def _notice(chat: Chat, notice_id: int) -> Notice:
    async with chat.app.sessionmaker() as session:
        notice = await session.get(Notice, notice_id)
        assert notice is not None
        return notice


# --- plain words reach the features that had no intent ------------------------------------


async def test_plain_words_reach_meetings_todo_proposing_and_the_console(chat: Chat) -> None:
    [meetings] = await chat.say("member", "下周的联席会议几点")
    assert meetings == (await chat.say("member", "会议"))[0]
    [todo] = await chat.say("member", "上次会上交给我们的事情做到哪了")
    assert todo == (await chat.say("member", "我的待办"))[0]
    [propose] = await chat.say("member", "我要提个议题")
    assert propose == (await chat.say("member", "提议题"))[0]
    await chat.say("member", "取消")
    # 后台 for an admin is a login link; a member is told who may use it.
    [link] = await chat.say("admin", "后台登录")
    assert "/admin/login?t=" in link
    assert await chat.say("member", "后台登录") == [
        "管理后台只对联盟管理员、县级管理员和部门干部开放。"
    ]
    # The neighbours keep their words.
    assert (await chat.say("member", "活动"))[0].startswith("📅 近期活动：")
    assert (await chat.say("member", "通知"))[0].startswith("📬 我的通知")


async def test_a_host_changes_an_activity_in_plain_words(chat: Chat) -> None:
    [manage] = await chat.say("host", "把周五的活动改到下午")
    assert manage == (await chat.say("host", "修改活动"))[0]
    # A member who may not manage activities is told what to use instead.
    assert await chat.say("member", "把周五的活动改到下午") == [
        "抱歉，“活动管理”只对支部书记开放。您可以用“活动”：近期活动安排。"
    ]


# --- withdrawing a report --------------------------------------------------------------------


async def test_a_member_withdraws_a_report_in_plain_words(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    # One report that may be withdrawn: its reason is asked at once.
    assert await chat.say("member", "撤回我昨天的吹哨") == [
        "为什么撤回？写一句理由（会告知承办部门和联盟管理员），或点“跳过”："
    ]
    [confirm] = await chat.say("member", "问题已经自己解决了")
    assert confirm.startswith(f"请确认撤回 {number}：")
    assert (await _ticket(chat, number)).state != TicketState.WITHDRAWN
    [done] = await chat.press("member", "确认撤回")
    assert done == f"已撤回 {number}，承办部门和联盟管理员已知悉。"
    assert (await _ticket(chat, number)).state == TicketState.WITHDRAWN
    # Nothing left to withdraw: the reply says why and what to do instead.
    assert await chat.say("member", "撤回吹哨") == [
        "您没有可以撤回的吹哨：已办结、已有其他单位附议或已合并的问题不能撤回。"
        "发送“我的吹哨”查看进度。"
    ]


async def test_several_reports_offer_one_withdraw_button_each(
    chat: Chat, clock: FrozenClock
) -> None:
    first = await file(chat, "member", COMPLAINT)
    clock.advance(minutes=10)
    second = await file(chat, "member", "厂区一周停电三次，生产线老是停")
    [pick] = await chat.say("member", "撤回吹哨")
    assert pick.startswith("要撤回哪一件？")
    labels = [b.label for b in chat.last["member"]]
    assert labels == [f"撤回 {second}", f"撤回 {first}"]
    assert await chat.press("member", f"撤回 {first}") == [
        "为什么撤回？写一句理由（会告知承办部门和联盟管理员），或点“跳过”："
    ]
    # With its number, typed loosely, the ticket is named directly (leaving the first one).
    short = second.rsplit("-", 1)[1]
    assert await chat.say("member", f"撤回吹哨 {short}") == [
        "（已退出“工单”）为什么撤回？写一句理由（会告知承办部门和联盟管理员），或点“跳过”："
    ]


# --- replies name what a phone user types -------------------------------------------------


async def test_replies_name_the_chinese_words_not_english_commands(chat: Chat) -> None:
    await chat.say("member", COMPLAINT)
    await chat.press("member", chat.last["member"][0].label)
    await chat.press("member", chat.last["member"][0].label)
    [filed, *_] = await chat.press("member", "提交")
    assert "发送“我的吹哨”查看进度。" in filed and "/" not in filed
    [sheet, *_] = await chat.say("host", "签到情况")
    assert "发送“签到情况 编号”" in sheet and "/attendance" not in sheet
    # What the reply says works as typed.
    number = filed.split("工单号 ", 1)[1].split("\n", 1)[0]
    assert number in (await chat.say("member", "我的吹哨"))[0]


# --- 修改 before a notice is sent ------------------------------------------------------------


async def test_the_notice_preview_offers_to_correct_the_text_and_the_audience(chat: Chat) -> None:
    await chat.say("admin", "发通知")
    await chat.say("admin", "请各单位周五前报送党员名册。")
    await chat.press("admin", "选择联盟")
    await chat.press("admin", FOOD)
    [preview] = await chat.press("admin", "选好了")
    assert [b.label for b in chat.last["admin"]] == ["立即发送", "定时发送", "修改", "取消"]
    assert await chat.press("admin", "修改") == ["要修改哪一项？"]
    assert [b.label for b in chat.last["admin"]] == ["通知内容", "发送对象", "不改了，返回"]
    assert await chat.say("admin", "通知内容") == [
        "请输入修改后的通知内容（原来是：请各单位周五前报送党员名册。）："
    ]
    [fixed] = await chat.say("admin", "请各单位下周一前报送党员名册。")
    assert fixed == preview.replace("周五前", "下周一前")  # the audience is kept
    # At the last step too: another audience, then sent.
    await chat.press("admin", "立即发送")
    assert [b.label for b in chat.last["admin"]][-2:] == ["修改", "取消"]
    await chat.press("admin", "修改")
    assert await chat.press("admin", "发送对象") == ["发给谁？"]
    [everyone] = await chat.press("admin", "全体")
    assert "下周一前" in everyone and "对象：全体\n" in everyone
    await chat.press("admin", "立即发送")
    [sent] = await chat.press("admin", "确认发送")
    assert sent.startswith("✅ 通知 #3 已发出") and "发送“通知统计 3”" in sent
    notice = await _notice(chat, 3)
    assert (notice.text, notice.audience["kind"]) == ("请各单位下周一前报送党员名册。", "all")


async def test_a_scheduled_notice_is_changed_or_called_off_in_plain_words(chat: Chat) -> None:
    await chat.say("admin", "发通知")
    await chat.say("admin", "周五下午三点在县党群服务中心开会。")
    await chat.press("admin", "全体")
    await chat.press("admin", "定时发送")
    await chat.say("admin", "明天上午9点")
    [scheduled] = await chat.press("admin", "确认发送")
    assert "发出前可发送“修改通知 3”修改或取消" in scheduled
    [shown] = await chat.say("admin", "刚才那条定时通知先不发了")
    assert shown.startswith("📢 通知 #3")
    assert [b.label for b in chat.last["admin"]] == ["修改内容", "修改时间", "取消发送"]
    await chat.press("admin", "取消发送")
    assert await chat.press("admin", "确认取消发送") == ["已取消通知 #3，不会发出。"]
    assert (await _notice(chat, 3)).state == NoticeState.CANCELLED
    # A notice already sent cannot be taken back: the reply says what to do instead.
    assert await chat.say("admin", "撤回通知 1") == [
        "通知 #1 已经发出，不能撤回或修改；如需更正，发送“发通知”再发一条更正通知。"
    ]
    assert await chat.say("admin", "修改通知") == [
        "您没有待发送的定时通知。已发出的通知不能撤回或修改；如需更正，"
        "发送“发通知”再发一条更正通知。"
    ]


# --- departments named as people name them --------------------------------------------------


async def test_a_department_typed_by_its_short_name_is_chosen(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.say("alliance_admin", f"工单 {number}")
    [ask] = await chat.press("alliance_admin", "分派")
    assert ask == f"请选择 {number} 的承办部门（也可以直接写部门名，如“人社局”）："
    assert await chat.say("alliance_admin", "公安局") == [
        "没有找到“公安局”这个部门，请点按钮选择：（发送“取消”退出）"
    ]
    [chosen] = await chat.say("alliance_admin", "人社局")
    assert chosen.startswith("改派至县人力资源和社会保障局：")
    await chat.press("alliance_admin", "✅ 税务发票")
    ticket = await _ticket(chat, number)
    assert ticket.state == TicketState.DISPATCHED
    assert ticket.department is not None and ticket.department.name == "县人力资源和社会保障局"


# --- a location at the activity list ---------------------------------------------------------


async def test_a_location_at_the_nearby_list_checks_in_at_an_open_activity(chat: Chat) -> None:
    await chat.say("mobile", "活动")
    await chat.press("mobile", "📍 按距离排序")
    # Not a trusted position: the check-in is offered by code, and nothing is recorded.
    event = chat.event("mobile", location=Location(35.58, 118.5, verified=False))
    offered, listing = [r.text for r in await chat.send(event)]
    assert offered == (
        "您在《志愿服务：园区环境整治》现场附近：点“签到”，输入主持人出示的签到码即可。"
    )
    assert "（约 0 米）" in listing
    assert await _checkins(chat, "志愿服务：园区环境整治") == []
    # A trusted position inside the radius checks in, then lists.
    await chat.say("mobile", "活动")
    await chat.press("mobile", "📍 按距离排序")
    checked, listing = await chat.locate("mobile", 35.58, 118.5)
    assert checked.startswith("✅ 签到成功：《志愿服务：园区环境整治》")
    assert "（约 0 米）" in listing
    assert await _checkins(chat, "志愿服务：园区环境整治") == [CheckInMethod.LOCATION]
    # Far from every open activity: only the list.
    await chat.say("mobile", "活动")
    await chat.press("mobile", "📍 按距离排序")
    [only] = await chat.locate("mobile", 36.5, 119.5)
    assert only.startswith("📅 近期活动：")


async def _checkins(chat: Chat, title: str) -> list[CheckInMethod]:
    async with chat.app.sessionmaker() as session:
        rows = await session.execute(
            select(CheckIn.method).join(Activity).where(Activity.title == title)
        )
        return [r[0] for r in rows.all()]

"""Tickets corrected after filing: withdrawal, a department nobody reads, paging, overdue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.core.clock import FrozenClock, local_datetime
from models.member import Member
from models.ticket import TicketState, file_ticket
from tests.fakes import Chat
from tests.handlers.test_report import COMPLAINT, _ticket, file

LABOR = "厂里招不到工人，新员工社保不知道怎么交"
HRSS = "县人力资源和社会保障局"


async def test_the_reporter_withdraws_before_signing_with_a_preview(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.say("member", f"/myreports {number}")
    assert [b.label for b in chat.last["member"]] == ["撤回"]
    assert await chat.press("member", "撤回") == [
        "为什么撤回？写一句理由（会告知承办部门和联盟管理员），或点“跳过”："
    ]
    [preview] = await chat.say("member", "发票已经开出来了")
    [name] = preview.split("“↩️ ", 1)[1].split("撤回了", 1)[:1]
    assert preview == (
        f"请确认撤回 {number}：\n"
        f"· 承办部门将收到：“↩️ {name}撤回了 {number}（税务发票），无需再办理。"
        "理由：发票已经开出来了”\n"
        f"· 联盟管理员将收到：“↩️ {name}撤回了 {number}（税务发票），无需再办理。"
        "理由：发票已经开出来了”"
    )
    told_before = len(chat.received("officer_tax"))
    assert await chat.press("member", "修改") == [
        "为什么撤回？写一句理由（会告知承办部门和联盟管理员），或点“跳过”："
    ]
    await chat.press("member", "跳过")
    assert len(chat.received("officer_tax")) == told_before
    assert await chat.press("member", "确认撤回") == [
        f"已撤回 {number}，承办部门和联盟管理员已知悉。"
    ]
    withdrawn = f"↩️ {name}撤回了 {number}（税务发票），无需再办理。"
    assert chat.received("officer_tax")[-1] == withdrawn
    assert chat.received("alliance_admin")[-1] == withdrawn
    ticket = await _ticket(chat, number)
    assert ticket.state == TicketState.WITHDRAWN
    assert ticket.closed_at == local_datetime(2026, 12, 1, 9)
    assert await chat.press_received("officer_tax", "签收") == [
        f"{number} 当前状态是“已撤回”，不能签收（部门报到）。"
    ]
    [detail] = await chat.say("member", f"/myreports {number}")
    assert detail.startswith(f"📋 {number}｜已撤回")
    assert chat.last["member"] == ()


async def test_no_withdrawal_once_signed_or_when_others_cosigned(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.say("host", f"附议 {number}")
    await chat.say("member", f"/myreports {number}")
    assert chat.last["member"] == ()  # another unit stands behind it too
    await chat.press_received("officer_tax", "签收")
    second = await file(chat, "member", "电子税务局申报一直提示系统繁忙")
    await chat.press_received("officer_tax", "签收")
    await chat.say("member", f"/myreports {second}")
    assert chat.last["member"] == ()


async def test_a_department_without_an_officer_goes_to_the_alliance_admin_at_once(
    chat: Chat,
) -> None:
    await chat.say("member", LABOR)
    [proposal] = await chat.press("member", chat.last["member"][0].label)
    assert proposal.startswith(f"建议分类：用工社保（转{HRSS}，红盟服务跟进）。")
    [confirm] = await chat.press("member", chat.last["member"][0].label)
    assert confirm.startswith("请确认：")
    filed, *_ = await chat.press("member", "提交")
    number = filed.split("工单号 ", 1)[1].split("\n", 1)[0]
    async with chat.app.sessionmaker() as session:
        admin_name = await session.scalar(
            select(Member.name).where(Member.identities.any(user_key="alliance_admin"))
        )
    assert filed == (
        f"🚩 吹哨成功！工单号 {number}\n已转{HRSS}，红盟服务跟进。\n"
        f"⚠️ {HRSS}还没有干部使用红盟助手，已转联盟管理员（{admin_name}）联系部门办理或改派，"
        "12月02日 09:00 前签收，12月08日 09:00 前办结。\n发送“我的吹哨”查看进度。"
    )
    [told] = chat.received("alliance_admin")
    assert told.endswith(
        f"已派至{HRSS}，由红盟服务跟进。\n"
        f"⚠️ {HRSS}还没有干部使用红盟助手，收不到这个工单。请联系部门线下办理"
        "（您可代部门签收、记录进展、办结），或改派其他部门。"
    )
    assert chat.received("officer_tax") == []
    ticket = await _ticket(chat, number)
    assert ticket.admins_stand_in and ticket.state == TicketState.DISPATCHED
    # The admin's queue marks it; standing in, they sign and resolve for the department.
    [queue] = await chat.say("alliance_admin", "工单")
    assert f"{number}｜用工社保｜已派单，待部门签收｜12月01日 09:00｜⚠️部门未开通" in queue
    assert await chat.press_received("alliance_admin", "签收") == [
        f"已代{HRSS}签收 {number}，反映人已收到通知。请联系部门办理，进展可在这里记录。"
    ]
    assert chat.received("member")[-1] == (
        f"✅ 您反映的 {number} 已由{HRSS}签收（部门报到），正在办理。"
    )
    await chat.press("alliance_admin", "办结")
    await chat.say("alliance_admin", "已电话联系人社局，社保经办员上门指导开户")
    assert await chat.press("alliance_admin", "确认办结") == [f"{number} 已办结，已请反映人评价。"]
    await chat.press_received("member", "满意")
    assert chat.received("alliance_admin")[-1] == f"⭐ {number} 收到评价：满意。"


async def test_unsatisfied_without_a_reason_says_so(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.press_received("officer_tax", "签收")
    await chat.press("officer_tax", "办结")
    await chat.say("officer_tax", "已处理")
    await chat.press("officer_tax", "确认办结")
    await chat.press_received("member", "不满意")
    assert await chat.say("member", "跳过") == [
        f"很抱歉没让您满意，{number} 已重新打开，承办部门会继续办理。"
    ]
    assert chat.received("officer_tax")[-1] == (
        f"⚠️ {number} 评价不满意，已重新打开，请继续办理。（反映人没有写原因，可电话联系了解。）"
    )


async def _file_many(chat: Chat, count: int) -> list[str]:
    async with chat.app.sessionmaker() as session, session.begin():
        member = await session.scalar(
            select(Member).where(Member.identities.any(user_key="member"))
        )
        assert member is not None
        numbers = []
        for i in range(count):
            ticket, _ = await file_ticket(
                session=session,
                reporter=member,
                unit_id=member.home_unit_id,
                text=f"第 {i + 1} 张发票开不出来",
                category="tax",
                now=chat.app.clock.now() + timedelta(minutes=i),
            )
            numbers.append(ticket.number)
    return numbers


async def test_queues_page_and_mark_what_is_overdue(chat: Chat, clock: FrozenClock) -> None:
    numbers = await _file_many(chat, 12)  # with the demo's open tax ticket: 13
    clock.set(local_datetime(2026, 12, 2, 9, 5))  # six signing deadlines have passed
    [first] = await chat.replies("officer_tax", "工单")
    lines = first.text.splitlines()
    assert lines[0] == "📥 县税务局待办工单 13 件（最早的在前）：（第 1–10 条，共 13 条）"
    assert len(lines) == 11
    assert lines[1].startswith("1. WT-2026-0002｜税务发票｜办理中｜")
    assert lines[2] == f"2. {numbers[0]}｜税务发票｜已派单，待部门签收｜12月01日 09:00｜⏰超时"
    assert lines[7].endswith("｜12月01日 09:05｜⏰超时")
    assert lines[8].endswith("｜12月01日 09:06")
    assert [b.label for b in first.buttons][-1] == "下一页"
    [second] = await chat.replies("officer_tax", "下一页")
    assert second.text.splitlines()[0].endswith("（第 11–13 条，共 13 条）")
    assert [b.label for b in second.buttons] == [*numbers[-3:], "上一页"]
    [back] = await chat.press("officer_tax", "上一页")
    assert back == first.text
    # The reporter's own list pages the same way, newest first.
    [mine] = await chat.replies("member", "我的吹哨")
    assert mine.text.splitlines()[0] == "📮 我反映的问题（12 件）：（第 1–10 条，共 12 条）"
    assert mine.text.splitlines()[1].startswith(f"1. {numbers[-1]}｜")
    [page_two] = await chat.press("member", "下一页")
    assert page_two.splitlines()[1].startswith(f"11. {numbers[1]}｜")

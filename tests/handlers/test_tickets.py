"""/tickets: officer and admin actions, deadlines and escalation, crashes around notifying."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import handlers.context
from bot.core import Reply
from bot.core.clock import FrozenClock, local_datetime
from bot.dispatcher import INTERNAL_ERROR
from bot.scheduler import run_all
from handlers import SWEEPS
from models.outbox import OutboxMessage, OutboxStatus, claim_due
from models.ticket import Ticket, TicketEvent, TicketState
from tests.fakes import Chat, RecordingTransport
from tests.handlers.test_report import COMPLAINT, NOT_FOUND, _events, _ticket, file


async def _sweep(chat: Chat, clock: FrozenClock) -> None:
    await run_all(SWEEPS, chat.app.sessionmaker, clock, chat.app.settings)
    await chat.app.sender.drain()


def _about(chat: Chat, user: str, needle: str) -> list[str]:
    return [t for t in chat.received(user) if needle in t]


async def _outbox_count(chat: Chat) -> int:
    async with chat.app.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def test_return_then_reroute_moves_the_ticket_to_another_department(
    chat: Chat, clock: FrozenClock
) -> None:
    number = await file(chat, "member", COMPLAINT)
    assert await chat.press_received("officer_tax", "退回") == [
        "请输入退回理由（为什么不属于本部门）："
    ]
    assert await chat.say("officer_tax", "  ") == ["请写明理由或说明（不能为空），或发送“取消”。"]
    # What will be sent is shown first; nobody is told before the confirmation.
    told_before = len(chat.received("alliance_admin"))
    assert await chat.say("officer_tax", "实为银行授信问题") == [
        f"请确认退回 {number}：\n"
        f"· 反映人将收到：“↩️ {number} 正在重新分派，请耐心等待。”\n"
        f"· 联盟和县级管理员将收到：“↩️ 县税务局退回了 {number}。理由：实为银行授信问题\n"
        "请重新分派。”"
    ]
    assert len(chat.received("alliance_admin")) == told_before
    [confirm] = [b for b in chat.last["officer_tax"] if b.label == "确认退回"]
    assert await chat.press("officer_tax", "确认退回") == [
        f"已退回 {number}，联盟管理员将重新分派。"
    ]
    again = await chat.send(chat.event("officer_tax", action=confirm.token))  # a double tap
    assert [r.text for r in again] == ["这个按钮已失效，请重新操作。"]
    assert chat.received("alliance_admin")[-1] == (
        f"↩️ 县税务局退回了 {number}。理由：实为银行授信问题\n请重新分派。"
    )
    assert chat.received("member")[-1] == f"↩️ {number} 正在重新分派，请耐心等待。"
    clock.advance(hours=3)
    [choose] = await chat.press_received("alliance_admin", "改派")
    assert choose == f"请选择 {number} 的承办部门（也可以直接写部门名，如“人社局”）："
    # Departments without an officer using the bot are flagged.
    labels = [b.label for b in chat.last["alliance_admin"]]
    assert labels[:3] == [
        "县税务局",
        "县人力资源和社会保障局（⚠️无干部在线）",
        "县地方金融服务中心（⚠️无干部在线）",
    ]
    assert await chat.press("alliance_admin", "县地方金融服务中心（⚠️无干部在线）") == [
        "改派至县地方金融服务中心：时限从现在重新计算。\n"
        "分类还是“税务发票”吗？点当前分类即不改，或点选新的分类："
    ]
    assert [b.label for b in chat.last["alliance_admin"]][:2] == ["✅ 税务发票", "融资贷款"]
    assert await chat.press("alliance_admin", "融资贷款") == [
        f"已将 {number} 派至县地方金融服务中心（融资贷款），新时限：12月02日 12:00 前签收，"
        "12月08日 12:00 前办结。\n"
        "⚠️ 县地方金融服务中心还没有干部使用红盟助手，工单由您跟进：请联系部门线下办理"
        "（可代部门签收、记录进展、办结），或再改派。"
    ]
    assert chat.received("member")[-1] == f"📮 {number} 已转县地方金融服务中心办理。"
    assert await chat.say("officer_tax", f"/tickets {number}") == [NOT_FOUND]
    ticket = await _ticket(chat, number)
    assert (ticket.state, ticket.category, ticket.committee) == (
        TicketState.DISPATCHED,
        "finance",
        "红盟金融",
    )
    assert ticket.admins_stand_in
    assert [e[0] for e in await _events(chat, number)][-2:] == ["return", "route"]
    # The deadlines start again from the new dispatch.
    assert ticket.sign_due_at == local_datetime(2026, 12, 2, 12)
    assert ticket.resolve_due_at == local_datetime(2026, 12, 8, 12)
    [detail] = await chat.say("alliance_admin", f"/tickets {number}")
    assert "承办：县地方金融服务中心（⚠️该部门无干部在线，由联盟管理员代办）" in detail
    assert "改派" not in detail and "县地方金融服务中心，分类改为融资贷款" in detail
    # Standing in for the department, the admin signs and records progress for it.
    assert [b.label for b in chat.last["alliance_admin"]] == [
        "分派",
        "签收",
        "不予受理",
        "合并",
    ]
    assert await chat.press("alliance_admin", "签收") == [
        f"已代县地方金融服务中心签收 {number}，反映人已收到通知。"
        "请联系部门办理，进展可在这里记录。"
    ]
    assert chat.received("member")[-1] == (
        f"✅ 您反映的 {number} 已由县地方金融服务中心签收（部门报到），正在办理。"
    )


async def test_admin_rejects_with_a_reason_and_may_not_sign(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    [detail] = await chat.say("alliance_admin", f"/tickets {number}")
    assert [b.label for b in chat.last["alliance_admin"]] == ["分派", "不予受理", "合并"]
    assert "联系人：" in detail
    assert await chat.press("alliance_admin", "不予受理") == ["请输入不予受理的理由："]
    [shown] = await chat.say("alliance_admin", "属于企业内部经营事项")
    assert shown.startswith(f"请确认不予受理 {number}：")
    assert await chat.press("alliance_admin", "修改") == ["请输入不予受理的理由："]
    await chat.say("alliance_admin", "属于企业内部经营事项")
    assert await chat.say("alliance_admin", "确认不予受理") == [
        f"{number} 已标记为不予受理，并告知反映人。"
    ]
    assert chat.received("member")[-1] == f"{number} 不予受理。理由：属于企业内部经营事项"
    assert await chat.press_received("officer_tax", "签收") == [
        f"{number} 当前状态是“不予受理”，不能签收（部门报到）。"
    ]


async def test_merge_into_an_earlier_ticket_adds_the_reporter(chat: Chat) -> None:
    first = await file(chat, "member", COMPLAINT)
    second = await file(chat, "host", "发票开不出来，电子税务局一直报错")
    await chat.say("alliance_admin", f"/tickets {second}")
    assert await chat.press("alliance_admin", "合并") == [
        "请输入要并入的更早工单编号和理由，例如：WT-2026-0001 同一问题"
    ]
    assert await chat.say("alliance_admin", "同一问题") == [
        "格式不对。请输入：工单编号 理由，例如：WT-2026-0001 同一问题（发送“取消”退出）"
    ]
    assert await chat.say("alliance_admin", f"{second} 自己") == [
        "不能并入这个工单：请填写一个更早、仍在办理中的工单编号。（发送“取消”退出）"
    ]
    [shown] = await chat.say("alliance_admin", f"{first} 同一问题，一并办理")
    assert shown.startswith(f"将 {second} 并入 {first}（{second} 的反映人会加入 {first}）。")
    assert await chat.press("alliance_admin", "确认合并") == [
        f"{second} 已并入 {first}，反映人已加入该工单。"
    ]
    told = chat.received("host")[-1]
    assert told == (
        f"{second} 已并入 {first}（更早反映的同一问题）合并办理，进展请查看 {first}。"
        "说明：同一问题，一并办理"
    )
    assert f"反映人将收到：“{told}”" in shown  # the preview said exactly this
    [hosts] = await chat.say("host", f"/myreports {first}")
    assert COMPLAINT in hosts  # host now co-reports the earlier ticket
    assert (await _ticket(chat, second)).state == TicketState.MERGED
    await chat.say("officer_tax", f"/tickets {first}")
    await chat.press("officer_tax", "签收")
    assert _about(chat, "host", f"您反映的 {first} 已由县税务局签收")


async def test_unsatisfied_reopens_and_tells_officer_and_admin(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.press_received("officer_tax", "签收")
    await chat.press("officer_tax", "更新进展")
    [shown] = await chat.say("officer_tax", "已联系企业")
    assert (
        shown == f"请确认更新进展 {number}：\n· 反映人将收到：“🔄 {number} 有新进展：已联系企业”"
    )
    assert await chat.say("officer_tax", "确认更新进展") == [
        f"已记录 {number} 的进展，并告知反映人。"
    ]
    assert chat.received("member")[-1] == f"🔄 {number} 有新进展：已联系企业"
    await chat.press("officer_tax", "办结")
    await chat.say("officer_tax", "已处理")
    await chat.press("officer_tax", "确认办结")
    told_before = len(chat.received("officer_tax"))
    assert await chat.press_received("member", "不满意") == [
        "很抱歉没让您满意。请说说哪里不满意（会转给承办部门继续办理），或点“跳过”："
    ]
    assert len(chat.received("officer_tax")) == told_before  # nothing is sent yet
    assert await chat.say("member", "发票还是开不出来，只是教了操作") == [
        f"很抱歉没让您满意，{number} 已重新打开，承办部门会继续办理。"
    ]
    reopened = (
        f"⚠️ {number} 评价不满意，已重新打开，请继续办理。\n"
        "不满意的原因：发票还是开不出来，只是教了操作"
    )
    assert chat.received("officer_tax")[-1] == reopened
    assert chat.received("alliance_admin")[-1] == reopened
    ticket = await _ticket(chat, number)
    assert (ticket.state, ticket.rating, ticket.resolved_at) == (
        TicketState.IN_PROGRESS,
        "unsatisfied",
        None,
    )
    # The old rating buttons no longer apply.
    assert await chat.press_received("member", "满意") == [
        f"{number} 当前状态是“办理中”，不能评价。"
    ]


async def test_a_button_pressed_during_a_note_dialog_is_taken_as_that_button(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.press_received("officer_tax", "签收")
    await chat.press("officer_tax", "办结")
    [detail] = await chat.press_received("officer_tax", "查看")
    assert detail.startswith(f"📋 {number}｜部门已报到")
    assert "· 12月01日 09:00 税务局·刘晓明 签收（部门报到）" in detail
    assert "联系人：" in detail
    # The dialog is over: free text is no longer a resolution note.
    assert (await _ticket(chat, number)).state == TicketState.SIGNED


async def test_admin_queue_and_the_member_has_no_figures(chat: Chat) -> None:
    [county] = await chat.say("admin", "/tickets")
    assert county.splitlines()[0] == "📥 全县待办工单 3 件（最早的在前）："
    [alliance] = await chat.say("alliance_admin", "工单")
    assert alliance.splitlines()[0] == "📥 本联盟待办工单 3 件（最早的在前）："
    assert await chat.say("member", "/ticketstats") == [
        "抱歉，“工单统计”只对联盟管理员开放。您可以用“我的吹哨”：查看反映问题的进度。"
    ]
    [figures] = await chat.say("admin", "工单统计")
    assert figures.splitlines()[:2] == [
        "📈 吹哨工单数据（全县）：共 4 件",
        "按状态：已派单，待部门签收 1、办理中 1、已关闭 1、待分派 1",
    ]
    assert "办结率：25%" in figures
    assert "签收用时中位数：2.0 小时；办结用时中位数：4.0 小时" in figures


async def test_deadlines_remind_escalate_and_digest_once(chat: Chat, clock: FrozenClock) -> None:
    number = await file(chat, "member", COMPLAINT)
    clock.set(local_datetime(2026, 12, 2, 5, 30))  # 3.5 h before the signing deadline
    await _sweep(chat, clock)
    await _sweep(chat, clock)
    assert _about(chat, "officer_tax", "⏰") == [
        f"⏰ 提醒：{number} 需在 12月02日 09:00 前签收（部门报到）。"
    ]
    assert _about(chat, "alliance_admin", "督办") == []

    clock.set(local_datetime(2026, 12, 2, 9, 1))
    await _sweep(chat, clock)
    await _sweep(chat, clock)
    # Three tickets passed a deadline: each admin gets one message listing them all.
    [escalated] = _about(chat, "alliance_admin", "🚨")
    assert escalated.splitlines() == [
        "🚨 督办：3 件工单超时：",
        "1. WT-2026-0001（县地方金融服务中心）超过签收时限 12月02日 07:00，仍未签收",
        "2. WT-2026-0004（待分派）超过签收时限 12月02日 06:00，仍未签收",
        f"3. {number}（县税务局）超过签收时限 12月02日 09:00，仍未签收",
    ]
    assert _about(chat, "admin", "🚨") == [escalated]
    # The officer has one of them: the single message.
    assert _about(chat, "officer_tax", "🚨") == [
        f"🚨 {number} 已超时（12月02日 09:00），已报联盟和县级督办，请尽快办理。"
    ]
    assert await chat.press_received("alliance_admin", "WT-2026-0001") != [NOT_FOUND]
    [digest] = _about(chat, "alliance_admin", "📋")
    assert digest.startswith("📋 12月02日 超时工单 3 件：")
    assert number in digest and "WT-2026-0001" in digest
    assert len(_about(chat, "admin", "📋")) == 1
    assert [e for e in await _events(chat, number) if e[0] == "escalate"] == [
        ("escalate", "dispatched", "dispatched")
    ]

    clock.set(local_datetime(2026, 12, 3, 7, 0))  # before the day's digest hour
    await _sweep(chat, clock)
    assert len(_about(chat, "alliance_admin", "📋")) == 1
    clock.set(local_datetime(2026, 12, 3, 8, 0))
    await _sweep(chat, clock)
    assert len(_about(chat, "alliance_admin", "📋")) == 2

    await chat.press_received("officer_tax", "签收")
    clock.set(local_datetime(2026, 12, 7, 10, 0))
    await _sweep(chat, clock)
    assert _about(chat, "officer_tax", f"⏰ 提醒：{number} 需在") == [
        f"⏰ 提醒：{number} 需在 12月02日 09:00 前签收（部门报到）。",
        f"⏰ 提醒：{number} 需在 12月08日 09:00 前办结。",
    ]
    clock.set(local_datetime(2026, 12, 8, 9, 0))
    await _sweep(chat, clock)
    await _sweep(chat, clock)
    [late] = _about(chat, "admin", f"{number}（县税务局）超过办结时限")
    assert f"{number}（县税务局）超过办结时限 12月08日 09:00，仍未办结" in late


async def test_a_crash_after_notifying_keeps_neither_the_change_nor_the_message(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = await file(chat, "member", COMPLAINT)
    before = await _outbox_count(chat)
    real = handlers.context.enqueue

    async def notify_then_crash(**kwargs: object) -> list[OutboxMessage]:
        await real(**kwargs)  # type: ignore[arg-type]
        raise RuntimeError("crash between the outbox row and the commit")

    monkeypatch.setattr(handlers.context, "enqueue", notify_then_crash)
    assert await chat.press_received("officer_tax", "签收") == [INTERNAL_ERROR]
    assert (await _ticket(chat, number)).state == TicketState.DISPATCHED
    assert [e[0] for e in await _events(chat, number)] == ["file", "dispatch"]
    assert await _outbox_count(chat) == before
    monkeypatch.undo()
    assert await chat.press_received("officer_tax", "签收") == [f"已签收 {number}，部门报到成功。"]
    assert len(_about(chat, "member", "签收（部门报到）")) == 1


class FlakyTransport(RecordingTransport):
    """Raises on its first send, as a network failure or a crash mid-send would."""

    failures: int = 1

    async def send(self, user_key: str, reply: Reply) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("connection reset")
        await super().send(user_key, reply)


async def test_the_sender_delivers_after_a_failed_send_and_after_a_lapsed_claim(
    chat: Chat, clock: FrozenClock
) -> None:
    number = await file(chat, "member", COMPLAINT)
    flaky = FlakyTransport(sent=chat.transport.sent)
    chat.app.sender.transports["console"] = flaky
    await chat.press_received("officer_tax", "签收")
    signed = f"✅ 您反映的 {number} 已由县税务局签收（部门报到），正在办理。"
    assert signed not in chat.received("member")
    async with chat.app.sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.text == signed))
        assert row is not None and (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    clock.advance(seconds=11)
    await chat.app.sender.drain()
    await chat.app.sender.drain()
    assert chat.received("member").count(signed) == 1

    # A sender that claimed rows and died before sending: the rows come back after the lease.
    await chat.press("officer_tax", "更新进展")
    await chat.say("officer_tax", "已约上门时间")
    # Confirmed without draining, as if the sender were busy elsewhere.
    await chat.app.dispatcher.handle(chat.event("officer_tax", text="确认更新进展"))
    async with chat.app.sessionmaker() as session, session.begin():
        claimed = await claim_due(
            session=session, platforms=["console"], now=clock.now(), limit=50
        )
    assert [r.text for r in claimed] == [f"🔄 {number} 有新进展：已约上门时间"]
    assert await chat.app.sender.drain() == 0
    clock.advance(minutes=3)
    assert await chat.app.sender.drain() == 1
    assert chat.received("member")[-1] == f"🔄 {number} 有新进展：已约上门时间"
    async with chat.app.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(TicketEvent)
            .join(Ticket)
            .where(Ticket.number == number, TicketEvent.action == "update")
        )
    assert count == 1


async def test_cosign_joins_an_open_ticket_of_the_own_alliance(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    assert await chat.say("host", "附议") == ["请发送要附议的工单编号，例如：附议 WT-2026-0001"]
    assert await chat.say("host", f"附议 {number.lower()}") == [
        f"已附议 {number}（税务发票），办理进展会同步告诉您。"
    ]
    assert await chat.say("host", f"/cosign {number}") == [f"您已经是 {number} 的反映人了。"]
    joined = chat.received("member")[-1]
    assert joined.startswith("➕ ") and joined.endswith(f"附议了 {number}，反映人增至 2 位。")
    assert chat.received("officer_tax")[-1] == joined
    # `mobile`'s unit is in another alliance: the ticket stays invisible to them.
    assert await chat.say("mobile", f"附议 {number}") == [NOT_FOUND]
    await chat.press_received("officer_tax", "签收")
    assert _about(chat, "host", f"您反映的 {number} 已由县税务局签收")
    [history] = await chat.say("member", f"/myreports {number}")
    assert "附议" in history


async def test_history_shows_the_rating(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.press_received("officer_tax", "签收")
    await chat.press("officer_tax", "办结")
    await chat.say("officer_tax", "已处理")
    await chat.press("officer_tax", "确认办结")
    await chat.press_received("member", "不满意")
    await chat.press("member", "跳过")
    [detail] = await chat.say("member", f"/myreports {number}")
    assert detail.splitlines()[-1].endswith("评价：不满意，重新办理")
    assert "评价：不满意" in detail.splitlines()

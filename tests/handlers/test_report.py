"""/report and /myreports: the dialog, free-text complaints, who sees which ticket."""

from __future__ import annotations

from sqlalchemy import select

from models.member import Identity, Member
from models.ticket import Ticket, TicketEvent, TicketState
from tests.fakes import Chat

COMPLAINT = "增值税发票开不出来，税务这边卡住了"
NOT_FOUND = "没有找到这个工单，或您无权查看。"


async def _ticket(chat: Chat, number: str) -> Ticket:
    async with chat.app.sessionmaker() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        return ticket


async def _events(chat: Chat, number: str) -> list[tuple[str, str | None, str]]:
    async with chat.app.sessionmaker() as session:
        rows = await session.execute(
            select(TicketEvent.action, TicketEvent.from_state, TicketEvent.to_state)
            .join(Ticket)
            .where(Ticket.number == number)
            .order_by(TicketEvent.id)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def file(chat: Chat, user: str, text: str, category_label: str | None = None) -> str:
    """Report `text` in free text, accept the own unit and the category; the new number."""
    [unit_question] = await chat.say(user, text)
    assert unit_question.startswith("这个问题涉及哪个单位？")
    [proposal] = await chat.press(user, chat.last[user][0].label)
    assert proposal.startswith("建议分类：")
    label = category_label or chat.last[user][0].label
    [confirm] = await chat.press(user, label)
    assert confirm.startswith("请确认：")
    filed, *_ = await chat.press(user, "提交")
    assert filed.startswith("🚩 吹哨成功！工单号 WT-2026-")
    return filed.split("工单号 ", 1)[1].split("\n", 1)[0]


async def test_done_when_member_reports_officer_signs_and_resolves_member_rates(
    chat: Chat,
) -> None:
    assert await chat.say("member", COMPLAINT) == [
        "这个问题涉及哪个单位？点下面的按钮，或直接输入单位全称："
    ]
    home = chat.last["member"][0].label
    assert home.startswith("本单位：")
    [proposal] = await chat.press("member", home)
    assert proposal.startswith("建议分类：税务发票（转县税务局，红盟服务跟进）。")
    [confirm] = await chat.press("member", "✅ 税务发票")
    assert confirm == f"请确认：\n单位：{home[4:]}\n分类：税务发票\n问题：{COMPLAINT}"
    filed, *_ = await chat.press("member", "提交")
    assert filed.startswith("🚩 吹哨成功！工单号 WT-2026-0005\n已转县税务局，红盟服务跟进；")
    assert "12月02日 09:00 前签收，12月08日 09:00 前办结" in filed

    [to_officer] = chat.received("officer_tax")
    assert to_officer.startswith("📌 新工单 WT-2026-0005（税务发票）")
    [to_admin] = chat.received("alliance_admin")
    assert to_admin.startswith("🔔 新吹哨 WT-2026-0005（税务发票）")
    assert chat.received("admin") == []  # the alliance has its own admin

    assert await chat.press_received("officer_tax", "签收") == [
        "已签收 WT-2026-0005，部门报到成功。"
    ]
    assert chat.received("member")[-1] == (
        "✅ 您反映的 WT-2026-0005 已由县税务局签收（部门报到），正在办理。"
    )
    assert await chat.press("officer_tax", "办结") == ["请输入办结说明（问题是怎么解决的）："]
    assert await chat.say("officer_tax", "已上门帮助开通数电发票") == [
        "请确认办结 WT-2026-0005：\n"
        "· 反映人将收到：“🎉 WT-2026-0005 已办结：已上门帮助开通数电发票”\n"
        "· 提交人将收到：“请为 WT-2026-0005 的办理评价：”"
    ]
    assert await chat.press("officer_tax", "确认办结") == ["WT-2026-0005 已办结，已请反映人评价。"]
    assert chat.received("member")[-2:] == [
        "🎉 WT-2026-0005 已办结：已上门帮助开通数电发票",
        "请为 WT-2026-0005 的办理评价：",
    ]
    assert await chat.press_received("member", "满意") == ["感谢您的评价！WT-2026-0005 已关闭。"]
    assert chat.received("officer_tax")[-1] == "⭐ WT-2026-0005 收到评价：满意。"

    [figures] = await chat.say("alliance_admin", "/ticketstats")
    assert figures.startswith("📈 吹哨工单数据（本联盟）：共 5 件")
    assert "按部门：县税务局 3" in figures
    assert "满意度：100%（满意 2）" in figures

    ticket = await _ticket(chat, "WT-2026-0005")
    assert ticket.state == TicketState.CLOSED and ticket.rating == "satisfied"
    assert [e[0] for e in await _events(chat, "WT-2026-0005")] == [
        "file",
        "dispatch",
        "sign",
        "resolve",
        "rate",
    ]


async def test_member_cannot_see_or_act_on_someone_elses_ticket(chat: Chat) -> None:
    # WT-2026-0001..0004 are the demo's, filed by `host`.
    assert await chat.say("member", "/myreports WT-2026-0002") == [NOT_FOUND]
    assert await chat.say("member", "/tickets WT-2026-0002") == [NOT_FOUND]
    assert await chat.say("member", "/tickets") == [
        "待办工单队列只对部门干部和联盟管理员开放。"
        "您（及本单位）还没有反映过问题。发送“吹哨”反映一个问题。"
    ]
    assert await chat.say("member", "/myreports") == [
        "您（及本单位）还没有反映过问题。发送“吹哨”反映一个问题。"
    ]


async def test_officer_tax_cannot_see_a_finance_ticket(chat: Chat) -> None:
    assert (await _ticket(chat, "WT-2026-0001")).category == "finance"
    assert await chat.say("officer_tax", "/tickets WT-2026-0001") == [NOT_FOUND]
    [queue] = await chat.say("officer_tax", "/tickets")
    assert queue.splitlines()[0] == "📥 县税务局待办工单 1 件（最早的在前）："
    assert "WT-2026-0001" not in queue


async def test_the_category_can_be_corrected_with_a_button(chat: Chat) -> None:
    assert await chat.say("member", "吹哨") == ["请用一两句话说说遇到的问题（发送“取消”可退出）："]
    assert await chat.say("member", "太难了") == [
        "再具体一点吧（至少 5 个字），比如：增值税发票开不出来，已经三天了。（发送“取消”退出）"
    ]
    await chat.say("member", "资金周转困难，想问问有没有政策")
    [proposal] = await chat.press("member", chat.last["member"][0].label)
    assert proposal.startswith("建议分类：融资贷款（转县地方金融服务中心，红盟金融跟进）")
    assert await chat.say("member", "不对") == ["请点按钮选择问题分类。（发送“取消”退出）"]
    [confirm] = await chat.press("member", "用工社保")
    assert "分类：用工社保" in confirm
    filed, *_ = await chat.press("member", "提交")
    assert "已转县人力资源和社会保障局，红盟服务跟进" in filed
    ticket = await _ticket(chat, "WT-2026-0005")
    assert (ticket.category, ticket.committee) == ("labor", "红盟服务")


async def test_a_typed_unit_name_and_an_unknown_one(chat: Chat) -> None:
    async with chat.app.sessionmaker() as session:
        host = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == "host")
        )
        assert host is not None
        unit_id = host.home_unit_id
    await chat.say("member", "/report 园区道路坑洼，货车进出困难")
    assert await chat.say("member", "不存在的公司") == [
        "没有找到“不存在的公司”，请输入单位全称，或点“本单位”按钮。（发送“取消”退出）"
    ]
    async with chat.app.sessionmaker() as session:
        from models.org import Unit

        name = await session.scalar(select(Unit.name).where(Unit.id == unit_id))
    [proposal] = await chat.say("member", str(name))
    assert proposal.startswith("建议分类：水电气网")
    await chat.press("member", "✅ 水电气网")
    await chat.press("member", "提交")
    assert (await _ticket(chat, "WT-2026-0005")).unit_id == unit_id


async def test_cancel_leaves_no_ticket(chat: Chat) -> None:
    await chat.say("member", COMPLAINT)
    await chat.press("member", chat.last["member"][0].label)
    await chat.press("member", "✅ 税务发票")
    assert await chat.press("member", "取消") == ["已取消当前操作。"]
    async with chat.app.sessionmaker() as session:
        assert await session.scalar(select(Ticket).where(Ticket.number == "WT-2026-0005")) is None
    assert chat.received("officer_tax") == []


async def test_liaison_sees_the_units_tickets_without_contacts(chat: Chat) -> None:
    async with chat.app.sessionmaker() as session, session.begin():
        host = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == "host")
        )
        assert host is not None
        colleague = await session.scalar(
            select(Member)
            .where(Member.home_unit_id == host.home_unit_id, Member.id != host.id)
            .limit(1)
        )
        assert colleague is not None
        session.add(Identity(platform="console", user_key="colleague", member_id=colleague.id))
        phone = colleague.phone
    number = await file(chat, "colleague", "招工难，春节后工人一直招不满")
    [mine] = await chat.say("colleague", "我的吹哨")
    assert mine.splitlines()[0] == "📮 我反映的问题（1 件）："
    [unit] = await chat.say("host", "/myreports")
    assert unit.splitlines()[0] == "📮 我反映的问题（5 件）："
    assert number in unit
    [seen_by_liaison] = await chat.say("host", f"/myreports {number}")
    assert "招工难" in seen_by_liaison and "联系人" not in seen_by_liaison
    await chat.say("admin", "/tickets")
    [seen_by_admin] = await chat.say("admin", f"/tickets {number}")
    assert f"联系人：{colleague.name} {phone}" in seen_by_admin
    # Labor goes to 人社; the tax officer does not see it.
    assert await chat.say("officer_tax", f"/tickets {number}") == [NOT_FOUND]


async def test_free_text_asks_about_progress_and_a_vague_complaint(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    [progress] = await chat.say("member", f"{number} 办得怎么样了")
    assert progress.startswith(f"📋 {number}｜已派单，待部门签收")
    assert "· 12月01日 09:00 系统 派单：县税务局" in progress
    assert await chat.say("member", "我要吹哨") == [
        "请用一两句话说说遇到的问题（发送“取消”可退出）："
    ]


async def test_the_nlu_category_slot_is_the_proposal(chat: Chat) -> None:
    from bot.nlu import Parse

    chat.app.dispatcher.nlu = lambda text: Parse("report", {"category": "legal"})
    await chat.say("member", "客户拖了半年不付货款，怎么办才好")
    [proposal] = await chat.press("member", chat.last["member"][0].label)
    assert proposal.startswith("建议分类：法律纠纷（转县司法局，红盟服务跟进）")


async def test_filing_shows_matching_shared_resources(chat: Chat) -> None:
    await chat.say("member", "我们公司想贷款但是银行一直不批，流动资金很紧张")
    await chat.press("member", chat.last["member"][0].label)
    await chat.press("member", "✅ 融资贷款")
    replies = await chat.send(chat.event("member", action=chat.last["member"][0].token))
    filed, suggested = replies
    assert filed.text.startswith("🚩 吹哨成功！")
    assert suggested.text.startswith("💡 共享资源清单里也许有能帮上忙的：\n1. 【管家】")
    assert "贷款" in suggested.text
    assert [b.label for b in suggested.buttons][:1] == ["我要对接 1"]


async def test_no_suggestion_when_no_resource_matches(chat: Chat) -> None:
    await chat.say("member", "/report 园区流浪猫太多，晚上叫个不停")
    await chat.press("member", chat.last["member"][0].label)
    await chat.press("member", chat.last["member"][0].label)
    replies = await chat.send(chat.event("member", action=chat.last["member"][0].token))
    assert [r.text[:7] for r in replies] == ["🚩 吹哨成功！"]

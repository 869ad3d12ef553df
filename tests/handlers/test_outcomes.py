"""成果台账: an entry submitted with evidence, returned, corrected, approved, accepted, then
refused an edit with the lock's reason (and reopened by the county, audited); people helped
counted once across two entries; a derived figure that changes when a ticket is resolved; the
county cannot type figures; bad amounts are refused and nothing is stored."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Attachment
from models.audit import AuditLog
from models.files import store_upload
from models.member import HOME_LOADED, Identity, Member
from models.outcome import OutcomeEntry, OutcomeEvent, State
from models.project import Project
from models.ticket import file_ticket, transition
from tests.fakes import Chat

EXIT = "（发送“取消”退出）"  # the dispatcher's note on a question asked again


def photo(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


def attach(chat: Chat, data: bytes, name: str = "回单.jpg") -> Attachment:
    return store_upload(data=data, name=name, sent_as="photo", settings=chat.app.settings)


async def send_file(chat: Chat, user: str, attachment: Attachment) -> list[str]:
    return [r.text for r in await chat.send(chat.event(user, attachments=(attachment,)))]


async def entries(chat: Chat) -> list[OutcomeEntry]:
    async with chat.app.sessionmaker() as session:
        stmt = select(OutcomeEntry).order_by(OutcomeEntry.id)
        return list((await session.execute(stmt)).scalars())


async def submit_costs(chat: Chat) -> None:
    """host (the secretary of 和信食品) reports 三千多万 of costs saved with a photo."""
    assert (await chat.say("host", "填报成果"))[0].startswith("填报哪一项成果？")
    assert await chat.say("host", "降低成本") == ["是哪个季度的成果？"]
    assert (await chat.say("host", "本季度"))[0].startswith("降低企业成本多少？")
    assert await chat.say("host", "三千多万") == ["请简要说明这项成果（做了什么、惠及谁）："]
    assert (await chat.say("host", "协调银行降低融资利率"))[0].endswith("这项成果必须附凭证。")
    again = await chat.say("host", "下一步")  # no 下一步 before a file: the question again
    assert again == [
        "请发送凭证照片或文件（合同、回单、收据、现场照片）。这项成果必须附凭证。" + EXIT
    ]
    assert await send_file(chat, "host", attach(chat, photo())) == [
        "已收到照片（共 1 份）。还可以继续发送，或点“下一步”。"
    ]
    assert (await chat.say("host", "下一步"))[0].startswith(
        "这项成果关联哪个项目、活动、会议、经费支出或工单？"
    )
    preview = await chat.say("host", "WT-2026-0002")
    assert preview == [
        "请核对，确认后提交联盟审核：\n降低企业成本：3000余万元\n"
        "砖埠和信食品有限公司（食品产业链党建红色联盟）· 2026年第四季度\n"
        "说明：协调银行降低融资利率\n凭证 1 份：照片 回单.jpg\n关联：工单 WT-2026-0002"
    ]
    assert await entries(chat) == []  # nothing stored before 确认
    assert await chat.say("host", "确认") == [
        "已提交成果 CG-0001，等待联盟审核。审核结果会通知您。"
    ]


async def test_an_entry_from_submission_to_the_lock(chat: Chat) -> None:
    await submit_costs(chat)
    assert chat.received("alliance_admin")[-1] == (
        "📝 吴桂涵填报了成果 CG-0001：降低企业成本 3000余万元"
        "（砖埠和信食品有限公司，2026年第四季度），请审核。"
    )
    [entry] = await entries(chat)
    assert (entry.value, entry.approximate, entry.state) == (3000_0000_00, True, State.SUBMITTED)
    assert len(entry.evidence) == 1 and entry.link_label == "工单 WT-2026-0002"

    # The alliance returns it with a reason; the submitter is told.
    card = await chat.press_received("alliance_admin", "查看 CG-0001")
    assert "状态：待联盟审核" in card[0] and "凭证 1 份：照片 回单.jpg" in card[0]
    assert await chat.press("alliance_admin", "退回") == ["请写明退回的理由（会告诉填报人）："]
    assert await chat.say("alliance_admin", "请写实际节省金额，不要写约数") == [
        "已退回 CG-0001，已告知填报人。"
    ]
    assert chat.received("host")[-1] == (
        "↩️ 您填报的成果 CG-0001（降低企业成本 3000余万元）被退回：请写实际节省金额，"
        "不要写约数\n请修改后再提交。"
    )

    # Corrected: 3,012万, description kept, no more evidence; the alliance approves.
    await chat.press_received("host", "查看 CG-0001")
    assert (await chat.press("host", "修改"))[0].startswith(
        "修改 CG-0001（现为 3000余万元）。退回理由：请写实际节省金额，不要写约数"
    )
    assert (await chat.say("host", "3,012万"))[0].startswith("请简要说明修改了什么")
    assert (await chat.say("host", "不改说明"))[0].startswith("要补充凭证")
    preview = await chat.say("host", "跳过")
    assert "降低企业成本：3012万元" in preview[0]
    assert await chat.say("host", "确认") == ["已修改成果 CG-0001，已重新提交联盟审核。"]
    [entry] = await entries(chat)
    assert (entry.value, entry.approximate, entry.state) == (3012_0000_00, False, State.SUBMITTED)

    await chat.press_received("alliance_admin", "查看 CG-0001")
    assert await chat.press("alliance_admin", "通过") == [
        "已通过 CG-0001，已告知填报人，等待县里验收。"
    ]
    assert chat.received("admin")[-1].startswith("📥 食品产业链党建红色联盟的成果 CG-0001")

    # Approved by the alliance, not yet accepted: 成果 counts it once, saying it waits for the
    # county; /stats, like the report, keeps to what the county accepted.
    [waiting] = await chat.say("alliance_admin", "成果 今年")
    assert "降低成本3012万元" in waiting
    assert "其中 1 条联盟已审核、待县里验收（县里验收后计入成果报告）。" in waiting
    assert "另有" not in waiting
    [stats, *_] = await chat.say("alliance_admin", "/stats")
    assert "降低成本3012万元" not in stats

    # Approved is locked already: the submitter's edit is refused with who locked it.
    refused = await chat.say("host", "修改成果 CG-0001")
    assert refused[0].startswith("CG-0001 已由") and "审核通过，已锁定，不能再改" in refused[0]

    # The county accepts after a confirmation; then the lock names the county.
    await chat.press_received("admin", "查看 CG-0001")
    confirm = await chat.press("admin", "验收")
    assert confirm[0].startswith("验收后 CG-0001（降低企业成本 3012万元）计入全县成果并锁定")
    assert await chat.say("admin", "确认") == ["已验收 CG-0001，已锁定并计入全县成果。"]
    assert await chat.say("host", "修改成果 CG-0001") == [
        "CG-0001 已由县里于12月01日（周二）验收，已锁定，不能再改。"
        "如需更正，请县级管理员“重新打开”并写明理由。"
    ]
    [entry] = await entries(chat)
    assert entry.state == State.ACCEPTED and entry.value == 3012_0000_00
    figures = await chat.say("alliance_admin", "成果 今年")
    assert "· 帮助成员企业降低成本3012万元（1条成果，凭证1份）" in figures[0]

    # The county reopens it with a reason: audited, and the submitter may correct it again.
    await chat.say("admin", "成果 CG-0001")
    assert await chat.press("admin", "重新打开") == ["请写明重新打开的理由（会告诉填报人）："]
    assert await chat.say("admin", "审计发现金额含2025年数据") == [
        "已重新打开 CG-0001（已记入操作日志），已告知填报人。"
    ]
    async with chat.app.sessionmaker() as session:
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "outcome.reopen"))
        actions = list(
            await session.scalars(select(OutcomeEvent.action).order_by(OutcomeEvent.id))
        )
    assert audit is not None and audit.detail["reason"] == "审计发现金额含2025年数据"
    assert actions == ["submit", "return", "edit", "approve", "accept", "reopen"]
    [entry] = await entries(chat)
    assert entry.state == State.RETURNED and entry.reason == "审计发现金额含2025年数据"


async def test_bad_amounts_are_refused_and_nothing_is_stored(chat: Chat) -> None:
    await chat.say("host", "填报成果")
    await chat.say("host", "捐资捐物")
    await chat.say("host", "本季度")
    assert await chat.say("host", "很多钱") == [
        "没看懂这个金额。可以这样写：3000余万、1.7亿、2,335万、二百六十万元。（未保存）" + EXIT
    ]
    assert await chat.say("host", "-5万") == ["金额不能是负数，请重新输入。（未保存）" + EXIT]
    assert await chat.say("host", "0元") == ["数值要大于零，请重新输入。（未保存）" + EXIT]
    assert await chat.say("host", "二百六十万元") == ["请简要说明这项成果（做了什么、惠及谁）："]
    assert await entries(chat) == []


async def test_derived_metrics_are_not_typed_and_the_county_does_not_type(chat: Chat) -> None:
    await chat.say("alliance_admin", "填报成果")
    refused = await chat.say("alliance_admin", "解决城市治理难题")
    assert refused == [
        "“解决城市治理难题”由系统按办结的吹哨工单自动统计，不用填写。请选择其他一项。" + EXIT
    ]
    assert await chat.say("admin", "填报成果") == [
        "县级不直接填报成果：各联盟和成员单位填报，县里审核汇总，避免重复计数。"
    ]
    refused = await chat.say("member", "填报成果")
    assert refused[0].startswith("抱歉，“填报成果”只对联络员开放。")
    assert await entries(chat) == []


async def _member(session: AsyncSession, key: str) -> Member:
    stmt = select(Member).join(Identity).where(Identity.user_key == key).options(HOME_LOADED)
    found = await session.scalar(stmt)
    assert found is not None
    return found


async def test_a_resolved_governance_ticket_moves_the_derived_figure(chat: Chat) -> None:
    before = await chat.say("alliance_admin", "成果")
    assert "解决城市治理难题" not in before[0]
    async with chat.app.sessionmaker() as session, session.begin():
        host = await _member(session, "host")
        admin = await _member(session, "alliance_admin")
        ticket, _ = await file_ticket(
            session=session,
            reporter=host,
            unit_id=host.home_unit_id,
            text="厂区门前道路积水，雨天货车进不来。",
            category="utilities",
            now=chat.app.clock.now(),
        )
        ticket.admins_stand_in = True  # the department has no officer in the bot yet
        for action in ("sign", "resolve"):
            await transition(
                session=session,
                ticket=ticket,
                action=action,
                actor=admin,
                now=chat.app.clock.now(),
                note="已协调住建部门疏通排水" if action == "resolve" else "",
            )
    after = await chat.say("alliance_admin", "成果")
    assert "· 解决城市治理难题1条（系统统计）" in after[0]


async def test_people_helped_are_counted_once_across_entries(chat: Chat) -> None:
    async def helped(names: str, colour: tuple[int, int, int]) -> None:
        chat.app.clock.advance(minutes=2)  # no more than a person types a minute
        await chat.say("alliance_admin", "填报成果")
        assert (await chat.say("alliance_admin", "帮扶困难群众"))[0].startswith("是哪个成员单位")
        await chat.say("alliance_admin", "联盟整体")
        assert "名单" in (await chat.say("alliance_admin", "本季度"))[0]
        await chat.say("alliance_admin", names)
        await chat.say("alliance_admin", "走访慰问并送去米面油")
        await send_file(chat, "alliance_admin", attach(chat, photo(colour), "慰问.jpg"))
        await chat.say("alliance_admin", "下一步")
        preview = await chat.say("alliance_admin", "跳过")
        assert "帮扶困难群众" in preview[0]
        submitted = await chat.say("alliance_admin", "确认")
        assert submitted[0].startswith("已提交成果")
        await chat.press("alliance_admin", f"查看 {submitted[0][6:13]}")
        assert await chat.press("alliance_admin", "通过")

    await helped("张秀兰、李桂芝、王德福", (10, 10, 10))
    await helped("李桂芝，赵明 王德福", (20, 20, 20))
    rows = await entries(chat)
    assert [r.value for r in rows] == [3, 3]
    figures = await chat.say("alliance_admin", "成果 本季度")
    assert "· 帮扶困难群众4人（2条成果，凭证2份）" in figures[0]
    async with chat.app.sessionmaker() as session:
        assert await session.scalar(select(func.count(OutcomeEntry.id))) == 2


async def test_figures_for_a_run_of_quarters(full_chat: Chat) -> None:
    [figures, *_] = await full_chat.say("admin", "成果 前三季度")
    assert figures.startswith("📊 全县2026年前三季度成果（已审核）：")
    [report, *_] = await full_chat.say("admin", "成果报告 上半年")
    # The demo's first half holds one of the two cost entries (1800余万 of 3000余万).
    assert report.startswith("📄 全县2026年上半年成果")
    assert "2026年上半年，全县14个党建红色联盟帮助成员企业降低成本1800余万元" in report
    assert await full_chat.say("admin", "成果 3-1季度") == [
        "没看懂这个时间段。可以这样写：今年、2026年、本季度、上季度、2026年第三季度、上半年。"
    ]


async def projects(chat: Chat) -> Project:
    """The food alliance lists two projects; host's unit claims 冷链商圈党建服务站 (the other stays
    open); the claimed one is returned."""
    from datetime import date

    from models.project import claim, list_project

    async with chat.app.sessionmaker() as session, session.begin():
        admin = await _member(session, "alliance_admin")
        host = await _member(session, "host")
        alliance_id = min(admin.admin_scope().alliances)
        now = chat.app.clock.now()
        made = []
        for title in ("冷链商圈党建服务站", "园区青年人才驿站"):
            made.append(
                await list_project(
                    session=session,
                    actor=admin,
                    alliance_id=alliance_id,
                    title=title,
                    due_on=date(2026, 12, 31),
                    now=now,
                )
            )
        await claim(session=session, project=made[0], actor=host, now=now)
        await session.flush()
        session.expunge(made[0])
        return made[0]


async def to_the_link(chat: Chat, user: str = "host") -> list[str]:
    """An entry of costs saved with a photo, up to the link step; the step's button labels
    (two minutes later, as a person types: the sender's rate limit is not the subject here)."""
    chat.app.clock.advance(minutes=2)  # type: ignore[attr-defined]
    await chat.say(user, "填报成果")
    await chat.say(user, "降低成本")
    await chat.say(user, "本季度")
    await chat.say(user, "20万")
    await chat.say(user, "冷链服务站帮商户节省运输费")
    await send_file(chat, user, attach(chat, photo()))
    [ask] = await chat.say(user, "下一步")
    assert ask.startswith("这项成果关联哪个项目、活动、会议、经费支出或工单？")
    return [b.label for b in chat.last[user]]


async def test_an_entry_links_a_claimed_project_or_an_activity(chat: Chat) -> None:
    from models.activity import Activity

    stall = await projects(chat)
    labels = await to_the_link(chat)
    # the alliance's recent activities or meetings first, then its claimed projects, and 跳过;
    # a project nobody has claimed is not offered
    assert labels[-1] == "跳过" and "项目：冷链商圈党建服务站" in labels
    assert labels[0].split("：")[0] in ("活动", "会议")
    assert not any("园区青年人才驿站" in label for label in labels)

    # a bad input is told what can be typed, and the choices stay
    bad = await chat.say("host", "不存在的事")
    assert bad == [
        "没有找到“不存在的事”。可以输入项目编号（XM-0001）或项目名称、活动或会议名称（可以只写"
        "一部分）、经费支出编号（ZC-0001）、工单号（WT-2026-0005）、督办编号（DB-0003），"
        "或点选下面的按钮；没有就点“跳过”。" + EXIT
    ]
    assert [b.label for b in chat.last["host"]] == labels
    # the open project cannot be linked: it is nobody's yet
    assert (await chat.say("host", "园区青年人才驿站"))[0].startswith("没有找到“园区青年人才驿站”")
    assert (await chat.say("host", "ZC-0009"))[0].startswith("没有找到“ZC-0009”")

    # words that fit several: they are offered as buttons
    [many] = await chat.say("host", "党建")
    assert many == "有几项符合“党建”，请点选：" + EXIT
    several = [b.label for b in chat.last["host"]]
    assert len(several) > 2 and several[0] == "项目：冷链商圈党建服务站"
    assert several[-1] == "跳过"

    # part of a project's title, typed
    [preview] = await chat.say("host", "冷链商圈")
    assert preview.endswith(f"\n关联：项目 {stall.number}《冷链商圈党建服务站》")
    await chat.say("host", "确认")
    [entry] = await entries(chat)
    assert (entry.link_kind, entry.link_id) == ("project", stall.id)
    card = await chat.press("host", "查看 CG-0001")
    assert f"关联：项目 {stall.number}《冷链商圈党建服务站》" in card[0]

    # the project's number typed, in lower case
    await to_the_link(chat)
    [preview] = await chat.say("host", stall.number.lower())
    assert f"关联：项目 {stall.number}《冷链商圈党建服务站》" in preview.splitlines()
    await chat.say("host", "确认")
    assert (await entries(chat))[-1].link_id == stall.id

    # an activity or meeting, pressed
    labels = await to_the_link(chat)
    kind, title = labels[0].split("：", 1)
    async with chat.app.sessionmaker() as session:
        activity = await session.scalar(
            select(Activity).where(Activity.title == title).order_by(Activity.starts_at.desc())
        )
        assert activity is not None
    [preview] = await chat.press("host", labels[0])
    assert f"关联：{kind}《{title}》" in preview.splitlines()
    await chat.say("host", "确认")
    last = (await entries(chat))[-1]
    assert (last.link_kind, last.link_id, last.link_label) == (
        "activity",
        activity.id,
        f"{kind}《{title}》",
    )

    # the county's Excel of every entry shows the links
    replies = await chat.replies("admin", "成果报告 2026年")
    from openpyxl import load_workbook

    rows = list(load_workbook(replies[2].file).active.iter_rows(values_only=True))
    column = rows[0].index("关联")
    shown = {row[0]: row[column] for row in rows[1:]}
    assert shown["CG-0001"] == f"项目 {stall.number}《冷链商圈党建服务站》"
    assert shown["CG-0003"] == f"{kind}《{title}》"

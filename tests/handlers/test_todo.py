"""督办事项 from a closed meeting: done with a photo (stored once, shown to the chair without
its location), extended with the alliance admin's approval, overdue and escalated once (the
owner and the chair, then the county), missed reminders collapsed into one message, and
需要协调 filing a 吹哨 ticket linked both ways."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.app import build_app
from bot.core import Attachment
from bot.core.clock import FrozenClock, local_datetime
from bot.scheduler import run_all
from handlers import SWEEPS
from models.files import GPS_IFD, store_upload
from models.followup import FollowUp, FollowUpAlert, FollowUpEvent, Status, item_for_ticket
from models.ticket import Ticket
from settings import Settings
from tests.fakes import Chat, RecordingTransport
from tests.handlers.test_meetings import (
    ADMIN_UNIT,
    HOST_UNIT,
    MEMBER,
    TITLE,
    Decided,
    convene,
    record,
)
from tests.unit.test_files import photo

DECISIONS = [
    Decided("建立冷链仓储共享台账", MEMBER, "12月20日"),  # DB-0001: done with a photo
    Decided("完善联盟共享资源清单", "和信食品", "12月18日"),  # DB-0002: extended
    Decided("协调冷链车辆进城通行证", "蒲汪德润冷链", "12月10日"),  # DB-0003: overdue
    Decided("协调税务部门办理出口退税", "和信食品", "12月24日", True),  # DB-0004: a ticket
]
SOURCE = f"《{TITLE}》决议"


@pytest.fixture
async def items(chat: Chat, clock: FrozenClock) -> list[FollowUp]:
    """The four decisions of a meeting held and closed on 8 December."""
    await convene(chat)
    await chat.say("member", "提议题 冷链物流协同")
    await chat.press("member", "提交")
    await chat.press_received("host", "采纳")
    await record(chat, clock, DECISIONS)
    async with chat.app.sessionmaker() as session:
        found = list((await session.execute(select(FollowUp).order_by(FollowUp.id))).scalars())
    assert [i.number for i in found] == ["DB-0001", "DB-0002", "DB-0003", "DB-0004"]
    return found


async def item(chat: Chat, number: str) -> FollowUp:
    async with chat.app.sessionmaker() as session:
        found = await session.get(FollowUp, int(number[3:]))
    assert found is not None
    return found


def attach(chat: Chat, data: bytes, name: str = "现场.jpg", sent_as: str = "photo") -> Attachment:
    return store_upload(data=data, name=name, sent_as=sent_as, settings=chat.app.settings)


async def send_file(chat: Chat, user: str, attachment: Attachment, text: str = "") -> list[str]:
    event = chat.event(user, text=text, attachments=(attachment,))
    return [r.text for r in await chat.send(event)]


def stored_files(settings: Settings) -> list[str]:
    """What the content-hash store holds (not the minutes written beside it)."""
    folder = settings.files_dir
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and "minutes" not in p.parts)


async def test_done_with_a_photo_is_stored_once_and_the_chair_sees_it_without_location(
    chat: Chat, items: list[FollowUp]
) -> None:
    assert await chat.say("member", "我的待办") == [
        "📌 我的待办（1 项，逾期的在前）：\n"
        "1. DB-0001｜办理中｜建立冷链仓储共享台账｜于刚｜12月20日（周日）"
    ]
    [detail] = await chat.press("member", "DB-0001")
    assert detail == (
        "📌 DB-0001｜办理中\n事项：建立冷链仓储共享台账\n"
        f"来源：{SOURCE}\n责任：于刚\n时限：12月20日（周日）\n办理记录：\n· （暂无）"
    )
    assert [b.label for b in chat.last["member"]] == ["更新进度", "完成", "申请延期", "需要协调"]
    assert await chat.press("member", "完成") == ["请简要说明完成情况（也可以同时发一张照片）："]
    assert await chat.say("member", "台账已建立，6 家单位录入库容") == [
        "请发送一张照片或文件作为凭证（给主席单位看时会去除位置信息）；没有就点“跳过”。"
    ]
    # A file that is not a picture or document: a sentence, nothing stored, still asked.
    wrong = attach(chat, b"MZ\x90\x00 not a photo", name="setup.exe", sent_as="file")
    assert await send_file(chat, "member", wrong) == [
        "这个文件（setup.exe）不是支持的格式。"
        "可以发送照片（JPG、PNG 等）、PDF、Word 或 Excel 文件。（未保存）（发送“取消”退出）"
    ]
    assert stored_files(chat.app.settings) == []
    evidence = attach(chat, photo())
    [preview] = await send_file(chat, "member", evidence)
    assert preview == (
        "已收到照片。\n请确认完成 DB-0001：\n"
        "· 主席单位将收到：“✅ DB-0001（于刚）已完成：建立冷链仓储共享台账\n"
        "说明：台账已建立，6 家单位录入库容（附照片）”（附照片，已去除位置信息）\n"
        "凭证：照片（现场.jpg）"
    )
    told_before = len(chat.received("host"))
    assert await chat.press("member", "确认完成") == ["🎉 DB-0001 已完成，已告知主席单位。"]
    [shown] = chat.transport.sent["host"][told_before:]
    assert shown.text.startswith("✅ DB-0001（于刚）已完成：建立冷链仓储共享台账")
    assert shown.image is not None
    picture = Image.open(io.BytesIO(shown.image.read_bytes()))
    assert GPS_IFD not in picture.getexif() and picture.getexif()[0x010F] == "TestPhone"
    # The original is kept as evidence, with its location, once.
    done = await item(chat, "DB-0001")
    assert (done.status, done.done_on_time(), done.progress) == (
        Status.DONE,
        True,
        "台账已建立，6 家单位录入库容",
    )
    async with chat.app.sessionmaker() as session:
        event = await session.scalar(select(FollowUpEvent).where(FollowUpEvent.action == "done"))
    assert event is not None and event.file_sha256 == evidence.sha256
    assert stored_files(chat.app.settings) == sorted(
        [f"{evidence.sha256}.jpg", f"{evidence.sha256}.shared.jpg"]
    )
    # The same photo sent again is not stored twice; with nothing left to finish it is unused.
    again = attach(chat, photo(), name="again.jpg")
    assert again.sha256 == evidence.sha256
    assert await send_file(chat, "member", again) == [
        "收到照片，但您目前没有待完成的督办事项。发送“我的待办”查看。"
    ]
    assert len(stored_files(chat.app.settings)) == 2
    [history] = await chat.say("member", "/todo DB-0001")
    assert history.splitlines()[0] == "📌 DB-0001｜已完成"
    assert "完成：台账已建立，6 家单位录入库容（附照片）" in history


async def test_a_photo_sent_first_is_offered_for_an_item_then_too_big_is_refused(
    chat: Chat, items: list[FollowUp]
) -> None:
    [offer] = await send_file(chat, "host", attach(chat, photo(colour=(10, 200, 10))))
    assert offer == (
        "收到照片。要作为哪项督办事项的完成凭证？\n"
        f"· DB-0002｜办理中｜完善联盟共享资源清单｜{HOST_UNIT}｜12月18日（周五）\n"
        f"· DB-0004｜办理中｜协调税务部门办理出口退税｜{HOST_UNIT}｜12月24日（周四）"
    )
    assert await chat.press("host", "DB-0002") == ["请简要说明完成情况（也可以同时发一张照片）："]
    # host is the chair's secretary too: nobody else needs telling.
    assert await chat.say("host", "资源清单已补全") == [
        "请确认完成 DB-0002：\n· 不需要另行通知其他人。\n凭证：照片（现场.jpg）"
    ]
    assert await chat.press("host", "取消") == ["已取消当前操作。"]
    assert (await item(chat, "DB-0002")).status == Status.OPEN
    big = chat.app.settings.model_copy(update={"UPLOAD_MAX_MB": 1})
    huge = store_upload(
        data=b"%PDF-1.7" + b"0" * 2_000_000, name="报告.pdf", sent_as="file", settings=big
    )
    assert await send_file(chat, "host", huge) == [
        "这个文件（报告.pdf）太大了，请发送不超过 20 MB 的图片或文件。（未保存）"
    ]


async def test_extension_is_asked_once_and_approved_by_the_alliance_admin(
    chat: Chat, items: list[FollowUp]
) -> None:
    await chat.say("host", "/todo DB-0002")
    assert await chat.press("host", "申请延期") == [
        "延期到哪一天？（例如：12月31日、下周五）当前时限：12月18日（周五）"
    ]
    assert await chat.say("host", "12月15日") == [
        "新的时限要晚于当前时限（12月18日（周五））和今天，请重新输入。（发送“取消”退出）"
    ]
    assert await chat.say("host", "12月31日") == ["请说明延期理由："]
    [preview] = await chat.say("host", "三家单位的资源还在补录")
    assert preview == (
        "请确认申请延期 DB-0002：\n"
        f"· 联盟管理员将收到：“⏳ {HOST_UNIT} 申请 DB-0002 延期："
        "12月18日（周五） → 12月31日（周四）\n"
        "事项：完善联盟共享资源清单\n理由：三家单位的资源还在补录”"
    )
    assert await chat.press("host", "确认申请延期") == [
        "已提交 DB-0002 的延期申请（至 12月31日（周四）），等待联盟管理员审批。"
    ]
    await chat.say("host", "/todo DB-0002")
    assert await chat.press("host", "申请延期") == ["DB-0002 已有一份延期申请在等待审批。"]
    assert chat.received("alliance_admin")[-1].startswith(f"⏳ {HOST_UNIT} 申请 DB-0002 延期")
    [listing] = await chat.say("alliance_admin", "我的待办")
    assert (
        "⏳ 待审批的延期申请 1 项：\n· DB-0002 申请延至 12月31日（周四）：三家单位的资源还在补录"
        in listing
    )
    assert await chat.press_received("alliance_admin", "同意延期") == [
        "已同意 DB-0002 延期至 12月31日（周四），并告知责任单位。"
    ]
    assert chat.received("host")[-1] == "✅ DB-0002 的延期申请已同意，新的时限：12月31日（周四）。"
    extended = await item(chat, "DB-0002")
    assert (extended.status, extended.due_on, extended.first_due_on) == (
        Status.EXTENDED,
        date(2026, 12, 31),
        date(2026, 12, 18),
    )
    # A second tap on the same request's button changes nothing.
    assert await chat.press_received("alliance_admin", "同意延期") == [
        "这份延期申请已经处理过了。"
    ]
    [detail] = await chat.say("host", "/todo DB-0002")
    assert "时限：12月31日（周四）（原定 12月18日（周五））" in detail


async def _sweep(settings: Settings, clock: FrozenClock) -> RecordingTransport:
    """The follow-up sweep in a new process (fresh app over the same database)."""
    transport = RecordingTransport()
    app = build_app(settings, {"console": transport}, clock)
    try:
        await run_all(
            [s for s in SWEEPS if s.id == "followups"], app.sessionmaker, clock, settings
        )
        await app.sender.drain()
    finally:
        await app.close()
    return transport


def about(transport: RecordingTransport, user: str, number: str) -> list[str]:
    return [t for t in transport.texts(user) if number in t]


async def test_reminders_then_escalation_once_to_owner_and_chair_then_the_county(
    chat: Chat, clock: FrozenClock, demo_settings: Settings, items: list[FollowUp]
) -> None:
    # DB-0003 was decided on 8 December, due on the 10th: no "three days before" reminder.
    clock.set(local_datetime(2026, 12, 10, 9, 5))
    assert about(await _sweep(demo_settings, clock), "alliance_admin", "DB-0003") == [
        "⏰ 今天到期：DB-0003\n协调冷链车辆进城通行证\n完成后请在“我的待办”中点“完成”。"
    ]
    clock.advance(minutes=15)
    assert about(await _sweep(demo_settings, clock), "alliance_admin", "DB-0003") == []
    clock.set(local_datetime(2026, 12, 11, 9, 5))  # overdue
    sent = await _sweep(demo_settings, clock)
    assert about(sent, "alliance_admin", "DB-0003") == [
        "🚨 DB-0003 已逾期（时限 12月10日（周四）），已报主席单位督办。请尽快完成，或申请延期。\n"
        "协调冷链车辆进城通行证"
    ]
    assert about(sent, "host", "DB-0003") == [
        f"🚨 督办：DB-0003（{ADMIN_UNIT}）已逾期，时限 12月10日（周四）。\n协调冷链车辆进城通行证"
    ]
    assert about(sent, "admin", "DB-0003") == []
    for hours in (1, 24, 48):  # restarts: never again
        clock.set(local_datetime(2026, 12, 11, 9, 5))
        clock.advance(hours=hours)
        again = await _sweep(demo_settings, clock)
        assert about(again, "host", "DB-0003") == about(again, "alliance_admin", "DB-0003") == []
    clock.set(local_datetime(2026, 12, 16, 9, 5))  # three working days after 11 December
    sent = await _sweep(demo_settings, clock)
    assert about(sent, "admin", "DB-0003") == [
        f"🚨 县级督办：DB-0003（食品产业链党建红色联盟 · {ADMIN_UNIT}）逾期 6 天仍未完成，"
        "时限 12月10日（周四）。\n协调冷链车辆进城通行证"
    ]
    assert about(sent, "host", "DB-0003") == []
    [detail] = await chat.say("alliance_admin", "/todo DB-0003")
    assert detail.splitlines()[0] == "📌 DB-0003｜已逾期 6 天"
    assert "· 12月11日 09:05 系统 督办：逾期，已报主席单位" in detail
    assert "· 12月16日 09:05 系统 督办：逾期，已报县级" in detail
    async with chat.app.sessionmaker() as session:
        stages = (
            await session.execute(
                select(FollowUpAlert.stage)
                .where(FollowUpAlert.item_id == 3)
                .order_by(FollowUpAlert.id)
            )
        ).scalars()
        assert list(stages) == ["due", "overdue", "county"]
    clock.set(local_datetime(2026, 12, 17, 9, 5))  # three days before DB-0001 is due
    assert about(await _sweep(demo_settings, clock), "member", "DB-0001") == [
        "⏰ 提醒：DB-0001 将于 12月20日（周日） 到期。\n建立冷链仓储共享台账"
    ]


async def test_missed_reminders_collapse_into_one_catch_up_message(
    chat: Chat, clock: FrozenClock, demo_settings: Settings, items: list[FollowUp]
) -> None:
    clock.set(local_datetime(2026, 12, 21, 10, 0))  # the sweep did not run for two weeks
    sent = await _sweep(demo_settings, clock)
    [host] = sent.texts("host")
    assert host == (
        "⏰ 督办事项提醒（补发）：有 4 项需要您关注：\n"
        f"1. DB-0003 已逾期（{ADMIN_UNIT}，时限 12月10日（周四））：协调冷链车辆进城通行证\n"
        f"2. DB-0002 已逾期（{HOST_UNIT}，时限 12月18日（周五））：完善联盟共享资源清单\n"
        "3. DB-0001 已逾期（于刚，时限 12月20日（周日））：建立冷链仓储共享台账\n"
        "4. DB-0004 将于 12月24日（周四） 到期：协调税务部门办理出口退税\n"
        "发送“我的待办”查看。"
    )
    [member] = sent.texts("member")
    assert member.startswith("⏰ 督办事项提醒（补发）：有 1 项需要您关注：\n1. DB-0001 已逾期")
    [county] = sent.texts("admin")
    assert "DB-0003 逾期 11 天（食品产业链党建红色联盟" in county
    assert (await _sweep(demo_settings, clock)).sent == {}
    clock.advance(days=1)
    assert (await _sweep(demo_settings, clock)).sent == {}


async def test_needs_coordination_files_a_ticket_linked_both_ways(
    chat: Chat, items: list[FollowUp]
) -> None:
    await chat.say("host", "/todo DB-0004")
    [preview] = await chat.press("host", "需要协调")
    text = (
        f"【督办事项 DB-0004】协调税务部门办理出口退税（{SOURCE}，时限 12月24日（周四））"
        "需要部门协调。"
    )
    assert preview.startswith(f"将为 DB-0004 发起吹哨工单：\n“{text}”\n请确认需要协调 DB-0004：")
    assert [b.label for b in chat.last["host"]] == ["确认需要协调", "取消"]
    assert await chat.press("host", "确认需要协调") == [
        "已为 DB-0004 发起吹哨工单 WT-2026-0005（已转县税务局），办理进展会告诉您。"
    ]
    assert chat.received("officer_tax")[-1].startswith("📌 新工单 WT-2026-0005（税务发票）\n")
    async with chat.app.sessionmaker() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == "WT-2026-0005"))
        assert ticket is not None and ticket.text == text
        linked = await item_for_ticket(session, ticket.id)
    assert linked is not None and linked.number == "DB-0004" and linked.ticket_id == ticket.id
    [detail] = await chat.say("host", "/todo DB-0004")
    assert "协调工单：WT-2026-0005（已派单，待部门签收）" in detail
    assert "需要协调：WT-2026-0005" in detail
    assert "需要协调" not in [b.label for b in chat.last["host"]]
    assert (await chat.press("host", "查看工单"))[0].startswith(
        "📋 WT-2026-0005｜已派单，待部门签收"
    )
    [mine] = await chat.say("host", "我的吹哨")
    assert "WT-2026-0005" in mine


async def test_others_see_an_item_but_may_not_act_on_it(chat: Chat, items: list[FollowUp]) -> None:
    [detail] = await chat.say("member", "/todo DB-0002")
    assert detail.startswith("📌 DB-0002｜办理中")
    assert chat.last["member"] == ()
    assert await chat.say("mobile", "/todo DB-0002") == ["没有找到这个督办事项，或您无权查看。"]
    assert await chat.say("officer_tax", "我的待办") == [
        "您目前没有督办事项。会议决议交办给您或本单位后，会出现在这里。"
    ]
    async with chat.app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(FollowUpEvent)) == 0


async def test_a_photo_with_a_caption_is_the_evidence_whatever_the_caption_says(
    chat: Chat, items: list[FollowUp]
) -> None:
    await chat.say("member", "我的待办")
    await chat.press("member", "DB-0001")
    await chat.press("member", "完成")
    await chat.say("member", "融资需求清单整理好了")
    # 清单照片 alone reads as a resource search; with a picture it only describes the picture.
    [preview] = await send_file(chat, "member", attach(chat, photo()), text="清单照片")
    assert preview.startswith("已收到照片。\n请确认完成 DB-0001：")

"""党建联席会议: convene, RSVP, agenda proposals, check-in, minutes item by item, close, the
.docx, and the next meeting's 上次决议落实情况.

On the demo county: `host` (吴桂涵, 砖埠和信食品有限公司) is the secretary of the chair unit of
食品产业链; `member` (于刚) and `alliance_admin` (高雨, 蒲汪德润冷链物流有限公司) are in it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from docx import Document
from sqlalchemy import func, select

from bot.core.clock import FrozenClock, local_datetime
from models.checkin import CheckIn
from models.followup import FollowUp, Status
from models.meeting import AgendaItem, AgendaState, Meeting, MeetingDecision, MeetingInvitee
from tests.fakes import Chat

HOST, MEMBER, ADMIN = "吴桂涵", "于刚", "高雨"
HOST_UNIT, ADMIN_UNIT = "砖埠和信食品有限公司", "蒲汪德润冷链物流有限公司"
TITLE = "2026年第四季度党建联席会议"


async def convene(chat: Chat, start: str = "12月8日下午2点半", title: str = "") -> list[str]:
    """host convenes a 联席会议 with the defaults; returns the replies to 确认召开."""
    assert await chat.say("host", "召开会议") == ["召开哪种会议？"]
    assert await chat.press("host", "党建联席会议") == [
        f"会议名称？可以直接用“{TITLE}”，或输入其他名称："
    ]
    if title:
        await chat.say("host", title)
    else:
        await chat.press("host", "用这个名称")
    await chat.say("host", start)
    await chat.say("host", "16:30")
    await chat.say("host", "联盟党群服务中心会议室")
    await chat.press("host", "默认")
    await chat.press("host", "不邀请")
    await chat.press("host", "不邀请")
    return await chat.press("host", "确认召开")


async def one(chat: Chat, model: type, **where: object) -> object:
    async with chat.app.sessionmaker() as session:
        stmt = select(model)
        for column, value in where.items():
            stmt = stmt.where(getattr(model, column) == value)
        return (await session.execute(stmt.order_by(model.id.desc()))).scalars().first()


async def rows(chat: Chat, model: type) -> list[object]:
    async with chat.app.sessionmaker() as session:
        return list((await session.execute(select(model).order_by(model.id))).scalars())


@dataclass(frozen=True)
class Decided:
    text: str
    owner: str  # typed as the recorder would: a person's name or part of a unit's name
    due: str
    helps: bool = False


async def record(chat: Chat, clock: FrozenClock, decisions: list[Decided]) -> list[str]:
    """At the meeting: host checks in, records every agenda item, the decisions on the last
    one, and closes; returns the replies to 确认关闭."""
    clock.set(local_datetime(2026, 12, 8, 14, 20))
    [code] = re.findall(r"签到码：(\d{6})", (await chat.say("host", "签到码"))[0])
    await chat.say("host", f"签到 {code}")
    replies = await chat.say("host", "记录会议")
    while "形成决议了吗" not in replies[-1] or chat.last["host"][-1].label == "下一项":
        if "讨论情况" in replies[-1]:
            replies = await chat.say("host", "与会单位交流了做法，形成共识。")
        elif chat.last["host"][-1].label == "下一项":
            replies = await chat.press("host", "下一项")
    for i, d in enumerate(decisions):
        clock.advance(minutes=1)  # a person types no more than MESSAGES_PER_MINUTE a minute
        steps = [
            await chat.press("host", "添加决议" if i == 0 else "再添加决议"),
            await chat.say("host", d.text),
            await chat.say("host", d.owner),
            await chat.say("host", d.due),
        ]
        assert steps[-1] == ["需要部门协助吗？"], steps
        await chat.press("host", "需要部门协助" if d.helps else "不需要")
    clock.set(local_datetime(2026, 12, 8, 14, 45))  # in the meeting: closing is allowed
    await chat.press("host", "完成记录")
    return await chat.press("host", "确认关闭")


async def test_a_meeting_from_convening_to_closed_minutes(chat: Chat, clock: FrozenClock) -> None:
    replies = await convene(chat)
    assert replies == [
        f"✅ 已召开《{TITLE}》，已通知 6 位参会人员。议题征集至 12月01日（周二） 14:30。"
    ]
    meeting = await one(chat, Meeting)
    assert isinstance(meeting, Meeting) and meeting.kind == "joint"
    invited = await rows(chat, MeetingInvitee)
    assert len(invited) == 7 and {i.role for i in invited} == {"member"}  # type: ignore[attr-defined]
    notice = chat.received("alliance_admin")[-1]
    assert notice.startswith(
        f"📣 会议通知：《{TITLE}》（党建联席会议）\n时间：12月08日（周二） 14:30-16:30"
    )
    assert chat.received("member") == []  # not a secretary or liaison: not invited

    # 请假 with a reason; the convener is told.
    assert await chat.press_received("alliance_admin", "请假") == ["请简要说明请假原因："]
    assert await chat.say("alliance_admin", "  ") == ["请写明请假原因。（发送“取消”退出）"]
    assert await chat.say("alliance_admin", "在外地招商") == [
        f"已为您请假《{TITLE}》，原因已告知召集人。"
    ]
    assert chat.received("host")[-1] == f"📝 {ADMIN}（{ADMIN_UNIT}）请假《{TITLE}》：在外地招商"

    # Topics from a member: one accepted, one parked.
    assert await chat.say("member", "提议题") == [
        f"请输入议题（一句话说清要议什么），《{TITLE}》议题征集至 12月01日（周二） 14:30："
    ]
    assert await chat.say("member", "冷链仓储共享方案") == [
        f"将向《{TITLE}》提交议题：\n“冷链仓储共享方案”\n召集人（{HOST}）会收到，并决定采纳或暂缓。"
    ]
    assert await chat.press("member", "提交") == ["✅ 议题已提交，召集人处理后会告诉您。"]
    assert chat.received("host")[-1].startswith(
        f"🗂️ 新议题（《{TITLE}》）：冷链仓储共享方案\n提议：{MEMBER}"
    )
    [accepted, _] = await chat.press_received("host", "采纳")
    assert accepted == f"已将“冷链仓储共享方案”列入《{TITLE}》议程。"
    assert chat.received("member")[-1] == f"✅ 您提的议题“冷链仓储共享方案”已列入《{TITLE}》议程。"
    [asked] = await chat.say("member", "提议题：联盟统一采购包装材料")  # with a colon
    assert "“联盟统一采购包装材料”" in asked
    await chat.press("member", "提交")
    [parked, detail] = await chat.press_received("host", "暂缓")
    assert parked == "已暂缓“联盟统一采购包装材料”，下次会议会再次列入待处理议题。"
    assert (
        "议程：\n1. 冷链仓储共享方案\n" in detail
        and "暂缓议题：\n· 联盟统一采购包装材料" in detail
    )
    assert "请假：高雨（在外地招商）" in detail

    # After the deadline no more topics.
    clock.set(local_datetime(2026, 12, 1, 15, 0))
    assert await chat.say("member", "提议题 另一个议题") == [
        f"《{TITLE}》的议题征集已于 12月01日（周二） 14:30 截止。"
    ]
    # Minutes cannot be written before the meeting, nor by a member.
    assert await chat.say("host", "记录会议") == [
        "现在没有您可以记录的会议（会议开始后到结束后 48 小时内可以记录）。"
    ]

    # At the meeting: check in, walk the agenda, two decisions, close.
    clock.set(local_datetime(2026, 12, 8, 14, 20))
    [code] = re.findall(r"签到码：(\d{6})", (await chat.say("host", "签到码"))[0])
    assert (await chat.say("host", f"签到 {code}"))[0].startswith(f"✅ 签到成功：《{TITLE}》")
    assert await chat.say("member", "记录会议") == [
        "抱歉，“记录会议”只对支部书记开放。您可以用“会议”：近期与以往会议、议程、出席与决议。"
    ]
    [intro, first] = await chat.say("host", "记录会议")
    assert intro.startswith(
        f"📝 记录《{TITLE}》：共 1 项议程，逐项记录。\n签到出席 1/7 人；未签到："
    )
    assert f"{ADMIN}（请假：在外地招商）" in intro
    assert first == "第 1/1 项：冷链仓储共享方案\n请输入这一项的讨论情况（要点）："
    assert await chat.say("host", "各单位介绍了库容和空闲时段，同意先在三家试点。") == [
        "已记录。这一项形成决议了吗？"
    ]
    assert await chat.press("host", "添加决议") == ["请输入决议内容（要做什么）："]
    await chat.say("host", "建立冷链仓储共享台账")
    assert await chat.say("host", "没有这家") == [
        "没有找到“没有这家”。请输入本联盟成员单位名称中的几个字，或责任人姓名。（发送“取消”退出）"
    ]
    assert await chat.say("host", MEMBER) == ["完成时限？（例如：12月31日、下周五）"]
    assert await chat.say("host", "12月1日") == [
        "时限不能早于今天，请重新输入。（发送“取消”退出）"
    ]
    assert await chat.say("host", "12月20日") == ["需要部门协助吗？"]
    assert await chat.press("host", "不需要") == [
        f"✅ 已记录决议：1. 建立冷链仓储共享台账（责任：{MEMBER}，时限：12月20日（周日））"
    ]
    await chat.press("host", "再添加决议")
    await chat.say("host", "协调冷链车辆进城通行证")
    await chat.say("host", "和信食品")
    await chat.say("host", "下周五")
    assert await chat.press("host", "需要部门协助") == [
        f"✅ 已记录决议：2. 协调冷链车辆进城通行证（责任：{HOST_UNIT}，"
        "时限：12月18日（周五），需部门协助）"
    ]
    told_before = len(chat.received("member"))
    [preview] = await chat.press("host", "完成记录")
    assert preview == (
        "全部 1 项议程已记录，共 2 项决议。\n"
        f"关闭《{TITLE}》吗？关闭后会议记录锁定，不能再修改：\n"
        "· 每项决议的责任单位将收到交办通知（共 2 项），列入督办事项；\n"
        "· 参会人员 7 人将收到会议纪要和会议记录（.docx）。"
    )
    assert len(chat.received("member")) == told_before  # nothing is sent before 确认关闭
    assert await chat.say("host", "确认关闭") == [
        f"《{TITLE}》开始后才能关闭。记录已保存，会后点“关闭会议”即可。"
    ]
    clock.set(local_datetime(2026, 12, 8, 16, 40))
    await chat.say("host", "会议")
    await chat.press("host", f"1. {TITLE}"[:20])
    assert (await chat.press("host", "关闭会议"))[0] == preview.split("\n", 1)[1]
    [closed, summary] = await chat.replies("host", "确认关闭")
    # Of the six invitees besides the chair the demo binds one: the rest are out of reach.
    assert closed.text == (
        f"✅ 《{TITLE}》已关闭，已交办 2 项决议，会议纪要已发给 1 位参会人员。\n"
        "5 位还没有绑定红盟助手，收不到纪要，请线下转交。"
    )
    assert summary.file is not None and summary.file.suffix == ".docx"
    assert summary.text.startswith(f"📄 《{TITLE}》会议纪要\n")
    assert "1. 建立冷链仓储共享台账（责任：于刚，时限：12月20日（周日））" in summary.text

    # Owners are told their items; every other invitee gets the summary with the .docx.
    items = await rows(chat, FollowUp)
    assert [(i.title, i.status, i.due_on) for i in items] == [  # type: ignore[attr-defined]
        ("建立冷链仓储共享台账", Status.OPEN, date(2026, 12, 20)),
        ("协调冷链车辆进城通行证", Status.OPEN, date(2026, 12, 18)),
    ]
    first_item, second_item = items
    assert chat.received("member")[-1] == (
        f"📋 会议决议交办 {first_item.number}\n《{TITLE}》决议：建立冷链仓储共享台账\n"  # type: ignore[attr-defined]
        "责任：于刚 · 时限：12月20日（周日）\n完成后发送“我的待办”，点“完成”并附上照片。"
    )
    assert chat.received("host")[-1].startswith(f"📋 会议决议交办 {second_item.number}\n")  # type: ignore[attr-defined]
    assert "（需部门协助）" in chat.received("host")[-1]
    delivered = chat.transport.sent["alliance_admin"][-1]
    assert delivered.text == summary.text and delivered.file == summary.file
    decisions = await rows(chat, MeetingDecision)
    assert [d.followup_id for d in decisions] == [i.id for i in items]  # type: ignore[attr-defined]

    # The minutes are locked.
    assert await chat.say("host", "记录会议") == [
        "现在没有您可以记录的会议（会议开始后到结束后 48 小时内可以记录）。"
    ]
    [listing] = await chat.say("host", "会议")
    assert (
        f"1. 《{TITLE}》12月08日（周二） 14:30｜出席 1/7｜决议 2 项（完成 0，逾期 0）" in listing
    )


async def test_the_minutes_document_holds_the_record(chat: Chat, clock: FrozenClock) -> None:
    await convene(chat)
    await chat.press_received("alliance_admin", "请假")
    await chat.say("alliance_admin", "在外地招商")
    await chat.say("member", "提议题 冷链仓储共享方案")
    await chat.press("member", "提交")
    await chat.press_received("host", "采纳")
    [_, summary] = await record(
        chat,
        clock,
        [
            Decided("建立冷链仓储共享台账", MEMBER, "12月20日"),
            Decided("协调通行证", "和信食品", "12月18日", True),
        ],
    )
    assert summary.startswith("📄")
    [doc] = [r for r in chat.transport.sent["alliance_admin"] if r.file is not None]
    assert doc.file is not None
    document = Document(str(doc.file))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "会 议 记 录" in text and "食品产业链党建红色联盟 · 党建联席会议" in text
    [table] = document.tables
    form = {row.cells[0].text: row.cells[1].text for row in table.rows}
    pairs = {row.cells[2].text: row.cells[3].text for row in table.rows}
    assert form["会议名称"] == TITLE
    assert form["时间"] == "2026年12月8日（周二）14:30—16:30"
    assert form["地点"] == "联盟党群服务中心会议室"
    assert form["主持人"] == HOST and pairs["记录人"] == HOST
    assert form["应到人数"] == "7 人" and pairs["实到人数"] == "1 人"
    assert form["出席人员"] == f"{HOST}（{HOST_UNIT}）"
    assert form["列席人员"] == "无"
    assert f"{ADMIN}（请假：在外地招商）" in form["缺席人员及原因"]
    assert "（未请假）" in form["缺席人员及原因"]
    assert form["议题"] == "1. 冷链仓储共享方案"
    content = form["会议内容"].splitlines()
    assert content[:3] == [
        "一、冷链仓储共享方案",
        "讨论情况：与会单位交流了做法，形成共识。",
        "决议：",
    ]
    assert content[3] == f"1. 建立冷链仓储共享台账（责任：{MEMBER}；完成时限：2026年12月20日）"
    assert (
        content[4] == f"2. 协调通行证（责任：{HOST_UNIT}；完成时限：2026年12月18日；需部门协助）"
    )
    assert "本记录于 2026年12月08日 14:45 关闭锁定，由红盟助手生成。" in text
    # Asked again from /meetings, the same locked file.
    await chat.say("alliance_admin", "会议")
    await chat.press("alliance_admin", f"1. {TITLE}"[:20])
    [again] = await chat.replies("alliance_admin", "下载会议记录")
    assert again.file == doc.file


async def test_the_next_meeting_starts_with_how_the_last_decisions_went(
    chat: Chat, clock: FrozenClock
) -> None:
    await convene(chat)
    await chat.say("member", "提议题 冷链仓储共享方案")
    await chat.press("member", "提交")
    await chat.press_received("host", "采纳")
    [asked] = await chat.say("member", "提议题：联盟统一采购包装材料")  # with a colon
    assert "“联盟统一采购包装材料”" in asked
    await chat.press("member", "提交")
    await chat.press_received("host", "暂缓")
    await record(
        chat,
        clock,
        [
            Decided("建立冷链仓储共享台账", MEMBER, "12月20日"),
            Decided("协调通行证", "和信食品", "12月18日"),
        ],
    )
    clock.set(local_datetime(2026, 12, 21, 9, 0))  # the first is overdue now
    assert (await convene(chat, "12月29日下午2点半", "年终党建联席会议"))[0].startswith(
        "✅ 已召开《年终党建联席会议》"
    )
    await chat.say("host", "会议")
    [detail] = await chat.press("host", "1. 年终党建联席会议")
    assert (
        "议程：\n1. 上次决议落实情况\n"
        f"   · 建立冷链仓储共享台账（{MEMBER}，时限 12月20日（周日））— 已逾期\n"
        f"   · 协调通行证（{HOST_UNIT}，时限 12月18日（周五））— 已逾期\n"
    ) in detail
    # The topic parked last time is proposed again.
    assert "待处理议题：\n· 联盟统一采购包装材料（依汶佳美食品有限公司）" in detail
    items = await rows(chat, AgendaItem)
    assert [i.state for i in items[-2:]] == [AgendaState.REVIEW, AgendaState.PROPOSED]  # type: ignore[attr-defined]


async def test_only_the_chair_secretary_or_an_admin_convenes(chat: Chat) -> None:
    assert await chat.say("member", "召开会议") == [
        "抱歉，“召开会议”只对支部书记开放。您可以用“会议”：近期与以往会议、议程、出席与决议。"
    ]
    assert await chat.say("alliance_admin", "召开会议") == ["召开哪种会议？"]
    async with chat.app.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(CheckIn))
    assert count == 0


async def test_the_meeting_sweep_reminds_reports_and_closes_what_was_left_open(
    chat: Chat, clock: FrozenClock
) -> None:
    from bot.scheduler import run_all
    from handlers import SWEEPS

    sweeps = [s for s in SWEEPS if s.id == "meetings"]

    async def sweep() -> None:
        await run_all(sweeps, chat.app.sessionmaker, clock, chat.app.settings)
        await chat.app.sender.drain()

    await convene(chat)
    await chat.say("member", "提议题 冷链仓储共享方案")
    await chat.press("member", "提交")
    clock.set(local_datetime(2026, 12, 1, 14, 45))  # the deadline passed, a topic waits
    await sweep()
    await sweep()
    waiting = [t for t in chat.received("host") if "议题征集已截止" in t]
    assert waiting == [f"🗂️ 《{TITLE}》议题征集已截止，还有 1 项议题待处理（采纳或暂缓）。"]
    await chat.press_received("host", "处理议题")
    await chat.press("host", "采纳 1")
    clock.set(local_datetime(2026, 12, 6, 14, 31))  # two days before: the county is told
    await sweep()
    await sweep()
    assert [t for t in chat.received("admin") if "会议报备" in t] == [
        f"📋 会议报备：食品产业链党建红色联盟将于 12月08日（周二） 14:30-16:30 召开《{TITLE}》"
        "（党建联席会议），地点：联盟党群服务中心会议室。\n议程：1. 冷链仓储共享方案"
    ]
    clock.set(local_datetime(2026, 12, 8, 15, 0))
    await chat.say("host", "记录会议")
    await chat.say("host", "议定先试点。")
    await chat.press("host", "添加决议")
    await chat.say("host", "建立冷链仓储共享台账")
    await chat.say("host", MEMBER)
    await chat.say("host", "12月20日")
    await chat.press("host", "不需要")
    await chat.press("host", "完成记录")
    assert await chat.press("host", "稍后再关") == [
        "好的，记录已保存。会议结束 48 小时后会自动关闭；也可在会议详情中点“关闭会议”。"
    ]
    clock.set(local_datetime(2026, 12, 10, 16, 29))
    await sweep()
    assert (await one(chat, Meeting)).closed_at is None  # type: ignore[union-attr]
    clock.set(local_datetime(2026, 12, 10, 16, 31))
    await sweep()
    await sweep()
    meeting = await one(chat, Meeting)
    assert meeting.closed_at == clock.now()  # type: ignore[union-attr]
    assert [t for t in chat.received("host") if "自动关闭" in t] == [
        f"《{TITLE}》结束已满 48 小时，已自动关闭：会议记录锁定，决议已交办，纪要已发出。"
    ]
    assert chat.received("member")[-1].startswith("📋 会议决议交办 DB-0001\n")
    assert sum(t.startswith(f"📄 《{TITLE}》会议纪要") for t in chat.received("host")) == 1
    assert await chat.say("host", "记录会议") == [
        "现在没有您可以记录的会议（会议开始后到结束后 48 小时内可以记录）。"
    ]


async def test_a_meetings_reminders_go_to_its_invitees_not_on_leave(
    chat: Chat, clock: FrozenClock
) -> None:
    from bot.scheduler import run_all
    from handlers import SWEEPS
    from models.activity import REMINDER_KIND, expected_members
    from models.outbox import OutboxMessage

    await convene(chat)
    await chat.press_received("alliance_admin", "请假")
    await chat.say("alliance_admin", "在外地招商")
    meeting = await one(chat, Meeting)
    assert isinstance(meeting, Meeting)
    invited = await rows(chat, MeetingInvitee)
    clock.set(local_datetime(2026, 12, 7, 15, 0))  # the 24 h reminders
    sweeps = [s for s in SWEEPS if s.id == "activity_reminders"]
    await run_all(sweeps, chat.app.sessionmaker, clock, chat.app.settings)
    async with chat.app.sessionmaker() as session:
        reminded = set(
            await session.scalars(
                select(OutboxMessage.member_id).where(
                    OutboxMessage.kind == REMINDER_KIND,
                    OutboxMessage.ref_id == meeting.activity_id,
                )
            )
        )
        alliance = {m.id for m in await expected_members(session, meeting.activity.alliance_id)}
    on_leave = {i.member_id for i in invited if i.answer == "leave"}  # type: ignore[attr-defined]
    assert on_leave and reminded == {i.member_id for i in invited} - on_leave  # type: ignore[attr-defined]
    assert alliance - reminded - on_leave  # party members not invited hear nothing


async def test_a_department_officer_sitting_in_checks_in_to_the_meeting(
    chat: Chat, clock: FrozenClock
) -> None:
    assert await chat.say("host", "召开会议") == ["召开哪种会议？"]
    await chat.press("host", "党建联席会议")
    await chat.press("host", "用这个名称")
    await chat.say("host", "12月8日下午2点半")
    await chat.say("host", "16:30")
    await chat.say("host", "联盟党群服务中心会议室")
    await chat.press("host", "默认")
    await chat.say("host", "税务")
    await chat.press("host", "不邀请")
    await chat.press("host", "确认召开")
    clock.set(local_datetime(2026, 12, 8, 14, 35))
    [shown] = await chat.say("host", "签到码")
    code = re.search(r"(\d{6})", shown)
    assert code, shown
    [done] = await chat.say("officer_tax", f"签到 {code.group(1)}")
    assert done.startswith(f"✅ 签到成功：《{TITLE}》"), done


async def test_a_meeting_called_off_as_an_activity_tells_its_invitees_and_is_gone(
    chat: Chat,
) -> None:
    await convene(chat)
    meeting = await one(chat, Meeting)
    assert isinstance(meeting, Meeting)
    await chat.say("host", f"/activity {meeting.activity_id}")
    await chat.press("host", "取消活动")
    [preview] = await chat.say("host", "与年终总结会冲突，另行安排")
    assert "确认后将告知：已收到会议邀请或提醒的 5 人、联盟管理员。" in preview  # invited
    [cancelled] = await chat.press("host", "确认取消活动")
    assert cancelled.startswith(f"已取消活动《{TITLE}》。已告知 ")
    note = f"❌ 活动取消：《{TITLE}》"
    assert chat.received("alliance_admin")[-1].startswith(note)
    from models.activity import CHANGE_KIND
    from models.outbox import OutboxMessage

    invited = {i.member_id for i in await rows(chat, MeetingInvitee)}  # type: ignore[attr-defined]
    async with chat.app.sessionmaker() as session:
        told = set(
            await session.scalars(
                select(OutboxMessage.member_id).where(
                    OutboxMessage.kind == CHANGE_KIND,
                    OutboxMessage.ref_id == meeting.activity_id,
                )
            )
        )
    assert invited - {meeting.convener_id} <= told  # invited, never reminded yet
    assert TITLE not in "\n".join(await chat.say("member", "会议"))
    assert TITLE not in "\n".join(await chat.say("member", "提议题 冷链仓储共享方案"))


async def test_whoever_records_the_minutes_was_there_checked_in_or_not(
    chat: Chat, clock: FrozenClock
) -> None:
    from models.meeting import attended_ids

    await convene(chat)
    clock.set(local_datetime(2026, 12, 8, 14, 40))
    await chat.say("host", "记录会议")  # no check-in first
    meeting = await one(chat, Meeting)
    assert isinstance(meeting, Meeting) and meeting.recorder_id is not None
    async with chat.app.sessionmaker() as session:
        assert meeting.recorder_id in await attended_ids(session, meeting)

"""How 督办事项 read on a phone: summaries, details, buttons, and each message of the
who-is-told table (`TOLD` in models.followup), one renderer per (event, audience) in RENDER.

`announce` (chat actions) and the sweep send what `messages` returns; nothing here decides
who is told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Reply
from bot.core.clock import fmt_local, local_datetime
from bot.core.times import show_when
from handlers.context import Context
from handlers.uploads import kind_zh, shown
from models.followup import (
    ACTIVE,
    Audience,
    ExtensionRequest,
    FollowUp,
    FollowUpEvent,
    Status,
    allowed,
    today_of,
    told,
)
from models.meeting import MeetingDecision, get_meeting
from models.member import Member
from models.org import Alliance
from models.project import project_of_milestone
from settings import Settings

STATUS_ZH = {
    Status.OPEN: "办理中",
    Status.DONE: "已完成",
    Status.EXTENDED: "已延期",
    Status.CANCELLED: "已撤销",
}
OVERDUE = "已逾期 {days} 天"
DONE_LATE = "已完成（逾期）"
ACTION_ZH = {
    "assign": "交办",
    "progress": "更新进度",
    "done": "完成",
    "extend": "申请延期",
    "approve": "同意延期",
    "decline": "不同意延期",
    "coordinate": "需要协调",
    "cancel": "撤销",
    "escalate": "督办",
}
ESCALATE_ZH = {"overdue": "逾期，已报主席单位", "county": "逾期，已报县级"}
BUTTON_ZH = {
    "done": "完成",
    "progress": "更新进度",
    "extend": "申请延期",
    "coordinate": "需要协调",
    "cancel": "撤销",
}
SYSTEM = "系统"
NO_OWNER = "（未指定）"
WITH_FILE = "（附{kind}）"

ASSIGNED = (
    "📋 会议决议交办 {number}\n{source}：{title}\n责任：{owner} · 时限：{due}{help}\n"
    "完成后发送“我的待办”，点“完成”并附上照片。"
)
NEEDS_HELP = "（需部门协助）"
PROGRESS_FOR_CHAIR = "🔄 {number}（{owner}）有新进度：{note}"
DONE_FOR_CHAIR = "✅ {number}（{owner}）已完成：{title}\n说明：{note}{evidence}"
EXTEND_FOR_ADMIN = "⏳ {owner} 申请 {number} 延期：{old} → {new}\n事项：{title}\n理由：{note}"
COORDINATE_FOR_CHAIR = "🆘 {number}（{owner}）需要协调，已转吹哨工单 {note}：{title}"
APPROVED = "✅ {number} 的延期申请已同意，新的时限：{due}。"
DECLINED = "{number} 的延期申请未获同意，时限仍为 {due}，请抓紧办理。"
CANCELLED = "{number} 已撤销：{note}"
BEFORE = "⏰ 提醒：{number} 将于 {due} 到期。\n{title}"
DUE = "⏰ 今天到期：{number}\n{title}\n完成后请在“我的待办”中点“完成”。"
OVERDUE_FOR_OWNER = (
    "🚨 {number} 已逾期（时限 {due}），已报主席单位督办。请尽快完成，或申请延期。\n{title}"
)
OVERDUE_FOR_CHAIR = "🚨 督办：{number}（{owner}）已逾期，时限 {due}。\n{title}"
COUNTY = (
    "🚨 县级督办：{number}（{alliance} · {owner}）逾期 {days} 天仍未完成，时限 {due}。\n{title}"
)
CATCH_UP = "⏰ 督办事项提醒：有 {count} 项需要您关注："
CATCH_UP_LATE = "⏰ 督办事项提醒（补发）：有 {count} 项需要您关注："
CATCH_UP_LINE = {
    "before": "{number} 将于 {due} 到期：{title}",
    "due": "{number} 今天到期：{title}",
    "overdue": "{number} 已逾期（{owner}，时限 {due}）：{title}",
    "county": "{number} 逾期 {days} 天（{alliance} · {owner}）：{title}",
}
CATCH_UP_TAIL = "发送“我的待办”查看。"


@dataclass(frozen=True)
class Facts:
    """What the messages about one item need besides the item."""

    owner: str
    source: str
    alliance: str
    today: date
    note: str = ""
    request_id: int = 0
    old_due: date | None = None
    new_due: date | None = None
    image: Path | None = None
    file: Path | None = None
    evidence: str = ""


def show_day(day: date, now: datetime) -> str:
    return show_when(local_datetime(day.year, day.month, day.day), now, clock=False)


def owner_name(item: FollowUp) -> str:
    if item.owner_member is not None:
        return item.owner_member.name
    return item.owner_unit.name if item.owner_unit is not None else NO_OWNER


async def source_label(session: AsyncSession, item: FollowUp) -> str:
    """Where the item came from: 《meeting》决议 for a meeting decision."""
    if item.source == "decision" and item.source_id:
        decision = await session.get(MeetingDecision, item.source_id)
        meeting = await get_meeting(session, decision.meeting_id) if decision else None
        if meeting is not None:
            return f"《{meeting.title}》决议"
    if item.source == "milestone" and item.source_id:
        project = await project_of_milestone(session, item.source_id)
        if project is not None:
            return f"《{project.title}》项目里程碑"
    return "督办事项"


async def facts(
    session: AsyncSession,
    item: FollowUp,
    now: datetime,
    settings: Settings,
    *,
    note: str = "",
    event: FollowUpEvent | None = None,
    request: ExtensionRequest | None = None,
) -> Facts:
    alliance = await session.get(Alliance, item.alliance_id) if item.alliance_id else None
    image = file = None
    evidence = ""
    if event is not None and event.file_sha256:
        image, file = shown(settings, event.file_sha256, event.file_suffix, event.file_kind)
        evidence = WITH_FILE.format(kind=kind_zh(event.file_kind))
    return Facts(
        owner=owner_name(item),
        source=await source_label(session, item),
        alliance=alliance.name if alliance else "",
        today=today_of(now),
        note=note or (event.note if event else ""),
        request_id=request.id if request else 0,
        old_due=request.old_due_on if request else None,
        new_due=request.new_due_on if request else None,
        image=image,
        file=file,
        evidence=evidence,
    )


def state_label(item: FollowUp, today: date) -> str:
    days = item.overdue_days(today)
    if days:
        return OVERDUE.format(days=days)
    if item.status == Status.DONE and not item.done_on_time():
        return DONE_LATE
    return STATUS_ZH[item.status]


def summary(item: FollowUp, now: datetime) -> str:
    title = item.title if len(item.title) <= 24 else item.title[:23] + "…"
    return (
        f"{item.number}｜{state_label(item, today_of(now))}｜{title}"
        f"｜{owner_name(item)}｜{show_day(item.due_on, now)}"
    )


def history_line(event: FollowUpEvent) -> str:
    who = event.actor.name if event.actor else SYSTEM
    what = ACTION_ZH.get(event.action, event.action)
    note = ESCALATE_ZH.get(event.note, event.note) if event.action == "escalate" else event.note
    if event.file_sha256:
        note += WITH_FILE.format(kind=kind_zh(event.file_kind))
    return f"· {fmt_local(event.at)} {who} {what}" + (f"：{note}" if note else "")


def detail(
    item: FollowUp, source: str, events: list[FollowUpEvent], now: datetime, ticket: str = ""
) -> str:
    due = show_day(item.due_on, now)
    if item.due_on != item.first_due_on:
        due += f"（原定 {show_day(item.first_due_on, now)}）"
    lines = [
        f"📌 {item.number}｜{state_label(item, today_of(now))}",
        f"事项：{item.title}",
        f"来源：{source}",
        f"责任：{owner_name(item)}" + (NEEDS_HELP if item.needs_departments else ""),
        f"时限：{due}",
    ]
    if ticket:
        lines.append(f"协调工单：{ticket}")
    if item.progress:
        lines.append(f"最新进度：{item.progress}")
    lines.append("办理记录：")
    lines += [history_line(e) for e in events] or ["· （暂无）"]
    return "\n".join(lines)


def action_buttons(viewer: Member, item: FollowUp) -> tuple[Button, ...]:
    names = [a for a in allowed(viewer, item) if a in BUTTON_ZH]
    if item.ticket_id is not None and "coordinate" in names:
        names.remove("coordinate")
    return tuple(Button(BUTTON_ZH[a], "todo.act", do=a, item=item.id) for a in names)


def _values(item: FollowUp, f: Facts, now: datetime) -> dict[str, object]:
    return {
        "number": item.number,
        "title": item.title,
        "owner": f.owner,
        "source": f.source,
        "alliance": f.alliance,
        "due": show_day(item.due_on, now),
        "old": show_day(f.old_due, now) if f.old_due else "",
        "new": show_day(f.new_due or item.due_on, now),
        "note": f.note,
        "days": item.overdue_days(f.today),
        "help": NEEDS_HELP if item.needs_departments else "",
        "evidence": f.evidence,
    }


Render = Callable[[FollowUp, Facts, datetime], Reply]


def _view(item: FollowUp) -> tuple[Button, ...]:
    return (Button("查看", "todo.view", item=item.id),)


def _says(template: str, with_view: bool = True) -> Render:
    def render(item: FollowUp, f: Facts, now: datetime) -> Reply:
        return Reply(template.format(**_values(item, f, now)), _view(item) if with_view else ())

    return render


def _done(item: FollowUp, f: Facts, now: datetime) -> Reply:
    reply = _says(DONE_FOR_CHAIR)(item, f, now)
    return replace(reply, image=f.image, file=f.file)


def _extend(item: FollowUp, f: Facts, now: datetime) -> Reply:
    buttons = (
        Button("同意延期", "todo.decide", request=f.request_id, do="approve"),
        Button("不同意", "todo.decide", request=f.request_id, do="decline"),
        *_view(item),
    )
    return Reply(EXTEND_FOR_ADMIN.format(**_values(item, f, now)), buttons)


A = Audience
RENDER: dict[tuple[str, Audience], Render] = {
    ("assign", A.OWNERS): _says(ASSIGNED),
    ("progress", A.CHAIR): _says(PROGRESS_FOR_CHAIR),
    ("done", A.CHAIR): _done,
    ("extend", A.ADMINS): _extend,
    ("coordinate", A.CHAIR): _says(COORDINATE_FOR_CHAIR),
    ("approve", A.OWNERS): _says(APPROVED),
    ("decline", A.OWNERS): _says(DECLINED),
    ("cancel", A.OWNERS): _says(CANCELLED),
    ("before", A.OWNERS): _says(BEFORE),
    ("due", A.OWNERS): _says(DUE),
    ("overdue", A.OWNERS): _says(OVERDUE_FOR_OWNER),
    ("overdue", A.CHAIR): _says(OVERDUE_FOR_CHAIR),
    ("county", A.COUNTY): _says(COUNTY),
}


async def messages(
    *,
    session: AsyncSession,
    item: FollowUp,
    event: str,
    f: Facts,
    now: datetime,
    actor: Member | None,
) -> list[tuple[int, Audience, Reply]]:
    """(member id, audience, message) for each audience TOLD of `event`; one per member."""
    found: list[tuple[int, Audience, Reply]] = []
    seen: set[int] = set()
    for audience, member_ids in await told(
        session=session, item=item, event=event, now=now, actor=actor
    ):
        reply = RENDER[event, audience](item, f, now)
        for m in member_ids:
            if m not in seen:
                seen.add(m)
                found.append((m, audience, reply))
    return found


AUDIENCE_ZH = {
    A.OWNERS: "责任单位",
    A.CHAIR: "主席单位",
    A.ADMINS: "联盟管理员",
    A.COUNTY: "县级管理员",
}
PREVIEW_HEAD = "请确认{action} {number}："
PREVIEW_LINE = "· {audience}将收到：“{text}”"
PREVIEW_FILE = "（附{kind}，已去除位置信息）"
PREVIEW_NOBODY = "· 不需要另行通知其他人。"
TICKET_TO_COME = "（提交后编号）"


async def preview(
    session: AsyncSession, item: FollowUp, event: str, f: Facts, now: datetime, actor: Member
) -> str:
    """What each audience of `event` would be told, before it happens (the sender, who is
    never told of their own action, is left out; nobody else: said so)."""
    lines = [PREVIEW_HEAD.format(action=ACTION_ZH[event], number=item.number)]
    for audience, member_ids in await told(
        session=session, item=item, event=event, now=now, actor=actor
    ):
        if not member_ids:
            continue
        reply = RENDER[event, audience](item, f, now)
        extra = PREVIEW_FILE.format(kind="照片") if reply.image else ""
        extra = PREVIEW_FILE.format(kind="文件") if reply.file else extra
        lines.append(PREVIEW_LINE.format(audience=AUDIENCE_ZH[audience], text=reply.text) + extra)
    if len(lines) == 1:
        lines.append(PREVIEW_NOBODY)
    return "\n".join(lines)


async def announce(
    ctx: Context, item: FollowUp, event: str, f: Facts, *, dedupe: str | None = None
) -> None:
    """Tell the people concerned about one event, in the event's transaction."""
    for member_id, _, reply in await messages(
        session=ctx.session, item=item, event=event, f=f, now=ctx.now, actor=ctx.member
    ):
        key = f"{dedupe}:{member_id}" if dedupe else None
        await ctx.notify(member_id, reply, kind="followup", ref_id=item.id, dedupe_key=key)


def catch_up(lines: list[tuple[str, FollowUp, Facts]], now: datetime, *, late: bool) -> Reply:
    """Several reminders for one person at once, or ones the sweep missed: one message."""
    text = [(CATCH_UP_LATE if late else CATCH_UP).format(count=len(lines))]
    for i, (stage, item, f) in enumerate(lines, 1):
        text.append(f"{i}. " + CATCH_UP_LINE[stage].format(**_values(item, f, now)))
    text.append(CATCH_UP_TAIL)
    return Reply("\n".join(text), (Button("我的待办", "todo"),))


def is_active(item: FollowUp) -> bool:
    return item.status in ACTIVE

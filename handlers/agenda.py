"""/propose (提议题): a member of the alliance proposes a topic for a coming meeting before its
agenda deadline; the convener is told and answers 采纳 / 暂缓 (handlers.meetings.topic)."""

from __future__ import annotations

from bot.core import Button, Flow, Reply
from bot.core.times import show_when
from handlers.context import Context
from handlers.meetings import ERRORS, NOT_FOUND, visible
from models.meeting import (
    TOPIC_LIMIT,
    AgendaItem,
    Meeting,
    MeetingError,
    get_meeting,
    may_propose,
    propose,
)

NONE_OPEN = "现在没有正在征集议题的会议。发送“会议”查看近期会议。"
ASK_MEETING = "为哪个会议提议题？"
ASK_TOPIC = "请输入议题（一句话说清要议什么），《{title}》议题征集至 {deadline}："
BAD_TOPIC = f"议题请写 {TOPIC_LIMIT[0]} 到 {TOPIC_LIMIT[1]} 个字。"
CONFIRM = "将向《{title}》提交议题：\n“{topic}”\n召集人{convener}会收到，并决定采纳或暂缓。"
USE_BUTTONS = "请点“提交”或“取消”。"
PROPOSED = "✅ 议题已提交，召集人处理后会告诉您。"
FOR_CONVENER = "🗂️ 新议题（《{title}》）：{topic}\n提议：{who}（{unit}）"
TOO_LATE = "《{title}》的议题征集已于 {deadline} 截止。"
FLOW = Flow("propose")


async def _open(ctx: Context) -> list[Meeting]:
    return sorted(
        (
            m
            for m in await visible(ctx)
            if m.phase(ctx.now) == "proposing" and may_propose(ctx.me, m)
        ),
        key=lambda m: m.starts_at,
    )


async def start(ctx: Context, text: str = "", meeting: int = 0) -> list[Reply]:
    """Start proposing: which meeting (when several collect topics), then the topic."""
    if meeting:
        chosen = await get_meeting(ctx.session, meeting)
        if chosen is None or not may_propose(ctx.me, chosen):
            return [Reply(NOT_FOUND)]
        if chosen.phase(ctx.now) != "proposing":
            return [Reply(_too_late(ctx, chosen))]
        return await _ask_topic(ctx, chosen, text)
    meetings = await _open(ctx)
    if not meetings:
        closing = sorted(
            (m for m in await visible(ctx) if m.phase(ctx.now) == "upcoming"),
            key=lambda m: m.starts_at,
        )
        return [Reply(_too_late(ctx, closing[0]) if closing else NONE_OPEN)]
    if len(meetings) == 1:
        return await _ask_topic(ctx, meetings[0], text)
    await ctx.dialog.set_state(got_meeting, topic=text.strip())
    buttons = tuple(Button(m.title[:20], "propose.meeting", meeting=m.id) for m in meetings)
    return [Reply(ASK_MEETING, buttons)]


def _too_late(ctx: Context, meeting: Meeting) -> str:
    if meeting.closed_at is not None or ctx.now >= meeting.starts_at:
        return ERRORS["started"].format(title=meeting.title)
    return TOO_LATE.format(
        title=meeting.title, deadline=show_when(meeting.agenda_deadline, ctx.now)
    )


@FLOW.step("meeting")
async def got_meeting(ctx: Context, meeting: int = 0) -> list[Reply]:
    """Step: the meeting (a button)."""
    chosen = next((m for m in await _open(ctx) if m.id == meeting), None)
    if chosen is None:
        return [Reply(ASK_MEETING)]
    return await _ask_topic(ctx, chosen, str(ctx.dialog.get_data().get("topic", "")))


async def _ask_topic(ctx: Context, meeting: Meeting, typed: str) -> list[Reply]:
    await ctx.dialog.set_state(got_topic, meeting_id=meeting.id)
    if typed.strip():
        return await got_topic(ctx, text=typed)
    deadline = show_when(meeting.agenda_deadline, ctx.now)
    return [Reply(ASK_TOPIC.format(title=meeting.title, deadline=deadline))]


@FLOW.step("topic", free_text=True)
async def got_topic(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the topic; then what the convener will see, to submit."""
    topic = text.strip()
    if not TOPIC_LIMIT[0] <= len(topic) <= TOPIC_LIMIT[1]:
        return [Reply(BAD_TOPIC)]
    found = await get_meeting(ctx.session, int(ctx.dialog.get_data().get("meeting_id", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(NOT_FOUND)]
    await ctx.dialog.set_state(confirm, topic=topic)
    convener = f"（{found.convener.name}）" if found.convener else ""
    buttons = (Button("提交", "propose.confirm", submit=True), Button("取消", "cancel"))
    return [Reply(CONFIRM.format(title=found.title, topic=topic, convener=convener), buttons)]


@FLOW.step("confirm")
async def confirm(ctx: Context, submit: bool = False) -> list[Reply]:
    """Step: submit the topic; the convener gets 采纳 / 暂缓 buttons."""
    if not submit:
        return [Reply(USE_BUTTONS)]
    data = ctx.dialog.get_data()
    found = await get_meeting(ctx.session, int(data.get("meeting_id", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(NOT_FOUND)]
    try:
        item = await propose(
            session=ctx.session,
            meeting=found,
            member=ctx.me,
            title=str(data["topic"]),
            now=ctx.now,
        )
    except MeetingError as error:
        await ctx.dialog.clear()
        if error.reason in ("too_late", "started"):
            return [Reply(_too_late(ctx, found))]
        return [Reply(BAD_TOPIC if error.reason == "bad_title" else NOT_FOUND)]
    await ctx.dialog.clear()
    await _tell_convener(ctx, found, item)
    return [Reply(PROPOSED)]


async def _tell_convener(ctx: Context, meeting: Meeting, item: AgendaItem) -> None:
    if meeting.convener_id is None or meeting.convener_id == ctx.me.id:
        return
    unit = ctx.me.home_unit.name if ctx.me.home_unit else ""
    text = FOR_CONVENER.format(title=meeting.title, topic=item.title, who=ctx.me.name, unit=unit)
    buttons = (
        Button("采纳", "meetings.topic", item=item.id, do="accept"),
        Button("暂缓", "meetings.topic", item=item.id, do="park"),
        Button("查看会议", "meetings.view", meeting=meeting.id),
    )
    await ctx.notify(meeting.convener_id, Reply(text, buttons))

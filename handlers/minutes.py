"""/minutes (记录会议): during the meeting or within 48 h after, the recorder walks the agenda
item by item — notes, then decisions, each with an owner, a due date and whether departments
must help — and closes: the minutes lock, each decision becomes a 督办事项 its owner is told of,
and every invitee gets the summary with the minutes (.docx). The meeting sweep closes what
was left open when the 48 h pass.

Buttons: minutes.close (meeting); the walk's steps take their own buttons.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Flow, Reply
from bot.core.clock import to_local
from bot.core.times import parse_when
from handlers.context import Context
from handlers.followup_text import Facts, messages, owner_name, source_label
from handlers.meeting_text import (
    absentee,
    closing_summary,
    decision_line,
    review_lines,
)
from handlers.meetings import NOT_FOUND, visible
from handlers.minutes_doc import minutes_file
from models.followup import FollowUp, today_of
from models.meeting import (
    AgendaItem,
    AgendaState,
    InviteeRole,
    Meeting,
    MeetingError,
    attended_ids,
    decisions,
    get_meeting,
    invitees,
    review_items,
    running_order,
)
from models.member import Member
from models.minutes import (
    add_topic,
    check_recording,
    close,
    owner_choices,
    record_decision,
    record_notes,
)
from models.outbox import OutboxStatus, enqueue
from settings import Settings

NONE_TO_RECORD = "现在没有您可以记录的会议（会议开始后到结束后 48 小时内可以记录）。"
ASK_MEETING = "记录哪个会议？"
INTRO = (
    "📝 记录《{title}》：共 {count} 项议程，逐项记录。\n签到出席 {present}/{invited} 人{absent}"
)
ABSENT = "；未签到：{names}"
ITEM = "第 {i}/{n} 项：{title}"
NOTES_SO_FAR = "已记录：{notes}"
ASK_NOTES = "请输入这一项的讨论情况（要点）："
KEEP = "保留原记录"
SKIP = "跳过此项"
FINISH = "结束记录"
ASK_DECISION = "已记录。这一项形成决议了吗？"
ASK_DECISION_TEXT = "请输入决议内容（要做什么）："
ASK_OWNER = "责任单位或责任人？（输入单位名称中的几个字，或责任人姓名）"
OWNER_UNKNOWN = "没有找到“{name}”。请输入本联盟成员单位名称中的几个字，或责任人姓名。"
OWNER_WHICH = "有几个匹配，请选择："
ASK_DUE = "完成时限？（例如：12月31日、下周五）"
BAD_DUE = "没看懂这个日期，可以这样写：12月31日、2027-01-15、下周五。"
PAST_DUE = "时限不能早于今天，请重新输入。"
ASK_HELP = "需要部门协助吗？"
RECORDED = "✅ 已记录决议：{line}"
ALL_DONE = "全部 {count} 项议程已记录，共 {decisions} 项决议。"
CLOSE_PREVIEW = (
    "关闭《{title}》吗？关闭后会议记录锁定，不能再修改：\n"
    "· 每项决议的责任单位将收到交办通知（共 {decisions} 项），列入督办事项；\n"
    "· 参会人员 {people} 人将收到会议纪要和会议记录（.docx）。"
)
USE_BUTTONS = "请点按钮继续，或发送“取消”退出（已记录的内容会保留）。"
LATER = "好的，记录已保存。会议结束 48 小时后会自动关闭；也可在会议详情中点“关闭会议”。"
CLOSED = "✅ 《{title}》已关闭，已交办 {decisions} 项决议，会议纪要已发给 {people} 位参会人员。"
UNREACHED = "{count} 位还没有绑定红盟助手，收不到纪要，请线下转交。"
ERRORS = {
    "not_permitted": "只有召集人、记录人或联盟管理员可以记录这个会议。",
    "closed": "《{title}》已关闭，会议记录已锁定。",
    "not_started": "《{title}》还没开始，开始前 30 分钟起可以记录。",
    "window_closed": "《{title}》结束已超过 48 小时，不能再记录。",
    "close_early": "《{title}》开始后才能关闭。记录已保存，会后点“关闭会议”即可。",
    "bad_due": PAST_DUE,
    "bad_title": "决议内容请写 2 到 200 个字。",
    "no_owner": ASK_OWNER,
    "not_found": NOT_FOUND,
}
FALLBACK_TOPIC = "会议议题"
FLOW = Flow("minutes")


async def start(ctx: Context, meeting: int = 0) -> list[Reply]:
    """Start recording: the meeting given, or the one (or which one) the sender may record."""
    if meeting:
        found = await get_meeting(ctx.session, meeting)
        if found is None:
            return [Reply(NOT_FOUND)]
        return await _begin(ctx, found)
    candidates = []
    for m in await visible(ctx):
        try:
            check_recording(ctx.me, m, ctx.now)
        except MeetingError:
            continue
        candidates.append(m)
    if not candidates:
        return [Reply(NONE_TO_RECORD)]
    if len(candidates) == 1:
        return await _begin(ctx, candidates[0])
    await ctx.dialog.set_state(pick)
    buttons = tuple(Button(m.title[:20], "minutes.pick", meeting=m.id) for m in candidates)
    return [Reply(ASK_MEETING, buttons)]


@FLOW.step("pick")
async def pick(ctx: Context, meeting: int = 0) -> list[Reply]:
    """Step: which meeting (a button)."""
    found = await get_meeting(ctx.session, meeting) if meeting else None
    if found is None:
        return [Reply(ASK_MEETING)]
    return await _begin(ctx, found)


def _refusal(error: MeetingError, meeting: Meeting) -> list[Reply]:
    return [Reply(ERRORS.get(error.reason, NOT_FOUND).format(title=meeting.title))]


async def _begin(ctx: Context, meeting: Meeting) -> list[Reply]:
    try:
        check_recording(ctx.me, meeting, ctx.now)
    except MeetingError as error:
        await ctx.dialog.clear()
        return _refusal(error, meeting)
    order = await running_order(ctx.session, meeting)
    if not order:
        await add_topic(
            session=ctx.session, meeting=meeting, member=ctx.me, title=FALLBACK_TOPIC, now=ctx.now
        )
        order = await running_order(ctx.session, meeting)
    people = [p for p in await invitees(ctx.session, meeting) if p.role == InviteeRole.MEMBER]
    present = await attended_ids(ctx.session, meeting)
    missing = [p for p in people if p.member_id not in present]
    intro = INTRO.format(
        title=meeting.title,
        count=len(order),
        present=len(people) - len(missing),
        invited=len(people),
        absent=ABSENT.format(names="、".join(absentee(p) for p in missing)) if missing else "",
    )
    # Back after a pause (the dialog timed out): go on from the first item not yet recorded.
    index = next((i for i, a in enumerate(order) if a.recorded_at is None), 0)
    replies = await _ask_item(ctx, meeting, index)
    return [Reply(intro), *replies]


async def _ask_item(ctx: Context, meeting: Meeting, index: int) -> list[Reply]:
    order = await running_order(ctx.session, meeting)
    if index >= len(order):
        return await _closing(
            ctx,
            meeting,
            head=ALL_DONE.format(
                count=len(order), decisions=len(await decisions(ctx.session, meeting))
            ),
        )
    item = order[index]
    lines = [ITEM.format(i=index + 1, n=len(order), title=item.title)]
    if item.state == AgendaState.REVIEW:
        lines += review_lines(await review_items(ctx.session, meeting), ctx.now)
    if item.notes:
        lines.append(NOTES_SO_FAR.format(notes=item.notes))
    buttons = (
        Button(KEEP if item.notes else SKIP, "minutes.notes", skip=True),
        Button(FINISH, "minutes.notes", finish=True),
    )
    lines.append(ASK_NOTES)
    await ctx.dialog.set_state(notes, meeting_id=meeting.id, index=index, agenda_id=item.id)
    return [Reply("\n".join(lines), buttons)]


async def _meeting(ctx: Context) -> Meeting | None:
    found = await get_meeting(ctx.session, int(ctx.dialog.get_data().get("meeting_id", 0)))
    if found is None:
        await ctx.dialog.clear()
    return found


async def _item(ctx: Context, meeting: Meeting) -> AgendaItem | None:
    agenda_id = int(ctx.dialog.get_data().get("agenda_id", 0))
    return next((a for a in await running_order(ctx.session, meeting) if a.id == agenda_id), None)


@FLOW.step("notes", free_text=True)
async def notes(
    ctx: Context, text: str = "", skip: bool = False, finish: bool = False
) -> list[Reply]:
    """Step: the item's notes (跳过此项 / 保留原记录 go on; 结束记录 goes to the close)."""
    meeting = await _meeting(ctx)
    if meeting is None:
        return [Reply(NOT_FOUND)]
    index = int(ctx.dialog.get_data().get("index", 0))
    if finish:
        return await _closing(ctx, meeting)
    if skip:
        return await _ask_item(ctx, meeting, index + 1)
    item = await _item(ctx, meeting)
    if item is None or not text.strip():
        return [Reply(ASK_NOTES)]
    try:
        await record_notes(
            session=ctx.session, meeting=meeting, item=item, member=ctx.me, notes=text, now=ctx.now
        )
    except MeetingError as error:
        await ctx.dialog.clear()
        return _refusal(error, meeting)
    return await _ask_decision(ctx, meeting, index, ASK_DECISION)


async def _ask_decision(
    ctx: Context, meeting: Meeting, index: int, head: str, *, more: bool = False
) -> list[Reply]:
    """This item: add a (further) decision, or go on to the next item."""
    last = index + 1 >= len(await running_order(ctx.session, meeting))
    await ctx.dialog.set_state(after)
    buttons = (
        Button("再添加决议" if more else "添加决议", "minutes.after", do="decision"),
        Button("完成记录" if last else "下一项", "minutes.after", do="next"),
    )
    return [Reply(head, buttons)]


@FLOW.step("after")
async def after(ctx: Context, do: str = "") -> list[Reply]:
    """Step: add a decision to this item, or go to the next one."""
    meeting = await _meeting(ctx)
    if meeting is None:
        return [Reply(NOT_FOUND)]
    index = int(ctx.dialog.get_data().get("index", 0))
    if do == "decision":
        await ctx.dialog.set_state(decision_text)
        return [Reply(ASK_DECISION_TEXT)]
    if do == "next":
        return await _ask_item(ctx, meeting, index + 1)
    return [Reply(USE_BUTTONS)]


@FLOW.step("decision", free_text=True)
async def decision_text(ctx: Context, text: str = "") -> list[Reply]:
    """Step: what was decided."""
    if not 2 <= len(text.strip()) <= 200:
        return [Reply(ERRORS["bad_title"])]
    await ctx.dialog.set_state(owner, decision=text.strip())
    return [Reply(ASK_OWNER)]


@FLOW.step("owner", free_text=True)
async def owner(ctx: Context, text: str = "", kind: str = "", owner_id: int = 0) -> list[Reply]:
    """Step: the owner, typed (a unit's name or part of it, a person's name) or picked."""
    meeting = await _meeting(ctx)
    if meeting is None:
        return [Reply(NOT_FOUND)]
    if kind and owner_id:
        return await _owner_chosen(ctx, kind, owner_id)
    choices = await owner_choices(ctx.session, meeting, text)
    if not choices:
        return [Reply(OWNER_UNKNOWN.format(name=text.strip()))]
    if len(choices) == 1:
        found_kind, found_id, _ = choices[0]
        return await _owner_chosen(ctx, found_kind, found_id)
    buttons = tuple(
        Button(name[:20], "minutes.owner", kind=k, owner_id=i) for k, i, name in choices
    )
    return [Reply(OWNER_WHICH, buttons)]


async def _owner_chosen(ctx: Context, kind: str, owner_id: int) -> list[Reply]:
    await ctx.dialog.set_state(due, owner_kind=kind, owner_id=owner_id)
    return [Reply(ASK_DUE)]


@FLOW.step("due", free_text=True)
async def due(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the due date."""
    when = parse_when(text, ctx.now)
    if when is None:
        return [Reply(BAD_DUE)]
    day = to_local(when.moment).date()
    if day < today_of(ctx.now):
        return [Reply(PAST_DUE)]
    await ctx.dialog.set_state(needs_help, due_on=day.isoformat())
    buttons = (
        Button("需要部门协助", "minutes.help", needs=True),
        Button("不需要", "minutes.help", needs=False),
    )
    return [Reply(ASK_HELP, buttons)]


@FLOW.step("help")
async def needs_help(ctx: Context, needs: bool | None = None) -> list[Reply]:
    """Step: whether departments must help (a button); then the decision is recorded."""
    if needs is None:
        return [Reply(ASK_HELP)]
    meeting = await _meeting(ctx)
    if meeting is None:
        return [Reply(NOT_FOUND)]
    item = await _item(ctx, meeting)
    data = ctx.dialog.get_data()
    if item is None:
        return [Reply(NOT_FOUND)]
    unit_id = int(data["owner_id"]) if data.get("owner_kind") == "unit" else None
    member_id = int(data["owner_id"]) if data.get("owner_kind") == "member" else None
    try:
        made = await record_decision(
            session=ctx.session,
            meeting=meeting,
            item=item,
            member=ctx.me,
            text=str(data["decision"]),
            due_on=date.fromisoformat(str(data["due_on"])),
            now=ctx.now,
            owner_unit_id=unit_id,
            owner_member_id=member_id,
            needs_departments=bool(needs),
        )
    except MeetingError as error:
        await ctx.dialog.clear()
        return _refusal(error, meeting)
    count = len(await decisions(ctx.session, meeting))
    head = RECORDED.format(line=decision_line(count, made, ctx.now))
    return await _ask_decision(ctx, meeting, int(data.get("index", 0)), head, more=True)


async def close_button(ctx: Context, meeting: int) -> list[Reply]:
    """Button: close the meeting (from its detail): the preview first."""
    found = await get_meeting(ctx.session, meeting)
    if found is None:
        return [Reply(NOT_FOUND)]
    return await _closing(ctx, found)


async def _closing(ctx: Context, meeting: Meeting, head: str = "") -> list[Reply]:
    if meeting.closed_at is not None:
        await ctx.dialog.clear()
        return [Reply(ERRORS["closed"].format(title=meeting.title))]
    people = await invitees(ctx.session, meeting)
    count = len(await decisions(ctx.session, meeting))
    text = CLOSE_PREVIEW.format(title=meeting.title, decisions=count, people=len(people))
    await ctx.dialog.set_state(confirm_close, meeting_id=meeting.id)
    buttons = (
        Button("确认关闭", "minutes.confirm", do="close"),
        Button("稍后再关", "minutes.confirm", do="later"),
    )
    return [Reply(f"{head}\n{text}" if head else text, buttons)]


@FLOW.step("confirm")
async def confirm_close(ctx: Context, do: str = "") -> list[Reply]:
    """Step: close now (the minutes lock, owners and invitees are told) or later."""
    meeting = await _meeting(ctx)
    if meeting is None:
        return [Reply(NOT_FOUND)]
    if do == "later":
        await ctx.dialog.clear()
        return [Reply(LATER)]
    if do != "close":
        return [Reply(USE_BUTTONS)]
    try:
        summary, path, items, people = await finish(
            session=ctx.session, meeting=meeting, actor=ctx.me, now=ctx.now, settings=ctx.settings
        )
    except MeetingError as error:
        await ctx.dialog.clear()
        return _refusal(error, meeting)
    await ctx.dialog.clear()
    ctx.audit("meeting_close", meeting_id=meeting.id)
    reached, unreached = people
    done = CLOSED.format(title=meeting.title, decisions=len(items), people=reached)
    if unreached:
        done += "\n" + UNREACHED.format(count=unreached)
    return [Reply(done), Reply(summary, file=path)]


async def finish(
    *,
    session: AsyncSession,
    meeting: Meeting,
    actor: Member | None,
    now: datetime,
    settings: Settings,
) -> tuple[str, Path, list[FollowUp], tuple[int, int]]:
    """Close the meeting and send what closing sends (each once): every owner their items,
    every invitee but the one closing the summary with the .docx. Also used by the sweep.
    The last value counts the invitees the minutes reach, and those they cannot (unbound)."""
    items = await close(session=session, meeting=meeting, member=actor, now=now)
    for item in items:
        f = Facts(
            owner=owner_name(item),
            source=await source_label(session, item),
            alliance=meeting.activity.alliance.name,
            today=today_of(now),
        )
        for member_id, _, reply in await messages(
            session=session, item=item, event="assign", f=f, now=now, actor=None
        ):
            await enqueue(
                session=session,
                member_id=member_id,
                reply=reply,
                now=now,
                kind="followup",
                ref_id=item.id,
                dedupe_key=f"followup:{item.id}:assign:{member_id}",
            )
    people = await invitees(session, meeting)
    summary = closing_summary(
        meeting,
        now,
        running=await running_order(session, meeting),
        decisions=await decisions(session, meeting),
        people=people,
        present=await attended_ids(session, meeting),
    )
    path = await minutes_file(session, meeting, settings, now)
    reached = unreached = 0
    for person in people:
        if actor is not None and person.member_id == actor.id:
            continue
        rows = await enqueue(
            session=session,
            member_id=person.member_id,
            reply=Reply(summary, file=path),
            now=now,
            kind="meeting",
            ref_id=meeting.id,
            dedupe_key=f"meeting:{meeting.id}:minutes:{person.member_id}",
        )
        if not rows:
            continue  # sent before (the dedupe key): counted then
        if any(row.status != OutboxStatus.UNREACHABLE for row in rows):
            reached += 1
        else:
            unreached += 1
    return summary, path, items, (reached, unreached)

"""/todo (我的待办, 督办事项): one's follow-up items, overdue first, and what may be done with
each: 完成 (a note and an optional photo or file), 更新进度, 申请延期 (the alliance admin
approves), 需要协调 (a 吹哨 ticket pre-filled from the item, linked both ways); admins also
撤销 an item and decide extension requests. A picture or file sent outside any dialog is
offered as the evidence for one of the sender's items.

Buttons: todo.view (item), todo.act (do, item), todo.decide (request, do),
todo.evidence (item + the file's values).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import select

from bot import nlu
from bot.core import Attachment, Button, Flow, Reply, Step
from bot.core.clock import to_local
from bot.core.times import parse_when
from handlers.context import Context
from handlers.followup_text import (
    ACTION_ZH,
    STATUS_ZH,
    TICKET_TO_COME,
    action_buttons,
    announce,
    detail,
    facts,
    preview,
    show_day,
    source_label,
    summary,
)
from handlers.stats import scope_label
from handlers.ticket_text import STATE_ZH as TICKET_STATE_ZH
from handlers.ticket_text import announce as announce_ticket
from handlers.uploads import as_values, from_values, kind_zh, problem, shown, usable
from models.followup import (
    ACTIONS,
    ExtensionRequest,
    FollowUp,
    FollowUpError,
    allowed,
    can_view,
    check,
    decide_extension,
    get_item,
    history,
    items_in,
    link_ticket,
    owned_items,
    pending_request,
    pending_requests,
    request_extension,
    today_of,
)
from models.followup import act as take_action
from models.ticket import Ticket, file_ticket

EMPTY = "您目前没有督办事项。会议决议交办给您或本单位后，会出现在这里。"
TITLE = "📌 我的待办（{count} 项，逾期的在前）："
SCOPE_TITLE = "🗂️ {scope}逾期督办事项 {count} 项："
PENDING_TITLE = "⏳ 待审批的延期申请 {count} 项："
PENDING_LINE = "· {number} 申请延至 {new}：{reason}"
PENDING_DETAIL = "⏳ 延期申请：{old} → {new}，理由：{reason}"
NOT_FOUND = "没有找到这个督办事项，或您无权查看。"
ASK_NOTE = {
    "progress": "请输入最新进度：",
    "done": "请简要说明完成情况（也可以同时发一张照片）：",
    "cancel": "请输入撤销理由：",
}
ASK_PHOTO = "请发送一张照片或文件作为凭证（给主席单位看时会去除位置信息）；没有就点“跳过”。"
PHOTO_OR_SKIP = "请发送照片或文件，或点“跳过”。"
GOT_FILE = "已收到{kind}。"
EVIDENCE = "凭证：{kind}（{name}）"
ASK_DATE = "延期到哪一天？（例如：12月31日、下周五）当前时限：{due}"
BAD_DATE = "没看懂这个日期，可以这样写：12月31日、2027-01-15、下周五。"
ASK_REASON = "请说明延期理由："
PICK_CONFIRM = "请点“确认”，或点“修改”重新填写。"
COORDINATE_HEAD = "将为 {number} 发起吹哨工单：\n“{text}”\n"
TICKET_TEXT = "【督办事项 {number}】{title}（{source}，时限 {due}）需要部门协调。{progress}"
TICKET_PROGRESS = "目前进度：{progress}"
DONE = {
    "progress": "已记录 {number} 的进度，并告知主席单位。",
    "done": "🎉 {number} 已完成，已告知主席单位。",
    "extend": "已提交 {number} 的延期申请（至 {new}），等待联盟管理员审批。",
    "coordinate": "已为 {number} 发起吹哨工单 {ticket}（{routing}），办理进展会告诉您。",
    "cancel": "{number} 已撤销，并告知责任单位。",
    "approve": "已同意 {number} 延期至 {due}，并告知责任单位。",
    "decline": "已驳回 {number} 的延期申请，并告知责任单位。",
}
ROUTED = "已转{department}"
UNROUTED = "待联盟管理员分派"
ERRORS = {
    "not_permitted": "您不能对 {number} 执行“{action}”。",
    "illegal": "{number} 当前是“{state}”，不能{action}。",
    "note_required": "请写上说明（不能为空），或发送“取消”。",
    "pending": "{number} 已有一份延期申请在等待审批。",
    "not_later": "新的时限要晚于当前时限（{due}）和今天，请重新输入。",
    "no_request": "这份延期申请已经处理过了。",
    "has_ticket": "{number} 已经发起过协调工单。",
}
FILE_FOR_WHICH = "收到{kind}。要作为哪项督办事项的完成凭证？"
FILE_NO_ITEMS = "收到{kind}，但您目前没有待完成的督办事项。发送“我的待办”查看。"
ITEM_RE = re.compile(r"^\s*(?:DB)?\s*-?\s*0*(\d{1,6})\s*$", re.I)
FLOW = Flow("todo")


async def show(ctx: Context, item: str = "") -> list[Reply]:
    """The sender's items, overdue first; admins also the scope's overdue items and the
    extension requests waiting for them. With a number (DB-0003), that item."""
    typed = ITEM_RE.match(item or "")
    if typed:
        return await _view(ctx, await _find(ctx, int(typed.group(1))))
    me = ctx.me
    mine = await owned_items(ctx.session, me, ctx.now)
    lines = [TITLE.format(count=len(mine))] if mine else [EMPTY]
    lines += [f"{i}. {summary(x, ctx.now)}" for i, x in enumerate(mine[:10], 1)]
    shown_items = list(mine[:10])
    scope = me.admin_scope()
    if not scope.empty:
        late = [x for x in await items_in(ctx.session, scope, ctx.now, overdue_only=True)]
        late = [x for x in late if x not in mine]
        if late:
            lines.append(SCOPE_TITLE.format(scope=scope_label(scope), count=len(late)))
            lines += [f"· {summary(x, ctx.now)}" for x in late[:10]]
            shown_items += late[:10]
        requests = await pending_requests(ctx.session, scope)
        if requests:
            lines.append(PENDING_TITLE.format(count=len(requests)))
            for r in requests[:10]:
                found = await get_item(ctx.session, r.item_id)
                if found is not None:
                    lines.append(
                        PENDING_LINE.format(
                            number=found.number,
                            new=show_day(r.new_due_on, ctx.now),
                            reason=r.reason,
                        )
                    )
                    if found not in shown_items:
                        shown_items.append(found)
    buttons = tuple(Button(x.number, "todo.view", item=x.id) for x in shown_items[:12])
    return [Reply("\n".join(lines), buttons)]


async def view(ctx: Context, item: int) -> list[Reply]:
    """Button: an item's detail and the buttons for what the viewer may do."""
    await _leave(ctx)
    return await _view(ctx, await _find(ctx, item))


async def act(ctx: Context, do: str, item: int) -> list[Reply]:
    """Button: start 完成, 更新进度, 申请延期, 需要协调 or 撤销 on an item."""
    await _leave(ctx)
    found = await _find(ctx, item)
    if found is None or do not in ACTIONS:
        return [Reply(NOT_FOUND)]
    refusal = await _precheck(ctx, found, do)
    if refusal:
        return refusal
    if do == "extend":
        await ctx.dialog.set_state(date_step, action=do, item_id=found.id)
        return [Reply(ASK_DATE.format(due=show_day(found.due_on, ctx.now)))]
    if do == "coordinate":
        await ctx.dialog.set_state(confirm_step, action=do, item_id=found.id)
        return [await _confirmation(ctx, found, do)]
    await ctx.dialog.set_state(note_step, action=do, item_id=found.id)
    return [Reply(ASK_NOTE[do])]


async def evidence(ctx: Context, item: int, **values: Any) -> list[Reply]:
    """Button: the file sent outside a dialog becomes the evidence of completing this item."""
    found = await _find(ctx, item)
    if found is None:
        return [Reply(NOT_FOUND)]
    refusal = await _precheck(ctx, found, "done")
    if refusal:
        return refusal
    await ctx.dialog.set_state(note_step, action="done", item_id=found.id, file=values)
    return [Reply(ASK_NOTE["done"])]


async def files(
    ctx: Context, attachments: tuple[Attachment, ...] = (), text: str = ""
) -> list[Reply]:
    """A picture or file sent outside a dialog: offered as evidence for one of the items."""
    trouble = problem(attachments, ctx.settings)
    if trouble:
        return [Reply(trouble)]
    got = usable(attachments)
    if got is None:
        return [Reply(FILE_NO_ITEMS.format(kind="文件"))]
    kind = kind_zh(got.kind)
    mine = [
        x for x in await owned_items(ctx.session, ctx.me, ctx.now) if "done" in allowed(ctx.me, x)
    ]
    if not mine:
        return [Reply(FILE_NO_ITEMS.format(kind=kind))]
    buttons = tuple(
        Button(x.number, "todo.evidence", item=x.id, **as_values(got)) for x in mine[:10]
    )
    lines = [FILE_FOR_WHICH.format(kind=kind)] + [f"· {summary(x, ctx.now)}" for x in mine[:10]]
    return [Reply("\n".join(lines), buttons)]


async def decide(ctx: Context, request: int, do: str) -> list[Reply]:
    """Button: the alliance admin approves (同意延期) or declines (不同意) an extension."""
    row = await ctx.session.get(ExtensionRequest, request)
    found = await _find(ctx, row.item_id) if row is not None else None
    if row is None or found is None or do not in ("approve", "decline"):
        return [Reply(NOT_FOUND)]
    try:
        event = await decide_extension(
            session=ctx.session,
            request=row,
            item=found,
            actor=ctx.me,
            approve=do == "approve",
            now=ctx.now,
        )
    except FollowUpError as error:
        return [Reply(_error(ctx, found, do, error))]
    await announce(
        ctx, found, do, await facts(ctx.session, found, ctx.now, ctx.settings, event=event)
    )
    text = DONE[do].format(number=found.number, due=show_day(found.due_on, ctx.now))
    return [Reply(text, action_buttons(ctx.me, found))]


@FLOW.step("note", free_text=True)
async def note_step(
    ctx: Context, text: str = "", attachments: tuple[Attachment, ...] = ()
) -> list[Reply]:
    """Step: the note of 更新进度 (recorded at once), 完成 or 撤销 (shown first, to confirm)."""
    found, action = await _state(ctx)
    if found is None:
        return [Reply(NOT_FOUND)]
    trouble = problem(attachments, ctx.settings)
    if trouble:
        return [Reply(trouble)]
    if not text.strip():
        return [Reply(ERRORS["note_required"])]
    if action == "progress":
        return await _perform(ctx, found, action, note=text)
    got = usable(attachments)
    if got is not None:
        await ctx.dialog.update_data(file=as_values(got))
    if action == "done" and not ctx.dialog.get_data().get("file"):
        await ctx.dialog.set_state(photo_step, note=text.strip())
        return [Reply(ASK_PHOTO, (Button("跳过", "todo.photo", skip=True),))]
    await ctx.dialog.set_state(confirm_step, note=text.strip())
    return [await _confirmation(ctx, found, action)]


@FLOW.step("photo")
async def photo_step(
    ctx: Context, text: str = "", attachments: tuple[Attachment, ...] = (), skip: bool = False
) -> list[Reply]:
    """Step: a photo or file as the evidence of 完成, or 跳过."""
    found, action = await _state(ctx)
    if found is None:
        return [Reply(NOT_FOUND)]
    trouble = problem(attachments, ctx.settings)
    if trouble:
        return [Reply(trouble, (Button("跳过", "todo.photo", skip=True),))]
    got = usable(attachments)
    if got is None and not skip:
        return [Reply(PHOTO_OR_SKIP, (Button("跳过", "todo.photo", skip=True),))]
    await ctx.dialog.set_state(confirm_step, file=as_values(got) if got else {})
    confirmation = await _confirmation(ctx, found, action)
    head = GOT_FILE.format(kind=kind_zh(got.kind)) + "\n" if got else ""
    return [Reply(head + confirmation.text, confirmation.buttons)]


@FLOW.step("date", free_text=True)
async def date_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the new due date of an extension request."""
    found, _ = await _state(ctx)
    if found is None:
        return [Reply(NOT_FOUND)]
    when = parse_when(text, ctx.now)
    if when is None:
        return [Reply(BAD_DATE)]
    day = to_local(when.moment).date()
    if day <= found.due_on or day <= today_of(ctx.now):
        return [Reply(ERRORS["not_later"].format(due=show_day(found.due_on, ctx.now)))]
    return await _next(ctx, found, reason_step, ASK_REASON, new_due=day.isoformat())


@FLOW.step("reason", free_text=True)
async def reason_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the reason of an extension request; then the preview."""
    found, action = await _state(ctx)
    if found is None:
        return [Reply(NOT_FOUND)]
    if not text.strip():
        return [Reply(ERRORS["note_required"])]
    await ctx.dialog.set_state(confirm_step, note=text.strip())
    return [await _confirmation(ctx, found, action)]


async def _next(
    ctx: Context, item: FollowUp, step: Step, prompt: str, **value: Any
) -> list[Reply]:
    await ctx.dialog.set_state(step, **value)
    return [Reply(prompt)]


@FLOW.step("confirm")
async def confirm_step(ctx: Context, do: str = "") -> list[Reply]:
    """Step: do what the preview showed (确认), type it again (修改), or 取消."""
    found, action = await _state(ctx)
    if found is None:
        return [Reply(NOT_FOUND)]
    if do == "edit":
        if action == "extend":
            await ctx.dialog.set_state(date_step, file={})
            return [Reply(ASK_DATE.format(due=show_day(found.due_on, ctx.now)))]
        if action == "coordinate":
            return [await _confirmation(ctx, found, action)]
        await ctx.dialog.set_state(note_step, file={})
        return [Reply(ASK_NOTE[action])]
    if do != "yes":
        return [Reply(PICK_CONFIRM)]
    data = ctx.dialog.get_data()
    return await _perform(
        ctx,
        found,
        action,
        note=str(data.get("note", "")),
        attachment=from_values(dict(data.get("file") or {})),
        new_due=date.fromisoformat(data["new_due"]) if data.get("new_due") else None,
    )


async def _confirmation(ctx: Context, item: FollowUp, action: str) -> Reply:
    data = ctx.dialog.get_data()
    f = await facts(ctx.session, item, ctx.now, ctx.settings, note=str(data.get("note", "")))
    attachment = from_values(dict(data.get("file") or {}))
    if attachment is not None:
        image, file = shown(ctx.settings, attachment.sha256, attachment.suffix, attachment.kind)
        f = replace(f, image=image, file=file, evidence=f"（附{kind_zh(attachment.kind)}）")
    if data.get("new_due"):
        f = replace(f, old_due=item.due_on, new_due=date.fromisoformat(data["new_due"]))
    if action == "coordinate":
        f = replace(f, note=TICKET_TO_COME)
    text = await preview(ctx.session, item, action, f, ctx.now, ctx.me)
    if attachment is not None:
        text += "\n" + EVIDENCE.format(kind=kind_zh(attachment.kind), name=attachment.name)
    if action == "coordinate":
        text = (
            COORDINATE_HEAD.format(number=item.number, text=await _ticket_text(ctx, item)) + text
        )
    label = ACTION_ZH[action]
    buttons = (
        Button(f"确认{label}", "todo.confirm", do="yes"),
        Button("修改", "todo.confirm", do="edit"),
        Button("取消", "cancel"),
    )
    if action == "coordinate":
        buttons = (buttons[0], buttons[2])
    return Reply(text, buttons)


async def _ticket_text(ctx: Context, item: FollowUp) -> str:
    progress = TICKET_PROGRESS.format(progress=item.progress) if item.progress else ""
    return TICKET_TEXT.format(
        number=item.number,
        title=item.title,
        source=await source_label(ctx.session, item),
        due=show_day(item.due_on, ctx.now),
        progress=progress,
    )


async def _perform(
    ctx: Context,
    item: FollowUp,
    action: str,
    *,
    note: str = "",
    attachment: Attachment | None = None,
    new_due: date | None = None,
) -> list[Reply]:
    """Take the action, tell the people concerned, say what happened."""
    extra: dict[str, str] = {}
    try:
        if action == "extend":
            assert new_due is not None
            request = await request_extension(
                session=ctx.session,
                item=item,
                actor=ctx.me,
                new_due_on=new_due,
                reason=note,
                now=ctx.now,
            )
            f = await facts(ctx.session, item, ctx.now, ctx.settings, request=request, note=note)
            extra["new"] = show_day(new_due, ctx.now)
        elif action == "coordinate":
            ticket = await _coordinate(ctx, item)
            f = await facts(ctx.session, item, ctx.now, ctx.settings, note=ticket.number)
            department = ticket.department.name if ticket.department else ""
            extra["ticket"] = ticket.number
            extra["routing"] = ROUTED.format(department=department) if department else UNROUTED
        else:
            event = await take_action(
                session=ctx.session,
                item=item,
                action=action,
                actor=ctx.me,
                now=ctx.now,
                note=note,
                attachment=attachment,
            )
            f = await facts(ctx.session, item, ctx.now, ctx.settings, event=event)
    except FollowUpError as error:
        await ctx.dialog.clear()
        return [Reply(_error(ctx, item, action, error))]
    await ctx.dialog.clear()
    await announce(ctx, item, action, f)
    ctx.audit(f"followup_{action}", item_id=item.id)
    text = DONE[action].format(number=item.number, **extra)
    return [Reply(text, action_buttons(ctx.me, item))]


async def _coordinate(ctx: Context, item: FollowUp) -> Ticket:
    """需要协调: file the ticket (routed by its category) and link it to the item."""
    check(ctx.me, item, "coordinate")
    if item.ticket_id is not None:
        raise FollowUpError("has_ticket")
    text = await _ticket_text(ctx, item)
    ticket, events = await file_ticket(
        session=ctx.session,
        reporter=ctx.me,
        unit_id=item.owner_unit_id or ctx.me.home_unit_id,
        text=text,
        category=nlu.category(item.title),
        now=ctx.now,
    )
    for event in events:
        await announce_ticket(ctx, ticket, event)
    await link_ticket(
        session=ctx.session,
        item=item,
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        actor=ctx.me,
        now=ctx.now,
    )
    return ticket


async def _precheck(ctx: Context, item: FollowUp, action: str) -> list[Reply] | None:
    try:
        check(ctx.me, item, action)
        if action == "extend" and await pending_request(ctx.session, item) is not None:
            raise FollowUpError("pending")
        if action == "coordinate" and item.ticket_id is not None:
            raise FollowUpError("has_ticket")
    except FollowUpError as error:
        return [Reply(_error(ctx, item, action, error))]
    return None


def _error(ctx: Context, item: FollowUp, action: str, error: FollowUpError) -> str:
    return ERRORS.get(error.reason, NOT_FOUND).format(
        number=item.number,
        action=ACTION_ZH.get(action, action),
        state=STATUS_ZH[item.status],
        due=show_day(item.due_on, ctx.now),
    )


async def _state(ctx: Context) -> tuple[FollowUp | None, str]:
    data = ctx.dialog.get_data()
    found = await _find(ctx, int(data.get("item_id", 0)))
    if found is None:
        await ctx.dialog.clear()
    return found, str(data.get("action", ""))


async def _leave(ctx: Context) -> None:
    """Another item's button while a note was asked for: that note is no longer wanted."""
    if ctx.dialog.flow == FLOW.name:
        await ctx.dialog.clear()


async def _find(ctx: Context, item_id: int) -> FollowUp | None:
    found = await get_item(ctx.session, item_id) if item_id else None
    return found if found is not None and can_view(ctx.me, found) else None


async def _view(ctx: Context, item: FollowUp | None) -> list[Reply]:
    if item is None:
        return [Reply(NOT_FOUND)]
    ticket = ""
    if item.ticket_id is not None:
        row = await ctx.session.scalar(select(Ticket).where(Ticket.id == item.ticket_id))
        if row is not None:
            ticket = f"{row.number}（{TICKET_STATE_ZH[row.state]}）"
    text = detail(
        item,
        await source_label(ctx.session, item),
        await history(ctx.session, item),
        ctx.now,
        ticket,
    )
    buttons = action_buttons(ctx.me, item)
    request = await pending_request(ctx.session, item)
    if request is not None:
        text += "\n" + PENDING_DETAIL.format(
            old=show_day(request.old_due_on, ctx.now),
            new=show_day(request.new_due_on, ctx.now),
            reason=request.reason,
        )
        if ctx.me.administers(item.alliance_id):
            buttons = (
                Button("同意延期", "todo.decide", request=request.id, do="approve"),
                Button("不同意", "todo.decide", request=request.id, do="decline"),
                *buttons,
            )
    if ticket:
        buttons = (*buttons, Button("查看工单", "tickets.view", ticket=item.ticket_id))
    return [Reply(text, buttons)]

"""/activity (活动管理): the host or an admin edits or cancels a published activity.

Editing reuses the publish dialog (handlers.activities.begin_edit: choose a field, type it
again, preview, 确认修改); cancelling asks for a reason (or 跳过) and shows what will be sent
first. Members who were reminded or checked in, the alliance's admins and the publisher are
told.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.core import Button, Flow, Reply
from handlers import paging
from handlers.activities import (
    ACTIVITY_ERRORS,
    TOLD_NOBODY_CANCEL,
    begin_edit,
    line_of,
    tell_people,
    told_line,
    told_summary,
)
from handlers.context import Context
from models.activity import (
    Activity,
    ActivityError,
    activity_loads,
    cancel_activity,
    check_may_change,
    get_activity,
    live,
    people_to_tell,
    who_is_told,
)

PICK = "要修改或取消哪个活动？"
NONE = "您近期没有可以修改或取消的活动（只有主办单位的书记或联盟管理员可以）。"
DETAIL = (
    "📅 {line}（{alliance}）\n签到：{checkin}\n"
    "已签到 {checked} 人，已收到提醒的党员 {reminded} 人。"
)
EDIT, CANCEL = "修改活动", "取消活动"
ASK_REASON = "请写一句取消的原因（会告知已收到提醒和已签到的党员），或点“跳过”："
SKIP = "跳过"
CANCEL_PREVIEW = "请确认取消活动：\n{line}\n{told}\n他们将收到：“{note}”"
CANCEL_NOTE = "❌ 活动取消：{line}"
CANCEL_WHY = "\n原因：{reason}"
CANCELLED = "已取消活动《{title}》。{told}"
CANCELLED_TOLD = "已告知 {n} 人。"
CANCELLED_NOBODY = "还没有党员收到提醒，之后也不会再提醒。"
USE_BUTTONS = "请点“确认取消活动”，或点“修改原因”。"
SKIP_WORDS = {"跳过", "不写", "无", "没有"}
FLOW = Flow("activity")


async def manage(ctx: Context, activity: str = "") -> list[Reply]:
    """The activities the sender may edit or cancel, or one of them when a number is given."""
    number = re.search(r"\d+", activity or "")
    if number:
        return await open_one(ctx, int(number.group(0)))
    return await _pick(ctx, 0)


async def page(ctx: Context, offset: int = 0) -> list[Reply]:
    """Button 上一页 / 下一页 of the activities to manage."""
    return await _pick(ctx, offset)


async def _pick(ctx: Context, offset: int) -> list[Reply]:
    stmt = select(Activity).where(Activity.ends_at > ctx.now, live())
    stmt = stmt.order_by(Activity.starts_at, Activity.id).options(*activity_loads()).limit(200)
    mine = [a for a in (await ctx.session.execute(stmt)).scalars() if ctx.me.may_manage(a)]
    if not mine:
        return [Reply(NONE)]
    shown, offset = paging.window(mine, offset)
    lines = [PICK + paging.where(offset, len(shown), len(mine))]
    lines += [f"{offset + i}. {line_of(a, now=ctx.now)}" for i, a in enumerate(shown, 1)]
    buttons = [
        Button(f"{offset + i}. {a.title}", "activity.open", activity=a.id)
        for i, a in enumerate(shown, 1)
    ]
    buttons += paging.buttons("activity.page", offset, len(mine))
    return [Reply("\n".join(lines), tuple(buttons))]


async def open_one(ctx: Context, activity: int) -> list[Reply]:
    """Button: one activity, what it is and who has heard of it, with 修改 / 取消."""
    found = await get_activity(ctx.session, activity)
    if found is None or not ctx.me.may_manage(found):
        return [Reply(ACTIVITY_ERRORS["missing"])]
    try:
        check_may_change(found, ctx.me, ctx.now)
    except ActivityError as error:
        return [Reply(ACTIVITY_ERRORS[error.reason])]
    _, checked = await people_to_tell(ctx.session, found)
    reminded = (await who_is_told(ctx.session, found, ctx.me.id)).reminded
    placed = found.latitude is not None
    text = DETAIL.format(
        line=line_of(found, now=ctx.now),
        alliance=found.alliance.name,
        checkin=f"位置签到（{found.radius_m} 米内）或签到码" if placed else "签到码",
        checked=len(checked),
        reminded=len(reminded),
    )
    buttons = (
        Button(EDIT, "activity.edit", activity=found.id),
        Button(CANCEL, "activity.cancel", activity=found.id),
    )
    return [Reply(text, buttons)]


async def edit(ctx: Context, activity: int) -> list[Reply]:
    """Button 修改活动: the publish dialog, on this activity."""
    found = await get_activity(ctx.session, activity)
    if found is None or not ctx.me.may_manage(found):
        return [Reply(ACTIVITY_ERRORS["missing"])]
    return await begin_edit(ctx, found)


async def cancel(ctx: Context, activity: int) -> list[Reply]:
    """Button 取消活动: ask for the reason first."""
    found = await get_activity(ctx.session, activity)
    if found is None or not ctx.me.may_manage(found):
        return [Reply(ACTIVITY_ERRORS["missing"])]
    try:
        check_may_change(found, ctx.me, ctx.now)
    except ActivityError as error:
        return [Reply(ACTIVITY_ERRORS[error.reason])]
    await ctx.dialog.set_state(got_reason, activity_id=found.id)
    return [Reply(ASK_REASON, (Button(SKIP, "activity.reason", skip=True),))]


def _note(activity: Activity, reason: str, ctx: Context) -> str:
    text = CANCEL_NOTE.format(line=line_of(activity, now=ctx.now))
    return text + (CANCEL_WHY.format(reason=reason) if reason else "")


@FLOW.step("reason", free_text=True)
async def got_reason(ctx: Context, text: str = "", skip: bool = False) -> list[Reply]:
    """Step: why it is cancelled (or 跳过); then what will be sent, to confirm."""
    reason = "" if skip or text.strip() in SKIP_WORDS else text.strip()[:200]
    activity = await get_activity(ctx.session, int(ctx.dialog.get_data()["activity_id"]))
    if activity is None:
        await ctx.dialog.clear()
        return [Reply(ACTIVITY_ERRORS["missing"])]
    await ctx.dialog.set_state(confirm_cancel, reason=reason)
    text = CANCEL_PREVIEW.format(
        line=line_of(activity, now=ctx.now),
        told=await told_summary(ctx, activity, TOLD_NOBODY_CANCEL),
        note=_note(activity, reason, ctx),
    )
    buttons = (
        Button("确认取消活动", "activity.confirm", do="yes"),
        Button("修改原因", "activity.confirm", do="edit"),
        Button("不取消了", "cancel"),
    )
    return [Reply(text, buttons)]


@FLOW.step("confirm")
async def confirm_cancel(ctx: Context, do: str = "") -> list[Reply]:
    """Step: cancel as previewed, or write the reason again."""
    data = ctx.dialog.get_data()
    if do == "edit":
        await ctx.dialog.set_state(got_reason)
        return [Reply(ASK_REASON, (Button(SKIP, "activity.reason", skip=True),))]
    if do != "yes":
        return [Reply(USE_BUTTONS)]
    activity = await get_activity(ctx.session, int(data["activity_id"]))
    await ctx.dialog.clear()
    if activity is None:
        return [Reply(ACTIVITY_ERRORS["missing"])]
    reason = str(data.get("reason", ""))
    note = _note(activity, reason, ctx)
    try:
        await cancel_activity(
            session=ctx.session, activity=activity, actor=ctx.me, now=ctx.now, reason=reason
        )
    except ActivityError as error:
        return [Reply(ACTIVITY_ERRORS[error.reason])]
    told = await tell_people(ctx, activity, Reply(note))
    ctx.audit("activity_cancel", activity_id=activity.id, reason=reason)
    said = told_line(told, CANCELLED_TOLD, CANCELLED_NOBODY)
    return [Reply(CANCELLED.format(title=activity.title, told=said))]

"""A scheduled notice changed or called off before it goes out (buttons on `通知 N`).

修改内容 / 修改时间 ask for the new text or time, then show the notice as it will be sent;
取消发送 shows what is called off. Each waits for 确认 (steps of the notice dialog).
"""

from __future__ import annotations

from datetime import datetime

from bot.core import Button, Reply
from bot.core.times import parse_when, show_when
from handlers.context import Context
from handlers.notices import (
    BAD_TIME,
    ERRORS,
    FLOW,
    MAX_TEXT,
    PAST_TIME,
    TOO_LONG,
    notice_number,
    view,
)
from models.notice import (
    Notice,
    NoticeError,
    NoticeState,
    cancel_notice,
    change_notice,
    get_notice_for,
    resolve_audience,
    sent_by,
)
from models.scope import Scope

ASK_TEXT = "请输入通知 #{id} 的新内容："
ASK_TIME = "通知 #{id} 原定 {time} 发送，改到什么时候？例如：明天上午9点、12-05 09:30："
PREVIEW_TEXT = "📢 通知 #{id} 修改后（{time} 发送给约 {n} 人）：\n{text}"
PREVIEW_TIME = "通知 #{id} 改为 {time} 发送（原定 {before}），收件人约 {n} 人。"
PREVIEW_DROP = "取消通知 #{id}（原定 {time} 发送给约 {n} 人）？取消后不会发出：\n{text}"
CHANGED_TEXT = "✅ 已修改通知 #{id} 的内容，将于 {time} 发送。"
CHANGED_TIME = "✅ 通知 #{id} 改为 {time} 发送。"
DROPPED = "已取消通知 #{id}，不会发出。"
USE_BUTTONS = "请点“确认”，或点“重新输入”。"
NO_SCHEDULED = (
    "您没有待发送的定时通知。已发出的通知不能撤回或修改；如需更正，发送“发通知”再发一条更正通知。"
)
ALREADY_SENT = "通知 #{id} 已经发出，不能撤回或修改；如需更正，发送“发通知”再发一条更正通知。"
ALREADY_CANCELLED = "通知 #{id} 已取消，没有发出。"
PICK_SCHEDULED = "您待发送的定时通知（点一下，可修改内容、时间或取消发送）："
CONFIRM_LABEL = {"text": "确认修改", "time": "确认改时间", "drop": "确认取消发送"}


async def manage(ctx: Context, notice: str = "") -> list[Reply]:
    """修改通知 / 撤回通知 [编号]: that notice with 修改内容 / 修改时间 / 取消发送 while it
    waits to be sent; without a number the sender's scheduled notices (one alone is shown)."""
    number = notice_number(notice, ctx.incoming.text)
    if number is not None:
        try:
            found = await get_notice_for(session=ctx.session, notice_id=number, viewer=ctx.me)
        except NoticeError as error:
            return [Reply(ERRORS[error.reason].format(id=number))]
        if found.state == NoticeState.CANCELLED:
            return [Reply(ALREADY_CANCELLED.format(id=found.id))]
        if found.state != NoticeState.SCHEDULED:
            return [Reply(ALREADY_SENT.format(id=found.id))]
        return await view(ctx, notice=found.id)
    mine = await sent_by(session=ctx.session, member=ctx.me, limit=20)
    waiting = [n for n in mine if n.state == NoticeState.SCHEDULED]
    if not waiting:
        return [Reply(NO_SCHEDULED)]
    if len(waiting) == 1:
        return await view(ctx, notice=waiting[0].id)
    lines = [PICK_SCHEDULED]
    for item in waiting:
        when = show_when(item.send_at, ctx.now)
        lines.append(f"#{item.id} 定于 {when} 发送：{_short(item.text)}")
    buttons = tuple(Button(f"修改 #{n.id}", "notices.view", notice=n.id) for n in waiting)
    return [Reply("\n".join(lines), buttons)]


def _short(text: str, n: int = 20) -> str:
    return text if len(text) <= n else text[:n] + "…"


async def edit_text(ctx: Context, notice: int) -> list[Reply]:
    """Button 修改内容."""
    found = await _scheduled(ctx, notice)
    if isinstance(found, list):
        return found
    await ctx.dialog.set_state(got_text, notice_id=found.id)
    return [Reply(ASK_TEXT.format(id=found.id))]


async def edit_time(ctx: Context, notice: int) -> list[Reply]:
    """Button 修改时间."""
    found = await _scheduled(ctx, notice)
    if isinstance(found, list):
        return found
    await ctx.dialog.set_state(got_time, notice_id=found.id)
    return [Reply(ASK_TIME.format(id=found.id, time=show_when(found.send_at, ctx.now)))]


async def drop(ctx: Context, notice: int) -> list[Reply]:
    """Button 取消发送: what is called off, to confirm."""
    found = await _scheduled(ctx, notice)
    if isinstance(found, list):
        return found
    await ctx.dialog.set_state(confirm_change, notice_id=found.id, change="drop")
    text = PREVIEW_DROP.format(
        id=found.id,
        time=show_when(found.send_at, ctx.now),
        n=await _audience_size(ctx, found),
        text=found.text,
    )
    return [_confirmation(text, "drop")]


async def _scheduled(ctx: Context, notice_id: int) -> Notice | list[Reply]:
    try:
        notice = await get_notice_for(session=ctx.session, notice_id=notice_id, viewer=ctx.me)
    except NoticeError as error:
        return [Reply(ERRORS[error.reason].format(id=notice_id))]
    if notice.state != NoticeState.SCHEDULED:
        return [Reply(ERRORS["not_scheduled"].format(id=notice_id))]
    return notice


async def _audience_size(ctx: Context, notice: Notice) -> int:
    members = await resolve_audience(
        session=ctx.session, audience=notice.audience, scope=Scope.from_stored(notice.scope)
    )
    return len(members)


def _confirmation(text: str, change: str) -> Reply:
    buttons = [Button(CONFIRM_LABEL[change], "notice.change_confirm", do="yes")]
    if change != "drop":
        buttons.append(Button("重新输入", "notice.change_confirm", do="again"))
    buttons.append(Button("不改了" if change != "drop" else "不取消了", "cancel"))
    return Reply(text, tuple(buttons))


@FLOW.step("change_text", free_text=True)
async def got_text(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the new text; then the notice as it will be sent."""
    notice = await _scheduled(ctx, int(ctx.dialog.get_data()["notice_id"]))
    if isinstance(notice, list):
        await ctx.dialog.clear()
        return notice
    if not text.strip():
        return [Reply(ASK_TEXT.format(id=notice.id))]
    if len(text) > MAX_TEXT:
        return [Reply(TOO_LONG.format(n=MAX_TEXT))]
    await ctx.dialog.set_state(confirm_change, change="text", text=text.strip())
    preview = PREVIEW_TEXT.format(
        id=notice.id,
        time=show_when(notice.send_at, ctx.now),
        n=await _audience_size(ctx, notice),
        text=text.strip(),
    )
    return [_confirmation(preview, "text")]


@FLOW.step("change_time")
async def got_time(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the new time, as people type it; then the change, to confirm."""
    notice = await _scheduled(ctx, int(ctx.dialog.get_data()["notice_id"]))
    if isinstance(notice, list):
        await ctx.dialog.clear()
        return notice
    typed = parse_when(text, ctx.now)
    if typed is None or not typed.has_time:
        return [Reply(BAD_TIME)]
    if typed.moment <= ctx.now:
        return [Reply(PAST_TIME.format(time=show_when(typed.moment, ctx.now)))]
    await ctx.dialog.set_state(confirm_change, change="time", send_at=typed.moment.isoformat())
    preview = PREVIEW_TIME.format(
        id=notice.id,
        time=show_when(typed.moment, ctx.now),
        before=show_when(notice.send_at, ctx.now),
        n=await _audience_size(ctx, notice),
    )
    return [_confirmation(preview, "time")]


@FLOW.step("change_confirm")
async def confirm_change(ctx: Context, do: str = "") -> list[Reply]:
    """Step: make the previewed change, or type it again."""
    data = ctx.dialog.get_data()
    notice_id, change = int(data["notice_id"]), str(data.get("change"))
    if do == "again" and change in ("text", "time"):
        notice = await _scheduled(ctx, notice_id)
        if isinstance(notice, list):
            await ctx.dialog.clear()
            return notice
        step, ask = (got_text, ASK_TEXT) if change == "text" else (got_time, ASK_TIME)
        await ctx.dialog.set_state(step)
        return [Reply(ask.format(id=notice_id, time=show_when(notice.send_at, ctx.now)))]
    if do != "yes":
        return [Reply(USE_BUTTONS)]
    await ctx.dialog.clear()
    try:
        if change == "drop":
            notice = await cancel_notice(
                session=ctx.session, notice_id=notice_id, actor=ctx.me, now=ctx.now
            )
            ctx.audit("notice_cancel", notice_id=notice.id)
            return [Reply(DROPPED.format(id=notice.id))]
        send_at = datetime.fromisoformat(data["send_at"]) if change == "time" else None
        notice = await change_notice(
            session=ctx.session,
            notice_id=notice_id,
            actor=ctx.me,
            now=ctx.now,
            text=str(data["text"]) if change == "text" else None,
            send_at=send_at,
        )
    except NoticeError as error:
        return [Reply(ERRORS[error.reason].format(id=notice_id))]
    ctx.audit("notice_change", notice_id=notice.id, change=change)
    done = CHANGED_TEXT if change == "text" else CHANGED_TIME
    return [Reply(done.format(id=notice.id, time=show_when(notice.send_at, ctx.now)))]

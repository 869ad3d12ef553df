"""Binding a platform identity to a member with an invite code."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.core import Flow, Reply
from bot.core.clock import fmt_local
from handlers.context import Context
from models.member import BindError, bind_identity
from models.throttle import count_hits, first_hit_in_window, record_hit

ASK_CODE = "请输入您的邀请码（8 位数字）："
ALREADY_BOUND = "您已绑定为 {name}，无需重复绑定。"
BOUND = "绑定成功！欢迎您，{name}（{unit}）。\n发送“帮助”查看可用功能。"
LOCKED = "邀请码错误次数过多，绑定已暂停，请在 {until} 后再试。"
NOT_A_CODE = "邀请码是 8 位数字，请重新输入（发送“取消”可退出）："
ERRORS = {
    "unknown": "邀请码不正确，请核对后重试。",
    "used": "这个邀请码已经使用过了。如需重新绑定，请联系管理员获取新的邀请码。",
    "expired": "这个邀请码已过期，请联系管理员重新获取。",
    "already_bound": "这个账号已经绑定过了。",
}
CODE_RE = re.compile(r"\d{8}")
FLOW = Flow("bind")


async def run(ctx: Context, code: str = "") -> list[Reply]:
    """Bind with the code given, or ask for it."""
    if ctx.member is not None:
        return [Reply(ALREADY_BOUND.format(name=ctx.member.name))]
    code = code.strip()
    if not code:
        await ctx.dialog.set_state(receive_code)
        return [Reply(ASK_CODE)]
    return await _try_code(ctx, code)


@FLOW.step("code")
async def receive_code(ctx: Context, text: str = "") -> list[Reply]:
    """Dialog step: the code typed after /bind."""
    code = text.strip()
    if not CODE_RE.fullmatch(code):
        return [Reply(NOT_A_CODE)]
    return await _try_code(ctx, code)


async def _try_code(ctx: Context, code: str) -> list[Reply]:
    window = timedelta(minutes=ctx.settings.BIND_LOCK_MINUTES)
    key = f"{ctx.platform}:{ctx.user_key}"
    locked_at = await first_hit_in_window(
        session=ctx.session, kind="bind_lock", key=key, now=ctx.now, window=window
    )
    if locked_at is not None:
        return [Reply(LOCKED.format(until=fmt_local(locked_at + window, "%H:%M")))]
    try:
        member = await bind_identity(
            session=ctx.session,
            platform=ctx.platform,
            user_key=ctx.user_key,
            chat_key=ctx.incoming.chat_key,
            code=code,
            now=ctx.now,
        )
    except BindError as error:
        return [Reply(await _failed(ctx, key, error.reason, window))]
    await ctx.dialog.clear()
    unit = (
        member.home_unit.name
        if member.home_unit
        else (member.department.name if member.department else "红盟")
    )
    ctx.audit("bind", platform=ctx.platform, member_id=member.id)
    return [Reply(BOUND.format(name=member.name, unit=unit))]


async def _failed(ctx: Context, key: str, reason: str, window: timedelta) -> str:
    """Count the failure; the last allowed one locks binding for the window."""
    await record_hit(session=ctx.session, kind="bind_fail", key=key, now=ctx.now)
    failures = await count_hits(
        session=ctx.session, kind="bind_fail", key=key, now=ctx.now, window=window
    )
    allowed = ctx.settings.BIND_FAILURES_ALLOWED
    if failures >= allowed:
        await record_hit(session=ctx.session, kind="bind_lock", key=key, now=ctx.now)
        await ctx.dialog.clear()
        return LOCKED.format(until=fmt_local(ctx.now + window, "%H:%M"))
    return f"{ERRORS[reason]}（还可尝试 {allowed - failures} 次）"

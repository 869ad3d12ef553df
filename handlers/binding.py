"""Binding a platform identity to a member with an invite code."""

from __future__ import annotations

import re

from bot.core import Flow, Reply
from bot.core.clock import fmt_local
from bot.core.text import code_in
from handlers.context import Context
from handlers.rotation import resend_pending_swaps
from models.member import BindError, bind_lockout, bind_with_code

ASK_CODE = "请输入您的邀请码（8 位数字）。还没有邀请码？请向所在单位的联络员或联盟管理员索取。"
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
FLOW = Flow("bind")


async def run(ctx: Context, code: str = "") -> list[Reply]:
    """Bind with the code given, or ask for it."""
    if ctx.member is not None:
        return [Reply(ALREADY_BOUND.format(name=ctx.member.name))]
    if not code.strip():
        await ctx.dialog.set_state(receive_code)
        return [Reply(ASK_CODE)]
    found = invite_code_in(code)
    if found is None:
        await ctx.dialog.set_state(receive_code)
        return [Reply(NOT_A_CODE)]
    return await _try_code(ctx, found)


@FLOW.step("code")
async def receive_code(ctx: Context, text: str = "") -> list[Reply]:
    """Dialog step: the code typed after /bind."""
    code = invite_code_in(text)
    if code is None:
        return [Reply(NOT_A_CODE)]
    return await _try_code(ctx, code)


def invite_code_in(text: str) -> str | None:
    """An invite code however typed: 8 digits (１２３４ ５６７８, 一二三…) or letters + digits."""
    digits = code_in(text, 8)
    if digits is not None:
        return digits
    if re.fullmatch(r"[\d\s\-]+", text.strip()):
        return None  # digits, but not eight: a typo, not an attempt
    found = re.fullmatch(r"\s*([A-Za-z0-9]{6,12})\s*", text)
    return found.group(1).upper() if found else None


async def _try_code(ctx: Context, code: str) -> list[Reply]:
    try:
        member = await bind_with_code(
            session=ctx.session,
            platform=ctx.platform,
            user_key=ctx.user_key,
            chat_key=ctx.incoming.chat_key,
            code=code,
            now=ctx.now,
            lockout=bind_lockout(ctx.settings),
        )
    except BindError as error:
        if error.reason == "locked":
            await ctx.dialog.clear()
            assert error.until is not None
            return [Reply(LOCKED.format(until=fmt_local(error.until, "%H:%M")))]
        return [Reply(f"{ERRORS[error.reason]}（还可尝试 {error.left} 次）")]
    await ctx.dialog.clear()
    unit = (
        member.home_unit.name
        if member.home_unit
        else (member.department.name if member.department else "红盟")
    )
    ctx.audit("bind", platform=ctx.platform, member_id=member.id)
    await resend_pending_swaps(ctx, member)  # swap requests that waited for this secretary
    return [Reply(BOUND.format(name=member.name, unit=unit))]

"""Greeting, help and cancel: what works before and after binding."""

from __future__ import annotations

from bot.core import Reply, Role
from handlers.context import Context

WELCOME = (
    "您好，这里是红盟助手 🚩\n"
    "党建红色联盟的掌上助手：活动签到、企业吹哨、资源清单、通知公告，一个对话全搞定。"
)
HOW_TO_BIND = "首次使用请发送“绑定 邀请码”（邀请码由所在单位或联盟管理员提供）。"
HELP_TITLE = "您可以这样使用（发命令或直接说中文都行）："
NOT_UNDERSTOOD = "没太明白您的意思。"
CANCELLED = "已取消当前操作。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"


async def start(ctx: Context) -> list[Reply]:
    """Greet; tell an unbound user how to bind, a bound one what they can do."""
    if ctx.member is None:
        return [Reply(f"{WELCOME}\n\n{HOW_TO_BIND}")]
    return [Reply(f"{WELCOME}\n\n{ctx.member.name}，欢迎回来！"), *(await show_help(ctx))]


async def show_help(ctx: Context, unknown: bool = False) -> list[Reply]:
    """List what the sender's role allows, one line per command."""
    lines = [NOT_UNDERSTOOD] if unknown else []
    lines.append(HELP_TITLE)
    for route in ctx.routes:
        if not route.menu or (route.only_unbound and ctx.member is not None):
            continue
        allowed = route.role == Role.ANYONE or (
            ctx.member is not None and ctx.member.has_role(route.role)
        )
        if allowed:
            alias = f"（{route.aliases[0]}）" if route.aliases else ""
            lines.append(f"/{route.name}{alias} {route.help}")
    if ctx.member is None:
        lines.append(HOW_TO_BIND)
    return [Reply("\n".join(lines))]


async def cancel(ctx: Context) -> list[Reply]:
    """End the current dialog, whatever it is."""
    return [Reply(CANCELLED if await ctx.dialog.clear() else NOTHING_TO_CANCEL)]

"""Greeting, help, small talk and cancel: short answers to short messages."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core import Reply, Role, Route
from bot.core.clock import to_local
from handlers.binding import run as bind
from handlers.context import Context
from handlers.notices import ack_latest
from models.console_login import may_use_console

WELCOME = (
    "您好，这里是红盟助手 🚩\n"
    "党建红色联盟的掌上助手：活动签到、企业吹哨、资源清单、通知公告，一个对话全搞定。"
)
HOW_TO_BIND = "首次使用请发送“绑定 邀请码”（邀请码由所在单位或联盟管理员提供）。"
HELP_TITLE = "📖 您可以这样用（直接打字说就行）："
HELP_TAIL = "例如：{examples}。"
NOT_UNDERSTOOD = "没太明白您的意思。"
TRY = "您可以试试：{examples}，或发送“帮助”看全部功能。"
CANCELLED = "已取消当前操作。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"
BACK = "{name}，欢迎回来！"
CONSOLE_ROUTE = "admin"  # not in the menu for everyone: listed for those who may use it

# What a person of the route's role would type first; suggestions are drawn from these.
EXAMPLES = {
    "checkin": "“签到 123456”",
    "report": "“增值税发票开不出来”",
    "resources": "“找做冷链物流的企业”",
    "activities": "“最近有什么活动”",
    "code": "“签到码”",
    "publish": "“发布活动”",
    "tickets": "“工单”",
    "stats": "“统计”",
    "notice": "“发通知”",
    "bind": "“绑定 12345678”",
}
# Suggestions for someone who holds these roles, strongest role first.
FIRST_STEPS: Sequence[tuple[Role, tuple[str, ...]]] = (
    (Role.ALLIANCE_ADMIN, ("stats", "notice", "tickets")),
    (Role.OFFICER, ("tickets", "resources", "checkin")),
    (Role.SECRETARY, ("code", "publish", "checkin")),
    (Role.MEMBER, ("checkin", "report", "resources")),
)

GREETING = re.compile(
    r"你好|您好|早|午安|晚上好|下午好|哈喽|hello|hi\b|在吗|在么|在不在|有人吗|有人在|喂", re.I
)
WHAT_IS = re.compile(r"干嘛|干什么|做什么|是什么|有什么用|能做|会做|怎么用|咋用|你是谁|是谁")
# 这个是干嘛的, 你是干什么的: what the bot is (a welcome), however the NLU labels it.
ABOUT_THE_BOT = re.compile(
    r"^(?:这个?|你|您)(?:是|能)?(?:干嘛|干什么|做什么|干啥)(?:的|用的)?[?？吗呀啊]*$"
)
THANKS = re.compile(r"谢|辛苦|感谢|thank|3q", re.I)
BYE = re.compile(r"再见|拜拜|晚安|886|bye", re.I)
LAUGH = re.compile(r"^[哈呵嘿😂🤣😄]+")
ACK_WORDS = re.compile(r"收到|已阅|已读")


async def start(ctx: Context, code: str = "") -> list[Reply]:
    """Greet; tell an unbound user how to bind, a bound one what they can do. `/start CODE`
    (a Telegram deep link from an invite sheet's QR code) binds like `绑定 CODE`."""
    if code.strip():
        [reply, *more] = await bind(ctx, code=code)
        return [Reply(f"{WELCOME}\n\n{reply.text}", reply.buttons), *more]
    if ctx.member is None:
        return [Reply(f"{WELCOME}\n\n{HOW_TO_BIND}")]
    return [Reply(f"{WELCOME}\n\n{BACK.format(name=ctx.member.name)}"), await _menu(ctx)]


async def show_help(ctx: Context, unknown: bool = False) -> list[Reply]:
    """What the sender may do, grouped by what they do; a short "try this" for unknown text."""
    text = ctx.incoming.text
    if (unknown and WHAT_IS.search(text)) or ABOUT_THE_BOT.search(text):
        return await start(ctx)
    if unknown:
        return [Reply(f"{NOT_UNDERSTOOD}{TRY.format(examples=_suggestions(ctx))}")]
    return [await _menu(ctx)]


async def _menu(ctx: Context) -> Reply:
    groups: dict[str, list[str]] = {}
    for route in _allowed(ctx):
        if route.group:
            groups.setdefault(route.group, []).append(route.title)
    console = next((r for r in ctx.routes if r.name == CONSOLE_ROUTE), None)
    if console is not None and ctx.member is not None and may_use_console(ctx.member):
        groups.setdefault(console.group, []).append(console.title)
    lines = [HELP_TITLE]
    lines += [f"【{group}】" + " · ".join(titles) for group, titles in groups.items()]
    if ctx.member is None:
        lines.append(HOW_TO_BIND)
    else:
        lines.append(HELP_TAIL.format(examples=_suggestions(ctx)))
    return Reply("\n".join(lines))


def _allowed(ctx: Context) -> list[Route]:
    """The routes /help lists for this sender: in the menu, and the role allows them."""
    allowed = []
    for route in ctx.routes:
        if not route.menu or (route.only_unbound and ctx.member is not None):
            continue
        if route.role == Role.ANYONE or (
            ctx.member is not None and ctx.member.has_role(route.role)
        ):
            allowed.append(route)
    return allowed


def _suggestions(ctx: Context) -> str:
    if ctx.member is None:
        return EXAMPLES["bind"]
    names = next(
        (names for role, names in FIRST_STEPS if ctx.member.has_role(role)), FIRST_STEPS[-1][1]
    )
    return "、".join(EXAMPLES[name] for name in names)


async def smalltalk(ctx: Context) -> list[Reply]:
    """One friendly line to a greeting, thanks or an acknowledgement, with a hint."""
    text = ctx.incoming.text
    if ACK_WORDS.search(text) and ctx.member is not None:
        return await ack_latest(ctx, quiet=True)  # 好的收到 after a notice acknowledges it
    name = ctx.member.name if ctx.member else ""
    if WHAT_IS.search(text):
        return await start(ctx)  # 这个是干嘛的 deserves what the bot is, not a bare hello
    if THANKS.search(text):
        line = "不客气，有事随时找我 😊"
    elif BYE.search(text):
        line = "好的，再见！有事随时找我。"
    elif GREETING.search(text):
        line = f"{_greeting(ctx)}{'，' + name if name else ''}！有什么可以帮您？"
        line += f"比如{_suggestions(ctx)}。"
    elif LAUGH.match(text):
        line = "😄"
    else:
        line = "好的 👌"
    return [Reply(line)]


def _greeting(ctx: Context) -> str:
    hour = to_local(ctx.now).hour
    return (
        "早上好"
        if hour < 11
        else "下午好"
        if 13 <= hour < 18
        else "晚上好"
        if hour >= 18
        else "您好"
    )


async def cancel(ctx: Context) -> list[Reply]:
    """End the current dialog, whatever it is."""
    return [Reply(CANCELLED if await ctx.dialog.clear() else NOTHING_TO_CANCEL)]

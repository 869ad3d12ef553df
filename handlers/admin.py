"""/admin (后台, 管理后台): a one-time link to the web console, for admins and officers."""

from __future__ import annotations

from bot.core import Reply
from handlers.context import Context
from models.console_login import LINK_MINUTES, issue_login, may_use_console

LINK = (
    "🖥️ 管理后台登录链接（{minutes} 分钟内有效，只能使用一次，请勿转发）：\n{url}\n"
    "在电脑或手机浏览器中打开即可登录，登录后 8 小时内有效。"
)
NOT_ALLOWED = "管理后台只对联盟管理员、县级管理员和部门干部开放。"
LOGIN_PATH = "/admin/login?t={token}"


async def link(ctx: Context) -> list[Reply]:
    """A fresh one-time login link to PUBLIC_BASE_URL/admin, for this member only."""
    if not may_use_console(ctx.me):
        return [Reply(NOT_ALLOWED)]
    token = await issue_login(session=ctx.session, member=ctx.me, now=ctx.now)
    url = ctx.settings.PUBLIC_BASE_URL + LOGIN_PATH.format(token=token)
    ctx.audit("console_link", platform=ctx.platform)
    return [Reply(LINK.format(minutes=LINK_MINUTES, url=url))]

"""/admin (后台) sends admins and officers a one-time console link; /start CODE binds."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import select

from models.audit import AuditLog
from models.console_login import ConsoleLogin
from models.member import Identity, InviteCode
from tests.conftest import START
from tests.fakes import Chat

LINK_RE = re.compile(r"http://127\.0\.0\.1:8080/admin/login\?t=([\w-]+)")


async def test_admin_gets_a_link_for_ten_minutes_stored_only_as_a_hash(chat: Chat) -> None:
    [reply] = await chat.say("admin", "后台")
    lines = reply.splitlines()
    assert lines[0] == "🖥️ 管理后台登录链接（10 分钟内有效，只能使用一次，请勿转发）："
    found = LINK_RE.fullmatch(lines[1])
    assert found, lines[1]
    token = found.group(1)
    async with chat.app.sessionmaker() as session:
        row = await session.scalar(select(ConsoleLogin))
        assert row is not None
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.expires_at - START == timedelta(minutes=10)
        assert row.used_at is None
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "console_link"))
        assert audit is not None and audit.member_id == row.member_id
    again = LINK_RE.search((await chat.say("admin", "/admin"))[0])
    assert again and again.group(1) != token


async def test_alliance_admin_and_officer_get_links_a_member_is_told_who_may(chat: Chat) -> None:
    for user in ("alliance_admin", "officer_tax"):
        assert LINK_RE.search((await chat.say(user, "管理后台"))[0]), user
    assert await chat.say("member", "后台") == [
        "管理后台只对联盟管理员、县级管理员和部门干部开放。"
    ]
    assert await chat.say("newcomer", "/admin") == [
        "您还没有绑定身份。请发送“绑定 邀请码”（邀请码由所在单位或联盟管理员提供）。"
    ]


async def test_help_lists_the_console_only_for_those_who_may_use_it(chat: Chat) -> None:
    [admin] = await chat.say("admin", "帮助")
    assert "管理后台" in admin
    [officer] = await chat.say("officer_tax", "帮助")
    assert "管理后台" in officer
    [member] = await chat.say("member", "帮助")
    assert "管理后台" not in member


async def test_start_with_a_code_binds_like_a_deep_link(chat: Chat) -> None:
    async with chat.app.sessionmaker() as session:
        code = await session.scalar(select(InviteCode.code).where(InviteCode.used_at.is_(None)))
    assert code
    [wrong] = await chat.say("tg_newcomer", "/start 99999999")
    assert wrong.endswith("邀请码不正确，请核对后重试。（还可尝试 4 次）")
    [reply] = await chat.say("tg_newcomer", f"/start {code}")
    assert reply.startswith("您好，这里是红盟助手 🚩")
    assert "绑定成功！欢迎您，" in reply
    async with chat.app.sessionmaker() as session:
        assert await session.scalar(select(Identity).where(Identity.user_key == "tg_newcomer"))
    [again] = await chat.say("tg_newcomer", f"/start {code}")
    assert "您已绑定为 " in again
    [plain] = await chat.say("someone", "/start")
    assert plain.endswith("首次使用请发送“绑定 邀请码”（邀请码由所在单位或联盟管理员提供）。")

"""Binding with invite codes: success, wrong/used/expired codes, lock-out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.core import Role
from bot.core.clock import FrozenClock
from models.member import Identity, InviteCode, Member, MemberRole
from tests.fakes import Chat


async def _newcomer_code(chat: Chat) -> str:
    async with chat.app.sessionmaker() as session:
        code = await session.scalar(select(InviteCode.code).where(InviteCode.used_at.is_(None)))
    assert code
    return code


async def test_newcomer_binds_with_the_printed_code(chat: Chat) -> None:
    code = await _newcomer_code(chat)
    [reply] = await chat.say("newcomer", f"绑定 {code}")
    assert reply.startswith("绑定成功！欢迎您，")
    me = (await chat.say("newcomer", "/me"))[0]
    assert "联盟：食品产业链党建红色联盟" in me
    async with chat.app.sessionmaker() as session:
        identity = await session.scalar(select(Identity).where(Identity.user_key == "newcomer"))
        assert identity is not None


async def test_bind_asks_for_the_code_in_a_dialog(chat: Chat) -> None:
    code = await _newcomer_code(chat)
    assert (await chat.say("newcomer", "/bind"))[0].startswith("请输入您的邀请码（8 位数字）")
    assert await chat.say("newcomer", "abc") == [
        "邀请码是 8 位数字，请重新输入（发送“取消”可退出）："
    ]
    assert (await chat.say("newcomer", code))[0].startswith("绑定成功")


async def test_used_code_is_refused(chat: Chat) -> None:
    code = await _newcomer_code(chat)
    await chat.say("newcomer", f"/bind {code}")
    assert await chat.say("someone_else", f"邀请码 {code}") == [
        "这个邀请码已经使用过了。如需重新绑定，请联系管理员获取新的邀请码。（还可尝试 4 次）"
    ]


async def test_expired_code_is_refused(chat: Chat, clock: FrozenClock) -> None:
    code = await _newcomer_code(chat)
    clock.advance(days=31)
    assert await chat.say("newcomer", f"/bind {code}") == [
        "这个邀请码已过期，请联系管理员重新获取。（还可尝试 4 次）"
    ]


async def test_bound_user_is_told_so(chat: Chat) -> None:
    [reply] = await chat.say("member", "/bind 12345678")
    assert reply.startswith("您已绑定为 ")


async def test_five_wrong_codes_lock_binding_for_ten_minutes(
    chat: Chat, clock: FrozenClock
) -> None:
    code = await _newcomer_code(chat)
    for left in (4, 3, 2, 1):
        assert await chat.say("newcomer", "/bind 00000000") == [
            f"邀请码不正确，请核对后重试。（还可尝试 {left} 次）"
        ]
        clock.advance(seconds=30)
    [locked] = await chat.say("newcomer", "/bind 00000000")
    assert locked.startswith("邀请码错误次数过多，绑定已暂停")
    clock.advance(minutes=9)
    [still] = await chat.say("newcomer", f"/bind {code}")
    assert still.startswith("邀请码错误次数过多")
    clock.advance(minutes=1, seconds=1)
    assert (await chat.say("newcomer", f"/bind {code}"))[0].startswith("绑定成功")


async def test_lockout_is_per_identity(chat: Chat) -> None:
    for _ in range(5):
        await chat.say("newcomer", "/bind 00000000")
    code = await _newcomer_code(chat)
    assert (await chat.say("newcomer2", f"/bind {code}"))[0].startswith("绑定成功")


async def test_a_fresh_invite_code_binds_its_own_member(chat: Chat, clock: FrozenClock) -> None:
    async with chat.app.sessionmaker() as session, session.begin():
        member = Member(name="新党员")
        session.add(member)
        await session.flush()
        session.add(
            InviteCode(
                code="11112222", member_id=member.id, expires_at=clock.now() + timedelta(days=1)
            )
        )
    assert await chat.say("tg_user", "/bind 11112222") == [
        "绑定成功！欢迎您，新党员（红盟）。\n发送“帮助”查看可用功能。"
    ]


async def test_help_offers_binding_only_before_binding(chat: Chat) -> None:
    assert "绑定" in (await chat.say("newcomer", "帮助"))[0]
    assert "绑定" not in (await chat.say("member", "帮助"))[0]


async def test_me_lists_roles_in_the_consoles_order_whatever_order_they_were_given(
    chat: Chat,
) -> None:
    async with chat.app.sessionmaker() as session:
        member_id = await session.scalar(
            select(Identity.member_id).where(Identity.user_key == "member")
        )
        # Given highest first, so neither the rows' order nor their names' order is the answer.
        for role in (Role.OFFICER, Role.SECRETARY, Role.LIAISON):
            session.add(MemberRole(member_id=member_id, role=role))
            await session.flush()
        await session.commit()
    [me] = await chat.say("member", "/me")
    assert "身份：联络员、支部书记、部门干部" in me.splitlines()

"""A member's life after the import (models/roster.py), and `python -m bot invites`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Role
from models.db import make_engine, make_sessionmaker
from models.member import Identity, InviteCode, Member, bind_identity
from models.org import Alliance, Department, Unit
from models.roster import (
    MemberFilter,
    RosterError,
    add_member,
    deactivate,
    find_members,
    get_member,
    issue_invite,
    issue_invites,
    reactivate,
    set_roles,
    unbind,
    update_member,
)
from settings import Settings
from tests.conftest import START

FOOD = "食品产业链党建红色联盟"


@pytest.fixture
async def session(demo_settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = make_engine(demo_settings)
    async with make_sessionmaker(engine)() as value:
        yield value
    await engine.dispose()


async def account(session: AsyncSession, key: str) -> Member:
    member_id = await session.scalar(
        select(Identity.member_id).where(Identity.platform == "console", Identity.user_key == key)
    )
    found = await get_member(session=session, scope=_county(), member_id=member_id or 0)
    assert found is not None
    return found


def _county():  # type: ignore[no-untyped-def]
    from models.scope import Scope

    return Scope.COUNTY


async def test_an_alliance_admin_sees_and_edits_only_their_alliance(session: AsyncSession) -> None:
    admin = await account(session, "alliance_admin")
    mobile = await account(session, "mobile")  # home unit in the express alliance
    member = await account(session, "member")
    scope = admin.admin_scope()
    assert await get_member(session=session, scope=scope, member_id=mobile.id) is None
    assert await get_member(session=session, scope=scope, member_id=member.id) is not None
    found, total = await find_members(session=session, scope=scope, wanted=MemberFilter())
    assert total == 30 and len(found) == 30  # the food chain's 30 party members
    food = await session.scalar(select(Alliance.id).where(Alliance.name == FOOD))
    county, _ = await find_members(
        session=session, scope=_county(), wanted=MemberFilter(alliance_id=food)
    )
    assert {m.id for m in county} == {m.id for m in found}
    other_unit = mobile.home_unit_id
    with pytest.raises(RosterError) as caught:
        await update_member(
            session=session,
            member=member,
            by=admin,
            name=member.name,
            phone=member.phone,
            unit_id=other_unit,
            is_party_member=True,
            is_mobile=False,
            workplace="",
        )
    assert caught.value.reason == "unit_scope"
    changed = await update_member(
        session=session,
        member=member,
        by=admin,
        name=member.name,
        phone="１３９ ０１２３ ４５６７",
        unit_id=member.home_unit_id,
        is_party_member=True,
        is_mobile=False,
        workplace="县城",
    )
    assert changed["phone"][1] == "13901234567" and set(changed) == {"phone", "workplace"}
    with pytest.raises(RosterError) as caught:
        await update_member(
            session=session,
            member=admin,
            by=admin,
            name=admin.name,
            phone="13901234567",
            unit_id=admin.home_unit_id,
            is_party_member=True,
            is_mobile=False,
            workplace="",
        )
    assert (caught.value.reason, caught.value.detail) == ("phone_taken", {"name": member.name})


async def test_roles_within_what_the_admin_may_give(session: AsyncSession) -> None:
    admin = await account(session, "alliance_admin")
    county = await account(session, "admin")
    member = await account(session, "member")
    food = await session.scalar(select(Alliance.id).where(Alliance.name == FOOD))
    added, removed = await set_roles(
        session=session, member=member, by=admin, wanted={(Role.LIAISON, None)}
    )
    assert (added, removed) == ({(Role.LIAISON, None)}, set())
    with pytest.raises(RosterError) as caught:
        await set_roles(session=session, member=member, by=admin, wanted={(Role.OFFICER, None)})
    assert caught.value.reason == "role_scope"
    with pytest.raises(RosterError) as caught:
        await set_roles(session=session, member=admin, by=admin, wanted=set())
    assert caught.value.reason == "self"
    tax = await session.scalar(select(Department.id).where(Department.code == "tax"))
    await set_roles(
        session=session,
        member=member,
        by=county,
        wanted={(Role.LIAISON, None), (Role.OFFICER, None), (Role.ALLIANCE_ADMIN, food)},
        department_id=tax,
    )
    assert member.has_role(Role.OFFICER) and member.department_id == tax
    assert member.administers(food)


async def test_lost_phone_fresh_code_and_leaving(session: AsyncSession) -> None:
    admin = await account(session, "alliance_admin")
    member = await account(session, "member")
    unit = member.home_unit_id
    assert await unbind(session=session, member=member) == ["console"]
    invite = await issue_invite(session=session, member=member, now=START, valid_days=14)
    again = await issue_invite(session=session, member=member, now=START, valid_days=14)
    assert invite.code != again.code and invite.unit == member.home_unit.name  # type: ignore[union-attr]
    bound = await bind_identity(
        session=session,
        platform="telegram",
        user_key="42",
        chat_key="42",
        code=again.code,
        now=START,
    )
    assert bound.id == member.id
    await deactivate(session=session, member=member, by=admin, now=START)
    assert not member.active and member.home_unit_id is None and member.left_unit_id == unit
    assert await session.scalar(select(func.count()).where(Identity.member_id == member.id)) == 0
    live = await session.scalar(
        select(func.count()).where(
            InviteCode.member_id == member.id,
            InviteCode.used_at.is_(None),
            InviteCode.expires_at > START,
        )
    )
    assert live == 0
    found, _ = await find_members(
        session=session, scope=admin.admin_scope(), wanted=MemberFilter()
    )
    assert member.id not in {m.id for m in found}
    left, _ = await find_members(
        session=session, scope=admin.admin_scope(), wanted=MemberFilter(active=False)
    )
    assert [m.id for m in left] == [member.id]
    with pytest.raises(RosterError):
        await issue_invite(session=session, member=member, now=START, valid_days=14)
    await reactivate(session=session, member=member, by=admin)
    assert member.active and member.home_unit_id == unit


async def test_invites_for_the_unbound_of_one_alliance(session: AsyncSession) -> None:
    food = await session.scalar(select(Alliance.id).where(Alliance.name == FOOD))
    invites = await issue_invites(
        session=session,
        scope=_county(),
        now=START,
        valid_days=14,
        alliance_id=food,
        unbound_only=True,
    )
    bound = {"host", "member", "alliance_admin"}  # the food chain's console accounts
    assert len(invites) == 30 - len(bound)
    assert all(i.alliances == FOOD for i in invites)
    assert len({i.code for i in invites}) == len(invites)


async def test_a_new_member_of_a_unit_in_scope(session: AsyncSession) -> None:
    admin = await account(session, "alliance_admin")
    unit = await session.scalar(select(Unit).where(Unit.id == admin.home_unit_id))
    assert unit is not None
    member, invite = await add_member(
        session=session,
        by=admin,
        name="新党员",
        phone="13700001111",
        unit_id=unit.id,
        now=START,
        valid_days=14,
    )
    assert (member.home_unit_id, invite.unit, invite.phone) == (unit.id, unit.name, "13700001111")
    with pytest.raises(RosterError) as caught:
        await add_member(
            session=session,
            by=admin,
            name="无单位",
            phone="13700002222",
            unit_id=None,
            now=START,
            valid_days=14,
        )
    assert caught.value.reason == "unit"


def test_cli_invites_writes_codes_with_deep_links(
    demo_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot import cli
    from settings import use_settings

    use_settings(demo_settings.model_copy(update={"TELEGRAM_BOT_USERNAME": "hongmeng_bot"}))
    out = tmp_path / "invites.xlsx"
    assert cli.main(["invites", str(out), "--alliance", FOOD, "--unbound"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"已为 27 名成员生成新的邀请码（14 天内有效，旧的未用邀请码作废），写入 {out}。"
    ]
    sheet = load_workbook(out).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "姓名",
        "手机",
        "单位",
        "联盟",
        "邀请码",
        "有效期至",
        "Telegram 绑定链接",
        "聊天中发送",
    )
    assert len(rows) == 28
    code = rows[1][4]
    assert rows[1][6] == f"https://t.me/hongmeng_bot?start={code}" and rows[1][7] == f"绑定 {code}"
    assert cli.main(["invites", str(out), "--alliance", "不存在的联盟"]) == 2
    assert capsys.readouterr().out == "没有名为“不存在的联盟”的联盟。\n"
    assert cli.main(["invites", str(tmp_path / "codes.csv")]) == 2

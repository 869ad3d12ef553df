"""Console access: the one-time link, the session, roles, scope (404, never another alliance's
data), CSRF (a write without the token is refused and changes nothing), the audit log."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot.core.clock import FrozenClock
from models.audit import AuditLog
from models.member import Identity, Member
from models.org import Alliance
from models.ticket import Ticket, file_ticket
from tests.admin.conftest import BASE, Login, csrf_data, link_for
from tests.fakes import Chat

NEED_LOGIN = "请在红盟助手的聊天中发送“后台”（或 /admin），点开收到的登录链接即可。"
FOOD = "食品产业链党建红色联盟"


async def account_id(chat: Chat, key: str) -> int:
    async with chat.app.sessionmaker() as session:
        member_id = await session.scalar(
            select(Identity.member_id).where(Identity.user_key == key)
        )
    assert member_id is not None
    return member_id


async def test_a_link_logs_in_once_and_a_used_or_expired_one_says_how_to_get_another(
    chat: Chat, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    url = await link_for(chat, "admin")
    token = url.split("t=", 1)[1]
    # A link preview (or a second look) does not use the link up: only the button does.
    for _ in range(2):
        shown = await anonymous.get(url)
        assert shown.status_code == 200 and "点下面的按钮登录" in shown.text
        assert shown.headers["referrer-policy"] == "same-origin"  # the token stays here
        assert shown.headers["cache-control"] == "no-store"
    done = await anonymous.post("/admin/login", data={"t": token})
    assert (done.status_code, done.headers["location"]) == (303, "/admin/")
    cookie = done.headers.get_list("set-cookie")
    session = next(c for c in cookie if c.startswith("hm_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/admin" in session
    assert "Max-Age=28800" in session
    assert (await anonymous.get("/admin/")).status_code == 200
    async with httpx.AsyncClient(transport=anonymous._transport, base_url=BASE) as other:
        again = await other.post("/admin/login", data={"t": token})
        assert again.status_code == 403
        assert "这个登录链接已经用过了，每个链接只能使用一次。" in again.text
        assert "获取一个新的登录链接" in again.text
        assert "已经用过" in (await other.get(url)).text
        assert (await other.get("/admin/")).status_code == 401
        late = await link_for(chat, "admin")
        clock.advance(minutes=11)
        expired = await other.get(late)
        assert (
            expired.status_code == 403 and "这个登录链接已过期（10 分钟内有效）。" in expired.text
        )
        unknown = await other.post("/admin/login", data={"t": "nothing"})
        assert "这个登录链接无效。" in unknown.text


async def test_without_a_session_a_page_says_how_to_log_in(anonymous: httpx.AsyncClient) -> None:
    for path in ("/admin/", "/admin/roster", "/admin/tickets/1"):
        page = await anonymous.get(path)
        assert page.status_code == 401 and NEED_LOGIN in page.text


async def test_the_session_lasts_eight_hours_and_ends_when_the_role_does(
    chat: Chat, login: Login, clock: FrozenClock
) -> None:
    client = await login("alliance_admin")
    clock.advance(hours=7, minutes=50)
    assert (await client.get("/admin/")).status_code == 200
    clock.advance(minutes=20)
    assert (await client.get("/admin/")).status_code == 401
    fresh = await login("alliance_admin")
    assert (await fresh.get("/admin/")).status_code == 200
    async with chat.app.sessionmaker() as session, session.begin():
        member = await session.get(Member, await account_id(chat, "alliance_admin"))
        assert member is not None
        member.roles.clear()
    assert (await fresh.get("/admin/")).status_code == 401


async def test_each_page_says_which_role_it_needs(login: Login) -> None:
    officer = await login("officer_tax")
    page = await officer.get("/admin/roster")
    assert page.status_code == 403
    assert "这个页面需要联盟管理员或县级管理员身份" in page.text
    assert (await officer.get("/admin/tickets")).status_code == 200
    admin = await login("alliance_admin")
    page = await admin.get("/admin/departments")
    assert page.status_code == 403 and "这个页面需要县级管理员身份" in page.text
    assert (await login("admin")).is_closed is False


async def test_records_outside_the_scope_are_404(chat: Chat, login: Login) -> None:
    client = await login("alliance_admin")
    mobile = await account_id(chat, "mobile")  # home unit in the express alliance
    async with chat.app.sessionmaker() as session, session.begin():
        food = await session.scalar(select(Alliance.id).where(Alliance.name == FOOD))
        other = await session.scalar(select(Alliance.id).where(Alliance.name != FOOD))
        reporter = await session.get(Member, mobile)
        assert reporter is not None
        ticket, _ = await file_ticket(
            session=session,
            reporter=reporter,
            unit_id=reporter.home_unit_id,
            text="快递分拣场地用电问题",
            category="utilities",
            now=chat.app.clock.now(),
        )
        theirs = ticket.id
        ours = await session.scalar(select(Ticket.id).where(Ticket.alliance_id == food))
    assert theirs is not None and ours is not None
    for path in (
        f"/admin/tickets/{theirs}",
        f"/admin/roster/members/{mobile}",
        f"/admin/rotation/{other}",
        "/admin/roster/members/999999",
    ):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert "没有这条记录，或它不在您管理的范围内。" in page.text
    assert (await client.get(f"/admin/tickets/{ours}")).status_code == 200
    before = await _phone(chat, mobile)
    edit = await client.post(
        f"/admin/roster/members/{mobile}/edit",
        data=csrf_data(client, name="改名", phone="13800001111", unit=""),
    )
    assert edit.status_code == 404
    assert await _phone(chat, mobile) == before


async def _phone(chat: Chat, member_id: int) -> tuple[str, str]:
    async with chat.app.sessionmaker() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        return member.name, member.phone


async def test_a_write_without_the_csrf_token_is_refused_and_changes_nothing(
    chat: Chat, login: Login
) -> None:
    client = await login("alliance_admin")
    member = await account_id(chat, "member")
    before = await _phone(chat, member)
    form = {"name": "新名字", "phone": "13800002222", "unit": ""}
    for data, headers in (
        (form, {}),
        ({**form, "csrf": "0" * 64}, {}),
        (form, {"X-CSRF-Token": "forged"}),
    ):
        refused = await client.post(
            f"/admin/roster/members/{member}/edit", data=data, headers=headers
        )
        assert refused.status_code == 403
        assert "为安全起见没有执行这次操作" in refused.text
        assert await _phone(chat, member) == before
    # Another admin's token is not this session's, even sent with the matching cookie value.
    other = await login("admin")
    stolen = other.cookies.get("hm_csrf", path="/admin")
    client.cookies.set("hm_csrf", stolen, domain="127.0.0.1", path="/admin")
    refused = await client.post(
        f"/admin/roster/members/{member}/edit", data={**form, "csrf": stolen}
    )
    assert refused.status_code == 403 and await _phone(chat, member) == before


async def test_writes_land_in_the_audit_log_with_who_what_and_when(
    chat: Chat, login: Login
) -> None:
    client = await login("alliance_admin")
    member = await account_id(chat, "member")
    page = await client.get(f"/admin/roster/members/{member}")
    unit = page.text.split('name="unit">', 1)[1].split("selected", 1)[0].rsplit('value="', 1)[1]
    unit = unit.split('"', 1)[0]
    saved = await client.post(
        f"/admin/roster/members/{member}/edit",
        data=csrf_data(
            client, name="王小明", phone="１３８ ０００３ ３３３３", unit=unit, party="1"
        ),
    )
    assert saved.status_code == 303
    assert await _phone(chat, member) == ("王小明", "13800033333")
    async with chat.app.sessionmaker() as session:
        row = await session.scalar(
            select(AuditLog).where(AuditLog.action == "console.member_edit")
        )
    assert row is not None and row.member_id == await account_id(chat, "alliance_admin")
    assert row.at == chat.app.clock.now()
    assert row.detail["changed"]["phone"][1] == "13800033333"
    log = await client.get("/admin/audit")
    assert "修改成员" in log.text and "登录后台" in log.text


async def test_logout_ends_the_session(login: Login) -> None:
    client = await login("admin")
    out = await client.post("/admin/logout", data=csrf_data(client))
    assert out.status_code == 200 and "已退出管理后台" in out.text
    assert (await client.get("/admin/")).status_code == 401

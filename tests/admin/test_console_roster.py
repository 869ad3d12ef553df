"""花名册 over httpx: the member list and its export, an upload with a bad row (seen before
anything is written, then the good rows imported), invite sheets, edit, roles, unbind, leave."""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select

from bot.app import App
from models.member import Identity, InviteCode, Member
from models.org import Alliance, Membership, Unit
from tests.admin.conftest import Login, csrf_data, table_head, table_rows, xlsx_rows
from tests.fakes import Chat

FOOD = "食品产业链党建红色联盟"


async def food_units(chat: Chat) -> list[tuple[int, str]]:
    async with chat.app.sessionmaker() as session:
        rows = await session.execute(
            select(Unit.id, Unit.name)
            .join(Membership, Membership.unit_id == Unit.id)
            .join(Alliance, Alliance.id == Membership.alliance_id)
            .where(Alliance.name == FOOD)
            .order_by(Unit.id)
        )
        return [(i, n) for i, n in rows.all()]


async def count(chat: Chat, model: type) -> int:
    async with chat.app.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def roster_sheet(tmp_path: Path, units: list[tuple[int, str]]) -> Path:
    """A roster as an office keeps it: a title row, the header, one bad phone in row 4."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "党员名单"
    sheet.append(["食品产业链联盟新增党员（2026年12月）"])
    sheet.append(["姓名", "手机", "单位", "党员", "角色"])
    sheet.append(["钱一", "１３６ ０００１ ０００１", units[0][1], "是", ""])
    sheet.append(["孙二", "136000100", units[1][1], "是", ""])
    sheet.append(["李三", "13600010003", units[1][1], "是", "联络员"])
    sheet.merge_cells("A1:E1")
    path = tmp_path / "新党员.xlsx"
    book.save(path)
    return path


async def test_members_list_pages_filters_and_exports_what_is_on_screen(login: Login) -> None:
    client = await login("alliance_admin")
    page = await client.get("/admin/roster")
    assert "共 30 条，第 1/2 页" in page.text  # the food chain's members only
    found = await client.get("/admin/roster", params={"q": "13", "bound": "0"})
    rows = table_rows(found.text)
    assert rows and all(r[6] == "未绑定" for r in rows)
    small = await client.get("/admin/roster", params={"bound": "1"})
    shown = table_rows(small.text)
    assert len(shown) == 3  # host, member and the alliance admin are bound (console)
    export = await client.get("/admin/roster", params={"bound": "1", "format": "xlsx"})
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = xlsx_rows(export.content)
    assert sheet[0] == table_head(small.text)
    assert sheet[1:] == shown
    everything = xlsx_rows((await client.get("/admin/roster", params={"format": "xlsx"})).content)
    assert len(everything) == 31  # every page of the list, not only the first


async def test_upload_shows_the_bad_row_first_then_imports_the_good_ones(
    chat: Chat, login: Login, tmp_path: Path
) -> None:
    client = await login("alliance_admin")
    path = roster_sheet(tmp_path, await food_units(chat))
    members = await count(chat, Member)
    with path.open("rb") as handle:
        checked = await client.post(
            "/admin/roster/import",
            data=csrf_data(client, kind="members"),
            files={"file": (path.name, handle, "application/octet-stream")},
        )
    assert checked.status_code == 200
    assert "第 4 行：手机“136000100”不对，应为 1 开头的 11 位数字" in checked.text
    assert "只导入正确的 2 行" in checked.text and "尚未写入任何内容" in checked.text
    assert await count(chat, Member) == members
    token = re.search(r'name="token" value="([\w-]+)"', checked.text)
    assert token
    done = await client.post(
        "/admin/roster/import/run",
        data=csrf_data(client, kind="members", token=token.group(1), sheet=""),
    )
    assert done.status_code == 200 and "已导入：新成员 2 名；跳过有误的 1 行" in done.text
    assert await count(chat, Member) == members + 2
    sheet_link = re.search(r'href="(/admin/roster/invites/\d+)"', done.text)
    assert sheet_link
    sheet = await client.get(sheet_link.group(1))
    assert "邀请码（2 人）" in sheet.text and "钱一" in sheet.text and "李三" in sheet.text
    codes = re.findall(r'<div class="code">(\d{8})</div>', sheet.text)
    async with chat.app.sessionmaker() as session:
        stored = set(
            await session.scalars(
                select(InviteCode.code)
                .join(Member, Member.id == InviteCode.member_id)
                .where(Member.name.in_(["钱一", "李三"]))
            )
        )
    assert set(codes) == stored
    xlsx = xlsx_rows((await client.get(sheet_link.group(1), params={"format": "xlsx"})).content)
    assert {r[4] for r in xlsx[1:]} == stored
    assert (await chat.say("qian", f"绑定 {codes[0]}"))[0].startswith("绑定成功！欢迎您，钱一")
    again = await client.post(
        "/admin/roster/import/run",
        data=csrf_data(client, kind="members", token=token.group(1), sheet=""),
    )
    assert again.status_code == 400 and "上传的文件已过期，请重新上传" in again.text


async def test_upload_refuses_an_unreadable_file_in_one_sentence(login: Login) -> None:
    client = await login("alliance_admin")
    refused = await client.post(
        "/admin/roster/import",
        data=csrf_data(client, kind="members"),
        files={"file": ("名单.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)},
    )
    assert refused.status_code == 400
    assert "名单.xls 是旧版 Excel（.xls）或设置了密码的表格" in refused.text
    other = await client.post(
        "/admin/roster/import",
        data=csrf_data(client, kind="orgs"),
        files={
            "file": (
                "orgs.csv",
                "联盟,联盟类型,单位,单位类型,有党组织\n新联盟,行业,新公司,企业,是\n".encode(),
            )
        },
    )
    assert "新建联盟“新联盟”须由县级管理员导入" in other.text


async def test_invites_for_everyone_unbound_as_a_printable_sheet_with_qr_codes(
    demo_app: App, login: Login
) -> None:
    demo_app.settings = demo_app.settings.model_copy(update={"TELEGRAM_BOT_USERNAME": "hm_bot"})
    client = await login("alliance_admin")
    issued = await client.post("/admin/roster/invites", data=csrf_data(client, unbound="1"))
    assert issued.status_code == 303
    sheet = await client.get(issued.headers["location"])
    assert "邀请码（27 人）" in sheet.text  # 30 members, 3 bound
    assert sheet.text.count("<svg") >= 27 and "用 Telegram 扫码绑定" in sheet.text
    rows = xlsx_rows(
        (await client.get(issued.headers["location"], params={"format": "xlsx"})).content
    )
    assert len(rows) == 28 and rows[1][6].startswith("https://t.me/hm_bot?start=")


async def test_edit_roles_unbind_fresh_code_leave_and_come_back(chat: Chat, login: Login) -> None:
    client = await login("alliance_admin")
    async with chat.app.sessionmaker() as session:
        member = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == "member")
        )
    assert member is not None
    base = f"/admin/roster/members/{member.id}"
    page = await client.get(base)
    assert "保存身份" in page.text and "联盟管理员（食品产业链党建红色联盟）" in page.text
    assert "部门干部" not in page.text  # only the county gives that role
    roles = await client.post(f"{base}/roles", data=csrf_data(client, role=["liaison:"]))
    assert roles.status_code == 303
    assert "联络员" in (await client.get(base)).text
    taken = await client.post(
        f"{base}/edit",
        data=csrf_data(
            client, name=member.name, phone="13912370664", unit=str(member.home_unit_id), party="1"
        ),
    )
    assert taken.status_code == 400 and "这个手机号已登记为" in taken.text
    unbound = await client.post(f"{base}/unbind", data=csrf_data(client))
    assert unbound.status_code == 303
    assert (await chat.say("member", "/me"))[0].startswith("您还没有绑定身份")
    fragment = await client.post(
        f"{base}/invite", data=csrf_data(client), headers={"HX-Request": "true"}
    )
    code = re.search(r'<div class="code">(\d{8})</div>', fragment.text)
    assert code and "<html" not in fragment.text
    assert (await chat.say("member", f"绑定 {code.group(1)}"))[0].startswith("绑定成功")
    left = await client.post(f"{base}/leave", data=csrf_data(client))
    assert left.status_code == 303
    assert "已停用" in (await client.get(base)).text
    assert (await chat.say("member", "/me"))[0].startswith("您还没有绑定身份")
    listed = await client.get("/admin/roster", params={"status": "left"})
    assert [r[0] for r in table_rows(listed.text)] == [member.name]
    back = await client.post(f"{base}/back", data=csrf_data(client))
    assert back.status_code == 303 and "停用（已离开）" in (await client.get(base)).text
    me = await client.get("/admin/roster/members/" + str(await _id(chat, "alliance_admin")))
    assert "不能停用您自己" in me.text


async def _id(chat: Chat, key: str) -> int:
    async with chat.app.sessionmaker() as session:
        found = await session.scalar(select(Identity.member_id).where(Identity.user_key == key))
    assert found
    return found


async def test_a_new_member_gets_a_code_at_once(chat: Chat, login: Login) -> None:
    client = await login("alliance_admin")
    units = await food_units(chat)
    made = await client.post(
        "/admin/roster/members/new",
        data=csrf_data(client, name="周新", phone="13700009999", unit=str(units[0][0]), party="1"),
    )
    assert made.status_code == 303
    page = await client.get(made.headers["location"])
    assert "周新" in page.text and "13700009999" in page.text
    refused = await client.post(
        "/admin/roster/members/new",
        data=csrf_data(client, name="无单位", phone="13700008888", unit=""),
    )
    assert refused.status_code == 400 and "请选择所在单位。" in refused.text

"""轮值, 部门与分派, 活动, 资源 and 总览 over httpx: a rotation set up for an imported alliance
shows in chat, the routing table decides where the next ticket goes, activities are edited and
called off with their members told, exports hold what the pages list."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.core.clock import FrozenClock, to_local
from bot.scheduler import run_all
from handlers import SWEEPS
from models.activity import Activity
from models.member import Identity, InviteCode, Member
from models.org import Alliance, Department, Membership, Unit
from models.outbox import OutboxMessage
from models.resource import Resource
from models.rotation import RotationPlan
from models.ticket import Ticket
from tests.admin.conftest import Login, csrf_data, table_head, table_rows, xlsx_rows
from tests.fakes import Chat

ORGS = (
    "联盟,联盟类型,单位,单位类型,有党组织\n"
    "茶叶产业链党建红色联盟,产业链,县春芽茶业有限公司,企业,是\n"
    "茶叶产业链党建红色联盟,产业链,县云雾茶叶专业合作社,企业,是\n"
    "茶叶产业链党建红色联盟,产业链,县茶文化促进会,社会组织,是\n"
)
MEMBERS = (
    "姓名,手机,单位,角色\n"
    "周春华,13700000001,县春芽茶业有限公司,支部书记\n"
    "吴晓东,13700000002,县云雾茶叶专业合作社,\n"
)


async def upload(client, kind: str, name: str, content: str) -> str:  # type: ignore[no-untyped-def]
    checked = await client.post(
        "/admin/roster/import",
        data=csrf_data(client, kind=kind),
        files={"file": (name, content.encode("utf-8"))},
    )
    assert checked.status_code == 200, checked.text
    token = re.search(r'name="token" value="([\w-]+)"', checked.text)
    assert token, checked.text
    done = await client.post(
        "/admin/roster/import/run", data=csrf_data(client, kind=kind, token=token.group(1))
    )
    assert done.status_code == 200
    return done.text


async def test_rotation_for_an_imported_alliance_shows_its_host_in_chat(
    chat: Chat, login: Login
) -> None:
    admin = await login("admin")
    assert "新联盟 1 个、新单位 3 家" in await upload(admin, "orgs", "orgs.csv", ORGS)
    await upload(admin, "members", "members.csv", MEMBERS)
    async with chat.app.sessionmaker() as session:
        alliance = await session.scalar(
            select(Alliance).where(Alliance.name == "茶叶产业链党建红色联盟")
        )
        assert alliance is not None
        units = {
            u.name: u.id
            for u in await session.scalars(
                select(Unit).join(Membership).where(Membership.alliance_id == alliance.id)
            )
        }
        code = await session.scalar(
            select(InviteCode.code).join(Member).where(Member.name == "吴晓东")
        )
    assert code is not None
    await chat.say("wu", f"绑定 {code}")
    assert await chat.say("wu", "/rotation") == ["您所在的联盟还没有设置轮值安排。"]
    page = await admin.get(f"/admin/rotation/{alliance.id}")
    assert "这个联盟还没有轮值安排" in page.text
    saved = await admin.post(
        f"/admin/rotation/{alliance.id}",
        data=csrf_data(
            admin,
            period="month",
            starts_on="2026-12-01",
            term="12",
            **{
                f"order_{units['县云雾茶叶专业合作社']}": "1",
                f"order_{units['县春芽茶业有限公司']}": "2",
                f"chair_{units['县茶文化促进会']}": "1",
            },
        ),
    )
    assert saved.status_code == 303
    [reply] = await chat.say("wu", "/rotation")
    assert reply.splitlines()[:3] == [
        "🔄 茶叶产业链党建红色联盟",
        "主席单位：县茶文化促进会（任期至 2027年11月30日）",
        "本期轮值（2026年12月）：县云雾茶叶专业合作社",
    ]
    listed = await admin.get("/admin/rotation", params={"q": "茶叶"})
    rows = table_rows(listed.text)
    assert rows == [
        [
            "茶叶产业链党建红色联盟",
            "每月",
            "2026年12月：县云雾茶叶专业合作社",
            "2027年1月：县春芽茶业有限公司",
            "县茶文化促进会",
            "2",
        ]
    ]
    # January goes to 县春芽茶业 instead, swapped with February: its secretary is told.
    swapped = await admin.post(
        f"/admin/rotation/{alliance.id}/swap", data=csrf_data(admin, first="1", second="2")
    )
    assert swapped.status_code == 303
    page = await admin.get(f"/admin/rotation/{alliance.id}")
    assert "<td>2027年1月</td>\n        <td>县云雾茶叶专业合作社</td>" in page.text
    async with chat.app.sessionmaker() as session:
        told = await session.scalar(
            select(OutboxMessage.text)
            .join(Member, Member.id == OutboxMessage.member_id)
            .where(Member.name == "周春华", OutboxMessage.kind == "rotation")
        )
    assert told == "联盟管理员安排贵单位承办 茶叶产业链党建红色联盟 2027年2月 的轮值活动。"


async def test_rotation_sheet_upload_and_an_alliance_admin_only_sees_their_own(
    chat: Chat, login: Login
) -> None:
    client = await login("alliance_admin")
    async with chat.app.sessionmaker() as session:
        plan = await session.scalar(
            select(RotationPlan)
            .join(Alliance, Alliance.id == RotationPlan.alliance_id)
            .where(Alliance.name == "食品产业链党建红色联盟")
        )
        assert plan is not None
        names = [(await session.get(Unit, u)).name for u in plan.unit_ids[:2]]  # type: ignore[union-attr]
    listed = table_rows((await client.get("/admin/rotation")).text)
    assert [r[0] for r in listed] == ["食品产业链党建红色联盟"]
    sheet = (
        "联盟,单位,轮办顺序,周期,起始日期\n"
        f"食品产业链党建红色联盟,{names[1]},1,月,2026-12-01\n"
        f"食品产业链党建红色联盟,{names[0]},2,月,2026-12-01\n"
        f"快递物流行业党建红色联盟,{names[0]},1,月,2026-12-01\n"
    )
    checked = await client.post(
        "/admin/roster/import",
        data=csrf_data(client, kind="rotation"),
        files={"file": ("rotation.csv", sheet.encode())},
    )
    assert "第 4 行：联盟“快递物流行业党建红色联盟”不在您管理的范围内" in checked.text
    token = re.search(r'name="token" value="([\w-]+)"', checked.text)
    assert token
    done = await client.post(
        "/admin/roster/import/run", data=csrf_data(client, kind="rotation", token=token.group(1))
    )
    assert "更新轮值（已开始的轮值期保持原承办单位）：食品产业链党建红色联盟" in done.text
    [reply] = await chat.say("member", "/rotation")
    lines = reply.splitlines()  # no chair columns in the sheet: no chair line
    assert lines[1] == f"本期轮值（2026年12月）：{names[0]}"  # December had started: kept
    # The new order counts from its start (December: names[1], January: names[0], ...).
    assert lines[3:5] == [f"· 2027年1月：{names[0]}", f"· 2027年2月：{names[1]}"]


async def test_the_routing_table_decides_where_the_next_ticket_goes(
    chat: Chat, login: Login
) -> None:
    admin = await login("admin")
    page = await admin.get("/admin/departments")
    assert "分派规则" in page.text and "县税务局" in page.text
    added = await admin.post(
        "/admin/departments", data=csrf_data(admin, code="taxhall", name="县政务服务中心税务窗口")
    )
    assert added.status_code == 303
    saved = await admin.post(
        "/admin/departments/routing/tax",
        data=csrf_data(admin, department="taxhall", committee="红盟服务", sign="2", resolve="5"),
    )
    assert saved.status_code == 303
    bad = await admin.post(
        "/admin/departments/routing/tax",
        data=csrf_data(admin, department="taxhall", committee="红盟服务", sign="0", resolve="5"),
    )
    assert bad.status_code == 400 and "签收时限应为 1 到 10 个工作日。" in bad.text
    await chat.say("member", "增值税发票开不出来，税务这边卡住了")
    for _ in range(3):
        await chat.press("member", chat.last["member"][0].label)
    async with chat.app.sessionmaker() as session:
        ticket = await session.scalar(select(Ticket).order_by(Ticket.id.desc()))
        hall = await session.scalar(select(Department).where(Department.code == "taxhall"))
    assert ticket is not None and hall is not None
    assert ticket.department_id == hall.id
    assert ticket.resolve_due_at - ticket.created_at == timedelta(days=5)
    async with chat.app.sessionmaker() as session:
        member = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == "member")
        )
    assert member is not None
    found = await admin.get(f"/admin/departments/{hall.id}", params={"find": member.phone})
    assert member.name in found.text
    made = await admin.post(
        f"/admin/departments/{hall.id}/officers", data=csrf_data(admin, member=str(member.id))
    )
    assert made.status_code == 303
    queue = await chat.say("member", "工单")
    assert ticket.number in queue[0]  # now an officer of the window: its queue
    rows = table_rows((await admin.get("/admin/departments", params={"q": "taxhall"})).text)
    assert rows == [["taxhall", "县政务服务中心税务窗口", member.name, "税务发票"]]


async def test_activities_are_edited_and_called_off_with_members_told(
    chat: Chat, login: Login, clock: FrozenClock
) -> None:
    async with chat.app.sessionmaker() as session:
        meeting = await session.scalar(select(Activity).where(Activity.title == "党建联席会议"))
    assert meeting is not None
    clock.set(meeting.starts_at - timedelta(hours=23))  # the 24 h reminders go out
    await run_all(
        [s for s in SWEEPS if s.id == "activity_reminders"],
        chat.app.sessionmaker,
        chat.app.clock,
        chat.app.settings,
    )
    await chat.app.sender.drain()
    assert chat.received("member")[-1].startswith("⏰ 活动提醒：《党建联席会议》")
    client = await login("alliance_admin")
    listed = await client.get("/admin/activities")
    assert "党建联席会议" in [r[0] for r in table_rows(listed.text)]
    page = await client.get(f"/admin/activities/{meeting.id}")
    assert "取消活动并通知" in page.text
    start = to_local(meeting.starts_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    end = to_local(meeting.ends_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    saved = await client.post(
        f"/admin/activities/{meeting.id}",
        data=csrf_data(
            client, title="党建联席会议（改期）", place="县党群服务中心", start=start, end=end
        ),
    )
    assert saved.status_code == 303
    await chat.app.sender.drain()
    assert chat.received("member")[-1].startswith("📅 活动有变动：《党建联席会议（改期）》")
    assert chat.received("newcomer") == []  # never heard of it: not told of the change
    bad = await client.post(
        f"/admin/activities/{meeting.id}",
        data=csrf_data(client, title="会", place="县党群服务中心", start=start, end=end),
    )
    assert bad.status_code == 400 and "2 到 50 个字" in bad.text
    cancelled = await client.post(
        f"/admin/activities/{meeting.id}/cancel", data=csrf_data(client, reason="场地检修")
    )
    assert cancelled.status_code == 303
    await chat.app.sender.drain()
    told = chat.received("member")[-1]
    assert told.startswith("❌ 活动取消：《党建联席会议（改期）》") and "原因：场地检修" in told
    listed = await client.get("/admin/activities")
    assert "党建联席会议（改期）" not in [r[0] for r in table_rows(listed.text)]
    again = await client.post(f"/admin/activities/{meeting.id}/cancel", data=csrf_data(client))
    assert again.status_code == 400 and "已经取消" in again.text
    async with chat.app.sessionmaker() as session:
        kept = await session.get(Activity, meeting.id)
        assert kept is not None and kept.cancel_reason == "场地检修"  # part of the record
    mobile_activity = await _express_activity(chat)
    assert (await client.get(f"/admin/activities/{mobile_activity}")).status_code == 404


async def _express_activity(chat: Chat) -> int:
    async with chat.app.sessionmaker() as session:
        found = await session.scalar(
            select(Activity.id).where(Activity.title.contains("快递小哥"))
        )
    assert found
    return found


async def test_resources_and_the_overview_for_the_viewers_scope(chat: Chat, login: Login) -> None:
    admin = await login("admin")
    listed = await admin.get("/admin/resources", params={"kind": "千里马"})
    rows = table_rows(listed.text)
    assert rows and all(r[0] == "千里马清单" for r in rows)
    export = xlsx_rows(
        (await admin.get("/admin/resources", params={"kind": "千里马", "format": "xlsx"})).content
    )
    assert export[0] == table_head(listed.text) and export[1 : len(rows) + 1] == rows
    async with chat.app.sessionmaker() as session:
        resource = await session.scalar(
            select(Resource).where(Resource.kind == "千里马").order_by(Resource.id)
        )
    assert resource is not None
    gone = await admin.post(f"/admin/resources/{resource.id}/withdraw", data=csrf_data(admin))
    assert gone.status_code == 303
    expired = await admin.get("/admin/resources", params={"kind": "千里马", "valid": "expired"})
    assert [r[1] for r in table_rows(expired.text)] == [resource.title]
    overview = await admin.get("/admin/")
    assert "总览 · 全县" in overview.text and "<svg" in overview.text
    assert '<td data-label="联盟">14</td>' in overview.text
    mine = await (await login("alliance_admin")).get("/admin/")
    assert "总览 · 本联盟" in mine.text and '<td data-label="联盟">1</td>' in mine.text

"""认领商圈党建项目 transcripts: the alliance admin lists a project, the host's unit claims it as
lead (one a year), adds two weighted milestones (督办事项 of the unit), finishes one on time with
a deliverable and one late; progress and health are computed; the admin accepts it with a
satisfaction rating. Another unit joins."""

from __future__ import annotations

from sqlalchemy import select

from bot.core import Role
from bot.core.clock import FrozenClock
from models.files import store_upload
from models.followup import FollowUp, FollowUpEvent, Status
from models.member import Member, MemberRole
from models.project import Milestone, Project, ProjectState
from tests.fakes import Chat
from tests.handlers.test_volunteer import member_of
from tests.unit.test_files import photo

TITLE = "商圈夜市党建服务站"


async def project_rows(chat: Chat) -> list[Project]:
    async with chat.app.sessionmaker() as session:
        return list((await session.execute(select(Project).order_by(Project.id))).scalars())


async def items(chat: Chat) -> list[tuple[Milestone, FollowUp]]:
    async with chat.app.sessionmaker() as session:
        rows = await session.execute(
            select(Milestone, FollowUp)
            .join(FollowUp, FollowUp.id == Milestone.followup_id)
            .order_by(Milestone.id)
        )
        return [(m, i) for m, i in rows.all()]


async def list_one(chat: Chat) -> None:
    assert await chat.say("alliance_admin", "发布项目") == [
        "请发送项目名称（可在名称后换行写简介）："
    ]
    assert await chat.say("alliance_admin", f"{TITLE}\n在夜市设流动党员服务点") == [
        "项目什么时候完成？（例如 12月31日）"
    ]
    [preview] = await chat.say("alliance_admin", "12月31日")
    assert preview == (
        f"将发布商圈党建项目《{TITLE}》（食品产业链党建红色联盟，12月31日（周四）前完成），"
        "供成员单位认领。"
    )
    assert await chat.press("alliance_admin", "发布") == [
        f"✅ 已发布《{TITLE}》，成员单位书记可在“党建项目”中认领。"
    ]


async def finish(chat: Chat, user: str, item: FollowUp, note: str) -> list[str]:
    await chat.say(user, f"我的待办 {item.number}")
    await chat.press(user, "完成")
    await chat.say(user, note)
    return await chat.press(user, "跳过")


async def test_claimed_with_milestones_done_on_time_and_late_then_accepted(
    chat: Chat, clock: FrozenClock
) -> None:
    await list_one(chat)
    [listing] = await chat.say("host", "党建项目")
    assert listing.splitlines() == [
        "🏗️ 商圈党建项目（2026年，1 个）",
        f"1. XM-0001 {TITLE} — 待认领",
    ]
    [card] = await chat.press("host", "查看1")
    assert card.startswith(
        f"🏗️ XM-0001 {TITLE}\n在夜市设流动党员服务点\n联盟：食品产业链党建红色联盟"
    )
    [preview] = await chat.press("host", "认领")
    assert preview.endswith(
        f"牵头认领《{TITLE}》（每个单位每年牵头一个项目）。认领后请添加里程碑。"
    )
    [claimed] = await chat.press("host", "确认认领")
    assert claimed.endswith(f"已牵头认领《{TITLE}》。请点“添加里程碑”，写明名称、权重和截止日期。")
    host = await member_of(chat, "host")
    [row] = await project_rows(chat)
    assert (row.state, row.lead_unit_id, row.claimed_by_id) == (
        ProjectState.CLAIMED,
        host.home_unit_id,
        host.id,
    )
    assert chat.received("alliance_admin")[-1].endswith(f"牵头认领了商圈党建项目《{TITLE}》。")

    await chat.press("host", "添加里程碑")
    assert await chat.say("host", "走访商户") == [
        "没看懂，请按“名称 权重 截止日期”发送，例如：完成商户走访 30 12月20日。（发送“取消”退出）"
    ]
    assert await chat.say("host", "走访商户 0 12月5日") == [
        "权重要在 1 到 100 之间。（发送“取消”退出）"
    ]
    [added, card] = await chat.say("host", "走访夜市商户 40 12月5日")
    assert (
        added
        == "已添加里程碑“走访夜市商户”（权重 40，12月05日（周六）前），已列入牵头单位的待办。"
    )
    assert "进度：0%（0/1 个里程碑）· 🟡 有风险" in card  # due within 7 days
    await chat.press("host", "添加里程碑")
    [_, card] = await chat.say("host", "服务站挂牌运行 60 12月20日")
    assert "进度：0%（0/2 个里程碑）" in card
    (_first, first_item), (_second, second_item) = await items(chat)
    assert first_item.source == "milestone" and first_item.owner_unit_id == host.home_unit_id

    clock.advance(days=2)
    scan = store_upload(
        data=photo(), name="走访表.jpg", sent_as="photo", settings=chat.app.settings
    )
    await chat.say("host", f"我的待办 {first_item.number}")
    await chat.press("host", "完成")
    await chat.send(chat.event("host", text="走访商户 36 家", attachments=(scan,)))
    await chat.press("host", "确认完成")
    [card] = await _open(chat, "host")
    assert "进度：40%（1/2 个里程碑）· 🟢 正常" in card
    assert "· 走访夜市商户（权重 40）12月05日（周六）前 — ✅ 已完成" in card
    async with chat.app.sessionmaker() as session:
        event = await session.scalar(
            select(FollowUpEvent).where(
                FollowUpEvent.item_id == first_item.id, FollowUpEvent.action == "done"
            )
        )
    assert event is not None and event.file_sha256 == scan.sha256  # the deliverable

    clock.advance(days=20)  # 12月23日: the second milestone is overdue
    [card] = await _open(chat, "host")
    assert (
        "🔴 已逾期" in card
        and "服务站挂牌运行（权重 60）12月20日（周日）前 — 🔴 逾期 3 天" in card
    )
    [listing] = await chat.say("alliance_admin", "党建项目")
    assert "40% 🔴 已逾期" in listing
    await finish(chat, "host", second_item, "服务站已挂牌")
    await chat.press("host", "确认完成")
    [card] = await _open(chat, "host")
    assert "进度：100%（2/2 个里程碑）· 🟡 有风险" in card and "— ✅ 逾期完成" in card

    [card] = await _open(chat, "alliance_admin")
    [ask] = await chat.press("alliance_admin", "验收")
    assert ask == f"验收《{TITLE}》：请选择满意度（1–5 分），选择后即完成验收。"
    assert await chat.press("alliance_admin", "4分") == [f"✅ 已验收《{TITLE}》，满意度 4/5。"]
    [row] = await project_rows(chat)
    assert (row.state, row.rating) == (ProjectState.ACCEPTED, 4)
    assert chat.received("host")[-1] == f"联盟已验收贵单位牵头的《{TITLE}》，满意度 4/5。"
    (_, a), (_, b) = await items(chat)
    assert a.status == b.status == Status.DONE


async def _open(chat: Chat, user: str) -> list[str]:
    await chat.say(user, "党建项目")
    return await chat.press(user, "查看1")


async def test_one_project_a_unit_a_year_and_others_join(chat: Chat) -> None:
    await list_one(chat)
    await chat.say("alliance_admin", "发布项目")
    await chat.say("alliance_admin", "冷链食品安全共建")
    await chat.say("alliance_admin", "12月30日")
    await chat.press("alliance_admin", "发布")
    await _open(chat, "host")
    await chat.press("host", "认领")
    await chat.press("host", "确认认领")
    await chat.say("host", "党建项目")
    await chat.press("host", "查看2")
    await chat.press("host", "认领")
    assert await chat.press("host", "确认认领") == [
        "贵单位今年已经牵头认领了一个项目（每年一个）。"
    ]
    await _open(chat, "member")
    assert chat.last["member"] == ()  # an ordinary member neither claims nor joins
    member = await member_of(chat, "member")
    async with chat.app.sessionmaker() as session, session.begin():
        session.add(MemberRole(member_id=member.id, role=Role.SECRETARY))
    await _open(chat, "member")
    [joined] = await chat.press("member", "参与")
    assert joined.startswith("✅ ") and joined.endswith(f"已参与《{TITLE}》。")
    [card] = await _open(chat, "host")
    assert "参与单位：" in card
    assert [b.label for b in chat.last["host"]] == ["添加里程碑"]


async def test_a_project_from_a_meeting_decision_or_a_need(full_chat: Chat) -> None:
    """发布项目 DB-… takes the decision's title (同上 keeps it) and records where it came from;
    a number that is no decision or need of the admin's alliances is refused by name."""
    chat = full_chat  # the demo's quarter of meetings, with their decisions
    admin_id = (await member_of(chat, "alliance_admin")).id
    async with chat.app.sessionmaker() as session:
        admin = await session.get(Member, admin_id)
        assert admin is not None
        await session.refresh(admin, ["roles"])
        decision = await session.scalar(
            select(FollowUp)
            .where(FollowUp.source == "decision", admin.admin_scope().where(FollowUp.alliance_id))
            .order_by(FollowUp.id)
            .limit(1)
        )
        assert decision is not None
        number, title = decision.number, decision.title
    [asked] = await chat.say("alliance_admin", f"发布项目 {number.lower()}")
    assert asked.startswith(f"根据会议决议 {number}发布项目，名称暂定《{title}》。")
    assert await chat.say("alliance_admin", "同上") == ["项目什么时候完成？（例如 12月31日）"]
    [preview] = await chat.say("alliance_admin", "12月31日")
    assert preview.startswith(f"将发布商圈党建项目《{title}》")
    await chat.press("alliance_admin", "发布")
    project = (await project_rows(chat))[-1]
    assert (project.title, project.source, project.source_id) == (title, "decision", decision.id)
    assert await chat.say("alliance_admin", "发布项目 DB-9999") == [
        "没有找到“DB-9999”。可以写会议决议的督办编号（如 DB-0003）"
        "或需求工单号（如 WT-2026-0005），或只发送“发布项目”。"
    ]

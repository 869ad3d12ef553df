"""认领商圈党建项目: /projects (this year's projects of one's alliances with their progress and
health) and a project's card (认领 as lead, 参与, 添加里程碑, 验收 with a satisfaction rating);
/newproject is handlers/project_new.py. Milestones are 督办事项 of the lead unit: they are
done, with a deliverable, in “我的待办”, and reminded by the follow-up sweep."""

from __future__ import annotations

import re

from bot.core import Button, Flow, Reply, Role
from bot.core.clock import to_local
from bot.core.times import parse_when
from handlers.context import Context
from handlers.followup_text import show_day
from models.followup import ACTIVE, Status, today_of, unit_liaison_ids
from models.org import Alliance, Unit
from models.project import (
    RATINGS,
    Health,
    Project,
    ProjectError,
    ProjectState,
    accept,
    add_milestone,
    claim,
    done_late,
    figures_of,
    get_project,
    join,
    may_plan,
    milestones,
    partner_ids,
    projects_in,
)

STATE_ZH = {
    ProjectState.LISTED: "待认领",
    ProjectState.CLAIMED: "推进中",
    ProjectState.ACCEPTED: "已验收",
}
HEALTH_ZH = {
    Health.ON_TRACK: "🟢 正常",
    Health.AT_RISK: "🟡 有风险",
    Health.LATE: "🔴 已逾期",
    Health.NONE: "",
}
LIST_HEAD = "🏗️ 商圈党建项目（{year}年，{n} 个）"
LIST_LINE = "{i}. {number} {title} — {state}{lead}{progress}"
LIST_NONE = "今年还没有发布商圈党建项目。"
CARD = "🏗️ {number} {title}\n{description}联盟：{alliance}\n状态：{state}{lead}\n完成时限：{due}"
LEAD = " · 牵头：{unit}"
PARTNERS = "参与单位：{units}"
PROGRESS = "进度：{progress}%（{done}/{total} 个里程碑）{health}"
MILESTONE = "· {title}（权重 {weight}）{due}前 — {status}"
M_DONE = "✅ 已完成"
M_LATE_DONE = "✅ 逾期完成"
M_OPEN = "进行中"
M_OVERDUE = "🔴 逾期 {days} 天"
RATED = "验收：满意度 {rating}/5{note}"
NONE_YET = "还没有里程碑。"
CLAIM_PREVIEW = "将由{unit}牵头认领《{title}》（每个单位每年牵头一个项目）。认领后请添加里程碑。"
CLAIMED = "✅ {unit}已牵头认领《{title}》。请点“添加里程碑”，写明名称、权重和截止日期。"
TO_ADMIN_CLAIMED = "{unit}牵头认领了商圈党建项目《{title}》。"
JOINED = "✅ {unit}已参与《{title}》。"
ASK_MILESTONE = (
    "请发送里程碑：名称 权重 截止日期，例如：完成商户走访 30 12月20日。\n"
    "（权重 1–100，进度按已完成里程碑的权重计算）"
)
BAD_MILESTONE = "没看懂，请按“名称 权重 截止日期”发送，例如：完成商户走访 30 12月20日。"
ADDED = "已添加里程碑“{title}”（权重 {weight}，{due}前），已列入牵头单位的待办。"
ASK_RATING = "验收《{title}》：请选择满意度（1–5 分），选择后即完成验收。"
ACCEPTED = "✅ 已验收《{title}》，满意度 {rating}/5。"
TO_UNIT_ACCEPTED = "联盟已验收贵单位牵头的《{title}》，满意度 {rating}/5。"
PICK = "请按按钮选择，或发送“取消”。"
ERRORS = {
    "not_admin": "只有联盟管理员可以发布和验收项目。",
    "not_secretary": "只有成员单位的党组织书记可以为本单位认领或参与项目。",
    "not_member": "贵单位不是这个联盟的成员单位。",
    "claimed": "这个项目已经有牵头单位了，可以点“参与”。",
    "has_one": "贵单位今年已经牵头认领了一个项目（每年一个）。",
    "not_claimed": "这个项目还没有牵头单位。",
    "not_lead": "只有牵头单位书记或联盟管理员可以添加里程碑。",
    "bad_weight": "权重要在 1 到 100 之间。",
    "bad_date": "截止日期不能早于今天。",
    "open_milestones": "还有里程碑没有完成，暂不能验收。",
    "accepted": "这个项目已经验收了。",
    "bad_rating": "请选择 1 到 5 分。",
    "no_title": "名称太短了，请写清楚。",
    "joined": "贵单位已经参与这个项目了。",
    "lead": "贵单位是这个项目的牵头单位。",
    "not_found": "没有找到这个项目。",
}
MILESTONE_TEXT = re.compile(r"^(?P<title>.+?)\s+(?P<weight>\d{1,3})\s*%?\s+(?P<due>\S.*)$")
FLOW = Flow("projects")


async def show(ctx: Context) -> list[Reply]:
    """党建项目: this year's projects of one's alliances, each with a button to open it."""
    year = to_local(ctx.now).year
    found = await projects_in(ctx.session, ctx.me.visible_scope(), year)
    if not found:
        return [Reply(LIST_NONE)]
    lines = [LIST_HEAD.format(year=year, n=len(found))]
    buttons = []
    for i, project in enumerate(found[:20], 1):
        unit = await ctx.session.get(Unit, project.lead_unit_id) if project.lead_unit_id else None
        rows = await milestones(ctx.session, project.id)
        figures = figures_of(project, rows, today_of(ctx.now))
        lines.append(
            LIST_LINE.format(
                i=i,
                number=project.number,
                title=project.title,
                state=STATE_ZH[project.state],
                lead=LEAD.format(unit=unit.name) if unit else "",
                progress=f" · {figures.progress}% {HEALTH_ZH[figures.health]}".rstrip()
                if rows
                else "",
            )
        )
        buttons.append(Button(f"查看{i}", "projects.view", project=project.id))
    return [Reply("\n".join(lines), tuple(buttons))]


async def view(ctx: Context, project: int) -> list[Reply]:
    """A project's card with what this member may do."""
    found = await get_project(ctx.session, project)
    if found is None or not ctx.me.visible_scope().covers(found.alliance_id):
        return [Reply(ERRORS["not_found"])]
    return [await _card(ctx, found)]


async def _card(ctx: Context, project: Project) -> Reply:
    alliance = await ctx.session.get(Alliance, project.alliance_id)
    lead = await ctx.session.get(Unit, project.lead_unit_id) if project.lead_unit_id else None
    lines = [
        CARD.format(
            number=project.number,
            title=project.title,
            description=f"{project.description}\n" if project.description else "",
            alliance=alliance.name if alliance else "",
            state=STATE_ZH[project.state],
            lead=LEAD.format(unit=lead.name) if lead else "",
            due=show_day(project.due_on, ctx.now),
        )
    ]
    partners = [await ctx.session.get(Unit, u) for u in await partner_ids(ctx.session, project.id)]
    if partners:
        lines.append(PARTNERS.format(units="、".join(u.name for u in partners if u)))
    rows = await milestones(ctx.session, project.id)
    today = today_of(ctx.now)
    figures = figures_of(project, rows, today)
    if rows:
        lines.append(
            PROGRESS.format(
                progress=figures.progress,
                done=figures.done,
                total=figures.total,
                health=f"· {HEALTH_ZH[figures.health]}" if figures.health != Health.NONE else "",
            )
        )
    elif project.lead_unit_id:
        lines.append(NONE_YET)
    for milestone, item in rows:
        if item is None:
            continue
        if item.status == Status.DONE:
            status = M_LATE_DONE if done_late(item) else M_DONE
        elif item.status in ACTIVE and item.overdue_days(today):
            status = M_OVERDUE.format(days=item.overdue_days(today))
        else:
            status = M_OPEN if item.status in ACTIVE else "已撤销"
        lines.append(
            MILESTONE.format(
                title=milestone.title,
                weight=milestone.weight,
                due=show_day(item.due_on, ctx.now),
                status=status,
            )
        )
    if project.rating:
        note = f"，{project.accept_note}" if project.accept_note else ""
        lines.append(RATED.format(rating=project.rating, note=note))
    return Reply("\n".join(lines), _buttons(ctx, project, rows))


def _buttons(ctx: Context, project: Project, rows: list) -> tuple[Button, ...]:
    me = ctx.me
    buttons = []
    secretary = me.has_role(Role.SECRETARY) and me.home_unit_id is not None
    if project.state == ProjectState.LISTED and secretary:
        buttons.append(Button("认领", "projects.claim", project=project.id))
    if (
        project.state == ProjectState.CLAIMED
        and secretary
        and me.home_unit_id != project.lead_unit_id
        and not me.administers(project.alliance_id)
    ):
        buttons.append(Button("参与", "projects.join", project=project.id))
    if project.state == ProjectState.CLAIMED and may_plan(me, project):
        buttons.append(Button("添加里程碑", "projects.plan", project=project.id))
    if (
        project.state == ProjectState.CLAIMED
        and me.administers(project.alliance_id)
        and rows
        and all(i is None or i.status not in ACTIVE for _, i in rows)
    ):
        buttons.append(Button("验收", "projects.accept", project=project.id))
    return tuple(buttons)


async def start_claim(ctx: Context, project: int, sure: bool = False) -> list[Reply]:
    """认领: the preview first; 确认认领 makes the unit the lead."""
    found = await get_project(ctx.session, project)
    if found is None:
        return [Reply(ERRORS["not_found"])]
    unit = await ctx.session.get(Unit, ctx.me.home_unit_id) if ctx.me.home_unit_id else None
    name = unit.name if unit else ""
    if not sure:
        buttons = (
            Button("确认认领", "projects.claim", project=found.id, sure=True),
            Button("取消", "cancel"),
        )
        return [Reply(CLAIM_PREVIEW.format(unit=name, title=found.title), buttons)]
    try:
        await claim(session=ctx.session, project=found, actor=ctx.me, now=ctx.now)
    except ProjectError as error:
        return [Reply(ERRORS[error.reason])]
    from models.rotation import alliance_admins

    for admin in await alliance_admins(ctx.session, found.alliance_id):
        if admin.id != ctx.me.id:
            note = Reply(TO_ADMIN_CLAIMED.format(unit=name, title=found.title))
            await ctx.notify(admin.id, note, kind="project", ref_id=found.id)
    ctx.audit("project_claim", project_id=found.id)
    buttons = (Button("添加里程碑", "projects.plan", project=found.id),)
    return [Reply(CLAIMED.format(unit=name, title=found.title), buttons)]


async def start_join(ctx: Context, project: int) -> list[Reply]:
    """参与: the member's unit joins a claimed project."""
    found = await get_project(ctx.session, project)
    if found is None:
        return [Reply(ERRORS["not_found"])]
    try:
        await join(session=ctx.session, project=found, actor=ctx.me, now=ctx.now)
    except ProjectError as error:
        return [Reply(ERRORS[error.reason])]
    unit = await ctx.session.get(Unit, ctx.me.home_unit_id) if ctx.me.home_unit_id else None
    return [Reply(JOINED.format(unit=unit.name if unit else "", title=found.title))]


async def start_plan(ctx: Context, project: int) -> list[Reply]:
    """添加里程碑: ask for "名称 权重 截止日期"."""
    found = await get_project(ctx.session, project)
    if found is None:
        return [Reply(ERRORS["not_found"])]
    if not may_plan(ctx.me, found):
        return [Reply(ERRORS["not_lead"])]
    await ctx.dialog.set_state(milestone_step, project=found.id)
    return [Reply(ASK_MILESTONE)]


@FLOW.step("milestone", free_text=True)
async def milestone_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: one milestone; the card follows with the new figures."""
    found = await get_project(ctx.session, int(ctx.dialog.get_data().get("project", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(ERRORS["not_found"])]
    match = MILESTONE_TEXT.match(text.strip())
    when = parse_when(match["due"], ctx.now) if match else None
    if match is None or when is None:
        return [Reply(BAD_MILESTONE)]
    due = to_local(when.moment).date()
    try:
        milestone = await add_milestone(
            session=ctx.session,
            project=found,
            actor=ctx.me,
            title=match["title"],
            weight=int(match["weight"]),
            due_on=due,
            now=ctx.now,
        )
    except ProjectError as error:
        if error.reason in ("bad_weight", "bad_date", "no_title"):
            return [Reply(ERRORS[error.reason])]
        await ctx.dialog.clear()
        return [Reply(ERRORS[error.reason])]
    await ctx.dialog.clear()
    added = ADDED.format(
        title=milestone.title, weight=milestone.weight, due=show_day(due, ctx.now)
    )
    return [Reply(added), await _card(ctx, found)]


async def start_accept(ctx: Context, project: int, rating: int = 0) -> list[Reply]:
    """验收: the satisfaction ratings as buttons; pressing one accepts the project."""
    found = await get_project(ctx.session, project)
    if found is None:
        return [Reply(ERRORS["not_found"])]
    if not rating:
        buttons = tuple(
            Button(f"{r}分", "projects.accept", project=found.id, rating=r)
            for r in reversed(RATINGS)
        )
        return [Reply(ASK_RATING.format(title=found.title), buttons)]
    try:
        await accept(
            session=ctx.session, project=found, actor=ctx.me, rating=rating, note="", now=ctx.now
        )
    except ProjectError as error:
        return [Reply(ERRORS[error.reason])]
    note = Reply(TO_UNIT_ACCEPTED.format(title=found.title, rating=rating))
    for member_id in await unit_liaison_ids(ctx.session, found.lead_unit_id or 0):
        if member_id != ctx.me.id:
            await ctx.notify(member_id, note, kind="project", ref_id=found.id)
    ctx.audit("project_accept", project_id=found.id, rating=rating)
    return [Reply(ACCEPTED.format(title=found.title, rating=rating))]

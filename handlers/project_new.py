"""发布项目: /newproject, an alliance admin lists a 商圈党建项目 for member units to claim (which
alliance when one administers several, the name and a description, the due date, a preview)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.core import Button, Flow, Reply
from bot.core.clock import to_local
from bot.core.times import parse_when
from handlers.context import Context
from handlers.followup_text import show_day
from handlers.projects import ERRORS, PICK
from models.followup import today_of
from models.org import Alliance
from models.project import ProjectError, list_project

ASK_TITLE = "请发送项目名称（可在名称后换行写简介）："
ASK_DUE = "项目什么时候完成？（例如 12月31日）"
BAD_DATE = "没看懂这个日期，请发送例如“12月31日”。"
NEW_PREVIEW = "将发布商圈党建项目《{title}》（{alliance}，{due}前完成），供成员单位认领。"
LISTED = "✅ 已发布《{title}》，成员单位书记可在“党建项目”中认领。"
PICK_ALLIANCE = "在哪个联盟发布？"
NO_ALLIANCE = "您没有管理的联盟。"
NEW = Flow("newproject")


async def new(ctx: Context, alliance: int = 0) -> list[Reply]:
    """发布项目: which alliance (when one administers several), then the name."""
    scope = ctx.me.admin_scope()
    stmt = select(Alliance).where(scope.where(Alliance.id)).order_by(Alliance.id)
    alliances = list((await ctx.session.execute(stmt)).scalars())
    if not alliances:
        return [Reply(NO_ALLIANCE)]
    if not alliance and len(alliances) > 1:
        buttons = tuple(Button(a.name, "newproject", alliance=a.id) for a in alliances[:14])
        return [Reply(PICK_ALLIANCE, buttons)]
    chosen = alliance or alliances[0].id
    if not scope.covers(chosen):
        return [Reply(ERRORS["not_admin"])]
    await ctx.dialog.set_state(title_step, alliance=chosen)
    return [Reply(ASK_TITLE)]


@NEW.step("title", free_text=True)
async def title_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the name (and a description after a line break)."""
    title, _, description = text.strip().partition("\n")
    if len(title.strip()) < 2:
        return [Reply(ERRORS["no_title"])]
    await ctx.dialog.set_state(
        due_step, title=title.strip()[:100], description=description.strip()
    )
    return [Reply(ASK_DUE)]


@NEW.step("due", free_text=True)
async def due_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the date it is due; then the preview."""
    when = parse_when(text, ctx.now)
    if when is None:
        return [Reply(BAD_DATE)]
    day = to_local(when.moment).date()
    if day < today_of(ctx.now):
        return [Reply(ERRORS["bad_date"])]
    await ctx.dialog.set_state(new_confirm, due=day.isoformat())
    data = ctx.dialog.get_data()
    alliance = await ctx.session.get(Alliance, int(data["alliance"]))
    text = NEW_PREVIEW.format(
        title=data["title"], alliance=alliance.name if alliance else "", due=show_day(day, ctx.now)
    )
    buttons = (Button("发布", "newproject.confirm", do="yes"), Button("取消", "cancel"))
    return [Reply(text, buttons)]


@NEW.step("confirm")
async def new_confirm(ctx: Context, text: str = "", do: str = "") -> list[Reply]:
    """Step: 发布 lists the project."""
    if do != "yes":
        return [Reply(PICK)]
    data = ctx.dialog.get_data()
    await ctx.dialog.clear()
    try:
        project = await list_project(
            session=ctx.session,
            actor=ctx.me,
            alliance_id=int(data["alliance"]),
            title=str(data["title"]),
            description=str(data.get("description", "")),
            due_on=date.fromisoformat(data["due"]),
            now=ctx.now,
        )
    except ProjectError as error:
        return [Reply(ERRORS[error.reason])]
    ctx.audit("project_list", project_id=project.id)
    return [Reply(LISTED.format(title=project.title))]

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
from handlers.links import CODE_RE
from handlers.projects import ERRORS, PICK
from models.followup import get_item, today_of
from models.org import Alliance
from models.project import ProjectError, list_project
from models.ticket import find_typed

ASK_TITLE = "请发送项目名称（可在名称后换行写简介）："
ASK_DUE = "项目什么时候完成？（例如 12月31日）"
BAD_DATE = "没看懂这个日期，请发送例如“12月31日”。"
NEW_PREVIEW = "将发布商圈党建项目《{title}》（{alliance}，{due}前完成），供成员单位认领。"
LISTED = "✅ 已发布《{title}》，成员单位书记可在“党建项目”中认领。"
PICK_ALLIANCE = "在哪个联盟发布？"
NO_ALLIANCE = "您没有管理的联盟。"
FROM_SOURCE = "根据{source}发布项目，名称暂定《{title}》。\n" + ASK_TITLE.replace(
    "：", "（发送“同上”沿用）："
)
SOURCE_NOT_FOUND = (
    "没有找到“{text}”。可以写会议决议的督办编号（如 DB-0003）或需求工单号（如 WT-2026-0005），"
    "或只发送“发布项目”。"
)
SAME = ("同上", "就这个", "沿用", "不改")
NEW = Flow("newproject")


async def new(ctx: Context, alliance: int = 0, source: str = "") -> list[Reply]:
    """发布项目: which alliance (when one administers several), then the name. With a meeting
    decision's number (DB-0003) or a need's ticket number, the project comes from it."""
    scope = ctx.me.admin_scope()
    if source.strip():
        return await _from_source(ctx, source.strip())
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


async def _from_source(ctx: Context, typed: str) -> list[Reply]:
    """A project from a meeting decision (督办事项 of source decision) or a need (a ticket)."""
    scope = ctx.me.admin_scope()
    found: tuple[str, int, int | None, str, str] | None = None  # kind, id, alliance, title, label
    code = CODE_RE.match(typed)
    if code is not None and code.group(1).upper() == "DB":
        item = await get_item(ctx.session, int(code.group(3)))
        if item is not None and item.source == "decision":
            found = ("decision", item.id, item.alliance_id, item.title, f"会议决议 {item.number}")
    elif (ticket := await find_typed(ctx.session, typed=typed, viewer=ctx.me)) is not None:
        found = ("need", ticket.id, ticket.alliance_id, ticket.text[:40], f"需求 {ticket.number}")
    if found is None or found[2] is None or not scope.covers(found[2]):
        return [Reply(SOURCE_NOT_FOUND.format(text=typed))]
    kind, source_id, alliance_id, title, label = found
    await ctx.dialog.set_state(
        title_step, alliance=alliance_id, source=kind, source_id=source_id, proposed=title
    )
    return [Reply(FROM_SOURCE.format(source=label, title=title))]


@NEW.step("title", free_text=True)
async def title_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the name (and a description after a line break); 同上 keeps the proposed one."""
    proposed = ctx.dialog.get_data().get("proposed")
    if proposed and text.strip() in SAME:
        text = str(proposed)
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
            source=str(data.get("source") or "admin"),
            source_id=int(data["source_id"]) if data.get("source_id") else None,
        )
    except ProjectError as error:
        return [Reply(ERRORS[error.reason])]
    ctx.audit("project_list", project_id=project.id)
    return [Reply(LISTED.format(title=project.title))]

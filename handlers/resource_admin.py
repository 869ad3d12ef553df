"""Admins of the resource lists: add one resource in a dialog, and see the match figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.core import Button, Flow, Reply
from bot.core.clock import fmt_local
from handlers.context import Context
from models.org import Unit
from models.resource import KIND_WORDS, ResourceKind, add_resource, match_figures
from models.resource_import import TITLE_MAX, parse_date

FLOW = Flow("addresource")
SKIP_WORDS = frozenset({"无", "没有", "跳过", "长期", "长期有效"})
PROMPTS = (
    "要添加到哪个清单？（发送“取消”可退出）",
    "请输入资源标题（100 字以内）：",
    "请输入简介（发送“无”跳过）：",
    "请输入提供单位名称：",
    "请输入联系人和联系方式，例如：张三 13900000000。\n发送“我”则由您本人接收对接请求：",
    "这条资源对哪些联盟可见？",
    "有效期至哪天？例如 2027-06-30；发送“无”表示长期有效：",
)
FIELDS = ("kind", "title", "description", "provider", "contact", "scope", "until")
BAD = {
    "kind": "请点选一个清单，或发送：伙伴、管家、千里马、蓝海。",
    "title": "标题不能为空，且在 100 字以内，请重新输入：",
    "provider": "提供单位不能为空，请重新输入：",
    "contact": "请输入联系人和联系方式，或发送“我”：",
    "scope": "请点选可见范围：",
    "until": "日期格式不对或已过，请输入如 2027-06-30 的日期，或发送“无”：",
}
ADDED = "✅ 已添加到{kind}清单：{title}（{scope}{until}）"
ALL, MINE = "全部联盟", "本联盟"
NO_MATCHES = "还没有资源对接记录。"
FIGURES = (
    "🤝 资源对接统计（请求 / 已同意）\n按清单：\n{kinds}\n按联盟（请求方所在联盟）：\n{alliances}"
)


async def start(ctx: Context) -> list[Reply]:
    """Start the add-one-resource dialog."""
    await ctx.dialog.set_state(field, i=0, v={})
    return [_prompt(ctx, 0)]


def _prompt(ctx: Context, i: int, error: str = "") -> Reply:
    text = error or PROMPTS[i]
    if FIELDS[i] == "kind":
        buttons = tuple(Button(k, "addresource.field", value=str(k)) for k in ResourceKind)
        return Reply(text, buttons=buttons)
    if FIELDS[i] == "scope":
        buttons = [Button(ALL, "addresource.field", value="all")]
        if ctx.me.admin_scope().alliances:
            buttons.append(Button(MINE, "addresource.field", value="mine"))
        return Reply(text, buttons=tuple(buttons))
    return Reply(text)


@FLOW.step("field", free_text=True)
async def field(ctx: Context, text: str = "", value: str = "") -> list[Reply]:
    """Dialog step: one field of the new resource, then the next prompt or the saved resource."""
    state = ctx.dialog.get_data()
    i, values = int(state.get("i", 0)), dict(state.get("v", {}))
    name, value = FIELDS[i], (value or text).strip()
    parsed = _parse(ctx, name, value)
    if parsed is None:
        return [_prompt(ctx, i, BAD.get(name, ""))]
    values[name] = parsed
    if i + 1 < len(FIELDS):
        await ctx.dialog.update_data(i=i + 1, v=values)
        return [_prompt(ctx, i + 1)]
    await ctx.dialog.clear()
    return [await _save(ctx, values)]


def _parse(ctx: Context, name: str, value: str) -> Any:
    """The field's stored value, or None when it is not acceptable."""
    if name == "kind":
        kind = KIND_WORDS.get(value)
        return str(kind) if kind else None
    if name == "title":
        return value if 0 < len(value) <= TITLE_MAX else None
    if name == "description":
        return "" if value in SKIP_WORDS else value
    if name == "provider":
        return value[:100] or None
    if name == "contact":
        return value[:100] or None
    if name == "scope":
        if value in ("all", ALL):
            return "all"
        mine = value in ("mine", MINE) and ctx.me.admin_scope().alliances
        return "mine" if mine else None
    if value in SKIP_WORDS:
        return ""
    until = parse_date(value)
    return until.isoformat() if until is not None and until > ctx.now else None


async def _save(ctx: Context, values: dict[str, Any]) -> Reply:
    me_contact = values["contact"] == "我"
    unit_id = await ctx.session.scalar(select(Unit.id).where(Unit.name == values["provider"]))
    until = datetime.fromisoformat(values["until"]) if values["until"] else None
    resource = await add_resource(
        session=ctx.session,
        kind=ResourceKind(values["kind"]),
        title=values["title"],
        description=values["description"],
        provider=values["provider"],
        provider_unit_id=unit_id,
        contact=f"{ctx.me.name} {ctx.me.phone}".strip() if me_contact else values["contact"],
        contact_member_id=ctx.me.id if me_contact else None,
        alliance_ids=None if values["scope"] == "all" else ctx.me.admin_scope().alliances,
        valid_until=until,
        created_by_id=ctx.me.id,
        now=ctx.now,
    )
    ctx.audit("resource_added", resource_id=resource.id)
    scope = ALL if values["scope"] == "all" else MINE
    return Reply(
        ADDED.format(
            kind=resource.kind,
            title=resource.title,
            scope=f"{scope}可见",
            until=f"，有效期至 {fmt_local(until - timedelta(seconds=1), '%Y-%m-%d')}"
            if until
            else "，长期有效",
        )
    )


async def stats(ctx: Context) -> list[Reply]:
    """Matches requested and accepted, per list and per alliance (admins: their alliances)."""
    figures = await match_figures(session=ctx.session, scope=ctx.me.admin_scope())
    if not figures.by_kind:
        return [Reply(NO_MATCHES)]
    kinds = [
        f"· {k}：{figures.by_kind.get(k, (0, 0))[0]} / {figures.by_kind.get(k, (0, 0))[1]}"
        for k in ResourceKind
    ]
    alliances = [f"· {name}：{n} / {a}" for name, n, a in figures.by_alliance]
    return [Reply(FIGURES.format(kinds="\n".join(kinds), alliances="\n".join(alliances)))]

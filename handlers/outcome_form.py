"""/addoutcome (填报成果): an alliance admin or a unit liaison reports one outcome of a quarter:
the metric (the catalogue's typed ones; derived ones are refused: the bot counts them), the unit
(admins: a member unit or 联盟整体), the quarter, the figure in any Chinese form (3000余万,
1.7亿, 二百六十万元) or the names of the people helped, a description, evidence (photos or
files), an optional link (a claimed project, an activity or meeting of the alliance, a fund
expense ZC-0001, a ticket WT-2026-0005, a follow-up item DB-0003: handlers/links.py),
then the preview: 确认 / 修改 / 取消.
/editoutcome (修改成果 CG-0001) corrects a returned one; a locked one is refused with the lock.

Dialog: addoutcome.metric, .unit, .quarter, .value, .text, .evidence, .link, .confirm.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from bot.core import Attachment, Button, Flow, Reply, Role
from bot.core.money import AmountError, parse_amount, parse_count
from handlers import links
from handlers.context import Context
from handlers.outcome_text import (
    entry_value,
    figure_text,
    lock_reason,
    period_of,
    reviewers,
    told_text,
    view_button,
)
from handlers.uploads import as_values, from_values, kind_zh, problem, usable
from models.org import Alliance, Membership, Unit
from models.outcome import (
    BY_KEY,
    METRICS,
    TYPED,
    Kind,
    Metric,
    OutcomeEntry,
    OutcomeError,
    Period,
    can_view,
    check,
    clean_names,
    edit,
    find_metric,
    get_entry,
    parse_period,
    previous_quarter,
    quarter_of,
    same_period,
    submit,
)

ASK_METRIC = "填报哪一项成果？（解决城市治理难题、整合资源、资源对接由系统自动统计，不用填）"
DERIVED = "“{name}”由系统按{source}自动统计，不用填写。请选择其他一项。"
DERIVED_SOURCE = {
    "tickets": "办结的吹哨工单",
    "resources": "共享资源清单",
    "matches": "资源对接记录",
}
PICK_METRIC = "请点选一项成果，或输入名称（如：降低企业成本）。"
COUNTY_NO = "县级不直接填报成果：各联盟和成员单位填报，县里审核汇总，避免重复计数。"
NOT_ALLOWED = "联盟管理员或成员单位联络员可以填报成果。"
ASK_UNIT = "是哪个成员单位的成果？请输入单位名称（可以只写一部分），联盟整体的成果点“联盟整体”。"
NO_UNIT = "本联盟没有名称含“{text}”的成员单位，请重新输入，或点“联盟整体”。"
MANY_UNITS = "有几个单位符合，请点选："
ASK_QUARTER = "是哪个季度的成果？"
BAD_QUARTER = "请点选季度，或写成“2026年第三季度”。"
ASK_VALUE = {
    Kind.MONEY: "{name}多少？例如：3000余万、1.7亿、二百六十万元。\n口径：{definition}{guidance}",
    Kind.COUNT: "{name}多少{unit}？\n口径：{definition}{guidance}",
    Kind.NAMED: "请写出{name}的名单，用顿号或逗号分开（每个只计一次）。\n"
    "口径：{definition}{guidance}",
}
BAD_AMOUNT = {
    "empty": "请写一个金额，例如：3000余万、1.7亿、二百六十万元。（未保存）",
    "negative": "金额不能是负数，请重新输入。（未保存）",
    "not_a_number": (
        "没看懂这个金额。可以这样写：3000余万、1.7亿、2,335万、二百六十万元。（未保存）"
    ),
    "too_large": "这个金额太大了，请核对后重新输入。（未保存）",
}
BAD_COUNT = "请写一个整数，例如：37、三十七、479余。（未保存）"
ZERO = "数值要大于零，请重新输入。（未保存）"
ASK_TEXT = "请简要说明这项成果（做了什么、惠及谁）："
KEEP_TEXT = "请简要说明修改了什么；原说明不变就点“不改说明”。"
TEXT_REQUIRED = "说明不能为空，请写一句，或发送“取消”。"
ASK_EVIDENCE = "请发送凭证照片或文件（合同、回单、收据、现场照片）。{required}"
EVIDENCE_REQUIRED = "这项成果必须附凭证。"
MORE_EVIDENCE = "要补充凭证就发送照片或文件；不补充点“跳过”。"
EVIDENCE_OPTIONAL = "没有就点“跳过”。"
GOT_EVIDENCE = "已收到{kind}（共 {count} 份）。还可以继续发送，或点“下一步”。"
NEED_EVIDENCE = "这项成果必须附凭证，请发送照片或文件。"
ASK_LINK = (
    "这项成果关联哪个项目、活动、会议、经费支出或工单？点选下面的活动或项目，或输入项目、活动或"
    "会议名称，或编号（项目 XM-0001、支出 ZC-0001、工单 WT-2026-0005、督办 DB-0003）；"
    "没有就点“跳过”。"
)
PREVIEW_HEAD = "请核对，确认后提交联盟审核："
TWICE = "⚠️ 同一单位本季度已有{count}条“{name}”（合计{total}），请勿重复填报同一笔成果。"
PICK_CONFIRM = "请点“确认”提交，或点“修改”重新填写数值。"
SUBMITTED = "已提交成果 {number}，等待联盟审核。审核结果会通知您。"
EDITED = "已修改成果 {number}，已重新提交联盟审核。"
ERRORS = {
    "not_permitted": "您不能修改 {number}。",
    "illegal": "{number} 当前不能修改。",
    "evidence_required": NEED_EVIDENCE,
    "no_names": "名单不能为空，请重新输入。",
    "zero": ZERO,
    "derived": "这一项由系统自动统计，不用填写。",
}
ENTRY_RE = re.compile(r"^\s*(?:CG)?\s*-?\s*0*(\d{1,6})\s*$", re.I)
WHOLE = "联盟整体"
FLOW = Flow("addoutcome")


async def start(ctx: Context) -> list[Reply]:
    """Ask which metric; the sender's alliance and unit come from the role."""
    me = ctx.me
    scope = me.admin_scope()
    if scope.county:
        return [Reply(COUNTY_NO)]
    if not scope.empty:
        alliance_id, unit_id = min(scope.alliances), None
    elif me.has_role(Role.LIAISON) and me.home_unit_id and me.home_alliances():
        alliance_id, unit_id = min(me.home_alliances()), me.home_unit_id
    else:
        return [Reply(NOT_ALLOWED)]
    await ctx.dialog.set_state(metric_step, alliance_id=alliance_id, unit_id=unit_id, files=[])
    return [Reply(ASK_METRIC, _metric_buttons())]


def _metric_buttons() -> tuple[Button, ...]:
    return tuple(Button(m.name, "addoutcome.metric", metric=m.key) for m in TYPED)


@FLOW.step("metric")
async def metric_step(ctx: Context, text: str = "", metric: str = "") -> list[Reply]:
    """Step: the metric, pressed or typed; a derived one is explained and refused."""
    chosen = BY_KEY.get(metric) or find_metric(text)
    if chosen is None:
        derived = next((m for m in METRICS if m.derived and m.name in text), None)
        if derived is not None:
            source = DERIVED_SOURCE[derived.derived]
            return [Reply(DERIVED.format(name=derived.name, source=source), _metric_buttons())]
        return [Reply(PICK_METRIC, _metric_buttons())]
    data = ctx.dialog.get_data()
    if data.get("unit_id") is None:
        await ctx.dialog.set_state(unit_step, metric=chosen.key)
        return [Reply(ASK_UNIT, (Button(WHOLE, "addoutcome.unit", whole=True),))]
    await ctx.dialog.set_state(quarter_step, metric=chosen.key)
    return [Reply(ASK_QUARTER, _quarter_buttons(ctx))]


@FLOW.step("unit", free_text=True)
async def unit_step(
    ctx: Context, text: str = "", whole: bool = False, unit: int = 0
) -> list[Reply]:
    """Step: the member unit (a part of its name), or 联盟整体."""
    data = ctx.dialog.get_data()
    if whole or unit:
        await ctx.dialog.set_state(quarter_step, unit_id=unit or 0)
        return [Reply(ASK_QUARTER, _quarter_buttons(ctx))]
    words = text.strip()
    stmt = (
        select(Unit)
        .join(Membership, Membership.unit_id == Unit.id)
        .where(Membership.alliance_id == int(data["alliance_id"]), Unit.name.contains(words))
        .order_by(Unit.name)
    )
    found = list((await ctx.session.execute(stmt)).scalars()) if words else []
    whole_button = Button(WHOLE, "addoutcome.unit", whole=True)
    if not found:
        return [Reply(NO_UNIT.format(text=words), (whole_button,))]
    if len(found) > 1:
        buttons = tuple(Button(u.name, "addoutcome.unit", unit=u.id) for u in found[:8])
        return [Reply(MANY_UNITS, (*buttons, whole_button))]
    await ctx.dialog.set_state(quarter_step, unit_id=found[0].id)
    return [Reply(ASK_QUARTER, _quarter_buttons(ctx))]


def _quarter_buttons(ctx: Context) -> tuple[Button, ...]:
    this, last = quarter_of(ctx.now), previous_quarter(ctx.now)
    return (
        Button(
            f"本季度（{this.label}）", "addoutcome.quarter", year=this.year, q=this.quarter or 0
        ),
        Button(
            f"上季度（{last.label}）", "addoutcome.quarter", year=last.year, q=last.quarter or 0
        ),
    )


@FLOW.step("quarter")
async def quarter_step(ctx: Context, text: str = "", year: int = 0, q: int = 0) -> list[Reply]:
    """Step: this quarter, the last, or one typed (2026年第三季度)."""
    period = Period(year, q) if year and q else parse_period(text, ctx.now)
    if period is None or not period.single_quarter or period.bounds()[0] > ctx.now:
        return [Reply(BAD_QUARTER, _quarter_buttons(ctx))]
    await ctx.dialog.set_state(value_step, year=period.year, quarter=period.quarter)
    return [Reply(_ask_value(_metric(ctx)))]


def _ask_value(metric: Metric) -> str:
    return ASK_VALUE[metric.kind].format(
        name=metric.name,
        unit=metric.unit,
        definition=metric.definition,
        guidance=metric.guidance,
    )


def _metric(ctx: Context) -> Metric:
    return BY_KEY[str(ctx.dialog.get_data()["metric"])]


@FLOW.step("value", free_text=True)
async def value_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the figure (money in any Chinese form, a count, or names); bad input stores
    nothing and asks again."""
    metric = _metric(ctx)
    names: list[str] = []
    approximate = False
    if metric.kind == Kind.NAMED:
        names = clean_names(text)
        if not names:
            return [Reply(ERRORS["no_names"])]
        value = len(names)
    elif metric.kind == Kind.MONEY:
        try:
            amount = parse_amount(text)
        except AmountError as error:
            return [Reply(BAD_AMOUNT[error.reason])]
        value, approximate = amount.fen, amount.approximate
    else:
        try:
            value, approximate = parse_count(text)
        except AmountError:
            return [Reply(BAD_COUNT)]
    if value <= 0:
        return [Reply(ZERO)]
    await ctx.dialog.set_state(text_step, value=value, approximate=approximate, names=names)
    if ctx.dialog.get_data().get("edit"):
        return [Reply(KEEP_TEXT, (Button("不改说明", "addoutcome.text", keep=True),))]
    return [Reply(ASK_TEXT)]


@FLOW.step("text", free_text=True)
async def text_step(ctx: Context, text: str = "", keep: bool = False) -> list[Reply]:
    """Step: the description; then the evidence."""
    if not keep and not text.strip():
        return [Reply(TEXT_REQUIRED)]
    await ctx.dialog.set_state(evidence_step, description="" if keep else text.strip())
    data = ctx.dialog.get_data()
    if data.get("edit"):
        return [Reply(MORE_EVIDENCE, (Button("跳过", "addoutcome.evidence", done=True),))]
    return [_ask_evidence(_metric(ctx))]


def _ask_evidence(metric: Metric) -> Reply:
    if metric.evidence_required:
        return Reply(ASK_EVIDENCE.format(required=EVIDENCE_REQUIRED))
    return Reply(
        ASK_EVIDENCE.format(required=EVIDENCE_OPTIONAL),
        (Button("跳过", "addoutcome.evidence", done=True),),
    )


NEXT = (Button("下一步", "addoutcome.evidence", done=True),)


@FLOW.step("evidence", free_text=True)  # words typed here are not another request
async def evidence_step(
    ctx: Context, text: str = "", attachments: tuple[Attachment, ...] = (), done: bool = False
) -> list[Reply]:
    """Step: photos or files, one or more; 下一步 (or 跳过 where none is required)."""
    metric = _metric(ctx)
    files = list(ctx.dialog.get_data().get("files") or [])
    trouble = problem(attachments, ctx.settings)
    if trouble:
        return [Reply(trouble)]
    got = usable(attachments)
    if got is not None:
        files.append(as_values(got))
        await ctx.dialog.update_data(files=files)
        return [Reply(GOT_EVIDENCE.format(kind=kind_zh(got.kind), count=len(files)), NEXT)]
    if not done:
        if files:
            return [Reply(GOT_EVIDENCE.format(kind="凭证", count=len(files)), NEXT)]
        return [_ask_evidence(metric)]
    if ctx.dialog.get_data().get("edit"):
        return [await _preview(ctx)]
    if metric.evidence_required and not files:
        return [Reply(NEED_EVIDENCE)]
    await ctx.dialog.set_state(link_step)
    return [await _ask_link(ctx)]


LINK_KINDS = ("project", "activity", "expense", "ticket", "followup")


async def _ask_link(ctx: Context, text: str = ASK_LINK) -> Reply:
    alliance_id = int(ctx.dialog.get_data()["alliance_id"])
    return await links.ask(ctx.session, alliance_id, ctx.now, LINK_KINDS, "addoutcome.link", text)


@FLOW.step("link", free_text=True)
async def link_step(
    ctx: Context, text: str = "", kind: str = "", ref: int = 0, skip: bool = False
) -> list[Reply]:
    """Step: an optional link — a claimed project or an activity or meeting of the alliance (a
    button, or part of its title typed; a project also by XM-0001), a fund expense (ZC-0001), a
    ticket (WT-2026-0005) or a follow-up item (DB-0003)."""
    if not skip:
        alliance_id = int(ctx.dialog.get_data()["alliance_id"])
        if kind:
            one = await links.pressed(ctx.session, alliance_id, kind, ref, LINK_KINDS)
            found = [one] if one is not None else []
        else:
            found = await links.typed(ctx.session, alliance_id, ctx.now, text, LINK_KINDS)
        if not found:
            return [await _ask_link(ctx, links.not_found(text, LINK_KINDS))]
        if len(found) > 1:
            many = links.MANY.format(text=text.strip())
            return [Reply(many, links.buttons(found, "addoutcome.link"))]
        await ctx.dialog.update_data(link=list(found[0].link))
    await ctx.dialog.set_state(confirm_step)
    return [await _preview(ctx)]


async def _preview(ctx: Context) -> Reply:
    data = ctx.dialog.get_data()
    await ctx.dialog.set_state(confirm_step)
    metric = _metric(ctx)
    period = Period(int(data["year"]), int(data["quarter"]))
    value = figure_text(metric, int(data["value"]), bool(data.get("approximate")))
    alliance = await ctx.session.get(Alliance, int(data["alliance_id"]))
    unit_id = int(data.get("unit_id") or 0)
    unit = await ctx.session.get(Unit, unit_id) if unit_id else None
    lines = [
        PREVIEW_HEAD,
        f"{metric.name}：{value}",
        f"{unit.name if unit else WHOLE}（{alliance.name if alliance else ''}）· {period.label}",
    ]
    if data.get("names"):
        lines.append("名单：" + "、".join(data["names"][:20]))
    if data.get("description"):
        lines.append(f"说明：{data['description']}")
    files = [from_values(dict(f)) for f in data.get("files") or []]
    if files:
        lines.append(
            f"凭证 {len(files)} 份："
            + "；".join(f"{kind_zh(a.kind)} {a.name}" for a in files if a)
        )
    if data.get("link"):
        lines.append(f"关联：{data['link'][2]}")
    if not data.get("edit"):
        twice = await same_period(
            ctx.session, int(data["alliance_id"]), unit_id or None, metric.key, period
        )
        if twice:
            total = figure_text(
                metric, sum(e.value for e in twice), any(e.approximate for e in twice)
            )
            lines.append(TWICE.format(count=len(twice), name=metric.name, total=total))
    buttons = (
        Button("确认", "addoutcome.confirm", do="yes"),
        Button("修改", "addoutcome.confirm", do="edit"),
    )
    return Reply("\n".join(lines), buttons)


@FLOW.step("confirm")
async def confirm_step(ctx: Context, text: str = "", do: str = "") -> list[Reply]:
    """Step: 确认 submits (or resubmits a correction); 修改 asks for the figure again."""
    if do == "edit":
        await ctx.dialog.set_state(value_step)
        return [Reply(_ask_value(_metric(ctx)))]
    if do != "yes":
        return [Reply(PICK_CONFIRM)]
    data = ctx.dialog.get_data()
    attachments = [a for a in (from_values(dict(f)) for f in data.get("files") or []) if a]
    if data.get("edit"):
        return await _save_edit(ctx, data, attachments)
    try:
        entry = await submit(
            session=ctx.session,
            member=ctx.me,
            alliance_id=int(data["alliance_id"]),
            unit_id=int(data.get("unit_id") or 0) or None,
            metric=_metric(ctx),
            period=Period(int(data["year"]), int(data["quarter"])),
            value=int(data["value"]),
            approximate=bool(data.get("approximate")),
            names=[str(n) for n in data.get("names") or []],
            description=str(data.get("description", "")),
            attachments=attachments,
            link=tuple(data["link"]) if data.get("link") else None,  # type: ignore[arg-type]
            now=ctx.now,
        )
    except OutcomeError as error:
        return [Reply(ERRORS.get(error.reason, ERRORS["illegal"]).format(number=""))]
    await ctx.dialog.clear()
    await _tell_reviewers(ctx, entry, "submit")
    return [Reply(SUBMITTED.format(number=entry.number), view_button(entry))]


async def _save_edit(
    ctx: Context, data: dict[str, Any], attachments: list[Attachment]
) -> list[Reply]:
    entry = await get_entry(ctx.session, int(data["edit"]))
    if entry is None:
        await ctx.dialog.clear()
        return [Reply(ERRORS["illegal"].format(number=""))]
    try:
        await edit(
            session=ctx.session,
            entry=entry,
            member=ctx.me,
            value=int(data["value"]),
            approximate=bool(data.get("approximate")),
            names=[str(n) for n in data.get("names") or []],
            description=str(data.get("description", "")) or None,
            attachments=attachments,
            now=ctx.now,
        )
    except OutcomeError as error:
        await ctx.dialog.clear()
        if error.reason == "locked":
            return [Reply(lock_reason(entry, ctx.now))]
        return [Reply(ERRORS.get(error.reason, ERRORS["illegal"]).format(number=entry.number))]
    await ctx.dialog.clear()
    await _tell_reviewers(ctx, entry, "edit")
    return [Reply(EDITED.format(number=entry.number), view_button(entry))]


async def _tell_reviewers(ctx: Context, entry: OutcomeEntry, key: str) -> None:
    unit = await ctx.session.get(Unit, entry.unit_id) if entry.unit_id else None
    text = told_text(key, entry, who=ctx.me.name, unit=unit.name if unit else WHOLE)
    for admin in await reviewers(ctx.session, entry):
        if admin.id != ctx.me.id:
            await ctx.notify(admin.id, Reply(text, view_button(entry)), kind="outcome")


async def typed_edit(ctx: Context, entry: str = "") -> list[Reply]:
    """修改成果 CG-0001: correct one's returned entry (a locked one is refused with its lock)."""
    typed = ENTRY_RE.match(entry or "")
    found = await get_entry(ctx.session, int(typed.group(1))) if typed else None
    if found is None or not can_view(ctx.me, found):
        return [Reply("请写上成果编号，例如：修改成果 CG-0001。")]
    return await start_edit(ctx, found)


async def start_edit(ctx: Context, entry: OutcomeEntry) -> list[Reply]:
    """The correction of an entry: the figure again, then the description; a locked entry is
    refused with who locked it and when."""
    try:
        check(ctx.me, entry, "edit")
    except OutcomeError as error:
        if error.reason == "locked":
            return [Reply(lock_reason(entry, ctx.now))]
        return [Reply(ERRORS.get(error.reason, ERRORS["illegal"]).format(number=entry.number))]
    period = period_of(entry)
    await ctx.dialog.set_state(
        value_step,
        edit=entry.id,
        metric=entry.metric,
        alliance_id=entry.alliance_id,
        unit_id=entry.unit_id or 0,
        year=period.year,
        quarter=period.quarter,
        files=[],
    )
    head = f"修改 {entry.number}（现为 {entry_value(entry)}）。"
    if entry.reason:
        head += f"退回理由：{entry.reason}\n"
    return [Reply(head + _ask_value(entry.spec))]

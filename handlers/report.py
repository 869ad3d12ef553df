"""/report (吹哨): describe a problem, pick the unit and category, confirm; and /myreports."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot import nlu
from bot.core import Button, Flow, Reply
from bot.core.clock import fmt_local
from bot.nlu import SHORTEST_REPORT, ticket_number
from handlers import resources
from handlers.context import Context
from handlers.ticket_text import announce
from handlers.tickets import NOT_FOUND
from models.member import Member
from models.org import Department, Unit
from models.routing import ROUTING, category_label, current_rule, rule_for
from models.ticket import (
    Ticket,
    TicketError,
    admin_ids,
    cosign,
    file_ticket,
    history,
)

ALIASES = ("吹哨", "反映问题")
ASK_TEXT = "请用一两句话说说遇到的问题（发送“取消”可退出）："
TOO_SHORT = "再具体一点吧（至少 5 个字），比如：增值税发票开不出来，已经三天了。"
ASK_UNIT = "这个问题涉及哪个单位？点下面的按钮，或直接输入单位全称："
NO_HOME_UNIT = "这个问题涉及哪个单位？请输入单位全称："
UNIT_NOT_FOUND = "没有找到“{name}”，请输入单位全称，或点“本单位”按钮。"
ASK_CATEGORY = "建议分类：{label}（转{department}，{committee}跟进）。\n分类不对可以点选其他分类："
PICK_CATEGORY = "请点按钮选择问题分类。"
CONFIRM = "请确认：\n单位：{unit}\n分类：{label}\n问题：{text}"
PICK_CONFIRM = "请点“提交”或“取消”。"
FILED = (
    "🚩 吹哨成功！工单号 {number}\n已转{department}，{committee}跟进；"
    "部门将在 {sign_due} 前签收，{resolve_due} 前办结。\n发送“我的吹哨”查看进度。"
)
FILED_OFFLINE = (
    "🚩 吹哨成功！工单号 {number}\n已转{department}，{committee}跟进。\n"
    "⚠️ {department}还没有干部使用红盟助手，已转联盟管理员（{admins}）联系部门办理或改派，"
    "{sign_due} 前签收，{resolve_due} 前办结。\n发送“我的吹哨”查看进度。"
)
NO_DEPARTMENT = "联盟管理员分派"
ASK_COSIGN = "请发送要附议的工单编号，例如：附议 WT-2026-0001"
COSIGNED = "已附议 {number}（{category}），办理进展会同步告诉您。"
COSIGN_ERRORS = {
    "already_reporter": "您已经是 {number} 的反映人了。",
    "illegal": "{number} 已经办结或关闭，不能再附议；如问题仍在，请重新吹哨。",
}
MIN_LENGTH = SHORTEST_REPORT
# What people say before the problem itself: it is not part of the problem.
REQUEST_WORDS = re.compile(
    r"^(?:你好|您好)?[，,\s]*(?:我|我们)?(?:想|要|需要)?(?:吹个?哨|反映(?:个|一个|一下)?(?:问题|情况|困难)?)"
    r"[：:，,。\s]*"
)
HESITATION = re.compile(
    r"(?:(?:嗯+|呃+|那个|等一?下|稍等|我?再想想|让我想想|我想一下|想一想)[，,。.…！!\s]*)+"
)
TAKE_YOUR_TIME = "好的，想好了直接发给我，一两句话说清楚就行（发送“取消”可退出）。"
CONFIRM_BUTTONS = (Button("提交", "report.confirm", submit=True), Button("取消", "cancel"))
FLOW = Flow("report")


async def start(ctx: Context, text: str = "", category: str | None = None) -> list[Reply]:
    """Start reporting; a free-text complaint the NLU recognised becomes the description."""
    text = text.strip() or _free_text(ctx)
    if category not in ROUTING:
        category = None
    await ctx.dialog.set_state(receive_text, category=category)
    if not text:
        return [Reply(ASK_TEXT)]
    return await receive_text(ctx, text=text)


def _free_text(ctx: Context) -> str:
    """The sender's own words, without a leading 我要吹哨 / 反映个问题; empty when the message
    only asked to report."""
    raw = ctx.incoming.text.strip()
    if not raw or raw.startswith("/") or raw.split()[0] in ALIASES:
        return ""
    raw = problem_of(raw)
    return raw if len(raw) >= 8 or nlu.category(raw) != "other" else ""


def problem_of(text: str) -> str:
    """The problem itself: 我要吹哨：增值税发票开不出来 → 增值税发票开不出来."""
    return REQUEST_WORDS.sub("", text, count=1).strip()


@FLOW.step("text", free_text=True, questions_answer=True)
async def receive_text(ctx: Context, text: str = "") -> list[Reply]:
    """Dialog step: the problem in the member's words."""
    text = problem_of(text.strip())
    if not text or HESITATION.fullmatch(text):
        return [Reply(TAKE_YOUR_TIME if text else ASK_TEXT)]
    if len(text) < MIN_LENGTH:
        return [Reply(TOO_SHORT)]
    await ctx.dialog.set_state(receive_unit, text=text[:1000])
    if ctx.me.home_unit is None:
        return [Reply(NO_HOME_UNIT)]
    return [Reply(ASK_UNIT, _unit_buttons(ctx))]


def _unit_buttons(ctx: Context) -> tuple[Button, ...]:
    unit = ctx.me.home_unit
    return (Button(f"本单位：{unit.name}", "report.unit", home=True),) if unit else ()


@FLOW.step("unit", free_text=True)
async def receive_unit(ctx: Context, text: str = "", home: bool = False) -> list[Reply]:
    """Dialog step: the unit concerned, the member's own by default."""
    if home and ctx.me.home_unit_id is not None:
        unit_id = ctx.me.home_unit_id
    else:
        name = text.strip()
        unit_id = await ctx.session.scalar(select(Unit.id).where(Unit.name == name))
        if unit_id is None:
            return [Reply(UNIT_NOT_FOUND.format(name=name), _unit_buttons(ctx))]
    flow = ctx.dialog.get_data()
    proposed = flow.get("category") or nlu.category(flow.get("text", ""))
    await ctx.dialog.set_state(receive_category, unit_id=unit_id, category=proposed)
    rule = await current_rule(ctx.session, proposed)  # as the county set it
    department = await _department_name(ctx, rule.department)
    text = ASK_CATEGORY.format(label=rule.label, department=department, committee=rule.committee)
    return [Reply(text, _category_buttons(proposed))]


def _category_buttons(proposed: str) -> tuple[Button, ...]:
    rule = rule_for(proposed)
    buttons = [Button(f"✅ {rule.label}", "report.category", category=rule.category)]
    buttons += [
        Button(r.label, "report.category", category=c)
        for c, r in ROUTING.items()
        if c != rule.category
    ]
    return tuple(buttons)


@FLOW.step("category")
async def receive_category(ctx: Context, category: str = "") -> list[Reply]:
    """Dialog step: the category, proposed or corrected with a button."""
    flow = ctx.dialog.get_data()
    if category not in ROUTING:
        return [Reply(PICK_CATEGORY, _category_buttons(flow.get("category", "other")))]
    data = category
    await ctx.dialog.set_state(confirm, category=data)
    unit = await ctx.session.get(Unit, flow["unit_id"])
    text = CONFIRM.format(
        unit=unit.name if unit else "", label=category_label(data), text=flow["text"]
    )
    return [Reply(text, CONFIRM_BUTTONS)]


@FLOW.step("confirm")
async def confirm(ctx: Context, submit: bool = False) -> list[Reply]:
    """Dialog step: file the ticket and tell the alliance and the department."""
    if not submit:
        return [Reply(PICK_CONFIRM, CONFIRM_BUTTONS)]
    flow = ctx.dialog.get_data()
    ticket, events = await file_ticket(
        session=ctx.session,
        reporter=ctx.me,
        unit_id=flow["unit_id"],
        text=flow["text"],
        category=flow["category"],
        now=ctx.now,
    )
    for event in events:
        await announce(ctx, ticket, event)
    await ctx.dialog.clear()
    ctx.audit("ticket_filed", number=ticket.number)
    filed = (FILED_OFFLINE if ticket.admins_stand_in else FILED).format(
        number=ticket.number,
        department=ticket.department.name if ticket.department else NO_DEPARTMENT,
        committee=ticket.committee,
        sign_due=fmt_local(ticket.sign_due_at),
        resolve_due=fmt_local(ticket.resolve_due_at),
        admins=await _admin_names(ctx, ticket),
    )
    return [Reply(filed), *await matching_resources(ctx, ticket)]


async def _admin_names(ctx: Context, ticket: Ticket) -> str:
    ids = await admin_ids(ctx.session, ticket.alliance_id, supers="fallback")
    names = await ctx.session.scalars(select(Member.name).where(Member.id.in_(ids)))
    return "、".join(names) or "县级管理员"


async def matching_resources(ctx: Context, ticket: Ticket) -> list[Reply]:
    """Up to three shared-resource entries matching the ticket (a bank's loan for finance)."""
    return await resources.suggest(ctx, ticket.text, nlu.category_words(ticket.category))


async def cosign_ticket(ctx: Context, ticket: str = "") -> list[Reply]:
    """附议: co-sign an open ticket of one's own alliance instead of filing a duplicate."""
    number = ticket_number(ticket or ctx.incoming.text)
    if number is None:
        return [Reply(ASK_COSIGN)]
    found = await ctx.session.scalar(select(Ticket).where(Ticket.number == number))
    if found is None or found.alliance_id not in ctx.me.home_alliances():
        return [Reply(NOT_FOUND)]
    return await _cosign(ctx, found)


async def _cosign(ctx: Context, ticket: Ticket) -> list[Reply]:
    try:
        await cosign(session=ctx.session, ticket=ticket, member=ctx.me, now=ctx.now)
    except TicketError as error:
        return [Reply(COSIGN_ERRORS.get(error.reason, NOT_FOUND).format(number=ticket.number))]
    await announce(ctx, ticket, (await history(ctx.session, ticket))[-1])
    label = category_label(ticket.category)
    return [Reply(COSIGNED.format(number=ticket.number, category=label))]


async def _department_name(ctx: Context, code: str | None) -> str:
    if code is None:
        return NO_DEPARTMENT
    name = await ctx.session.scalar(select(Department.name).where(Department.code == code))
    return name or NO_DEPARTMENT

"""/tickets: the department's queue, ticket detail with history, and every ticket action.

Buttons: tickets.view (ticket), tickets.act (do = an action of the state table, ticket),
tickets.route (ticket, department code), tickets.rate (ticket, rating).
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.core import Button, Flow, Reply, Role
from bot.core.clock import fmt_local
from bot.nlu import ticket_number
from handlers import paging
from handlers.context import Context
from handlers.stats import scope_label
from handlers.ticket_text import (
    ACTION_ZH,
    BUTTON_ZH,
    RATING_ZH,
    STATE_ZH,
    action_buttons,
    announce,
    detail,
    preview,
    summary,
)
from models.button import recent_buttons
from models.org import Department
from models.routing import ROUTING, category_label, department_matches
from models.ticket import (
    ACTIONS,
    IllegalTransition,
    NotPermitted,
    Rating,
    Ticket,
    TicketError,
    TicketState,
    actor_kinds,
    can_view,
    department_by_code,
    find_typed,
    get_ticket,
    history,
    may_merge_into,
    may_withdraw,
    offline_departments,
    queue,
    reporter_tickets,
    transition,
)
from models.ticket_figures import ticket_figures

NOT_FOUND = "没有找到这个工单，或您无权查看。"
NO_QUEUE = "待办工单队列只对部门干部和联盟管理员开放。"
NO_REPORTS = "您（及本单位）还没有反映过问题。发送“吹哨”反映一个问题。"
MY_TITLE = "📮 我反映的问题（{count} 件）："
NOTHING_TO_WITHDRAW = (
    "您没有可以撤回的吹哨：已办结、已有其他单位附议或已合并的问题不能撤回。"
    "发送“我的吹哨”查看进度。"
)
PICK_WITHDRAW = "要撤回哪一件？点一下（撤回前会再确认一次）："
EMPTY = "目前没有待办工单。"
QUEUE_TITLE = "📥 {scope}待办工单 {count} 件（最早的在前）："
ASK_NOTE = {
    "update": "请输入办理进展：",
    "resolve": "请输入办结说明（问题是怎么解决的）：",
    "return": "请输入退回理由（为什么不属于本部门）：",
    "reject": "请输入不予受理的理由：",
    "withdraw": "为什么撤回？写一句理由（会告知承办部门和联盟管理员），或点“跳过”：",
}
# Notes that may be skipped (跳过): the withdrawal's reason.
SKIPPABLE = frozenset({"withdraw"})
SKIP = "跳过"
SKIP_WORDS = frozenset({"跳过", "不写", "无", "没有", "不用"})
ASK_UNSATISFIED = "很抱歉没让您满意。请说说哪里不满意（会转给承办部门继续办理），或点“跳过”："
ASK_CATEGORY = (
    "改派至{department}：时限从现在重新计算。\n分类还是“{label}”吗？点当前分类即不改，"
    "或点选新的分类："
)
OFFLINE_FLAG = "（⚠️无干部在线）"
ROUTED_OFFLINE = (
    "\n⚠️ {department}还没有干部使用红盟助手，工单由您跟进：请联系部门线下办理"
    "（可代部门签收、记录进展、办结），或再改派。"
)
PAGE_TARGET = {"queue": "tickets.page", "mine": "myreports.page"}
ASK_MERGE = "请输入要并入的更早工单编号和理由，例如：WT-2026-0001 同一问题"
BAD_MERGE = "格式不对。请输入：工单编号 理由，例如：WT-2026-0001 同一问题"
ASK_DEPARTMENT = "请选择 {number} 的承办部门（也可以直接写部门名，如“人社局”）："
WHICH_DEPARTMENT = "“{text}”对应几个部门，请点选："
UNKNOWN_DEPARTMENT = "没有找到“{text}”这个部门，请点按钮选择："
CONFIRM_FIRST = frozenset({"update", "resolve", "return", "reject", "withdraw"})
ACTION_WORDS = {"签收": "sign", "办结": "resolve", "退回": "return", "不予受理": "reject"}
ACTION_WORDS |= {"更新进展": "update", "反馈进展": "update"}
TYPED_REFERENCE = re.compile(r"\s*((?:[Ww][Tt])?\s*-?\s*(?:\d{4}\s*-?\s*)?\d{1,4})(?!\d)\s*")
WHICH_TICKET = "{action}哪一件？请写上工单编号，例如：{action} 0005，或发送“工单”查看待办。"
PICK_CONFIRM = "请点“确认”，或点“修改”重新填写。"
MERGE_INTO = "将 {number} 并入 {target}（{number} 的反映人会加入 {target}）。\n"
DONE = {
    "sign": "已签收 {number}，部门报到成功。",
    "update": "已记录 {number} 的进展，并告知反映人。",
    "resolve": "{number} 已办结，已请反映人评价。",
    "return": "已退回 {number}，联盟管理员将重新分派。",
    "route": "已将 {number} 派至{department}（{category}），新时限：{sign_due} 前签收，"
    "{resolve_due} 前办结。",
    "reject": "{number} 已标记为不予受理，并告知反映人。",
    "merge": "{number} 已并入 {target}，反映人已加入该工单。",
    "rate": "感谢您的评价！{number} 已关闭。",
    "reopen": "很抱歉没让您满意，{number} 已重新打开，承办部门会继续办理。",
    "withdraw": "已撤回 {number}，承办部门和联盟管理员已知悉。",
}
SIGNED_FOR = "已代{department}签收 {number}，反映人已收到通知。请联系部门办理，进展可在这里记录。"
ILLEGAL = "{number} 当前状态是“{state}”，不能{action}。"
NOT_PERMITTED = "您不能对 {number} 执行“{action}”。"
ERRORS = {
    "note_required": "请写明理由或说明（不能为空），或发送“取消”。",
    "bad_target": "不能并入这个工单：请填写一个更早、仍在办理中的工单编号。",
    "not_found": NOT_FOUND,
    "department_required": "请从按钮中选择一个部门。",
    "cosigned": "已有其他单位附议了这个问题，不能撤回。如问题已解决，请联系联盟管理员。",
}
SHORT_NUMBER = re.compile(
    r"(?i)wt\s*-?\s*(\d{1,4})(?!\d)|(?<!\d)(\d{1,4})\s*号|(?<!\d)(\d{4})(?!\d)"
)
PICK_CATEGORY = "请点按钮选择分类。"
FLOW = Flow("tickets")


async def show(ctx: Context, ticket: str = "") -> list[Reply]:
    """A ticket's detail when a number is given (however typed), else the sender's queue,
    oldest first; someone with no queue sees the problems they reported."""
    typed = ticket or _number_in_message(ctx)
    if re.search(r"\d", typed):  # 工单 还有哪些没办 asks for the queue, not a number
        return await _view(ctx, await find_typed(ctx.session, typed=typed, viewer=ctx.me))
    return await _queue(ctx, 0)


async def page(ctx: Context, offset: int = 0) -> list[Reply]:
    """Button 上一页 / 下一页 of the queue."""
    return await _queue(ctx, offset)


async def _queue(ctx: Context, offset: int) -> list[Reply]:
    me = ctx.me
    if me.has_role(Role.OFFICER) and me.department_id is not None:
        tickets = await queue(ctx.session, department_id=me.department_id)
        scope = me.department.name if me.department else ""
    elif not me.admin_scope().empty:
        tickets = await queue(ctx.session, scope=me.admin_scope())
        scope = scope_label(me.admin_scope())
    else:
        return await mine(ctx, note=NO_QUEUE)
    if not tickets:
        return [Reply(EMPTY)]
    head = QUEUE_TITLE.format(scope=scope, count=len(tickets))
    return [_listing(ctx, head, tickets, offset, "queue")]


def _listing(ctx: Context, head: str, tickets: list[Ticket], offset: int, kind: str) -> Reply:
    """One page of tickets, numbered, overdue marked, a button per ticket and the paging."""
    shown, offset = paging.window(tickets, offset)
    lines = [head + paging.where(offset, len(shown), len(tickets))]
    staff = kind == "queue"
    lines += [f"{offset + i}. {summary(t, ctx.now, staff=staff)}" for i, t in enumerate(shown, 1)]
    buttons = [Button(t.number, "tickets.view", ticket=t.id) for t in shown]
    buttons += paging.buttons(PAGE_TARGET[kind], offset, len(tickets))
    return Reply("\n".join(lines), tuple(buttons))


async def mine(ctx: Context, ticket: str = "", note: str = "") -> list[Reply]:
    """/myreports: the sender's (and, for a liaison, the unit's) tickets, newest first."""
    typed = ticket or _number_in_message(ctx)
    if re.search(r"\d", typed):
        return await _view(ctx, await find_typed(ctx.session, typed=typed, viewer=ctx.me))
    return await _mine(ctx, 0, note)


async def mine_page(ctx: Context, offset: int = 0) -> list[Reply]:
    """Button 上一页 / 下一页 of /myreports."""
    return await _mine(ctx, offset)


async def _mine(ctx: Context, offset: int, note: str = "") -> list[Reply]:
    found = await reporter_tickets(ctx.session, ctx.me)
    if not found:
        return [Reply(note + NO_REPORTS)]
    return [_listing(ctx, note + MY_TITLE.format(count=len(found)), found, offset, "mine")]


async def withdraw(ctx: Context, ticket: str = "") -> list[Reply]:
    """撤回吹哨 [编号]: that ticket's withdrawal (reason, then 确认); without a number the
    sender's tickets that may still be withdrawn, one button each (one alone is taken)."""
    typed = ticket or _number_in_message(ctx)
    if re.search(r"\d", typed):
        found = await find_typed(ctx.session, typed=typed, viewer=ctx.me)
        if found is None:
            return [Reply(NOT_FOUND)]
        return await act(ctx, do="withdraw", ticket=found.id)
    mine = await reporter_tickets(ctx.session, ctx.me)
    open_ones = [t for t in mine if _precheck(ctx, t, "withdraw") is None]
    if not open_ones:
        return [Reply(NOTHING_TO_WITHDRAW)]
    if len(open_ones) == 1:
        return await act(ctx, do="withdraw", ticket=open_ones[0].id)
    shown = open_ones[: paging.SIZE]
    lines = [PICK_WITHDRAW]
    lines += [f"{i}. {summary(t, ctx.now)}" for i, t in enumerate(shown, 1)]
    buttons = tuple(
        Button(f"撤回 {t.number}", "tickets.act", do="withdraw", ticket=t.id) for t in shown
    )
    return [Reply("\n".join(lines), buttons)]


def _number_in_message(ctx: Context) -> str:
    """A ticket number in the message, when the NLU routed it here without the slot: a full
    one, WT5, 5号工单, or four digits (查一下0005)."""
    text = ctx.incoming.text
    if text.startswith("/"):
        return ""
    found = ticket_number(text)
    if found is not None:
        return found
    short = SHORT_NUMBER.search(text)
    return next(g for g in short.groups() if g) if short else ""


async def view(ctx: Context, ticket: int) -> list[Reply]:
    """Button: a ticket's detail and the buttons for what the viewer may do."""
    await _leave_note(ctx)
    return await _view(ctx, await _find(ctx, ticket_id=ticket))


async def act(ctx: Context, do: str, ticket: int) -> list[Reply]:
    """Button: take an action now, or ask for its note, the merge target or the department."""
    await _leave_note(ctx)
    found = await _find(ctx, ticket_id=ticket)
    if found is None or do not in ACTIONS:
        return [Reply(NOT_FOUND)]
    if do == "route":
        return await _choose_department(ctx, found)
    if do in ASK_NOTE or do == "merge":
        refusal = _precheck(ctx, found, do)
        if refusal:
            return refusal
        step = merge_step if do == "merge" else note_step
        await ctx.dialog.set_state(step, action=do, ticket_id=found.id)
        return [_ask_note(do)]
    return await _act(ctx, found, do)


async def act_typed(ctx: Context, rest: str = "") -> list[Reply]:
    """签收 0002 / 办结 WT-2026-0005 已上门辅导… / 退回 实为银行授信问题: an action typed with
    its ticket (or the ticket last shown) and, for the ones that need it, the note."""
    word = next(
        w for w in sorted(ACTION_WORDS, key=len, reverse=True) if ctx.incoming.text.startswith(w)
    )
    do = ACTION_WORDS[word]
    reference = TYPED_REFERENCE.match(rest)
    note = rest[reference.end() :].strip() if reference else rest.strip()
    if reference:
        found = await find_typed(ctx.session, typed=reference.group(1), viewer=ctx.me)
    else:
        found = await _last_shown(ctx)
    if found is None:
        return [Reply(WHICH_TICKET.format(action=word))]
    replies = await act(ctx, do=do, ticket=found.id)
    if note and ctx.dialog.step == note_step.name:
        return await note_step(ctx, text=note)
    return replies


async def _last_shown(ctx: Context) -> Ticket | None:
    """The one ticket the buttons of the last message shown to this person were about."""
    shown = await recent_buttons(
        session=ctx.session,
        platform=ctx.platform,
        user_key=ctx.user_key,
        since=ctx.now - timedelta(minutes=30),
    )
    latest = [s for s in shown if shown and s.at == shown[0].at]
    ids = {s.press.values.get("ticket") for s in latest if s.press.target.startswith("tickets.")}
    ids.discard(None)
    return await _find(ctx, ticket_id=int(ids.pop())) if len(ids) == 1 else None


def _ask_note(action: str) -> Reply:
    if action == "merge":
        return Reply(ASK_MERGE)
    skip = (Button(SKIP, "tickets.note", skip=True),) if action in SKIPPABLE else ()
    return Reply(ASK_NOTE[action], skip)


async def route_to(ctx: Context, ticket: int, department: str) -> list[Reply]:
    """Button: a department chosen for dispatch; then the category (kept or changed)."""
    found = await _find(ctx, ticket_id=ticket)
    if found is None:
        return [Reply(NOT_FOUND)]
    refusal = _precheck(ctx, found, "route")
    if refusal:
        return refusal
    chosen = await department_by_code(ctx.session, department)
    if chosen is None:
        return [Reply(ERRORS["department_required"])]
    await ctx.dialog.set_state(category_step, ticket_id=found.id, department=chosen.code)
    label = category_label(found.category)
    text = ASK_CATEGORY.format(department=chosen.name, label=label)
    return [Reply(text, _category_buttons(found.category))]


def _category_buttons(current: str) -> tuple[Button, ...]:
    first = Button(f"✅ {category_label(current)}", "tickets.category", category=current)
    others = [
        Button(rule.label, "tickets.category", category=code)
        for code, rule in ROUTING.items()
        if code != current
    ]
    return (first, *others)


@FLOW.step("category")
async def category_step(ctx: Context, category: str = "") -> list[Reply]:
    """Dialog step: the category the ticket is re-routed as; then it is dispatched."""
    state = ctx.dialog.get_data()
    ticket = await _find(ctx, ticket_id=int(state.get("ticket_id", 0)))
    if ticket is None:
        await ctx.dialog.clear()
        return [Reply(NOT_FOUND)]
    if category not in ROUTING:
        return [Reply(PICK_CATEGORY, _category_buttons(ticket.category))]
    department = await department_by_code(ctx.session, str(state.get("department")))
    return await _act(ctx, ticket, "route", department=department, category=category)


RATED_ALREADY = "您已评价过 {number}（{rating}），谢谢！"


async def rate(ctx: Context, ticket: int, rating: str) -> list[Reply]:
    """Button: the reporter's 满意 / 基本满意 (closes) or 不满意 (asks why, then reopens)."""
    found = await _find(ctx, ticket_id=ticket)
    if found is None or rating not in RATING_ZH:
        return [Reply(NOT_FOUND)]
    chosen = Rating(rating)
    if found.state == TicketState.CLOSED and found.rating:  # pressed again: say what was given
        given = RATING_ZH.get(found.rating, found.rating)
        return [Reply(RATED_ALREADY.format(number=found.number, rating=given))]
    if chosen is not Rating.UNSATISFIED:
        return await _act(ctx, found, "rate", rating=chosen)
    refusal = _precheck(ctx, found, "reopen")
    if refusal:
        return refusal
    await ctx.dialog.set_state(reason_step, ticket_id=found.id)
    return [Reply(ASK_UNSATISFIED, (Button(SKIP, "tickets.reason", skip=True),))]


@FLOW.step("reason", free_text=True)
async def reason_step(ctx: Context, text: str = "", skip: bool = False) -> list[Reply]:
    """Dialog step: why the reporter is not satisfied (or 跳过); the ticket reopens with it."""
    ticket = await _find(ctx, ticket_id=int(ctx.dialog.get_data().get("ticket_id", 0)))
    if ticket is None:
        await ctx.dialog.clear()
        return [Reply(NOT_FOUND)]
    reason = "" if skip or text.strip() in SKIP_WORDS else text.strip()[:500]
    return await _act(ctx, ticket, "reopen", rating=Rating.UNSATISFIED, note=reason)


async def _leave_note(ctx: Context) -> None:
    """Another ticket button while a note was asked for: that note is no longer wanted."""
    if ctx.dialog.flow == FLOW.name:
        await ctx.dialog.clear()


@FLOW.step("note", free_text=True)
async def note_step(ctx: Context, text: str = "", skip: bool = False) -> list[Reply]:
    """Dialog step: the note of an update, resolution, return, rejection or withdrawal; the
    ones others are told of and that cannot be undone are shown first, to confirm."""
    state = ctx.dialog.get_data()
    ticket = await _find(ctx, ticket_id=int(state.get("ticket_id", 0)))
    if ticket is None:
        await ctx.dialog.clear()
        return [Reply(NOT_FOUND)]
    action = str(state.get("action"))
    if action in SKIPPABLE and (skip or text.strip() in SKIP_WORDS):
        text = ""
    if action not in CONFIRM_FIRST:
        return await _act(ctx, ticket, action, note=text)
    if not text.strip() and action not in SKIPPABLE:
        return [Reply(ERRORS["note_required"])]
    await ctx.dialog.set_state(confirm_step, note=text.strip())
    return [_confirmation(ctx, ticket, action, text.strip())]


def _confirmation(
    ctx: Context, ticket: Ticket, action: str, note: str, target: Ticket | None = None
) -> Reply:
    label = BUTTON_ZH[action]
    buttons = (
        Button(f"确认{label}", "tickets.confirm", do="yes"),
        Button("修改", "tickets.confirm", do="edit"),
        Button("取消", "cancel"),
    )
    return Reply(preview(ticket, action, note, ctx.me, target), buttons)


@FLOW.step("confirm")
async def confirm_step(ctx: Context, do: str = "") -> list[Reply]:
    """Dialog step: take the previewed action, or type the note again."""
    state = ctx.dialog.get_data()
    ticket = await _find(ctx, ticket_id=int(state.get("ticket_id", 0)))
    if ticket is None:
        await ctx.dialog.clear()
        return [Reply(NOT_FOUND)]
    action = str(state.get("action"))
    if do == "edit":
        step = merge_step if action == "merge" else note_step
        await ctx.dialog.set_state(step)
        return [_ask_note(action)]
    if do != "yes":
        return [Reply(PICK_CONFIRM)]
    target = None
    if action == "merge":
        target = await _find(ctx, ticket_id=int(state.get("target_id", 0)))
        if target is None:
            await ctx.dialog.clear()
            return [Reply(ERRORS["bad_target"])]
    return await _act(ctx, ticket, action, note=str(state.get("note", "")), target=target)


@FLOW.step("merge", free_text=True)
async def merge_step(ctx: Context, text: str = "") -> list[Reply]:
    """Dialog step: the earlier ticket's number and the reason for merging."""
    match = TYPED_REFERENCE.match(text)  # WT-2026-0004, wt20260004 or 0004, then the reason
    reason = text[match.end() :].strip() if match else ""
    if not match or not reason:
        return [Reply(BAD_MERGE)]
    ticket = await _find(ctx, ticket_id=int(ctx.dialog.get_data().get("ticket_id", 0)))
    target = await find_typed(ctx.session, typed=match.group(1), viewer=ctx.me)
    if ticket is None or not may_merge_into(ticket, target):
        return [Reply(ERRORS["bad_target"] if ticket else NOT_FOUND)]
    assert target is not None
    note = reason
    await ctx.dialog.set_state(confirm_step, note=note, target_id=target.id)
    confirmation = _confirmation(ctx, ticket, "merge", note, target)
    text = MERGE_INTO.format(number=ticket.number, target=target.number) + confirmation.text
    return [Reply(text, confirmation.buttons)]


async def figures(ctx: Context) -> list[Reply]:
    """Ticket figures for admins: states, categories, departments, speed, satisfaction."""
    scope = ctx.me.admin_scope()
    f = await ticket_figures(ctx.session, scope)
    lines = [f"📈 吹哨工单数据（{scope_label(scope)}）：共 {f.total} 件"]
    if f.total:
        lines.append("按状态：" + _counts({STATE_ZH[k]: v for k, v in f.by_state.items()}))
        cats = {category_label(k): v for k, v in f.by_category.items()}
        lines.append("按分类：" + _counts(cats))
        lines.append("按部门：" + _counts(dict(f.by_department)))
        lines.append(f"办结率：{_pct(f.resolution_rate)}")
        lines.append(
            f"签收用时中位数：{_hours(f.median_sign_hours)}；"
            f"办结用时中位数：{_hours(f.median_resolve_hours)}"
        )
        rated = "、".join(f"{RATING_ZH[Rating(k)]} {v}" for k, v in f.ratings.items())
        lines.append(f"满意度：{_pct(f.satisfaction)}" + (f"（{rated}）" if rated else ""))
    return [Reply("\n".join(lines))]


def _counts(values: dict[str, int]) -> str:
    return "、".join(f"{k} {v}" for k, v in sorted(values.items(), key=lambda kv: -kv[1]))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} 小时"


async def _find(ctx: Context, *, number: str = "", ticket_id: int = 0) -> Ticket | None:
    """The ticket if the sender may see it; otherwise None (existence is not revealed)."""
    try:
        ticket = await get_ticket(ctx.session, number=number, ticket_id=ticket_id)
    except TicketError:
        return None
    return ticket if can_view(ctx.me, ticket) else None


async def _view(ctx: Context, ticket: Ticket | None) -> list[Reply]:
    if ticket is None:
        return [Reply(NOT_FOUND)]
    text = detail(ticket, await history(ctx.session, ticket), ctx.me)
    return [Reply(text, action_buttons(ctx.me, ticket))]


def _precheck(ctx: Context, ticket: Ticket, action: str) -> list[Reply] | None:
    """Refuse before asking for a note that could not be used anyway."""
    rule = ACTIONS[action]
    if rule.actor not in actor_kinds(ctx.me, ticket):
        return [Reply(NOT_PERMITTED.format(number=ticket.number, action=ACTION_ZH[action]))]
    if ticket.state not in rule.moves:
        return [Reply(_illegal(ticket, action))]
    if action == "withdraw" and not may_withdraw(ticket):
        return [Reply(ERRORS["cosigned"])]
    return None


def _illegal(ticket: Ticket, action: str) -> str:
    return ILLEGAL.format(
        number=ticket.number, state=STATE_ZH[ticket.state], action=ACTION_ZH[action]
    )


async def _choose_department(ctx: Context, ticket: Ticket) -> list[Reply]:
    refusal = _precheck(ctx, ticket, "route")
    if refusal:
        return refusal
    departments = (await ctx.session.execute(select(Department).order_by(Department.id))).scalars()
    await ctx.dialog.set_state(department_step, ticket_id=ticket.id)
    text = ASK_DEPARTMENT.format(number=ticket.number)
    return [await _department_buttons(ctx, ticket, list(departments), text)]


async def _department_buttons(
    ctx: Context, ticket: Ticket, departments: list[Department], text: str
) -> Reply:
    offline = await offline_departments(ctx.session)
    buttons = tuple(
        Button(
            d.name + (OFFLINE_FLAG if d.id in offline else ""),
            "tickets.route",
            ticket=ticket.id,
            department=d.code,
        )
        for d in departments
    )
    return Reply(text, buttons)


@FLOW.step("department")
async def department_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the department typed instead of pressed, as people name it (人社局, 税务)."""
    found = await _find(ctx, ticket_id=int(ctx.dialog.get_data()["ticket_id"]))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(NOT_FOUND)]
    every = list((await ctx.session.execute(select(Department).order_by(Department.id))).scalars())
    matches = department_matches(every, text)
    if len(matches) == 1:
        return await route_to(ctx, ticket=found.id, department=matches[0].code)
    if matches:
        ask = WHICH_DEPARTMENT.format(text=text)
        return [await _department_buttons(ctx, found, matches, ask)]
    return [await _department_buttons(ctx, found, every, UNKNOWN_DEPARTMENT.format(text=text))]


async def _act(
    ctx: Context,
    ticket: Ticket,
    action: str,
    *,
    note: str = "",
    department: Department | None = None,
    rating: Rating | None = None,
    target: Ticket | None = None,
    category: str | None = None,
) -> list[Reply]:
    """Take one transition, tell the people concerned, and say what happened."""
    try:
        event = await transition(
            session=ctx.session,
            ticket=ticket,
            action=action,
            actor=ctx.me,
            now=ctx.now,
            note=note,
            department=department,
            rating=rating,
            target=target,
            category=category,
        )
    except IllegalTransition:
        await ctx.dialog.clear()
        return [Reply(_illegal(ticket, action))]
    except NotPermitted:
        await ctx.dialog.clear()
        return [Reply(NOT_PERMITTED.format(number=ticket.number, action=ACTION_ZH[action]))]
    except TicketError as error:
        if error.reason == "cosigned":
            await ctx.dialog.clear()
        return [Reply(ERRORS.get(error.reason, NOT_FOUND))]
    await ctx.dialog.clear()
    await announce(ctx, ticket, event)
    done = DONE[action].format(
        number=ticket.number,
        department=ticket.department.name if ticket.department else "",
        target=target.number if target else "",
        category=category_label(ticket.category),
        sign_due=fmt_local(ticket.sign_due_at),
        resolve_due=fmt_local(ticket.resolve_due_at),
    )
    if action == "route" and ticket.admins_stand_in:
        done += ROUTED_OFFLINE.format(department=ticket.department.name)
    officer = ctx.me.has_role(Role.OFFICER) and ctx.me.department_id == ticket.department_id
    if action == "sign" and ticket.admins_stand_in and not officer and ticket.department:
        done = SIGNED_FOR.format(department=ticket.department.name, number=ticket.number)
    return [Reply(done, action_buttons(ctx.me, ticket))]

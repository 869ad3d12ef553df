"""工单: the queue (oldest first, overdue marked), a ticket's detail and history, and the
actions the state table (models.ticket ACTIONS) allows this viewer; those others are told of
and cannot be undone (办结, 退回, 不予受理, 合并) show what will be sent first, as in chat."""

from __future__ import annotations

from sqlalchemy import Select, and_, func, or_, select
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.pages.common import alliance_options
from bot.admin.render import Column, Filter, back_to, listing, render
from bot.admin.web import Missing, PageRoute, form_of, int_or
from bot.core.text import fold
from handlers.ticket_text import ACTION_ZH, BUTTON_ZH, STATE_ZH, history_line, messages, preview
from models.org import Department
from models.outbox import enqueue
from models.routing import ROUTING, category_label
from models.ticket import (
    ACTIONS,
    OPEN_STATES,
    UNSIGNED_STATES,
    IllegalTransition,
    NotPermitted,
    Ticket,
    TicketError,
    TicketState,
    actor_kinds,
    can_see_contact,
    can_view,
    department_online,
    find_typed,
    history,
    may_merge_into,
    transition,
)

CONFIRM_FIRST = frozenset({"resolve", "return", "reject", "merge"})
NOTE_LABEL = {
    "update": "办理进展",
    "resolve": "办结说明（问题是怎么解决的）",
    "return": "退回理由（为什么不属于本部门）",
    "reject": "不予受理的理由",
    "merge": "合并理由",
    "route": "说明（可不填）",
}
DONE = {
    "sign": "已签收，部门报到成功；反映人已收到通知。",
    "update": "已记录进展，并告知反映人。",
    "resolve": "已办结，已请反映人评价。",
    "return": "已退回，联盟管理员将重新分派。",
    "route": "已分派，承办部门已收到通知。",
    "route_unreached": (
        "已分派。⚠️ 该部门还没有干部使用红盟助手，收不到这个工单：请线下联系部门办理，"
        "或改派其他部门（联盟管理员已收到提醒）。"
    ),
    "reject": "已标记为不予受理，并告知反映人。",
    "merge": "已合并，反映人已加入更早的工单。",
}
ERRORS = {
    "note_required": "请写明理由或说明（不能为空）。",
    "department_required": "请选择承办部门。",
    "bad_target": "不能并入这个工单：请填写一个更早、仍在办理中、您能查看的工单编号。",
    "illegal": "这个工单当前的状态不允许这样操作（可能刚被别人处理过），请看最新状态。",
    "not_permitted": "您不能对这个工单执行这个操作。",
}
STATES = [("", "未办结"), ("all", "全部")] + [(s.value, STATE_ZH[s.value]) for s in TicketState]
LATE = {"sign": "签收超时", "resolve": "办结超时"}
MERGE_INTO = "将 {number} 并入 {target}（{number} 的反映人会加入 {target}）。\n"


def late_kind(ticket: Ticket, now) -> str:  # type: ignore[no-untyped-def]
    if ticket.state in UNSIGNED_STATES and ticket.sign_due_at <= now:
        return "sign"
    if ticket.state in OPEN_STATES and ticket.resolve_due_at <= now:
        return "resolve"
    return ""


def _queue(viewer: Viewer, values: dict[str, str]) -> Select[tuple[Ticket]]:
    stmt = select(Ticket)
    if viewer.is_admin:
        stmt = stmt.where(viewer.scope.where(Ticket.alliance_id))
        if values.get("alliance"):
            stmt = stmt.where(Ticket.alliance_id == int_or(values["alliance"], 0))
    else:  # a department officer: the department's tickets
        stmt = stmt.where(Ticket.department_id == viewer.member.department_id)
    state = values.get("state", "")
    if state == "":
        stmt = stmt.where(Ticket.state.in_(list(OPEN_STATES)))
    elif state != "all":
        stmt = stmt.where(Ticket.state == state)
    if values.get("category"):
        stmt = stmt.where(Ticket.category == values["category"])
    if values.get("late"):
        now = viewer.now
        stmt = stmt.where(
            or_(
                and_(Ticket.state.in_(list(UNSIGNED_STATES)), Ticket.sign_due_at <= now),
                and_(Ticket.state.in_(list(OPEN_STATES)), Ticket.resolve_due_at <= now),
            )
        )
    if values.get("q"):
        word = values["q"].strip()
        stmt = stmt.where(or_(Ticket.number.contains(word.upper()), Ticket.text.contains(word)))
    return stmt


async def queue_page(request: Request, viewer: Viewer) -> Response:
    now = viewer.now
    columns = (
        Column("编号", lambda t: t.number, lambda t: f"/admin/tickets/{t.id}"),
        Column("分类", lambda t: category_label(t.category)),
        Column("状态", lambda t: STATE_ZH[t.state]),
        Column("反映单位", lambda t: t.unit.name if t.unit else ""),
        Column("承办部门", lambda t: t.department.name if t.department else "待分派"),
        Column("提交时间", lambda t: t.created_at),
        Column("签收时限", lambda t: t.sign_due_at),
        Column("办结时限", lambda t: t.resolve_due_at),
        Column("超期", lambda t: LATE.get(late_kind(t, now), "")),
        Column("问题", lambda t: t.text if len(t.text) <= 40 else t.text[:40] + "…"),
    )
    filters = [
        Filter("state", "状态", STATES),
        Filter(
            "category", "分类", [("", "全部分类")] + [(c, r.label) for c, r in ROUTING.items()]
        ),
        Filter("q", "编号或问题中的词", kind="text"),
        Filter("late", "只看超期", kind="check"),
    ]
    if viewer.is_admin:
        options = await alliance_options(viewer)
        if len(options) > 2:
            filters.insert(0, Filter("alliance", "联盟", options))

    async def fetch(offset: int, limit: int | None) -> tuple[list[Ticket], int]:
        values = {f.name: request.query_params.get(f.name, "").strip() for f in filters}
        stmt = _queue(viewer, values)
        total = await viewer.session.scalar(select(func.count()).select_from(stmt.subquery()))
        stmt = stmt.order_by(Ticket.created_at, Ticket.id).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return list((await viewer.session.execute(stmt)).scalars()), int(total or 0)

    where = (
        viewer.member.department.name
        if not viewer.is_admin and viewer.member.department
        else ("全县" if viewer.is_county else "本联盟")
    )
    return await listing(
        request,
        viewer,
        title=f"工单 · {where}（最早的在前）",
        columns=columns,
        filters=filters,
        fetch=fetch,
        sheet="工单",
        mark=lambda t: "late" if late_kind(t, now) else "",
    )


async def _ticket(viewer: Viewer, ticket_id: int) -> Ticket:
    ticket = await viewer.session.get(Ticket, ticket_id)
    if ticket is None or not can_view(viewer.member, ticket):
        raise Missing
    return ticket


def allowed_actions(viewer: Viewer, ticket: Ticket) -> list[str]:
    """What the state table lets this viewer do now (the console's part: not the ratings)."""
    kinds = actor_kinds(viewer.member, ticket)
    return [
        name
        for name, rule in ACTIONS.items()
        if name in BUTTON_ZH and rule.actor in kinds and ticket.state in rule.moves
    ]


async def detail_page(
    request: Request, viewer: Viewer, error: str = "", status: int = 200
) -> Response:
    ticket = await _ticket(viewer, int(request.path_params["ticket_id"]))
    events = await history(viewer.session, ticket)
    departments = list(
        (await viewer.session.execute(select(Department).order_by(Department.id))).scalars()
    )
    return render(
        request,
        viewer,
        "ticket.html",
        status=status,
        title=ticket.number,
        ticket=ticket,
        state=STATE_ZH[ticket.state],
        category=category_label(ticket.category),
        late=LATE.get(late_kind(ticket, viewer.now), ""),
        contacts=can_see_contact(viewer.member, ticket),
        history=[history_line(e).removeprefix("· ") for e in events],
        actions=[
            (a, BUTTON_ZH[a], ACTIONS[a].needs_note, NOTE_LABEL.get(a, ""))
            for a in allowed_actions(viewer, ticket)
        ],
        departments=departments,
        error=error,
        messages=DONE,
    )


async def act(request: Request, viewer: Viewer) -> Response:
    """One action: the preview first for those others are told of and cannot be undone."""
    ticket = await _ticket(viewer, int(request.path_params["ticket_id"]))
    form = form_of(request)
    action = str(form.get("do", ""))
    note = str(form.get("note", "")).strip()
    if action not in allowed_actions(viewer, ticket):
        return await detail_page(request, viewer, ERRORS["illegal"], status=409)
    department = None
    if action == "route":
        code = str(form.get("department", ""))
        department = await viewer.session.scalar(select(Department).where(Department.code == code))
        if department is None:
            return await detail_page(request, viewer, ERRORS["department_required"], status=400)
    target = None
    if action == "merge":
        # Typed as in the chat: WT-2026-0002, 0002, full-width digits.
        typed = fold(str(form.get("target", "")))
        target = await find_typed(viewer.session, typed=typed, viewer=viewer.member)
        if target is None or not may_merge_into(ticket, target):
            return await detail_page(request, viewer, ERRORS["bad_target"], status=400)
    if ACTIONS[action].needs_note and not note:
        return await detail_page(request, viewer, ERRORS["note_required"], status=400)
    if action in CONFIRM_FIRST and form.get("confirmed") != "1":
        text = preview(ticket, action, note, viewer.member, target).split("\n", 1)[1]
        if target is not None:
            text = MERGE_INTO.format(number=ticket.number, target=target.number) + text
        return render(
            request,
            viewer,
            "ticket_confirm.html",
            title=f"确认{BUTTON_ZH[action]} {ticket.number}",
            ticket=ticket,
            action=action,
            label=BUTTON_ZH[action],
            note=note,
            target=target.number if target else "",
            preview=text,
        )
    try:
        event = await transition(
            session=viewer.session,
            ticket=ticket,
            action=action,
            actor=viewer.member,
            now=viewer.now,
            note=note,
            department=department,
            target=target,
        )
    except IllegalTransition:
        return await detail_page(request, viewer, ERRORS["illegal"], status=409)
    except NotPermitted:
        return await detail_page(request, viewer, ERRORS["not_permitted"], status=403)
    except TicketError as error:
        return await detail_page(
            request, viewer, ERRORS.get(error.reason, ERRORS["illegal"]), status=400
        )
    for member_id, reply in await messages(
        session=viewer.session,
        ticket=ticket,
        event=event.action,
        note=event.note,
        actor=viewer.member,
    ):
        await enqueue(
            session=viewer.session,
            member_id=member_id,
            reply=reply,
            now=viewer.now,
            kind="ticket",
            ref_id=ticket.id,
        )
    viewer.audit(f"ticket_{action}", ticket=ticket.number, what=ACTION_ZH[action], note=note)
    done = action
    if action == "route" and department is not None:
        if not await department_online(viewer.session, department.id):
            done = "route_unreached"
    return back_to(f"/admin/tickets/{ticket.id}", done)


PAGES = [
    PageRoute("/tickets", queue_page, Need.QUEUE),
    PageRoute("/tickets/{ticket_id:int}", detail_page, Need.QUEUE),
    PageRoute("/tickets/{ticket_id:int}/act", act, Need.QUEUE, ("POST",)),
]

"""How tickets read on a phone, and who is told of each transition (through the outbox)."""

from __future__ import annotations

from bot.core import Button, Reply
from bot.core.clock import fmt_local
from handlers.context import Context
from models.member import Member
from models.routing import category_label
from models.ticket import (
    ACTIONS,
    Actor,
    Rating,
    Ticket,
    TicketEvent,
    actor_kinds,
    admin_ids,
    can_see_contact,
    officer_ids,
)

STATE_ZH = {
    "submitted": "待分派",
    "dispatched": "已派单，待部门签收",
    "signed": "部门已报到",
    "in_progress": "办理中",
    "resolved": "已办结，待评价",
    "closed": "已关闭",
    "returned": "已退回，待重新分派",
    "rejected": "不予受理",
    "merged": "已合并",
}
ACTION_ZH = {
    "file": "提交",
    "dispatch": "派单",
    "route": "分派",
    "sign": "签收（部门报到）",
    "update": "进展",
    "resolve": "办结",
    "return": "退回",
    "reject": "不予受理",
    "merge": "合并",
    "merged_in": "并入工单",
    "rate": "评价",
    "reopen": "评价",
    "cosign": "附议",
    "escalate": "督办",
}
RATING_ZH: dict[str, str] = {
    Rating.SATISFIED: "满意",
    Rating.BASIC: "基本满意",
    Rating.UNSATISFIED: "不满意",
}
BUTTON_ZH = {
    "sign": "签收",
    "update": "更新进展",
    "resolve": "办结",
    "return": "退回",
    "route": "分派",
    "reject": "不予受理",
    "merge": "合并",
}
SYSTEM = "系统"
ESCALATE_ZH = {"sign": "签收超时", "resolve": "办结超时"}

NEW_FOR_ADMIN = "🔔 新吹哨 {number}（{category}）\n{unit}：{text}\n{routing}"
ROUTED = "已派至{department}，由{committee}跟进。"
UNROUTED = "尚未匹配部门，请分派。"
NEW_FOR_OFFICER = (
    "📌 新工单 {number}（{category}）\n{unit}：{text}\n"
    "请在 {sign_due} 前签收，{resolve_due} 前办结。"
)
TO_REPORTERS = {
    "sign": "✅ 您反映的 {number} 已由{department}签收（部门报到），正在办理。",
    "update": "🔄 {number} 有新进展：{note}",
    "resolve": "🎉 {number} 已办结：{note}",
    "return": "↩️ {number} 正在重新分派，请耐心等待。",
    "route": "📮 {number} 已转{department}办理。",
    "reject": "{number} 不予受理。理由：{note}",
    "merge": "{number} 与更早反映的同一问题合并办理。说明：{note}",
}
ASK_RATING = "请为 {number} 的办理评价："
RATED_FOR_OFFICER = "⭐ {number} 收到评价：{rating}。"
REOPENED = "⚠️ {number} 评价不满意，已重新打开，请继续办理。"
COSIGNED_FOR_OTHERS = "➕ {who}附议了 {number}，反映人增至 {count} 位。"
RETURNED_FOR_ADMIN = "↩️ {department}退回了 {number}。理由：{note}\n请重新分派。"


def summary(ticket: Ticket) -> str:
    return (
        f"{ticket.number}｜{category_label(ticket.category)}｜{STATE_ZH[ticket.state]}"
        f"｜{fmt_local(ticket.created_at)}"
    )


def _unit(ticket: Ticket) -> str:
    return ticket.unit.name if ticket.unit else "（未指定单位）"


def _department(ticket: Ticket) -> str:
    return ticket.department.name if ticket.department else "待分派"


def history_line(event: TicketEvent) -> str:
    who = event.actor.name if event.actor else SYSTEM
    what = ACTION_ZH.get(event.action, event.action)
    if event.action == "escalate":
        note = ESCALATE_ZH.get(event.note, event.note)
    elif event.action in ("rate", "reopen"):
        note = RATING_ZH.get(event.note, event.note)
        note += "，重新办理" if event.action == "reopen" else ""
    else:
        note = event.note
    return f"· {fmt_local(event.at)} {who} {what}" + (f"：{note}" if note else "")


def detail(ticket: Ticket, events: list[TicketEvent], viewer: Member) -> str:
    lines = [
        f"📋 {ticket.number}｜{STATE_ZH[ticket.state]}",
        f"分类：{category_label(ticket.category)}（{ticket.committee}跟进）",
        f"单位：{_unit(ticket)}",
        f"承办：{_department(ticket)}",
        f"问题：{ticket.text}",
        f"时限：{fmt_local(ticket.sign_due_at)} 前签收，{fmt_local(ticket.resolve_due_at)} 前办结",
    ]
    if can_see_contact(viewer, ticket):
        people = "、".join(f"{r.member.name} {r.member.phone}".strip() for r in ticket.reporters)
        lines.append(f"联系人：{people}")
    if ticket.resolution:
        lines.append(f"办理结果：{ticket.resolution}")
    if ticket.rating:
        lines.append(f"评价：{RATING_ZH[ticket.rating]}")
    lines.append("办理记录：")
    lines += [history_line(e) for e in events]
    return "\n".join(lines)


def action_buttons(viewer: Member, ticket: Ticket) -> tuple[Button, ...]:
    """The buttons for what the state table lets this viewer do now."""
    kinds = actor_kinds(viewer, ticket)
    buttons = [
        Button(BUTTON_ZH[name], "tickets.act", do=name, ticket=ticket.id)
        for name, rule in ACTIONS.items()
        if name in BUTTON_ZH and rule.actor in kinds and ticket.state in rule.moves
    ]
    if Actor.REPORTER in kinds and ticket.state in ACTIONS["rate"].moves:
        buttons += rating_buttons(ticket)
    return tuple(buttons)


def rating_buttons(ticket: Ticket) -> list[Button]:
    return [
        Button(label, "tickets.rate", ticket=ticket.id, rating=r) for r, label in RATING_ZH.items()
    ]


async def announce(ctx: Context, ticket: Ticket, event: TicketEvent) -> None:
    """Tell the people concerned about one event, in the event's transaction."""
    values = {
        "number": ticket.number,
        "category": category_label(ticket.category),
        "unit": _unit(ticket),
        "text": ticket.text,
        "department": _department(ticket),
        "committee": ticket.committee,
        "note": event.note,
        "sign_due": fmt_local(ticket.sign_due_at),
        "resolve_due": fmt_local(ticket.resolve_due_at),
    }
    view = Button("查看", "tickets.view", ticket=ticket.id)
    action = event.action
    if action == "file":
        routing = ROUTED if ticket.department else UNROUTED
        text = NEW_FOR_ADMIN.format(**values, routing=routing.format(**values))
        buttons = (
            view,
            Button(
                "改派" if ticket.department else "分派",
                "tickets.act",
                do="route",
                ticket=ticket.id,
            ),
        )
        admins = await admin_ids(ctx.session, ticket.alliance_id, supers="fallback")
        await _tell(ctx, ticket, admins, Reply(text, buttons))
    if action in ("dispatch", "route"):
        officer_buttons = (
            Button("签收", "tickets.act", do="sign", ticket=ticket.id),
            Button("退回", "tickets.act", do="return", ticket=ticket.id),
            view,
        )
        await _tell(
            ctx,
            ticket,
            await officer_ids(ctx.session, ticket.department_id),
            Reply(NEW_FOR_OFFICER.format(**values), officer_buttons),
        )
    if action in TO_REPORTERS:
        text = TO_REPORTERS[action].format(**values)
        await _tell(ctx, ticket, ticket.reporter_member_ids(), Reply(text))
    if action == "resolve":
        ask = Reply(ASK_RATING.format(**values), tuple(rating_buttons(ticket)))
        await _tell(ctx, ticket, [ticket.reporter_id], ask)
    if action == "return":
        buttons = (Button("改派", "tickets.act", do="route", ticket=ticket.id), view)
        admins = await admin_ids(ctx.session, ticket.alliance_id)
        await _tell(ctx, ticket, admins, Reply(RETURNED_FOR_ADMIN.format(**values), buttons))
    if action == "rate" and ticket.rating:
        text = RATED_FOR_OFFICER.format(**values, rating=RATING_ZH[ticket.rating])
        await _tell(ctx, ticket, await officer_ids(ctx.session, ticket.department_id), Reply(text))
    if action == "cosign" and ctx.member is not None:
        text = COSIGNED_FOR_OTHERS.format(
            **values, who=ctx.member.name, count=len(ticket.reporters)
        )
        people = [ticket.reporter_id, *await officer_ids(ctx.session, ticket.department_id)]
        await _tell(ctx, ticket, people, Reply(text, (view,)))
    if action == "reopen":
        people = await officer_ids(ctx.session, ticket.department_id)
        people += await admin_ids(ctx.session, ticket.alliance_id)
        await _tell(ctx, ticket, people, Reply(REOPENED.format(**values), (view,)))


async def _tell(ctx: Context, ticket: Ticket, member_ids: list[int], reply: Reply) -> None:
    sender = ctx.member.id if ctx.member else None
    for member_id in dict.fromkeys(member_ids):
        if member_id != sender:
            await ctx.notify(member_id, reply, kind="ticket", ref_id=ticket.id)

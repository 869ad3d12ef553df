"""How tickets read on a phone: summaries, details, buttons, and each message of the
who-is-told table (`TOLD` in models.ticket), one renderer per (event, audience) in RENDER.

`announce` and the deadline sweep send what `messages` returns; nothing here decides who is
told.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Reply, Role
from bot.core.clock import fmt_local
from handlers.context import Context
from models.member import Member
from models.routing import category_label
from models.ticket import (
    ACTIONS,
    OPEN_STATES,
    RATING_ZH,
    STATE_ZH,
    TOLD,
    Actor,
    Audience,
    Rating,
    Ticket,
    TicketEvent,
    actor_kinds,
    can_see_contact,
    may_withdraw,
    told,
)
from models.ticket_deadlines import late_deadlines

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
    "withdraw": "撤回",
}
BUTTON_ZH = {
    "sign": "签收",
    "update": "更新进展",
    "resolve": "办结",
    "return": "退回",
    "route": "分派",
    "reject": "不予受理",
    "merge": "合并",
    "withdraw": "撤回",
}
SYSTEM = "系统"
ESCALATE_ZH = {"sign": "签收超时", "resolve": "办结超时"}

NEW_FOR_ADMIN = "🔔 新吹哨 {number}（{category}）\n{unit}：{text}\n{routing}"
ROUTED = "已派至{department}，由{committee}跟进。"
UNROUTED = "尚未匹配部门，请分派。"
# The department has no officer using the bot: said to the admins at once, with what to do.
STANDING_IN = (
    "⚠️ {department}还没有干部使用红盟助手，收不到这个工单。请联系部门线下办理"
    "（您可代部门签收、记录进展、办结），或改派其他部门。"
)
ROUTED_TO_STAND_INS = "⚠️ {number} 已改派至{department}，该部门还没有干部使用红盟助手。" + (
    "请联系部门线下办理（可代部门签收、记录进展、办结），或再改派。"
)
STAND_IN_NOTE = "（⚠️该部门无干部在线，由联盟管理员代办）"
OVERDUE_MARK = "｜⏰超时"
STAND_IN_MARK = "｜⚠️部门未开通"
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
    "merge": "{number} 已并入 {target}（更早反映的同一问题）合并办理，进展请查看 {target}。"
    "说明：{note}",
}
ASK_RATING = "请为 {number} 的办理评价："
RATED_FOR_OFFICER = "⭐ {number} 收到评价：{rating}。"
REOPENED = "⚠️ {number} 评价不满意，已重新打开，请继续办理。{why}"
REOPEN_WHY = "\n不满意的原因：{reason}"
REOPEN_NO_REASON = "（反映人没有写原因，可电话联系了解。）"
WITHDRAWN_FOR_OTHERS = "↩️ {who}撤回了 {number}（{category}），无需再办理。{why}"
WITHDRAW_WHY = "理由：{note}"
COSIGNED_FOR_OTHERS = "➕ {who}附议了 {number}，反映人增至 {count} 位。"
RETURNED_FOR_ADMIN = "↩️ {department}退回了 {number}。理由：{note}\n请重新分派。"
REMIND = {
    "sign": "⏰ 提醒：{number} 需在 {due} 前签收（部门报到）。",
    "resolve": "⏰ 提醒：{number} 需在 {due} 前办结。",
}
ESCALATE = {
    "sign": "🚨 督办：{number}（{department}）超过签收时限 {due}，仍未签收。",
    "resolve": "🚨 督办：{number}（{department}）超过办结时限 {due}，仍未办结。",
}
ESCALATED_FOR_OFFICER = "🚨 {number} 已超时（{due}），已报联盟和县级督办，请尽快办理。"
# Several escalations for one person in one sweep arrive as one message.
ESCALATIONS_HEAD = {
    "admins": "🚨 督办：{count} 件工单超时：",
    "officers": "🚨 您有 {count} 件工单已超时，已报联盟和县级督办，请尽快办理：",
}
ESCALATION_LINE = {
    "sign": "{number}（{department}）超过签收时限 {due}，仍未签收",
    "resolve": "{number}（{department}）超过办结时限 {due}，仍未办结",
}
MAX_GATHERED = 20
DIGEST_TITLE = "📋 {date} 超时工单 {count} 件："


def summary(ticket: Ticket, now: datetime | None = None, *, staff: bool = False) -> str:
    """One line: number, category, state, filed; when `now` is given, ⏰超时 if a deadline has
    passed, and for `staff` (queues) ⚠️部门未开通 if no officer of its department uses the bot."""
    line = (
        f"{ticket.number}｜{category_label(ticket.category)}｜{STATE_ZH[ticket.state]}"
        f"｜{fmt_local(ticket.created_at)}"
    )
    if now is not None and late_deadlines(ticket, now):
        line += OVERDUE_MARK
    if staff and _standing_in(ticket):
        line += STAND_IN_MARK
    return line


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
        rated = event.note in RATING_ZH
        note = RATING_ZH.get(event.note, RATING_ZH[Rating.UNSATISFIED])
        note += "，重新办理" if event.action == "reopen" else ""
        note += "" if rated else f"。原因：{event.note}"
    else:
        note = event.note
    return f"· {fmt_local(event.at)} {who} {what}" + (f"：{note}" if note else "")


def detail(ticket: Ticket, events: list[TicketEvent], viewer: Member) -> str:
    lines = [
        f"📋 {ticket.number}｜{STATE_ZH[ticket.state]}",
        f"分类：{category_label(ticket.category)}（{ticket.committee}跟进）",
        f"单位：{_unit(ticket)}",
        f"承办：{_department(ticket)}" + (STAND_IN_NOTE if _standing_in(ticket) else ""),
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
    standing_in = ticket.admins_stand_in and not (
        viewer.has_role(Role.OFFICER) and viewer.department_id == ticket.department_id
    )
    buttons = [
        Button(BUTTON_ZH[name], "tickets.act", do=name, ticket=ticket.id)
        for name, rule in ACTIONS.items()
        if name in BUTTON_ZH
        and rule.actor in kinds
        and ticket.state in rule.moves
        and not (name == "return" and standing_in)  # an admin standing in re-routes instead
        and not (name == "withdraw" and not may_withdraw(ticket))
    ]
    if Actor.REPORTER in kinds and ticket.state in ACTIONS["rate"].moves:
        buttons += rating_buttons(ticket)
    return tuple(buttons)


def rating_buttons(ticket: Ticket) -> list[Button]:
    return [
        Button(label, "tickets.rate", ticket=ticket.id, rating=r) for r, label in RATING_ZH.items()
    ]


def _standing_in(ticket: Ticket) -> bool:
    return ticket.admins_stand_in and ticket.state in OPEN_STATES


def overdue_digest(day: date, tickets: list[Ticket], now: datetime) -> Reply:
    """The daily list of overdue tickets for one admin (the first 20)."""
    lines = [DIGEST_TITLE.format(date=day.strftime("%m月%d日"), count=len(tickets))]
    lines += [f"{i}. {summary(t, now, staff=True)}" for i, t in enumerate(tickets[:20], 1)]
    return Reply("\n".join(lines))


# A renderer: the message one audience reads about one event (the ticket, the event's note,
# the member whose message caused it).
Render = Callable[..., Reply]  # (ticket, note, actor) → the message
Buttons = Callable[[Ticket], tuple[Button, ...]]


def _values(ticket: Ticket, note: str, actor: Member | None) -> dict[str, object]:
    return {
        "number": ticket.number,
        "category": category_label(ticket.category),
        "unit": _unit(ticket),
        "text": ticket.text,
        "department": _department(ticket),
        "committee": ticket.committee,
        "note": note,
        "sign_due": fmt_local(ticket.sign_due_at),
        "resolve_due": fmt_local(ticket.resolve_due_at),
        # A deadline event's note names its deadline: 'sign' or 'resolve'.
        "due": fmt_local(ticket.sign_due_at if note == "sign" else ticket.resolve_due_at),
        "rating": RATING_ZH.get(ticket.rating or "", ""),
        "who": actor.name if actor else SYSTEM,
        "count": len(ticket.reporters),
        "target": ticket.merged_into.number if ticket.merged_into else "",
    }


def _no_buttons(ticket: Ticket) -> tuple[Button, ...]:
    return ()


def _view(ticket: Ticket) -> tuple[Button, ...]:
    return (Button("查看", "tickets.view", ticket=ticket.id),)


def _route(ticket: Ticket, label: str) -> Button:
    return Button(label, "tickets.act", do="route", ticket=ticket.id)


def _for_officer(ticket: Ticket) -> tuple[Button, ...]:
    sign = Button("签收", "tickets.act", do="sign", ticket=ticket.id)
    give_back = Button("退回", "tickets.act", do="return", ticket=ticket.id)
    return (sign, give_back, *_view(ticket))


def _reroute(ticket: Ticket) -> tuple[Button, ...]:
    return (_route(ticket, "改派"), *_view(ticket))


def _says(template: str | dict[str, str], buttons: Buttons = _no_buttons) -> Render:
    """The template (for a deadline event, the one of its note) filled in, then the buttons."""

    def render(ticket: Ticket, note: str, actor: Member | None, **known: str) -> Reply:
        """`known`: values the ticket does not hold yet (a preview's merge target)."""
        text = template if isinstance(template, str) else template[note]
        return Reply(text.format(**{**_values(ticket, note, actor), **known}), buttons(ticket))

    return render


def _new_for_admin(ticket: Ticket, note: str, actor: Member | None) -> Reply:
    values = _values(ticket, note, actor)
    routing = (ROUTED if ticket.department else UNROUTED).format(**values)
    route = _route(ticket, "改派" if ticket.department else "分派")
    buttons: tuple[Button, ...] = (*_view(ticket), route)
    if ticket.admins_stand_in:
        routing += "\n" + STANDING_IN.format(**values)
        buttons = (*buttons, Button("签收", "tickets.act", do="sign", ticket=ticket.id))
    return Reply(NEW_FOR_ADMIN.format(**values, routing=routing), buttons)


def _routed_to_stand_ins(ticket: Ticket, note: str, actor: Member | None) -> Reply:
    sign = Button("签收", "tickets.act", do="sign", ticket=ticket.id)
    text = ROUTED_TO_STAND_INS.format(**_values(ticket, note, actor))
    return Reply(text, (*_view(ticket), _route(ticket, "改派"), sign))


def _reopened(ticket: Ticket, note: str, actor: Member | None) -> Reply:
    why = REOPEN_NO_REASON if note in RATING_ZH else REOPEN_WHY.format(reason=note)
    return Reply(REOPENED.format(number=ticket.number, why=why), _view(ticket))


def _withdrawn(ticket: Ticket, note: str, actor: Member | None) -> Reply:
    values = _values(ticket, note, actor)
    why = WITHDRAW_WHY.format(note=note) if note else ""
    return Reply(WITHDRAWN_FOR_OTHERS.format(**values, why=why))


def _ask_rating(ticket: Ticket, note: str, actor: Member | None) -> Reply:
    return Reply(ASK_RATING.format(number=ticket.number), tuple(rating_buttons(ticket)))


A = Audience
# One renderer per (event, audience) of TOLD.
RENDER: dict[tuple[str, Audience], Render] = {
    ("file", A.ALLIANCE_ADMINS): _new_for_admin,
    ("dispatch", A.OFFICERS): _says(NEW_FOR_OFFICER, _for_officer),
    ("route", A.OFFICERS): _says(NEW_FOR_OFFICER, _for_officer),
    **{(action, A.REPORTERS): _says(text) for action, text in TO_REPORTERS.items()},
    ("resolve", A.FILER): _ask_rating,
    ("return", A.ALLIANCE_AND_SUPER_ADMINS): _says(RETURNED_FOR_ADMIN, _reroute),
    ("route", A.STAND_INS): _routed_to_stand_ins,
    ("rate", A.OFFICERS): _says(RATED_FOR_OFFICER),
    ("rate", A.STAND_INS): _says(RATED_FOR_OFFICER),
    ("reopen", A.OFFICERS): _reopened,
    ("reopen", A.ALLIANCE_AND_SUPER_ADMINS): _reopened,
    ("withdraw", A.OFFICERS): _withdrawn,
    ("withdraw", A.ALLIANCE_ADMINS): _withdrawn,
    ("cosign", A.FILER): _says(COSIGNED_FOR_OTHERS, _view),
    ("cosign", A.OFFICERS): _says(COSIGNED_FOR_OTHERS, _view),
    ("cosign", A.STAND_INS): _says(COSIGNED_FOR_OTHERS, _view),
    ("remind", A.OFFICERS): _says(REMIND, _view),
    ("remind", A.STAND_INS): _says(REMIND, _view),
    ("escalate", A.ALLIANCE_AND_SUPER_ADMINS): _says(ESCALATE, _view),
    ("escalate", A.OFFICERS): _says(ESCALATED_FOR_OFFICER, _view),
}


async def messages(
    *, session: AsyncSession, ticket: Ticket, event: str, note: str, actor: Member | None
) -> list[tuple[int, Reply]]:
    """(member id, message) for each audience TOLD of `event`; nobody gets one message twice."""
    found: list[tuple[int, Reply]] = []
    for audience, member_ids in await told(
        session=session, ticket=ticket, event=event, actor=actor
    ):
        reply = RENDER[event, audience](ticket, note, actor)
        found += [(m, reply) for m in member_ids if (m, reply) not in found]
    return found


AUDIENCE_ZH = {
    A.ALLIANCE_ADMINS: "联盟管理员",
    A.ALLIANCE_AND_SUPER_ADMINS: "联盟和县级管理员",
    A.OFFICERS: "承办部门",
    A.REPORTERS: "反映人",
    A.FILER: "提交人",
    A.STAND_INS: "代办的联盟管理员",
}
PREVIEW_HEAD = "请确认{action} {number}："
PREVIEW_LINE = "· {audience}将收到：“{text}”"


def preview(
    ticket: Ticket, event: str, note: str, actor: Member | None, target: Ticket | None = None
) -> str:
    """What each audience of `event` would be told, before the action is taken (a merge:
    into `target`, which the ticket does not name until it is merged)."""
    lines = [PREVIEW_HEAD.format(action=BUTTON_ZH.get(event, event), number=ticket.number)]
    known = {"target": target.number} if target is not None else {}
    for audience in TOLD[event]:
        text = RENDER[event, audience](ticket, note, actor, **known).text
        lines.append(PREVIEW_LINE.format(audience=AUDIENCE_ZH[audience], text=text))
    return "\n".join(lines)


async def announce(ctx: Context, ticket: Ticket, event: TicketEvent) -> None:
    """Tell the people concerned about one event, in the event's transaction."""
    for member_id, reply in await messages(
        session=ctx.session, ticket=ticket, event=event.action, note=event.note, actor=ctx.member
    ):
        await ctx.notify(member_id, reply, kind="ticket", ref_id=ticket.id)


def gathered_escalations(items: list[tuple[Ticket, str, Audience]]) -> Reply:
    """One person's escalations of one sweep: the single message, or one list of them all
    with a 查看 button per ticket (the first MAX_GATHERED)."""
    if len(items) == 1:
        ticket, deadline, audience = items[0]
        return RENDER["escalate", audience](ticket, deadline, None)
    officer_only = all(audience is A.OFFICERS for _, _, audience in items)
    head = ESCALATIONS_HEAD["officers" if officer_only else "admins"]
    lines = [head.format(count=len(items))]
    lines += [
        f"{i}. " + ESCALATION_LINE[deadline].format(**_values(ticket, deadline, None))
        for i, (ticket, deadline, _) in enumerate(items[:MAX_GATHERED], 1)
    ]
    if len(items) > MAX_GATHERED:
        lines.append(f"……等 {len(items)} 件，发送“工单”查看。")
    seen: dict[int, Ticket] = {t.id: t for t, _, _ in items[:MAX_GATHERED]}
    buttons = tuple(Button(t.number, "tickets.view", ticket=t.id) for t in seen.values())
    return Reply("\n".join(lines), buttons)

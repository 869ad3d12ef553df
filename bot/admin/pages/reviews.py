"""审核: the console's review queues — 补录 hours waiting (models/volunteer.py), pledges waiting
(models/pledge.py) and agreements waiting to be countersigned (models/agreement.py) — for the
viewer's scope. Items are ticked and acted on together (通过 / 退回 with one reason / 会签); a
confirmation page lists what will be done and who will be told before anything is written. The
same model rules as in chat decide who may act (never on one's own)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.pages.common import tell
from bot.admin.render import back_to, render
from bot.admin.web import PageRoute, form_of
from handlers.volunteer import hours_text
from models.agreement import AgreementError, countersign, get_agreement, to_countersign
from models.followup import unit_liaison_ids
from models.member import reachable_ids
from models.org import Alliance, Unit
from models.pledge import PledgeError, get_pledge, may_review, review, to_review
from models.volunteer import HoursError, check_decide, decide, get_hours, pending

KINDS = {"hours": "志愿时长补录", "pledges": "党员承诺", "agreements": "共建协议会签"}
ACTIONS = {"approve": "通过", "decline": "退回", "countersign": "会签"}
DONE = {
    "done": "已处理，相关人员已收到通知。",
    "done_unreached": "已处理。有的人还没有绑定红盟助手，收不到通知，请另行告知。",
    "none": "没有选中任何一项。",
    "reason": "退回须写明原因。",
}
TO_HOURS_OK = "您的志愿时长补录（{title}，{hours}）已审核通过。"
TO_HOURS_NO = "您的志愿时长补录（{title}）未通过：{reason}"
TO_PLEDGE_OK = "您的承诺“{text}”已通过审核并公示，已列入“我的待办”。"
TO_PLEDGE_NO = "您的承诺“{text}”被退回：{reason}\n请修改后重新提交。"
TO_AGREEMENT = "{alliance}已会签贵单位的{year}年共建协议，协议生效。"


async def _queues(viewer: Viewer) -> dict[str, list[tuple[int, str, bool]]]:
    """kind → (id, description, whether this viewer may act on it)."""
    session, me = viewer.session, viewer.member
    hours = []
    for row in await pending(session, viewer.scope):
        try:
            check_decide(row, me)
            allowed = True
        except HoursError:
            allowed = False
        text = (
            f"{row.member.name} · {row.activity.title} · {hours_text(row.minutes)} · {row.reason}"
        )
        hours.append((row.id, text, allowed))
    pledges = []
    for pledge in await to_review(session, me):
        pledges.append(
            (pledge.id, f"{pledge.member.name} · {pledge.text}", may_review(me, pledge))
        )
    agreements = []
    for agreement in await to_countersign(session, viewer.scope):
        unit = await session.get(Unit, agreement.unit_id)
        alliance = await session.get(Alliance, agreement.alliance_id)
        names = (unit.name if unit else "", alliance.name if alliance else "")
        text = f"{names[0]} · {names[1]} · {agreement.year}年"
        agreements.append((agreement.id, text, agreement.signed_by_id != me.id))
    return {"hours": hours, "pledges": pledges, "agreements": agreements}


async def page(request: Request, viewer: Viewer) -> Response:
    queues = await _queues(viewer)
    return render(
        request,
        viewer,
        "reviews.html",
        title="审核",
        kinds=KINDS,
        queues=queues,
        messages=DONE,
    )


def _picked(form: Any) -> tuple[str, str, list[int], str]:
    kind = str(form.get("kind", ""))
    action = str(form.get("action", ""))
    ids = sorted({int(v) for v in form.getlist("id") if str(v).isdigit()})
    return kind, action, ids, str(form.get("reason", "")).strip()


async def confirm(request: Request, viewer: Viewer) -> Response:
    """What the ticked items are and what will happen to them; nothing is written yet."""
    kind, action, ids, reason = _picked(form_of(request))
    if kind not in KINDS or action not in ACTIONS or not ids:
        return back_to("/admin/reviews", "none")
    if action == "decline" and not reason:
        return back_to("/admin/reviews", "reason")
    found = {i: text for i, text, ok in (await _queues(viewer))[kind] if ok}
    items = [(i, found[i]) for i in ids if i in found]
    if not items:
        return back_to("/admin/reviews", "none")
    return render(
        request,
        viewer,
        "review_confirm.html",
        title="确认审核",
        kind=kind,
        kind_label=KINDS[kind],
        action=action,
        action_label=ACTIONS[action],
        reason=reason,
        items=items,
    )


async def act(request: Request, viewer: Viewer) -> Response:
    """Do what the confirmation showed, item by item with the model's rules; tell each one."""
    kind, action, ids, reason = _picked(form_of(request))
    if kind not in KINDS or action not in ACTIONS or not ids:
        return back_to("/admin/reviews", "none")
    session, me, now = viewer.session, viewer.member, viewer.now
    done = 0
    told: list[int] = []
    for item_id in ids:
        if kind == "hours" and action in ("approve", "decline"):
            row = await get_hours(session, item_id)
            if row is None:
                continue
            try:
                await decide(
                    session=session,
                    row=row,
                    actor=me,
                    approve=action == "approve",
                    now=now,
                    reason=reason,
                )
            except HoursError:
                continue
            text = (
                TO_HOURS_OK.format(title=row.activity.title, hours=hours_text(row.minutes))
                if action == "approve"
                else TO_HOURS_NO.format(title=row.activity.title, reason=reason)
            )
            await tell(viewer, [row.member_id], text, kind="hours_decided", ref_id=row.id)
            told.append(row.member_id)
        elif kind == "pledges" and action in ("approve", "decline"):
            pledge = await get_pledge(session, item_id)
            if pledge is None:
                continue
            try:
                await review(
                    session=session,
                    pledge=pledge,
                    actor=me,
                    approve=action == "approve",
                    now=now,
                    reason=reason,
                )
            except PledgeError:
                continue
            text = (
                TO_PLEDGE_OK.format(text=pledge.text)
                if action == "approve"
                else TO_PLEDGE_NO.format(text=pledge.text, reason=reason)
            )
            await tell(viewer, [pledge.member_id], text, kind="pledge_review", ref_id=pledge.id)
            told.append(pledge.member_id)
        elif kind == "agreements" and action == "countersign":
            agreement = await get_agreement(session, item_id)
            if agreement is None:
                continue
            try:
                await countersign(session=session, agreement=agreement, actor=me, now=now)
            except AgreementError:
                continue
            alliance = await session.get(Alliance, agreement.alliance_id)
            text = TO_AGREEMENT.format(
                alliance=alliance.name if alliance else "", year=agreement.year
            )
            members = await unit_liaison_ids(session, agreement.unit_id)
            await tell(viewer, members, text, kind="agreement", ref_id=agreement.id)
            told += members
        else:
            continue
        done += 1
    viewer.audit("review", kind=kind, verb=action, ids=ids, done=done, reason=reason)
    if not done:
        return back_to("/admin/reviews", "none")
    others = {m for m in told if m != me.id}
    reached = await reachable_ids(session, others)
    return back_to("/admin/reviews", "done" if reached >= others else "done_unreached")


PAGES = [
    PageRoute("/reviews", page, Need.ADMIN),
    PageRoute("/reviews/confirm", confirm, Need.ADMIN, ("POST",)),
    PageRoute("/reviews/do", act, Need.ADMIN, ("POST",)),
]

"""轮值: each alliance's host order, period and chair rotation (created or changed through
models/rotation_setup.save_plan, as the rotation sheet is), the coming periods with the host
of each to change, and swaps of two periods; the units concerned are told in chat."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.pages.common import tell
from bot.admin.render import Column, Filter, back_to, listing, render
from bot.admin.web import Missing, PageRoute, form_of, int_or
from bot.core.clock import fmt_local, to_local
from handlers.rotation import OVERRIDE_NOTE, period_label
from models.member import reachable_ids
from models.org import Alliance, Membership, Unit
from models.rotation import (
    PERIOD_ZH,
    Period,
    RotationError,
    RotationOverride,
    RotationPlan,
    chair_term_end,
    chair_unit_id,
    get_plan,
    period_index,
    set_override,
    turns,
    unit_names,
    unit_secretary,
)
from models.rotation_setup import CHAIR_TERM_ZH, PlanDraft, PlanError, save_plan, swap_periods

COMING = 12
DONE = {
    "saved": "轮值安排已保存：已开始的轮值期保持原承办单位，新顺序从下一期起执行。",
    "override": "已调整这一期的承办单位，并通知了该单位书记。",
    "override_unreached": (
        "已调整这一期的承办单位。⚠️ 该单位书记还没有使用红盟助手，未能通知，请线下告知。"
    ),
    "swap": "已交换两期的承办单位，并通知了两个单位的书记。",
    "swap_unreached": (
        "已交换两期的承办单位。⚠️ 有单位的书记还没有使用红盟助手，未能通知，请线下告知。"
    ),
}
PROBLEMS = {
    "no_units": "请至少为一个单位填写轮办顺序。",
    "not_member": "有单位不是本联盟的成员单位。",
    "duplicate": "轮办顺序（或主席顺序）有重复的数字，请改正。",
    "chair_term": "请选择主席任期。",
    "past": "已经过去的轮值期不能再调整。",
    "same_unit": "两期是同一个单位承办，无需交换。",
    "not_in_plan": "这个单位不在本联盟的轮值名单中。",
    "bad_date": "起始日期不对，请选择一个日期。",
    "bad_period": "请选择周期。",
}


async def list_page(request: Request, viewer: Viewer) -> Response:
    session, now = viewer.session, viewer.now
    filters = [Filter("q", "联盟名称", kind="text"), Filter("unset", "只看未设置的", kind="check")]
    values = {f.name: request.query_params.get(f.name, "").strip() for f in filters}

    async def fetch(offset: int, limit: int | None) -> tuple[list[Any], int]:
        stmt = (
            select(Alliance, RotationPlan)
            .outerjoin(RotationPlan, RotationPlan.alliance_id == Alliance.id)
            .where(viewer.scope.where(Alliance.id))
        )
        if values["q"]:
            stmt = stmt.where(Alliance.name.contains(values["q"]))
        if values["unset"]:
            stmt = stmt.where(RotationPlan.id.is_(None))
        total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
        stmt = stmt.order_by(Alliance.id).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = []
        for alliance, plan in (await session.execute(stmt)).all():
            rows.append(await _summary(session, alliance, plan, now))
        return rows, int(total or 0)

    columns = (
        Column("联盟", lambda r: r["name"], lambda r: f"/admin/rotation/{r['id']}"),
        Column("周期", lambda r: r["period"]),
        Column("本期承办", lambda r: r["now"]),
        Column("下一期", lambda r: r["next"]),
        Column("主席单位", lambda r: r["chair"]),
        Column("轮值单位数", lambda r: r["count"]),
    )
    return await listing(
        request,
        viewer,
        title="轮值",
        columns=columns,
        filters=filters,
        fetch=fetch,
        sheet="轮值",
        template="rotation_list.html",
    )


async def _summary(
    session: Any, alliance: Alliance, plan: RotationPlan | None, now: Any
) -> dict[str, Any]:
    row = {
        "id": alliance.id,
        "name": alliance.name,
        "period": "未设置",
        "now": "",
        "next": "",
        "chair": "",
        "count": 0,
    }
    if plan is None or not plan.unit_ids:
        return row
    coming = await turns(session, plan, first_index=period_index(plan, now), count=2)
    chair = chair_unit_id(plan, now)
    names = await unit_names(session, [t.unit_id for t in coming] + ([chair] if chair else []))
    row.update(
        period=f"每{PERIOD_ZH[plan.period]}",
        now=f"{period_label(plan, coming[0].index)}：{names.get(coming[0].unit_id, '')}",
        next=f"{period_label(plan, coming[1].index)}：{names.get(coming[1].unit_id, '')}",
        chair=names.get(chair, "") if chair else "",
        count=len(plan.unit_ids),
    )
    return row


async def _alliance(viewer: Viewer, request: Request) -> Alliance:
    alliance_id = int(request.path_params["alliance_id"])
    alliance = await viewer.session.get(Alliance, alliance_id)
    if alliance is None or not viewer.scope.covers(alliance_id):
        raise Missing
    return alliance


async def detail_page(
    request: Request, viewer: Viewer, error: str = "", status: int = 200
) -> Response:
    alliance = await _alliance(viewer, request)
    session, now = viewer.session, viewer.now
    plan = await get_plan(session, alliance.id)
    units = list(
        (
            await session.execute(
                select(Unit)
                .join(Membership, Membership.unit_id == Unit.id)
                .where(Membership.alliance_id == alliance.id)
                .order_by(Unit.has_party_org.desc(), Unit.name)
            )
        ).scalars()
    )
    order = {int(u): i + 1 for i, u in enumerate(plan.unit_ids)} if plan else {}
    chairs = {int(u): i + 1 for i, u in enumerate(plan.chair_unit_ids)} if plan else {}
    coming: list[dict[str, Any]] = []
    if plan is not None and plan.unit_ids:
        rows = await turns(session, plan, first_index=period_index(plan, now), count=COMING)
        names = await unit_names(
            session, [t.unit_id for t in rows] + [int(u) for u in plan.unit_ids]
        )
        reasons = dict(
            (
                await session.execute(
                    select(RotationOverride.period_index, RotationOverride.reason).where(
                        RotationOverride.alliance_id == alliance.id
                    )
                )
            ).all()
        )
        for t in rows:
            coming.append(
                {
                    "index": t.index,
                    "label": period_label(plan, t.index),
                    "unit_id": t.unit_id,
                    "unit": names.get(t.unit_id, ""),
                    "why": {"admin": "管理员调整", "swap": "换班"}.get(
                        reasons.get(t.index, ""), ""
                    ),
                    "now": t.starts_at <= now < t.ends_at,
                }
            )
        chair = chair_unit_id(plan, now)
        chair_text = (
            f"{names.get(chair) or (await unit_names(session, [chair])).get(chair, '')}"
            f"（任期至 {fmt_local(chair_term_end(plan, now) - timedelta(days=1), '%Y-%m-%d')}）"
            if chair
            else "未设置"
        )
    else:
        chair_text = "未设置"
    today = to_local(now).date()
    return render(
        request,
        viewer,
        "rotation.html",
        status=status,
        title=f"轮值 · {alliance.name}",
        alliance=alliance,
        plan=plan,
        units=units,
        order=order,
        chairs=chairs,
        coming=coming,
        periods=[(p.value, PERIOD_ZH[p]) for p in Period],
        terms=sorted(CHAIR_TERM_ZH.items()),
        start=(plan.starts_on if plan else date(today.year, today.month, 1)).isoformat(),
        chair=chair_text,
        error=error,
        messages=DONE,
        plan_units=[
            (int(u), n)
            for u, n in (await unit_names(session, [int(x) for x in plan.unit_ids])).items()
        ]
        if plan
        else [],
    )


def _numbers(form: Any, prefix: str, unit_ids: list[int]) -> dict[int, int]:
    found = {}
    for unit_id in unit_ids:
        value = int_or(form.get(f"{prefix}{unit_id}"))
        if value is not None and value > 0:
            found[unit_id] = value
    return found


async def save(request: Request, viewer: Viewer) -> Response:
    alliance = await _alliance(viewer, request)
    form = form_of(request)
    members = list(
        await viewer.session.scalars(
            select(Membership.unit_id).where(Membership.alliance_id == alliance.id)
        )
    )
    hosts = _numbers(form, "order_", members)
    chairs = _numbers(form, "chair_", members)
    if len(set(hosts.values())) != len(hosts) or len(set(chairs.values())) != len(chairs):
        return await detail_page(request, viewer, PROBLEMS["duplicate"], 400)
    try:
        period = Period(str(form.get("period", "")))
    except ValueError:
        return await detail_page(request, viewer, PROBLEMS["bad_period"], 400)
    try:
        starts_on = date.fromisoformat(str(form.get("starts_on", "")))
    except ValueError:
        return await detail_page(request, viewer, PROBLEMS["bad_date"], 400)
    draft = PlanDraft(
        alliance_id=alliance.id,
        period=period,
        starts_on=starts_on,
        unit_ids=sorted(hosts, key=lambda u: hosts[u]),
        chair_unit_ids=sorted(chairs, key=lambda u: chairs[u]),
        chair_term_months=int_or(form.get("term"), 12) or 12,
    )
    try:
        plan, replaced = await save_plan(
            session=viewer.session, draft=draft, now=viewer.now, by_id=viewer.member.id
        )
    except PlanError as error:
        return await detail_page(request, viewer, PROBLEMS[error.reason], 400)
    viewer.audit(
        "rotation_save",
        alliance_id=alliance.id,
        alliance=alliance.name,
        replaced=replaced,
        period=period.value,
        starts_on=plan.starts_on.isoformat(),
        units=plan.unit_ids,
        chairs=plan.chair_unit_ids,
        chair_term_months=plan.chair_term_months,
    )
    return back_to(f"/admin/rotation/{alliance.id}", "saved")


async def _plan(viewer: Viewer, alliance: Alliance) -> RotationPlan:
    plan = await get_plan(viewer.session, alliance.id)
    if plan is None:
        raise Missing
    return plan


async def override(request: Request, viewer: Viewer) -> Response:
    alliance = await _alliance(viewer, request)
    plan = await _plan(viewer, alliance)
    form = form_of(request)
    index, unit_id = int_or(form.get("index")), int_or(form.get("unit"))
    if index is None or unit_id is None:
        return await detail_page(request, viewer, PROBLEMS["not_in_plan"], 400)
    try:
        await set_override(
            session=viewer.session,
            plan=plan,
            index=index,
            unit_id=unit_id,
            reason="admin",
            by=viewer.member,
            now=viewer.now,
        )
    except RotationError as error:
        return await detail_page(request, viewer, PROBLEMS[error.reason], 400)
    label = period_label(plan, index)
    secretary = await unit_secretary(viewer.session, unit_id)
    reached = secretary is not None and bool(await reachable_ids(viewer.session, [secretary.id]))
    if secretary is not None:
        await tell(
            viewer,
            [secretary.id],
            OVERRIDE_NOTE.format(alliance=alliance.name, label=label),
            kind="rotation",
        )
    viewer.audit(
        "rotation_override", alliance_id=alliance.id, index=index, label=label, unit_id=unit_id
    )
    done = "override" if reached else "override_unreached"
    return back_to(f"/admin/rotation/{alliance.id}", done)


async def swap(request: Request, viewer: Viewer) -> Response:
    alliance = await _alliance(viewer, request)
    plan = await _plan(viewer, alliance)
    form = form_of(request)
    first, second = int_or(form.get("first")), int_or(form.get("second"))
    if first is None or second is None:
        return await detail_page(request, viewer, PROBLEMS["same_unit"], 400)
    try:
        to_first, to_second = await swap_periods(
            session=viewer.session,
            plan=plan,
            first=first,
            second=second,
            by_id=viewer.member.id,
            now=viewer.now,
        )
    except RotationError as error:
        return await detail_page(request, viewer, PROBLEMS[error.reason], 400)
    reached = True
    for unit_id, index in ((to_first, first), (to_second, second)):
        secretary = await unit_secretary(viewer.session, unit_id)
        if secretary is None or not await reachable_ids(viewer.session, [secretary.id]):
            reached = False
        if secretary is not None:
            note = OVERRIDE_NOTE.format(alliance=alliance.name, label=period_label(plan, index))
            await tell(viewer, [secretary.id], note, kind="rotation")
    viewer.audit("rotation_swap", alliance_id=alliance.id, first=first, second=second)
    return back_to(f"/admin/rotation/{alliance.id}", "swap" if reached else "swap_unreached")


PAGES = [
    PageRoute("/rotation", list_page, Need.ADMIN),
    PageRoute("/rotation/{alliance_id:int}", detail_page, Need.ADMIN),
    PageRoute("/rotation/{alliance_id:int}", save, Need.ADMIN, ("POST",)),
    PageRoute("/rotation/{alliance_id:int}/override", override, Need.ADMIN, ("POST",)),
    PageRoute("/rotation/{alliance_id:int}/swap", swap, Need.ADMIN, ("POST",)),
]

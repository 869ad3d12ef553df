"""党建经费 (console): each alliance's party fund in the viewer's scope — treasurer, approvers,
how many must agree, above what the county reviews, the balance, this year's 众筹 and the last
bank reading — and a form to set it up or change it (models.fund.configure, audited)."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.render import back_to, render
from bot.admin.web import Missing, PageRoute, form_of, int_or
from bot.core.clock import to_local
from bot.core.money import AmountError, parse_amount, show_amount
from models.fund import (
    BankBalance,
    FundError,
    balance,
    campaign_for,
    configure,
    fund_of,
    named_in_alliance,
    progress,
)
from models.member import Member
from models.org import Alliance

DONE = {"saved": "党建经费设置已保存，出纳和审批人会在聊天中看到新的待办。"}
PROBLEMS = {
    "treasurer": "请填写出纳的姓名（本联盟成员）。",
    "not_found": "本联盟没有叫“{name}”的成员。",
    "two": "本联盟有多位叫“{name}”的成员，请在花名册中核对。",
    "approvers": "审批人至少要比需同意的人数多一位（申请人本人不能审批自己的申请）。",
    "threshold": "县里审核的金额没看懂，例如：2万元。",
    "not_admin": "只有本联盟的管理员可以设置党建经费。",
    "zero": "县里审核的金额要大于零。",
}
SPLIT = re.compile(r"[、，,；;\s]+")


async def _rows(viewer: Viewer) -> list[dict[str, object]]:
    session, year = viewer.session, to_local(viewer.now).year
    stmt = select(Alliance).where(viewer.scope.where(Alliance.id)).order_by(Alliance.id)
    rows = []
    for alliance in (await session.execute(stmt)).scalars():
        fund = await fund_of(session, alliance.id)
        row: dict[str, object] = {"alliance": alliance, "fund": fund}
        if fund is not None:
            treasurer = await session.get(Member, fund.treasurer_id)
            approvers = [await session.get(Member, i) for i in sorted(fund.approver_ids())]
            row["treasurer"] = treasurer.name if treasurer else ""
            row["approvers"] = "、".join(a.name for a in approvers if a)
            row["threshold"] = show_amount(fund.county_threshold)
            row["balance"] = show_amount(await balance(session, fund))
            campaign = await campaign_for(session, fund, year)
            if campaign is not None:
                state = await progress(session, campaign)
                row["campaign"] = (
                    f"{show_amount(state.raised)} / {show_amount(campaign.goal)}"
                    f"（{state.percent}%），未交齐 {len(state.unpaid)} 家"
                )
            bank = await session.scalar(
                select(BankBalance)
                .where(BankBalance.fund_id == fund.id)
                .order_by(BankBalance.month.desc())
                .limit(1)
            )
            if bank is not None:
                gap = (
                    "与账面一致"
                    if not bank.difference
                    else (f"与账面相差 {show_amount(abs(bank.difference))}")
                )
                row["bank"] = f"{bank.month} 末 {show_amount(bank.fen)}，{gap}"
        rows.append(row)
    return rows


async def page(request: Request, viewer: Viewer, error: str = "", status: int = 200) -> Response:
    return render(
        request,
        viewer,
        "funds.html",
        status=status,
        title="党建经费",
        rows=await _rows(viewer),
        year=to_local(viewer.now).year,
        error=error,
        messages=DONE,
        form=dict(form_of(request)) if request.method == "POST" else {},
    )


async def _person(viewer: Viewer, alliance_id: int, name: str) -> Member | str:
    found = await named_in_alliance(viewer.session, alliance_id, name)
    if not found:
        return PROBLEMS["not_found"].format(name=name)
    if len(found) > 1:
        return PROBLEMS["two"].format(name=name)
    return found[0]


async def save(request: Request, viewer: Viewer) -> Response:
    alliance_id = int(request.path_params["alliance_id"])
    if await viewer.session.get(Alliance, alliance_id) is None:
        raise Missing
    if not viewer.scope.covers(alliance_id):
        return await page(request, viewer, PROBLEMS["not_admin"], 403)
    form = form_of(request)
    name = str(form.get("treasurer", "")).strip()
    if not name:
        return await page(request, viewer, PROBLEMS["treasurer"], 400)
    treasurer = await _person(viewer, alliance_id, name)
    if isinstance(treasurer, str):
        return await page(request, viewer, treasurer, 400)
    approvers: list[Member] = []
    for typed in [n for n in SPLIT.split(str(form.get("approvers", ""))) if n]:
        person = await _person(viewer, alliance_id, typed)
        if isinstance(person, str):
            return await page(request, viewer, person, 400)
        approvers.append(person)
    try:
        threshold = parse_amount(str(form.get("threshold", ""))).fen
    except AmountError:
        return await page(request, viewer, PROBLEMS["threshold"], 400)
    needed = int_or(form.get("needed"), 0) or 0
    try:
        fund = await configure(
            session=viewer.session,
            alliance_id=alliance_id,
            member=viewer.member,
            treasurer=treasurer,
            approvers=approvers,
            approvals_needed=needed,
            county_threshold=threshold,
            now=viewer.now,
        )
    except FundError as error:
        return await page(request, viewer, PROBLEMS.get(error.reason, PROBLEMS["approvers"]), 400)
    viewer.audit(
        "fund_setup",
        alliance_id=alliance_id,
        fund_id=fund.id,
        treasurer_id=treasurer.id,
        approver_ids=sorted(a.id for a in approvers),
        approvals_needed=needed,
        county_threshold=threshold,
    )
    return back_to("/admin/funds", "saved")


PAGES = [
    PageRoute("/funds", page, Need.ADMIN),
    PageRoute("/funds/{alliance_id:int}", save, Need.ADMIN, ("POST",)),
]

"""/outcomes (成果, 成果台账): the figures of an alliance or of the county for a period, each
with the entries and evidence behind it; an entry's card (成果 CG-0001) with what the reader
may do: 通过 and 退回 (the alliance), 验收, 退回 and 重新打开 (the county), 修改 (the
submitter). /outcomereview (成果审核) lists what waits for the sender.

Buttons: outcomes.view (entry), outcomes.act (do, entry), outcomereview.page (offset).
Dialog (outcomes.*): the reason of 退回 / 重新打开, and the confirmation of 验收.
"""

from __future__ import annotations

import re

from bot.core import Button, Flow, Reply, Role
from handlers import paging
from handlers.context import Context
from handlers.outcome_text import (
    ACTION_ZH,
    STATE_ZH,
    card,
    county_admins,
    entry_value,
    figure_lines,
    lock_reason,
    period_of,
    reviewers,
    scope_name,
    told_text,
    view_button,
)
from models.org import Alliance
from models.outcome import (
    OutcomeEntry,
    OutcomeError,
    State,
    can_view,
    entries_in,
    figures,
    get_entry,
    parse_period,
    waiting_for,
)
from models.outcome import act as take_action
from models.scope import Scope

NUMBER_RE = re.compile(r"^\s*(?:CG)?\s*-?\s*0*(\d{1,6})\s*$", re.I)
FIGURES_TITLE = "📊 {scope}{period}成果（已审核）："
NOTHING_YET = "{scope}{period}还没有已审核的成果。"
APPROVED_AMONG = "其中 {n} 条联盟已审核、待县里验收（县里验收后计入成果报告）。"
WAITING_PARTS = (
    (State.SUBMITTED, "待联盟审核 {n} 条"),
    (State.RETURNED, "退回待改 {n} 条"),
)
BAD_PERIOD = "没看懂这个时间段。可以这样写：今年、2026年、本季度、上季度、2026年第三季度、上半年。"
NOT_FOUND = "没有找到这条成果，或您无权查看。"
REVIEW_TITLE = "📋 待您审核的成果 {count} 条："
REVIEW_EMPTY = "目前没有待您审核的成果。"
ASK_REASON = "请写明{action}的理由（会告诉填报人）："
REASON_REQUIRED = "理由不能为空，请写一句理由，或发送“取消”。"
CONFIRM_ACCEPT = "验收后 {number}（{metric} {value}）计入全县成果并锁定，不能再改。确认验收？"
PICK_CONFIRM = "请点“确认”，或发送“取消”。"
DONE = {
    "approve": "已通过 {number}，已告知填报人，等待县里验收。",
    "return": "已退回 {number}，已告知填报人。",
    "send_back": "已退回 {number}，已告知填报人和联盟。",
    "accept": "已验收 {number}，已锁定并计入全县成果。",
    "reopen": "已重新打开 {number}（已记入操作日志），已告知填报人。",
}
ERRORS = {
    "not_permitted": "您不能对 {number} 执行“{action}”。",
    "illegal": "{number} 当前是“{state}”，不能{action}。",
    "reason_required": REASON_REQUIRED,
}
BUTTONS_FOR_ADMINS = (("填报成果", "addoutcome"), ("成果审核", "outcomereview"))
FLOW = Flow("outcomes")


def _scope(ctx: Context) -> Scope:
    me = ctx.me
    return me.admin_scope() if not me.admin_scope().empty else me.visible_scope()


async def show(ctx: Context, period: str = "") -> list[Reply]:
    """The figures of the sender's alliance (the county for a county admin) for a period; with
    an entry number (CG-0003), that entry."""
    typed = NUMBER_RE.match(period or "")
    if typed and period.strip().upper().startswith("CG"):
        return await view(ctx, int(typed.group(1)))
    found_period = parse_period(period or "", ctx.now)
    if found_period is None:
        return [Reply(BAD_PERIOD)]
    scope = _scope(ctx)
    name = await scope_name(ctx.session, scope)
    found = await figures(ctx.session, scope, found_period)
    lines = (
        [FIGURES_TITLE.format(scope=name, period=found_period.label), *figure_lines(found)]
        if found
        else [NOTHING_YET.format(scope=name, period=found_period.label)]
    )
    pending = await entries_in(
        ctx.session, scope, found_period, (State.SUBMITTED, State.APPROVED, State.RETURNED)
    )
    count = {s: sum(1 for e in pending if e.state == s) for s in State}
    if count[State.APPROVED]:  # counted above (已审核): said as such, not as one more
        lines.append(APPROVED_AMONG.format(n=count[State.APPROVED]))
    parts = [text.format(n=count[s]) for s, text in WAITING_PARTS if count[s]]
    if parts:
        lines.append("另有：" + "，".join(parts) + "。")
    buttons: tuple[Button, ...] = ()
    if ctx.me.has_role(Role.LIAISON):
        buttons = (Button("填报成果", "addoutcome"),)
    if ctx.me.has_role(Role.ALLIANCE_ADMIN):
        buttons += (
            Button("成果审核", "outcomereview"),
            Button("成果报告", "outcomereport", period=found_period.label),
        )
    return [Reply("\n".join(lines), buttons)]


async def view(ctx: Context, entry: int) -> list[Reply]:
    """Button or 成果 CG-0001: one entry's card."""
    found = await _find(ctx, entry)
    if found is None:
        return [Reply(NOT_FOUND)]
    return [await card(ctx.session, found, ctx.me, ctx.now, ctx.settings)]


async def review(ctx: Context, offset: int = 0) -> list[Reply]:
    """What waits for the sender: the alliance's approval or the county's acceptance."""
    waiting = await waiting_for(ctx.session, ctx.me)
    if not waiting:
        return [Reply(REVIEW_EMPTY)]
    rows, offset = paging.window(waiting, offset)
    lines = [REVIEW_TITLE.format(count=len(waiting))]
    for e in rows:
        lines.append(
            f"· {e.number} {e.spec.name} {entry_value(e)}（{period_of(e).label}，"
            f"{STATE_ZH[e.state]}）"
        )
    where = paging.where(offset, len(rows), len(waiting))
    if where:
        lines.append(where)
    buttons = tuple(b for e in rows for b in view_button(e))
    return [
        Reply(
            "\n".join(lines), buttons + paging.buttons("outcomereview.page", offset, len(waiting))
        )
    ]


async def act(ctx: Context, do: str, entry: int) -> list[Reply]:
    """Button: 通过 at once; 验收 after a confirmation; 退回 / 重新打开 after a reason;
    修改 starts the correction (handlers.outcome_form)."""
    found = await _find(ctx, entry)
    if found is None or do not in ACTION_ZH:
        return [Reply(NOT_FOUND)]
    if do == "edit":
        from handlers.outcome_form import start_edit

        return await start_edit(ctx, found)
    if do == "approve":
        return await _perform(ctx, found, do)
    refusal = _refusal(ctx, found, do)
    if refusal:
        return [Reply(refusal)]
    if do == "accept":
        await ctx.dialog.set_state(confirm_step, entry_id=found.id, do=do)
        text = CONFIRM_ACCEPT.format(
            number=found.number, metric=found.spec.name, value=entry_value(found)
        )
        return [Reply(text, (Button("确认", "outcomes.confirm", yes=True),))]
    await ctx.dialog.set_state(reason_step, entry_id=found.id, do=do)
    return [Reply(ASK_REASON.format(action=ACTION_ZH[do]))]


@FLOW.step("reason", free_text=True)
async def reason_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the reason of 退回 or 重新打开; then done, and the submitter told."""
    data = ctx.dialog.get_data()
    found = await _find(ctx, int(data.get("entry_id", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(NOT_FOUND)]
    if not text.strip():
        return [Reply(REASON_REQUIRED)]
    return await _perform(ctx, found, str(data.get("do", "")), text.strip())


@FLOW.step("confirm")
async def confirm_step(ctx: Context, text: str = "", yes: bool = False) -> list[Reply]:
    """Step: 确认 the acceptance shown."""
    data = ctx.dialog.get_data()
    found = await _find(ctx, int(data.get("entry_id", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(NOT_FOUND)]
    if not yes:
        return [Reply(PICK_CONFIRM, (Button("确认", "outcomes.confirm", yes=True),))]
    return await _perform(ctx, found, str(data.get("do", "")))


async def _perform(ctx: Context, entry: OutcomeEntry, do: str, reason: str = "") -> list[Reply]:
    try:
        await take_action(
            session=ctx.session, entry=entry, member=ctx.me, action=do, reason=reason, now=ctx.now
        )
    except OutcomeError as error:
        if ctx.dialog.flow == FLOW.name:
            await ctx.dialog.clear()
        return [Reply(_error_text(ctx, entry, do, error.reason))]
    if ctx.dialog.flow == FLOW.name:
        await ctx.dialog.clear()
    if do == "reopen":
        ctx.audit("outcome.reopen", entry=entry.number, reason=reason)
    await _tell(ctx, entry, do)
    return [Reply(DONE[do].format(number=entry.number), view_button(entry))]


async def _tell(ctx: Context, entry: OutcomeEntry, do: str) -> None:
    told: set[int] = {ctx.me.id}
    if entry.submitted_by_id and entry.submitted_by_id not in told:
        told.add(entry.submitted_by_id)
        await ctx.notify(
            entry.submitted_by_id, Reply(told_text(do, entry), view_button(entry)), kind="outcome"
        )
    if do == "approve":
        alliance = await ctx.session.get(Alliance, entry.alliance_id)
        text = told_text("approve_county", entry, alliance=alliance.name if alliance else "")
        for admin in await county_admins(ctx.session):
            if admin.id not in told:
                told.add(admin.id)
                await ctx.notify(admin.id, Reply(text, view_button(entry)), kind="outcome")
    if do == "send_back":
        for admin in await reviewers(ctx.session, entry):
            if admin.id not in told:
                told.add(admin.id)
                await ctx.notify(
                    admin.id, Reply(told_text(do, entry), view_button(entry)), kind="outcome"
                )


def _refusal(ctx: Context, entry: OutcomeEntry, do: str) -> str:
    from models.outcome import check

    try:
        check(ctx.me, entry, do)
    except OutcomeError as error:
        return _error_text(ctx, entry, do, error.reason)
    return ""


def _error_text(ctx: Context, entry: OutcomeEntry, do: str, reason: str) -> str:
    if reason == "locked":
        return lock_reason(entry, ctx.now)
    template = ERRORS.get(reason, ERRORS["illegal"])
    return template.format(
        number=entry.number, action=ACTION_ZH.get(do, do), state=STATE_ZH[entry.state]
    )


async def _find(ctx: Context, entry_id: int) -> OutcomeEntry | None:
    found = await get_entry(ctx.session, entry_id) if entry_id else None
    return found if found is not None and can_view(ctx.me, found) else None

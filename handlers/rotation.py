"""/rotation: chair, current host and the next three; swaps, admin overrides, .ics; sweeps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Reply, Role
from bot.core.clock import fmt_local, to_local
from handlers.context import Context
from handlers.files import outgoing, stamp
from models.activity import Activity, live
from models.member import Member, reachable_ids
from models.org import Alliance
from models.outbox import enqueue
from models.rotation import (
    Period,
    RotationError,
    RotationPlan,
    SwapRequest,
    Turn,
    all_plans,
    alliance_admins,
    answer_swap,
    ask_swap,
    chair_term_end,
    chair_unit_id,
    current_turn,
    get_plan,
    ics_calendar,
    pending_swaps_to,
    period_bounds,
    period_index,
    set_override,
    stand_in_admins,
    turns,
    unit_names,
    unit_secretary,
)
from settings import Settings

NO_PLAN = "您所在的联盟还没有设置轮值安排。"
HEAD = "🔄 {alliance}"
CHAIR = "主席单位：{unit}（任期至 {end}）"
CURRENT = "本期轮值（{label}）：{unit}"
NEXT = "接下来："
ICS_BUTTON = "📅 日历文件"
SWAP_BUTTON = "🔁 申请换班"
OVERRIDE_BUTTON = "✏️ 调整轮值"
ICS_TEXT = "{alliance} 轮值日历（可导入手机日历）"
SWAP_PICK = "用您单位的 {label} 和哪一期交换？"
SWAP_ASKED = "已向 {unit} 发出换班申请，对方同意后生效。"
SWAP_INVITE = "{unit} 想用它的 {mine} 与贵单位的 {theirs} 交换轮值，是否同意？"
SWAP_TO_ADMIN = (
    "{unit} 的书记还没有使用红盟助手，收不到换班申请。已转联盟管理员（{admins}）联系该单位"
    "代为答复；书记绑定后也会收到。结果会通知您。"
)
SWAP_FOR_ADMIN = (
    "🔁 {unit} 想用它的 {mine} 与 {other} 的 {theirs} 交换轮值，但{why}。请联系该单位后代为答复："
)
UNBOUND = "{other} 的书记还没有绑定红盟助手"
NO_SECRETARY = "{other} 还没有登记书记"
OVERRIDE_UNTOLD = "\n⚠️ 该单位书记还没有使用红盟助手，未能通知到，请电话告知。"
SWAP_DONE = "换班已生效：{a} 承办 {a_label}，{b} 承办 {b_label}。"
SWAP_DECLINED = "{unit} 没有同意换班申请（{label}）。"
SWAP_DECLINED_ME = "已拒绝换班申请。"
OVERRIDE_PERIOD = "调整哪一期的轮值单位？"
OVERRIDE_UNIT = "{label} 改由哪个单位承办？"
OVERRIDE_DONE = "已调整：{label} 由 {unit} 承办。"
OVERRIDE_NOTE = "联盟管理员安排贵单位承办 {alliance} {label} 的轮值活动。"
TURN_STARTS = (
    "🔄 本期（{label}）由贵单位承办 {alliance} 的轮值活动，请及时发送“发布活动”发布本期活动。"
)
UNPUBLISHED = "⏰ {alliance} 本期（{label}）还没有发布轮值活动，本期 {end} 结束，请尽快发布。"
UNPUBLISHED_ADMIN = "⏰ {alliance} 本期轮值单位 {unit} 还没有发布本期（{label}）活动。"
NO_OWN_TURN = "贵单位近期没有轮值任务，无需换班。"
NOT_ADMIN = "只有联盟管理员可以调整轮值。"
ERRORS = {
    "no_plan": NO_PLAN,
    "not_your_turn": "那一期不是贵单位承办，不能拿来交换。",
    "same_unit": "两期是同一个单位承办，无需交换。",
    "past": "已经过去的轮值期不能再调整。",
    "not_pending": "这个换班申请已经处理过了。",
    "not_yours": "这个换班申请不是发给贵单位的。",
    "not_in_plan": "这个单位不在本联盟的轮值名单中。",
}


def period_label(plan: RotationPlan, index: int) -> str:
    start, _ = period_bounds(plan, index)
    local = to_local(start)
    if plan.period == Period.WEEK:
        return f"{local:%m月%d日}起一周"
    if plan.period == Period.QUARTER:
        return f"{local.year}年第{(local.month - 1) // 3 + 1}季度"
    return f"{local.year}年{local.month}月"


async def _visible_plans(ctx: Context) -> list[tuple[RotationPlan, Alliance]]:
    stmt = select(RotationPlan, Alliance).join(Alliance, Alliance.id == RotationPlan.alliance_id)
    stmt = stmt.where(ctx.me.visible_scope().where(RotationPlan.alliance_id))
    return list((await ctx.session.execute(stmt.order_by(Alliance.id))).all())


async def show(ctx: Context) -> list[Reply]:
    """The chair, the current host and the next three, for each of the sender's alliances."""
    replies = []
    for plan, alliance in await _visible_plans(ctx):
        upcoming = await turns(ctx.session, plan, first_index=period_index(plan, ctx.now), count=4)
        chair = chair_unit_id(plan, ctx.now)
        names = await unit_names(ctx.session, [t.unit_id for t in upcoming] + [chair or 0])
        lines = [HEAD.format(alliance=alliance.name)]
        if chair is not None:
            end = fmt_local(chair_term_end(plan, ctx.now) - timedelta(days=1), "%Y年%m月%d日")
            lines.append(CHAIR.format(unit=names.get(chair, "?"), end=end))
        now_turn, *later = upcoming
        label = period_label(plan, now_turn.index)
        lines.append(CURRENT.format(label=label, unit=names[now_turn.unit_id]))
        lines.append(NEXT)
        lines += [f"· {period_label(plan, t.index)}：{names[t.unit_id]}" for t in later]
        alliance_id = plan.alliance_id
        buttons = [Button(ICS_BUTTON, "rotation.act", do="ics", alliance=alliance_id)]
        if ctx.me.has_role(Role.SECRETARY) and ctx.me.home_unit_id in plan.unit_ids:
            buttons.append(Button(SWAP_BUTTON, "rotation.act", do="swap", alliance=alliance_id))
        if _is_admin(ctx, alliance_id):
            buttons.append(
                Button(OVERRIDE_BUTTON, "rotation.act", do="override", alliance=alliance_id)
            )
        replies.append(Reply("\n".join(lines), buttons=tuple(buttons)))
    return replies or [Reply(NO_PLAN)]


def _is_admin(ctx: Context, alliance_id: int) -> bool:
    return ctx.me.administers(alliance_id)


async def press(ctx: Context, do: str, **values: int) -> list[Reply]:
    """Buttons: ics, swap (pick, ask, answer) and override (period, unit)."""
    try:
        return await ACTIONS[do](ctx, **values)
    except RotationError as error:
        return [Reply(ERRORS[error.reason])]


async def _plan(ctx: Context, alliance_id: int) -> RotationPlan:
    plan = await get_plan(ctx.session, alliance_id)
    if plan is None:
        raise RotationError("no_plan")
    return plan


async def _ics(ctx: Context, alliance: int) -> list[Reply]:
    plan = await _plan(ctx, alliance)
    alliance = await ctx.session.get(Alliance, plan.alliance_id)
    assert alliance is not None
    rows = await turns(ctx.session, plan, first_index=period_index(plan, ctx.now), count=12)
    names = await unit_names(ctx.session, [t.unit_id for t in rows])
    text = ics_calendar(alliance.name, [(t, names[t.unit_id]) for t in rows], ctx.now)
    path = outgoing("轮值日历", alliance.name, stamp(ctx.now), suffix=".ics")
    path.write_bytes(text.encode("utf-8"))
    return [Reply(ICS_TEXT.format(alliance=alliance.name), file=path)]


async def _own_turn(ctx: Context, plan: RotationPlan) -> Turn | None:
    rows = await turns(ctx.session, plan, first_index=period_index(plan, ctx.now), count=24)
    return next((t for t in rows if t.unit_id == ctx.me.home_unit_id), None)


async def _swap_pick(ctx: Context, alliance: int) -> list[Reply]:
    plan = await _plan(ctx, alliance)
    mine = await _own_turn(ctx, plan)
    if mine is None or not ctx.me.has_role(Role.SECRETARY):
        return [Reply(NO_OWN_TURN)]
    rows = await turns(ctx.session, plan, first_index=period_index(plan, ctx.now), count=7)
    others = [t for t in rows if t.unit_id != mine.unit_id][:4]
    names = await unit_names(ctx.session, [t.unit_id for t in others])
    buttons = tuple(
        Button(
            f"{period_label(plan, t.index)} {names[t.unit_id]}",
            "rotation.act",
            do="ask",
            alliance=plan.alliance_id,
            mine=mine.index,
            theirs=t.index,
        )
        for t in others
    )
    return [Reply(SWAP_PICK.format(label=period_label(plan, mine.index)), buttons=buttons)]


async def _swap_ask(ctx: Context, alliance: int, mine: int, theirs: int) -> list[Reply]:
    plan = await _plan(ctx, alliance)
    swap = await ask_swap(
        session=ctx.session,
        plan=plan,
        member=ctx.me,
        my_index=mine,
        their_index=theirs,
        now=ctx.now,
    )
    names = await unit_names(ctx.session, [swap.from_unit_id, swap.to_unit_id])
    secretary = await unit_secretary(ctx.session, swap.to_unit_id)
    if secretary is not None and await reachable_ids(ctx.session, [secretary.id]):
        await ctx.notify(
            secretary.id,
            _invite(plan, swap, names),
            kind="swap",
            ref_id=swap.id,
            dedupe_key=f"swap:{swap.id}:invite:{secretary.id}",
        )
        return [Reply(SWAP_ASKED.format(unit=names[swap.to_unit_id]))]
    # Nobody at that unit can read it: the alliance's admins answer for it meanwhile, and
    # the secretary gets it on binding (resend_pending_swaps).
    admins = [a for a in await stand_in_admins(ctx.session, plan.alliance_id) if a.id != ctx.me.id]
    labels = _labels(plan, swap, names)
    why = (NO_SECRETARY if secretary is None else UNBOUND).format(**labels)
    text = SWAP_FOR_ADMIN.format(**labels, why=why)
    for admin in admins:
        await ctx.notify(admin.id, Reply(text, _yes_no(swap)), kind="swap", ref_id=swap.id)
    who = "、".join(a.name for a in admins) or "联盟管理员"
    return [Reply(SWAP_TO_ADMIN.format(unit=names[swap.to_unit_id], admins=who))]


def _labels(plan: RotationPlan, swap: SwapRequest, names: dict[int, str]) -> dict[str, str]:
    return {
        "unit": names[swap.from_unit_id],
        "other": names[swap.to_unit_id],
        "mine": period_label(plan, swap.from_index),
        "theirs": period_label(plan, swap.to_index),
    }


def _yes_no(swap: SwapRequest) -> tuple[Button, ...]:
    return (
        Button("同意", "rotation.act", do="answer", swap=swap.id, accept=True),
        Button("拒绝", "rotation.act", do="answer", swap=swap.id, accept=False),
    )


def _invite(plan: RotationPlan, swap: SwapRequest, names: dict[int, str]) -> Reply:
    return Reply(SWAP_INVITE.format(**_labels(plan, swap, names)), _yes_no(swap))


async def resend_pending_swaps(ctx: Context, member: Member) -> None:
    """A secretary just bound: the swap requests waiting for their unit reach them now."""
    if member.home_unit_id is None or not member.has_role(Role.SECRETARY):
        return
    for swap in await pending_swaps_to(ctx.session, member.home_unit_id):
        plan = await get_plan(ctx.session, swap.alliance_id)
        if plan is None:
            continue
        names = await unit_names(ctx.session, [swap.from_unit_id, swap.to_unit_id])
        await ctx.notify(
            member.id,
            _invite(plan, swap, names),
            kind="swap",
            ref_id=swap.id,
            dedupe_key=f"swap:{swap.id}:invite:{member.id}",
        )


async def _swap_answer(ctx: Context, swap: int, accept: bool) -> list[Reply]:
    request = await ctx.session.get(SwapRequest, swap)
    if request is None:
        raise RotationError("not_pending")
    return await _answered(ctx, request, accept)


async def _answered(ctx: Context, swap: SwapRequest, accept: bool) -> list[Reply]:
    await answer_swap(session=ctx.session, swap=swap, member=ctx.me, accept=accept, now=ctx.now)
    plan = await _plan(ctx, swap.alliance_id)
    names = await unit_names(ctx.session, [swap.from_unit_id, swap.to_unit_id])
    if accept:
        text = SWAP_DONE.format(
            a=names[swap.to_unit_id],
            a_label=period_label(plan, swap.from_index),
            b=names[swap.from_unit_id],
            b_label=period_label(plan, swap.to_index),
        )
    else:
        label = period_label(plan, swap.from_index)
        text = SWAP_DECLINED.format(unit=names[swap.to_unit_id], label=label)
    told = {ctx.me.id}
    secretary = await unit_secretary(ctx.session, swap.to_unit_id)
    for who in [
        swap.asked_by_id,
        *(a.id for a in await alliance_admins(ctx.session, plan.alliance_id)),
        *(
            [secretary.id]
            if secretary and await reachable_ids(ctx.session, [secretary.id])
            else []
        ),
    ]:
        if who is not None and who not in told:
            told.add(who)
            await ctx.notify(who, Reply(text), kind="swap", ref_id=swap.id)
    return [Reply(text if accept else SWAP_DECLINED_ME)]


async def _override_pick(ctx: Context, alliance: int) -> list[Reply]:
    if not _is_admin(ctx, alliance):
        return [Reply(NOT_ADMIN)]
    plan = await _plan(ctx, alliance)
    rows = await turns(ctx.session, plan, first_index=period_index(plan, ctx.now), count=4)
    names = await unit_names(ctx.session, [t.unit_id for t in rows])
    buttons = tuple(
        Button(
            f"{period_label(plan, t.index)} {names[t.unit_id]}",
            "rotation.act",
            do="override_period",
            alliance=plan.alliance_id,
            index=t.index,
        )
        for t in rows
    )
    return [Reply(OVERRIDE_PERIOD, buttons=buttons)]


async def _override_unit(ctx: Context, alliance: int, index: int) -> list[Reply]:
    if not _is_admin(ctx, alliance):
        return [Reply(NOT_ADMIN)]
    plan = await _plan(ctx, alliance)
    names = await unit_names(ctx.session, [int(u) for u in plan.unit_ids])
    buttons = tuple(
        Button(
            names[int(u)],
            "rotation.act",
            do="override_set",
            alliance=plan.alliance_id,
            index=index,
            unit=int(u),
        )
        for u in plan.unit_ids
    )
    return [Reply(OVERRIDE_UNIT.format(label=period_label(plan, index)), buttons=buttons)]


async def _override_set(ctx: Context, alliance: int, index: int, unit: int) -> list[Reply]:
    if not _is_admin(ctx, alliance):
        return [Reply(NOT_ADMIN)]
    plan = await _plan(ctx, alliance)
    unit_id = unit
    await set_override(
        session=ctx.session,
        plan=plan,
        index=index,
        unit_id=unit_id,
        reason="admin",
        by=ctx.me,
        now=ctx.now,
    )
    names = await unit_names(ctx.session, [unit_id])
    alliance = await ctx.session.get(Alliance, plan.alliance_id)
    label = period_label(plan, index)
    secretary = await unit_secretary(ctx.session, unit_id)
    reached = secretary is not None and bool(await reachable_ids(ctx.session, [secretary.id]))
    if secretary is not None and reached and alliance is not None:
        note = OVERRIDE_NOTE.format(alliance=alliance.name, label=label)
        await ctx.notify(secretary.id, Reply(note), kind="rotation")
    ctx.audit("rotation_override", alliance_id=plan.alliance_id, index=index, unit_id=unit_id)
    done = OVERRIDE_DONE.format(label=label, unit=names[unit_id])
    return [Reply(done + ("" if reached else OVERRIDE_UNTOLD))]


ACTIONS: dict[str, Callable[..., Awaitable[list[Reply]]]] = {
    "ics": _ics,
    "swap": _swap_pick,
    "ask": _swap_ask,
    "answer": _swap_answer,
    "override": _override_pick,
    "override_period": _override_unit,
    "override_set": _override_set,
}


async def advance(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Sweep: tell each period's host secretary at its start; remind if nothing is published."""
    for plan in await all_plans(session):
        if not plan.unit_ids:
            continue
        turn = await current_turn(session, plan, now)
        alliance = await session.get(Alliance, plan.alliance_id)
        secretary = await unit_secretary(session, turn.unit_id)
        if alliance is None or secretary is None:
            continue
        label = period_label(plan, turn.index)
        await enqueue(
            session=session,
            member_id=secretary.id,
            reply=Reply(TURN_STARTS.format(label=label, alliance=alliance.name)),
            now=now,
            kind="rotation",
            dedupe_key=f"rotation:{plan.alliance_id}:{turn.index}",
        )
        await _remind_unpublished(session, plan, turn, alliance, secretary.id, now, settings)


async def _remind_unpublished(
    session: AsyncSession,
    plan: RotationPlan,
    turn: Turn,
    alliance: Alliance,
    secretary_id: int,
    now: datetime,
    settings: Settings,
) -> None:
    if now < turn.ends_at - timedelta(days=settings.ROTATION_UNPUBLISHED_DAYS):
        return
    published = await session.scalar(
        select(Activity.id)
        .where(
            Activity.alliance_id == plan.alliance_id,
            Activity.starts_at >= turn.starts_at,
            Activity.starts_at < turn.ends_at,
            live(),
        )
        .limit(1)
    )
    if published is not None:
        return
    label = period_label(plan, turn.index)
    end = fmt_local(turn.ends_at - timedelta(seconds=1), "%m月%d日")
    key = f"unpublished:{plan.alliance_id}:{turn.index}"
    text = UNPUBLISHED.format(alliance=alliance.name, label=label, end=end)
    await enqueue(
        session=session,
        member_id=secretary_id,
        reply=Reply(text),
        now=now,
        kind="rotation",
        dedupe_key=f"{key}:host",
    )
    names = await unit_names(session, [turn.unit_id])
    note = UNPUBLISHED_ADMIN.format(alliance=alliance.name, unit=names[turn.unit_id], label=label)
    for admin in await alliance_admins(session, plan.alliance_id):
        await enqueue(
            session=session,
            member_id=admin.id,
            reply=Reply(note),
            now=now,
            kind="rotation",
            dedupe_key=f"{key}:admin{admin.id}",
        )

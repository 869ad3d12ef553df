"""承诺践诺: /pledge (写承诺: the text, how it is checked, the target or date, a preview),
/mypledges (their state and progress), /pledgereview (the branch approves or sends back with a
reason) and /pledgeboard (承诺公示)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Flow, Reply
from bot.core.clock import to_local
from bot.core.text import chinese_number
from bot.core.times import parse_when
from handlers.context import Context
from handlers.followup_text import show_day
from models.org import Unit
from models.outbox import enqueue
from models.pledge import (
    LINKED,
    MAX_A_YEAR,
    Pledge,
    PledgeError,
    PledgeKind,
    PledgeState,
    board,
    count_this_year,
    explanation_of,
    get_pledge,
    member_pledges,
    progress,
    review,
    reviewer_ids,
    rewrite,
    settle,
    to_review,
    write_pledge,
)
from settings import Settings

ASK_TEXT = (
    "请写下您今年的一项承诺，要写清做什么、做多少或何时完成，"
    "例如：全年参加志愿服务不少于 20 小时。（今年已写 {n} 项，最多 {max} 项）"
)
ASK_KIND = "这项承诺怎么核验？"
KIND_LABELS = {
    PledgeKind.HOURS: "志愿服务时长",
    PledgeKind.CHECKINS: "参加活动次数",
    PledgeKind.COUNT: "其他数量",
    PledgeKind.DATE: "完成日期",
}
ASK_TARGET = {
    PledgeKind.HOURS: "目标多少小时？（按签到签退的志愿时长自动统计）",
    PledgeKind.CHECKINS: "目标参加多少次活动？（按签到记录自动统计）",
    PledgeKind.COUNT: "目标数量是多少？（完成时在“我的待办”里报告并附凭证）",
}
ASK_DATE = "什么时候完成？（例如 6月30日；不写则为年底）"
ASK_DATE_COUNT = "什么时候完成？发送日期，或发送“年底”。"
BAD_NUMBER = "请发送一个数字，例如 20。"
BAD_DATE = "没看懂这个日期，请发送例如“6月30日”，或“年底”。"
PREVIEW = (
    "请确认承诺：\n{text}\n核验：{check}\n完成时间：{due}\n"
    "提交后由支部书记审核，通过后在联盟公示。"
)
CHECK = {
    PledgeKind.HOURS: "志愿服务时长 {target} 小时（自动统计）",
    PledgeKind.CHECKINS: "参加活动 {target} 次（自动统计）",
    PledgeKind.COUNT: "数量 {target}（本人报告并附凭证）",
    PledgeKind.DATE: "按期完成（本人报告并附凭证）",
}
SUBMITTED = "已提交承诺，等待支部书记审核。发送“我的承诺”查看。"
RESUBMITTED = "已修改并重新提交承诺，等待审核。"
TO_REVIEWER = "{name}提交了一项承诺：{text}\n（{check}，{due}前）"
ERRORS = {
    "too_many": f"每人每年最多 {MAX_A_YEAR} 项承诺，您今年的承诺已满。",
    "vague": "承诺写得太简单了，请写清做什么、做多少或何时完成。",
    "no_target": "请给出一个大于 0 的目标数字。",
    "bad_date": "完成日期要在今年、且不早于今天。",
    "not_reviewer": "只有党员所在支部的书记或联盟管理员可以审核承诺。",
    "own": "不能审核自己的承诺。",
    "not_pending": "这项承诺已经审核过了。",
    "no_reason": "请写明退回的原因。",
    "not_returned": "只有被退回的承诺可以修改。",
    "not_yours": "这不是您的承诺。",
}
STATE_ZH = {
    PledgeState.PENDING: "待审核",
    PledgeState.RETURNED: "已退回",
    PledgeState.APPROVED: "践诺中",
    PledgeState.MET: "已兑现 ✅",
    PledgeState.UNMET: "未兑现",
}
MINE_HEAD = "我的承诺（{year}年，{n} 项）"
MINE_NONE = "您今年还没有写承诺。发送“写承诺”开始（每年 2–5 项）。"
MINE_LINE = "{i}. {text}\n   {state} · {check} · {due}前{progress}{returned}"
PROGRESS = " · 进度 {now}/{target}"
RETURNED = "\n   退回原因：{reason}"
EXPLAINED_LINE = "\n   未兑现说明：{text}"
FEW = "\n今年至少写 2 项承诺，发送“写承诺”继续。"
REVIEW_NONE = "没有待审核的承诺。"
REVIEW_ONE = "承诺审核：{name}（{unit}）\n{text}\n核验：{check}\n完成时间：{due}"
APPROVED = "已通过并公示：{name}的承诺“{text}”。"
TO_MEMBER_OK = "您的承诺“{text}”已通过审核并公示，已列入“我的待办”。"
ASK_REASON = "请写明退回原因（例如：没有可核验的数量或时间）。"
RETURN_PREVIEW = "将退回{name}的承诺“{text}”。\n原因：{reason}"
RETURNED_DONE = "已退回，{name}会收到原因并修改。"
TO_MEMBER_BACK = "您的承诺“{text}”被退回：{reason}\n请修改后重新提交。"
BOARD_HEAD = "承诺公示（{year}年）"
BOARD_NONE = "今年还没有公示的承诺。"
BOARD_LINE = "· {name}（{unit}）：{text} — {state}{progress}"
MET_NOTE = "您的承诺“{text}”已兑现（{figure}）。"
PICK = "请按按钮选择，或发送“取消”。"
FLOW = Flow("pledge")
REVIEW = Flow("pledgereview")


def _check(kind: PledgeKind, target: int) -> str:
    return CHECK[kind].format(target=target)


def _number(text: str) -> int | None:
    digits = "".join(c for c in text if c.isdigit())
    if digits:
        return int(digits)
    return chinese_number(text.strip().rstrip("小时次个项户人"))


async def start(ctx: Context, pledge: int = 0) -> list[Reply]:
    """写承诺 (or 修改 a returned one): ask the text."""
    year = to_local(ctx.now).year
    n = await count_this_year(ctx.session, ctx.me.id, year)
    if not pledge and n >= MAX_A_YEAR:
        return [Reply(ERRORS["too_many"])]
    await ctx.dialog.set_state(text_step, pledge=pledge)
    return [Reply(ASK_TEXT.format(n=n, max=MAX_A_YEAR))]


@FLOW.step("text", free_text=True)
async def text_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the pledge's words; then how it is checked."""
    if len(text.strip()) < 6:
        return [Reply(ERRORS["vague"])]
    await ctx.dialog.set_state(kind_step, text=text.strip()[:200])
    buttons = tuple(Button(label, "pledge.kind", kind=k.value) for k, label in KIND_LABELS.items())
    return [Reply(ASK_KIND, buttons)]


@FLOW.step("kind")
async def kind_step(ctx: Context, text: str = "", kind: str = "") -> list[Reply]:
    """Step: linked to hours or check-ins, a reported number, or a date."""
    if kind not in set(PledgeKind):
        return [Reply(PICK)]
    chosen = PledgeKind(kind)
    if chosen == PledgeKind.DATE:
        await ctx.dialog.set_state(date_step, kind=kind, target=0)
        return [Reply(ASK_DATE_COUNT)]
    await ctx.dialog.set_state(target_step, kind=kind)
    return [Reply(ASK_TARGET[chosen])]


@FLOW.step("target", free_text=True)
async def target_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the target number."""
    number = _number(text)
    if number is None or number <= 0:
        return [Reply(BAD_NUMBER)]
    await ctx.dialog.set_state(date_step, target=number)
    return [Reply(ASK_DATE)]


@FLOW.step("date", free_text=True)
async def date_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the date it is done by (年底 / 不写: 12月31日); then the preview."""
    today = to_local(ctx.now).date()
    if text.strip() in ("", "年底", "年末", "不写", "没有", "无", "今年"):
        day = date(today.year, 12, 31)
    else:
        when = parse_when(text, ctx.now)
        if when is None:
            return [Reply(BAD_DATE)]
        day = to_local(when.moment).date()
    if day < today or day.year != today.year:
        return [Reply(ERRORS["bad_date"])]
    await ctx.dialog.set_state(confirm_step, due=day.isoformat())
    return [_preview(ctx)]


def _preview(ctx: Context) -> Reply:
    data = ctx.dialog.get_data()
    kind = PledgeKind(data["kind"])
    text = PREVIEW.format(
        text=data["text"],
        check=_check(kind, int(data.get("target", 0))),
        due=show_day(date.fromisoformat(data["due"]), ctx.now),
    )
    buttons = (
        Button("提交", "pledge.confirm", do="yes"),
        Button("修改", "pledge.confirm", do="edit"),
        Button("取消", "cancel"),
    )
    return Reply(text, buttons)


@FLOW.step("confirm")
async def confirm_step(ctx: Context, text: str = "", do: str = "") -> list[Reply]:
    """Step: 提交 sends it to the branch secretary; 修改 starts again from the words."""
    data = ctx.dialog.get_data()
    if do == "edit":
        return await start(ctx, pledge=int(data.get("pledge", 0)))
    if do != "yes":
        return [Reply(PICK)]
    values = {
        "text": str(data["text"]),
        "kind": PledgeKind(data["kind"]),
        "target": int(data.get("target", 0)),
        "due_on": date.fromisoformat(data["due"]),
    }
    await ctx.dialog.clear()
    try:
        if data.get("pledge"):
            found = await get_pledge(ctx.session, int(data["pledge"]))
            if found is None:
                return [Reply(ERRORS["not_yours"])]
            pledge = await rewrite(
                session=ctx.session, pledge=found, member=ctx.me, now=ctx.now, **values
            )
        else:
            pledge = await write_pledge(session=ctx.session, member=ctx.me, now=ctx.now, **values)
    except PledgeError as error:
        return [Reply(ERRORS[error.reason])]
    note = Reply(
        TO_REVIEWER.format(
            name=ctx.me.name,
            text=pledge.text,
            check=_check(pledge.kind, pledge.target),
            due=show_day(pledge.due_on, ctx.now),
        ),
        _review_buttons(pledge),
    )
    for reviewer in await reviewer_ids(ctx.session, pledge):
        await ctx.notify(reviewer, note, kind="pledge_review", ref_id=pledge.id)
    ctx.audit("pledge_submit", pledge_id=pledge.id)
    return [Reply(RESUBMITTED if data.get("pledge") else SUBMITTED)]


def _review_buttons(pledge: Pledge) -> tuple[Button, ...]:
    return (
        Button("通过", "pledgereview.approve", pledge=pledge.id),
        Button("退回", "pledgereview.back", pledge=pledge.id),
    )


async def mine(ctx: Context) -> list[Reply]:
    """我的承诺: this year's pledges, their state and progress (linked ones settle here)."""
    year = to_local(ctx.now).year
    found = await member_pledges(ctx.session, ctx.me.id, year)
    if not found:
        return [Reply(MINE_NONE)]
    lines = [MINE_HEAD.format(year=year, n=len(found))]
    buttons = []
    for i, pledge in enumerate(found, 1):
        await settle(ctx.session, pledge, ctx.now)
        figure = await progress(ctx.session, pledge)
        lines.append(
            MINE_LINE.format(
                i=i,
                text=pledge.text,
                state=STATE_ZH[pledge.state],
                check=_check(pledge.kind, pledge.target),
                due=show_day(pledge.due_on, ctx.now),
                progress=PROGRESS.format(now=figure, target=pledge.target)
                if figure is not None
                else "",
                returned=RETURNED.format(reason=pledge.return_reason)
                if pledge.state == PledgeState.RETURNED
                else "",
            )
        )
        if pledge.state == PledgeState.RETURNED:
            buttons.append(Button(f"修改第{i}项", "pledge", pledge=pledge.id))
        if pledge.state == PledgeState.UNMET:  # 评诺: an unmet pledge is explained
            why = await explanation_of(ctx.session, pledge.id)
            if why is not None:
                lines[-1] += EXPLAINED_LINE.format(text=why.text)
            else:
                buttons.append(Button(f"说明第{i}项原因", "pledgerate.why", pledge=pledge.id))
    if len(found) < 2:
        lines.append(FEW)
    return [Reply("\n".join(lines), tuple(buttons))]


async def queue(ctx: Context) -> list[Reply]:
    """承诺审核: the pending pledges one may review, each with 通过 / 退回."""
    found = await to_review(ctx.session, ctx.me)
    if not found:
        return [Reply(REVIEW_NONE)]
    return [await _one(ctx, p) for p in found[:10]]


async def _one(ctx: Context, pledge: Pledge) -> Reply:
    unit = await ctx.session.get(Unit, pledge.home_unit_id) if pledge.home_unit_id else None
    text = REVIEW_ONE.format(
        name=pledge.member.name,
        unit=unit.name if unit else "无单位",
        text=pledge.text,
        check=_check(pledge.kind, pledge.target),
        due=show_day(pledge.due_on, ctx.now),
    )
    return Reply(text, _review_buttons(pledge))


async def approve(ctx: Context, pledge: int) -> list[Reply]:
    """通过: 公示, and a 督办事项 for the member (the card shown is the preview)."""
    found = await get_pledge(ctx.session, pledge)
    if found is None:
        return [Reply(ERRORS["not_pending"])]
    try:
        await review(session=ctx.session, pledge=found, actor=ctx.me, approve=True, now=ctx.now)
    except PledgeError as error:
        return [Reply(ERRORS[error.reason])]
    await ctx.notify(found.member_id, Reply(TO_MEMBER_OK.format(text=found.text)))
    ctx.audit("pledge_approve", pledge_id=found.id)
    return [Reply(APPROVED.format(name=found.member.name, text=found.text))]


async def back(ctx: Context, pledge: int) -> list[Reply]:
    """退回: ask the reason."""
    found = await get_pledge(ctx.session, pledge)
    if found is None or found.state != PledgeState.PENDING:
        return [Reply(ERRORS["not_pending"])]
    if found.member_id == ctx.me.id:
        return [Reply(ERRORS["own"])]
    await ctx.dialog.set_state(reason_step, pledge=found.id)
    return [Reply(ASK_REASON)]


@REVIEW.step("reason", free_text=True)
async def reason_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the reason; then the preview of what the member receives."""
    found = await get_pledge(ctx.session, int(ctx.dialog.get_data().get("pledge", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(ERRORS["not_pending"])]
    if not text.strip():
        return [Reply(ERRORS["no_reason"])]
    await ctx.dialog.set_state(back_confirm, reason=text.strip()[:200])
    buttons = (
        Button("确认退回", "pledgereview.confirm", do="yes"),
        Button("修改", "pledgereview.confirm", do="edit"),
        Button("取消", "cancel"),
    )
    preview = RETURN_PREVIEW.format(name=found.member.name, text=found.text, reason=text.strip())
    return [Reply(preview, buttons)]


@REVIEW.step("confirm")
async def back_confirm(ctx: Context, text: str = "", do: str = "") -> list[Reply]:
    """Step: 确认退回 tells the member, with a button to rewrite it."""
    data = ctx.dialog.get_data()
    found = await get_pledge(ctx.session, int(data.get("pledge", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(ERRORS["not_pending"])]
    if do == "edit":
        await ctx.dialog.set_state(reason_step)
        return [Reply(ASK_REASON)]
    if do != "yes":
        return [Reply(PICK)]
    await ctx.dialog.clear()
    reason = str(data.get("reason", ""))
    try:
        await review(
            session=ctx.session,
            pledge=found,
            actor=ctx.me,
            approve=False,
            now=ctx.now,
            reason=reason,
        )
    except PledgeError as error:
        return [Reply(ERRORS[error.reason])]
    note = Reply(
        TO_MEMBER_BACK.format(text=found.text, reason=reason),
        (Button("修改承诺", "pledge", pledge=found.id),),
    )
    await ctx.notify(found.member_id, note)
    ctx.audit("pledge_return", pledge_id=found.id)
    return [Reply(RETURNED_DONE.format(name=found.member.name))]


async def show_board(ctx: Context) -> list[Reply]:
    """承诺公示: the approved pledges of one's alliances, with their progress."""
    year = to_local(ctx.now).year
    found = await board(ctx.session, ctx.me.visible_scope(), year)
    if not found:
        return [Reply(BOARD_NONE)]
    lines = [BOARD_HEAD.format(year=year)]
    for pledge in found[:30]:
        await settle(ctx.session, pledge, ctx.now)
        unit = await ctx.session.get(Unit, pledge.home_unit_id) if pledge.home_unit_id else None
        figure = await progress(ctx.session, pledge)
        lines.append(
            BOARD_LINE.format(
                name=pledge.member.name,
                unit=unit.name if unit else "无单位",
                text=pledge.text,
                state=STATE_ZH[pledge.state],
                progress=f"（{figure}/{pledge.target}）" if figure is not None else "",
            )
        )
    return [Reply("\n".join(lines))]


async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Settle the approved pledges linked to data whose figure reached the target; the member
    is told once."""
    from sqlalchemy import select

    year = to_local(now).year
    stmt = select(Pledge).where(
        Pledge.state == PledgeState.APPROVED,
        Pledge.year == year,
        Pledge.kind.in_([k.value for k in LINKED]),
    )
    met = 0
    for pledge in list((await session.execute(stmt)).scalars()):
        if await settle(session, pledge, now):
            figure = await progress(session, pledge)
            await enqueue(
                session=session,
                member_id=pledge.member_id,
                reply=Reply(MET_NOTE.format(text=pledge.text, figure=f"{figure}/{pledge.target}")),
                now=now,
                kind="pledge_met",
                ref_id=pledge.id,
                dedupe_key=f"pledge_met:{pledge.id}",
            )
            met += 1
    return met

"""评诺: /pledgerate (from December, the branch secretary and the members of the alliance rate
each approved pledge 已兑现 / 部分兑现 / 未兑现; the secretary's verdict is the organisation's and
settles the pledge) and the explanation an unmet pledge asks its member for (说明原因)."""

from __future__ import annotations

from bot.core import Button, Flow, Reply
from bot.core.clock import to_local
from handlers.context import Context
from models.org import Unit
from models.pledge import (
    RATE_FROM_MONTH,
    Pledge,
    PledgeError,
    PledgeState,
    Verdict,
    explain,
    explanation_of,
    get_pledge,
    may_review,
    rate_pledge,
    ratings_of,
    reviewer_verdict,
    to_rate,
)

VERDICT_ZH = {Verdict.MET: "已兑现", Verdict.PARTLY: "部分兑现", Verdict.UNMET: "未兑现"}
TOO_EARLY = "年终评诺从 12 月开始。"
NONE = "没有可以评议的承诺。"
HEAD = "年终评诺（{year}年，{n} 项）：请逐项评议。"
CARD = "{name}（{unit}）：{text}\n评议：{counts}{org}{why}"
COUNTS = "已兑现 {met} · 部分兑现 {partly} · 未兑现 {unmet}"
ORG = "\n支部评定：{verdict}"
WHY = "\n本人说明：{text}"
RATED = "已评议：{name}的承诺“{text}”— {verdict}。"
RATED_ORG = "已评定（支部）：{name}的承诺“{text}”— {verdict}。"
TO_MEMBER_UNMET = "您的承诺“{text}”在年终评诺中被支部评为未兑现，请说明原因。"
ASK_WHY = "请说明承诺“{text}”未能兑现的原因："
EXPLAINED = "已记录您的说明，支部和党员评诺时可以看到。"
TO_REVIEWER_WHY = "{name}说明了未兑现的承诺“{text}”：{why}"
ERRORS = {
    "own": "不能评议自己的承诺。",
    "not_ratable": "这项承诺还没有通过审核，不能评议。",
    "too_early": TOO_EARLY,
    "not_reviewer": "您不在这项承诺所在的联盟，不能评议。",
    "not_yours": "这不是您的承诺。",
    "not_unmet": "只有被评为未兑现的承诺需要说明原因。",
    "no_reason": "请写一句原因（至少 4 个字）。",
}
FLOW = Flow("pledgerate")


async def show(ctx: Context) -> list[Reply]:
    """评诺: the pledges one may rate, each with its verdicts so far and three buttons."""
    local = to_local(ctx.now)
    if local.month < RATE_FROM_MONTH:
        return [Reply(TOO_EARLY)]
    found = await to_rate(ctx.session, ctx.me, local.year)
    if not found:
        return [Reply(NONE)]
    replies = [Reply(HEAD.format(year=local.year, n=len(found)))]
    for pledge in found[:10]:
        replies.append(await _card(ctx, pledge))
    return replies


async def _card(ctx: Context, pledge: Pledge) -> Reply:
    unit = await ctx.session.get(Unit, pledge.home_unit_id) if pledge.home_unit_id else None
    counts = await ratings_of(ctx.session, pledge.id)
    verdict = await reviewer_verdict(ctx.session, pledge.id)
    why = await explanation_of(ctx.session, pledge.id)
    text = CARD.format(
        name=pledge.member.name,
        unit=unit.name if unit else "无单位",
        text=pledge.text,
        counts=COUNTS.format(**{v.value: n for v, n in counts.items()}),
        org=ORG.format(verdict=VERDICT_ZH[verdict]) if verdict else "",
        why=WHY.format(text=why.text) if why else "",
    )
    buttons = tuple(
        Button(label, "pledgerate.rate", pledge=pledge.id, verdict=v.value)
        for v, label in VERDICT_ZH.items()
    )
    return Reply(text, buttons)


async def rate(ctx: Context, pledge: int, verdict: str) -> list[Reply]:
    """A verdict; the secretary's unmet asks the member for an explanation."""
    found = await get_pledge(ctx.session, pledge)
    if found is None or verdict not in set(Verdict):
        return [Reply(ERRORS["not_ratable"])]
    chosen = Verdict(verdict)
    try:
        await rate_pledge(
            session=ctx.session, pledge=found, actor=ctx.me, verdict=chosen, now=ctx.now
        )
    except PledgeError as error:
        return [Reply(ERRORS[error.reason])]
    by_org = may_review(ctx.me, found)
    if by_org and found.state == PledgeState.UNMET:
        note = Reply(
            TO_MEMBER_UNMET.format(text=found.text),
            (Button("说明原因", "pledgerate.why", pledge=found.id),),
        )
        await ctx.notify(found.member_id, note, kind="pledge_unmet", ref_id=found.id)
    ctx.audit("pledge_rate", pledge_id=found.id, verdict=chosen.value, by_org=by_org)
    done = RATED_ORG if by_org else RATED
    return [
        Reply(done.format(name=found.member.name, text=found.text, verdict=VERDICT_ZH[chosen]))
    ]


async def start_why(ctx: Context, pledge: int) -> list[Reply]:
    """说明原因: ask the member for the explanation."""
    found = await get_pledge(ctx.session, pledge)
    if found is None or found.member_id != ctx.me.id:
        return [Reply(ERRORS["not_yours"])]
    if found.state != PledgeState.UNMET:
        return [Reply(ERRORS["not_unmet"])]
    await ctx.dialog.set_state(why_step, pledge=found.id)
    return [Reply(ASK_WHY.format(text=found.text))]


@FLOW.step("why", free_text=True)
async def why_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the explanation, stored and shown beside the pledge; the secretary is told."""
    found = await get_pledge(ctx.session, int(ctx.dialog.get_data().get("pledge", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(ERRORS["not_yours"])]
    try:
        await explain(session=ctx.session, pledge=found, member=ctx.me, text=text, now=ctx.now)
    except PledgeError as error:
        if error.reason == "no_reason":
            return [Reply(ERRORS["no_reason"])]
        await ctx.dialog.clear()
        return [Reply(ERRORS[error.reason])]
    await ctx.dialog.clear()
    if found.reviewed_by_id and found.reviewed_by_id != ctx.me.id:
        note = Reply(TO_REVIEWER_WHY.format(name=ctx.me.name, text=found.text, why=text.strip()))
        await ctx.notify(found.reviewed_by_id, note, kind="pledge_explained", ref_id=found.id)
    return [Reply(EXPLAINED)]

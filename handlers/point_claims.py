"""加分申请: /claimpoints (a member claims the points of a rule that needs proof: which rule, what
was done, a photo or file, a preview) and /pointsreview (the home unit's secretary or the
alliance admin approves, or declines with a reason; never their own)."""

from __future__ import annotations

from bot.core import Attachment, Button, Flow, Reply
from handlers.context import Context
from handlers.uploads import as_values, from_values, kind_zh, problem, shown, usable
from models.member import Member, MemberRole
from models.point_claim import (
    ClaimError,
    PointClaim,
    claim_points,
    decide,
    get_claim,
    to_decide,
)
from models.points import CLAIMABLE
from models.rotation import alliance_admins

RULES = {r.key: r for r in CLAIMABLE}
ASK_RULE = "申请哪一项加分？（需附照片或文件作证明，由支部书记审核）"
RULE_LINE = "· {label}：每次 {per} 分，全年最多 {cap} 分"
ASK_NOTE = "请简要写明事由（例如：12月3日在冷链先锋岗值守一天）："
ASK_PROOF = "请发送证明的照片或文件（必须有证明）。"
PROOF_AGAIN = "请发送照片或文件作为证明，或发送“取消”。"
PREVIEW = (
    "请确认加分申请：\n{label}（{per} 分）\n事由：{note}\n证明：{kind}\n提交后由支部书记审核。"
)
SUBMITTED = "已提交加分申请，审核通过后计入“我的积分”。"
TO_REVIEWER = "{name}申请加分：{label}（{per} 分）\n事由：{note}"
QUEUE_NONE = "没有待审核的加分申请。"
QUEUE_ONE = "加分申请：{name} · {label}（{per} 分）\n事由：{note}"
APPROVED = "已通过：{name}的“{label}”加 {per} 分。"
TO_MEMBER_OK = "您的加分申请“{label}”已通过，计入今年的积分。"
ASK_REASON = "请写明不予通过的原因："
DECLINED = "已退回{name}的加分申请。"
TO_MEMBER_NO = "您的加分申请“{label}”未通过：{reason}"
PICK = "请按按钮选择，或发送“取消”。"
ERRORS = {
    "no_proof": "加分申请必须附照片或文件作为证明。",
    "no_note": "请写清事由（至少 4 个字）。",
    "own": "不能审核自己的加分申请。",
    "not_reviewer": "只有申请人所在支部的书记或联盟管理员可以审核。",
    "decided": "这项申请已经审核过了。",
    "no_reason": "请写明原因。",
}
FLOW = Flow("claimpoints")
REVIEW = Flow("pointsreview")


async def start(ctx: Context) -> list[Reply]:
    """申请加分: the rules that need proof, as buttons."""
    lines = [ASK_RULE] + [RULE_LINE.format(label=r.label, per=r.per, cap=r.cap) for r in CLAIMABLE]
    buttons = tuple(Button(r.label, "claimpoints.rule", rule=r.key) for r in CLAIMABLE)
    await ctx.dialog.set_state(rule_step)
    return [Reply("\n".join(lines), buttons)]


@FLOW.step("rule")
async def rule_step(ctx: Context, text: str = "", rule: str = "") -> list[Reply]:
    """Step: which rule."""
    if rule not in RULES:
        return [Reply(PICK)]
    await ctx.dialog.set_state(note_step, rule=rule)
    return [Reply(ASK_NOTE)]


@FLOW.step("note", free_text=True)
async def note_step(
    ctx: Context, text: str = "", attachments: tuple[Attachment, ...] = ()
) -> list[Reply]:
    """Step: what was done (a photo sent with the words is taken as the proof)."""
    if len(text.strip()) < 4:
        return [Reply(ERRORS["no_note"])]
    await ctx.dialog.set_state(proof_step, note=text.strip()[:200])
    if attachments:
        return await proof_step(ctx, attachments=attachments)
    return [Reply(ASK_PROOF)]


@FLOW.step("proof")
async def proof_step(
    ctx: Context, text: str = "", attachments: tuple[Attachment, ...] = ()
) -> list[Reply]:
    """Step: the proof, required; then the preview."""
    trouble = problem(attachments, ctx.settings)
    if trouble:
        return [Reply(trouble)]
    got = usable(attachments)
    if got is None:
        return [Reply(PROOF_AGAIN)]
    await ctx.dialog.set_state(confirm_step, file=as_values(got))
    data = ctx.dialog.get_data()
    rule = RULES[data["rule"]]
    text = PREVIEW.format(
        label=rule.label, per=rule.per, note=data["note"], kind=kind_zh(got.kind)
    )
    buttons = (Button("提交", "claimpoints.confirm", do="yes"), Button("取消", "cancel"))
    return [Reply(text, buttons)]


@FLOW.step("confirm")
async def confirm_step(ctx: Context, text: str = "", do: str = "") -> list[Reply]:
    """Step: 提交 sends it to the reviewers with the proof."""
    if do != "yes":
        return [Reply(PICK)]
    data = ctx.dialog.get_data()
    await ctx.dialog.clear()
    try:
        claim = await claim_points(
            session=ctx.session,
            member=ctx.me,
            rule=str(data["rule"]),
            note=str(data["note"]),
            proof=from_values(dict(data.get("file") or {})),
            now=ctx.now,
        )
    except ClaimError as error:
        return [Reply(ERRORS[error.reason])]
    for reviewer in await _reviewers(ctx, claim):
        await ctx.notify(
            reviewer, _card(ctx, claim, TO_REVIEWER), kind="point_claim", ref_id=claim.id
        )
    ctx.audit("points_claim", claim_id=claim.id)
    return [Reply(SUBMITTED)]


async def _reviewers(ctx: Context, claim: PointClaim) -> list[int]:
    """The home unit's secretaries (not the claimant), else the alliance's admins."""
    from sqlalchemy import select

    from bot.core import Role

    stmt = (
        select(Member.id)
        .join(MemberRole)
        .where(Member.home_unit_id == claim.home_unit_id, MemberRole.role == Role.SECRETARY)
    )
    found = [m for m in (await ctx.session.execute(stmt)).scalars() if m != claim.member_id]
    if found or claim.alliance_id is None:
        return found
    return [
        m.id
        for m in await alliance_admins(ctx.session, claim.alliance_id)
        if m.id != claim.member_id
    ]


def _card(ctx: Context, claim: PointClaim, template: str) -> Reply:
    rule = RULES.get(claim.rule)
    image, file = shown(ctx.settings, claim.file_sha256, claim.file_suffix, claim.file_kind)
    text = template.format(
        name=claim.member.name,
        label=rule.label if rule else claim.rule,
        per=rule.per if rule else 0,
        note=claim.note,
    )
    buttons = (
        Button("通过", "pointsreview.approve", claim=claim.id),
        Button("不通过", "pointsreview.decline", claim=claim.id),
    )
    return Reply(text, buttons, image=image, file=file)


async def queue(ctx: Context) -> list[Reply]:
    """加分审核: the pending claims one may decide, each with its proof."""
    found = await to_decide(ctx.session, ctx.me)
    if not found:
        return [Reply(QUEUE_NONE)]
    return [_card(ctx, c, QUEUE_ONE) for c in found[:10]]


async def approve(ctx: Context, claim: int) -> list[Reply]:
    """通过: the points count; the member is told."""
    found = await get_claim(ctx.session, claim)
    if found is None:
        return [Reply(ERRORS["decided"])]
    try:
        await decide(session=ctx.session, claim=found, actor=ctx.me, approve=True, now=ctx.now)
    except ClaimError as error:
        return [Reply(ERRORS[error.reason])]
    rule = RULES.get(found.rule)
    label = rule.label if rule else found.rule
    await ctx.notify(found.member_id, Reply(TO_MEMBER_OK.format(label=label)))
    ctx.audit("points_claim_approve", claim_id=found.id)
    return [
        Reply(APPROVED.format(name=found.member.name, label=label, per=rule.per if rule else 0))
    ]


async def decline(ctx: Context, claim: int) -> list[Reply]:
    """不通过: ask the reason."""
    found = await get_claim(ctx.session, claim)
    if found is None or found.state != "pending":
        return [Reply(ERRORS["decided"])]
    if found.member_id == ctx.me.id:
        return [Reply(ERRORS["own"])]
    await ctx.dialog.set_state(reason_step, claim=found.id)
    return [Reply(ASK_REASON)]


@REVIEW.step("reason", free_text=True)
async def reason_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the reason; the claim is declined (kept, with the reason) and the member told."""
    found = await get_claim(ctx.session, int(ctx.dialog.get_data().get("claim", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(ERRORS["decided"])]
    if not text.strip():
        return [Reply(ERRORS["no_reason"])]
    await ctx.dialog.clear()
    try:
        await decide(
            session=ctx.session, claim=found, actor=ctx.me, approve=False, now=ctx.now, reason=text
        )
    except ClaimError as error:
        return [Reply(ERRORS[error.reason])]
    rule = RULES.get(found.rule)
    note = TO_MEMBER_NO.format(label=rule.label if rule else found.rule, reason=text.strip())
    await ctx.notify(found.member_id, Reply(note))
    ctx.audit("points_claim_decline", claim_id=found.id)
    return [Reply(DECLINED.format(name=found.member.name))]

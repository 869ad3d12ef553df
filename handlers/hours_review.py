"""补录 (hours added by an administrator, with a reason and evidence, capped at the plan) and
时长审核 (the pending queue: approved one by one or in bulk, declined with a reason; never by
the one who added it, never by the member concerned)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import select

from bot.core import Attachment, Button, Flow, Reply
from bot.core.text import chinese_number
from bot.core.times import show_when
from handlers import paging
from handlers.context import Context
from handlers.uploads import as_values, from_values, kind_zh, problem, shown, usable
from handlers.volunteer import hours_text
from models.activity import get_activity
from models.member import Member
from models.rotation import alliance_admins
from models.scope import Scope
from models.volunteer import (
    COUNTING,
    HoursError,
    HoursState,
    ServiceHours,
    add_manual,
    check_decide,
    decide,
    get_hours,
    member_rows,
    pending,
    planned_minutes,
    services_for_manual,
)

PICK = "为哪场志愿服务补录时长？"
NONE_TO_ADD = "最近 90 天没有已结束的志愿服务可以补录。"
ASK_NAME = "《{title}》（{day}，计划 {plan}）\n请发送要补录的党员姓名。"
NAME_UNKNOWN = "没有找到可参加这场服务的党员“{name}”，请核对姓名。"
NAME_WHICH = "有多位党员叫“{name}”，请选择："
ASK_HOURS = "为 {name} 补录多少小时？（最多 {plan}，即活动计划时长）"
BAD_HOURS = "请发送小时数，例如 2 或 1.5。"
ASK_REASON = "请写明补录原因（例如：现场签退时手机没电，队长可证明）。"
ASK_EVIDENCE = "请发送一张照片或一个文件作为凭证（现场照片、签到表等）。"
PREVIEW = (
    "请确认补录：\n党员：{name}\n服务：《{title}》（{day}）\n时长：{hours}\n原因：{reason}\n"
    "凭证：{evidence}\n提交后由另一位管理员审核，通过后计入时长。"
)
SUBMITTED = "已提交补录（{name} · {hours}），等待另一位管理员审核。"
TO_REVIEWER = (
    "有一条志愿时长补录待审核：{name} ·《{title}》· {hours}（{by} 提交）。发送“时长审核”处理。"
)
ERRORS = {
    "not_manager": "只有这场服务所在联盟的管理员可以补录或审核。",
    "not_service": "《{title}》不是志愿服务，不能补录时长。",
    "not_ended": "《{title}》还没结束，结束后才能补录。",
    "over_plan": "补录时长不能超过活动计划时长（{plan}）。",
    "no_minutes": "补录时长要大于 0。",
    "no_reason": "请写明补录原因。",
    "no_evidence": "补录需要凭证，请发送照片或文件。",
    "counted_already": "这位党员在《{title}》已有计入的时长，不能再补录。",
    "pending_already": "这位党员在《{title}》已有一条待审核的补录。",
    "not_pending": "这条补录已经处理过了。",
    "own_request": "这条补录是您提交的，需要另一位管理员审核。",
    "own_hours": "不能审核自己的志愿时长。",
    "decline_reason": "请写明不通过的原因。",
}
QUEUE_HEAD = "待审核的志愿时长补录（{n} 条）"
QUEUE_NONE = "没有待审核的补录。"
QUEUE_LINE = "{i}. {name} ·《{title}》· {hours}\n   原因：{reason}（{by} 提交）{note}"
OWN_NOTE = "\n   （您提交的，需另一位管理员审核）"
SELF_NOTE = "\n   （您本人的时长，需其他管理员审核）"
DETAIL = (
    "补录 #{id}\n党员：{name}（{unit}）\n服务：《{title}》（{day}，计划 {plan}）\n"
    "补录：{hours}\n原因：{reason}\n提交：{by}\n凭证：{evidence}"
)
BULK_PREVIEW = "将通过以下 {n} 条补录，并告知本人：\n{lines}"
APPROVED = "已通过：{name} ·《{title}》· {hours}。"
BULK_DONE = "已通过 {n} 条补录。"
ASK_DECLINE = "请写明不通过的原因（会告知 {name} 和提交人）。"
DECLINE_PREVIEW = "将不通过 {name} 的补录（《{title}》· {hours}）。\n原因：{reason}"
DECLINED = "已不通过：{name} ·《{title}》。"
TO_MEMBER_OK = "您在《{title}》补录的 {hours}志愿时长已审核通过并计入。发送“我的志愿时长”查看。"
TO_MEMBER_NO = "您在《{title}》的志愿时长补录未通过：{reason}"
TO_REQUESTER_NO = "您为 {name} 提交的补录（《{title}》）未通过：{reason}"
ANOTHER = "请发送另一位党员的姓名。"
PICK_CONFIRM = "请按“确认”提交，或“修改”“取消”。"
FLOW = Flow("addhours")
REVIEW = Flow("hoursqueue")
HOURS_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(小时|h|个小时|钟头)?\s*(?:(\d+)\s*分钟?)?")


def _error(error: HoursError) -> str:
    d = error.detail
    activity = d.get("activity")
    return ERRORS.get(error.reason, ERRORS["not_manager"]).format(
        title=activity.title if activity else "",
        plan=hours_text(int(d["plan"])) if "plan" in d else "",
    )


def parse_minutes(text: str) -> int | None:
    """2, 1.5, 2小时, 1小时30分, 90分钟 as minutes; None when it names no amount."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = re.sub(r"(小时|个小时|钟头)$", "", text).strip()
    half = text.endswith("半")
    text = text.removesuffix("半").removesuffix("个")
    spelled = chinese_number(text) if text and not text[0].isdigit() else None
    if spelled is not None:
        return spelled * 60 + (30 if half else 0)
    if half:
        text += ".5"
    minutes_only = re.fullmatch(r"(\d+)\s*分钟?", text)
    if minutes_only:
        return int(minutes_only.group(1))
    found = HOURS_RE.fullmatch(text)
    if not found:
        return None
    minutes = round(float(found.group(1)) * 60)
    return minutes + (int(found.group(3)) if found.group(3) else 0)


# ---- 补录 -------------------------------------------------------------------------------


async def start(ctx: Context) -> list[Reply]:
    """补录: pick one of the ended services of the alliances one administers."""
    found = await services_for_manual(ctx.session, scope=ctx.me.admin_scope(), now=ctx.now)
    if not found:
        return [Reply(NONE_TO_ADD)]
    buttons = tuple(
        Button(
            f"{a.title}（{show_when(a.starts_at, ctx.now, clock=False)}）",
            "addhours.pick",
            activity=a.id,
        )
        for a in found
    )
    return [Reply(PICK, buttons)]


async def pick(ctx: Context, activity: int) -> list[Reply]:
    """The service chosen: ask whose hours."""
    found = await get_activity(ctx.session, activity)
    if found is None or not ctx.me.administers(found.alliance_id):
        return [Reply(ERRORS["not_manager"])]
    await ctx.dialog.set_state(name_step, activity=found.id)
    day = show_when(found.starts_at, ctx.now, clock=False)
    return [
        Reply(ASK_NAME.format(title=found.title, day=day, plan=hours_text(planned_minutes(found))))
    ]


async def _activity(ctx: Context) -> Any:
    return await get_activity(ctx.session, int(ctx.dialog.get_data().get("activity", 0)))


@FLOW.step("name", free_text=True)
async def name_step(ctx: Context, text: str = "", member: int = 0) -> list[Reply]:
    """Step: the member's name (or a choice among namesakes)."""
    activity = await _activity(ctx)
    if activity is None:
        await ctx.dialog.clear()
        return [Reply(NONE_TO_ADD)]
    if member:
        person = await ctx.session.get(Member, member)
        people = [person] if person else []
    else:
        name = text.strip()
        stmt = select(Member).where(Member.name == name, Member.active.is_(True))
        stmt = stmt.where(
            Scope.of([activity.alliance_id]).units_where(Member.home_unit_id)
            | Member.is_mobile.is_(True)
        )
        people = list((await ctx.session.execute(stmt)).scalars())
        if not people:
            return [Reply(NAME_UNKNOWN.format(name=name))]
        if len(people) > 1:
            buttons = tuple(
                Button(f"{p.name}（{await _unit(ctx, p)}）", "addhours.name", member=p.id)
                for p in people
            )
            return [Reply(NAME_WHICH.format(name=name), buttons)]
    person = people[0]
    already = await member_rows(ctx.session, member_id=person.id, activity_id=activity.id)
    for state, reason in (
        (COUNTING, "counted_already"),
        ((HoursState.PENDING,), "pending_already"),
    ):
        if any(r.state in state for r in already):
            return [Reply(ERRORS[reason].format(title=activity.title) + ANOTHER)]
    plan = hours_text(planned_minutes(activity))
    await ctx.dialog.set_state(hours_step, member=person.id, name=person.name)
    return [Reply(ASK_HOURS.format(name=person.name, plan=plan))]


async def _unit(ctx: Context, person: Member) -> str:
    from models.org import Unit

    unit = await ctx.session.get(Unit, person.home_unit_id) if person.home_unit_id else None
    return unit.name if unit else "无单位"


@FLOW.step("hours", free_text=True)
async def hours_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: how many hours (capped at the plan)."""
    activity = await _activity(ctx)
    minutes = parse_minutes(text)
    if activity is None or minutes is None:
        return [Reply(BAD_HOURS)]
    plan = planned_minutes(activity)
    if minutes <= 0:
        return [Reply(ERRORS["no_minutes"])]
    if minutes > plan:
        return [Reply(ERRORS["over_plan"].format(plan=hours_text(plan)))]
    await ctx.dialog.set_state(reason_step, minutes=minutes)
    return [Reply(ASK_REASON)]


@FLOW.step("reason", free_text=True)
async def reason_step(
    ctx: Context, text: str = "", attachments: tuple[Attachment, ...] = ()
) -> list[Reply]:
    """Step: the reason (a photo sent with it is the evidence too)."""
    if not text.strip():
        return [Reply(ERRORS["no_reason"])]
    got = usable(attachments)
    await ctx.dialog.set_state(evidence_step, reason=text.strip()[:200])
    if got is not None:
        await ctx.dialog.set_state(confirm_step, file=as_values(got))
        return [await _preview(ctx)]
    return [Reply(ASK_EVIDENCE)]


@FLOW.step("evidence")
async def evidence_step(
    ctx: Context, text: str = "", attachments: tuple[Attachment, ...] = ()
) -> list[Reply]:
    """Step: the evidence, a photo or a file (required)."""
    trouble = problem(attachments, ctx.settings)
    if trouble:
        return [Reply(trouble)]
    got = usable(attachments)
    if got is None:
        return [Reply(ERRORS["no_evidence"])]
    await ctx.dialog.set_state(confirm_step, file=as_values(got))
    return [await _preview(ctx)]


async def _preview(ctx: Context) -> Reply:
    data = ctx.dialog.get_data()
    activity = await _activity(ctx)
    attachment = from_values(dict(data.get("file") or {}))
    image, file = (None, None)
    evidence = "无"
    if attachment is not None:
        image, file = shown(ctx.settings, attachment.sha256, attachment.suffix, attachment.kind)
        evidence = f"{kind_zh(attachment.kind)}（{attachment.name}）"
    text = PREVIEW.format(
        name=data.get("name", ""),
        title=activity.title if activity else "",
        day=show_when(activity.starts_at, ctx.now, clock=False) if activity else "",
        hours=hours_text(int(data.get("minutes", 0))),
        reason=data.get("reason", ""),
        evidence=evidence,
    )
    buttons = (
        Button("确认", "addhours.confirm", do="yes"),
        Button("修改", "addhours.confirm", do="edit"),
        Button("取消", "cancel"),
    )
    return Reply(text, buttons, image=image, file=file)


@FLOW.step("confirm")
async def confirm_step(ctx: Context, text: str = "", do: str = "") -> list[Reply]:
    """Step: 确认 files the 补录 and tells the reviewers; 修改 starts again from the hours."""
    data = ctx.dialog.get_data()
    if do == "edit":
        await ctx.dialog.set_state(hours_step, file={})
        activity = await _activity(ctx)
        plan = hours_text(planned_minutes(activity)) if activity else ""
        return [Reply(ASK_HOURS.format(name=data.get("name", ""), plan=plan))]
    if do != "yes":
        return [Reply(PICK_CONFIRM)]
    activity = await _activity(ctx)
    person = await ctx.session.get(Member, int(data.get("member", 0)))
    if activity is None or person is None:
        await ctx.dialog.clear()
        return [Reply(NONE_TO_ADD)]
    try:
        row = await add_manual(
            session=ctx.session,
            activity=activity,
            member=person,
            minutes=int(data.get("minutes", 0)),
            reason=str(data.get("reason", "")),
            evidence=from_values(dict(data.get("file") or {})),
            actor=ctx.me,
            now=ctx.now,
        )
    except HoursError as error:
        await ctx.dialog.clear()
        return [Reply(_error(error))]
    await ctx.dialog.clear()
    hours = hours_text(row.minutes)
    note = Reply(
        TO_REVIEWER.format(name=person.name, title=activity.title, hours=hours, by=ctx.me.name)
    )
    for reviewer in await _reviewers(ctx, activity.alliance_id, exclude={ctx.me.id, person.id}):
        await ctx.notify(reviewer, note, kind="hours_review", ref_id=row.id)
    ctx.audit("hours_add", hours_id=row.id, member_id=person.id, minutes=row.minutes)
    return [Reply(SUBMITTED.format(name=person.name, hours=hours))]


async def _reviewers(ctx: Context, alliance_id: int, exclude: set[int]) -> list[int]:
    """The alliance's admins and the super admins, but not those excluded."""
    from bot.core import Role
    from models.member import MemberRole

    admins = [m.id for m in await alliance_admins(ctx.session, alliance_id)]
    stmt = select(MemberRole.member_id).where(MemberRole.role == Role.SUPER_ADMIN)
    county = list((await ctx.session.execute(stmt)).scalars())
    return [m for m in dict.fromkeys(admins + county) if m not in exclude]


# ---- 时长审核 -----------------------------------------------------------------------------


async def queue(ctx: Context, offset: int = 0) -> list[Reply]:
    """The pending 补录 of the alliances one administers, with 审核 buttons."""
    rows = await pending(ctx.session, ctx.me.admin_scope())
    if not rows:
        return [Reply(QUEUE_NONE)]
    page, offset = paging.window(rows, offset)
    lines = [QUEUE_HEAD.format(n=len(rows))]
    buttons = []
    decidable = [r for r in rows if _may_decide(ctx, r)]
    for i, row in enumerate(page, offset + 1):
        note = ""
        if row.member_id == ctx.me.id:
            note = SELF_NOTE
        elif row.requested_by_id == ctx.me.id:
            note = OWN_NOTE
        lines.append(
            QUEUE_LINE.format(
                i=i,
                name=row.member.name,
                title=row.activity.title,
                hours=hours_text(row.minutes),
                reason=row.reason,
                by=row.requested_by.name if row.requested_by else "",
                note=note,
            )
        )
        if not note:
            buttons.append(Button(f"审核 {i}", "hoursqueue.view", row=row.id))
    lines.append(paging.where(offset, len(page), len(rows)))
    if decidable:
        buttons.append(Button(f"全部通过（{len(decidable)} 条）", "hoursqueue.bulk"))
    buttons += paging.buttons("hoursqueue", offset, len(rows))
    return [Reply("\n".join(line for line in lines if line), tuple(buttons))]


def _may_decide(ctx: Context, row: ServiceHours) -> bool:
    try:
        check_decide(row, ctx.me)
    except HoursError:
        return False
    return True


async def view(ctx: Context, row: int) -> list[Reply]:
    """One 补录 with its evidence, and 通过 / 不通过."""
    found = await get_hours(ctx.session, row)
    if found is None:
        return [Reply(ERRORS["not_pending"])]
    try:
        check_decide(found, ctx.me)
    except HoursError as error:
        return [Reply(_error(error))]
    image, file = shown(ctx.settings, found.file_sha256, found.file_suffix, found.file_kind)
    activity = found.activity
    text = DETAIL.format(
        id=found.id,
        name=found.member.name,
        unit=await _unit(ctx, found.member),
        title=activity.title,
        day=show_when(activity.starts_at, ctx.now, clock=False),
        plan=hours_text(planned_minutes(activity)),
        hours=hours_text(found.minutes),
        reason=found.reason,
        by=found.requested_by.name if found.requested_by else "",
        evidence=f"{kind_zh(found.file_kind)}（{found.file_name}）" if found.file_sha256 else "无",
    )
    buttons = (
        Button("通过", "hoursqueue.approve", row=found.id),
        Button("不通过", "hoursqueue.decline", row=found.id),
    )
    return [Reply(text, buttons, image=image, file=file)]


async def _approve(ctx: Context, row: ServiceHours) -> None:
    await decide(session=ctx.session, row=row, actor=ctx.me, approve=True, now=ctx.now)
    hours = hours_text(row.minutes)
    await ctx.notify(
        row.member_id, Reply(TO_MEMBER_OK.format(title=row.activity.title, hours=hours))
    )
    ctx.audit("hours_approve", hours_id=row.id)


async def approve(ctx: Context, row: int) -> list[Reply]:
    """通过 one 补录 (the detail shown is its preview)."""
    found = await get_hours(ctx.session, row)
    if found is None:
        return [Reply(ERRORS["not_pending"])]
    try:
        await _approve(ctx, found)
    except HoursError as error:
        return [Reply(_error(error))]
    return [
        Reply(
            APPROVED.format(
                name=found.member.name, title=found.activity.title, hours=hours_text(found.minutes)
            )
        )
    ]


async def bulk(ctx: Context, sure: bool = False) -> list[Reply]:
    """全部通过: shown first, then done on 确认."""
    rows = [r for r in await pending(ctx.session, ctx.me.admin_scope()) if _may_decide(ctx, r)]
    if not rows:
        return [Reply(QUEUE_NONE)]
    if not sure:
        lines = "\n".join(
            f"· {r.member.name} ·《{r.activity.title}》· {hours_text(r.minutes)}" for r in rows
        )
        buttons = (Button("确认", "hoursqueue.bulk", sure=True), Button("取消", "cancel"))
        return [Reply(BULK_PREVIEW.format(n=len(rows), lines=lines), buttons)]
    for row in rows:
        await _approve(ctx, row)
    return [Reply(BULK_DONE.format(n=len(rows)))]


async def decline(ctx: Context, row: int) -> list[Reply]:
    """不通过: ask the reason."""
    found = await get_hours(ctx.session, row)
    if found is None:
        return [Reply(ERRORS["not_pending"])]
    try:
        check_decide(found, ctx.me)
    except HoursError as error:
        return [Reply(_error(error))]
    await ctx.dialog.set_state(decline_reason, row=found.id)
    return [Reply(ASK_DECLINE.format(name=found.member.name))]


@REVIEW.step("reason", free_text=True)
async def decline_reason(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the reason; then the preview."""
    found = await get_hours(ctx.session, int(ctx.dialog.get_data().get("row", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(ERRORS["not_pending"])]
    if not text.strip():
        return [Reply(ERRORS["decline_reason"])]
    await ctx.dialog.set_state(decline_confirm, reason=text.strip()[:200])
    text = DECLINE_PREVIEW.format(
        name=found.member.name,
        title=found.activity.title,
        hours=hours_text(found.minutes),
        reason=text.strip(),
    )
    buttons = (
        Button("确认不通过", "hoursqueue.confirm", do="yes"),
        Button("修改", "hoursqueue.confirm", do="edit"),
        Button("取消", "cancel"),
    )
    return [Reply(text, buttons)]


@REVIEW.step("confirm")
async def decline_confirm(ctx: Context, text: str = "", do: str = "") -> list[Reply]:
    """Step: 确认不通过 declines and tells the member and the one who added it."""
    data = ctx.dialog.get_data()
    found = await get_hours(ctx.session, int(data.get("row", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(ERRORS["not_pending"])]
    if do == "edit":
        await ctx.dialog.set_state(decline_reason)
        return [Reply(ASK_DECLINE.format(name=found.member.name))]
    if do != "yes":
        return [Reply(PICK_CONFIRM)]
    reason = str(data.get("reason", ""))
    await ctx.dialog.clear()
    try:
        await decide(
            session=ctx.session, row=found, actor=ctx.me, approve=False, now=ctx.now, reason=reason
        )
    except HoursError as error:
        return [Reply(_error(error))]
    title = found.activity.title
    await ctx.notify(found.member_id, Reply(TO_MEMBER_NO.format(title=title, reason=reason)))
    if found.requested_by_id:
        await ctx.notify(
            found.requested_by_id,
            Reply(TO_REQUESTER_NO.format(name=found.member.name, title=title, reason=reason)),
        )
    ctx.audit("hours_decline", hours_id=found.id)
    return [Reply(DECLINED.format(name=found.member.name, title=title))]

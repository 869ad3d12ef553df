"""共建协议: /agreement (a unit's secretary reads this year's agreement with the live figures of
its measured clauses, signs it, optionally with a scan, and reports the other clauses) and
/agreements (the alliance admin's ledger: who signed, 会签, the year-end 评定). The January sweep
reminds the units without one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Attachment, Button, Flow, Reply
from bot.core.clock import fmt_local, to_local
from handlers.context import Context
from handlers.uploads import as_values, from_values, kind_zh, problem, usable
from models.agreement import (
    RATINGS,
    TEMPLATE,
    Agreement,
    AgreementError,
    Status,
    countersign,
    find,
    get_agreement,
    measured,
    missing,
    of_alliance,
    rate,
    report,
    sign,
    status_of,
    unit_ids_of,
)
from models.followup import unit_liaison_ids
from models.org import Alliance, Unit
from models.outbox import enqueue
from models.rotation import alliance_admins
from settings import Settings

STATUS_ZH = {
    Status.UNSIGNED: "未签订",
    Status.SIGNED: "已签订，待联盟会签",
    Status.CURRENT: "履行中",
    Status.IN_REVIEW: "待年终评定",
    Status.RATED: "已评定",
    Status.LAPSED: "未会签，已失效",
}
HEAD = "📜 {alliance}{year}年共建协议 · {unit}\n状态：{status}"
CLAUSE_MEASURED = "{i}. {text}：目标 {target} {unit}（当前 {now} {unit}）"
CLAUSE_PROJECT = "{i}. {text}（{now}）"
CLAUSE_REPORTED = "{i}. {text}（{report}）"
NO_PROJECT = "尚未认领项目"
PROJECT_NOW = "项目进度 {n}%"
NOT_REPORTED = "待本单位报告"
REPORTED = "已报告：{text}"
SIGNED_LINE = "签订：{name} {at}{scan}"
SCAN = "，附扫描件"
COUNTERSIGNED_LINE = "会签：{name} {at}"
RATED_LINE = "年终评定：{rating}"
NO_UNIT = "您还没有所属的联盟成员单位，无法签订共建协议。"
ASK_SCAN = "请发送协议签字盖章页的照片或 PDF 存档；没有就点“跳过”。"
SCAN_OR_SKIP = "请发送照片或文件，或点“跳过”。"
PREVIEW = (
    "将以{unit}名义签订《{alliance}{year}年共建协议》（共 {n} 条）{scan}。签订后由联盟管理员会签。"
)
WITH_SCAN = "，附{kind}"
SIGNED = "✅ 已签订{alliance}{year}年共建协议，等待联盟会签。"
TO_ADMIN = "{unit}签订了{alliance}{year}年共建协议（{name}），请会签。"
ASK_REPORT = "请报告第{i}条“{text}”的落实情况："
REPORT_DONE = "已记录第{i}条的落实情况。"
COUNTERSIGNED = "已会签{unit}的{year}年共建协议。"
TO_UNIT_COUNTER = "{alliance}已会签贵单位的{year}年共建协议，协议生效。"
ASK_RATING = "请评定{unit}{year}年共建协议的履行情况："
RATED = "已评定{unit}{year}年共建协议：{rating}。"
TO_UNIT_RATED = "{alliance}对贵单位{year}年共建协议的年终评定：{rating}。"
LEDGER_HEAD = "📜 {alliance}{year}年共建协议：{signed}/{units} 家已签订，{counter} 家已会签"
LEDGER_LINE = "· {unit}：{status}{rating}"
NO_ALLIANCE = "您没有管理的联盟。"
REMIND = "请签订{alliance}{year}年共建协议：发送“共建协议”查看条款并签订。"
PICK = "请按按钮选择，或发送“取消”。"
ERRORS = {
    "not_secretary": "只有本单位的党组织书记可以签订共建协议。",
    "not_member": "贵单位不是这个联盟的成员单位。",
    "signed": "贵单位今年已签订这份共建协议（每年一份）。",
    "not_admin": "只有联盟管理员可以会签和评定共建协议。",
    "own": "不能会签自己代表单位签订的协议。",
    "countersigned": "这份协议已经会签过了。",
    "not_signed": "协议还没有会签，不能评定。",
    "too_early": "年终评定从每年 12 月开始。",
    "bad_rating": "请选择：优秀、良好、合格或不合格。",
    "rated": "这份协议已经评定过了。",
    "no_clause": "这一条由数据自动统计，不需要报告。",
    "no_text": "请写一句落实情况。",
}
FLOW = Flow("agreement")
REMIND_HOUR = 9  # local time from which the January reminders go out


async def _names(ctx: Context, agreement: Agreement) -> tuple[str, str]:
    unit = await ctx.session.get(Unit, agreement.unit_id)
    alliance = await ctx.session.get(Alliance, agreement.alliance_id)
    return (unit.name if unit else ""), (alliance.name if alliance else "")


async def card(ctx: Context, alliance: Alliance, unit: Unit, agreement: Agreement | None) -> Reply:
    """The agreement (or the template, before signing) with its clauses' figures."""
    year = agreement.year if agreement else to_local(ctx.now).year
    status = status_of(agreement, ctx.now)
    lines = [
        HEAD.format(alliance=alliance.name, year=year, unit=unit.name, status=STATUS_ZH[status])
    ]
    clauses: list[dict[str, Any]] = agreement.clauses if agreement else [vars(c) for c in TEMPLATE]
    figures = await measured(ctx.session, agreement, ctx.now) if agreement else {}
    buttons = []
    for i, c in enumerate(clauses, 1):
        if c["measure"] == "project":
            n = figures.get("project")
            now = NO_PROJECT if n is None else PROJECT_NOW.format(n=n)
            lines.append(CLAUSE_PROJECT.format(i=i, text=c["text"], now=now))
        elif c["measure"]:
            now = figures.get(c["measure"], 0) if agreement else 0
            lines.append(CLAUSE_MEASURED.format(i=i, now=now, **c))
        else:
            done = agreement.reports.get(c["key"]) if agreement else None
            shown = REPORTED.format(text=done) if done else NOT_REPORTED
            lines.append(CLAUSE_REPORTED.format(i=i, text=c["text"], report=shown))
            if agreement is not None and agreement.year == to_local(ctx.now).year:
                buttons.append(
                    Button(
                        f"报告第{i}条", "agreement.report", agreement=agreement.id, key=c["key"]
                    )
                )
    if agreement is not None:
        lines.append(await _signatures(ctx, agreement))
    else:
        buttons.append(Button("签订协议", "agreement.sign", alliance=alliance.id))
    return Reply("\n".join(lines), tuple(buttons))


async def _signatures(ctx: Context, agreement: Agreement) -> str:
    from models.member import Member

    signer = await ctx.session.get(Member, agreement.signed_by_id)
    lines = [
        SIGNED_LINE.format(
            name=signer.name if signer else "",
            at=fmt_local(agreement.signed_at, "%m月%d日"),
            scan=SCAN if agreement.scan_sha256 else "",
        )
    ]
    if agreement.countersigned_at is not None and agreement.countersigned_by_id:
        counter = await ctx.session.get(Member, agreement.countersigned_by_id)
        lines.append(
            COUNTERSIGNED_LINE.format(
                name=counter.name if counter else "",
                at=fmt_local(agreement.countersigned_at, "%m月%d日"),
            )
        )
    if agreement.rating:
        lines.append(RATED_LINE.format(rating=agreement.rating))
    return "\n".join(lines)


async def show(ctx: Context) -> list[Reply]:
    """共建协议: this year's agreement of one's unit with each of its alliances."""
    if ctx.me.home_unit_id is None or not ctx.me.home_alliances():
        return [Reply(NO_UNIT)]
    unit = await ctx.session.get(Unit, ctx.me.home_unit_id)
    assert unit is not None
    year = to_local(ctx.now).year
    replies = []
    for alliance_id in sorted(ctx.me.home_alliances()):
        alliance = await ctx.session.get(Alliance, alliance_id)
        assert alliance is not None
        replies.append(
            await card(ctx, alliance, unit, await find(ctx.session, alliance_id, unit.id, year))
        )
    return replies


async def start_sign(ctx: Context, alliance: int) -> list[Reply]:
    """签订协议: ask for a scan first (or 跳过), then the preview."""
    await ctx.dialog.set_state(scan_step, alliance=alliance)
    return [Reply(ASK_SCAN, (Button("跳过", "agreement.scan", skip=True),))]


@FLOW.step("scan")
async def scan_step(
    ctx: Context, text: str = "", attachments: tuple[Attachment, ...] = (), skip: bool = False
) -> list[Reply]:
    """Step: the scan of the signed page as evidence, or 跳过; then the preview."""
    skip_button = (Button("跳过", "agreement.scan", skip=True),)
    trouble = problem(attachments, ctx.settings)
    if trouble:
        return [Reply(trouble, skip_button)]
    got = usable(attachments)
    if got is None and not skip:
        return [Reply(SCAN_OR_SKIP, skip_button)]
    await ctx.dialog.set_state(confirm_step, file=as_values(got) if got else {})
    alliance = await ctx.session.get(Alliance, int(ctx.dialog.get_data()["alliance"]))
    unit = await ctx.session.get(Unit, ctx.me.home_unit_id) if ctx.me.home_unit_id else None
    text = PREVIEW.format(
        unit=unit.name if unit else "",
        alliance=alliance.name if alliance else "",
        year=to_local(ctx.now).year,
        n=len(TEMPLATE),
        scan=WITH_SCAN.format(kind=kind_zh(got.kind)) if got else "",
    )
    buttons = (Button("确认签订", "agreement.confirm", do="yes"), Button("取消", "cancel"))
    return [Reply(text, buttons)]


@FLOW.step("confirm")
async def confirm_step(ctx: Context, text: str = "", do: str = "") -> list[Reply]:
    """Step: 确认签订 signs and asks the alliance's admins to countersign."""
    if do != "yes":
        return [Reply(PICK)]
    data = ctx.dialog.get_data()
    await ctx.dialog.clear()
    try:
        agreement = await sign(
            session=ctx.session,
            actor=ctx.me,
            alliance_id=int(data["alliance"]),
            now=ctx.now,
            scan=from_values(dict(data.get("file") or {})),
        )
    except AgreementError as error:
        return [Reply(ERRORS[error.reason])]
    unit, alliance = await _names(ctx, agreement)
    note = Reply(
        TO_ADMIN.format(unit=unit, alliance=alliance, year=agreement.year, name=ctx.me.name),
        (Button("会签", "agreements.counter", agreement=agreement.id),),
    )
    for admin in await alliance_admins(ctx.session, agreement.alliance_id):
        if admin.id != ctx.me.id:
            await ctx.notify(admin.id, note, kind="agreement", ref_id=agreement.id)
    ctx.audit("agreement_sign", agreement_id=agreement.id)
    return [Reply(SIGNED.format(alliance=alliance, year=agreement.year))]


async def start_report(ctx: Context, agreement: int, key: str) -> list[Reply]:
    """报告第N条: ask how a reported clause was kept."""
    found = await get_agreement(ctx.session, agreement)
    if found is None or found.unit_id != ctx.me.home_unit_id:
        return [Reply(ERRORS["not_secretary"])]
    index = next((i for i, c in enumerate(found.clauses, 1) if c["key"] == key), 0)
    if not index:
        return [Reply(ERRORS["no_clause"])]
    await ctx.dialog.set_state(report_step, agreement=agreement, key=key, i=index)
    return [Reply(ASK_REPORT.format(i=index, text=found.clauses[index - 1]["text"]))]


@FLOW.step("report", free_text=True)
async def report_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the words of the report, stored on the agreement."""
    data = ctx.dialog.get_data()
    found = await get_agreement(ctx.session, int(data["agreement"]))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(ERRORS["not_secretary"])]
    try:
        await report(
            session=ctx.session, agreement=found, actor=ctx.me, key=data["key"], text=text
        )
    except AgreementError as error:
        if error.reason == "no_text":
            return [Reply(ERRORS["no_text"])]
        await ctx.dialog.clear()
        return [Reply(ERRORS[error.reason])]
    await ctx.dialog.clear()
    return [Reply(REPORT_DONE.format(i=data["i"]))]


async def ledger(ctx: Context) -> list[Reply]:
    """协议台账: each administered alliance's units and their agreement's status."""
    scope = ctx.me.admin_scope()
    year = to_local(ctx.now).year
    from sqlalchemy import select

    stmt = select(Alliance).where(scope.where(Alliance.id)).order_by(Alliance.id)
    alliances = list((await ctx.session.execute(stmt)).scalars())
    if not alliances:
        return [Reply(NO_ALLIANCE)]
    replies = []
    for alliance in alliances[:3]:
        found = await of_alliance(ctx.session, alliance.id, year)
        unit_ids = await unit_ids_of(ctx.session, alliance.id)
        lines = [
            LEDGER_HEAD.format(
                alliance=alliance.name,
                year=year,
                signed=len(found),
                units=len(unit_ids),
                counter=sum(1 for a in found.values() if a.countersigned_at is not None),
            )
        ]
        buttons = []
        for unit_id in unit_ids:
            unit = await ctx.session.get(Unit, unit_id)
            agreement = found.get(unit_id)
            status = status_of(agreement, ctx.now)
            rating = f"（{agreement.rating}）" if agreement and agreement.rating else ""
            lines.append(
                LEDGER_LINE.format(
                    unit=unit.name if unit else "", status=STATUS_ZH[status], rating=rating
                )
            )
            short = (unit.name if unit else "")[:6]
            if agreement and status == Status.SIGNED and len(buttons) < 8:
                buttons.append(
                    Button(f"会签 {short}", "agreements.counter", agreement=agreement.id)
                )
            if agreement and status == Status.IN_REVIEW and len(buttons) < 8:
                buttons.append(Button(f"评定 {short}", "agreements.rate", agreement=agreement.id))
        replies.append(Reply("\n".join(lines), tuple(buttons)))
    return replies


async def counter(ctx: Context, agreement: int) -> list[Reply]:
    """会签: the alliance admin countersigns; the unit's secretaries are told."""
    found = await get_agreement(ctx.session, agreement)
    if found is None:
        return [Reply(ERRORS["not_signed"])]
    try:
        await countersign(session=ctx.session, agreement=found, actor=ctx.me, now=ctx.now)
    except AgreementError as error:
        return [Reply(ERRORS[error.reason])]
    unit, alliance = await _names(ctx, found)
    note = Reply(TO_UNIT_COUNTER.format(alliance=alliance, year=found.year))
    for member_id in await unit_liaison_ids(ctx.session, found.unit_id):
        if member_id != ctx.me.id:
            await ctx.notify(member_id, note, kind="agreement", ref_id=found.id)
    ctx.audit("agreement_countersign", agreement_id=found.id)
    return [Reply(COUNTERSIGNED.format(unit=unit, year=found.year))]


async def start_rate(ctx: Context, agreement: int, rating: str = "") -> list[Reply]:
    """评定: the four ratings as buttons; pressing one rates the year and tells the unit."""
    found = await get_agreement(ctx.session, agreement)
    if found is None:
        return [Reply(ERRORS["not_signed"])]
    unit, alliance = await _names(ctx, found)
    if not rating:
        buttons = tuple(
            Button(r, "agreements.rate", agreement=found.id, rating=r) for r in RATINGS
        )
        return [Reply(ASK_RATING.format(unit=unit, year=found.year), buttons)]
    try:
        await rate(session=ctx.session, agreement=found, actor=ctx.me, rating=rating, now=ctx.now)
    except AgreementError as error:
        return [Reply(ERRORS[error.reason])]
    note = Reply(TO_UNIT_RATED.format(alliance=alliance, year=found.year, rating=rating))
    for member_id in await unit_liaison_ids(ctx.session, found.unit_id):
        if member_id != ctx.me.id:
            await ctx.notify(member_id, note, kind="agreement", ref_id=found.id)
    ctx.audit("agreement_rate", agreement_id=found.id, rating=rating)
    return [Reply(RATED.format(unit=unit, year=found.year, rating=rating))]


async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> int:
    """In January, from 09:00 (not at the stroke of the new year), remind the secretaries and
    liaisons of each unit without this year's agreement, once a unit and an alliance a year."""
    local = to_local(now)
    if local.month != 1 or local.hour < REMIND_HOUR:
        return 0
    sent = 0
    names: dict[int, str] = {}
    for alliance_id, unit_id in await missing(session, local.year):
        if alliance_id not in names:
            alliance = await session.get(Alliance, alliance_id)
            names[alliance_id] = alliance.name if alliance else ""
        reply = Reply(REMIND.format(alliance=names[alliance_id], year=local.year))
        for member_id in await unit_liaison_ids(session, unit_id):
            rows = await enqueue(
                session=session,
                member_id=member_id,
                reply=reply,
                now=now,
                kind="agreement_remind",
                dedupe_key=f"agreement_remind:{local.year}:{alliance_id}:{unit_id}:{member_id}",
            )
            sent += bool(rows)
    return sent

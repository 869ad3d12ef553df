"""设立经费 (/fundsetup): an alliance admin opens the alliance's party fund, or changes it —
the treasurer, the approvers, how many must agree, and above what the county reviews; the
treasurer and approvers are told. 银行余额 (/bankbalance): the treasurer types the bank's
balance at the end of last month (reminded by a monthly sweep); a difference from the ledger
then is flagged to the treasurer and the alliance's admins.

Dialogs: fundsetup.alliance, .treasurer, .approvers, .needed, .threshold, .confirm;
bankbalance.amount.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Flow, Reply
from bot.core.clock import local_datetime, to_local
from bot.core.money import AmountError, show_amount
from bot.core.money import parse_amount as read_amount
from handlers.context import Context
from handlers.funds import my_fund
from models.fund import (
    Fund,
    FundError,
    balance,
    bank_entry,
    configure,
    fund_of,
    named_in_alliance,
    record_bank_balance,
)
from models.member import Member
from models.org import Alliance
from models.outbox import enqueue
from models.rotation import alliance_admins
from settings import Settings

# ---- 银行余额 ----------------------------------------------------------------------------

BANK_KIND = "fund_bank_balance"
BANK_DAY_HOUR = 9  # local time on the 1st: the reminder for the month that ended
ASK_BANK = "请输入{month}末银行账户余额（以银行对账单为准），例如：8650元、1.2万："
BAD_BANK = "没看懂这个金额，例如：8650元、1.2万。（未保存）"
BANK_SAME = "✅ 已登记{month}末银行余额 {bank}，与账面余额一致。"
BANK_DIFF = (
    "⚠️ 已登记{month}末银行余额 {bank}，账面余额 {ledger}，{gap}。"
    "请核对是否有未登记的收入或付款；已告知联盟管理员。"
)
TOLD_DIFF = (
    "⚠️ {alliance}党建经费{month}末对账不符：银行余额 {bank}，账面余额 {ledger}，{gap}"
    "（出纳 {who} 登记）。"
)
REMIND = (
    "📅 请登记{alliance}党建经费{month}末的银行账户余额，与账面核对（账面余额 {ledger}）。"
    "发送“银行余额”或点下面的按钮。"
)
NOT_TREASURER = "只有出纳可以登记银行余额。"
NO_FUND = "本联盟还没有设立党建经费。"
BANK = Flow("bankbalance")


def month_ended(now: datetime) -> tuple[str, datetime, str]:
    """The month that ended before `now` (local): its key (2026-11), its end (the 1st of this
    month, 00:00 local) and its name (11月)."""
    local = to_local(now)
    end = local_datetime(local.year, local.month, 1)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year}-{month:02d}", end, f"{month}月"


def gap_text(difference: int) -> str:
    if difference > 0:
        return f"银行比账面多 {show_amount(difference)}"
    return f"银行比账面少 {show_amount(-difference)}"


async def start_bank(ctx: Context) -> list[Reply]:
    fund, _ = await my_fund(ctx)
    if fund is None:
        return [Reply(NO_FUND)]
    if ctx.me.id != fund.treasurer_id:
        return [Reply(NOT_TREASURER)]
    _, _, name = month_ended(ctx.now)
    await ctx.dialog.set_state(bank_amount, fund_id=fund.id)
    return [Reply(ASK_BANK.format(month=name))]


@BANK.step("amount", free_text=True)
async def bank_amount(ctx: Context, text: str = "") -> list[Reply]:
    try:
        amount = read_amount(text)
    except AmountError:
        return [Reply(BAD_BANK)]
    fund = await ctx.session.get(Fund, int(ctx.dialog.get_data()["fund_id"]))
    assert fund is not None
    key, end, name = month_ended(ctx.now)
    try:
        entry = await record_bank_balance(
            session=ctx.session,
            fund=fund,
            member=ctx.me,
            fen=amount.fen,
            month=key,
            month_end=end,
            now=ctx.now,
        )
    except FundError:
        await ctx.dialog.clear()
        return [Reply(NOT_TREASURER)]
    await ctx.dialog.clear()
    bank, ledger = show_amount(entry.fen), show_amount(entry.ledger_fen)
    if entry.difference == 0:
        return [Reply(BANK_SAME.format(month=name, bank=bank))]
    gap = gap_text(entry.difference)
    alliance = await ctx.session.get(Alliance, fund.alliance_id)
    told = TOLD_DIFF.format(
        alliance=alliance.name if alliance else "",
        month=name,
        bank=bank,
        ledger=ledger,
        gap=gap,
        who=ctx.me.name,
    )
    for admin in await alliance_admins(ctx.session, fund.alliance_id):
        if admin.id != ctx.me.id:
            await ctx.notify(admin.id, Reply(told))
    return [Reply(BANK_DIFF.format(month=name, bank=bank, ledger=ledger, gap=gap))]


async def remind_bank(*, session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Sweep: once a month (from the 1st, 9:00 local) each fund's treasurer is asked for the
    bank's balance at the end of the month that ended, unless it was entered already."""
    local = to_local(now)
    if local.day == 1 and local.hour < BANK_DAY_HOUR:
        return 0
    key, end, name = month_ended(now)
    sent = 0
    for fund in list((await session.execute(select(Fund).order_by(Fund.id))).scalars()):
        if fund.created_at >= end or await bank_entry(session, fund, key) is not None:
            continue
        alliance = await session.get(Alliance, fund.alliance_id)
        text = REMIND.format(
            alliance=alliance.name if alliance else "",
            month=name,
            ledger=show_amount(await balance(session, fund, until=end)),
        )
        rows = await enqueue(
            session=session,
            member_id=fund.treasurer_id,
            reply=Reply(text, (Button("登记银行余额", "bankbalance"),)),
            now=now,
            kind=BANK_KIND,
            ref_id=fund.id,
            dedupe_key=f"fund_bank:{fund.id}:{key}",
        )
        sent += bool(rows)
    return sent


# ---- 设立经费 ----------------------------------------------------------------------------

ASK_ALLIANCE = "为哪个联盟设立或修改党建经费？"
ASK_TREASURER = "出纳是谁？请输入本联盟成员的姓名{now}："
ASK_APPROVERS = (
    "审批人是谁？请输入 {least} 位以上本联盟成员的姓名，用顿号或空格分开{now}。"
    "（申请人本人不能审批自己的申请）"
)
ASK_NEEDED = "每笔支出需要几位审批人同意？"
ASK_THRESHOLD = "超过多少金额还需县里审核？例如：2万元{now}。"
NOT_FOUND = "本联盟没有叫“{name}”的成员，请核对姓名后重新输入。"
TWO_FOUND = "本联盟有 {count} 位叫“{name}”的成员，请联系县里在后台设置。"
TOO_FEW = "审批人至少要 {least} 位（比需同意的人数多一位，申请人本人不能审批）。"
BAD_NEEDED = "请点选或输入 1 到 5 之间的数字。"
BAD_THRESHOLD = "没看懂这个金额，例如：2万元、五千元。（未保存）"
PREVIEW = (
    "请核对，确认后生效并通知相关人员：\n{alliance}党建经费\n出纳：{treasurer}\n"
    "审批人：{approvers}（需 {needed} 位同意）\n超过 {limit} 县里审核"
)
PICK_CONFIRM = "请点“确认”，或发送“取消”。"
SET_DONE = (
    "已{verb}{alliance}党建经费：出纳 {treasurer}，审批人 {approvers}，需 {needed} 位同意，"
    "超过 {limit} 县里审核。"
)
TOLD_ROLE = "📨 您被设为{alliance}党建经费的{role}。发送“经费”查看余额和待办。"
TOLD_HANDOVER = "📨 {alliance}党建经费的出纳已改为{treasurer}，请把凭证和账目交接给新出纳。"
NOT_ADMIN = "只有联盟管理员可以设立党建经费。"
SETUP = Flow("fundsetup")
SPLIT = re.compile(r"[、，,；;\s]+")


async def _named(ctx: Context, alliance_id: int, name: str) -> tuple[Member | None, str]:
    """The alliance's member with this name, or why not."""
    found = await named_in_alliance(ctx.session, alliance_id, name)
    if not found:
        return None, NOT_FOUND.format(name=name.strip())
    if len(found) > 1:
        return None, TWO_FOUND.format(count=len(found), name=name.strip())
    return found[0], ""


async def start_setup(ctx: Context) -> list[Reply]:
    scope = ctx.me.admin_scope()
    if scope.empty:
        return [Reply(NOT_ADMIN)]
    if scope.county:
        alliances = list(
            (await ctx.session.execute(select(Alliance).order_by(Alliance.id))).scalars()
        )
        await ctx.dialog.set_state(alliance_step)
        buttons = tuple(
            Button(a.name[:30], "fundsetup.alliance", alliance=a.id) for a in alliances[:10]
        )
        return [Reply(ASK_ALLIANCE, buttons)]
    return await _ask_treasurer(ctx, sorted(scope.alliances)[0])


@SETUP.step("alliance", free_text=True)
async def alliance_step(ctx: Context, text: str = "", alliance: int = 0) -> list[Reply]:
    chosen = await ctx.session.get(Alliance, alliance) if alliance else None
    if chosen is None and text.strip():
        chosen = await ctx.session.scalar(select(Alliance).where(Alliance.name == text.strip()))
    if chosen is None:
        return [Reply(ASK_ALLIANCE)]
    return await _ask_treasurer(ctx, chosen.id)


async def _ask_treasurer(ctx: Context, alliance_id: int) -> list[Reply]:
    fund = await fund_of(ctx.session, alliance_id)
    now = ""
    if fund is not None:
        treasurer = await ctx.session.get(Member, fund.treasurer_id)
        now = f"（现在是{treasurer.name}）" if treasurer else ""
    await ctx.dialog.set_state(treasurer_step, alliance_id=alliance_id)
    return [Reply(ASK_TREASURER.format(now=now))]


@SETUP.step("treasurer", free_text=True)
async def treasurer_step(ctx: Context, text: str = "") -> list[Reply]:
    alliance_id = int(ctx.dialog.get_data()["alliance_id"])
    if not text.strip():
        return [Reply(ASK_TREASURER.format(now=""))]
    member, why = await _named(ctx, alliance_id, text)
    if member is None:
        return [Reply(why)]
    await ctx.dialog.set_state(needed_step, treasurer=member.id)
    return [Reply(ASK_NEEDED, _needed_buttons())]


def _needed_buttons() -> tuple[Button, ...]:
    return tuple(Button(f"{n} 位", "fundsetup.needed", n=n) for n in (1, 2, 3))


@SETUP.step("needed", free_text=True)
async def needed_step(ctx: Context, text: str = "", n: int = 0) -> list[Reply]:
    typed = re.sub(r"[位人名\s]", "", text)
    chosen = n or (int(typed) if typed.isdigit() else 0)
    if not 1 <= chosen <= 5:
        return [Reply(BAD_NEEDED, _needed_buttons())]
    await ctx.dialog.set_state(approvers_step, needed=chosen)
    return [Reply(ASK_APPROVERS.format(least=chosen + 1, now=await _now_approvers(ctx)))]


async def _now_approvers(ctx: Context) -> str:
    fund = await fund_of(ctx.session, int(ctx.dialog.get_data()["alliance_id"]))
    if fund is None:
        return ""
    names = [m.name for m in [await ctx.session.get(Member, i) for i in fund.approver_ids()] if m]
    return f"（现在是{'、'.join(sorted(names))}）" if names else ""


@SETUP.step("approvers", free_text=True)
async def approvers_step(ctx: Context, text: str = "") -> list[Reply]:
    data = ctx.dialog.get_data()
    least = int(data["needed"]) + 1
    ids: list[int] = []
    for name in [n for n in SPLIT.split(text) if n]:
        member, why = await _named(ctx, int(data["alliance_id"]), name)
        if member is None:
            return [Reply(why)]
        if member.id not in ids:
            ids.append(member.id)
    if len(ids) < least:
        return [Reply(TOO_FEW.format(least=least))]
    await ctx.dialog.set_state(threshold_step, approvers=ids)
    fund = await fund_of(ctx.session, int(data["alliance_id"]))
    now = f"（现在是{show_amount(fund.county_threshold)}）" if fund else ""
    return [Reply(ASK_THRESHOLD.format(now=now))]


@SETUP.step("threshold", free_text=True)
async def threshold_step(ctx: Context, text: str = "") -> list[Reply]:
    try:
        amount = read_amount(text)
    except AmountError:
        return [Reply(BAD_THRESHOLD)]
    if amount.fen <= 0:
        return [Reply(BAD_THRESHOLD)]
    await ctx.dialog.set_state(setup_confirm, threshold=amount.fen)
    return [await _setup_preview(ctx)]


async def _people(ctx: Context) -> tuple[Member, list[Member]]:
    data = ctx.dialog.get_data()
    treasurer = await ctx.session.get(Member, int(data["treasurer"]))
    approvers = [await ctx.session.get(Member, int(i)) for i in data["approvers"]]
    assert treasurer is not None
    return treasurer, [a for a in approvers if a is not None]


async def _setup_preview(ctx: Context) -> Reply:
    data = ctx.dialog.get_data()
    alliance = await ctx.session.get(Alliance, int(data["alliance_id"]))
    treasurer, approvers = await _people(ctx)
    text = PREVIEW.format(
        alliance=alliance.name if alliance else "",
        treasurer=treasurer.name,
        approvers="、".join(a.name for a in approvers),
        needed=data["needed"],
        limit=show_amount(int(data["threshold"])),
    )
    return Reply(text, (Button("确认", "fundsetup.confirm", yes=True), Button("取消", "cancel")))


@SETUP.step("confirm")
async def setup_confirm(ctx: Context, text: str = "", yes: bool = False) -> list[Reply]:
    if not yes:
        return [
            Reply(
                PICK_CONFIRM,
                (Button("确认", "fundsetup.confirm", yes=True), Button("取消", "cancel")),
            )
        ]
    data = ctx.dialog.get_data()
    alliance_id = int(data["alliance_id"])
    treasurer, approvers = await _people(ctx)
    before = await fund_of(ctx.session, alliance_id)
    existed, old_treasurer = before is not None, before.treasurer_id if before else None
    try:
        fund = await configure(
            session=ctx.session,
            alliance_id=alliance_id,
            member=ctx.me,
            treasurer=treasurer,
            approvers=approvers,
            approvals_needed=int(data["needed"]),
            county_threshold=int(data["threshold"]),
            now=ctx.now,
        )
    except FundError as error:
        await ctx.dialog.clear()
        reason = {
            "not_admin": NOT_ADMIN,
            "approvers": TOO_FEW.format(least=int(data["needed"]) + 1),
        }
        return [Reply(reason.get(error.reason, BAD_THRESHOLD))]
    await ctx.dialog.clear()
    alliance = await ctx.session.get(Alliance, alliance_id)
    name = alliance.name if alliance else ""
    roles: dict[int, list[str]] = {fund.treasurer_id: ["出纳"]}
    for a in approvers:
        roles.setdefault(a.id, []).append("审批人")
    for member_id, held in roles.items():
        if member_id != ctx.me.id:
            await ctx.notify(
                member_id, Reply(TOLD_ROLE.format(alliance=name, role="和".join(held)))
            )
    if old_treasurer is not None and old_treasurer not in (fund.treasurer_id, ctx.me.id):
        told = TOLD_HANDOVER.format(alliance=name, treasurer=treasurer.name)
        await ctx.notify(old_treasurer, Reply(told))
    return [
        Reply(
            SET_DONE.format(
                verb="修改" if existed else "设立",
                alliance=name,
                treasurer=treasurer.name,
                approvers="、".join(a.name for a in approvers),
                needed=fund.approvals_needed,
                limit=show_amount(fund.county_threshold),
            )
        )
    ]

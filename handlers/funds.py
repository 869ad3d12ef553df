"""/fund (党建经费): the alliance's crowd-funded party fund — its balance and ledger, visible to
every member of the alliance; 申请支出 (purpose, category, amount; approvers told), 记收入 (the
treasurer, with a transfer number or a receipt photo), 同意 / 不同意 (an approver who is not
the requester; the county above the threshold), 登记付款 (the treasurer, with a voucher), and
导出账目 (an Excel with a running balance). The bot records money; it never moves it.

Buttons: fund.decide (expense, do), fund.pay (expense), fund.export.
Dialogs: fund.* (income and payment), spend.* (an expense request).
"""

from __future__ import annotations

from sqlalchemy import select

from bot.core import Attachment, Button, Flow, Reply, Role
from bot.core.clock import to_local
from bot.core.money import AmountError, show_amount
from bot.core.money import parse_amount as read_amount
from handlers import links
from handlers.context import Context
from handlers.files import outgoing, stamp
from handlers.uploads import as_values, from_values, problem, usable
from models.export import export_fund
from models.fund import (
    CATEGORIES,
    ExpenseState,
    Fund,
    FundError,
    FundExpense,
    approve,
    balance,
    campaign_for,
    fund_of,
    ledger,
    mark_paid,
    progress,
    record_income,
    reject,
    request_expense,
    waiting_for,
)
from models.org import Alliance, Unit

NO_FUNDS = "还没有联盟设立党建经费。"
COUNTY_TITLE = "💰 各联盟党建经费（{count} 个）："
COUNTY_WAITING = "待县里审核的支出 {count} 笔："
NO_FUND = "本联盟还没有设立党建经费。请联盟管理员联系县委两新工委设立。"
TITLE = "💰 {alliance}党建经费：余额 {balance}"
LINE = "· {day} {what} {amount} {party}（余额 {balance}）"
NO_LINES = "还没有收支记录。"
WAITING = "待审批支出 {count} 笔：发送“经费”后点“审批”。"
ASK_AMOUNT = "金额是多少？例如：3000元、1.2万、二千五百元。"
ASK_PURPOSE = "用途是什么？（写明为哪项活动或帮扶，例如：七一主题党日场地和资料）"
ASK_CATEGORY = "属于哪一类？"
ASK_PAYER = "谁交来的？请输入单位或个人名称："
ASK_PROOF = "请输入转账流水号，或发送收据照片："
ASK_VOUCHER = "请发送付款凭证（转账回单或发票照片）："
BAD_AMOUNT = "没看懂这个金额，例如：3000元、1.2万、二千五百元。（未保存）"
ASK_LINK = (
    "这笔钱用在哪项活动、会议、项目或工单上？点选下面的活动或项目，或输入活动、会议或项目名称、"
    "项目编号（XM-0001）、工单号（WT-2026-0005）、督办编号（DB-0003）；没有就点“跳过”。"
)
PREVIEW_SPEND = (
    "请核对，确认后提交审批：\n支出 {amount}（{category}）\n用途：{purpose}{link}\n{rule}"
)
ASK_REASON = "请写明不同意 {number} 的理由（会告知申请人）："
ASK_PAYER_UNITS = "谁交来的？点选未交齐的单位（计入{year}年众筹），或输入单位或个人名称："
CAMPAIGN_NOTE = "\n{year}年众筹：已筹 {raised} / 目标 {goal}（{percent}%），未交齐 {left} 家。"
RULE = "需 {n} 位审批人同意（申请人本人不能审批）{county}。"
COUNTY_RULE = "；超过 {limit}，还需县里审核"
PREVIEW_INCOME = "请核对：\n收入 {amount}\n来自：{payer}\n凭证：{proof}"
PICK_CONFIRM = "请点“确认”，或发送“取消”。"
SPENT = "已提交支出申请 {number}（{amount}），已通知审批人。"
RECORDED = "已记收入 {number}（{amount}）。当前余额 {balance}。"
APPROVED = {
    ExpenseState.REQUESTED: "已同意 {number}，还需 {left} 位审批人同意。",
    ExpenseState.COUNTY: "已同意 {number}。金额超过 {limit}，已提交县里审核。",
    ExpenseState.APPROVED: "已同意 {number}，审批通过，已通知出纳付款。",
}
REJECTED = "已驳回 {number}，已告知申请人。"
PAID = "已登记 {number} 付款（{amount}），当前余额 {balance}。"
TOLD_APPROVE = (
    "📨 {who}申请党建经费支出 {number}：{amount}（{category}），用途：{purpose}。请审批。"
)
TOLD_COUNTY = (
    "📨 {alliance}党建经费支出 {number}：{amount}，超过 {limit}，请县里审核。用途：{purpose}"
)
TOLD_PAY = "✅ 支出 {number}（{amount}，{purpose}）已审批通过，请付款后登记凭证。"
TOLD_DONE = "✅ 您申请的支出 {number}（{amount}）已审批通过。"
TOLD_REJECTED = "❌ 您申请的支出 {number}（{amount}）未通过。理由：{reason}"
EXPORTED = "党建经费账目，共 {rows} 笔，含每笔后的余额。"
ERRORS = {
    "own_request": "您是 {number} 的申请人，不能审批自己的申请。",
    "not_approver": "您不是本联盟党建经费的审批人。",
    "not_county": "{number} 需要县里审核。",
    "already": "您已同意过 {number}。",
    "illegal": "{number} 当前不能这样处理。",
    "not_treasurer": "只有出纳可以登记收入和付款。",
    "voucher_required": "请附凭证（流水号或照片）。",
    "zero": "金额要大于零。",
    "purpose_required": "请写明用途。",
    "category": "请选择类别。",
    "short": "余额不足，{number} 暂不能登记付款。请先登记到账的众筹收入。",
    "reason_required": "请写明不同意的理由。",
}
FLOW = Flow("fund")
SPEND = Flow("spend")


async def my_fund(ctx: Context) -> tuple[Fund | None, Alliance | None]:
    me = ctx.me
    scope = me.admin_scope()
    ids = sorted(scope.alliances) if not scope.county else []
    ids = ids or sorted(me.home_alliances())
    for alliance_id in ids:
        fund = await fund_of(ctx.session, alliance_id)
        if fund is not None:
            return fund, await ctx.session.get(Alliance, alliance_id)
    return None, None


async def show(ctx: Context) -> list[Reply]:
    """The balance and the latest lines of the ledger, with what the sender may do (the county:
    every fund's balance and what waits for its review)."""
    if ctx.me.admin_scope().county:
        return await _county_view(ctx)
    fund, alliance = await my_fund(ctx)
    if fund is None or alliance is None:
        return [Reply(NO_FUND)]
    lines = [
        TITLE.format(alliance=alliance.name, balance=show_amount(await balance(ctx.session, fund)))
    ]
    rows = await ledger(ctx.session, fund)
    for row in rows[-8:]:
        lines.append(
            LINE.format(
                day=f"{to_local(row.at).month}月{to_local(row.at).day}日",
                what=row.what,
                amount=show_amount(abs(row.fen)),
                party=row.party + (f"（用于{row.link}）" if row.link else ""),
                balance=show_amount(row.balance),
            )
        )
    if not rows:
        lines.append(NO_LINES)
    waiting = await waiting_for(ctx.session, ctx.me)
    buttons = [Button("申请支出", "spend")]
    if ctx.me.id == fund.treasurer_id:
        buttons.append(Button("记收入", "fund.income"))
    if waiting:
        lines.append(WAITING.format(count=len(waiting)))
        buttons += [Button(f"审批 {e.number}", "fund.view", expense=e.id) for e in waiting[:5]]
    buttons.append(Button("导出账目", "fund.export"))
    return [Reply("\n".join(lines), tuple(buttons))]


async def _county_view(ctx: Context) -> list[Reply]:
    funds = list((await ctx.session.execute(select(Fund).order_by(Fund.alliance_id))).scalars())
    if not funds:
        return [Reply(NO_FUNDS)]
    lines = [COUNTY_TITLE.format(count=len(funds))]
    for fund in funds:
        alliance = await ctx.session.get(Alliance, fund.alliance_id)
        left = show_amount(await balance(ctx.session, fund))
        lines.append(f"· {alliance.name if alliance else ''}：余额 {left}")
    waiting = await waiting_for(ctx.session, ctx.me)
    if waiting:
        lines.append(COUNTY_WAITING.format(count=len(waiting)))
    buttons = tuple(Button(f"审批 {e.number}", "fund.view", expense=e.id) for e in waiting[:5])
    return [Reply("\n".join(lines), buttons)]


async def view(ctx: Context, expense: int) -> list[Reply]:
    """One expense with 同意 / 不同意, or 登记付款 for the treasurer."""
    found, fund = await _expense(ctx, expense)
    if found is None or fund is None:
        return [Reply(ERRORS["illegal"].format(number="这笔支出"))]
    text = (
        f"{found.number} · {show_amount(found.fen)}（{found.category}）\n用途：{found.purpose}\n"
        f"申请人：{found.requester.name}\n已同意：{len(found.approvals)}/{fund.approvals_needed}"
    )
    if found.link_label:
        text += f"\n用于：{found.link_label}"
    if found.state == ExpenseState.REJECTED and found.reason:
        text += f"\n未通过：{found.reason}"
    buttons: tuple[Button, ...] = ()
    if found.state in (ExpenseState.REQUESTED, ExpenseState.COUNTY):
        buttons = (
            Button("同意", "fund.decide", expense=found.id, do="approve"),
            Button("不同意", "fund.decide", expense=found.id, do="reject"),
        )
    elif found.state == ExpenseState.APPROVED and ctx.me.id == fund.treasurer_id:
        buttons = (Button("登记付款", "fund.pay", expense=found.id),)
    return [Reply(text, buttons)]


async def _expense(ctx: Context, expense_id: int) -> tuple[FundExpense | None, Fund | None]:
    found = await ctx.session.get(FundExpense, expense_id)
    if found is None:
        return None, None
    return found, await ctx.session.get(Fund, found.fund_id)


async def decide(ctx: Context, expense: int, do: str) -> list[Reply]:
    """同意 or 不同意: never by the requester; the county above the threshold."""
    found, fund = await _expense(ctx, expense)
    if found is None or fund is None:
        return [Reply(ERRORS["illegal"].format(number="这笔支出"))]
    amount = show_amount(found.fen)
    try:
        if do == "reject":
            allowed = _may_decide(ctx, fund, found)
            if allowed:
                return [Reply(ERRORS[allowed].format(number=found.number))]
            await ctx.dialog.set_state(reject_reason, expense_id=found.id)
            return [Reply(ASK_REASON.format(number=found.number))]
        await approve(session=ctx.session, fund=fund, expense=found, member=ctx.me, now=ctx.now)
    except FundError as error:
        return [Reply(ERRORS[error.reason].format(number=found.number))]
    limit = show_amount(fund.county_threshold)
    if found.state == ExpenseState.COUNTY:
        alliance = await ctx.session.get(Alliance, fund.alliance_id)
        text = TOLD_COUNTY.format(
            alliance=alliance.name if alliance else "",
            number=found.number,
            amount=amount,
            limit=limit,
            purpose=found.purpose,
        )
        for admin in await _county(ctx):
            if admin != ctx.me.id:
                await ctx.notify(
                    admin,
                    Reply(text, (Button(f"审批 {found.number}", "fund.view", expense=found.id),)),
                )
    if found.state == ExpenseState.APPROVED:
        await ctx.notify(
            fund.treasurer_id,
            Reply(
                TOLD_PAY.format(number=found.number, amount=amount, purpose=found.purpose),
                (Button("登记付款", "fund.pay", expense=found.id),),
            ),
        )
        await ctx.notify(
            found.requester_id, Reply(TOLD_DONE.format(number=found.number, amount=amount))
        )
    left = fund.approvals_needed - len(found.approvals)
    return [Reply(APPROVED[found.state].format(number=found.number, left=left, limit=limit))]


def _may_decide(ctx: Context, fund: Fund, found: FundExpense) -> str:
    """Why the sender may not decide this expense now ('' if they may)."""
    if ctx.me.id == found.requester_id:
        return "own_request"
    if found.state == ExpenseState.COUNTY:
        return "" if ctx.me.has_role(Role.SUPER_ADMIN) else "not_county"
    if found.state != ExpenseState.REQUESTED:
        return "illegal"
    return "" if ctx.me.id in fund.approver_ids() else "not_approver"


@FLOW.step("reason", free_text=True)
async def reject_reason(ctx: Context, text: str = "") -> list[Reply]:
    """Step: 不同意 needs a reason; the requester is told it."""
    found, fund = await _expense(ctx, int(ctx.dialog.get_data()["expense_id"]))
    assert found is not None and fund is not None
    if not text.strip():
        return [Reply(ASK_REASON.format(number=found.number))]
    try:
        await reject(session=ctx.session, fund=fund, expense=found, member=ctx.me, reason=text)
    except FundError as error:
        await ctx.dialog.clear()
        return [Reply(ERRORS[error.reason].format(number=found.number))]
    await ctx.dialog.clear()
    told = TOLD_REJECTED.format(
        number=found.number, amount=show_amount(found.fen), reason=found.reason
    )
    await ctx.notify(found.requester_id, Reply(told))
    return [Reply(REJECTED.format(number=found.number))]


async def _county(ctx: Context) -> list[int]:
    from models.member import Member, MemberRole

    stmt = select(Member.id).join(MemberRole).where(MemberRole.role == Role.SUPER_ADMIN)
    return list(await ctx.session.scalars(stmt.order_by(Member.id)))


async def export(ctx: Context) -> list[Reply]:
    """An Excel of the ledger with the balance after each line."""
    fund, alliance = await my_fund(ctx)
    if fund is None or alliance is None:
        return [Reply(NO_FUND)]
    path = outgoing("党建经费账目", alliance.name, stamp(ctx.now), suffix=".xlsx")
    rows = await export_fund(session=ctx.session, path=path, fund=fund)
    return [Reply(EXPORTED.format(rows=rows), file=path)]


# ---- 申请支出 ---------------------------------------------------------------------------


async def start_spend(ctx: Context) -> list[Reply]:
    fund, _ = await my_fund(ctx)
    if fund is None:
        return [Reply(NO_FUND)]
    await ctx.dialog.set_state(spend_amount, fund_id=fund.id)
    return [Reply(ASK_AMOUNT)]


@SPEND.step("amount", free_text=True)
async def spend_amount(ctx: Context, text: str = "") -> list[Reply]:
    try:
        amount = read_amount(text)
    except AmountError:
        return [Reply(BAD_AMOUNT)]
    if amount.fen <= 0:
        return [Reply(ERRORS["zero"])]
    await ctx.dialog.set_state(spend_purpose, fen=amount.fen)
    return [Reply(ASK_PURPOSE)]


@SPEND.step("purpose", free_text=True)
async def spend_purpose(ctx: Context, text: str = "") -> list[Reply]:
    if not text.strip():
        return [Reply(ERRORS["purpose_required"])]
    await ctx.dialog.set_state(spend_category, purpose=text.strip())
    return [Reply(ASK_CATEGORY, tuple(Button(c, "spend.category", pick=c) for c in CATEGORIES))]


@SPEND.step("category")
async def spend_category(ctx: Context, text: str = "", pick: str = "") -> list[Reply]:
    chosen = pick or next((c for c in CATEGORIES if c == text.strip()), "")
    if not chosen:
        return [
            Reply(ASK_CATEGORY, tuple(Button(c, "spend.category", pick=c) for c in CATEGORIES))
        ]
    await ctx.dialog.set_state(spend_link, category=chosen)
    return [await _ask_link(ctx)]


LINK_KINDS = ("activity", "project", "ticket", "followup")


async def _alliance_id(ctx: Context) -> int:
    fund = await ctx.session.get(Fund, int(ctx.dialog.get_data()["fund_id"]))
    assert fund is not None
    return fund.alliance_id


async def _ask_link(ctx: Context, text: str = ASK_LINK) -> Reply:
    alliance_id = await _alliance_id(ctx)
    return await links.ask(ctx.session, alliance_id, ctx.now, LINK_KINDS, "spend.link", text)


@SPEND.step("link", free_text=True)
async def spend_link(
    ctx: Context, text: str = "", kind: str = "", ref: int = 0, skip: bool = False
) -> list[Reply]:
    """Step: what the money paid for — an activity or meeting or a claimed project (a button, or
    its title typed; a project also by XM-0001), a ticket (WT-2026-0005) or a follow-up item
    (DB-0003); or none."""
    link: list[object] | None = None
    if not skip:
        alliance_id = await _alliance_id(ctx)
        if kind:
            one = await links.pressed(ctx.session, alliance_id, kind, ref, LINK_KINDS)
            found = [one] if one is not None else []
        else:
            found = await links.typed(ctx.session, alliance_id, ctx.now, text, LINK_KINDS)
        if not found:
            return [await _ask_link(ctx, links.not_found(text, LINK_KINDS))]
        if len(found) > 1:
            many = links.MANY.format(text=text.strip())
            return [Reply(many, links.buttons(found, "spend.link"))]
        link = list(found[0].link)
    await ctx.dialog.set_state(spend_confirm, link=link)
    return [await _spend_preview(ctx)]


async def _spend_preview(ctx: Context) -> Reply:
    data = ctx.dialog.get_data()
    fund = await ctx.session.get(Fund, int(data["fund_id"]))
    assert fund is not None
    chosen = str(data["category"])
    county = (
        COUNTY_RULE.format(limit=show_amount(fund.county_threshold))
        if int(data["fen"]) > fund.county_threshold
        else ""
    )
    link = data.get("link")
    text = PREVIEW_SPEND.format(
        amount=show_amount(int(data["fen"])),
        category=chosen,
        purpose=data["purpose"],
        link=f"\n用于：{link[2]}" if link else "",
        rule=RULE.format(n=fund.approvals_needed, county=county),
    )
    return Reply(text, (Button("确认", "spend.confirm", yes=True), Button("取消", "cancel")))


@SPEND.step("confirm")
async def spend_confirm(ctx: Context, text: str = "", yes: bool = False) -> list[Reply]:
    if not yes:
        return [
            Reply(
                PICK_CONFIRM, (Button("确认", "spend.confirm", yes=True), Button("取消", "cancel"))
            )
        ]
    data = ctx.dialog.get_data()
    fund = await ctx.session.get(Fund, int(data["fund_id"]))
    assert fund is not None
    try:
        expense = await request_expense(
            session=ctx.session,
            fund=fund,
            member=ctx.me,
            fen=int(data["fen"]),
            purpose=str(data["purpose"]),
            category=str(data["category"]),
            link=tuple(data["link"]) if data.get("link") else None,  # type: ignore[arg-type]
            now=ctx.now,
        )
    except FundError as error:
        return [Reply(ERRORS[error.reason].format(number=""))]
    await ctx.dialog.clear()
    amount = show_amount(expense.fen)
    text = TOLD_APPROVE.format(
        who=ctx.me.name,
        number=expense.number,
        amount=amount,
        category=expense.category,
        purpose=expense.purpose + (f"（用于{expense.link_label}）" if expense.link_label else ""),
    )
    for member_id in sorted(fund.approver_ids() - {ctx.me.id}):
        await ctx.notify(
            member_id,
            Reply(text, (Button(f"审批 {expense.number}", "fund.view", expense=expense.id),)),
        )
    return [Reply(SPENT.format(number=expense.number, amount=amount))]


# ---- 记收入 and 登记付款 -----------------------------------------------------------------


async def start_income(ctx: Context) -> list[Reply]:
    fund, _ = await my_fund(ctx)
    if fund is None:
        return [Reply(NO_FUND)]
    if ctx.me.id != fund.treasurer_id:
        return [Reply(ERRORS["not_treasurer"])]
    await ctx.dialog.set_state(income_payer, fund_id=fund.id)
    return [await _ask_payer(ctx, fund)]


async def _ask_payer(ctx: Context, fund: Fund) -> Reply:
    """This year's campaign's units that have not paid in full, as buttons."""
    campaign = await campaign_for(ctx.session, fund, to_local(ctx.now).year)
    if campaign is None:
        return Reply(ASK_PAYER)
    state = await progress(ctx.session, campaign)
    buttons = tuple(Button(u.name[:30], "fund.payer", unit=u.unit_id) for u in state.unpaid[:8])
    return Reply(ASK_PAYER_UNITS.format(year=campaign.year), buttons)


@FLOW.step("payer", free_text=True)
async def income_payer(ctx: Context, text: str = "", unit: int = 0) -> list[Reply]:
    """Step: who paid. A unit of this year's campaign (a button, or its name typed) counts
    towards the campaign."""
    fund = await ctx.session.get(Fund, int(ctx.dialog.get_data()["fund_id"]))
    assert fund is not None
    campaign = await campaign_for(ctx.session, fund, to_local(ctx.now).year)
    shares = {s.unit_id: s for s in campaign.shares} if campaign else {}
    chosen = await ctx.session.get(Unit, unit) if unit else None
    typed = text.strip()
    if chosen is None and typed and shares:
        # The name as typed, or part of one campaign unit's name (蒙山兴业 for 蒙山兴业食品…).
        units = (await ctx.session.scalars(select(Unit).where(Unit.id.in_(shares)))).all()
        exact = [u for u in units if u.name == typed]
        partial = [u for u in units if len(typed) >= 2 and typed in u.name]
        chosen = exact[0] if exact else partial[0] if len(partial) == 1 else None
    if chosen is not None and chosen.id in shares and campaign is not None:
        await ctx.dialog.set_state(
            income_amount, payer=chosen.name, unit_id=chosen.id, campaign_id=campaign.id
        )
        return [Reply(ASK_AMOUNT)]
    if not text.strip():
        return [await _ask_payer(ctx, fund)]
    await ctx.dialog.set_state(income_amount, payer=text.strip())
    return [Reply(ASK_AMOUNT)]


@FLOW.step("amount", free_text=True)
async def income_amount(ctx: Context, text: str = "") -> list[Reply]:
    try:
        amount = read_amount(text)
    except AmountError:
        return [Reply(BAD_AMOUNT)]
    if amount.fen <= 0:
        return [Reply(ERRORS["zero"])]
    await ctx.dialog.set_state(income_proof, fen=amount.fen)
    return [Reply(ASK_PROOF)]


@FLOW.step("proof", free_text=True)
async def income_proof(
    ctx: Context, text: str = "", attachments: tuple[Attachment, ...] = ()
) -> list[Reply]:
    trouble = problem(attachments, ctx.settings)
    if trouble:
        return [Reply(trouble)]
    got = usable(attachments)
    if got is None and not text.strip():
        return [Reply(ASK_PROOF)]
    await ctx.dialog.set_state(
        income_confirm, transfer_no=text.strip(), receipt=as_values(got) if got else {}
    )
    data = ctx.dialog.get_data()
    proof = f"流水号 {text.strip()}" if text.strip() else f"收据照片 {got.name if got else ''}"
    preview = PREVIEW_INCOME.format(
        amount=show_amount(int(data["fen"])), payer=data["payer"], proof=proof
    )
    if data.get("campaign_id"):
        preview += f"\n计入{to_local(ctx.now).year}年众筹"
    return [Reply(preview, (Button("确认", "fund.confirm", yes=True), Button("取消", "cancel")))]


@FLOW.step("confirm")
async def income_confirm(ctx: Context, text: str = "", yes: bool = False) -> list[Reply]:
    if not yes:
        return [
            Reply(
                PICK_CONFIRM, (Button("确认", "fund.confirm", yes=True), Button("取消", "cancel"))
            )
        ]
    data = ctx.dialog.get_data()
    fund = await ctx.session.get(Fund, int(data["fund_id"]))
    assert fund is not None
    try:
        income = await record_income(
            session=ctx.session,
            fund=fund,
            member=ctx.me,
            fen=int(data["fen"]),
            payer=str(data["payer"]),
            transfer_no=str(data.get("transfer_no", "")),
            receipt=from_values(dict(data.get("receipt") or {})),
            unit_id=int(data["unit_id"]) if data.get("unit_id") else None,
            campaign_id=int(data["campaign_id"]) if data.get("campaign_id") else None,
            now=ctx.now,
        )
    except FundError as error:
        return [Reply(ERRORS[error.reason].format(number=""))]
    await ctx.dialog.clear()
    left = show_amount(await balance(ctx.session, fund))
    text = RECORDED.format(number=income.number, amount=show_amount(income.fen), balance=left)
    campaign = await campaign_for(ctx.session, fund, to_local(ctx.now).year)
    if campaign is not None and income.campaign_id == campaign.id:
        state = await progress(ctx.session, campaign)
        text += CAMPAIGN_NOTE.format(
            year=campaign.year,
            raised=show_amount(state.raised),
            goal=show_amount(campaign.goal),
            percent=state.percent,
            left=len(state.unpaid),
        )
    return [Reply(text)]


async def pay(ctx: Context, expense: int) -> list[Reply]:
    """Button: the treasurer records the payment of an approved expense with a voucher."""
    found, fund = await _expense(ctx, expense)
    if found is None or fund is None:
        return [Reply(ERRORS["illegal"].format(number="这笔支出"))]
    if ctx.me.id != fund.treasurer_id:
        return [Reply(ERRORS["not_treasurer"])]
    if found.state != ExpenseState.APPROVED:
        return [Reply(ERRORS["illegal"].format(number=found.number))]
    await ctx.dialog.set_state(voucher_step, expense_id=found.id)
    return [Reply(ASK_VOUCHER)]


@FLOW.step("voucher", free_text=True)
async def voucher_step(
    ctx: Context, text: str = "", attachments: tuple[Attachment, ...] = ()
) -> list[Reply]:
    trouble = problem(attachments, ctx.settings)
    if trouble:
        return [Reply(trouble)]
    got = usable(attachments)
    if got is None:
        return [Reply(ASK_VOUCHER)]
    found, fund = await _expense(ctx, int(ctx.dialog.get_data()["expense_id"]))
    assert found is not None and fund is not None
    try:
        await mark_paid(
            session=ctx.session, fund=fund, expense=found, member=ctx.me, voucher=got, now=ctx.now
        )
    except FundError as error:
        await ctx.dialog.clear()
        return [Reply(ERRORS[error.reason].format(number=found.number))]
    await ctx.dialog.clear()
    left = show_amount(await balance(ctx.session, fund))
    return [Reply(PAID.format(number=found.number, amount=show_amount(found.fen), balance=left))]

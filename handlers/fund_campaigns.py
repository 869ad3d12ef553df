"""/campaign (众筹): this year's 党建经费众筹 of the alliance — the goal, each unit's share by the
rule (平均分摊 or 按单位定额), what is raised, who pledged (认缴) and which units have not paid.
发起众筹 (the treasurer or an alliance admin) opens it and tells the units' liaisons and
secretaries; 认缴 (any member of a unit in it) pledges the unit's share; the treasurer records
the money with 记收入, picking the unit, and it counts towards the campaign.

Buttons: campaign.pledge. Dialog: newcampaign.rule, .goal, .fixed, .confirm.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.core import Button, Flow, Reply, Role
from bot.core.clock import to_local
from bot.core.money import AmountError, show_amount
from bot.core.money import parse_amount as read_amount
from handlers.context import Context
from handlers.funds import my_fund
from models.fund import (
    Fund,
    FundCampaign,
    FundError,
    Progress,
    ShareRule,
    UnitProgress,
    campaign_for,
    equal_shares,
    open_campaign,
    pledge,
    progress,
)
from models.member import Member, MemberRole
from models.org import Alliance, Membership, Unit

NO_FUND = "本联盟还没有设立党建经费。请联盟管理员发送“设立经费”。"
NO_CAMPAIGN = "{year}年的党建经费众筹还没有发起。"
NO_CAMPAIGNS = "{year}年还没有联盟发起党建经费众筹。"
HEAD = "🎯 {title}（{alliance}）\n已筹 {raised} / 目标 {goal}（{percent}%）"
RULE_EQUAL = "平均分摊：每家 {each}，共 {count} 家，已交齐 {done} 家。"
RULE_FIXED = "按单位定额：共 {count} 家，已交齐 {done} 家。"
UNPAID = "未交齐 {count} 家："
ALL_PAID = "各单位都已交齐。"
COUNTY_HEAD = "🎯 {year}年各联盟党建经费众筹（{count} 个）："
COUNTY_LINE = "· {alliance}：已筹 {raised} / {goal}（{percent}%），未交齐 {left} 家"
ASK_RULE = "{year}年众筹怎样分摊到各成员单位？"
ASK_GOAL = "众筹目标是多少？将由本联盟 {count} 家成员单位平均分摊。例如：2万元、一万六千元。"
ASK_FIXED = (
    "请逐行输入各单位的金额，每行“单位名称 金额”，例如：\n{example} 3000元\n"
    "（本联盟的成员单位：{units}）"
)
BAD_AMOUNT = "没看懂这个金额，例如：2万元、一万六千元。（未保存）"
BAD_LINE = "第 {n} 行“{line}”没看懂：{why}。请改正后重新发送全部各行。（未保存）"
WHY_UNIT = "不是本联盟的成员单位"
WHY_AMOUNT = "金额没看懂"
WHY_TWICE = "这家单位写了两次"
PREVIEW = "请核对，确认后发起并通知各单位：\n{title}\n目标 {goal}，{rule}\n{lines}"
PICK_CONFIRM = "请点“确认”，或发送“取消”。"
OPENED = "已发起{title}：目标 {goal}，{count} 家单位，已通知 {told} 人。"
TOLD = (
    "🎯 {alliance}发起{title}：贵单位应交 {share}。可发送“认缴”先认缴，"
    "转账后出纳登记，发送“众筹”看进度。"
)
PLEDGED = "已为{unit}认缴 {share}。转账后请把流水号告诉出纳登记。"
TOLD_PLEDGED = "📨 {unit}已认缴{title} {share}（{who}）。到账后请“记收入”。"
ERRORS = {
    "not_admin": "只有出纳或联盟管理员可以发起众筹。",
    "no_units": "本联盟还没有成员单位，无法分摊。",
    "zero": "每家单位的金额都要大于零。",
    "campaign_exists": "{year}年的众筹已经发起过了。发送“众筹”看进度。",
    "not_in_campaign": "您所在的单位不在{year}年众筹的分摊名单里。",
    "pledged": "您所在的单位已经认缴过了。",
    "paid": "您所在的单位已交齐{year}年的众筹份额，无需认缴。谢谢！",
}
FLOW = Flow("newcampaign")


def _title(year: int) -> str:
    return f"{year}年党建经费众筹"


def _unit_line(u: UnitProgress) -> str:
    parts = [f"应交 {show_amount(u.share)}"]
    if u.paid:
        parts.append(f"已交 {show_amount(u.paid)}")
    if u.pledged:
        parts.append("已认缴")
    return f"· {u.name}（{'，'.join(parts)}）"


def describe(state: Progress, alliance: str) -> str:
    """The campaign's progress as a message: raised / goal and the units that have not paid."""
    campaign = state.campaign
    lines = [
        HEAD.format(
            title=campaign.title,
            alliance=alliance,
            raised=show_amount(state.raised),
            goal=show_amount(campaign.goal),
            percent=state.percent,
        )
    ]
    done = len(state.units) - len(state.unpaid)
    if campaign.rule == ShareRule.EQUAL:
        each = show_amount(state.units[0].share) if state.units else "0元"
        lines.append(RULE_EQUAL.format(each=each, count=len(state.units), done=done))
    else:
        lines.append(RULE_FIXED.format(count=len(state.units), done=done))
    if state.unpaid:
        lines.append(UNPAID.format(count=len(state.unpaid)))
        lines += [_unit_line(u) for u in state.unpaid[:20]]
        if len(state.unpaid) > 20:
            lines.append(f"……另有 {len(state.unpaid) - 20} 家")
    else:
        lines.append(ALL_PAID)
    return "\n".join(lines)


async def show(ctx: Context) -> list[Reply]:
    """This year's campaign of the sender's alliance (the county: every alliance's)."""
    year = to_local(ctx.now).year
    if ctx.me.admin_scope().county:
        return await _county(ctx, year)
    fund, alliance = await my_fund(ctx)
    if fund is None or alliance is None:
        return [Reply(NO_FUND)]
    campaign = await campaign_for(ctx.session, fund, year)
    may_open = ctx.me.id == fund.treasurer_id or ctx.me.administers(fund.alliance_id)
    if campaign is None:
        buttons = (Button("发起众筹", "newcampaign"),) if may_open else ()
        return [Reply(NO_CAMPAIGN.format(year=year), buttons)]
    state = await progress(ctx.session, campaign)
    buttons: list[Button] = []
    mine = next((u for u in state.units if u.unit_id == ctx.me.home_unit_id), None)
    if mine is not None and not mine.pledged and not mine.done:
        buttons.append(Button("认缴", "campaign.pledge", campaign=campaign.id))
    if ctx.me.id == fund.treasurer_id:
        buttons.append(Button("记收入", "fund.income"))
    return [Reply(describe(state, alliance.name), tuple(buttons))]


async def _county(ctx: Context, year: int) -> list[Reply]:
    campaigns = list(
        (
            await ctx.session.execute(
                select(FundCampaign).where(FundCampaign.year == year).order_by(FundCampaign.id)
            )
        ).scalars()
    )
    if not campaigns:
        return [Reply(NO_CAMPAIGNS.format(year=year))]
    lines = [COUNTY_HEAD.format(year=year, count=len(campaigns))]
    for campaign in campaigns:
        fund = await ctx.session.get(Fund, campaign.fund_id)
        alliance = await ctx.session.get(Alliance, fund.alliance_id) if fund else None
        state = await progress(ctx.session, campaign)
        lines.append(
            COUNTY_LINE.format(
                alliance=alliance.name if alliance else "",
                raised=show_amount(state.raised),
                goal=show_amount(campaign.goal),
                percent=state.percent,
                left=len(state.unpaid),
            )
        )
    return [Reply("\n".join(lines))]


async def pledge_button(ctx: Context, campaign: int = 0) -> list[Reply]:
    """认缴: the sender's unit pledges its share of this year's campaign; the treasurer is told."""
    year = to_local(ctx.now).year
    fund, _ = await my_fund(ctx)
    if fund is None:
        return [Reply(NO_FUND)]
    found = (
        await ctx.session.get(FundCampaign, campaign)
        if campaign
        else await campaign_for(ctx.session, fund, year)
    )
    if found is None:
        return [Reply(NO_CAMPAIGN.format(year=year))]
    try:
        share = await pledge(session=ctx.session, campaign=found, member=ctx.me, now=ctx.now)
    except FundError as error:
        return [Reply(ERRORS[error.reason].format(year=found.year))]
    unit = await ctx.session.get(Unit, share.unit_id)
    name = unit.name if unit else ""
    amount = show_amount(share.fen)
    fund = await ctx.session.get(Fund, found.fund_id)
    if fund is not None and fund.treasurer_id != ctx.me.id:
        told = TOLD_PLEDGED.format(unit=name, title=found.title, share=amount, who=ctx.me.name)
        await ctx.notify(fund.treasurer_id, Reply(told, (Button("记收入", "fund.income"),)))
    return [Reply(PLEDGED.format(unit=name, share=amount))]


# ---- 发起众筹 ---------------------------------------------------------------------------


async def _units(ctx: Context, fund: Fund) -> list[Unit]:
    stmt = (
        select(Unit)
        .join(Membership, Membership.unit_id == Unit.id)
        .where(Membership.alliance_id == fund.alliance_id)
        .order_by(Unit.id)
    )
    return list((await ctx.session.execute(stmt)).scalars())


RULES = (
    Button("平均分摊", "newcampaign.rule", rule=ShareRule.EQUAL.value),
    Button("按单位定额", "newcampaign.rule", rule=ShareRule.FIXED.value),
)


async def start(ctx: Context) -> list[Reply]:
    year = to_local(ctx.now).year
    fund, _ = await my_fund(ctx)
    if fund is None:
        return [Reply(NO_FUND)]
    if ctx.me.id != fund.treasurer_id and not ctx.me.administers(fund.alliance_id):
        return [Reply(ERRORS["not_admin"])]
    if await campaign_for(ctx.session, fund, year) is not None:
        return [Reply(ERRORS["campaign_exists"].format(year=year))]
    if not await _units(ctx, fund):
        return [Reply(ERRORS["no_units"])]
    await ctx.dialog.set_state(rule_step, fund_id=fund.id, year=year)
    return [Reply(ASK_RULE.format(year=year), RULES)]


def _fund_id(ctx: Context) -> int:
    return int(ctx.dialog.get_data()["fund_id"])


@FLOW.step("rule")
async def rule_step(ctx: Context, text: str = "", rule: str = "") -> list[Reply]:
    by_label = {"平均分摊": ShareRule.EQUAL.value, "按单位定额": ShareRule.FIXED.value}
    chosen = rule or str(by_label.get(text.strip(), ""))
    if not chosen:
        return [Reply(ASK_RULE.format(year=ctx.dialog.get_data()["year"]), RULES)]
    fund = await ctx.session.get(Fund, _fund_id(ctx))
    assert fund is not None
    units = await _units(ctx, fund)
    if chosen == ShareRule.EQUAL:
        await ctx.dialog.set_state(goal_step, rule=chosen)
        return [Reply(ASK_GOAL.format(count=len(units)))]
    await ctx.dialog.set_state(fixed_step, rule=chosen)
    names = "、".join(u.name for u in units[:12]) + ("等" if len(units) > 12 else "")
    return [Reply(ASK_FIXED.format(example=units[0].name, units=names))]


@FLOW.step("goal", free_text=True)
async def goal_step(ctx: Context, text: str = "") -> list[Reply]:
    try:
        amount = read_amount(text)
    except AmountError:
        return [Reply(BAD_AMOUNT)]
    fund = await ctx.session.get(Fund, _fund_id(ctx))
    assert fund is not None
    units = await _units(ctx, fund)
    if amount.fen < len(units):
        return [Reply(ERRORS["zero"])]
    shares = equal_shares(amount.fen, [u.id for u in units])
    await ctx.dialog.set_state(confirm_step, shares=[[u, f] for u, f in shares.items()])
    return [await _preview(ctx)]


@FLOW.step("fixed", free_text=True)
async def fixed_step(ctx: Context, text: str = "") -> list[Reply]:
    """Step: one line per unit, "单位名称 金额"; a unit is named in full or by a part that only
    it has."""
    fund = await ctx.session.get(Fund, _fund_id(ctx))
    assert fund is not None
    units = await _units(ctx, fund)
    shares: dict[int, int] = {}
    lines = [line.strip() for line in text.replace("，", "\n").splitlines() if line.strip()]
    for n, line in enumerate(lines, 1):
        name, _, amount_text = line.rpartition(" ")
        if not name:
            name, amount_text = line, ""
        matches = [u for u in units if u.name == name.strip()] or [
            u for u in units if name.strip() and name.strip() in u.name
        ]
        if len(matches) != 1:
            return [Reply(BAD_LINE.format(n=n, line=line, why=WHY_UNIT))]
        try:
            fen = read_amount(amount_text).fen
        except AmountError:
            return [Reply(BAD_LINE.format(n=n, line=line, why=WHY_AMOUNT))]
        if fen <= 0:
            return [Reply(BAD_LINE.format(n=n, line=line, why=WHY_AMOUNT))]
        if matches[0].id in shares:
            return [Reply(BAD_LINE.format(n=n, line=line, why=WHY_TWICE))]
        shares[matches[0].id] = fen
    if not shares:
        names = "、".join(u.name for u in units[:12])
        return [Reply(ASK_FIXED.format(example=units[0].name, units=names))]
    await ctx.dialog.set_state(confirm_step, shares=[[u, f] for u, f in shares.items()])
    return [await _preview(ctx)]


async def _preview(ctx: Context) -> Reply:
    data = ctx.dialog.get_data()
    shares = {int(u): int(f) for u, f in data["shares"]}
    names = dict(
        (await ctx.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(shares)))).all()
    )
    goal = sum(shares.values())
    if data["rule"] == ShareRule.EQUAL:
        rule = f"平均分摊，每家约 {show_amount(goal // len(shares))}"
    else:
        rule = "按单位定额"
    lines = "\n".join(
        f"· {names.get(u, '')} {show_amount(f)}" for u, f in list(shares.items())[:20]
    )
    if len(shares) > 20:
        lines += f"\n……共 {len(shares)} 家"
    text = PREVIEW.format(
        title=_title(int(data["year"])), goal=show_amount(goal), rule=rule, lines=lines
    )
    return Reply(text, (Button("确认", "newcampaign.confirm", yes=True), Button("取消", "cancel")))


@FLOW.step("confirm")
async def confirm_step(ctx: Context, text: str = "", yes: bool = False) -> list[Reply]:
    if not yes:
        return [
            Reply(
                PICK_CONFIRM,
                (Button("确认", "newcampaign.confirm", yes=True), Button("取消", "cancel")),
            )
        ]
    data = ctx.dialog.get_data()
    fund = await ctx.session.get(Fund, _fund_id(ctx))
    assert fund is not None
    year = int(data["year"])
    try:
        campaign = await open_campaign(
            session=ctx.session,
            fund=fund,
            member=ctx.me,
            year=year,
            title=_title(year),
            rule=ShareRule(data["rule"]),
            shares={int(u): int(f) for u, f in data["shares"]},
            now=ctx.now,
        )
    except FundError as error:
        await ctx.dialog.clear()
        return [Reply(ERRORS[error.reason].format(year=year))]
    await ctx.dialog.clear()
    alliance = await ctx.session.get(Alliance, fund.alliance_id)
    told = 0
    for share in campaign.shares:
        stmt = (
            select(Member.id)
            .join(MemberRole)
            .where(
                Member.home_unit_id == share.unit_id,
                MemberRole.role.in_([Role.LIAISON, Role.SECRETARY]),
            )
            .distinct()
        )
        for member_id in await ctx.session.scalars(stmt):
            if member_id == ctx.me.id:
                continue
            text = TOLD.format(
                alliance=alliance.name if alliance else "",
                title=campaign.title,
                share=show_amount(share.fen),
            )
            await ctx.notify(
                member_id, Reply(text, (Button("认缴", "campaign.pledge", campaign=campaign.id),))
            )
            told += 1
    return [
        Reply(
            OPENED.format(
                title=campaign.title,
                goal=show_amount(campaign.goal),
                count=len(campaign.shares),
                told=told,
            )
        )
    ]

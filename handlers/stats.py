"""/stats: the alliance matrix, then activities, mobile members, tickets, notices, resources,
and a chart. An alliance admin sees their alliances, the super admin the county."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Reply
from handlers import results_lines
from handlers.charts import stats_chart
from handlers.context import Context
from handlers.files import outgoing, stamp
from handlers.meeting_stats import quarter_lines
from handlers.partnership_figures import lines as partnership_lines
from models.org import ALLIANCE_TYPE_ZH
from models.scope import Scope
from models.stats import (
    MatrixRow,
    activity_figures,
    alliance_matrix,
    mobile_figures,
    notice_figures,
    overdue_tickets,
    resource_figures,
)
from models.ticket_figures import ticket_figures

TITLE_COUNTY = "📊 党建红盟矩阵（全县）"
TITLE_ALLIANCE = "📊 本联盟数据"
ACTIVITIES = "活动：已举办 {held} 场，应到 {expected} 人次，实到 {present} 人次，参与率 {rate}"
MOBILE = "流动党员：{members} 名，{active} 名参加过活动，共签到 {checkins} 次"
TICKETS = (
    "吹哨工单：共 {total} 件，办结率 {resolved}，办结用时中位数 {hours}，满意度 {happy}，"
    "超期 {overdue} 件"
)
NOTICES = (
    "通知：{notices} 条，应收 {recipients} 人次，送达 {delivered} 人次"
    "（未绑定或发送失败 {unreached} 人次），已确认 {acked} 人次，确认率 {rate}"
)
RESOURCE = "资源·{label}：{items} 条，已对接 {matches} 次"
VOLUNTEER = "志愿服务（今年）：{hours}，{people} 人，{services} 场；待审核补录 {waiting} 条"
PLEDGES = (
    "承诺（今年）：公示 {public} 项，已兑现 {met} 项，待审核 {pending} 项，退回修改 {returned} 项"
)
CHART = "📈 数据图（{scope}）"
CHART_TITLE = "红盟数据（{scope}）"


async def show(ctx: Context) -> list[Reply]:
    """The alliance matrix, then activities, mobile members, tickets, notices; a chart."""
    scope = ctx.me.admin_scope()
    rows = await alliance_matrix(ctx.session, scope)
    lines = [TITLE_COUNTY if scope.county else TITLE_ALLIANCE]
    lines += [_line(row) for row in rows if row.alliances or row.label is None]
    acts = await activity_figures(ctx.session, scope, until=ctx.now)
    lines.append(
        ACTIVITIES.format(
            held=acts.held, expected=acts.expected, present=acts.present, rate=pct(acts.rate)
        )
    )
    mobile = await mobile_figures(ctx.session, scope, until=ctx.now)
    lines.append(
        MOBILE.format(members=mobile.members, active=mobile.active, checkins=mobile.checkins)
    )
    t = await ticket_figures(ctx.session, scope)
    late = {ticket.id for ticket, _ in await overdue_tickets(ctx.session, scope, ctx.now)}
    lines.append(
        TICKETS.format(
            total=t.total,
            resolved=pct(t.resolution_rate),
            hours=hours(t.median_resolve_hours),
            happy=pct(t.satisfaction),
            overdue=len(late),
        )
    )
    n = await notice_figures(ctx.session, scope, until=ctx.now)
    lines.append(
        NOTICES.format(
            notices=n.notices,
            recipients=n.recipients,
            delivered=n.delivered,
            unreached=n.unreached,
            acked=n.acknowledged,
            rate=pct(n.rate),
        )
    )
    for r in await resource_figures(ctx.session, scope, ctx.now):
        lines.append(RESOURCE.format(label=r.label, items=r.items, matches=r.matches))
    lines += await volunteer_lines(ctx.session, scope, ctx.now)
    lines += await results_lines.stats_lines(ctx.session, scope, ctx.now)
    lines += await partnership_lines(ctx.session, scope, ctx.now)
    lines += await quarter_lines(ctx.session, scope, ctx.now)
    where = scope_label(scope)
    path = stats_chart(
        outgoing("数据图", where, stamp(ctx.now), suffix=".png"),
        CHART_TITLE.format(scope=where),
        {"活动": acts.held, "工单": t.total, "通知": n.notices, "流动党员签到": mobile.checkins},
        {
            "活动参与率": acts.rate,
            "通知确认率": n.rate,
            "工单办结率": t.resolution_rate,
            "工单满意度": t.satisfaction,
        },
    )
    return [Reply("\n".join(lines)), Reply(CHART.format(scope=where), image=path)]


async def volunteer_lines(session: AsyncSession, scope: Scope, now: datetime) -> list[str]:
    """志愿服务 and 承诺 this year: hours, people, services, 补录 waiting; pledges by state."""
    from bot.core.clock import to_local
    from handlers.volunteer import hours_text
    from models.pledge import PledgeState, state_counts
    from models.volunteer import pending, year_figures

    year = to_local(now).year
    v = await year_figures(session, scope=scope, year=year)
    waiting = len(await pending(session, scope))
    p = await state_counts(session, scope, year)
    public = p[PledgeState.APPROVED] + p[PledgeState.MET] + p[PledgeState.UNMET]
    return [
        VOLUNTEER.format(
            hours=hours_text(v.minutes), people=v.people, services=v.services, waiting=waiting
        ),
        PLEDGES.format(
            public=public,
            met=p[PledgeState.MET],
            pending=p[PledgeState.PENDING],
            returned=p[PledgeState.RETURNED],
        ),
    ]


def _line(row: MatrixRow) -> str:
    label = ALLIANCE_TYPE_ZH[row.label] if row.label else "合计"
    return (
        f"{label}：联盟 {row.alliances} 个，成员党组织 {row.party_orgs} 个，"
        f"党员 {row.party_members} 名，辐射单位 {row.units} 家"
    )


def scope_label(scope: Scope) -> str:
    return "全县" if scope.county else "本联盟"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} 小时"

"""/ranking: 品牌排行 by the 达标创星 monthly score (formula in models/stars.py and README)."""

from __future__ import annotations

from bot.core import Reply, Role
from bot.core.clock import to_local
from handlers.context import Context
from models.scope import Scope
from models.stars import WEIGHTS, UnitScore, monthly_scores, ranked_month

TITLE = "🏅 品牌排行 · {year} 年 {month} 月（{scope}）"
LAST_MONTH = "本月还没有已举办的活动，先显示上月的排行。"
NO_UNITS = "您所在的单位还没有加入联盟，暂无排行。"
LINE = "{rank}. {name} {stars} {total:.0f} 分"
PARTS = (
    "   轮办 {h:.0f} · 参与 {p:.0f} · 工单 {t:.0f} · 通知 {n:.0f} · 资源 {r:.0f} · 决议 {d:.0f}"
    " · 服务 {s:.0f}"
)
MINE = "本单位：第 {rank} 名"
RULE = (
    "评分：轮值办活动 {hosting} + 党员参与 {participation} + 吹哨按时办结 {tickets}"
    " + 通知确认 {notices} + 资源共享 {resources} + 决议按时落实 {decisions}"
    " + 志愿服务 {service}；≥85 分五星，≥70 四星，≥55 三星，≥40 二星。"
).format(**WEIGHTS)
TOP = 10


async def show(ctx: Context) -> list[Reply]:
    """Units ranked by this month's score (the last month's until one activity of this month
    has been held): county-wide for admins, else the member's alliances."""
    if ctx.me.has_role(Role.ALLIANCE_ADMIN):
        scope, where = Scope.COUNTY, "全县"
    else:
        scope, where = Scope.of(ctx.me.home_alliances()), "本联盟"
        if scope.empty:
            return [Reply(NO_UNITS)]
    month, fallback = await ranked_month(ctx.session, scope, ctx.now)
    scores = await monthly_scores(ctx.session, scope, ctx.now, month=month)
    local = to_local(month)
    lines = [TITLE.format(year=local.year, month=local.month, scope=where)]
    lines += [LAST_MONTH] if fallback else []
    for rank, score in enumerate(scores[:TOP], start=1):
        lines += _lines(rank, score)
    ranks = {s.unit_id: rank for rank, s in enumerate(scores, start=1)}
    mine = ranks.get(ctx.me.home_unit_id or 0)
    if mine is not None:
        if mine > TOP:
            lines += _lines(mine, scores[mine - 1])
        lines.append(MINE.format(rank=mine))
    lines.append(RULE)
    return [Reply("\n".join(lines))]


def _lines(rank: int, s: UnitScore) -> list[str]:
    stars = "★" * s.stars + "☆" * (5 - s.stars)
    return [
        LINE.format(rank=rank, name=s.name, stars=stars, total=s.total),
        PARTS.format(
            h=s.hosting,
            p=s.participation,
            t=s.tickets,
            n=s.notices,
            r=s.resources,
            d=s.decisions,
            s=s.service,
        ),
    ]

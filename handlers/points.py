"""党员积分: /mypoints (the lines that make up this year's points) and /pointsrank (rankings
within one's unit and one's alliance)."""

from __future__ import annotations

from sqlalchemy import select

from bot.core import Reply
from bot.core.clock import to_local
from handlers.context import Context
from models.member import Member
from models.points import BASE, points_of, ranking, served_in
from models.scope import Scope

MINE_HEAD = "我的党员积分（{year}年）：{total} 分\n基础分 {base}"
LINE = "{sign} {label}：{count} {unit} × {per} 分 = {points} 分{cap}"
CAP = "（已达年度上限 {cap} 分）"
SERVED = "本年参加活动的联盟：{where}"
MOBILE = "（流动党员：积分记入组织关系所在单位）"
RULES_NOTE = "每条按记录计一次，年度封顶，次年重新计算。"
RANK_HEAD = "党员积分排行（{year}年）"
RANK_UNIT = "本单位（{unit}）："
RANK_ALLIANCE = "本联盟（{alliance}）前 10 名："
RANK_LINE = "{i}. {name} {total} 分{me}"
ME = " ← 我"
NO_UNIT = "您还没有所在单位，暂无排行。"


async def mine(ctx: Context) -> list[Reply]:
    """This year's points: base, each rule's line (count × per, capped), where one served."""
    year = to_local(ctx.now).year
    points = await points_of(ctx.session, ctx.me.id, year)
    lines = [MINE_HEAD.format(year=year, total=points.total, base=BASE)]
    for line in points.lines:
        if not line.count:
            continue
        lines.append(
            LINE.format(
                sign="＋" if line.rule.per > 0 else "－",
                label=line.rule.label,
                count=line.count,
                unit=line.rule.unit,
                per=abs(line.rule.per),
                points=abs(line.points),
                cap=CAP.format(cap=line.rule.cap) if line.capped else "",
            )
        )
    where = await served_in(ctx.session, ctx.me.id, year)
    if where:
        lines.append(SERVED.format(where="、".join(where)))
    if ctx.me.is_mobile:
        lines.append(MOBILE)
    lines.append(RULES_NOTE)
    return [Reply("\n".join(lines))]


async def rank(ctx: Context) -> list[Reply]:
    """Rankings within the home unit (everyone) and the home alliance (top 10)."""
    me = ctx.me
    if me.home_unit_id is None or me.home_unit is None:
        return [Reply(NO_UNIT)]
    year = to_local(ctx.now).year
    active = Member.active.is_(True) & Member.is_party_member.is_(True)
    unit_people = list(
        (
            await ctx.session.execute(
                select(Member).where(Member.home_unit_id == me.home_unit_id, active)
            )
        ).scalars()
    )
    names = {m.id: m.name for m in unit_people}
    lines = [RANK_HEAD.format(year=year), RANK_UNIT.format(unit=me.home_unit.name)]
    for i, p in enumerate(await ranking(ctx.session, unit_people, year), 1):
        lines.append(RANK_LINE.format(i=i, name=names[p.member_id], total=p.total, me=_me(p, me)))
    alliances = sorted(me.home_alliances())
    if alliances:
        stmt = select(Member).where(
            Scope.of(alliances[:1]).units_where(Member.home_unit_id), active
        )
        people = list((await ctx.session.execute(stmt)).scalars())
        names.update({m.id: m.name for m in people})
        alliance = next(
            m.alliance for m in me.home_unit.memberships if m.alliance_id == alliances[0]
        )
        lines.append(RANK_ALLIANCE.format(alliance=alliance.name))
        for i, p in enumerate((await ranking(ctx.session, people, year))[:10], 1):
            lines.append(
                RANK_LINE.format(i=i, name=names[p.member_id], total=p.total, me=_me(p, me))
            )
    return [Reply("\n".join(lines))]


def _me(points: object, me: Member) -> str:
    return ME if getattr(points, "member_id", None) == me.id else ""

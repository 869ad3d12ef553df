"""/activities (upcoming activities) and the publish dialog; the reminder sweep."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Flow, Location, Reply
from bot.core.clock import fmt_local, local_datetime, parse_local, to_local
from handlers.context import Context
from models.activity import (
    DEFAULT_RADIUS_M,
    Activity,
    create_activity,
    expected_members,
    upcoming_activities,
)
from models.checkin import distance_m
from models.org import Alliance
from models.outbox import enqueue
from models.rotation import alliance_admins, current_turn, get_plan, hosted_scope
from models.scope import Scope
from settings import Settings

LIST_TITLE = "📅 近期活动："
LIST_EMPTY = "近期没有活动安排。"
OPEN_TITLE = "🚩 各联盟开放活动（流动党员可参加）："
NEAR_BUTTON = "📍 按距离排序"
ASK_LOCATION = "请分享您的位置，我按距离从近到远列出开放活动。"
ASK_ALLIANCE = "为哪个联盟发布活动？"
NOT_HOST = "只有本期轮值单位的书记或联盟管理员可以发布活动。发送“轮值”查看本期轮值单位。"
ASK_TITLE = "请输入活动名称（例如：12月主题党日）："
ASK_START = "开始时间？（例如：12-05 09:30）"
ASK_END = "结束时间？（例如：11:30 或 12-05 11:30）"
ASK_PLACE = "活动地点？（例如：县党群服务中心三楼）"
ASK_GEO = "请分享活动地点的位置，用于位置签到；不需要请发送“跳过”。"
ASK_RADIUS = f"签到范围多少米？发送数字，或发送“默认”（{DEFAULT_RADIUS_M} 米）。"
BAD_TITLE = "活动名称请写 2 到 50 个字。"
BAD_TIME = "没看懂这个时间，请按“12-05 09:30”的格式输入。"
PAST_TIME = "开始时间已经过去了，请输入一个将来的时间。"
BAD_END = "结束时间要晚于开始时间（{start}），请重新输入。"
BAD_PLACE = "请写上活动地点（50 字以内）。"
BAD_GEO = "请分享位置，或发送“跳过”。"
BAD_RADIUS = "请发送 50 到 5000 之间的数字，或发送“默认”。"
PUBLISHED = "✅ 活动已发布：{line}\n活动前 24 小时和 1 小时会提醒联盟党员。"
PUBLISHED_NOTE = "{who} 发布了活动：{line}"
REMIND = {
    "24h": "⏰ 活动提醒：{line}\n到场后发送“签到 签到码”或分享位置签到。",
    "1h": "⏰ 活动 1 小时内开始：{line}\n到场后发送“签到 签到码”或分享位置签到。",
}
SKIP_WORDS = {"跳过", "不需要", "无", "没有"}
DEFAULT_WORDS = {"默认", "好", "确定"}
NEAR = Flow("activities")
PUBLISH = Flow("publish")


def line_of(activity: Activity, distance: float | None = None) -> str:
    start = fmt_local(activity.starts_at)
    end = fmt_local(activity.ends_at, "%H:%M")
    far = ""
    if distance is not None:
        far = (
            f"（约 {distance / 1000:.1f} 公里）"
            if distance >= 1000
            else f"（约 {distance:.0f} 米）"
        )
    place = f" · {activity.place}" if activity.place else ""
    return f"《{activity.title}》{start}-{end}{place}{far}"


async def show(ctx: Context) -> list[Reply]:
    """Upcoming activities of the sender's alliances; mobile members also every open one."""
    return await _listing(ctx, None)


async def near(ctx: Context) -> list[Reply]:
    """Button: ask for a location to sort open activities by distance."""
    await ctx.dialog.set_state(receive_location)
    return [Reply(ASK_LOCATION)]


@NEAR.step("location")
async def receive_location(ctx: Context, location: Location | None = None) -> list[Reply]:
    """Dialog step: the location to sort by."""
    await ctx.dialog.clear()
    return await _listing(ctx, location)


async def _listing(ctx: Context, location: Location | None) -> list[Reply]:
    me = ctx.me
    own = me.visible_scope()
    mine = await upcoming_activities(ctx.session, now=ctx.now, scope=own, limit=8)
    lines = [LIST_TITLE, *(f"· {line_of(a)}（{a.alliance.name}）" for a in mine)] if mine else []
    buttons: tuple[Button, ...] = ()
    if me.is_mobile:
        others = [
            a
            for a in await upcoming_activities(
                ctx.session, now=ctx.now, scope=Scope.COUNTY, limit=50
            )
            if not own.covers(a.alliance_id) and a.starts_at < ctx.now + timedelta(days=14)
        ]
        far = {a.id: _distance(a, location) for a in others}
        others.sort(key=lambda a: (far[a.id] is None, far[a.id] or 0.0, a.starts_at))
        if others:
            lines += [OPEN_TITLE]
            lines += [f"· {line_of(a, far[a.id])}（{a.alliance.name}）" for a in others[:8]]
            buttons = (Button(NEAR_BUTTON, "activities.near"),)
    return [Reply("\n".join(lines) if lines else LIST_EMPTY, buttons=buttons)]


def _distance(activity: Activity, location: Location | None) -> float | None:
    if location is None or activity.latitude is None or activity.longitude is None:
        return None
    return distance_m(location.latitude, location.longitude, activity.latitude, activity.longitude)


async def _publishable(ctx: Context) -> list[Alliance]:
    scope = ctx.me.admin_scope() | await hosted_scope(ctx.session, ctx.me, ctx.now)
    stmt = select(Alliance).where(scope.where(Alliance.id)).order_by(Alliance.id)
    return list((await ctx.session.execute(stmt)).scalars())


async def start(ctx: Context) -> list[Reply]:
    """Start the publish dialog for the alliance(s) the sender may publish for."""
    alliances = await _publishable(ctx)
    if not alliances:
        return [Reply(NOT_HOST)]
    if len(alliances) == 1:
        await ctx.dialog.set_state(got_title, alliance_id=alliances[0].id)
        return [Reply(ASK_TITLE)]
    await ctx.dialog.set_state(got_alliance)
    buttons = tuple(Button(a.name, "publish.alliance", alliance=a.id) for a in alliances)
    return [Reply(ASK_ALLIANCE, buttons=buttons)]


@PUBLISH.step("alliance")
async def got_alliance(ctx: Context, alliance: int = 0) -> list[Reply]:
    """Step: which alliance (a button)."""
    chosen = next((a for a in await _publishable(ctx) if a.id == alliance), None)
    if chosen is None:
        return [Reply(ASK_ALLIANCE)]
    await ctx.dialog.set_state(got_title, alliance_id=chosen.id)
    return [Reply(ASK_TITLE)]


@PUBLISH.step("title", free_text=True)
async def got_title(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the title."""
    if not 2 <= len(text) <= 50:
        return [Reply(BAD_TITLE)]
    await ctx.dialog.set_state(got_start, title=text)
    return [Reply(ASK_START)]


@PUBLISH.step("start")
async def got_start(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the start time."""
    moment = parse_local(text, ctx.now)
    if moment is None:
        return [Reply(BAD_TIME)]
    if moment <= ctx.now:
        return [Reply(PAST_TIME)]
    await ctx.dialog.set_state(got_end, starts_at=moment.isoformat())
    return [Reply(ASK_END)]


@PUBLISH.step("end")
async def got_end(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the end time, a full time or just hours on the start day."""
    starts_at = datetime.fromisoformat(ctx.dialog.get_data()["starts_at"])
    moment = parse_local(text, ctx.now)
    clock = text.strip().replace("：", ":").split(":")
    if moment is None and len(clock) == 2 and all(p.isdigit() for p in clock):
        day = to_local(starts_at)
        try:
            moment = local_datetime(day.year, day.month, day.day, int(clock[0]), int(clock[1]))
        except ValueError:
            moment = None
    if moment is None:
        return [Reply(BAD_TIME)]
    if moment <= starts_at:
        return [Reply(BAD_END.format(start=fmt_local(starts_at)))]
    await ctx.dialog.set_state(got_place, ends_at=moment.isoformat())
    return [Reply(ASK_PLACE)]


@PUBLISH.step("place", free_text=True)
async def got_place(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the place."""
    if not 1 <= len(text) <= 50:
        return [Reply(BAD_PLACE)]
    await ctx.dialog.set_state(got_geo, place=text)
    return [Reply(ASK_GEO)]


@PUBLISH.step("geo")
async def got_geo(ctx: Context, text: str = "", location: Location | None = None) -> list[Reply]:
    """Step: the location for location check-in, or 跳过."""
    if location is not None:
        await ctx.dialog.set_state(
            got_radius, latitude=location.latitude, longitude=location.longitude
        )
        return [Reply(ASK_RADIUS)]
    if text in SKIP_WORDS:
        return await _publish(ctx, None)
    return [Reply(BAD_GEO)]


@PUBLISH.step("radius")
async def got_radius(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the check-in radius in metres."""
    if text in DEFAULT_WORDS:
        return await _publish(ctx, DEFAULT_RADIUS_M)
    digits = text.removesuffix("米").strip()
    if not digits.isdigit() or not 50 <= int(digits) <= 5000:
        return [Reply(BAD_RADIUS)]
    return await _publish(ctx, int(digits))


async def _publish(ctx: Context, radius: int | None) -> list[Reply]:
    data = ctx.dialog.get_data()
    alliance_id = int(data["alliance_id"])
    starts_at = datetime.fromisoformat(data["starts_at"])
    host_unit_id = ctx.me.home_unit_id
    if not (await hosted_scope(ctx.session, ctx.me, ctx.now)).covers(alliance_id):
        plan = await get_plan(ctx.session, alliance_id)
        host_unit_id = (await current_turn(ctx.session, plan, starts_at)).unit_id if plan else None
    activity = await create_activity(
        session=ctx.session,
        alliance_id=alliance_id,
        host_unit_id=host_unit_id,
        created_by=ctx.me,
        title=data["title"],
        place=data["place"],
        starts_at=starts_at,
        ends_at=datetime.fromisoformat(data["ends_at"]),
        latitude=data.get("latitude") if radius else None,
        longitude=data.get("longitude") if radius else None,
        radius_m=radius or DEFAULT_RADIUS_M,
    )
    await ctx.dialog.clear()
    line = line_of(activity)
    for admin in await alliance_admins(ctx.session, alliance_id):
        if admin.id != ctx.me.id:
            await ctx.notify(admin.id, Reply(PUBLISHED_NOTE.format(who=ctx.me.name, line=line)))
    ctx.audit("activity_publish", activity_id=activity.id)
    return [Reply(PUBLISHED.format(line=line))]


async def remind(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Sweep: 24 h and 1 h reminders to the alliance's members, each sent once (dedupe key)."""
    stmt = (
        select(Activity)
        .where(Activity.starts_at > now, Activity.starts_at <= now + timedelta(hours=24))
        .order_by(Activity.starts_at)
    )
    for activity in (await session.execute(stmt)).scalars():
        kind = "1h" if activity.starts_at - now <= timedelta(hours=1) else "24h"
        text = REMIND[kind].format(line=line_of(activity))
        for member in await expected_members(session, activity.alliance_id):
            await enqueue(
                session=session,
                member_id=member.id,
                reply=Reply(text),
                now=now,
                kind="reminder",
                ref_id=activity.id,
                dedupe_key=f"remind:{activity.id}:{member.id}:{kind}",
            )

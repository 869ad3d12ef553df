"""/activities (upcoming activities) and the publish dialog; the reminder sweep."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Flow, Location, Reply, Step
from bot.core.money import AmountError, parse_count
from bot.core.times import parse_end, parse_span, parse_when, show_span, show_when
from handlers import checkin, paging
from handlers.context import Context
from models.activity import (
    CHANGE_KIND,
    DEFAULT_RADIUS_M,
    REMINDER_KIND,
    Activity,
    ActivityError,
    Told,
    check_may_change,
    count_upcoming,
    create_activity,
    edit_activity,
    get_activity,
    live,
    reminder_key,
    upcoming_activities,
    who_is_told,
)
from models.checkin import distance_m
from models.meeting import invitee_ids, to_remind
from models.org import Alliance
from models.outbox import enqueue
from models.rotation import alliance_admins, current_turn, get_plan, hosted_scope
from models.scope import Scope
from settings import Settings

LIST_TITLE = "📅 近期活动："
LIST_EMPTY = "近期没有活动安排。"
OPEN_TITLE = "🚩 各联盟开放活动（流动党员可参加）："
NEAR_BUTTON = "📍 按距离排序"
MANAGE_BUTTON = "修改或取消活动"
ASK_LOCATION = "请分享您的位置，我按距离从近到远列出开放活动。"
ASK_ALLIANCE = "为哪个联盟发布活动？"
NOT_HOST = "只有本期轮值单位的书记或联盟管理员可以发布活动。发送“轮值”查看本期轮值单位。"
ASK_TITLE = "请输入活动名称（例如：12月主题党日）："
ASK_START = "什么时候开始？（例如：明天上午9点、12月10日下午2点半、下周三 14:00）"
ASK_END = "开始时间：{start}。几点结束？（例如：11:30、下午5点）"
ASK_PLACE = "活动地点？（例如：县党群服务中心三楼）"
ASK_GEO = "请分享活动地点的位置，用于位置签到；不需要请发送“跳过”。"
ASK_RADIUS = f"签到范围多少米？发送数字，或发送“默认”（{DEFAULT_RADIUS_M} 米）。"
BAD_TITLE = "活动名称请写 2 到 50 个字。"
BAD_TIME = "没看懂这个时间，可以这样写：明天上午9点、12月10日下午2点半、12-05 09:30。"
PAST_TIME = "{time} 已经过去了，请输入一个将来的时间。"
NEED_CLOCK = "{day}几点？请写上时间，例如：上午9点。"
BAD_END = "结束时间要晚于开始时间（{start}），请重新输入。"
PREVIEW = (
    "请确认要发布的活动：\n《{title}》（{alliance}）\n时间：{time}\n地点：{place}\n{checkin}\n"
    "发布后，联盟党员会在活动前 24 小时和 1 小时收到提醒。"
)
ASK_CORRECTION = "要修改哪一项？"
CORRECTABLE = {"title": "名称", "start": "时间", "place": "地点", "geo": "签到位置"}
FIELD_WORDS = {
    "title": ("名称", "标题", "名字", "活动名称"),
    "start": ("时间", "开始时间", "日期"),
    "place": ("地点", "地方", "活动地点"),
    "geo": ("签到位置", "位置", "定位"),
}
CHANGE_RE = re.compile(
    r"(?:把)?(名称|标题|名字|时间|日期|地点|地方|位置)(?:改成|改为|换成|改到)(.+)"
)
USE_CONFIRM_BUTTONS = "请点“确认发布”，或点“修改”改正某一项。"
BAD_PLACE = "请写上活动地点（50 字以内）。"
BAD_GEO = "请分享位置，或发送“跳过”。"
BAD_RADIUS = "请发送 50 到 5000 之间的数字，或发送“默认”。"
PUBLISHED = "✅ 活动已发布：{line}\n活动前 24 小时和 1 小时会提醒联盟党员。"
PUBLISHED_NOTE = "{who} 发布了活动：{line}"
EDIT_PREVIEW = (
    "请确认修改后的活动：\n《{title}》（{alliance}）\n时间：{time}\n地点：{place}\n{checkin}\n"
    "{changes}\n{told}"
)
CHANGES = "改动：{changes}"
NO_CHANGES = "还没有改动。要修改哪一项？"
TOLD = "确认后将告知：{who}。"
TOLD_NOBODY = "目前还没有党员收到提醒，之后的提醒会按新的内容发送。"
TOLD_NOBODY_CANCEL = "目前还没有党员收到提醒，取消后也不会再提醒。"
TOLD_WHO = {
    "reminded": "已收到提醒的 {n} 人",
    "invited": "已收到会议邀请或提醒的 {n} 人",
    "checked": "已签到的 {n} 人",
    "admins": "联盟管理员",
}
CHANGE = {
    "title": "名称改为《{title}》",
    "time": "时间改为 {time}",
    "place": "地点改为 {place}",
    "geo": "签到方式改为{checkin}",
}
CHANGED_NOTE = "📢 活动有变更：{line}\n{changes}"
SAVED = "✅ 已修改活动：{line}\n{told}"
SAVED_TOLD = "已告知 {n} 人。"
SAVED_NOBODY = "还没有党员收到提醒，之后的提醒会按新的内容发送。"
ACTIVITY_ERRORS = {
    "not_manager": "只有主办单位的书记或联盟管理员可以修改或取消这个活动。",
    "ended": "这个活动已经结束，不能再修改或取消。",
    "cancelled": "这个活动已经取消了。",
    "past": "新的开始时间已经过去了，请重新选择要修改的项。",
    "bad_end": "结束时间要晚于开始时间，请重新修改时间。",
    "missing": "没有找到这个活动。",
}
REMIND = {
    "24h": "⏰ 活动提醒：{line}\n到场后发送“签到 签到码”或分享位置签到。",
    "1h": "⏰ 活动 1 小时内开始：{line}\n到场后发送“签到 签到码”或分享位置签到。",
}
SKIP_WORDS = {"跳过", "不需要", "无", "没有"}
DEFAULT_WORDS = {"默认", "好", "确定"}
NEAR = Flow("activities")
PUBLISH = Flow("publish")


def line_of(activity: Activity, distance: float | None = None, *, now: datetime) -> str:
    """《title》12月05日（周六） 09:30-11:30 · place, with the distance when given."""
    when = show_span(activity.starts_at, activity.ends_at, now)
    far = ""
    if distance is not None:
        far = (
            f"（约 {distance / 1000:.1f} 公里）"
            if distance >= 1000
            else f"（约 {distance:.0f} 米）"
        )
    place = f" · {activity.place}" if activity.place else ""
    return f"《{activity.title}》{when}{place}{far}"


async def show(ctx: Context) -> list[Reply]:
    """Upcoming activities of the sender's alliances; mobile members also every open one."""
    return await _listing(ctx, None)


async def page(ctx: Context, offset: int = 0) -> list[Reply]:
    """Button 上一页 / 下一页 of the activities list."""
    return await _listing(ctx, None, offset)


async def near(ctx: Context) -> list[Reply]:
    """Button: ask for a location to sort open activities by distance."""
    await ctx.dialog.set_state(receive_location)
    return [Reply(ASK_LOCATION)]


@NEAR.step("location")
async def receive_location(ctx: Context, location: Location | None = None) -> list[Reply]:
    """Dialog step: the location to sort by; at an open activity, its check-in first."""
    await ctx.dialog.clear()
    here = await checkin.at_location(ctx, location) if location is not None else []
    return here + await _listing(ctx, location)


async def _listing(ctx: Context, location: Location | None, offset: int = 0) -> list[Reply]:
    me = ctx.me
    own = me.visible_scope()
    total = await count_upcoming(ctx.session, now=ctx.now, scope=own)
    if total and offset >= total:
        offset = (total - 1) // paging.SIZE * paging.SIZE
    mine = await upcoming_activities(
        ctx.session, now=ctx.now, scope=own, limit=paging.SIZE, offset=offset
    )
    lines = (
        [
            LIST_TITLE + paging.where(offset, len(mine), total),
            *(f"· {line_of(a, now=ctx.now)}（{a.alliance.name}）" for a in mine),
        ]
        if mine
        else []
    )
    buttons: list[Button] = list(paging.buttons("activities.page", offset, total))
    if any(me.may_manage(a) for a in mine):
        buttons.append(Button(MANAGE_BUTTON, "activity"))
    if me.is_mobile and offset == 0:
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
            lines += [
                f"· {line_of(a, far[a.id], now=ctx.now)}（{a.alliance.name}）" for a in others[:8]
            ]
            buttons.append(Button(NEAR_BUTTON, "activities.near"))
    return [Reply("\n".join(lines) if lines else LIST_EMPTY, buttons=tuple(buttons))]


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
    return await _next(ctx, got_start, ASK_START, title=text)


@PUBLISH.step("start")
async def got_start(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the start time, as people type it (明天上午9点, 12月10日下午2点半, 下周三 14:00);
    a start and an end together (下周三下午两点到四点) are both taken."""
    span = parse_span(text, ctx.now)
    if span is not None and ctx.now < span[0].moment < span[1].moment:
        await ctx.dialog.set_state(got_end, starts_at=span[0].moment.isoformat())
        return await _next(ctx, got_place, ASK_PLACE, ends_at=span[1].moment.isoformat())
    when = parse_when(text, ctx.now)
    if when is None:
        return [Reply(BAD_TIME)]
    if not when.has_time:
        return [Reply(NEED_CLOCK.format(day=show_when(when.moment, ctx.now, clock=False)))]
    if when.moment <= ctx.now:
        return [Reply(PAST_TIME.format(time=show_when(when.moment, ctx.now)))]
    await ctx.dialog.set_state(got_end, starts_at=when.moment.isoformat())
    return [Reply(ASK_END.format(start=show_when(when.moment, ctx.now)))]


@PUBLISH.step("end")
async def got_end(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the end time: just a clock time on the start's day, or a day and a time."""
    starts_at = datetime.fromisoformat(ctx.dialog.get_data()["starts_at"])
    when = parse_end(text, starts_at, ctx.now)
    if when is None:
        return [Reply(BAD_TIME)]
    if when.moment <= starts_at:
        return [Reply(BAD_END.format(start=show_when(starts_at, ctx.now)))]
    return await _next(ctx, got_place, ASK_PLACE, ends_at=when.moment.isoformat())


@PUBLISH.step("place", free_text=True)
async def got_place(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the place."""
    if not 1 <= len(text) <= 50:
        return [Reply(BAD_PLACE)]
    return await _next(ctx, got_geo, ASK_GEO, place=text)


@PUBLISH.step("geo")
async def got_geo(ctx: Context, text: str = "", location: Location | None = None) -> list[Reply]:
    """Step: the location for location check-in, or 跳过."""
    if location is not None:
        await ctx.dialog.set_state(
            got_radius, latitude=location.latitude, longitude=location.longitude
        )
        return [Reply(ASK_RADIUS)]
    if text in SKIP_WORDS:
        await ctx.dialog.update_data(latitude=None, longitude=None, radius=None)
        return await _preview(ctx)
    return [Reply(BAD_GEO)]


@PUBLISH.step("radius")
async def got_radius(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the check-in radius in metres."""
    radius = DEFAULT_RADIUS_M if text in DEFAULT_WORDS else None
    if radius is None:
        try:
            metres, _ = parse_count(text.removesuffix("米").removesuffix("公尺").strip())
        except AmountError:
            metres = 0
        radius = metres if 50 <= metres <= 5000 else None
    if radius is None:
        return [Reply(BAD_RADIUS)]
    await ctx.dialog.update_data(radius=radius)
    return await _preview(ctx)


async def _next(ctx: Context, step: Step, prompt: str, **value: object) -> list[Reply]:
    """Store a field and ask the next one; while correcting one, go back to the preview."""
    if ctx.dialog.get_data().get("correcting"):
        await ctx.dialog.update_data(**value, correcting=False)
        return await _preview(ctx)
    await ctx.dialog.set_state(step, **value)
    return [Reply(prompt)]


def _checkin_text(radius: object) -> str:
    return f"位置签到：活动地点 {radius} 米内" if radius else "仅签到码签到"


def _time_text(starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    return show_span(starts_at, ends_at, now)


async def _preview(ctx: Context) -> list[Reply]:
    """What will be published (or saved), to confirm or correct (修改) first."""
    data = ctx.dialog.get_data()
    starts_at = datetime.fromisoformat(data["starts_at"])
    ends_at = datetime.fromisoformat(data["ends_at"])
    alliance = await ctx.session.get(Alliance, int(data["alliance_id"]))
    values = {
        "title": data["title"],
        "time": _time_text(starts_at, ends_at, ctx.now),
        "place": data["place"],
        "checkin": _checkin_text(data.get("radius")),
        "alliance": alliance.name if alliance else "",
    }
    if data.get("editing"):
        return await _edit_preview(ctx, values)
    await ctx.dialog.set_state(confirm_publish)
    buttons = (
        Button("确认发布", "publish.confirm", do="publish"),
        Button("修改", "publish.confirm", do="change"),
        Button("取消", "cancel"),
    )
    return [Reply(PREVIEW.format(**values), buttons)]


def _changes(data: dict[str, object], values: dict[str, str]) -> list[str]:
    """What an edit changes, in words, against the activity as it was (data['before'])."""
    before = data["before"]
    assert isinstance(before, dict)
    found = []
    if data["title"] != before["title"]:
        found.append(CHANGE["title"].format(**values))
    if _moments(data) != _moments(before):
        found.append(CHANGE["time"].format(**values))
    if data["place"] != before["place"]:
        found.append(CHANGE["place"].format(**values))
    where = (data.get("latitude"), data.get("longitude"), data.get("radius"))
    if where != (before["latitude"], before["longitude"], before["radius"]):
        found.append(CHANGE["geo"].format(**values))
    return found


def _moments(data: dict[str, object]) -> tuple[datetime, datetime]:
    return (
        datetime.fromisoformat(str(data["starts_at"])),
        datetime.fromisoformat(str(data["ends_at"])),
    )


async def _edit_preview(ctx: Context, values: dict[str, str]) -> list[Reply]:
    data = ctx.dialog.get_data()
    changes = _changes(data, values)
    if not changes:
        await ctx.dialog.set_state(choose_correction)
        return [Reply(NO_CHANGES, _correction_buttons())]
    activity = await get_activity(ctx.session, int(data["editing"]))
    if activity is None:
        await ctx.dialog.clear()
        return [Reply(ACTIVITY_ERRORS["missing"])]
    told = await told_summary(ctx, activity)
    await ctx.dialog.set_state(confirm_publish)
    text = EDIT_PREVIEW.format(
        **values, changes=CHANGES.format(changes="；".join(changes)), told=told
    )
    buttons = (
        Button("确认修改", "publish.confirm", do="save"),
        Button("修改", "publish.confirm", do="change"),
        Button("取消", "cancel"),
    )
    return [Reply(text, buttons)]


async def told_summary(ctx: Context, activity: Activity, nobody: str = "") -> str:
    """Who a change or a cancellation will be told to, in words (for the preview); `nobody`
    says what it means that no member has heard of the activity yet."""
    told = await who_is_told(ctx.session, activity, ctx.me.id)
    if not told.reminded and not told.checked:
        admins = TOLD.format(who=TOLD_WHO["admins"]) if told.others else ""
        return (nobody or TOLD_NOBODY) + admins
    heard = "invited" if await invitee_ids(ctx.session, activity.id) else "reminded"
    parts = [TOLD_WHO[heard].format(n=len(told.reminded))] if told.reminded else []
    parts += [TOLD_WHO["checked"].format(n=len(told.checked))] if told.checked else []
    parts += [TOLD_WHO["admins"]] if told.others else []
    return TOLD.format(who="、".join(parts))


async def tell_people(
    ctx: Context, activity: Activity, reply: Reply, *, stage_key: bool = False
) -> Told:
    """Tell those of `who_is_told`, and return them. With `stage_key` the message takes the
    place of the reminder now due for the new start time."""
    told = await who_is_told(ctx.session, activity, ctx.me.id)
    stage = "1h" if activity.starts_at - ctx.now <= timedelta(hours=1) else "24h"
    soon = stage_key and activity.starts_at - ctx.now <= timedelta(hours=24)
    for member_id in told.everyone:
        key = reminder_key(activity, member_id, stage) if soon else None
        await ctx.notify(member_id, reply, kind=CHANGE_KIND, ref_id=activity.id, dedupe_key=key)
    return told


@PUBLISH.step("confirm")
async def confirm_publish(ctx: Context, do: str = "", text: str = "") -> list[Reply]:
    """Step: publish (or save the edit) as previewed, or choose what to correct (地点改成…
    corrects at once)."""
    typed = CHANGE_RE.fullmatch(text)
    if typed and _field(typed.group(1)) is not None:
        return await _correct(ctx, str(_field(typed.group(1))), typed.group(2))
    if do == "publish" and not ctx.dialog.get_data().get("editing"):
        return await _publish(ctx)
    if do == "save" and ctx.dialog.get_data().get("editing"):
        return await _save_edit(ctx)
    if do == "change":
        await ctx.dialog.set_state(choose_correction)
        return [Reply(ASK_CORRECTION, _correction_buttons())]
    return [Reply(USE_CONFIRM_BUTTONS)]


def _correction_buttons() -> tuple[Button, ...]:
    return tuple(
        Button(label, "publish.correct", field=name) for name, label in CORRECTABLE.items()
    )


@PUBLISH.step("correct")
async def choose_correction(ctx: Context, field: str = "", text: str = "") -> list[Reply]:
    """Step: which field to type again (改地点 too; 地点改成… changes it at once); the preview
    comes back after it."""
    if text in ("确认", "确认发布", "确认修改", "不改了", "返回"):
        return await _preview(ctx)
    typed = CHANGE_RE.fullmatch(text)
    if not field and typed and _field(typed.group(1)) is not None:
        return await _correct(ctx, str(_field(typed.group(1))), typed.group(2))
    field = field or (_field(text) or "")
    if field not in CORRECTABLE:
        return [Reply(ASK_CORRECTION, _correction_buttons())]
    await ctx.dialog.set_state(CORRECTION_STEPS[field], correcting=True)
    return [Reply(CORRECTION_PROMPTS[field])]


async def _correct(ctx: Context, field: str, value: str) -> list[Reply]:
    """地点改成县党群服务中心三楼: the step of that field takes the new value at once."""
    await ctx.dialog.set_state(CORRECTION_STEPS[field], correcting=True)
    return await CORRECTION_STEPS[field].func(ctx, text=value)


def _field(text: str) -> str | None:
    """The field a person names: 地点, 改地点, 时间, 名称/标题, 位置."""
    named = text.removeprefix("修改").removeprefix("改").strip()
    return next((f for f, words in FIELD_WORDS.items() if named in words), None)


CORRECTION_STEPS: dict[str, Step] = {
    "title": got_title,
    "start": got_start,
    "place": got_place,
    "geo": got_geo,
}
CORRECTION_PROMPTS = {"title": ASK_TITLE, "start": ASK_START, "place": ASK_PLACE, "geo": ASK_GEO}


async def begin_edit(ctx: Context, activity: Activity) -> list[Reply]:
    """Enter the publish dialog on an activity already published: choose what to change."""
    try:
        check_may_change(activity, ctx.me, ctx.now)
    except ActivityError as error:
        return [Reply(ACTIVITY_ERRORS[error.reason])]
    placed = activity.latitude is not None and activity.longitude is not None
    fields = {
        "title": activity.title,
        "starts_at": activity.starts_at.isoformat(),
        "ends_at": activity.ends_at.isoformat(),
        "place": activity.place,
        "latitude": activity.latitude if placed else None,
        "longitude": activity.longitude if placed else None,
        "radius": activity.radius_m if placed else None,
    }
    await ctx.dialog.set_state(
        choose_correction,
        alliance_id=activity.alliance_id,
        editing=activity.id,
        before=fields,
        **fields,
    )
    return [Reply(ASK_CORRECTION, _correction_buttons())]


async def _save_edit(ctx: Context) -> list[Reply]:
    data = ctx.dialog.get_data()
    activity = await get_activity(ctx.session, int(data["editing"]))
    if activity is None:
        await ctx.dialog.clear()
        return [Reply(ACTIVITY_ERRORS["missing"])]
    radius = data.get("radius")
    values = {
        "title": data["title"],
        "place": data["place"],
        "starts_at": datetime.fromisoformat(data["starts_at"]),
        "ends_at": datetime.fromisoformat(data["ends_at"]),
        "latitude": data.get("latitude") if radius else None,
        "longitude": data.get("longitude") if radius else None,
        "radius_m": int(radius) if radius else activity.radius_m,
    }
    text_values = {
        "title": data["title"],
        "time": _time_text(values["starts_at"], values["ends_at"], ctx.now),  # type: ignore[arg-type]
        "place": data["place"],
        "checkin": _checkin_text(radius),
    }
    changes = _changes(data, text_values)
    try:
        changed = await edit_activity(
            session=ctx.session, activity=activity, actor=ctx.me, now=ctx.now, **values
        )
    except ActivityError as error:
        if error.reason in ("past", "bad_end"):
            await ctx.dialog.set_state(choose_correction)
            return [Reply(ACTIVITY_ERRORS[error.reason], _correction_buttons())]
        await ctx.dialog.clear()
        return [Reply(ACTIVITY_ERRORS[error.reason])]
    await ctx.dialog.clear()
    line = line_of(activity, now=ctx.now)
    note = Reply(CHANGED_NOTE.format(line=line, changes="；".join(changes)))
    told = await tell_people(ctx, activity, note, stage_key="starts_at" in changed)
    ctx.audit("activity_edit", activity_id=activity.id, changed=changed)
    return [Reply(SAVED.format(line=line, told=told_line(told, SAVED_TOLD, SAVED_NOBODY)))]


def told_line(told: Told, some: str, no_members: str) -> str:
    """'已告知 N 人。', and what happens when no member had heard of the activity yet."""
    said = some.format(n=len(told.everyone)) if told.everyone else ""
    return said + ("" if told.reminded or told.checked else no_members)


async def _publish(ctx: Context) -> list[Reply]:
    data = ctx.dialog.get_data()
    alliance_id = int(data["alliance_id"])
    starts_at = datetime.fromisoformat(data["starts_at"])
    radius = data.get("radius")
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
    line = line_of(activity, now=ctx.now)
    for admin in await alliance_admins(ctx.session, alliance_id):
        if admin.id != ctx.me.id:
            await ctx.notify(admin.id, Reply(PUBLISHED_NOTE.format(who=ctx.me.name, line=line)))
    ctx.audit("activity_publish", activity_id=activity.id)
    return [Reply(PUBLISHED.format(line=line))]


async def remind(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Sweep: 24 h and 1 h reminders to the alliance's members (a meeting's: its invitees who
    did not ask for leave), each sent once (dedupe key)."""
    stmt = (
        select(Activity)
        .where(Activity.starts_at > now, Activity.starts_at <= now + timedelta(hours=24), live())
        .order_by(Activity.starts_at)
    )
    for activity in (await session.execute(stmt)).scalars():
        kind = "1h" if activity.starts_at - now <= timedelta(hours=1) else "24h"
        text = REMIND[kind].format(line=line_of(activity, now=now))
        for member_id in await to_remind(session, activity):
            await enqueue(
                session=session,
                member_id=member_id,
                reply=Reply(text),
                now=now,
                kind=REMINDER_KIND,
                ref_id=activity.id,
                dedupe_key=reminder_key(activity, member_id, kind),
            )

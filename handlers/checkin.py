"""Check-in three ways (code, location, host confirms), /code, /myrecord, /attendance."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Flow, Location, Reply
from bot.core.clock import fmt_local
from bot.core.text import code_in, digit_runs
from handlers.context import Context
from models.activity import (
    Activity,
    get_activity,
    open_activities,
    upcoming_activities,
)
from models.checkin import (
    METHOD_ZH,
    AlreadyCheckedIn,
    CheckIn,
    CheckInMethod,
    CheckInRefused,
    CheckInRules,
    check_in,
    check_in_by_code,
    check_in_by_location,
    current_code,
    done_already,
    minute_of,
    within_radius,
)
from models.member import HOME_LOADED, Member
from models.scope import Scope

ASK = "请发送主持人出示的 6 位签到码，或分享您的位置完成签到（发送“取消”退出）。"
NOT_A_CODE = "签到码是 6 位数字，请核对后重新发送。"
CHECKED_IN = "✅ 签到成功：《{title}》\n时间：{time} · 方式：{method}"
GUEST_NOTE = "\n您是流动党员，本次签到已记入组织关系所在单位。"
ALREADY = "您已于 {time} 签到过《{title}》，无需重复签到。"
WRONG_CODE = "签到码不正确，请核对后重试。（还可尝试 {left} 次）"
STALE_CODE = (
    "这个签到码已过期（签到码每分钟更新），请向主持人获取最新的签到码。（还可尝试 {left} 次）"
)
LOCKED = "签到码错误次数过多，签到已暂停，请在 {until} 后再试，或请主持人为您确认签到。"
WRONG_ACTIVITY = "这个签到码属于《{title}》（{alliance}），不是您所在联盟的活动，不能签到。"
NOT_YET = "《{title}》的签到还没开始，{opens} 起可以签到。"
ENDED = "《{title}》已于 {end} 结束，签到已关闭。"
NO_ACTIVITY = "现在没有可以签到的活动。发送“活动”查看近期安排。"
TOO_FAR = "您距离《{title}》地点约 {distance}，超出签到范围（{radius} 米）。请到达现场后再签到。"
NO_PLACE = "现在可签到的活动没有设置签到位置，请使用主持人出示的签到码签到。"
HERE_BY_CODE = "您在《{title}》现场附近：点“签到”，输入主持人出示的签到码即可。"
HERE_BUTTON = "签到"
LIVE_ONLY = "请分享“实时位置”完成签到（在 Telegram 中选择“共享实时位置”），普通位置无法用于签到。"
CODE_SHOW = (
    "《{title}》签到码：{code}\n签到码每分钟更新，请让大家发送“签到 {code}”。本码 {until} 前有效。"
)
SIGNOUT_NOTE = "\n这是志愿服务：结束时请大家发送“签退 {code}”。"
SIGNOUT_SHOW = "《{title}》签退码：{code}\n请让大家发送“签退 {code}”。本码 {until} 前有效。"
NOTHING_TO_SHOW = "您现在没有正在签到中的活动（活动开始前 {minutes} 分钟开放签到）。"
NEXT_HOSTED = "\n您主办的下一场：《{title}》，{opens} 开放签到。"
CONFIRM_USAGE = "请在命令后写上党员姓名，例如：确认签到 张三"
CONFIRM_UNKNOWN = "没有找到可参加《{title}》的党员“{name}”，请核对姓名。"
CONFIRM_WHICH = "有多位党员叫“{name}”，请选择："
CONFIRM_CLOSE = "没有叫“{name}”的党员，您是说："
CONFIRMED = "已为 {name} 确认签到《{title}》（{time}）。"
CONFIRMED_NOTE = "主持人已为您确认签到《{title}》（{time}）。"
ALREADY_OTHER = "{name} 已于 {time} 签到过《{title}》。"
NOT_YOURS = "您不能管理这场活动。"
FLOW = Flow("checkin")


async def run(ctx: Context, code: str = "", location: Location | None = None) -> list[Reply]:
    """Check in with a code (however typed: １２３４５６, 123 456, 三八二九一零) or a location;
    with neither, ask for one."""
    if location is not None:
        return await _by_location(ctx, location)
    typed = code or _own_words(ctx)
    if not digit_runs(typed):
        rules = CheckInRules.of(ctx.settings)
        done = await done_already(session=ctx.session, member=ctx.me, now=ctx.now, rules=rules)
        if done is not None:  # 签到码是多少 from someone who has checked in already
            return [Reply(ALREADY.format(time=fmt_local(done.at), title=done.activity.title))]
        await ctx.dialog.set_state(receive)
        return [Reply(ASK)]
    digits = code_in(typed, 6)
    if digits is None:
        return [Reply(NOT_A_CODE)]
    return await _by_code(ctx, digits)


def _own_words(ctx: Context) -> str:
    """The message itself, when the NLU found a check-in but no code in it."""
    return "" if ctx.incoming.text.startswith("/") else ctx.incoming.text


@FLOW.step("wait")
async def receive(ctx: Context, text: str = "", location: Location | None = None) -> list[Reply]:
    """Dialog step: the code or location sent after a bare 签到."""
    digits = code_in(text, 6)
    if location is None and digits is None:
        return [Reply(NOT_A_CODE)]
    await ctx.dialog.clear()
    return await run(ctx, code=digits or "", location=location)


async def _by_code(ctx: Context, code: str) -> list[Reply]:
    try:
        row = await check_in_by_code(
            session=ctx.session,
            member=ctx.me,
            code=code,
            now=ctx.now,
            rules=CheckInRules.of(ctx.settings),
            key=f"{ctx.platform}:{ctx.user_key}",
        )
    except CheckInRefused as refused:
        return [Reply(refusal(refused))]
    return await _checked_in(ctx, row)


async def _by_location(ctx: Context, location: Location) -> list[Reply]:
    try:
        row = await check_in_by_location(
            session=ctx.session,
            member=ctx.me,
            location=location,
            now=ctx.now,
            rules=CheckInRules.of(ctx.settings),
        )
    except CheckInRefused as refused:
        # A live share's later positions only speak up to check the member in: its first
        # position was answered, and a refusal every few seconds would flood the chat.
        return [] if location.followup else [Reply(refusal(refused))]
    return await _checked_in(ctx, row)


async def at_location(ctx: Context, location: Location) -> list[Reply]:
    """A location sent for something else (附近活动): inside an open activity's check-in
    radius, the check-in it allows — done when the position is trusted, offered by code when
    it is not; nothing when the member is at no open activity."""
    here = await within_radius(
        session=ctx.session,
        member=ctx.me,
        location=location,
        now=ctx.now,
        rules=CheckInRules.of(ctx.settings),
    )
    if here is None:
        return []
    if not location.verified:
        return [Reply(HERE_BY_CODE.format(title=here.title), (Button(HERE_BUTTON, "checkin"),))]
    return await _by_location(ctx, location)


def refusal(refused: CheckInRefused) -> str:
    """The sentence for a refused check-in."""
    d = refused.detail
    activity: Activity | None = d.get("activity")
    title = activity.title if activity else ""
    match refused.reason:
        case "locked":
            return LOCKED.format(until=fmt_local(d["until"], "%H:%M"))
        case "wrong_code":
            return WRONG_CODE.format(left=d["left"])
        case "stale_code":
            return STALE_CODE.format(left=d["left"])
        case "wrong_alliance":
            assert activity is not None
            return WRONG_ACTIVITY.format(title=title, alliance=activity.alliance.name)
        case "not_yet":
            return NOT_YET.format(title=title, opens=fmt_local(d["opens"]))
        case "ended":
            assert activity is not None
            return ENDED.format(title=title, end=fmt_local(activity.ends_at, "%H:%M"))
        case "not_live":
            return LIVE_ONLY
        case "no_place":
            return NO_PLACE
        case "too_far":
            assert activity is not None
            metres = d["distance"]
            distance = f"{metres / 1000:.1f} 公里" if metres >= 1000 else f"{round(metres)} 米"
            return TOO_FAR.format(title=title, distance=distance, radius=activity.radius_m)
        case "already":
            assert isinstance(refused, AlreadyCheckedIn)
            return ALREADY.format(time=fmt_local(refused.first.at), title=title)
    return NO_ACTIVITY


async def _checked_in(ctx: Context, row: CheckIn) -> list[Reply]:
    await ctx.dialog.clear()
    activity = row.activity
    guest = activity.alliance_id not in ctx.me.home_alliances()
    text = CHECKED_IN.format(
        title=activity.title, time=fmt_local(ctx.now, "%H:%M"), method=METHOD_ZH[row.method]
    )
    return [Reply(text + (GUEST_NOTE if guest else ""))]


async def _managed_open(ctx: Context) -> list[Activity]:
    candidates = await open_activities(
        ctx.session, now=ctx.now, opens_before_minutes=ctx.settings.CHECKIN_OPENS_MINUTES_BEFORE
    )
    return [a for a in candidates if ctx.me.may_manage(a)]


async def _signing_out(ctx: Context, shown: list[Activity]) -> list[Activity]:
    """Volunteer services one manages that ended but may still be signed out of."""
    from models.volunteer import HoursRules, signing_out

    found = await signing_out(ctx.session, now=ctx.now, rules=HoursRules.of(ctx.settings))
    return [a for a in found if a not in shown and a.ends_at <= ctx.now and ctx.me.may_manage(a)]


async def show_code(ctx: Context) -> list[Reply]:
    """The host's current code for each activity it is checking in now (and for each service
    it may still be signed out of)."""
    from models.volunteer import service_of

    activities = await _managed_open(ctx)
    leaving = await _signing_out(ctx, activities)
    minutes = ctx.settings.CHECKIN_OPENS_MINUTES_BEFORE
    if not activities and not leaving:
        text = NOTHING_TO_SHOW.format(minutes=minutes)
        later = await upcoming_activities(ctx.session, now=ctx.now, scope=Scope.COUNTY, limit=50)
        nxt = next((a for a in later if ctx.me.may_manage(a)), None)
        if nxt is not None:
            opens = fmt_local(nxt.starts_at - timedelta(minutes=minutes))
            text += NEXT_HOSTED.format(title=nxt.title, opens=opens)
        return [Reply(text)]
    # The current code is also accepted during the next minute.
    until = datetime.fromtimestamp((minute_of(ctx.now) + 2) * 60, ctx.now.tzinfo)
    refresh = (Button("🔄 刷新签到码", "code"),)
    replies = []
    for a in activities:
        code, till = current_code(a, ctx.now), fmt_local(until, "%H:%M")
        text = CODE_SHOW.format(title=a.title, code=code, until=till)
        if await service_of(ctx.session, a.id) is not None:
            text += SIGNOUT_NOTE.format(code=code)
        replies.append(Reply(text, buttons=refresh))
    for a in leaving:
        code, till = current_code(a, ctx.now), fmt_local(until, "%H:%M")
        replies.append(Reply(SIGNOUT_SHOW.format(title=a.title, code=code, until=till), refresh))
    return replies


async def confirm(ctx: Context, name: str = "") -> list[Reply]:
    """The host checks in members by name: 确认签到 张三, 代签 于刚、刘海, 帮谢国华签个到."""
    activities = await _managed_open(ctx)
    if not activities:
        return await show_code(ctx)
    activity = activities[0]
    eligible = await _eligible(ctx, activity)
    names = [n for n in re.split(r"[、,，和及\s]+", name.strip()) if n]
    if not names:  # 帮谢国华签个到: the names the message contains
        said = ctx.incoming.text
        names = sorted({m.name for m in eligible if len(m.name) >= 2 and m.name in said})
    if not names:
        return [Reply(CONFIRM_USAGE)]
    replies = []
    for one in names:
        replies += await _confirm_name(ctx, activity, eligible, one)
    return replies


async def _eligible(ctx: Context, activity: Activity) -> list[Member]:
    """Who may attend this activity: its alliance's members, and mobile members."""
    stmt = select(Member).options(HOME_LOADED).order_by(Member.id)
    in_alliance = Scope.of([activity.alliance_id]).units_where(Member.home_unit_id)
    stmt = stmt.where(in_alliance | Member.is_mobile.is_(True))
    return [m for m in (await ctx.session.execute(stmt)).scalars() if m.may_attend(activity)]


async def _confirm_name(
    ctx: Context, activity: Activity, eligible: list[Member], name: str
) -> list[Reply]:
    people = [m for m in eligible if m.name == name]
    if not people:
        close = [m for m in eligible if m.name.startswith(name) or name in m.name][:3]
        if close:  # 代签 袁娟: 您是说 袁娟龙？
            units = await _unit_labels(ctx.session, close)
            buttons = tuple(
                Button(units[m.id], "confirm.pick", activity=activity.id, member=m.id)
                for m in close
            )
            return [Reply(CONFIRM_CLOSE.format(name=name), buttons=buttons)]
        return [Reply(CONFIRM_UNKNOWN.format(title=activity.title, name=name))]
    if len(people) > 1:
        units = await _unit_labels(ctx.session, people)
        buttons = tuple(
            Button(units[m.id], "confirm.pick", activity=activity.id, member=m.id) for m in people
        )
        return [Reply(CONFIRM_WHICH.format(name=name), buttons=buttons)]
    return await _confirm_one(ctx, activity, people[0])


async def confirm_button(ctx: Context, activity: int, member: int) -> list[Reply]:
    """A choice among members of the same name."""
    chosen = await get_activity(ctx.session, activity)
    person = await ctx.session.get(Member, member)
    if chosen is None or person is None or not ctx.me.may_manage(chosen):
        return [Reply(NOT_YOURS)]
    return await _confirm_one(ctx, chosen, person)


async def _unit_labels(session: AsyncSession, people: list[Member]) -> dict[int, str]:
    from models.org import Unit

    labels = {}
    for m in people:
        unit = await session.get(Unit, m.home_unit_id) if m.home_unit_id else None
        labels[m.id] = f"{m.name}（{unit.name if unit else '无单位'}）"
    return labels


async def _confirm_one(ctx: Context, activity: Activity, member: Member) -> list[Reply]:
    try:
        await check_in(
            session=ctx.session,
            activity=activity,
            member=member,
            method=CheckInMethod.HOST,
            now=ctx.now,
            confirmed_by=ctx.me,
        )
    except AlreadyCheckedIn as already:
        when = fmt_local(already.first.at)
        return [Reply(ALREADY_OTHER.format(name=member.name, time=when, title=activity.title))]
    when = fmt_local(ctx.now, "%H:%M")
    await ctx.notify(member.id, Reply(CONFIRMED_NOTE.format(title=activity.title, time=when)))
    ctx.audit("checkin_confirm", activity_id=activity.id, member_id=member.id)
    return [Reply(CONFIRMED.format(name=member.name, title=activity.title, time=when))]

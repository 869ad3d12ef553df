"""志愿服务: teams (/teams), services (设为志愿服务), 签退, 确认签退, /myhours, the figures, and
the sweep that closes a service's sign-out (no sign-out: no hours, and the leader is told)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Flow, Reply
from bot.core.clock import fmt_local, to_local
from bot.core.text import code_in, digit_runs
from bot.core.times import show_when
from handlers import paging
from handlers.context import Context
from models.activity import Activity, get_activity, live
from models.checkin import CheckInRules
from models.member import Member
from models.org import Alliance
from models.outbox import enqueue
from models.scope import Scope
from models.volunteer import (
    HoursError,
    HoursRules,
    HoursState,
    ServiceActivity,
    ServiceHours,
    VolunteerTeam,
    by_alliance,
    by_team,
    close_service,
    create_team,
    join_team,
    mark_service,
    may_lead,
    member_rows,
    my_open_service,
    my_team_ids,
    needed_minutes,
    pending,
    service_for_code,
    service_of,
    services_to_close,
    sign_out,
    star_of,
    stay_so_far,
    team_member_ids,
    teams_in,
    total_minutes,
)
from settings import Settings

ASK_CODE = "请发送主持人出示的 6 位签到码完成签退（发送“取消”退出）。"
NOT_A_CODE = "签退码就是本场的 6 位签到码，请核对后重新发送。"
SIGNED_OUT = "✅ 签退成功：《{title}》\n服务 {stay}，计入志愿时长 {hours}。"
TOO_SHORT = (
    "已签退《{title}》，但服务 {stay}，不足计划时长的 {percent}%（需 {need}），本次不计时长。"
    "如有特殊情况，请联系联盟管理员补录。"
)
EARLY = (
    "《{title}》{end} 结束。现在签退，服务 {stay}，不足计划时长的 {percent}%（需 {need}），"
    "本次不计时长，签退后不能重签。确定现在签退吗？"
)
EARLY_OTHERS = (
    "《{title}》{end} 结束。现在为 {names} 签退，服务不足计划时长的 {percent}%，"
    "本次不计时长，签退后不能重签。确定吗？"
)
EARLY_PICK = "请按“确认签退”，或发送“取消”继续服务。"
SIGNOUT_ERRORS = {
    "wrong_code": "签到码不正确，请核对后重试。（还可尝试 {left} 次）",
    "locked": "签到码错误次数过多，请在 {until} 后再试，或请服务队长为您确认签退。",
    "nothing_open": "现在没有可以签退的志愿服务。",
    "not_signed_in": "您没有签到《{title}》，不能签退。签到后才能计入志愿时长。",
    "already": "您已于 {time} 签退过《{title}》，无需重复签退。",
    "not_manager": "您不是这场志愿服务的主持人或服务队长。",
}
CONFIRM_USAGE = "请写上党员姓名，例如：确认签退 张三"
CONFIRM_NOTHING = "您现在没有可以确认签退的志愿服务。"
CONFIRM_UNKNOWN = "《{title}》没有签到的党员“{name}”。"
CONFIRMED = "已为 {name} 确认签退《{title}》：{result}。"
CONFIRMED_NOTE = "服务队长已为您确认签退《{title}》：{result}。"
COUNTED_SHORT = "计入 {hours}"
NOT_COUNTED_SHORT = "服务 {stay}，不足 {percent}%，不计时长"

MY_HEAD = "我的志愿服务时长\n累计 {total} · 今年 {year}\n{star}"
STAR = "星级：{name}"
NEXT_STAR = "（再服务 {left}可达{name}）"
NO_STAR = "星级：尚未评星"
NO_HOURS = "您还没有志愿服务记录。签到参加志愿服务并签退后，时长会记在这里。"
LINE = "· {day} 《{title}》{what}"
WHAT = {
    HoursState.COUNTED: "{hours} ✅",
    HoursState.TOO_SHORT: "服务 {hours}，不足规定时长，不计",
    HoursState.NO_SIGNOUT: "未签退，不计时长",
    HoursState.PENDING: "补录 {hours}，待审核",
    HoursState.APPROVED: "补录 {hours} ✅",
    HoursState.DECLINED: "补录 {hours} 未通过：{reason}",
}
CERTIFICATE_LABEL = "开具证明"

TEAMS_HEAD = "志愿服务队"
NO_TEAMS = "还没有志愿服务队。联盟管理员可发送“新建服务队 队名 队长 姓名”建立。"
TEAM_LINE = "{i}. {name}（{alliance}）\n   队长：{leader} · {people} 人 · 今年 {hours}{mine}"
MINE = " · 我已加入"
JOINED = "已加入“{name}”。参加本队的志愿服务，签到并签退后计入时长。"
JOINED_ALREADY = "您已在“{name}”中。"
JOIN_REFUSED = "“{name}”属于{alliance}，您所在单位不在这个联盟，不能加入。"
TEAM_GONE = "没有找到这支服务队。"
NEW_USAGE = "请写上队名，例如：新建服务队 冷链先锋志愿服务队 队长 张三"
NEW_ONE_ALLIANCE = "县级管理员请在队名前写上联盟，或由联盟管理员新建。"
LEADER_UNKNOWN = "没有找到{alliance}的党员“{name}”，请核对队长姓名。"
NAME_TAKEN = "已有叫“{name}”的服务队，请换一个队名。"
CREATED = "已建立“{name}”（{alliance}），队长：{leader}。党员发送“志愿服务队”即可加入。"
LEADER_NOTE = "您已被任命为“{name}”队长。服务结束时可发送“确认签退 姓名”为队员签退。"

MARK_PICK = "要把哪场活动设为志愿服务？（设为后参加者需签退，按时长计入志愿服务）"
MARK_NONE = "您没有可设置的近期活动。"
MARK_TEAM = "《{title}》属于哪支服务队？"
NO_TEAM_LABEL = "不属于服务队"
MARKED = (
    "《{title}》已设为志愿服务{team}。参加者签到后，结束时发送“签退 签到码”；"
    "服务满计划时长的 {percent}% 计入志愿时长。"
)

FLAG_LEADER = (
    "《{title}》结束后有 {n} 人未签退，本次不计时长：{names}。如确实参加，请联系联盟管理员补录。"
)
FLAG_MEMBER = "您参加的《{title}》没有签退，本次不计志愿时长。如确实参加，请联系联盟管理员补录。"

STATS_HEAD = "志愿服务时长（{year}年）"
STATS_ALLIANCE = "按联盟："
STATS_TEAM = "按服务队："
STATS_LINE = "· {label}：{hours} · {people} 人 · {services} 场"
STATS_NONE = "今年还没有计入的志愿服务时长。"
STATS_PENDING = "待审核补录：{n} 条（发送“时长审核”处理）"
NOT_ADMIN = "只有联盟管理员可以新建服务队。"
FLOW = Flow("signout")


def hours_text(minutes: int) -> str:
    """2.5 小时; 40 分钟 under an hour."""
    if minutes < 60:
        return f"{minutes} 分钟"
    value = minutes / 60
    return f"{value:.1f}".rstrip("0").rstrip(".") + " 小时"


# ---- 签退 -------------------------------------------------------------------------------


async def run(ctx: Context, code: str = "") -> list[Reply]:
    """签退 with the service's current code; without one, ask for it."""
    rules = HoursRules.of(ctx.settings)
    if not digit_runs(code):
        service = await my_open_service(ctx.session, member=ctx.me, now=ctx.now, rules=rules)
        if service is None:
            return [Reply(SIGNOUT_ERRORS["nothing_open"])]
        await ctx.dialog.set_state(receive)
        return [Reply(ASK_CODE)]
    digits = code_in(code, 6)
    if digits is None:
        return [Reply(NOT_A_CODE)]
    try:
        activity = await service_for_code(
            session=ctx.session,
            member=ctx.me,
            code=digits,
            now=ctx.now,
            rules=rules,
            checkin_rules=CheckInRules.of(ctx.settings),
            key=f"{ctx.platform}:{ctx.user_key}",
        )
    except HoursError as error:
        return [Reply(_refusal(error))]
    stay = await stay_so_far(ctx.session, activity=activity, member=ctx.me, now=ctx.now)
    if activity.ends_at > ctx.now and stay < needed_minutes(activity, rules):
        # Leaving early (or a 签退 typed by mistake): said first, since it cannot be undone.
        await ctx.dialog.set_state(early, activity=activity.id)
        text = EARLY.format(
            title=activity.title,
            end=fmt_local(activity.ends_at, "%H:%M"),
            stay=hours_text(stay),
            percent=ctx.settings.SERVICE_MIN_PERCENT,
            need=hours_text(needed_minutes(activity, rules)),
        )
        buttons = (Button("确认签退", "signout.early", sure=True), Button("取消", "cancel"))
        return [Reply(text, buttons)]
    return await _sign_out(ctx, activity)


async def _sign_out(ctx: Context, activity: Activity) -> list[Reply]:
    await ctx.dialog.clear()
    try:
        row = await sign_out(
            session=ctx.session,
            activity=activity,
            member=ctx.me,
            now=ctx.now,
            rules=HoursRules.of(ctx.settings),
        )
    except HoursError as error:
        return [Reply(_refusal(error))]
    return [Reply(_result(row, ctx.settings))]


@FLOW.step("early")
async def early(ctx: Context, text: str = "", sure: bool = False) -> list[Reply]:
    """Step: 确认签退 before the end, though the stay will not count."""
    if not sure:
        return [Reply(EARLY_PICK)]
    activity = await get_activity(ctx.session, int(ctx.dialog.get_data().get("activity", 0)))
    if activity is None:
        await ctx.dialog.clear()
        return [Reply(SIGNOUT_ERRORS["nothing_open"])]
    return await _sign_out(ctx, activity)


@FLOW.step("code", free_text=True)
async def receive(ctx: Context, text: str = "") -> list[Reply]:
    """Dialog step: the code sent after a bare 签退."""
    if code_in(text, 6) is None:
        return [Reply(NOT_A_CODE)]
    return await run(ctx, code=text)


def _refusal(error: HoursError) -> str:
    d = error.detail
    activity: Activity | None = d.get("activity")
    text = SIGNOUT_ERRORS.get(error.reason, SIGNOUT_ERRORS["nothing_open"])
    row: ServiceHours | None = d.get("row")
    return text.format(
        left=d.get("left", ""),
        until=fmt_local(d["until"], "%H:%M") if "until" in d else "",
        title=activity.title if activity else "",
        time=fmt_local(row.signed_out_at) if row and row.signed_out_at else "",
    )


def _result(row: ServiceHours, settings: Settings) -> str:
    activity = row.activity
    if row.state == HoursState.COUNTED:
        stay = hours_text(row.minutes)
        return SIGNED_OUT.format(title=activity.title, stay=stay, hours=stay)
    return TOO_SHORT.format(
        title=activity.title,
        stay=hours_text(row.minutes),
        percent=settings.SERVICE_MIN_PERCENT,
        need=hours_text(needed_minutes(activity, HoursRules.of(settings))),
    )


async def confirm(ctx: Context, name: str = "", sure: bool = False) -> list[Reply]:
    """The leader or host signs out members by name: 确认签退 张三、李四."""
    rules = HoursRules.of(ctx.settings)
    led = []
    for activity in await _signing_out(ctx):
        service = await service_of(ctx.session, activity.id)
        if service is not None and may_lead(ctx.me, activity, service):
            led.append(activity)
    if not led:
        return [Reply(CONFIRM_NOTHING)]
    names = [n for n in re.split(r"[、,，和及\s]+", name.strip()) if n]
    if not names:
        return [Reply(CONFIRM_USAGE)]
    activity = led[0]
    from models.checkin import CheckIn

    stmt = select(Member).join(CheckIn, CheckIn.member_id == Member.id)
    stmt = stmt.where(CheckIn.activity_id == activity.id)
    came = list((await ctx.session.execute(stmt)).scalars())
    if not sure and activity.ends_at > ctx.now:
        need = needed_minutes(activity, rules)
        short = [
            m.name
            for m in came
            if m.name in names
            and await stay_so_far(ctx.session, activity=activity, member=m, now=ctx.now) < need
        ]
        if short:  # before the end, and it would not count: said first
            text = EARLY_OTHERS.format(
                names="、".join(short),
                title=activity.title,
                end=fmt_local(activity.ends_at, "%H:%M"),
                percent=ctx.settings.SERVICE_MIN_PERCENT,
            )
            buttons = (
                Button("确认签退", "confirmout.sure", name=name, sure=True),
                Button("取消", "cancel"),
            )
            return [Reply(text, buttons)]
    replies = []
    for one in names:
        person = next((m for m in came if m.name == one), None)
        if person is None:
            replies.append(Reply(CONFIRM_UNKNOWN.format(title=activity.title, name=one)))
            continue
        try:
            row = await sign_out(
                session=ctx.session,
                activity=activity,
                member=person,
                now=ctx.now,
                rules=rules,
                by=ctx.me,
            )
        except HoursError as error:
            replies.append(Reply(f"{person.name}：{_refusal(error)}"))
            continue
        result = _short(row, ctx.settings)
        await ctx.notify(
            person.id, Reply(CONFIRMED_NOTE.format(title=activity.title, result=result))
        )
        ctx.audit("signout_confirm", activity_id=activity.id, member_id=person.id)
        replies.append(
            Reply(CONFIRMED.format(name=person.name, title=activity.title, result=result))
        )
    return replies


def _short(row: ServiceHours, settings: Settings) -> str:
    if row.state == HoursState.COUNTED:
        return COUNTED_SHORT.format(hours=hours_text(row.minutes))
    return NOT_COUNTED_SHORT.format(
        stay=hours_text(row.minutes), percent=settings.SERVICE_MIN_PERCENT
    )


async def _signing_out(ctx: Context) -> list[Activity]:
    from models.volunteer import signing_out

    return await signing_out(ctx.session, now=ctx.now, rules=HoursRules.of(ctx.settings))


# ---- /myhours ---------------------------------------------------------------------------


async def my_hours(ctx: Context, offset: int = 0) -> list[Reply]:
    """The member's counted hours (all time, this year), star level and the lines."""
    rows = await member_rows(ctx.session, member_id=ctx.me.id)
    if not rows:
        return [Reply(NO_HOURS)]
    total = await total_minutes(ctx.session, member_id=ctx.me.id)
    year = await total_minutes(ctx.session, member_id=ctx.me.id, year=to_local(ctx.now).year)
    reached, nxt = star_of(total / 60)
    star = STAR.format(name=reached) if reached else NO_STAR
    if nxt is not None:
        star += NEXT_STAR.format(left=hours_text(nxt[0] * 60 - total), name=nxt[1])
    page, offset = paging.window(rows, offset)
    lines = [MY_HEAD.format(total=hours_text(total), year=hours_text(year), star=star)]
    for row in page:
        what = WHAT[row.state].format(hours=hours_text(row.minutes), reason=row.decline_reason)
        day = show_when(row.activity.starts_at, ctx.now, clock=False)
        lines.append(LINE.format(day=day, title=row.activity.title, what=what))
    lines.append(paging.where(offset, len(page), len(rows)))
    buttons = paging.buttons("myhours", offset, len(rows))
    if total:
        buttons = (Button(CERTIFICATE_LABEL, "certificate"), *buttons)
    return [Reply("\n".join(line for line in lines if line), buttons)]


CERT_NONE = "您还没有计入的志愿服务时长，暂不能开具证明。"
CERT_SENT = "志愿服务记录证明（编号 {number}）：累计 {hours}。可打印后交单位盖章使用。"


async def certificate(ctx: Context) -> list[Reply]:
    """The 志愿服务记录证明 as a Word document, numbered and recorded."""
    from handlers.service_doc import build_certificate
    from models.volunteer import issue_certificate, loaded_member

    if not await total_minutes(ctx.session, member_id=ctx.me.id):
        return [Reply(CERT_NONE)]
    row = await issue_certificate(session=ctx.session, member=ctx.me, now=ctx.now)
    member = await loaded_member(ctx.session, ctx.me.id)
    assert member is not None
    path = await build_certificate(ctx.session, member, row)
    ctx.audit("certificate", certificate_id=row.id)
    text = CERT_SENT.format(number=row.number(), hours=hours_text(row.minutes))
    return [Reply(text, file=path)]


# ---- teams ------------------------------------------------------------------------------


async def teams(ctx: Context, offset: int = 0) -> list[Reply]:
    """The teams one may join, with their leader, size and this year's hours."""
    scope = ctx.me.attend_scope() | ctx.me.admin_scope()
    found = await teams_in(ctx.session, scope)
    if not found:
        return [Reply(NO_TEAMS)]
    mine = await my_team_ids(ctx.session, ctx.me.id)
    found.sort(key=lambda t: (t.id not in mine, t.id))
    year = to_local(ctx.now).year
    tallies = {t.label: t for t in await by_team(ctx.session, scope=scope, year=year)}
    page, offset = paging.window(found, offset)
    alliances = await _alliance_names(ctx.session)
    lines = [TEAMS_HEAD]
    buttons = []
    for i, team in enumerate(page, offset + 1):
        people = len(await team_member_ids(ctx.session, team.id))
        tally = tallies.get(team.name)
        lines.append(
            TEAM_LINE.format(
                i=i,
                name=team.name,
                alliance=alliances.get(team.alliance_id, ""),
                leader=team.leader.name if team.leader else "未设",
                people=people,
                hours=hours_text(tally.minutes if tally else 0),
                mine=MINE if team.id in mine else "",
            )
        )
        if team.id not in mine and ctx.me.attend_scope().covers(team.alliance_id):
            buttons.append(Button(f"加入{team.name}", "teams.join", team=team.id))
    lines.append(paging.where(offset, len(page), len(found)))
    buttons += paging.buttons("teams", offset, len(found))
    return [Reply("\n".join(line for line in lines if line), tuple(buttons))]


async def _alliance_names(session: AsyncSession) -> dict[int, str]:
    rows = await session.execute(select(Alliance.id, Alliance.name))
    return {i: n for i, n in rows.all()}


async def join(ctx: Context, team: int) -> list[Reply]:
    """Join a team (a button on the list)."""
    found = await ctx.session.get(VolunteerTeam, team)
    if found is None:
        return [Reply(TEAM_GONE)]
    try:
        added = await join_team(session=ctx.session, team=found, member=ctx.me, now=ctx.now)
    except HoursError:
        alliance = (await _alliance_names(ctx.session)).get(found.alliance_id, "")
        return [Reply(JOIN_REFUSED.format(name=found.name, alliance=alliance))]
    return [Reply((JOINED if added else JOINED_ALREADY).format(name=found.name))]


async def new_team(ctx: Context, text: str = "") -> list[Reply]:
    """新建服务队 队名 [队长 姓名]: an alliance admin sets up a team."""
    name, _, leader_name = text.strip().partition("队长")
    name, leader_name = name.strip(" ：:，,"), leader_name.strip(" ：:，,")
    if not name:
        return [Reply(NEW_USAGE)]
    scope = ctx.me.admin_scope()
    if scope.empty:
        return [Reply(NOT_ADMIN)]
    if scope.county:
        return [Reply(NEW_ONE_ALLIANCE)]
    alliance_id = min(scope.alliances)
    alliance = (await _alliance_names(ctx.session)).get(alliance_id, "")
    leader = ctx.me
    if leader_name:
        stmt = select(Member).where(Member.name == leader_name, Member.active.is_(True))
        stmt = stmt.where(Scope.of([alliance_id]).units_where(Member.home_unit_id))
        leader = (await ctx.session.execute(stmt.limit(1))).scalar_one_or_none()
        if leader is None:
            return [Reply(LEADER_UNKNOWN.format(alliance=alliance, name=leader_name))]
    try:
        team = await create_team(
            session=ctx.session,
            alliance_id=alliance_id,
            name=name[:50],
            leader=leader,
            actor=ctx.me,
            now=ctx.now,
        )
    except HoursError:
        return [Reply(NAME_TAKEN.format(name=name))]
    if leader.id != ctx.me.id:
        await ctx.notify(leader.id, Reply(LEADER_NOTE.format(name=team.name)))
    ctx.audit("team_create", team_id=team.id)
    return [Reply(CREATED.format(name=team.name, alliance=alliance, leader=leader.name))]


# ---- 设为志愿服务 -------------------------------------------------------------------------


async def mark(ctx: Context) -> list[Reply]:
    """Pick an activity one manages (not yet ended) to make a volunteer service."""
    stmt = (
        select(Activity)
        .where(
            Activity.ends_at > ctx.now, live(), ctx.me.visible_scope().where(Activity.alliance_id)
        )
        .order_by(Activity.starts_at)
        .limit(30)
    )
    found = [a for a in (await ctx.session.execute(stmt)).scalars() if ctx.me.may_manage(a)]
    found = [a for a in found if await service_of(ctx.session, a.id) is None][:6]
    if not found:
        return [Reply(MARK_NONE)]
    buttons = tuple(
        Button(f"{a.title}（{fmt_local(a.starts_at, '%m月%d日')}）", "service.pick", activity=a.id)
        for a in found
    )
    return [Reply(MARK_PICK, buttons)]


async def pick(ctx: Context, activity: int, team: int = 0, chosen: bool = False) -> list[Reply]:
    """The activity chosen; then its team (or none)."""
    found = await get_activity(ctx.session, activity)
    if found is None or not ctx.me.may_manage(found):
        return [Reply(SIGNOUT_ERRORS["not_manager"])]
    options = await teams_in(ctx.session, Scope.of([found.alliance_id]))
    if options and not chosen:
        buttons = (
            *(
                Button(t.name, "service.pick", activity=found.id, team=t.id, chosen=True)
                for t in options
            ),
            Button(NO_TEAM_LABEL, "service.pick", activity=found.id, chosen=True),
        )
        return [Reply(MARK_TEAM.format(title=found.title), buttons)]
    chosen_team = await ctx.session.get(VolunteerTeam, team) if team else None
    await mark_service(session=ctx.session, activity=found, actor=ctx.me, team=chosen_team)
    ctx.audit("service_mark", activity_id=found.id, team_id=team or None)
    return [
        Reply(
            MARKED.format(
                title=found.title,
                team=f"（{chosen_team.name}）" if chosen_team else "",
                percent=ctx.settings.SERVICE_MIN_PERCENT,
            )
        )
    ]


# ---- figures ----------------------------------------------------------------------------


async def stats(ctx: Context) -> list[Reply]:
    """This year's counted hours by alliance and by team, and the 补录 waiting."""
    scope = ctx.me.admin_scope()
    year = to_local(ctx.now).year
    alliances = await by_alliance(ctx.session, scope=scope, year=year)
    teams_ = [t for t in await by_team(ctx.session, scope=scope, year=year) if t.minutes]
    lines = [STATS_HEAD.format(year=year)]
    if not alliances:
        lines.append(STATS_NONE)
    for head, tallies in ((STATS_ALLIANCE, alliances), (STATS_TEAM, teams_)):
        if tallies:
            lines.append(head)
            lines += [
                STATS_LINE.format(
                    label=t.label,
                    hours=hours_text(t.minutes),
                    people=t.people,
                    services=t.services,
                )
                for t in tallies[:10]
            ]
    waiting = await pending(ctx.session, scope)
    if waiting:
        lines.append(STATS_PENDING.format(n=len(waiting)))
    return [Reply("\n".join(lines))]


# ---- sweep ------------------------------------------------------------------------------


async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Close the sign-out of services whose window ended: no sign-out, no hours; the leader
    (else the host's managers) and each member are told once."""
    rules = HoursRules.of(settings)
    flagged = 0
    for service in await services_to_close(session, now=now, rules=rules):
        activity = service.activity
        rows = await close_service(session=session, activity=activity, now=now)
        names = []
        for row in rows:
            person = await session.get(Member, row.member_id)
            names.append(person.name if person else "")
            await enqueue(
                session=session,
                member_id=row.member_id,
                reply=Reply(FLAG_MEMBER.format(title=activity.title)),
                now=now,
                kind="service_flag",
                ref_id=activity.id,
                dedupe_key=f"nosignout:{activity.id}:{row.member_id}",
            )
        for leader_id in await _leaders(session, service):
            await enqueue(
                session=session,
                member_id=leader_id,
                reply=Reply(
                    FLAG_LEADER.format(title=activity.title, n=len(rows), names="、".join(names))
                ),
                now=now,
                kind="service_flag",
                ref_id=activity.id,
                dedupe_key=f"nosignout:{activity.id}:leader:{leader_id}",
            )
        flagged += len(rows)
    return flagged


async def _leaders(session: AsyncSession, service: ServiceActivity) -> list[int]:
    """The team leader; without one, the host unit's secretaries, else the alliance admins."""
    if service.team and service.team.leader_id:
        return [service.team.leader_id]
    from bot.core import Role
    from models.member import MemberRole
    from models.rotation import alliance_admins

    activity = service.activity
    if activity.host_unit_id:
        stmt = (
            select(Member.id)
            .join(MemberRole)
            .where(Member.home_unit_id == activity.host_unit_id, MemberRole.role == Role.SECRETARY)
        )
        found = list((await session.execute(stmt)).scalars())
        if found:
            return found
    return [m.id for m in await alliance_admins(session, activity.alliance_id)]

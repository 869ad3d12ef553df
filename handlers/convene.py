"""/convene (召开会议): the chair unit's secretary or an alliance admin convenes a 党建联席会议
or 发展联议 — kind, title, time, place, agenda deadline (a week before by default), guests
(departments, the upper party organisation) — sees the preview with who is told, confirms.
Every invitee gets the notice with 参加 / 请假 buttons.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from bot.core import Button, Flow, Reply, Step
from bot.core.clock import local_datetime, to_local
from bot.core.times import parse_when, show_when
from handlers.context import Context
from handlers.meeting_text import KIND_ZH, invitation
from handlers.meetings import send_invitations
from models.meeting import (
    TITLE_LIMIT,
    MeetingError,
    MeetingKind,
    convenable,
    convene,
    default_deadline,
    default_invitees,
)
from models.meeting_figures import quarter_bounds
from models.org import Alliance, Department
from models.routing import department_matches

NOT_CHAIR = "只有主席单位书记或联盟管理员可以召开会议。发送“轮值”查看本联盟主席单位。"
ASK_ALLIANCE = "为哪个联盟召开会议？"
ASK_KIND = "召开哪种会议？"
ASK_TITLE = "会议名称？可以直接用“{default}”，或输入其他名称："
USE_DEFAULT = "用这个名称"
BAD_TITLE = f"会议名称请写 {TITLE_LIMIT[0]} 到 {TITLE_LIMIT[1]} 个字。"
ASK_START = "什么时候开会？（例如：下周三下午2点半、12月18日 14:30）"
ASK_END = "开始时间：{start}。几点结束？（例如：16:30、下午5点）"
BAD_TIME = "没看懂这个时间，可以这样写：下周三下午2点半、12月18日 14:30、12-18 09:30。"
NEED_CLOCK = "{day}几点？请写上时间，例如：下午2点半。"
PAST_TIME = "{time} 已经过去了，请输入一个将来的时间。"
BAD_END = "结束时间要晚于开始时间（{start}），请重新输入。"
ASK_PLACE = "会议地点？（例如：联盟党群服务中心会议室）"
BAD_PLACE = "请写上会议地点（50 字以内）。"
ASK_DEADLINE = "议题征集到什么时候截止？默认 {default}；也可以输入其他时间。"
DEFAULT = "默认"
BAD_DEADLINE = "截止时间要在现在和开会时间（{start}）之间，请重新输入。"
ASK_DEPARTMENTS = "需要邀请部门列席吗？输入部门名称（如：税务、人社），或点“不邀请”。"
NO_DEPARTMENTS = "不邀请"
UNKNOWN_DEPARTMENTS = "没有找到部门：{names}。可选：{known}。"
ASK_UPPER = "邀请上级党组织（县两新组织工委）列席吗？（会前两天都会向其报备）"
PREVIEW = (
    "请确认要召开的会议：\n《{title}》（{kind} · {alliance}）\n时间：{time}\n地点：{place}\n"
    "议题征集截止：{deadline}\n参会：成员单位书记、联络员和联盟管理员 {members} 人{guests}\n"
    "召开后，每位参会人员将收到：“{notice}”"
)
GUESTS = "；列席：{names}"
UPPER = "上级党组织"
ASK_CORRECTION = "要修改哪一项？"
CORRECTABLE = {"title": "名称", "start": "时间", "place": "地点", "deadline": "截止时间"}
USE_CONFIRM = "请点“确认召开”，或点“修改”改正某一项。"
CONVENED = "✅ 已召开《{title}》，已通知 {count} 位参会人员。议题征集至 {deadline}。"
ERRORS = {
    "not_permitted": NOT_CHAIR,
    "bad_title": BAD_TITLE,
    "past": "开会时间已经过去了，请重新召开。",
    "bad_deadline": "议题征集截止时间已经过去了，请点“修改”重新设置。",
}
FLOW = Flow("convene")


async def _alliances(ctx: Context) -> list[Alliance]:
    ids = await convenable(ctx.session, ctx.me, ctx.now)
    stmt = select(Alliance).where(Alliance.id.in_(ids)).order_by(Alliance.id)
    return list((await ctx.session.execute(stmt)).scalars())


async def start(ctx: Context) -> list[Reply]:
    """Start convening for the alliance(s) the sender may convene."""
    alliances = await _alliances(ctx)
    if not alliances:
        return [Reply(NOT_CHAIR)]
    if len(alliances) == 1:
        return await _ask_kind(ctx, alliances[0].id)
    await ctx.dialog.set_state(got_alliance)
    buttons = tuple(Button(a.name, "convene.alliance", alliance=a.id) for a in alliances)
    return [Reply(ASK_ALLIANCE, buttons)]


@FLOW.step("alliance")
async def got_alliance(ctx: Context, alliance: int = 0) -> list[Reply]:
    """Step: which alliance (a button)."""
    if alliance not in {a.id for a in await _alliances(ctx)}:
        return [Reply(ASK_ALLIANCE)]
    return await _ask_kind(ctx, alliance)


async def _ask_kind(ctx: Context, alliance_id: int) -> list[Reply]:
    await ctx.dialog.set_state(got_kind, alliance_id=alliance_id)
    buttons = tuple(Button(label, "convene.kind", kind=k) for k, label in KIND_ZH.items())
    return [Reply(ASK_KIND, buttons)]


def _default_title(ctx: Context, kind: str) -> str:
    _, _, year, quarter = quarter_bounds(ctx.now)
    return f"{year}年第{'一二三四'[quarter - 1]}季度{KIND_ZH[MeetingKind(kind)]}"


@FLOW.step("kind")
async def got_kind(ctx: Context, kind: str = "") -> list[Reply]:
    """Step: 党建联席会议 or 发展联议 (a button)."""
    if kind not in {k.value for k in MeetingKind}:
        buttons = tuple(Button(label, "convene.kind", kind=k) for k, label in KIND_ZH.items())
        return [Reply(ASK_KIND, buttons)]
    await ctx.dialog.set_state(got_title, kind=kind)
    default = _default_title(ctx, kind)
    return [Reply(ASK_TITLE.format(default=default), (Button(USE_DEFAULT, "convene.title"),))]


@FLOW.step("title", free_text=True)
async def got_title(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the title, typed or the suggested one (a button)."""
    title = text.strip() or _default_title(ctx, ctx.dialog.get_data()["kind"])
    if not TITLE_LIMIT[0] <= len(title) <= TITLE_LIMIT[1]:
        return [Reply(BAD_TITLE)]
    return await _next(ctx, got_start, ASK_START, title=title)


@FLOW.step("start", free_text=True)
async def got_start(ctx: Context, text: str = "") -> list[Reply]:
    """Step: when the meeting starts, as people type it."""
    when = parse_when(text, ctx.now)
    if when is None:
        return [Reply(BAD_TIME)]
    if not when.has_time:
        return [Reply(NEED_CLOCK.format(day=show_when(when.moment, ctx.now, clock=False)))]
    if when.moment <= ctx.now:
        return [Reply(PAST_TIME.format(time=show_when(when.moment, ctx.now)))]
    await ctx.dialog.set_state(got_end, starts_at=when.moment.isoformat())
    return [Reply(ASK_END.format(start=show_when(when.moment, ctx.now)))]


@FLOW.step("end", free_text=True)
async def got_end(ctx: Context, text: str = "") -> list[Reply]:
    """Step: when it ends (a clock time on the start's day, or a day and a time)."""
    data = ctx.dialog.get_data()
    starts_at = datetime.fromisoformat(data["starts_at"])
    when = parse_when(text, ctx.now, on_day=to_local(starts_at).date())
    if when is None or not when.has_time:
        return [Reply(BAD_TIME)]
    if when.moment <= starts_at:
        return [Reply(BAD_END.format(start=show_when(starts_at, ctx.now)))]
    if data.get("correcting"):
        deadline = datetime.fromisoformat(data["deadline"])
        if not ctx.now <= deadline <= starts_at:  # the meeting moved before the old deadline
            deadline = default_deadline(starts_at, ctx.now)
        await ctx.dialog.update_data(
            ends_at=when.moment.isoformat(), deadline=deadline.isoformat(), correcting=False
        )
        return await _preview(ctx)
    await ctx.dialog.set_state(got_place, ends_at=when.moment.isoformat())
    return [Reply(ASK_PLACE)]


@FLOW.step("place", free_text=True)
async def got_place(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the place; then the agenda deadline."""
    if not 1 <= len(text.strip()) <= 50:
        return [Reply(BAD_PLACE)]
    if ctx.dialog.get_data().get("correcting"):
        await ctx.dialog.update_data(place=text.strip(), correcting=False)
        return await _preview(ctx)
    await ctx.dialog.set_state(got_deadline, place=text.strip())
    return _ask_deadline(ctx, datetime.fromisoformat(ctx.dialog.get_data()["starts_at"]))


def _ask_deadline(ctx: Context, starts_at: datetime) -> list[Reply]:
    default = default_deadline(starts_at, ctx.now)
    return [
        Reply(
            ASK_DEADLINE.format(default=show_when(default, ctx.now)),
            (Button(DEFAULT, "convene.deadline"),),
        )
    ]


@FLOW.step("deadline", free_text=True)
async def got_deadline(ctx: Context, text: str = "") -> list[Reply]:
    """Step: the agenda deadline: 默认 (a week before, or a day when sooner) or a typed time."""
    data = ctx.dialog.get_data()
    starts_at = datetime.fromisoformat(data["starts_at"])
    if not text or text == DEFAULT:
        deadline = default_deadline(starts_at, ctx.now)
    else:
        when = parse_when(text, ctx.now)
        if when is None:
            return [Reply(BAD_TIME)]
        day = to_local(when.moment).date()
        deadline = (
            when.moment if when.has_time else local_datetime(day.year, day.month, day.day, 23, 59)
        )
        if not ctx.now < deadline <= starts_at:
            return [Reply(BAD_DEADLINE.format(start=show_when(starts_at, ctx.now)))]
    if data.get("correcting"):
        await ctx.dialog.update_data(deadline=deadline.isoformat(), correcting=False)
        return await _preview(ctx)
    await ctx.dialog.set_state(got_departments, deadline=deadline.isoformat())
    return [Reply(ASK_DEPARTMENTS, (Button(NO_DEPARTMENTS, "convene.departments"),))]


@FLOW.step("departments", free_text=True)
async def got_departments(ctx: Context, text: str = "") -> list[Reply]:
    """Step: departments invited to sit in (列席), typed by name, or 不邀请."""
    chosen: list[int] = []
    if text.strip() and text.strip() != NO_DEPARTMENTS:
        every = list(
            (await ctx.session.execute(select(Department).order_by(Department.id))).scalars()
        )
        missing = []
        for word in _words(text):
            found = department_matches(every, word)
            if not found:
                missing.append(word)
            chosen += [d.id for d in found if d.id not in chosen]
        if missing:
            known = "、".join(d.name.removeprefix("县") for d in every)
            return [Reply(UNKNOWN_DEPARTMENTS.format(names="、".join(missing), known=known))]
    await ctx.dialog.set_state(got_upper, department_ids=chosen)
    buttons = (Button("邀请", "convene.upper", upper=True), Button("不邀请", "convene.upper"))
    return [Reply(ASK_UPPER, buttons)]


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[、,，;；\s和及]+", text) if w]


@FLOW.step("upper")
async def got_upper(ctx: Context, upper: bool = False) -> list[Reply]:
    """Step: whether the upper party organisation sits in (a button)."""
    await ctx.dialog.update_data(invite_upper=bool(upper))
    return await _preview(ctx)


async def _next(ctx: Context, step: Step, prompt: str, **value: object) -> list[Reply]:
    """Store a field and ask the next one; while correcting one, back to the preview."""
    if ctx.dialog.get_data().get("correcting"):
        await ctx.dialog.update_data(**value, correcting=False)
        return await _preview(ctx)
    await ctx.dialog.set_state(step, **value)
    return [Reply(prompt)]


async def _preview(ctx: Context) -> list[Reply]:
    data = ctx.dialog.get_data()
    starts_at = datetime.fromisoformat(data["starts_at"])
    ends_at = datetime.fromisoformat(data["ends_at"])
    deadline = datetime.fromisoformat(data["deadline"])
    alliance = await ctx.session.get(Alliance, int(data["alliance_id"]))
    people = await default_invitees(
        ctx.session,
        int(data["alliance_id"]),
        department_ids=list(data.get("department_ids") or []),
        upper=bool(data.get("invite_upper")),
    )
    members = sum(1 for _, role in people if role == "member")
    guests = await _guest_names(ctx, data)
    kind = KIND_ZH[MeetingKind(data["kind"])]
    time = f"{show_when(starts_at, ctx.now)}-{to_local(ends_at):%H:%M}"
    notice = invitation(
        title=data["title"],
        kind=kind,
        time=time,
        place=data["place"],
        convener=ctx.me.name,
        deadline=show_when(deadline, ctx.now),
    )
    text = PREVIEW.format(
        title=data["title"],
        kind=kind,
        alliance=alliance.name if alliance else "",
        time=time,
        place=data["place"],
        deadline=show_when(deadline, ctx.now),
        members=members,
        guests=GUESTS.format(names="、".join(guests)) if guests else "",
        notice=notice,
    )
    await ctx.dialog.set_state(confirm)
    buttons = (
        Button("确认召开", "convene.confirm", do="convene"),
        Button("修改", "convene.confirm", do="change"),
        Button("取消", "cancel"),
    )
    return [Reply(text, buttons)]


async def _guest_names(ctx: Context, data: dict[str, object]) -> list[str]:
    ids = list(data.get("department_ids") or [])  # type: ignore[call-overload]
    names = []
    if ids:
        stmt = select(Department.name).where(Department.id.in_(ids)).order_by(Department.id)
        names = list((await ctx.session.execute(stmt)).scalars())
    return names + ([UPPER] if data.get("invite_upper") else [])


@FLOW.step("confirm")
async def confirm(ctx: Context, do: str = "") -> list[Reply]:
    """Step: convene as previewed, or choose what to correct."""
    if do == "change":
        await ctx.dialog.set_state(correct)
        buttons = tuple(
            Button(label, "convene.correct", field=name) for name, label in CORRECTABLE.items()
        )
        return [Reply(ASK_CORRECTION, buttons)]
    if do != "convene":
        return [Reply(USE_CONFIRM)]
    data = ctx.dialog.get_data()
    try:
        meeting = await convene(
            session=ctx.session,
            convener=ctx.me,
            alliance_id=int(data["alliance_id"]),
            kind=MeetingKind(data["kind"]),
            title=data["title"],
            place=data["place"],
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            agenda_deadline=datetime.fromisoformat(data["deadline"]),
            now=ctx.now,
            department_ids=list(data.get("department_ids") or []),
            invite_upper=bool(data.get("invite_upper")),
        )
    except MeetingError as error:
        return [Reply(ERRORS.get(error.reason, NOT_CHAIR))]
    await ctx.dialog.clear()
    count = await send_invitations(ctx, meeting)
    ctx.audit("meeting_convene", meeting_id=meeting.id)
    deadline = show_when(meeting.agenda_deadline, ctx.now)
    return [Reply(CONVENED.format(title=meeting.title, count=count, deadline=deadline))]


@FLOW.step("correct")
async def correct(ctx: Context, field: str = "") -> list[Reply]:
    """Step: which field to type again; the preview comes back after it."""
    steps: dict[str, tuple[Step, str]] = {
        "title": (
            got_title,
            ASK_TITLE.format(default=_default_title(ctx, ctx.dialog.get_data()["kind"])),
        ),
        "start": (got_start, ASK_START),
        "place": (got_place, ASK_PLACE),
        "deadline": (got_deadline, ""),
    }
    if field not in steps:
        return [Reply(ASK_CORRECTION)]
    step, prompt = steps[field]
    await ctx.dialog.set_state(step, correcting=True)
    if field == "deadline":
        return _ask_deadline(ctx, datetime.fromisoformat(ctx.dialog.get_data()["starts_at"]))
    if field == "title":
        return [Reply(prompt, (Button(USE_DEFAULT, "convene.title"),))]
    return [Reply(prompt)]

"""/meetings (会议): past and coming meetings with attendance and decision counts; a meeting's
detail with the agenda (上次决议落实情况 first); 参加 / 请假 (with a reason); the convener's
采纳 / 暂缓 of proposed topics; the minutes as a .docx once closed.

Buttons: meetings.view (meeting), meetings.rsvp (meeting, do), meetings.topic (item, do),
meetings.doc (meeting).
"""

from __future__ import annotations

from datetime import datetime

from bot.core import Button, Flow, Reply
from bot.core.times import show_when
from handlers.context import Context
from handlers.meeting_text import (
    ANSWER_ZH,
    GUEST_INVITATION,
    KIND_ZH,
    decision_line,
    frozen_review_lines,
    invitation,
    phase_label,
    review_lines,
    time_of,
)
from handlers.minutes_doc import minutes_file
from models.followup import ACTIVE, Status, items_by_source, today_of
from models.meeting import (
    DECISION_SOURCE,
    AgendaItem,
    AgendaState,
    Answer,
    InviteeRole,
    Meeting,
    MeetingError,
    agenda,
    answer,
    attended_ids,
    decide_topic,
    decisions,
    get_meeting,
    invited_meetings,
    invitee,
    invitees,
    may_propose,
    may_run,
    meetings_in,
    review_items,
)

LIST_TITLE = "🏛️ 会议（近期与以往）："
EMPTY = "还没有会议。主席单位书记或联盟管理员可以发送“召开会议”。"
COMING = "{i}. 《{title}》{time}｜{phase}｜回复参加 {yes}/{invited}"
PAST = "{i}. 《{title}》{time}｜出席 {present}/{invited}｜决议 {decisions} 项{state}"
PAST_STATE = "（完成 {done}，逾期 {late}）"
NOT_FOUND = "没有找到这个会议，或您无权查看。"
HEAD = (
    "🏛️ 《{title}》（{kind} · {alliance}）\n时间：{time}\n地点：{place}\n"
    "召集：{convener} · 记录：{recorder}\n状态：{phase}"
)
ANSWERS = "参会回复：参加 {yes}，请假 {no}，未回复 {none}（共 {invited} 人）"
LEAVES = "请假：{names}"
ATTENDED = "签到出席：{present}/{invited} 人"
AGENDA_TITLE = "议程："
AGENDA_EMPTY = "（议程待定：议题征集中）"
PROPOSED_TITLE = "待处理议题："
PARKED_TITLE = "暂缓议题："
DECISIONS_TITLE = "决议："
MY_ANSWER = "您的回复：{answer}"
ASK_REASON = "请简要说明请假原因："
ATTENDING = "✅ 已回复参加《{title}》，{time} 见。到场后请签到。"
ON_LEAVE = "已为您请假《{title}》，原因已告知召集人。"
LEAVE_NOTE = "📝 {name}（{unit}）请假《{title}》：{reason}"
TOPIC_ACCEPTED = "已将“{topic}”列入《{title}》议程。"
TOPIC_PARKED = "已暂缓“{topic}”，下次会议会再次列入待处理议题。"
TOPIC_FOR_PROPOSER = {
    True: "✅ 您提的议题“{topic}”已列入《{title}》议程。",
    False: "您提的议题“{topic}”本次暂缓，下次会议会再次提交。",
}
NO_DOC = "会议关闭后才有会议记录。"
DOC = "《{title}》会议记录"
ERRORS = {
    "not_invited": "您不在《{title}》的参会名单中。",
    "closed": "《{title}》已经结束，不能再回复。",
    "reason_required": "请写明请假原因。",
    "not_permitted": "只有召集人、记录人或联盟管理员可以处理议题。",
    "started": "《{title}》已经开始，议程不能再改。",
    "not_found": NOT_FOUND,
}
FLOW = Flow("meetings")


async def visible(ctx: Context) -> list[Meeting]:
    """The meetings of the sender's alliances (or those administered) and those invited to."""
    found = {m.id: m for m in await meetings_in(ctx.session, ctx.me.visible_scope())}
    for m in await invited_meetings(ctx.session, ctx.me):
        found.setdefault(m.id, m)
    return list(found.values())


async def _may_see(ctx: Context, meeting: Meeting | None) -> bool:
    if meeting is None:
        return False
    return (
        ctx.me.visible_scope().covers(meeting.alliance_id)
        or await invitee(ctx.session, meeting, ctx.me) is not None
    )


async def show(ctx: Context, meeting: str = "") -> list[Reply]:
    """Coming meetings (soonest first), then past ones (latest first), with figures."""
    everything = await visible(ctx)
    if not everything:
        return [Reply(EMPTY)]
    coming = sorted(
        (m for m in everything if m.ends_at > ctx.now and not m.closed_at),
        key=lambda m: m.starts_at,
    )
    past = sorted(
        (m for m in everything if m not in coming), key=lambda m: m.starts_at, reverse=True
    )
    shown = (coming + past)[:10]
    lines = [LIST_TITLE]
    for i, m in enumerate(shown, 1):
        lines.append(await _line(ctx, i, m, m in coming))
    buttons = tuple(
        Button(f"{i}. {m.title}"[:20], "meetings.view", meeting=m.id)
        for i, m in enumerate(shown, 1)
    )
    return [Reply("\n".join(lines), buttons)]


async def _line(ctx: Context, i: int, m: Meeting, coming: bool) -> str:
    people = [p for p in await invitees(ctx.session, m) if p.role == InviteeRole.MEMBER]
    time = show_when(m.starts_at, ctx.now)
    if coming:
        yes = sum(1 for p in people if p.answer == Answer.ATTEND)
        return COMING.format(
            i=i,
            title=m.title,
            time=time,
            phase=phase_label(m, ctx.now),
            yes=yes,
            invited=len(people),
        )
    present = await attended_ids(ctx.session, m)
    made = await decisions(ctx.session, m)
    items = await items_by_source(ctx.session, DECISION_SOURCE, [d.id for d in made])
    today = today_of(ctx.now)
    done = sum(1 for x in items.values() if x.status == Status.DONE)
    late = sum(1 for x in items.values() if x.status in ACTIVE and x.overdue_days(today))
    return PAST.format(
        i=i,
        title=m.title,
        time=time,
        present=sum(1 for p in people if p.member_id in present),
        invited=len(people),
        decisions=len(made),
        state=PAST_STATE.format(done=done, late=late) if items else "",
    )


async def view(ctx: Context, meeting: int) -> list[Reply]:
    """Button: a meeting's detail and what the viewer may do now."""
    found = await get_meeting(ctx.session, meeting)
    if not await _may_see(ctx, found):
        return [Reply(NOT_FOUND)]
    assert found is not None
    return [await detail(ctx, found)]


async def detail(ctx: Context, meeting: Meeting) -> Reply:
    now = ctx.now
    convener = meeting.convener.name if meeting.convener else ""
    recorder = meeting.recorder.name if meeting.recorder else ""
    lines = [
        HEAD.format(
            title=meeting.title,
            kind=KIND_ZH[meeting.kind],
            alliance=meeting.activity.alliance.name,
            time=time_of(meeting, now),
            place=meeting.activity.place,
            convener=convener,
            recorder=recorder,
            phase=phase_label(meeting, now),
        )
    ]
    people = await invitees(ctx.session, meeting)
    members = [p for p in people if p.role == InviteeRole.MEMBER]
    runs = may_run(ctx.me, meeting)
    if meeting.phase(now) in ("proposing", "upcoming"):
        counts = {a: sum(1 for p in members if p.answer == a) for a in Answer}
        lines.append(
            ANSWERS.format(
                yes=counts[Answer.ATTEND],
                no=counts[Answer.LEAVE],
                none=counts[Answer.NONE],
                invited=len(members),
            )
        )
    else:
        present = await attended_ids(ctx.session, meeting)
        lines.append(
            ATTENDED.format(
                present=sum(1 for p in members if p.member_id in present), invited=len(members)
            )
        )
    leaves = [p for p in people if p.answer == Answer.LEAVE]
    if leaves and runs:
        lines.append(
            LEAVES.format(names="、".join(f"{p.member.name}（{p.reason}）" for p in leaves))
        )
    items = await agenda(ctx.session, meeting)
    running = [a for a in items if a.state in (AgendaState.REVIEW, AgendaState.ACCEPTED)]
    lines.append(AGENDA_TITLE)
    if not running:
        lines.append(AGENDA_EMPTY)
    for i, item in enumerate(running, 1):
        lines.append(f"{i}. {item.title}")
        if item.state == AgendaState.REVIEW:
            reviewed = (
                frozen_review_lines(item, now)
                if meeting.closed_at
                else review_lines(await review_items(ctx.session, meeting), now)
            )
            lines += [f"   {line}" for line in reviewed]
    proposed = [a for a in items if a.state == AgendaState.PROPOSED]
    if proposed:
        lines.append(PROPOSED_TITLE)
        lines += [f"· {a.title}（{_proposer(a)}）" for a in proposed]
    parked = [a for a in items if a.state == AgendaState.PARKED]
    if parked and runs:
        lines.append(PARKED_TITLE)
        lines += [f"· {a.title}" for a in parked]
    made = await decisions(ctx.session, meeting)
    if made:
        lines.append(DECISIONS_TITLE)
        lines += [decision_line(i, d, now) for i, d in enumerate(made, 1)]
    mine = await invitee(ctx.session, meeting, ctx.me)
    if mine is not None and meeting.phase(now) in ("proposing", "upcoming"):
        lines.append(MY_ANSWER.format(answer=ANSWER_ZH[mine.answer]))
    return Reply("\n".join(lines), _buttons(ctx, meeting, mine is not None, proposed, runs))


def _proposer(item: AgendaItem) -> str:
    if item.unit is not None:
        return item.unit.name
    return item.proposer.name if item.proposer else ""


def _buttons(
    ctx: Context, meeting: Meeting, invited: bool, proposed: list[AgendaItem], runs: bool
) -> tuple[Button, ...]:
    phase = meeting.phase(ctx.now)
    buttons: list[Button] = []
    if invited and phase in ("proposing", "upcoming"):
        buttons += [
            Button("参加", "meetings.rsvp", meeting=meeting.id, do="attend"),
            Button("请假", "meetings.rsvp", meeting=meeting.id, do="leave"),
        ]
    if phase == "proposing" and may_propose(ctx.me, meeting):
        buttons.append(Button("提议题", "propose", meeting=meeting.id))
    if runs and phase in ("proposing", "upcoming"):
        for i, item in enumerate(proposed[:5], 1):
            buttons += [
                Button(f"采纳 {i}", "meetings.topic", item=item.id, do="accept"),
                Button(f"暂缓 {i}", "meetings.topic", item=item.id, do="park"),
            ]
    if runs and phase in ("upcoming", "running", "ended"):
        buttons.append(Button("记录会议", "minutes", meeting=meeting.id))
    if runs and phase in ("running", "ended"):
        buttons.append(Button("关闭会议", "minutes.close", meeting=meeting.id))
    if phase == "closed":
        buttons.append(Button("下载会议记录", "meetings.doc", meeting=meeting.id))
    return tuple(buttons)


async def rsvp(ctx: Context, meeting: int, do: str) -> list[Reply]:
    """Button: 参加 at once; 请假 asks for the reason first."""
    found = await get_meeting(ctx.session, meeting)
    if found is None or await invitee(ctx.session, found, ctx.me) is None:
        return [Reply(ERRORS["not_invited"].format(title=found.title if found else ""))]
    if do == "leave":
        if found.closed_at is not None or ctx.now >= found.ends_at:
            return [Reply(ERRORS["closed"].format(title=found.title))]
        await ctx.dialog.set_state(leave_reason, meeting_id=found.id)
        return [Reply(ASK_REASON)]
    return await _answer(ctx, found, True, "")


@FLOW.step("reason", free_text=True)
async def leave_reason(ctx: Context, text: str = "") -> list[Reply]:
    """Step: why the invitee cannot come; the convener is told."""
    found = await get_meeting(ctx.session, int(ctx.dialog.get_data().get("meeting_id", 0)))
    if found is None:
        await ctx.dialog.clear()
        return [Reply(NOT_FOUND)]
    if not text.strip():
        return [Reply(ERRORS["reason_required"])]
    return await _answer(ctx, found, False, text)


async def _answer(ctx: Context, meeting: Meeting, attend: bool, reason: str) -> list[Reply]:
    try:
        row = await answer(
            session=ctx.session,
            meeting=meeting,
            member=ctx.me,
            attend=attend,
            reason=reason,
            now=ctx.now,
        )
    except MeetingError as error:
        await ctx.dialog.clear()
        return [Reply(ERRORS.get(error.reason, NOT_FOUND).format(title=meeting.title))]
    await ctx.dialog.clear()
    if not attend and meeting.convener_id and meeting.convener_id != ctx.me.id:
        unit = ctx.me.home_unit.name if ctx.me.home_unit else ""
        note = LEAVE_NOTE.format(
            name=ctx.me.name, unit=unit, title=meeting.title, reason=row.reason
        )
        await ctx.notify(
            meeting.convener_id,
            Reply(note, (Button("查看", "meetings.view", meeting=meeting.id),)),
        )
    text = ATTENDING if attend else ON_LEAVE
    return [Reply(text.format(title=meeting.title, time=time_of(meeting, ctx.now)))]


async def topic(ctx: Context, item: int, do: str) -> list[Reply]:
    """Button: 采纳 (onto the agenda) or 暂缓 (parked, offered again next time) a topic."""
    row = await ctx.session.get(AgendaItem, item)
    found = await get_meeting(ctx.session, row.meeting_id) if row else None
    if row is None or found is None:
        return [Reply(NOT_FOUND)]
    if row.state != AgendaState.PROPOSED:
        return [await detail(ctx, found)]
    accept = do == "accept"
    try:
        await decide_topic(
            session=ctx.session, meeting=found, item=row, member=ctx.me, accept=accept, now=ctx.now
        )
    except MeetingError as error:
        return [Reply(ERRORS.get(error.reason, NOT_FOUND).format(title=found.title))]
    if row.proposer_id and row.proposer_id != ctx.me.id:
        told = TOPIC_FOR_PROPOSER[accept].format(topic=row.title, title=found.title)
        await ctx.notify(row.proposer_id, Reply(told))
    said = (TOPIC_ACCEPTED if accept else TOPIC_PARKED).format(topic=row.title, title=found.title)
    shown = await detail(ctx, found)
    return [Reply(said), shown]


async def doc(ctx: Context, meeting: int) -> list[Reply]:
    """Button: the minutes (.docx) of a closed meeting."""
    found = await get_meeting(ctx.session, meeting)
    if not await _may_see(ctx, found):
        return [Reply(NOT_FOUND)]
    assert found is not None
    if found.closed_at is None:
        return [Reply(NO_DOC)]
    path = await minutes_file(ctx.session, found, ctx.settings, ctx.now)
    return [Reply(DOC.format(title=found.title), file=path)]


async def send_invitations(ctx: Context, meeting: Meeting) -> int:
    """The notice to every invitee but the convener (参加 / 请假 buttons for those who attend);
    how many were told."""
    people = await invitees(ctx.session, meeting)
    values = {
        "title": meeting.title,
        "kind": KIND_ZH[meeting.kind],
        "time": time_of(meeting, ctx.now),
        "place": meeting.activity.place,
        "convener": meeting.convener.name if meeting.convener else "",
    }
    deadline = show_when(meeting.agenda_deadline, ctx.now)
    told = 0
    for person in people:
        if person.member_id == ctx.me.id:
            continue
        told += 1
        if person.role == InviteeRole.MEMBER:
            text = invitation(deadline=deadline, **values)
            buttons = (
                Button("参加", "meetings.rsvp", meeting=meeting.id, do="attend"),
                Button("请假", "meetings.rsvp", meeting=meeting.id, do="leave"),
                Button("查看", "meetings.view", meeting=meeting.id),
            )
        else:
            text = GUEST_INVITATION.format(**values)
            buttons = (Button("查看", "meetings.view", meeting=meeting.id),)
        await ctx.notify(
            person.member_id,
            Reply(text, buttons),
            kind="meeting",
            ref_id=meeting.id,
            dedupe_key=f"meeting:{meeting.id}:invite:{person.member_id}",
        )
    return told


def coming(meetings: list[Meeting], now: datetime) -> list[Meeting]:
    return [m for m in meetings if m.closed_at is None and m.ends_at > now]

"""How meetings read on a phone: kinds, phases, the invitation, list lines, the review of
earlier decisions (上次决议落实情况) and the closing summary."""

from __future__ import annotations

from datetime import date, datetime

from bot.core.clock import fmt_local, local_datetime, to_local
from bot.core.times import show_when
from models.meeting import (
    AgendaItem,
    Answer,
    InviteeRole,
    Meeting,
    MeetingDecision,
    MeetingInvitee,
    MeetingKind,
    Reviewed,
)
from models.minutes import (
    decision_state,
)

KIND_ZH = {MeetingKind.JOINT: "党建联席会议", MeetingKind.DEVELOPMENT: "发展联议"}
PHASE_ZH = {
    "proposing": "议题征集中（{deadline} 截止）",
    "upcoming": "议程已确定",
    "running": "正在进行",
    "ended": "已结束，待关闭（记录至 {until}）",
    "closed": "已关闭",
}
ROLE_ZH = {InviteeRole.MEMBER: "出席", InviteeRole.DEPARTMENT: "列席", InviteeRole.UPPER: "列席"}
ANSWER_ZH = {Answer.NONE: "未回复", Answer.ATTEND: "参加", Answer.LEAVE: "请假"}
DECISION_STATE_ZH = {
    "done": "已完成",
    "done_late": "已完成（逾期）",
    "overdue": "已逾期",
    "extended": "已延期",
    "open": "办理中",
    "cancelled": "已撤销",
}
INVITATION = (
    "📣 会议通知：《{title}》（{kind}）\n时间：{time}\n地点：{place}\n召集：{convener}\n"
    "议题征集至 {deadline}，发送“提议题”提交。请回复是否参加："
)
GUEST_INVITATION = (
    "📣 列席邀请：《{title}》（{kind}）\n时间：{time}\n地点：{place}\n召集：{convener}"
)
UPPER_REPORT = (
    "📋 会议报备：{alliance}将于 {time} 召开《{title}》（{kind}），地点：{place}。\n议程：{agenda}"
)
NO_AGENDA = "（议程待定）"
SUMMARY_HEAD = "📄 《{title}》会议纪要\n时间：{time} · 地点：{place}"
SUMMARY_ATTENDANCE = "出席 {present}/{invited} 人" + "{absent}"
SUMMARY_ABSENT = "；缺席：{names}"
SUMMARY_AGENDA = "议程：{titles}"
SUMMARY_DECISIONS = "决议 {count} 项："
SUMMARY_NO_DECISIONS = "本次会议未形成决议。"
SUMMARY_TAIL = "会议记录见附件（.docx）。"
DECISION_LINE = "{i}. {text}（责任：{owner}，时限：{due}{help}）"
NEEDS_HELP = "，需部门协助"
REVIEW_LINE = "· {text}（{owner}，时限 {due}）— {state}"


def invitation(
    *, title: str, kind: str, time: str, place: str, convener: str, deadline: str
) -> str:
    return INVITATION.format(
        title=title, kind=kind, time=time, place=place, convener=convener, deadline=deadline
    )


def time_of(meeting: Meeting, now: datetime) -> str:
    return f"{show_when(meeting.starts_at, now)}-{to_local(meeting.ends_at):%H:%M}"


def phase_label(meeting: Meeting, now: datetime) -> str:
    return PHASE_ZH[meeting.phase(now)].format(
        deadline=show_when(meeting.agenda_deadline, now), until=fmt_local(meeting.record_until())
    )


def show_day(day: date, now: datetime) -> str:
    return show_when(local_datetime(day.year, day.month, day.day), now, clock=False)


def owner_of(decision: MeetingDecision) -> str:
    if decision.owner_unit is not None:
        return decision.owner_unit.name
    return decision.owner_member.name if decision.owner_member else ""


def decision_line(i: int, decision: MeetingDecision, now: datetime) -> str:
    return DECISION_LINE.format(
        i=i,
        text=decision.text,
        owner=owner_of(decision),
        due=show_day(decision.due_on, now),
        help=NEEDS_HELP if decision.needs_departments else "",
    )


def review_lines(reviewed: list[Reviewed], now: datetime) -> list[str]:
    """上次决议落实情况, live: each earlier decision and its state now."""
    return [
        REVIEW_LINE.format(
            text=r.decision.text,
            owner=owner_of(r.decision),
            due=show_day(r.item.due_on if r.item else r.decision.due_on, now),
            state=DECISION_STATE_ZH[decision_state(r.item, now)],
        )
        for r in reviewed
    ]


def frozen_review_lines(item: AgendaItem, now: datetime) -> list[str]:
    """The review as it was at the close (kept on the agenda item)."""
    return [
        REVIEW_LINE.format(
            text=row["text"],
            owner=row["owner"],
            due=show_day(date.fromisoformat(row["due"]), now),
            state=DECISION_STATE_ZH.get(row["state"], row["state"]),
        )
        for row in item.review
    ]


def closing_summary(
    meeting: Meeting,
    now: datetime,
    *,
    running: list[AgendaItem],
    decisions: list[MeetingDecision],
    people: list[MeetingInvitee],
    present: set[int],
) -> str:
    members = [p for p in people if p.role == InviteeRole.MEMBER]
    absent = [p for p in members if p.member_id not in present]
    absent_text = (
        SUMMARY_ABSENT.format(names="、".join(absentee(p) for p in absent)) if absent else ""
    )
    lines = [
        SUMMARY_HEAD.format(
            title=meeting.title, time=time_of(meeting, now), place=meeting.activity.place
        ),
        SUMMARY_ATTENDANCE.format(
            present=sum(1 for p in members if p.member_id in present),
            invited=len(members),
            absent=absent_text,
        ),
        SUMMARY_AGENDA.format(
            titles="；".join(f"{i}. {a.title}" for i, a in enumerate(running, 1))
        ),
    ]
    if decisions:
        lines.append(SUMMARY_DECISIONS.format(count=len(decisions)))
        lines += [decision_line(i, d, now) for i, d in enumerate(decisions, 1)]
    else:
        lines.append(SUMMARY_NO_DECISIONS)
    lines.append(SUMMARY_TAIL)
    return "\n".join(lines)


def absentee(person: MeetingInvitee) -> str:
    """A name with the reason given: 张三（请假：外出学习）, or 李四（未请假）."""
    if person.answer == Answer.LEAVE:
        return f"{person.member.name}（请假：{person.reason}）"
    return f"{person.member.name}（未请假）"

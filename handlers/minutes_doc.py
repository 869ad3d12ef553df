"""The minutes as a Word document in the 会议记录 layout: a bordered form with 会议名称, 时间,
地点, 主持人, 记录人, 应到/实到, 出席, 列席, 缺席及原因, 议题, then 会议内容 item by item
(讨论情况, 决议 with owner, due date and whether departments help; for the standing first item
the earlier decisions and their state), and the signature lines.

Written once when the meeting closes, to FILES_DIR/minutes/meeting-<id>.docx (the minutes are
locked from then on, so the file never goes stale); `build_minutes` writes any path.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import fmt_local, to_local
from handlers.meeting_text import DECISION_STATE_ZH, KIND_ZH, absentee, owner_of
from models.meeting import (
    AgendaItem,
    AgendaState,
    InviteeRole,
    Meeting,
    MeetingInvitee,
    agenda,
    attended_ids,
    decisions,
    invitees,
    review_items,
)
from models.meeting import departments as meeting_departments
from models.minutes import (
    decision_state,
)
from settings import Settings

if TYPE_CHECKING:
    from docx.table import _Cell

# python-docx is imported where a document is written, not at start (~0.25 s and ~90 modules
# that most processes never use).

TITLE = "会 议 记 录"
BODY_FONT, HEAD_FONT = "宋体", "黑体"
NUMERALS = "一二三四五六七八九十"
NONE = "无"
SIGN = "主持人（签字）：__________        记录人（签字）：__________"
LOCKED = "本记录于 {closed} 关闭锁定，由红盟助手生成。"
NOT_CLOSED = "（会议尚未关闭，记录未锁定）"
DECISION = "{i}. {text}（责任：{owner}；完成时限：{due}{help}）"
HELP = "；需部门协助"
REVIEWED = "· {text}（责任：{owner}；时限：{due}）：{state}"


def _font(run: object, name: str, size: float, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = name  # type: ignore[attr-defined]
    run.font.size = Pt(size)  # type: ignore[attr-defined]
    run.font.bold = bold  # type: ignore[attr-defined]
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()  # type: ignore[attr-defined]
    fonts.set(qn("w:eastAsia"), name)


def _write(cell: _Cell, lines: list[str], *, bold: bool = False, center: bool = False) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    cell.text = ""
    for i, line in enumerate(lines or [""]):
        paragraph = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        if center:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(paragraph.add_run(line), HEAD_FONT if bold else BODY_FONT, 11, bold)


def _row(
    table: object, label: str, value: list[str], *, pairs: tuple[str, str] | None = None
) -> None:
    """A form row: label | value across, or label | value | label | value."""
    cells = table.add_row().cells  # type: ignore[attr-defined]
    _write(cells[0], [label], bold=True, center=True)
    if pairs is None:
        merged = cells[1].merge(cells[3])
        _write(merged, value)
        return
    _write(cells[1], value)
    _write(cells[2], [pairs[0]], bold=True, center=True)
    _write(cells[3], [pairs[1]])


async def build_minutes(
    session: AsyncSession, meeting: Meeting, path: Path, now: datetime
) -> Path:
    """Write the minutes of `meeting` to `path` (.docx)."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    people = await invitees(session, meeting)
    present = await attended_ids(session, meeting)
    items = await agenda(session, meeting, (AgendaState.REVIEW, AgendaState.ACCEPTED))
    made = await decisions(session, meeting)
    members = [p for p in people if p.role == InviteeRole.MEMBER]
    guests = [p for p in people if p.role != InviteeRole.MEMBER]

    document = Document()
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin = section.bottom_margin = Cm(2.2)
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(heading.add_run(TITLE), HEAD_FONT, 22, bold=True)
    sub = document.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(
        sub.add_run(f"{meeting.activity.alliance.name} · {KIND_ZH[meeting.kind]}"), BODY_FONT, 12
    )

    table = document.add_table(rows=0, cols=4)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    convener = meeting.convener.name if meeting.convener else ""
    recorder = meeting.recorder.name if meeting.recorder else ""
    _row(table, "会议名称", [meeting.title])
    _row(table, "时间", [_when(meeting)])
    _row(table, "地点", [meeting.activity.place])
    _row(table, "主持人", [convener], pairs=("记录人", recorder))
    came = [p for p in members if p.member_id in present]
    _row(table, "应到人数", [f"{len(members)} 人"], pairs=("实到人数", f"{len(came)} 人"))
    _row(table, "出席人员", ["、".join(_person(p) for p in came) or NONE])
    names = {d.id: d.name for d in await meeting_departments(session, meeting.department_ids)}
    _row(table, "列席人员", ["、".join(_person(p, names) for p in guests) or NONE])
    absent = [p for p in members if p.member_id not in present]
    _row(table, "缺席人员及原因", ["、".join(absentee(p) for p in absent) or NONE])
    _row(table, "议题", [f"{i}. {a.title}" for i, a in enumerate(items, 1)] or [NONE])
    content: list[str] = []
    for i, item in enumerate(items):
        content.append(f"{NUMERALS[i] if i < len(NUMERALS) else i + 1}、{item.title}")
        if item.state == AgendaState.REVIEW:
            content += await _review(session, meeting, item, now) or [NONE]
        if item.notes:
            content.append(f"讨论情况：{item.notes}")
        mine = [d for d in made if d.agenda_id == item.id]
        if mine:
            content.append("决议：")
            content += [
                DECISION.format(
                    i=n,
                    text=d.text,
                    owner=owner_of(d),
                    due=_day(d.due_on),
                    help=HELP if d.needs_departments else "",
                )
                for n, d in enumerate(mine, 1)
            ]
    _row(table, "会议内容", content or [NONE])
    for row in table.rows:
        row.cells[0].width = row.cells[2].width = Cm(3.0)
        row.cells[1].width = row.cells[3].width = Cm(5.0)

    document.add_paragraph()
    _font(document.add_paragraph().add_run(SIGN), BODY_FONT, 11)
    footer = (
        LOCKED.format(closed=fmt_local(meeting.closed_at, "%Y年%m月%d日 %H:%M"))
        if meeting.closed_at
        else NOT_CLOSED
    )
    _font(document.add_paragraph().add_run(footer), BODY_FONT, 9)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def _person(person: MeetingInvitee, departments: dict[int, str] | None = None) -> str:
    """张三（某某公司）; a department's officer with the department."""
    member = person.member
    if person.unit is not None:
        return f"{member.name}（{person.unit.name}）"
    if person.role == InviteeRole.UPPER:
        return f"{member.name}（上级党组织）"
    department = (departments or {}).get(member.department_id or 0)
    return f"{member.name}（{department}）" if department else member.name


async def _review(
    session: AsyncSession, meeting: Meeting, item: AgendaItem, now: datetime
) -> list[str]:
    """上次决议落实情况: as frozen at the close, or as it stands now while still open."""
    if meeting.closed_at is not None:
        rows = [
            (r["text"], r["owner"], date.fromisoformat(r["due"]), r["state"]) for r in item.review
        ]
    else:
        rows = [
            (
                r.decision.text,
                owner_of(r.decision),
                r.item.due_on if r.item else r.decision.due_on,
                decision_state(r.item, now),
            )
            for r in await review_items(session, meeting)
        ]
    return [
        REVIEWED.format(text=text, owner=owner, due=_day(due), state=DECISION_STATE_ZH[state])
        for text, owner, due, state in rows
    ]


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _when(meeting: Meeting) -> str:
    start, end = to_local(meeting.starts_at), to_local(meeting.ends_at)
    weekday = "一二三四五六日"[start.weekday()]
    return f"{_day(start.date())}（周{weekday}）{start:%H:%M}—{end:%H:%M}"


def minutes_path(settings: Settings, meeting: Meeting) -> Path:
    return settings.files_dir / "minutes" / f"meeting-{meeting.id}.docx"


async def minutes_file(
    session: AsyncSession, meeting: Meeting, settings: Settings, now: datetime
) -> Path:
    """The closed meeting's .docx (written the first time it is asked for)."""
    path = minutes_path(settings, meeting)
    if meeting.closed_at is None or not path.is_file():
        await build_minutes(session, meeting, path, now)
    return path

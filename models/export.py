"""Excel (.xlsx) exports for a county office: members, attendance, tickets, notices, resources.

Each function writes one sheet and returns the number of data rows; `scope` limits the rows
to an admin's alliances (models.scope.Scope; the county by default). Values are what people
read in chat (Chinese states, categories, ratings), times are real Excel dates in local time,
the header row is frozen and filterable, and every column has a width that fits it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.core import ROLE_NAMES_ZH, Role
from bot.core.clock import to_local
from models.activity import Activity, activity_loads, live
from models.checkin import METHOD_ZH, Attendance, attendance
from models.member import Identity, Member
from models.notice import AudienceKind, Notice, NoticeRecipient, NoticeState, delivery
from models.org import Alliance, Membership
from models.routing import category_label
from models.scope import Scope
from models.ticket import OPEN_STATES, RATING_ZH, STATE_ZH, Ticket
from models.ticket_deadlines import late_deadlines

if TYPE_CHECKING:
    from models.roster import IssuedInvite

DATETIME = "yyyy-mm-dd hh:mm"
DATE = "yyyy-mm-dd"
PERCENT = "0%"
LATE_ZH = {"sign": "超过签收时限", "resolve": "超过办结时限"}
PLATFORM_ZH = {"telegram": "Telegram", "wecom": "企业微信", "console": "控制台"}
AUDIENCE_ZH = {
    AudienceKind.ALL: "全体",
    AudienceKind.ALLIANCES: "指定联盟",
    AudienceKind.UNITS: "指定单位",
    AudienceKind.SECRETARIES: "支部书记",
    AudienceKind.MOBILE: "流动党员",
}
NOTICE_STATE_ZH = {
    NoticeState.SCHEDULED: "定时待发",
    NoticeState.SENT: "已发送",
    NoticeState.CANCELLED: "已取消",
}


@dataclass(frozen=True)
class Column:
    """A column: its header, its width in characters, and how its cells are shown."""

    title: str
    width: int
    format: str | None = None  # DATETIME, DATE, PERCENT; None: as written (times: DATETIME)
    wrap: bool = False


def _column(column: Column | str) -> Column:
    """A plain header (the console's listings) gets a width from its length."""
    return column if isinstance(column, Column) else Column(column, max(10, 2 * len(column) + 4))


def _save(
    path: Path, title: str, columns: Sequence[Column | str], rows: Iterable[Sequence[object]]
) -> int:
    """Write one sheet (see sheet_book); returns the rows."""
    book, count = sheet_book(title, columns, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return count


def sheet_book(
    title: str, columns: Sequence[Column | str], rows: Iterable[Sequence[object]]
) -> tuple[Any, int]:
    """An openpyxl workbook of one sheet (files sent in chat and the web console's downloads):
    a bold frozen header with filters, widths, formats; and its row count."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    columns = [_column(c) for c in columns]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    sheet.append([c.title for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="F2DCDB")
    count = 0
    for row in rows:
        sheet.append([_cell(v) for v in row])
        count += 1
        for column, value, cell in zip(columns, row, sheet[sheet.max_row], strict=True):
            shown = column.format or (DATETIME if isinstance(value, datetime) else None)
            if shown and cell.value is not None and cell.value != "":
                cell.number_format = shown
            if column.wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, column in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(i)].width = column.width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, count + 1)}"
    return book, count


def _cell(value: object) -> object:
    """Times as local Excel dates (Excel has no time zones); None as an empty cell."""
    if isinstance(value, datetime):
        return to_local(value).replace(tzinfo=None, microsecond=0)
    return "" if value is None else value


def _yes(value: bool) -> str:
    return "是" if value else "否"


async def _unit_alliances(session: AsyncSession) -> dict[int, list[str]]:
    rows = await session.execute(
        select(Membership.unit_id, Alliance.name)
        .join(Alliance, Alliance.id == Membership.alliance_id)
        .order_by(Alliance.id)
    )
    found: dict[int, list[str]] = {}
    for unit_id, name in rows:
        found.setdefault(unit_id, []).append(name)
    return found


async def export_members(*, session: AsyncSession, path: Path, scope: Scope = Scope.COUNTY) -> int:
    """One row per member: name, phone, unit, alliances, department, roles, party member,
    mobile, workplace, and whether (and where) they use the bot."""
    stmt = (
        select(Member)
        .options(selectinload(Member.home_unit), selectinload(Member.department))
        .order_by(Member.id)
    )
    if not scope.county:
        stmt = stmt.where(scope.units_where(Member.home_unit_id))
    members = list((await session.execute(stmt)).scalars())
    alliances = await _unit_alliances(session)
    platforms: dict[int, set[str]] = {}
    for member_id, platform in await session.execute(
        select(Identity.member_id, Identity.platform).where(Identity.unreachable.is_(False))
    ):
        platforms.setdefault(member_id, set()).add(platform)
    rows = (
        [
            m.name,
            m.phone,
            m.home_unit.name if m.home_unit else "",
            "、".join(alliances.get(m.home_unit_id or 0, [])),
            m.department.name if m.department else "",
            _roles(m),
            _yes(m.is_party_member),
            _yes(m.is_mobile),
            m.workplace,
            "已绑定" if m.id in platforms else "未绑定",
            "、".join(PLATFORM_ZH.get(p, p) for p in sorted(platforms.get(m.id, ()))),
        ]
        for m in members
    )
    columns = [
        Column("姓名", 12),
        Column("手机号", 14),
        Column("所在单位", 30),
        Column("所属联盟", 34),
        Column("所在部门", 20),
        Column("身份", 20),
        Column("党员", 6),
        Column("流动党员", 9),
        Column("外出工作地", 18),
        Column("是否绑定", 9),
        Column("绑定平台", 12),
    ]
    return _save(path, "成员名单", columns, rows)


def _roles(member: Member) -> str:
    held = [r.role for r in member.roles_in_order()]
    names = [ROLE_NAMES_ZH[Role(r)] for r in dict.fromkeys(held)]
    return "、".join(names) or ROLE_NAMES_ZH[Role.MEMBER]


def _on_time(ticket: Ticket, now: datetime) -> str:
    """按时办结: 是 / 否 once resolved; 已超期 / 未到期 while open; — when not taken on."""
    if ticket.resolved_at is not None:
        return _yes(ticket.resolved_at <= ticket.resolve_due_at)
    if ticket.state in OPEN_STATES:
        return "已超期" if ticket.resolve_due_at <= now else "未到期"
    return "—"


async def export_tickets(
    *,
    session: AsyncSession,
    path: Path,
    scope: Scope = Scope.COUNTY,
    now: datetime | None = None,
) -> int:
    """One row per ticket: what, who, where it went, the deadlines, the result and rating."""
    now = now or datetime.now().astimezone()
    stmt = select(Ticket).order_by(Ticket.id).where(scope.where(Ticket.alliance_id))
    tickets = list((await session.execute(stmt)).scalars())
    alliances = dict((await session.execute(select(Alliance.id, Alliance.name))).all())
    merged = dict((await session.execute(select(Ticket.id, Ticket.number))).all())
    rows = (
        [
            t.number,
            STATE_ZH[t.state],
            category_label(t.category),
            t.committee,
            t.department.name if t.department else "待分派",
            t.unit.name if t.unit else "",
            alliances.get(t.alliance_id, ""),
            t.reporter.name,
            t.reporter.phone,
            len(t.reporters),
            t.text,
            t.created_at,
            t.signed_at,
            t.sign_due_at,
            t.resolved_at,
            t.resolve_due_at,
            _on_time(t, now),
            "、".join(LATE_ZH[d] for d in late_deadlines(t, now)),
            t.resolution,
            RATING_ZH.get(t.rating or "", ""),
            merged.get(t.merged_into_id or 0, ""),
            t.closed_at,
        ]
        for t in tickets
    )
    columns = [
        Column("工单号", 15),
        Column("状态", 16),
        Column("分类", 10),
        Column("跟进委员会", 10),
        Column("承办部门", 22),
        Column("反映单位", 30),
        Column("所属联盟", 26),
        Column("反映人", 10),
        Column("联系电话", 14),
        Column("反映人数", 9),
        Column("问题", 40, wrap=True),
        Column("提交时间", 17, DATETIME),
        Column("签收时间", 17, DATETIME),
        Column("签收时限", 17, DATETIME),
        Column("办结时间", 17, DATETIME),
        Column("办结时限", 17, DATETIME),
        Column("按时办结", 9),
        Column("超时", 18),
        Column("办理结果", 40, wrap=True),
        Column("评价", 9),
        Column("并入工单", 15),
        Column("关闭时间", 17, DATETIME),
    ]
    return _save(path, "吹哨工单", columns, rows)


async def export_notices(*, session: AsyncSession, path: Path, scope: Scope = Scope.COUNTY) -> int:
    """One row per notice with receipts in scope: when, who sent it, to whom, the text, and
    its receipts: delivered, not reached (not bound or failed), acknowledged, the rate."""
    stmt = select(NoticeRecipient.notice_id, NoticeRecipient.member_id, NoticeRecipient.acked_at)
    if not scope.county:
        members = select(Member.id).where(scope.units_where(Member.home_unit_id))
        stmt = stmt.where(NoticeRecipient.member_id.in_(members))
    receipts = (await session.execute(stmt)).all()
    reach = await delivery(session=session, notice_ids={n for n, _, _ in receipts})
    counts: dict[int, list[int]] = {}
    for notice_id, member_id, acked in receipts:
        reached = acked is not None or reach.get((notice_id, member_id)) == "delivered"
        pending = not reached and reach.get((notice_id, member_id)) == "pending"
        pair = counts.setdefault(notice_id, [0, 0, 0, 0])
        pair[0] += 1
        pair[1] += int(reached)
        pair[2] += int(not reached and not pending)
        pair[3] += int(acked is not None)
    notices = list(
        (
            await session.execute(
                select(Notice)
                .where(Notice.id.in_(list(counts)))
                .order_by(Notice.sent_at, Notice.id)
            )
        ).scalars()
    )
    authors = dict(
        (
            await session.execute(
                select(Member.id, Member.name).where(
                    Member.id.in_([n.author_id for n in notices if n.author_id])
                )
            )
        ).all()
    )
    rows = (
        [
            n.id,
            n.sent_at,
            authors.get(n.author_id or 0, ""),
            AUDIENCE_ZH.get(AudienceKind(n.audience.get("kind", AudienceKind.ALL)), ""),
            n.text,
            *counts[n.id],
            counts[n.id][3] / counts[n.id][1] if counts[n.id][1] else None,
        ]
        for n in notices
        if n.sent_at is not None
    )
    columns = [
        Column("编号", 6),
        Column("发送时间", 17, DATETIME),
        Column("发送人", 22),
        Column("对象", 10),
        Column("内容", 50, wrap=True),
        Column("应收人数", 9),
        Column("送达人数", 9),
        Column("未送达（未绑定或失败）", 12),
        Column("已确认", 8),
        Column("确认率（已确认÷送达）", 12, PERCENT),
    ]
    return _save(path, "通知确认情况", columns, rows)


async def export_resources(
    *, session: AsyncSession, path: Path, scope: Scope = Scope.COUNTY
) -> int:
    """One row per resource visible to the scope: list, title, provider, contact, where it is
    visible, its last valid day, and the match requests it had."""
    from models.resource import MatchRequest, MatchState, Resource, ResourceAlliance

    stmt = (
        select(Resource)
        .order_by(Resource.kind, Resource.id)
        .options(selectinload(Resource.alliances).selectinload(ResourceAlliance.alliance))
    )
    if not scope.county:
        shared = select(ResourceAlliance.resource_id).where(
            scope.where(ResourceAlliance.alliance_id)
        )
        stmt = stmt.where(Resource.all_alliances.is_(True) | Resource.id.in_(shared))
    resources = list((await session.execute(stmt)).scalars())
    matched: dict[int, tuple[int, int]] = {}
    for resource_id, state, n in await session.execute(
        select(MatchRequest.resource_id, MatchRequest.state, func.count()).group_by(
            MatchRequest.resource_id, MatchRequest.state
        )
    ):
        asked, accepted = matched.get(resource_id, (0, 0))
        matched[resource_id] = (asked + n, accepted + (n if state == MatchState.ACCEPTED else 0))
    rows = (
        [
            f"{r.kind}清单",
            r.title,
            r.description,
            r.provider,
            r.contact,
            r.tags,
            "全部联盟" if r.all_alliances else "、".join(a.alliance.name for a in r.alliances),
            # Stored as the moment validity ends: midnight after the last valid day.
            (to_local(r.valid_until) - timedelta(days=1)).date() if r.valid_until else "长期",
            *matched.get(r.id, (0, 0)),
        ]
        for r in resources
    )
    columns = [
        Column("清单", 10),
        Column("标题", 30),
        Column("描述", 40, wrap=True),
        Column("提供单位", 30),
        Column("联系方式", 22),
        Column("标签", 16),
        Column("可见范围", 26),
        Column("有效期至", 12, DATE),
        Column("对接请求", 9),
        Column("已同意", 8),
    ]
    return _save(path, "资源清单", columns, rows)


async def export_attendance(
    *,
    session: AsyncSession,
    path: Path,
    scope: Scope = Scope.COUNTY,
    activity_ids: list[int] | None = None,
) -> int:
    """One row per member and activity (present or absent) of the activities in scope (or
    only these); mobile members from other alliances are marked as guests."""
    stmt = select(Activity).order_by(Activity.starts_at, Activity.id).options(*activity_loads())
    stmt = stmt.where(scope.where(Activity.alliance_id), live())
    if activity_ids is not None:
        stmt = stmt.where(Activity.id.in_(activity_ids))
    activities = list((await session.execute(stmt)).scalars())

    rows: list[list[object]] = []
    for activity in activities:
        rows += _attendance_rows(activity, await attendance(session, activity))
    columns = [
        Column("活动", 28),
        Column("联盟", 26),
        Column("开始时间", 17, DATETIME),
        Column("姓名", 12),
        Column("手机号", 14),
        Column("所在单位", 30),
        Column("是否签到", 9),
        Column("签到方式", 11),
        Column("签到时间", 17, DATETIME),
        Column("备注", 18),
    ]
    return _save(path, "签到记录", columns, rows)


def _attendance_rows(activity: Activity, figures: Attendance) -> list[list[object]]:
    head = [activity.title, activity.alliance.name, activity.starts_at]
    guests = {c.id for c in figures.guests}
    rows: list[list[object]] = []
    for c in figures.present:
        unit = c.member.home_unit.name if c.member.home_unit else ""
        note = "流动党员（外联盟）" if c.id in guests else ""
        rows.append(
            [*head, c.member.name, c.member.phone, unit, "是", METHOD_ZH[c.method], c.at, note]
        )
    for m in figures.absent:
        unit = m.home_unit.name if m.home_unit else ""
        rows.append([*head, m.name, m.phone, unit, "否", "", None, ""])
    return rows


INVITE_HEAD = (
    "姓名",
    "手机",
    "单位",
    "联盟",
    "邀请码",
    "有效期至",
    "Telegram 绑定链接",
    "聊天中发送",
)


def invite_rows(invites: Iterable[IssuedInvite], bot_username: str) -> list[list[object]]:
    """An invite sheet's rows: who, where, the code, until when, the deep link, what to type."""
    from models.roster import deep_link

    return [
        [
            i.name,
            i.phone,
            i.unit,
            i.alliances,
            i.code,
            i.expires_at,
            deep_link(bot_username, i.code),
            f"绑定 {i.code}",
        ]
        for i in invites
    ]


def export_invites(*, path: Path, invites: Iterable[IssuedInvite], bot_username: str) -> int:
    """The invite codes an office hands out, one row per member."""
    return _save(path, "邀请码", INVITE_HEAD, invite_rows(invites, bot_username))


OUTCOME_STATE_ZH = {
    "submitted": "待联盟审核",
    "returned": "已退回",
    "approved": "联盟已审核",
    "accepted": "县里已验收",
}


async def export_outcomes(
    *, session: AsyncSession, path: Path, scope: Scope = Scope.COUNTY, period: Any = None
) -> int:
    """One row per outcome entry of the period (models.outcome.Period; this year's by default
    is the caller's choice): alliance, unit, quarter, metric, the figure (yuan for money, as a
    number; the report's wording beside it), names, description, evidence, link, state and who
    approved and accepted it when."""
    from bot.core.money import show_amount
    from models.org import Unit
    from models.outcome import Kind, entries_in

    entries = await entries_in(session, scope, period)
    alliances = {a.id: a.name for a in (await session.execute(select(Alliance))).scalars()}
    unit_ids = {e.unit_id for e in entries if e.unit_id}
    units = {
        u.id: u.name
        for u in (await session.execute(select(Unit).where(Unit.id.in_(unit_ids)))).scalars()
    }
    columns = [
        Column("编号", 10),
        Column("联盟", 30),
        Column("单位", 30),
        Column("季度", 16),
        Column("指标", 18),
        Column("数值（金额为元）", 18),
        Column("计量单位", 8),
        Column("按报告口径", 16),
        Column("约数", 6),
        Column("名单", 30, wrap=True),
        Column("说明", 40, wrap=True),
        Column("凭证份数", 8),
        Column("凭证文件", 30, wrap=True),
        Column("关联", 16),
        Column("状态", 12),
        Column("退回或重开理由", 24, wrap=True),
        Column("填报人", 10),
        Column("填报时间", 18),
        Column("联盟审核人", 10),
        Column("审核时间", 18),
        Column("县里验收人", 10),
        Column("验收时间", 18),
    ]

    def row(e: Any) -> list[object]:
        spec = e.spec
        money = spec.kind == Kind.MONEY
        shown = show_amount(e.value, e.approximate) if money else f"{e.value}{spec.unit}"
        return [
            e.number,
            alliances.get(e.alliance_id, ""),
            units.get(e.unit_id, "联盟整体") if e.unit_id else "联盟整体",
            f"{e.year}年第{'一二三四'[e.quarter - 1]}季度",
            spec.name,
            e.value / 100 if money else e.value,
            spec.unit,
            shown,
            _yes(e.approximate),
            "、".join(str(n) for n in e.names),
            e.description,
            len(e.evidence),
            "；".join(x.name for x in e.evidence),
            e.link_label,
            OUTCOME_STATE_ZH.get(e.state, e.state),
            e.reason,
            e.submitted_by.name if e.submitted_by else "",
            e.submitted_at,
            e.approved_by.name if e.approved_by else "",
            e.approved_at,
            e.accepted_by.name if e.accepted_by else "",
            e.accepted_at,
        ]

    return _save(path, "成果台账", columns, (row(e) for e in entries))


FUND_COLUMNS = [
    Column("日期", 18),
    Column("编号", 10),
    Column("收支", 6),
    Column("类别", 12),
    Column("来源或用途", 40, wrap=True),
    Column("收入（元）", 14),
    Column("支出（元）", 14),
    Column("余额（元）", 14),
    Column("流水号或凭证", 24),
    Column("用于", 30, wrap=True),
]


def _fund_row(line: Any) -> list[object]:
    return [
        line.at,
        line.number,
        line.what,
        line.category,
        line.party,
        line.fen / 100 if line.fen > 0 else None,
        -line.fen / 100 if line.fen < 0 else None,
        line.balance / 100,
        line.voucher,
        line.link,
    ]


async def export_fund(*, session: AsyncSession, path: Path, fund: Any) -> int:
    """The party fund's ledger: each income and paid expense in order, its category, amount
    (yuan), the balance after it, its transfer number or voucher, and what it paid for."""
    from models.fund import ledger

    rows = [_fund_row(line) for line in await ledger(session, fund)]
    return _save(path, "党建经费账目", FUND_COLUMNS, rows)


async def export_funds(*, session: AsyncSession, path: Path, scope: Scope = Scope.COUNTY) -> int:
    """Every fund's ledger in one sheet, the alliance first (the county's download)."""
    from models.fund import Fund, ledger

    stmt = select(Fund).where(scope.where(Fund.alliance_id)).order_by(Fund.alliance_id)
    rows: list[list[object]] = []
    for fund in (await session.execute(stmt)).scalars():
        alliance = await session.get(Alliance, fund.alliance_id)
        name = alliance.name if alliance else ""
        rows += [[name, *_fund_row(line)] for line in await ledger(session, fund)]
    return _save(path, "党建经费账目", [Column("联盟", 30), *FUND_COLUMNS], rows)

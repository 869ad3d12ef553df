"""How outcomes are written: a figure the way the report writes it, an entry's card, the
paragraph of a period (the county's and each alliance's), and who is told of what."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Reply, Role
from bot.core.money import show_amount, show_count
from bot.core.times import show_when
from handlers.uploads import kind_zh, shown
from models.member import Member, MemberRole
from models.org import Alliance, Unit
from models.outcome import Figure, Kind, Metric, OutcomeEntry, Period, State, allowed
from models.rotation import alliance_admins
from models.scope import Scope
from settings import Settings

STATE_ZH = {
    State.SUBMITTED: "待联盟审核",
    State.RETURNED: "已退回，待修改",
    State.APPROVED: "联盟已审核，待县里验收",
    State.ACCEPTED: "县里已验收",
}
ACTION_ZH = {
    "edit": "修改",
    "approve": "通过",
    "return": "退回",
    "send_back": "退回",
    "accept": "验收",
    "reopen": "重新打开",
}
LOCKED_APPROVED = (
    "{number} 已由{who}于{when}审核通过，已锁定，不能再改。如需更正，请县委两新工委退回后再改。"
)
LOCKED_ACCEPTED = (
    "{number} 已由县里于{when}验收，已锁定，不能再改。如需更正，请县级管理员“重新打开”并写明理由。"
)
TOLD = {
    "submit": "📝 {who}填报了成果 {number}：{metric} {value}（{unit}，{period}），请审核。",
    "edit": "📝 {who}修改了成果 {number}：{metric} {value}，请重新审核。",
    "approve": "✅ 您填报的成果 {number}（{metric} {value}）已通过联盟审核，等待县里验收。",
    "approve_county": "📥 {alliance}的成果 {number}（{metric} {value}）已通过联盟审核，请验收。",
    "return": "↩️ 您填报的成果 {number}（{metric} {value}）被退回：{reason}\n请修改后再提交。",
    "send_back": "↩️ 县里退回了成果 {number}（{metric} {value}）：{reason}\n请修改后再提交。",
    "accept": "🏅 成果 {number}（{metric} {value}）已由县里验收，计入全县成果。",
    "reopen": "🔓 县里重新打开了成果 {number}（{metric} {value}）：{reason}\n请修改后再提交。",
}
SYSTEM = "系统统计"
BASIS = "（{entries}条成果，凭证{evidence}份）"


def figure_text(metric: Metric, value: int, approximate: bool = False) -> str:
    """3000余万元, 479人, 13个."""
    if metric.kind == Kind.MONEY:
        return show_amount(value, approximate)
    return show_count(value, metric.unit, approximate)


def entry_value(entry: OutcomeEntry) -> str:
    return figure_text(entry.spec, entry.value, entry.approximate)


def phrase(figure: Figure) -> str:
    """In the report's own words: 帮助成员企业降低成本3000余万元."""
    value = figure_text(figure.metric, figure.value, figure.approximate)
    if figure.metric.key == "compounds":
        value = value.removesuffix("个") + "个"
    return figure.metric.phrase.format(v=value)


def basis(figure: Figure) -> str:
    if figure.metric.derived:
        return f"（{SYSTEM}）"
    return BASIS.format(entries=figure.entries, evidence=figure.evidence)


def paragraph(period: Period, name: str, found: list[Figure]) -> str:
    """2026年，食品产业链党建红色联盟帮助成员企业降低成本3000余万元，产出效益超过1.7亿元。"""
    if not found:
        return f"{period.label}，{name}暂无已验收的成果。"
    return f"{period.label}，{name}" + "，".join(phrase(f) for f in found) + "。"


def figure_lines(found: list[Figure]) -> list[str]:
    return [f"· {phrase(f)}{basis(f)}" for f in found]


async def place(session: AsyncSession, entry: OutcomeEntry) -> str:
    """The unit (or 联盟整体) and the alliance."""
    alliance = await session.get(Alliance, entry.alliance_id)
    unit = await session.get(Unit, entry.unit_id) if entry.unit_id else None
    alliance_name = alliance.name if alliance else ""
    return f"{unit.name}（{alliance_name}）" if unit else f"{alliance_name}（联盟整体）"


def period_of(entry: OutcomeEntry) -> Period:
    return Period(entry.year, entry.quarter)


def lock_reason(entry: OutcomeEntry, now: datetime) -> str:
    if entry.state == State.ACCEPTED and entry.accepted_at is not None:
        return LOCKED_ACCEPTED.format(
            number=entry.number, when=show_when(entry.accepted_at, now, clock=False)
        )
    who = entry.approved_by.name if entry.approved_by else "联盟"
    when = show_when(entry.approved_at, now, clock=False) if entry.approved_at else ""
    return LOCKED_APPROVED.format(number=entry.number, who=who, when=when)


async def card(
    session: AsyncSession, entry: OutcomeEntry, me: Member, now: datetime, settings: Settings
) -> Reply:
    """An entry with its evidence (the first picture shown, location removed) and the buttons
    of what this member may do with it."""
    lines = [
        f"{entry.number} · {entry.spec.name} {entry_value(entry)}",
        f"{await place(session, entry)} · {period_of(entry).label}",
    ]
    if entry.names:
        shown_names = "、".join(str(n) for n in entry.names[:20])
        more = f" 等{len(entry.names)}个" if len(entry.names) > 20 else ""
        lines.append(f"名单：{shown_names}{more}")
    if entry.description:
        lines.append(f"说明：{entry.description}")
    if entry.evidence:
        files = "；".join(f"{kind_zh(e.kind)} {e.name}" for e in entry.evidence)
        lines.append(f"凭证 {len(entry.evidence)} 份：{files}")
    else:
        lines.append("凭证：无")
    if entry.link_label:
        lines.append(f"关联：{entry.link_label}")
    if entry.submitted_by:
        lines.append(f"填报：{entry.submitted_by.name}，{show_when(entry.submitted_at, now)}")
    state = STATE_ZH[entry.state]
    if entry.state == State.RETURNED and entry.reason:
        state += f"（理由：{entry.reason}）"
    if entry.state in (State.APPROVED, State.ACCEPTED):
        state += "，已锁定"
    lines.append(f"状态：{state}")
    buttons = tuple(
        Button(ACTION_ZH[a], "outcomes.act", do=a, entry=entry.id) for a in allowed(me, entry)
    )
    image = file = None
    if entry.evidence:
        first = entry.evidence[0]
        image, file = shown(settings, first.sha256, first.suffix, first.kind)
    return Reply("\n".join(lines), buttons, image=image, file=file if image is None else None)


def told_text(
    key: str, entry: OutcomeEntry, who: str = "", alliance: str = "", unit: str = ""
) -> str:
    return TOLD[key].format(
        who=who,
        number=entry.number,
        metric=entry.spec.name,
        value=entry_value(entry),
        unit=unit,
        period=period_of(entry).label,
        reason=entry.reason,
        alliance=alliance,
    )


def view_button(entry: OutcomeEntry) -> tuple[Button, ...]:
    return (Button(f"查看 {entry.number}", "outcomes.view", entry=entry.id),)


async def county_admins(session: AsyncSession) -> list[Member]:
    stmt = select(Member).join(MemberRole).where(MemberRole.role == Role.SUPER_ADMIN)
    return list((await session.execute(stmt.order_by(Member.id))).scalars())


async def reviewers(session: AsyncSession, entry: OutcomeEntry) -> list[Member]:
    return await alliance_admins(session, entry.alliance_id)


async def scope_name(session: AsyncSession, scope: Scope) -> str:
    if scope.county:
        return "全县"
    names = list(
        await session.scalars(
            select(Alliance.name).where(scope.where(Alliance.id)).order_by(Alliance.id)
        )
    )
    if not names:
        return "本联盟"
    return names[0] if len(names) == 1 else f"{names[0]}等{len(names)}个联盟"

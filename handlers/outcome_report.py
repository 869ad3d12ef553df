"""/outcomereport (成果报告 [2026年]): the period's outcomes in the report's own wording — a
paragraph for the county and one per alliance, each figure with the entries and evidence it
rests on — as a message, a Word document, and an Excel of every entry (models.export)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Reply
from handlers.context import Context
from handlers.files import outgoing, stamp
from handlers.outcome_text import basis, paragraph, phrase, scope_name
from models.export import export_outcomes
from models.org import Alliance
from models.outcome import Figure, Period, State, figures, parse_period
from models.scope import Scope

BAD_PERIOD = (
    "没看懂这个时间段。可以这样写：今年、2026年、上季度、2026年第三季度、上半年、前三季度。"
)
HEAD = "📄 {scope}{period}成果（县里已验收的数据；系统统计项按工单、资源和对接记录计算）："
BASIS_HEAD = "依据："
FILES = "附：Word 文档和全部成果 Excel（{rows} 条）。"
TITLE = "{scope}{period}工作成效"
ALLIANCES = "党建红色联盟"
COUNTY = "全县{count}个党建红色联盟"
ACCEPTED = (State.ACCEPTED,)


async def sections(
    session: AsyncSession, scope: Scope, period: Period
) -> list[tuple[str, list[Figure]]]:
    """(who, figures): the county (or the admin's alliances together) first, then each
    alliance that has any."""
    alliances = list(
        (
            await session.execute(
                select(Alliance).where(scope.where(Alliance.id)).order_by(Alliance.id)
            )
        ).scalars()
    )
    found: list[tuple[str, list[Figure]]] = []
    if scope.county or len(alliances) > 1:
        name = (
            COUNTY.format(count=len(alliances))
            if scope.county
            else await scope_name(session, scope)
        )
        found.append((name, await figures(session, scope, period, ACCEPTED)))
    for alliance in alliances:
        mine = await figures(session, Scope.of([alliance.id]), period, ACCEPTED)
        if mine or len(alliances) == 1:
            found.append((alliance.name, mine))
    return found


async def report(ctx: Context, period: str = "") -> list[Reply]:
    """The paragraph as a message, then the .docx and the .xlsx."""
    found_period = parse_period(period or "", ctx.now)
    if found_period is None:
        return [Reply(BAD_PERIOD)]
    scope = ctx.me.admin_scope()
    parts = await sections(ctx.session, scope, found_period)
    name = await scope_name(ctx.session, scope)
    lines = [HEAD.format(scope=name, period=found_period.label)]
    for who, found in parts:
        lines.append(paragraph(found_period, who, found))
        lines += [f"  · {phrase(f)}{basis(f)}" for f in found if not f.metric.derived]
    doc = outgoing("成果报告", name, found_period.label, stamp(ctx.now), suffix=".docx")
    # 全县 and "…等3个联盟" need the word; an alliance's own name already ends with it.
    who = name if name.endswith(ALLIANCES) else name.removesuffix("联盟") + ALLIANCES
    write_doc(doc, TITLE.format(scope=who, period=found_period.label), found_period, parts)
    sheet = outgoing("成果台账", name, found_period.label, stamp(ctx.now), suffix=".xlsx")
    rows = await export_outcomes(session=ctx.session, path=sheet, scope=scope, period=found_period)
    lines.append(FILES.format(rows=rows))
    return [
        Reply("\n".join(lines)),
        Reply("成果报告.docx", file=doc),
        Reply("成果台账.xlsx", file=sheet),
    ]


def write_doc(
    path: Path, title: str, period: Period, parts: list[tuple[str, list[Figure]]]
) -> None:
    """Title, one paragraph per section, and the basis of each figure beneath it."""
    # Imported here, not at start: python-docx costs ~0.25 s that most processes never need.
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "宋体"  # type: ignore[attr-defined]
    style.font.size = Pt(12)  # type: ignore[attr-defined]
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")  # type: ignore[attr-defined]
    document.add_heading(title, level=1)
    for who, found in parts:
        document.add_paragraph(paragraph(period, who, found))
        if found:
            table = document.add_table(rows=1, cols=2)
            table.style = "Table Grid"
            table.rows[0].cells[0].text = "数据"
            table.rows[0].cells[1].text = "依据"
            for figure in found:
                cells = table.add_row().cells
                cells[0].text = phrase(figure)
                cells[1].text = basis(figure).strip("（）")
    document.save(str(path))

"""The 志愿服务记录证明 as a Word document: who (name, unit, identity), the total counted hours
and star level, each service (date, content, place, hours, how recorded), the issuer, the
certificate number and the date. Written with the .docx helpers of handlers/minutes_doc.py.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import to_local
from handlers.files import outgoing, stamp
from handlers.minutes_doc import BODY_FONT, HEAD_FONT, _font, _write
from models.member import Member
from models.volunteer import HoursKind, ServiceCertificate, counted_rows, star_of

TITLE = "志愿服务记录证明"
ISSUER = "县两新组织党工委 · 党建红色联盟"
BODY = (
    "兹证明 {name} 同志（{identity}，{unit}）参加党员志愿服务，经签到签退及审核，"
    "截至 {day} 累计志愿服务时长 {hours} 小时{star}。服务记录如下："
)
HEADERS = ("日期", "服务内容", "地点", "时长（小时）", "记录方式")
HOW = {HoursKind.SIGNED: "签到签退", HoursKind.MANUAL: "补录（已审核）"}
FOOT = (
    "证明编号：{number}\n出具单位：{issuer}\n出具日期：{day}\n（本证明由红盟助手依据服务记录生成）"
)


def _day(moment: datetime) -> str:
    local = to_local(moment)
    return f"{local.year}年{local.month}月{local.day}日"


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}"


async def build_certificate(
    session: AsyncSession, member: Member, certificate: ServiceCertificate
) -> Path:
    """Write the certificate to a new outgoing file; returns its path."""
    rows = await counted_rows(session, member.id)
    unit = member.home_unit.name if member.home_unit else "无单位"
    identity = (
        "流动党员" if member.is_mobile else ("中共党员" if member.is_party_member else "志愿者")
    )
    star, _ = star_of(certificate.minutes / 60)
    document = Document()
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.5)
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(heading.add_run(TITLE), HEAD_FONT, 20, bold=True)
    body = BODY.format(
        name=member.name,
        identity=identity,
        unit=unit,
        day=_day(certificate.issued_at),
        hours=_hours(certificate.minutes),
        star=f"，星级为{star}" if star else "",
    )
    _font(document.add_paragraph().add_run(body), BODY_FONT, 12)
    table = document.add_table(rows=1, cols=len(HEADERS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, head in zip(table.rows[0].cells, HEADERS, strict=True):
        _write(cell, [head], bold=True, center=True)
    for row in rows:
        cells = table.add_row().cells
        values = (
            _day(row.activity.starts_at),
            row.activity.title,
            row.activity.place,
            _hours(row.minutes),
            HOW[row.kind],
        )
        for cell, value in zip(cells, values, strict=True):
            _write(cell, [value])
    document.add_paragraph()
    foot = FOOT.format(number=certificate.number(), issuer=ISSUER, day=_day(certificate.issued_at))
    for line in foot.split("\n"):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(paragraph.add_run(line), BODY_FONT, 11)
    path = outgoing("志愿服务记录证明", member.name, stamp(certificate.issued_at), suffix=".docx")
    document.save(str(path))
    return path

"""The demo county's year in the report's own wording: the paragraph (message and .docx) and
the Excel of every entry."""

from __future__ import annotations

from docx import Document
from openpyxl import load_workbook

from tests.fakes import Chat


async def test_the_demo_year_reads_like_the_report(full_chat: Chat) -> None:
    replies = await full_chat.replies("admin", "成果报告 2026年")
    text = replies[0].text
    for figure in (
        "食品产业链党建红色联盟帮助成员企业降低成本3000余万元，产出效益超过1.7亿元",
        "公益社会组织行业党建红色联盟捐资捐物达260余万元，帮扶困难群众37人",
        "界湖街道爱城乐业党建红色联盟捐助公益基金2335万元，帮扶困难群众479人，"
        "对口支援13个老旧小区改造提升基础设施",
    ):
        assert figure in text, figure
    assert "  · 帮扶困难群众479人（2条成果，凭证2份）" in text
    assert "全县14个党建红色联盟" in text and "帮扶困难群众516人" in text
    document = Document(str(replies[1].file))
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert "帮助成员企业降低成本3000余万元" in paragraphs
    assert "2026年，全县14个党建红色联盟" in paragraphs
    sheet = load_workbook(replies[2].file).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("编号", "联盟", "单位", "季度", "指标")
    assert len(rows) == 1 + 10  # nine accepted entries and one waiting for the alliance
    assert any("1.7亿元" in row for row in rows)


async def test_an_alliances_report_is_titled_with_its_name_once(full_chat: Chat) -> None:
    replies = await full_chat.replies("alliance_admin", "成果报告 2026年")
    document = Document(str(replies[1].file))
    titles = [p.text for p in document.paragraphs if p.text.endswith("工作成效")]
    assert titles == ["食品产业链党建红色联盟2026年工作成效"]

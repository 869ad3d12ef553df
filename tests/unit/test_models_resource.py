"""Resource rules: ranking, query parsing, visibility, expiry, paging, and import by row."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cli
from bot.core.clock import local_datetime
from models.db import make_engine, make_sessionmaker
from models.org import Alliance, AllianceType
from models.resource import (
    Query,
    Resource,
    ResourceKind,
    ResourceTerm,
    ResourceWord,
    add_resource,
    count_by_kind,
    nearest_terms,
    parse_query,
    search,
    withdraw_resource,
)
from models.resource_import import ImportFileError, import_resources, read_rows
from models.scope import Scope
from settings import Settings

NOW = local_datetime(2026, 12, 1, 9, 0)
EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "resources_example.csv"
P = ResourceKind.PARTNER
HEADER = "类别,标题,描述,提供单位,联系人,联系方式,标签,可见联盟,有效期至"


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = make_engine(settings)
    async with make_sessionmaker(engine)() as value:
        for name in ("食品产业链党建红色联盟", "快递物流行业党建红色联盟"):
            value.add(Alliance(name=name, type=AllianceType.CHAIN))
        await value.flush()
        yield value
    await engine.dispose()


async def _titles(
    session: AsyncSession,
    text: str,
    alliance_ids: set[int] | None = None,
    now: datetime = NOW,
    **kw: int,
) -> list[str]:
    scope = Scope.COUNTY if alliance_ids is None else Scope.of(alliance_ids)
    page = await search(session=session, query=parse_query(text), scope=scope, now=now, **kw)
    return [r.title for r in page.items]


async def test_title_match_ranks_above_tag_and_description_match(session: AsyncSession) -> None:
    await add_resource(
        session=session, kind=P, title="仓储服务", description="兼营冷链物流", provider="甲",
        now=NOW,
    )  # fmt: skip
    await add_resource(session=session, kind=P, title="冷链物流", provider="乙", now=NOW)
    await add_resource(
        session=session, kind=P, title="城市配送", tags="冷链", provider="丙", now=NOW
    )
    await add_resource(session=session, kind=P, title="包装材料", provider="丁", now=NOW)
    assert await _titles(session, "冷链物流") == ["冷链物流", "城市配送", "仓储服务"]


async def test_punctuation_case_digits_and_emoji_in_queries(session: AsyncSession) -> None:
    assert parse_query("冷链物流！！🚚").terms == parse_query("冷链物流").terms == ("冷链", "物流")
    assert parse_query("有没有做冷链物流的伙伴企业") == Query(P, ("冷链", "物流"))
    assert parse_query("千里马清单") == Query(ResourceKind.TALENT, ())
    assert parse_query("🚚🚚，。！").terms == ()
    # The NLU's slots: the list it names, and keywords (filler words dropped)
    assert parse_query("", "千里马", ["焊工", "清单"]) == Query(ResourceKind.TALENT, ("焊工",))
    await add_resource(
        session=session, kind=ResourceKind.STEWARD, title="ERP系统实施顾问",
        description="2025版，支持iOS", provider="甲", now=NOW,
    )  # fmt: skip
    for text in ("erp", "ERP!!", "“ERP”？", "2025", "iOS 🍎", "顾问😀"):
        assert await _titles(session, text) == ["ERP系统实施顾问"], text
    assert await _titles(session, "2024") == []


async def test_suggestions_come_from_known_words(session: AsyncSession) -> None:
    for title in ("冷链物流", "冷链仓储", "冷藏运输"):
        await add_resource(session=session, kind=P, title=title, provider="甲", now=NOW)
    words = dict((await session.execute(select(ResourceWord.term, ResourceWord.uses))).all())
    assert words["冷链"] == 2
    assert await nearest_terms(session=session, terms=("冷冻",)) == ["冷链", "冷藏"]
    assert await nearest_terms(session=session, terms=("erp",)) == []


async def test_visibility_by_alliance(session: AsyncSession) -> None:
    food, express = list(await session.scalars(select(Alliance.id).order_by(Alliance.id)))
    await add_resource(session=session, kind=P, title="冷链共享", provider="甲", now=NOW)
    await add_resource(
        session=session, kind=P, title="冷链专供", provider="乙", alliance_ids=[food], now=NOW
    )
    assert await _titles(session, "冷链", {food}) == ["冷链共享", "冷链专供"]
    assert await _titles(session, "冷链", {express}) == ["冷链共享"]
    assert await _titles(session, "冷链", set()) == ["冷链共享"]  # a unit in no alliance
    assert await _titles(session, "冷链", None) == ["冷链共享", "冷链专供"]  # super admin


async def test_expired_resources_no_longer_show(session: AsyncSession) -> None:
    until = NOW + timedelta(days=3)
    await add_resource(
        session=session, kind=P, title="冷库租赁", provider="甲", valid_until=until, now=NOW
    )
    assert await _titles(session, "冷库") == ["冷库租赁"]
    assert await _titles(session, "冷库", now=until - timedelta(seconds=1)) == ["冷库租赁"]
    assert await _titles(session, "冷库", now=until) == []
    browse = await search(session=session, query=Query(P, ()), scope=Scope.COUNTY, now=until)
    assert browse.total == 0


async def test_a_withdrawn_resource_no_longer_shows_in_searches(session: AsyncSession) -> None:
    kept = await add_resource(session=session, kind=P, title="冷库租赁", provider="甲", now=NOW)
    gone = await add_resource(session=session, kind=P, title="冷库共享", provider="乙", now=NOW)
    await withdraw_resource(session=session, resource=gone, now=NOW)
    later = NOW + timedelta(minutes=1)
    assert await _titles(session, "冷库", now=later) == [kept.title]
    counts = await count_by_kind(session=session, terms=("冷库",), scope=Scope.COUNTY, now=later)
    assert counts == {P: 1}


async def test_paging_counts_and_pages(session: AsyncSession) -> None:
    for n in range(12):
        await add_resource(session=session, kind=P, title=f"物流线路{n}", provider="甲", now=NOW)
    query = parse_query("物流")
    pages = [
        await search(session=session, query=query, scope=Scope.COUNTY, now=NOW, offset=o)
        for o in (0, 5, 10, 15)
    ]
    assert [p.total for p in pages] == [12, 12, 12, 12]
    assert [len(p.items) for p in pages] == [5, 5, 2, 0]
    seen = [r.title for p in pages for r in p.items]
    assert len(set(seen)) == 12
    browse = await search(session=session, query=Query(P, ()), scope=Scope.COUNTY, now=NOW)
    assert browse.total == 12
    assert browse.items[0].title == "物流线路11"  # newest first


async def test_browsing_a_list_pages_and_counts_only_what_the_member_sees(
    session: AsyncSession,
) -> None:
    food, express = list(await session.scalars(select(Alliance.id).order_by(Alliance.id)))
    for n in range(9):
        shared = {0: [food], 1: [express]}.get(n % 3)
        until = NOW - timedelta(days=1) if n == 5 else None
        await add_resource(
            session=session, kind=P, title=f"线路{n}", provider="甲", alliance_ids=shared,
            valid_until=until, now=NOW,
        )  # fmt: skip
    talent = ResourceKind.TALENT
    await add_resource(session=session, kind=talent, title="焊工", provider="乙", now=NOW)
    query, scope = Query(P, ()), Scope.of({food})
    pages = [
        await search(session=session, query=query, scope=scope, now=NOW, offset=o, limit=3)
        for o in (0, 3, 6)
    ]
    # Not 线路5 (expired), nor 线路1, 4 and 7 (shared with another alliance only).
    titles = [[r.title for r in p.items] for p in pages]
    assert titles == [["线路8", "线路6", "线路3"], ["线路2", "线路0"], []]
    assert [p.total for p in pages] == [5, 5, 5]


def _csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "resources.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


BAD_ROWS = (
    "伙伴,冷链配送,冷藏车,甲公司,张三,13900000001,冷链,全部,2027-12-31",
    "伙伴们,,描述,甲公司,,,,,",
    "管家,税务辅导,,,,,,不存在联盟,2027-02-30",
    "",
    "千里马,焊工,,乙公司,,,,食品产业链党建红色联盟,2026-01-01",
    "伙伴,冷链配送,重复,甲公司,,,,,",
)
EXPECTED_ERRORS = [
    "第 3 行：类别“伙伴们”不对，应为 伙伴、管家、千里马 或 蓝海；标题为空",
    "第 4 行：提供单位为空；可见联盟“不存在联盟”不存在；"
    "有效期至“2027-02-30”不是日期（例如 2027-06-30）",
    "第 6 行：有效期至 2026-01-01 已过",
    "第 7 行：与第 2 行重复（同类别、标题、提供单位）",
]


async def test_csv_with_bad_rows_imports_nothing(session: AsyncSession, tmp_path: Path) -> None:
    report = await import_resources(session=session, path=_csv(tmp_path, *BAD_ROWS), now=NOW)
    assert report.errors == EXPECTED_ERRORS
    assert report.imported == 0
    assert await session.scalar(select(func.count()).select_from(Resource)) == 0


async def test_skip_bad_rows_imports_the_good_ones(session: AsyncSession, tmp_path: Path) -> None:
    report = await import_resources(
        session=session, path=_csv(tmp_path, *BAD_ROWS), now=NOW, skip_bad_rows=True
    )
    assert (report.imported, report.skipped) == (1, 4)
    resource = await session.scalar(select(Resource))
    assert resource is not None
    assert (resource.title, resource.contact, resource.all_alliances) == (
        "冷链配送",
        "张三 13900000001",
        True,
    )
    assert resource.valid_until == local_datetime(2028, 1, 1)  # through the last day
    terms = set(await session.scalars(select(ResourceTerm.term)))
    assert {"冷链", "配送", "冷藏车"} <= terms


async def test_xlsx_errors_by_row(session: AsyncSession, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append(
        ["蓝海", "外贸订单", "", "丙公司", None, 13900000009, None, None, datetime(2027, 3, 1)]
    )
    sheet.append(["蓝海", None, None, None, None, None, None, None, "下个月"])
    path = tmp_path / "resources.xlsx"
    book.save(path)
    report = await import_resources(session=session, path=path, now=NOW)
    assert report.errors == [
        "第 3 行：标题为空；提供单位为空；有效期至“下个月”不是日期（例如 2027-06-30）"
    ]
    assert read_rows(path)[0][1]["联系方式"] == "13900000009"
    assert read_rows(path)[0][1]["有效期至"] == "2027-03-01"


async def test_whole_file_problems(session: AsyncSession, tmp_path: Path) -> None:
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("类别,名称\n伙伴,冷链\n", encoding="utf-8")
    other = tmp_path / "bad.txt"
    other.write_text("x", encoding="utf-8")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + "\n伙伴,冷链配送,,甲公司,,,,,\n").encode("gbk"))
    with pytest.raises(ImportFileError, match="第 1 行表头缺少列：标题、提供单位。"):
        read_rows(bad_header)
    with pytest.raises(ImportFileError, match=r"只支持 \.xlsx 和 \.csv 文件"):
        read_rows(other)
    with pytest.raises(ImportFileError, match="找不到文件"):
        read_rows(tmp_path / "missing.csv")
    assert read_rows(gbk)[0][1]["标题"] == "冷链配送"


def test_cli_imports_the_example_once(
    demo_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = tmp_path / "example.csv"
    shutil.copy(EXAMPLE, example)
    assert cli.main(["import", "resources", str(example)]) == 0
    assert capsys.readouterr().out.strip().endswith("已导入 4 条资源。")
    assert cli.main(["import", "resources", str(example)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "第 2 行：已有同类别、标题、提供单位的资源"
    assert out[-1].startswith("有 4 行有误，未导入任何资源")
    assert cli.main(["import", "resources", str(tmp_path / "nope.xlsx")]) == 2

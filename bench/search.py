"""Benchmark: resource search on 100,000 resources, inverted index vs a plain LIKE scan.

Run: `python -m bench.search [--count N] [--runs R]`. Builds a temp SQLite database with the
real migrations, fills it, then times typical queries through models.resource.search (what the
chat handler calls) and the same filters done with `LIKE '%word%'` on every row. Prints
p50/p95 in milliseconds. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.demo.county import FIRMS, PLACES, PLANS
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade
from models.org import Alliance, AllianceType
from models.resource import (
    Query,
    Resource,
    ResourceAlliance,
    ResourceKind,
    ResourceTerm,
    index_terms,
    nearest_terms,
    parse_query,
    search,
)
from models.scope import Scope
from settings import load_settings

TRADES = (
    *dict.fromkeys(t for plan in PLANS for t in plan.trades),
    "纺织", "服装", "机械", "五金", "化工", "塑料", "家具", "木业", "茶叶", "果蔬",
    "水产", "中药材", "陶瓷", "印刷", "汽配", "新能源", "光伏", "环保", "农机", "酿酒",
)  # fmt: skip
# (kind, title words, description phrase): combined with a trade, a place and a firm.
OFFERS = tuple(
    (kind, title, text)
    for kind, titles, text in (
        (
            ResourceKind.PARTNER,
            "原料采购 代加工 仓储配送 冷链运输 包装供应 检测认证 模具开发 "
            "设备租赁 废料回收 联合研发",
            "承接{x}相关合作，产能充足，价格透明",
        ),
        (
            ResourceKind.STEWARD,
            "融资担保 信用贷款 税务代账 出口退税 法律顾问 合同审查 人事代理 "
            "社保代缴 专利申请 政策申报",
            "为{x}企业提供一对一上门服务",
        ),
        (
            ResourceKind.TALENT,
            "技术专家 焊工 电工 质检员 叉车工 主播 设计师 会计 工程师 营销经理",
            "{x}方向人才，可短期派驻或长期聘用",
        ),
        (
            ResourceKind.MARKET,
            "政府采购 外贸订单 直播带货 商超进场 社区团购 展会展位 "
            "工程分包 品牌授权 跨境电商 农村电商",
            "{x}市场机会，欢迎对接洽谈",
        ),
    )
    for title in titles.split()
)
QUERIES = (
    ("冷链物流", None),
    ("冷链物流", ResourceKind.PARTNER),
    ("税务 发票", ResourceKind.STEWARD),
    ("焊工", None),
    ("直播带货渠道", ResourceKind.MARKET),
    ("贷款融资", None),
    ("光伏设备租赁", ResourceKind.PARTNER),
    ("ERP 2025 🚀", None),  # no hit
    ("", ResourceKind.TALENT),  # browse a list
    ("服务", None),  # a word in a quarter of all texts: the worst case
)
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
Row = dict[str, object]


@cache
def _terms(title: str, description: str, tags: str) -> dict[str, int]:
    return index_terms(title, description, tags)


def _rows(count: int, alliances: int) -> tuple[list[Row], list[Row], list[Row]]:
    rng = random.Random(100_000)
    resources: list[Row] = []
    shared: list[Row] = []
    terms: list[Row] = []
    for n in range(1, count + 1):
        kind, offer, text = rng.choice(OFFERS)
        trade = rng.choice(TRADES)
        prefix = f"{rng.choice(PLACES)}{rng.choice(FIRMS)}"
        title, text, tags = f"{trade}{offer}", text.format(x=trade), f"{trade} {offer}"
        restricted = rng.random() < 0.3
        resources.append(
            {
                "id": n,
                "kind": kind,
                "title": f"{prefix}{title}",
                "description": text,
                "provider": f"{prefix}{trade}有限公司",
                "contact": "",
                "tags": tags,
                "all_alliances": not restricted,
                "valid_until": NOW - timedelta(days=1) if rng.random() < 0.1 else None,
                "created_at": NOW,
            }
        )
        if restricted:
            shared += [
                {"resource_id": n, "alliance_id": a}
                for a in rng.sample(range(1, alliances + 1), 2)
            ]
        # The place+firm prefix is indexed apart from the title: same terms, far fewer jieba calls.
        weights = dict(_terms(title, text, tags))
        for term, weight in _terms(prefix, "", "").items():
            weights[term] = weights.get(term, 0) + weight
        seen = {k: resources[-1][k] for k in ("kind", "all_alliances", "valid_until")}
        terms += [{"term": t, "resource_id": n, "weight": w, **seen} for t, w in weights.items()]
    return resources, shared, terms


async def _like_scan(
    session: AsyncSession, words: str, kind: ResourceKind | None, alliance_ids: set[int]
) -> tuple[int, list[int]]:
    """The naive way: every row's title and description LIKE-matched against each word."""
    words_list = words.split() or [""]
    conditions = [or_(Resource.valid_until.is_(None), Resource.valid_until > NOW)]
    if kind is not None:
        conditions.append(Resource.kind == kind)
    shared = select(ResourceAlliance.resource_id).where(
        ResourceAlliance.alliance_id.in_(alliance_ids)
    )
    conditions.append(or_(Resource.all_alliances.is_(True), Resource.id.in_(shared)))
    conditions.append(
        or_(
            *[Resource.title.like(f"%{w}%") for w in words_list],
            *[Resource.description.like(f"%{w}%") for w in words_list],
        )
    )
    base = select(Resource.id).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    ids = list(await session.scalars(base.order_by(Resource.id.desc()).limit(5)))
    return total or 0, ids


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


async def main(count: int, runs: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-search-"))
    settings = load_settings(_env_file=None, DATABASE_URL=f"sqlite:///{folder / 'bench.db'}")
    upgrade(settings)
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    started = time.perf_counter()
    async with sessionmaker() as session, session.begin():
        session.add_all(Alliance(name=f"联盟{i}", type=AllianceType.SECTOR) for i in range(14))
        await session.flush()
        resources, shared, terms = _rows(count, 14)
        for table, rows in (
            (Resource, resources),
            (ResourceAlliance, shared),
            (ResourceTerm, terms),
        ):
            for i in range(0, len(rows), 5000):
                await session.execute(insert(table), rows[i : i + 5000])
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO resource_word (term, uses) "
            "SELECT term, count(*) FROM resource_term GROUP BY term"
        )
        await conn.exec_driver_sql("ANALYZE")
    print(
        f"{count} resources, {len(terms)} index rows, built in "
        f"{time.perf_counter() - started:.1f} s ({folder / 'bench.db'})"
    )
    print(f"{'query':<16}{'list':<8}{'hits':>7}  index p50/p95 ms   LIKE scan p50/p95 ms")
    alliance_ids = {1}
    for words, kind in QUERIES:
        query = parse_query(words, kind)
        query = Query(kind, query.terms)
        indexed, scanned = [], []
        async with sessionmaker() as session:
            for _ in range(runs):
                t0 = time.perf_counter()
                page = await search(
                    session=session, query=query, scope=Scope.of(alliance_ids), now=NOW
                )
                indexed.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await _like_scan(session, words, kind, alliance_ids)
                scanned.append(time.perf_counter() - t0)
        (i50, i95), (s50, s95) = _ms(indexed), _ms(scanned)
        print(
            f"{words or '（浏览）':<14}{kind or '全部':<8}{page.total:>7}  "
            f"{i50:7.1f} / {i95:7.1f}      {s50:7.1f} / {s95:7.1f}"
        )
    async with sessionmaker() as session:
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            near = await nearest_terms(session=session, terms=("冷冻", "erp"))
            samples.append(time.perf_counter() - t0)
    p50, p95 = _ms(samples)
    print(f"no result → suggestions for 冷冻/erp {near}: {p50:.1f} / {p95:.1f} ms")
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.runs))

"""The real CLI: after `demo --reset`, the host shows a code and members check in with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.e2e.cli import demo_env, run_bot

pytestmark = pytest.mark.e2e
PARTY_DAY = "主题党日：学习党的创新理论"


def stale_code(database_url: str) -> str:
    """The code the host showed three minutes ago, computed from the stored secret."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, select

    from models.activity import Activity
    from models.checkin import code_at, minute_of
    from settings import load_settings

    url = load_settings(_env_file=None, DATABASE_URL=database_url).sync_database_url
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            secret = conn.execute(
                select(Activity.secret).where(Activity.title == PARTY_DAY)
            ).scalar_one()
    finally:
        engine.dispose()
    return code_at(secret, minute_of(datetime.now(UTC)) - 3)


def test_host_code_then_member_checks_in(tmp_path: Path) -> None:
    env = demo_env(tmp_path)
    shown = run_bot(["console", "--user", "host"], env, "/code\n")
    code = re.search(r"签到码：(\d{6})", shown)
    assert code, shown
    wrong = "000000" if code.group(1) != "000000" else "111111"
    script = "\n".join(
        [
            f"签到 {stale_code(env['DATABASE_URL'])}",
            "/activities",
            f"签到 {wrong}",
            f"签到 {code.group(1)}",
            f"签到 {code.group(1)}",
            f"签到 {wrong}",
            "@as alliance_admin",
            "@loc 35.56,118.46",
            "@loc 35.551,118.46",
            "@as mobile",
            f"签到 {code.group(1)}",
            "@as host",
            "发布活动",
            "12月志愿服务",
            "12-28 09:30",
            "11:30",
            "阳都社区",
            "跳过",
            "#1",  # 确认发布
            "/attendance",
        ]
    )
    out = run_bot(["console", "--user", "member"], env, script + "\n")
    assert out.startswith("这个签到码已过期（签到码每分钟更新）")
    assert f"✅ 签到成功：《{PARTY_DAY}》" in out
    assert f"签到过《{PARTY_DAY}》，无需重复签到。" in out
    assert "签到码不正确，请核对后重试。（还可尝试 3 次）" in out
    # Once checked in, a wrong code is answered as a repeat and no longer counted.
    assert out.count(f"签到过《{PARTY_DAY}》，无需重复签到。") == 2
    assert "还可尝试 2 次" not in out
    assert "超出签到范围（500 米）" in out
    assert "方式：位置" in out
    assert "您是流动党员，本次签到已记入组织关系所在单位。" in out
    assert "✅ 活动已发布：《12月志愿服务》12月28日（周一） 09:30-11:30 · 阳都社区" in out
    assert "应到 30 人，已签到 2 人，签到率 7%" in out
    assert re.search(r"\[file: .+\.xlsx\]", out)

    sheet = tmp_path / "attendance.xlsx"
    printed = run_bot(["export", "attendance", str(sheet)], env)
    assert printed.startswith("已导出 ")
    rows = list(load_workbook(sheet).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    present = [r for r in rows if r[0] == PARTY_DAY and r[6] == "是"]  # 是否签到
    assert len(present) == 3

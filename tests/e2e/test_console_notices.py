"""Notices end to end: `python -m bot console` fed a script, over a fresh demo database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import demo_env, run_bot

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

SCRIPT = """\
/notice
请各单位周五前报送党员名册。
#2
#1
#15
#1
#1
@as member
#1
/notices
@as admin
/noticestats 3
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return demo_env(tmp_path)


def test_admin_notices_an_alliance_a_member_acknowledges_stats_show_it(
    env: dict[str, str],
) -> None:
    out = run_bot(["console", "--user", "admin"], env, SCRIPT)
    assert "📢 通知预览\n请各单位周五前报送党员名册。\n——\n对象：食品产业链党建红色联盟\n" in out
    assert "✅ 通知 #3 已发出：收件人 30 人，其中无法送达 27 人。" in out
    card = "📢 通知 #3（县两新组织工委·王建国）\n请各单位周五前报送党员名册。\n[1] 收到"
    for user in ("host", "member", "alliance_admin"):
        assert out.count(f">> {user}: {card}") == 1
    assert ">> mobile:" not in out and ">> admin:" not in out
    assert "已确认收到通知 #3，谢谢！" in out
    assert "#3 " in out and "✅已收到" in out
    stats = out[out.index("📊 通知 #3") :].splitlines()
    assert stats[1:6] == [
        "收件人：30 人",
        "已送达：3",
        "发送失败：0",
        "无法送达：27",
        "已确认收到：1",
    ]
    assert stats[6].startswith("未确认（29 人）：")

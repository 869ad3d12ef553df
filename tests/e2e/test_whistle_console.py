"""The whistle workflow through the real CLI: `demo --reset`, then a piped console script."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.cli import demo_env, run_bot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return demo_env(tmp_path_factory.mktemp("whistle"))


def test_report_sign_resolve_rate_and_figures(env: dict[str, str]) -> None:
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    finance = f"WT-{year}-0001"  # the demo's finance ticket, filed by another member
    script = "\n".join(
        [
            "增值税发票开不出来，税务这边卡住了",
            "#1",  # 本单位
            "#1",  # ✅ 税务发票
            "#1",  # 提交
            f"/tickets {finance}",
            "@as officer_tax",
            "#1",  # 签收, on the delivered new-ticket card
            "#2",  # 办结
            "已上门帮助开通数电发票",
            "确认办结",  # what the button says, typed
            f"/tickets {finance}",
            "@as member",
            "#1",  # 满意, on the delivered rating card
            "@as alliance_admin",
            "/ticketstats",
        ]
    )
    out = run_bot(["console", "--user", "member"], env, script + "\n")
    filed = re.search(r"🚩 吹哨成功！工单号 (WT-\d{4}-\d{4})", out)
    assert filed, out
    number = filed.group(1)
    assert f">> officer_tax: 📌 新工单 {number}（税务发票）" in out
    assert "[1] 签收  [2] 退回  [3] 查看" in out
    assert f">> alliance_admin: 🔔 新吹哨 {number}（税务发票）" in out
    assert f"已签收 {number}，部门报到成功。" in out
    assert f">> member: ✅ 您反映的 {number} 已由县税务局签收（部门报到），正在办理。" in out
    assert f"{number} 已办结，已请反映人评价。" in out
    assert f">> member: 请为 {number} 的办理评价：\n[1] 满意  [2] 基本满意  [3] 不满意" in out
    assert f"感谢您的评价！{number} 已关闭。" in out
    assert f">> officer_tax: ⭐ {number} 收到评价：满意。" in out
    # The member may not see another member's ticket; the tax officer not a finance one.
    assert out.count("没有找到这个工单，或您无权查看。") == 2
    assert "📈 吹哨工单数据（本联盟）：共 5 件" in out
    assert "满意度：100%（满意 2）" in out

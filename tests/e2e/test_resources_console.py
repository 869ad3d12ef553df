"""Done-when flow on the real CLI: member finds cold-chain partners, pages, asks; host accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import demo_env, run_bot

pytestmark = pytest.mark.e2e

SCRIPT = """有没有做冷链物流的伙伴企业
#6
#1
@as host
#1
@as member
我的对接
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return demo_env(tmp_path)


def test_member_asks_a_cold_chain_partner_and_the_host_accepts(env: dict[str, str]) -> None:
    out = run_bot(["console"], env, SCRIPT)
    lines = out.splitlines()
    assert lines[0] == "🔎 伙伴清单里与“冷链 物流”相关的资源：共 13 条，第 1–5 条"
    page_one = "  ".join(f"[{n}] 我要对接 {n}" for n in range(1, 6)) + "  [6] 下一页"
    assert page_one in lines
    assert "🔎 伙伴清单里与“冷链 物流”相关的资源：共 13 条，第 6–10 条" in lines
    assert "6. 【伙伴】冷链物流肉制品专线" in lines
    request = next(line for line in lines if line.startswith(">> host: "))
    assert "想对接您在伙伴清单的“冷链物流肉制品专线”" in request
    assert "[1] 同意对接  [2] 婉拒" in lines
    assert any(line.startswith("已同意对接，已通知 ") for line in lines)
    told = next(line for line in lines if line.startswith(">> member: "))
    assert "已同意您对“冷链物流肉制品专线”的对接请求" in told
    assert lines[-1] == "1. 我 → 冷链物流肉制品专线（砖埠和信食品有限公司）：已同意"

"""The real CLI: `python -m bot demo` then `python -m bot console` fed by a pipe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.cli import demo_env, run_bot

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return demo_env(tmp_path_factory.mktemp("console"))


def test_demo_prints_accounts_and_is_idempotent(env: dict[str, str]) -> None:
    out = run_bot(["demo"], env)
    assert "演示县数据已存在" in out
    assert re.search(r"newcomer 的邀请码：\d{8}", out)


def test_admin_sees_the_report_table(env: dict[str, str]) -> None:
    out = run_bot(["console", "--user", "admin"], env, "/stats\n")
    assert "产业链：联盟 3 个，成员党组织 16 个，党员 87 名，辐射单位 31 家" in out
    assert "合计：联盟 14 个，成员党组织 63 个，党员 360 名，辐射单位 362 家" in out


def test_newcomer_binds_with_the_printed_code(env: dict[str, str]) -> None:
    code = re.search(r"newcomer 的邀请码：(\d{8})", run_bot(["demo"], env))
    assert code
    out = run_bot(["console", "--user", "newcomer"], env, f"/me\n绑定 {code.group(1)}\n/me\n")
    lines = out.splitlines()
    assert lines[0].startswith("您还没有绑定身份")
    assert lines[1].startswith("绑定成功！欢迎您，")
    assert "联盟：食品产业链党建红色联盟" in out


def test_console_protocol_switch_user_and_bad_input(env: dict[str, str]) -> None:
    out = run_bot(["console"], env, "#3\n@loc abc\n@as admin\n/me\n")
    assert out.splitlines()[:3] == [
        "（没有第 3 个按钮）",
        "（位置格式：@loc 纬度,经度，例如 @loc 35.55,118.46）",
        "👤 县两新组织工委·王建国",
    ]

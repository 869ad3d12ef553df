"""Department names as people type them (models/routing.py department_matches)."""

from __future__ import annotations

import pytest

from bot.demo.county import DEPARTMENTS
from models.org import Department
from models.routing import department_matches

EVERY = [Department(code=code, name=name) for code, name in DEPARTMENTS]


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("人社局", "县人力资源和社会保障局"),
        ("人社", "县人力资源和社会保障局"),
        ("社保局", "县人力资源和社会保障局"),
        ("税务", "县税务局"),
        ("县税务局", "县税务局"),
        ("tax", "县税务局"),
        ("市监局", "县市场监督管理局"),
        ("市场监管", "县市场监督管理局"),
        ("自规局", "县自然资源和规划局"),
        ("交通局", "县交通运输局"),
        ("科技局", "县科学技术局"),
        ("金融办", "县地方金融服务中心"),
        ("电力公司", "县供电公司"),
    ],
)
def test_a_short_or_everyday_name_finds_the_department(typed: str, name: str) -> None:
    assert [d.name for d in department_matches(EVERY, typed)] == [name]


@pytest.mark.parametrize("typed", ["", "局", "县", "公安局", "人民", "教育"])
def test_a_name_of_no_department_finds_none(typed: str) -> None:
    assert department_matches(EVERY, typed) == []

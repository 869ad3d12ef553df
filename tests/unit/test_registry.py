"""Table tests over the one registration table (zulip's DefaultTests)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.core import Role
from handlers import ROUTES
from tests.fakes import Chat

ROOT = Path(__file__).resolve().parents[2]
INTENTS = {
    "bind",
    "help",
    "me",
    "activities",
    "checkin",
    "my_record",
    "report",
    "my_reports",
    "resources",
    "notices",
    "rotation",
    "stats",
}
PLATFORM_MODULES = ("telegram", "wechatpy", "bot.adapters", "starlette", "uvicorn")


def test_every_route_has_a_help_line_with_a_short_name() -> None:
    for route in ROUTES:
        assert "：" in route.help and route.help.split("：", 1)[0], route.name


def test_no_alias_or_command_collides() -> None:
    names = [r.name for r in ROUTES]
    aliases = [a for r in ROUTES for a in r.aliases]
    assert len(names) == len(set(names))
    assert len(aliases) == len(set(aliases))
    intents = [r.intent for r in ROUTES if r.intent]
    assert len(intents) == len(set(intents))


def test_intents_are_the_documented_ones() -> None:
    assert {r.intent for r in ROUTES if r.intent} <= INTENTS


def test_at_most_one_route_takes_bare_locations() -> None:
    assert sum(r.takes_location for r in ROUTES) <= 1


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.role != Role.ANYONE], ids=lambda r: r.name
)
async def test_every_route_refuses_an_unbound_user_politely(chat: Chat, route) -> None:  # type: ignore[no-untyped-def]
    assert await chat.say("nobody", f"/{route.name}") == [
        "您还没有绑定身份。请发送“绑定 邀请码”（邀请码由所在单位或联盟管理员提供）。"
    ]


def test_core_never_imports_platform_code() -> None:
    offenders = []
    for folder in ("handlers", "models"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [
                    f"{path.name}: {n}"
                    for n in names
                    if n.split(".")[0] in PLATFORM_MODULES or n.startswith("bot.adapters")
                ]
    assert offenders == []

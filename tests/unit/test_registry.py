"""Table tests over the one registration table (zulip's DefaultTests)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.core import Role
from bot.nlu import INTENTS
from handlers import ROUTES
from tests.fakes import Chat

ROOT = Path(__file__).resolve().parents[2]


def test_every_route_has_a_short_title_and_a_help_line() -> None:
    for route in ROUTES:
        assert route.title and len(route.title) <= 8 and route.help, route.name
        assert "：" not in route.help, route.name


def test_no_alias_or_command_collides() -> None:
    names = [r.name for r in ROUTES]
    aliases = [a for r in ROUTES for a in r.aliases]
    assert len(names) == len(set(names))
    assert len(aliases) == len(set(aliases))
    intents = [r.intent for r in ROUTES if r.intent]
    assert len(intents) == len(set(intents))


def test_every_intent_of_the_nlu_has_a_route_and_every_route_intent_is_known() -> None:
    assert {r.intent for r in ROUTES if r.intent} == set(INTENTS)


def test_at_most_one_route_takes_bare_locations() -> None:
    assert sum(r.takes_location for r in ROUTES) <= 1


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.role != Role.ANYONE], ids=lambda r: r.name
)
async def test_every_route_refuses_an_unbound_user_politely(chat: Chat, route) -> None:  # type: ignore[no-untyped-def]
    assert await chat.say("nobody", f"/{route.name}") == [
        "您还没有绑定身份。请发送“绑定 邀请码”（邀请码由所在单位或联盟管理员提供）。"
    ]


def _calls(name: str) -> list[tuple[str, ast.Call]]:
    """Every call of `name(...)` in the handlers, with the file it is in."""
    found = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called == name:
                    found.append((path.name, node))
    return found


def test_every_button_a_handler_issues_names_a_registered_target() -> None:
    routes = {r.name: r for r in ROUTES}
    targets = [
        (file, node.args[1].value)
        for file, node in _calls("Button")
        if len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
    ]
    assert len(targets) > 40  # the scan sees the handlers' buttons
    for file, target in targets:
        route_name, _, name = target.partition(".")
        route = routes.get(route_name)
        assert route is not None, f"{file}: button names unknown route {target!r}"
        assert not name or name in route.buttons or target in route.steps, f"{file}: {target!r}"


def test_every_step_set_is_a_registered_step_of_its_route() -> None:
    for file, node in _calls("set_state"):
        assert not isinstance(node.args[0], ast.Constant), f"{file}: a step named by a string"
    for route in ROUTES:
        assert route.steps.name in ("", route.name), route.name
        for name, step in route.steps.items():
            assert name == step.name and name.startswith(f"{route.name}."), name

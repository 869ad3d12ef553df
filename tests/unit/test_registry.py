"""Table tests over the one registration table (zulip's DefaultTests)."""

from __future__ import annotations

import pytest

from bot.core import Role
from handlers import ROUTES
from tests.fakes import Chat

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

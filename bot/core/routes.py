"""The shapes of the registration tables: a Route per chat feature, a Sweep per scheduled job."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.messages import Reply
from bot.core.roles import Role

Handler = Callable[..., Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Route:
    """One entry of the registration table in handlers/__init__.py.

    `arg` names the keyword that receives a command's argument text; `on_button` receives a
    pressed button's data; `steps` maps dialog step names to step functions;
    `takes_location` marks the one route that a bare shared location goes to; `menu` and
    `only_unbound` decide whether /help lists it (binding is listed only before binding).
    """

    name: str
    handler: Handler
    help: str
    aliases: tuple[str, ...] = ()
    intent: str | None = None
    role: Role = Role.MEMBER
    arg: str | None = None
    on_button: Handler | None = None
    steps: Mapping[str, Handler] = field(default_factory=dict)
    takes_location: bool = False
    menu: bool = True
    only_unbound: bool = False


class SweepFunc(Protocol):
    async def __call__(self, *, session: Any, now: datetime, settings: Any) -> Any: ...


@dataclass(frozen=True)
class Sweep:
    """A scheduled job: `func(session=, now=, settings=)` every `every`."""

    id: str
    func: SweepFunc
    every: timedelta

"""Platform-neutral message types: what adapters produce and what handlers return."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


class Role(enum.StrEnum):
    """What a member may do. ANYONE needs no binding."""

    ANYONE = "anyone"
    MEMBER = "member"
    LIAISON = "liaison"
    SECRETARY = "secretary"
    OFFICER = "officer"
    ALLIANCE_ADMIN = "alliance_admin"
    SUPER_ADMIN = "super_admin"


ROLE_NAMES_ZH: Mapping[Role, str] = {
    Role.ANYONE: "访客",
    Role.MEMBER: "党员",
    Role.LIAISON: "联络员",
    Role.SECRETARY: "支部书记",
    Role.OFFICER: "部门干部",
    Role.ALLIANCE_ADMIN: "联盟管理员",
    Role.SUPER_ADMIN: "县级管理员",
}


@dataclass(frozen=True)
class Location:
    """A shared position. `followup`: a later position of a live share already started
    (Telegram sends one every few seconds while the user moves)."""

    latitude: float
    longitude: float
    live: bool = False
    followup: bool = False


@dataclass(frozen=True)
class Incoming:
    """One event from a platform. (platform, event_id) is the dedupe key."""

    platform: str
    event_id: str
    user_key: str
    chat_key: str
    received_at: datetime
    text: str = ""
    action: str | None = None
    location: Location | None = None
    display_name: str = ""
    is_group: bool = False


@dataclass(frozen=True)
class Button:
    """A choice. `action` is '<route>:<data>'; adapters only ever see an opaque token."""

    label: str
    action: str


@dataclass(frozen=True)
class Reply:
    """A message to the sender; buttons are shown in rows of `buttons`."""

    text: str
    buttons: tuple[Button, ...] = ()
    image: Path | None = None
    file: Path | None = None


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

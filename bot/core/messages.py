"""Platform-neutral message types: what adapters produce and what handlers return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


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

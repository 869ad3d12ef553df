"""Platform-neutral message types: what adapters produce and what handlers return."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A shared position. `followup`: a later position of a live share already started
    (Telegram sends one every few seconds while the user moves). `verified`: the adapter
    vouches that it is where the person is now (on Telegram only a live share, by setting)."""

    latitude: float
    longitude: float
    live: bool = False
    followup: bool = False
    verified: bool = True


@dataclass(frozen=True)
class Attachment:
    """A picture or file someone sent, as the adapter stored it (models.files.store_upload).

    `sent_as`: "photo" or "file", how the platform delivered it. `kind`: what the bytes are
    ("picture", "pdf", "word", "excel"), sniffed from the content, not the name. Stored once
    under its content hash `sha256` with `suffix` (".jpg", ".docx"...). When it could not be
    taken, `problem` says why ("too_big", "wrong_kind", "not_fetched") and nothing is stored.

    Until it is downloaded (by the event worker, after the platform got its answer), `source`
    is the platform's reference to it (a Telegram file_id, a WeCom media_id) and `size` the
    size the platform announced (0: not said).
    """

    sent_as: str
    name: str = ""
    kind: str = ""
    sha256: str = ""
    suffix: str = ""
    size: int = 0
    problem: str = ""
    source: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem and bool(self.sha256)

    @property
    def waiting(self) -> bool:
        """Announced by the platform, not downloaded yet."""
        return bool(self.source) and not self.sha256 and not self.problem


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
    attachments: tuple[Attachment, ...] = ()

    @property
    def sender(self) -> str:
        """The sending user on their platform, as one key: "telegram:12345"."""
        return f"{self.platform}:{self.user_key}"


Scalar = str | int | float | bool | None


@dataclass(frozen=True, init=False)
class Button:
    """A choice under a message: `Button("签收", "tickets.act", do="sign", ticket=5)`.

    `target` names what a press runs: a route (its handler), one of its named buttons, or a
    step of its dialog ("<route>", "<route>.<name>"); `values` reach it as keywords. Both stay
    on the server behind `token`, the only part of a button an adapter ever sees.
    """

    label: str
    target: str
    values: Mapping[str, Scalar]
    token: str

    def __init__(self, label: str, target: str, *, token: str = "", **values: Scalar) -> None:
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "values", dict(values))
        object.__setattr__(self, "token", token)

    def issued(self, token: str) -> Button:
        """The same choice, carrying the token the server keeps its target and values under."""
        return Button(self.label, self.target, token=token, **self.values)


@dataclass(frozen=True)
class Reply:
    """A message to the sender; buttons are shown in rows of `buttons`."""

    text: str
    buttons: tuple[Button, ...] = ()
    image: Path | None = None
    file: Path | None = None

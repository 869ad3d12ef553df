"""Console adapter: chat as a demo account in a terminal or from a pipe (INTERFACES.md)."""

from __future__ import annotations

import itertools
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.app import App
from bot.core import Attachment, Button, Incoming, Location, Reply
from bot.ratelimit import RateLimiter
from models.files import NOT_FETCHED, refused, store_upload
from settings import Settings

PLATFORM = "console"
LOC_RE = re.compile(r"^@loc\s+(-?\d+(?:\.\d+)?)\s*[,，]\s*(-?\d+(?:\.\d+)?)$")
NO_BUTTON = "（没有第 {n} 个按钮）"
BAD_LOCATION = "（位置格式：@loc 纬度,经度，例如 @loc 35.55,118.46）"
NO_PATH = "（格式：@photo 图片路径 或 @file 文件路径，可在路径后空一格写说明）"
FILE_RE = re.compile(r"^@(photo|file)(?:\s+(.*))?$", re.S)

_event_ids = itertools.count(1)


def render(reply: Reply) -> str:
    """Text, then buttons as `[1] label  [2] label`, then `[image: PATH]`/`[file: PATH]`."""
    lines = [reply.text] if reply.text else []
    if reply.buttons:
        lines.append("  ".join(f"[{i}] {b.label}" for i, b in enumerate(reply.buttons, 1)))
    if reply.image:
        lines.append(f"[image: {reply.image}]")
    if reply.file:
        lines.append(f"[file: {reply.file}]")
    return "\n".join(lines)


@dataclass
class ConsoleTransport:
    """Delivers outbox rows for console users by printing `>> USER: text`."""

    out: TextIO
    buttons: dict[str, tuple[Button, ...]] = field(default_factory=dict)
    platform: str = PLATFORM
    limiter: RateLimiter | None = None
    concurrency: int = 1

    async def send(self, user_key: str, reply: Reply) -> None:
        self.buttons[user_key] = reply.buttons
        print(f">> {user_key}: {render(reply)}", file=self.out, flush=True)


class ConsoleSession:
    """Reads lines, turns each into one Incoming, prints replies, then delivers the outbox."""

    def __init__(self, app: App, transport: ConsoleTransport, user: str) -> None:
        self.app = app
        self.transport = transport
        self.user = user

    def to_incoming(self, line: str) -> Incoming | str | None:
        """An Incoming, a notice string for the console itself, or None (nothing to send)."""
        line = line.strip()
        now = self.app.clock.now()
        base = {
            "platform": PLATFORM,
            "event_id": f"{time.time_ns()}-{next(_event_ids)}",
            "user_key": self.user,
            "chat_key": self.user,
            "received_at": now,
        }
        if not line:
            return None
        if line.startswith("@as "):
            self.user = line[4:].strip()
            return None
        if re.fullmatch(r"#\d+", line):
            n = int(line[1:])
            buttons = self.transport.buttons.get(self.user, ())
            if not 1 <= n <= len(buttons):
                return NO_BUTTON.format(n=n)
            return Incoming(**base, action=buttons[n - 1].token)
        if line.startswith("@loc"):
            m = LOC_RE.match(line)
            if not m:
                return BAD_LOCATION
            return Incoming(**base, location=Location(float(m.group(1)), float(m.group(2))))
        sent = FILE_RE.match(line)
        if sent:
            if not (sent.group(2) or "").strip():
                return NO_PATH
            path, caption = _path_and_caption(sent.group(2).strip())
            attachment = read_attachment(path, sent.group(1), self.app.settings)
            return Incoming(**base, text=caption, attachments=(attachment,))
        return Incoming(**base, text=line)

    async def feed(self, line: str) -> None:
        event = self.to_incoming(line)
        if isinstance(event, str):
            print(event, file=self.transport.out, flush=True)
        elif event is not None:
            for reply in await self.app.dispatcher.handle(event):
                self.transport.buttons[self.user] = reply.buttons
                print(render(reply), file=self.transport.out, flush=True)
        await self.app.sender.drain()

    async def run(self, lines: Iterable[str], interactive: bool) -> None:
        await self.app.sender.drain()
        for line in lines:
            await self.feed(line)
            if interactive:
                print(f"{self.user}> ", end="", file=self.transport.out, flush=True)


def _path_and_caption(rest: str) -> tuple[Path, str]:
    """`@photo 现场.jpg 已完成整改`: the path, then an optional caption (a path with spaces
    is taken whole when such a file exists)."""
    whole = Path(rest).expanduser()
    if whole.is_file() or " " not in rest:
        return whole, ""
    path, _, caption = rest.partition(" ")
    return Path(path).expanduser(), caption.strip()


def read_attachment(path: Path, sent_as: str, settings: Settings) -> Attachment:
    """A picture or file from the local disk, stored as a platform download would be."""
    try:
        data = path.read_bytes()
    except OSError:
        return refused(sent_as, path.name, NOT_FETCHED)
    return store_upload(data=data, name=path.name, sent_as=sent_as, settings=settings)


def read_lines(interactive: bool) -> Iterable[str]:
    if not interactive:
        yield from sys.stdin
        return
    while True:
        try:
            yield input()
        except EOFError:
            return

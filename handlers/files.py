"""Files the bot sends (exports, sign-in sheets, calendars, charts): private, readable names,
removed once sent.

They are written in one folder only the service's user may enter (mode 0700, under the
system temp directory), each file readable only by it (0600), named for people in local time
(吹哨工单-食品产业链党建红色联盟-20261201-0900.xlsx). The `outgoing_files` sweep removes each one
KEEP after it was written unless an outbox row still waits to send it.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import fmt_local
from models.outbox import OutboxMessage, OutboxStatus
from settings import Settings

KEEP = timedelta(minutes=30)
# Where the private folder is made: the system temp directory (tests point it elsewhere).
BASE: Path | None = None
UNSAFE = re.compile(r"[\\/:*?\"<>|\x00-\x1f]+")


def folder() -> Path:
    """The private folder, created 0700 and checked: a directory, not a link, and ours."""
    path = (BASE or Path(tempfile.gettempdir())) / f"hongmeng-files-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise RuntimeError(f"{path} is not a private folder of this user")
    if stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)
    return path


def stamp(moment: datetime) -> str:
    """A local time as file names carry it: 20261201-0900."""
    return fmt_local(moment, "%Y%m%d-%H%M")


def outgoing(*parts: str, suffix: str) -> Path:
    """A new empty file, mode 0600, named from `parts` joined by '-' (a number is added when
    the name is taken); writers then fill it in place, keeping the mode."""
    base = "-".join(UNSAFE.sub("", p).strip() for p in parts if p and p.strip())[:120]
    home = folder()
    for n in range(1, 1000):
        name = f"{base}{'' if n == 1 else f'-{n}'}{suffix}"
        try:
            handle = os.open(home / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            continue
        os.close(handle)
        return home / name
    raise RuntimeError(f"no free file name for {base}{suffix}")


async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> list[Path]:
    """Remove files written more than KEEP ago (by the file system's clock) that no unsent
    outbox row refers to; returns those removed."""
    home = folder()
    cutoff = time.time() - KEEP.total_seconds()
    old = [p for p in home.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
    if not old:
        return []
    names = [str(p) for p in old]
    waiting = set(
        await session.scalars(
            select(OutboxMessage.file).where(
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                OutboxMessage.file.in_(names),
            )
        )
    ) | set(
        await session.scalars(
            select(OutboxMessage.image).where(
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                OutboxMessage.image.in_(names),
            )
        )
    )
    removed = []
    for path in old:
        if str(path) not in waiting:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed

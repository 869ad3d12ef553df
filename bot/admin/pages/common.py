"""What several pages share: the alliances and units a viewer may pick, uploads kept between
"check the file" and "import it", notifications through the outbox."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import select
from starlette.datastructures import UploadFile

from bot.admin.auth import Viewer
from bot.core import Reply
from models.org import Alliance, Membership, Unit
from models.outbox import enqueue_many

UPLOADS = Path(tempfile.gettempdir()) / "hongmeng-uploads"
UPLOAD_MAX = 10 * 1024 * 1024
UPLOAD_DAYS = 1
TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


async def alliance_options(viewer: Viewer, first: str = "全部联盟") -> list[tuple[str, str]]:
    stmt = select(Alliance.id, Alliance.name).where(viewer.scope.where(Alliance.id))
    rows = (await viewer.session.execute(stmt.order_by(Alliance.id))).all()
    return [("", first)] + [(str(i), name) for i, name in rows]


async def units_in_scope(viewer: Viewer) -> list[tuple[int, str, str]]:
    """(unit id, unit name, its alliances) of the units in the viewer's scope."""
    stmt = (
        select(Unit.id, Unit.name, Alliance.name)
        .join(Membership, Membership.unit_id == Unit.id)
        .join(Alliance, Alliance.id == Membership.alliance_id)
        .where(viewer.scope.where(Membership.alliance_id))
        .order_by(Unit.name, Alliance.id)
    )
    found: dict[int, tuple[str, list[str]]] = {}
    for unit_id, name, alliance in await viewer.session.execute(stmt):
        found.setdefault(unit_id, (name, []))[1].append(alliance)
    return [(i, name, "、".join(a)) for i, (name, a) in found.items()]


async def keep_upload(viewer: Viewer, upload: UploadFile) -> tuple[str, Path] | None:
    """Store an uploaded sheet for the two steps of an import; (token, path) or None if
    nothing usable was sent. The file keeps its name (sentences name it)."""
    name = Path(upload.filename or "").name
    if not name:
        return None
    _sweep_old()
    token = f"{viewer.member.id}-{secrets.token_urlsafe(12)}"
    folder = UPLOADS / token
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(64 * 1024):
            size += len(chunk)
            if size > UPLOAD_MAX:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                return None
            out.write(chunk)
    return token, path


def kept_upload(viewer: Viewer, token: str) -> Path | None:
    """The sheet this viewer uploaded under `token`, if it is still there."""
    if not token.startswith(f"{viewer.member.id}-") or not set(token) <= TOKEN_CHARS:
        return None
    folder = UPLOADS / token
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    return files[0] if files else None


def drop_upload(token: str) -> None:
    shutil.rmtree(UPLOADS / token, ignore_errors=True)


def _sweep_old() -> None:
    if not UPLOADS.is_dir():
        return
    limit = time.time() - UPLOAD_DAYS * 86400
    for folder in UPLOADS.iterdir():
        if folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)


async def tell(
    viewer: Viewer, member_ids: list[int], text: str, *, kind: str, ref_id: int | None = None
) -> None:
    """Messages to others through the outbox, in the page's transaction (not the viewer)."""
    ids = [m for m in dict.fromkeys(member_ids) if m != viewer.member.id]
    if ids:
        await enqueue_many(
            session=viewer.session,
            member_ids=ids,
            reply=Reply(text),
            now=viewer.now,
            kind=kind,
            ref_id=ref_id,
        )

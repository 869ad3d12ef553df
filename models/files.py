"""Pictures and files people send: checked, then stored once by content hash.

What a file is comes from its bytes, never its name: pictures (JPEG, PNG, GIF, WebP), PDF,
Word (.docx, .doc) and Excel (.xlsx, .xls). Anything else, anything over UPLOAD_MAX_MB, and
anything that could not be fetched becomes an Attachment with a `problem` and nothing is
written. A stored file lives at FILES_DIR/ab/abcdef….ext (written to a temporary name, then
renamed, so a half-written file is never found under its hash).

Photos keep what was received (the evidence); whatever is shown to other people goes through
`shareable_path`, a copy without location data (EXIF GPS, XMP).

The platform adapters announce an attachment by its platform reference (`Attachment.source`);
the event worker downloads it with `fetch_pending` before the event is applied (so the
platform's answer never waits for a download). The console calls `store_upload` with a file
read from disk.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.core import Attachment
from settings import Settings

logger = logging.getLogger(__name__)

PICTURE, PDF, WORD, EXCEL = "picture", "pdf", "word", "excel"
TOO_BIG, WRONG_KIND, NOT_FETCHED = "too_big", "wrong_kind", "not_fetched"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
GPS_IFD = 0x8825
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
EXIF_HEADER = b"Exif\x00\x00"
SHARED = ".shared"  # the location-free copy: <hash>.shared.jpg beside <hash>.jpg
NAME_MAX = 80


def sniff(data: bytes) -> tuple[str, str] | None:
    """(kind, suffix) of what the bytes are, or None when they are none of the kinds taken."""
    if data.startswith(b"\xff\xd8\xff"):
        return PICTURE, ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PICTURE, ".png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return PICTURE, ".gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return PICTURE, ".webp"
    if data.startswith(b"%PDF-"):
        return PDF, ".pdf"
    if data.startswith(b"PK\x03\x04"):
        return _office_zip(data)
    if data.startswith(OLE_MAGIC):
        return _office_ole(data)
    return None


def _office_zip(data: bytes) -> tuple[str, str] | None:
    """A .docx or .xlsx is a zip holding word/document.xml or xl/workbook.xml."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "word/document.xml" in names:
        return WORD, ".docx"
    if "xl/workbook.xml" in names:
        return EXCEL, ".xlsx"
    return None


def _office_ole(data: bytes) -> tuple[str, str] | None:
    """A .doc or .xls is an OLE compound file whose directory names its main stream."""
    if "WordDocument".encode("utf-16-le") in data:
        return WORD, ".doc"
    if any(n.encode("utf-16-le") + b"\x00\x00" in data for n in ("Workbook", "Book")):
        return EXCEL, ".xls"
    return None


def clean_name(name: str, suffix: str, sha256: str) -> str:
    """The name to show: the sender's, without folders or odd characters; else from the hash."""
    base = re.sub(r"[\x00-\x1f/\\:*?\"<>|]+", "", Path(name.replace("\\", "/")).name).strip()
    if not base or base.startswith("."):
        base = f"{sha256[:8]}{suffix}"
    return base[-NAME_MAX:]


def stored_path(settings: Settings, sha256: str, suffix: str) -> Path:
    return settings.files_dir / sha256[:2] / f"{sha256}{suffix}"


def attachment_path(settings: Settings, attachment: Attachment) -> Path:
    return stored_path(settings, attachment.sha256, attachment.suffix)


def refused(sent_as: str, name: str, problem: str) -> Attachment:
    return Attachment(sent_as=sent_as, name=name, problem=problem)


def store_upload(*, data: bytes, name: str, sent_as: str, settings: Settings) -> Attachment:
    """Check the bytes and store them under their hash (once: the same bytes again reuse it)."""
    if len(data) > settings.upload_max_bytes:
        return refused(sent_as, name, TOO_BIG)
    if not data:
        return refused(sent_as, name, NOT_FETCHED)
    found = sniff(data)
    if found is None:
        return refused(sent_as, name, WRONG_KIND)
    kind, suffix = found
    sha256 = hashlib.sha256(data).hexdigest()
    path = stored_path(settings, sha256, suffix)
    if not path.is_file():
        _write_atomically(path, data)
    return Attachment(
        sent_as=sent_as,
        name=clean_name(name, suffix, sha256),
        kind=kind,
        sha256=sha256,
        suffix=suffix,
        size=len(data),
    )


async def fetch_and_store(
    fetch: Callable[[], Awaitable[bytes]],
    *,
    name: str,
    sent_as: str,
    settings: Settings,
    size_hint: int | None = None,
) -> Attachment:
    """Download with `fetch` (the platform's call) and store; a failed download, or a size the
    platform announced over the limit (not downloaded at all), is refused with its reason."""
    if size_hint is not None and size_hint > settings.upload_max_bytes:
        return refused(sent_as, name, TOO_BIG)
    try:
        data = await fetch()
    except Exception as error:  # the platform's errors differ; any of them means "not fetched"
        logger.warning("download of %s %r failed: %r", sent_as, name, error)
        return refused(sent_as, name, NOT_FETCHED)
    return store_upload(data=data, name=name, sent_as=sent_as, settings=settings)


async def fetch_pending(
    attachment: Attachment, download: Callable[[str], Awaitable[bytes]] | None, settings: Settings
) -> Attachment:
    """An attachment the platform announced, downloaded with `download` (its platform's)."""
    if download is None:
        return refused(attachment.sent_as, attachment.name, NOT_FETCHED)
    source = attachment.source
    return await fetch_and_store(
        lambda: download(source),
        name=attachment.name,
        sent_as=attachment.sent_as,
        settings=settings,
        size_hint=attachment.size or None,
    )


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def shareable_path(settings: Settings, sha256: str, suffix: str, kind: str) -> Path | None:
    """The file to show other people: for a picture a copy without location data (made once),
    for a document the stored file itself; None when the file is gone or cannot be cleaned."""
    original = stored_path(settings, sha256, suffix)
    if not original.is_file():
        return None
    if kind != PICTURE:
        return original
    shared = original.with_name(f"{sha256}{SHARED}{suffix}")
    if not shared.is_file():
        cleaned = strip_location(original.read_bytes())
        if cleaned is None:
            return None
        _write_atomically(shared, cleaned)
    return shared


def strip_location(data: bytes) -> bytes | None:
    """The picture without its GPS tags and XMP packet (None if it cannot be rewritten). JPEGs
    are rewritten segment by segment (the image data is not re-encoded); other formats are
    re-saved, without metadata, only when they carry EXIF or XMP."""
    if data.startswith(b"\xff\xd8"):
        return _strip_jpeg(data)
    return _strip_other(data)


def _without_gps(payload: bytes) -> bytes | None:
    """An EXIF APP1 payload without its GPS directory (None: drop the segment)."""
    from PIL import Image

    exif = Image.Exif()
    try:
        exif.load(payload)
    except Exception:  # unreadable EXIF cannot be checked for a location: drop it
        return None
    if GPS_IFD not in exif:
        return payload
    del exif[GPS_IFD]
    return exif.tobytes()


def _strip_jpeg(data: bytes) -> bytes:
    out = bytearray(data[:2])
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA or 0xD0 <= marker <= 0xD9:  # start of scan: the rest is image data
            break
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        segment = data[i : i + 2 + length]
        payload = segment[4:]
        if marker == 0xE1 and payload.startswith(EXIF_HEADER):
            cleaned = _without_gps(payload)
            if cleaned is not None:
                out += b"\xff\xe1" + (len(cleaned) + 2).to_bytes(2, "big") + cleaned
        elif not (marker == 0xE1 and payload.startswith(XMP_HEADER)):
            out += segment
        i += 2 + length
    out += data[i:]
    return bytes(out)


def _strip_other(data: bytes) -> bytes | None:
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        exif = image.getexif()
        xmp = "XML:com.adobe.xmp" in image.info or "xmp" in image.info
        if not exif and not xmp:
            return data
        out = io.BytesIO()
        frames = getattr(image, "n_frames", 1) > 1
        image.save(out, format=image.format, save_all=frames)
        return out.getvalue()
    except Exception:  # a picture that cannot be rewritten is not shown with its metadata
        logger.warning("could not strip the metadata of a picture; it is not shown to others")
        return None

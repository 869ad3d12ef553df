"""Pictures and files people send: sniffed from the bytes, size-limited, stored once by hash,
shown to others without location data; the helpers the platform adapters call."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from docx import Document
from openpyxl import Workbook
from PIL import Image

from models.files import (
    GPS_IFD,
    attachment_path,
    fetch_and_store,
    shareable_path,
    sniff,
    store_upload,
    strip_location,
)
from settings import Settings
from tests.conftest import make_settings

GPS = {1: "N", 2: (35.0, 33.0, 0.0), 3: "E", 4: (118.0, 27.0, 36.0)}


def photo(with_gps: bool = True, colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A JPEG as a phone writes it: camera make, orientation and (optionally) where it was."""
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"
    exif[0x0112] = 1
    if with_gps:
        exif[GPS_IFD] = GPS
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def docx_bytes() -> bytes:
    out = io.BytesIO()
    Document().save(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


@pytest.fixture
def files_settings(tmp_path: Path) -> Settings:
    return make_settings(
        f"sqlite:///{tmp_path / 'x.db'}", FILES_DIR=str(tmp_path / "files"), UPLOAD_MAX_MB=1
    )


def stored(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.files_dir.rglob("*") if p.is_file())


def test_kinds_come_from_the_bytes_not_the_name() -> None:
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("readme.txt", "hello")
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64
    assert sniff(photo()) == ("picture", ".jpg")
    assert sniff(png.getvalue()) == ("picture", ".png")
    assert sniff(b"GIF89a" + b"\x00" * 10) == ("picture", ".gif")
    assert sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == ("picture", ".webp")
    assert sniff(b"%PDF-1.7\n...") == ("pdf", ".pdf")
    assert sniff(docx_bytes()) == ("word", ".docx")
    assert sniff(xlsx_bytes()) == ("excel", ".xlsx")
    assert sniff(ole + "WordDocument".encode("utf-16-le")) == ("word", ".doc")
    assert sniff(ole + "Workbook".encode("utf-16-le") + b"\x00\x00") == ("excel", ".xls")
    assert sniff(plain_zip.getvalue()) is None  # a zip that is not an Office file
    assert sniff(b"MZ\x90\x00 an .exe renamed to photo.jpg") is None
    assert sniff("就是一段文字".encode()) is None


def test_the_same_bytes_are_stored_once_under_their_hash(files_settings: Settings) -> None:
    first = store_upload(data=photo(), name="现场.jpg", sent_as="photo", settings=files_settings)
    again = store_upload(data=photo(), name="again.jpg", sent_as="photo", settings=files_settings)
    assert first.ok and again.ok and first.sha256 == again.sha256
    assert first.kind == "picture" and first.suffix == ".jpg" and first.name == "现场.jpg"
    path = attachment_path(files_settings, first)
    assert stored(files_settings) == [path]
    assert path.parent.name == first.sha256[:2] and path.read_bytes() == photo()


def test_too_big_wrong_kind_and_empty_are_refused_and_nothing_is_stored(
    files_settings: Settings,
) -> None:
    big = b"%PDF-1.7\n" + b"0" * (1024 * 1024)
    refused = [
        store_upload(data=big, name="a.pdf", sent_as="file", settings=files_settings),
        store_upload(data=b"MZ\x90\x00", name="a.jpg", sent_as="photo", settings=files_settings),
        store_upload(data=b"", name="b.pdf", sent_as="file", settings=files_settings),
    ]
    assert [a.problem for a in refused] == ["too_big", "wrong_kind", "not_fetched"]
    assert not any(a.ok or a.sha256 for a in refused)
    assert stored(files_settings) == []


def test_a_folder_in_the_name_is_dropped(files_settings: Settings) -> None:
    data = docx_bytes()  # one document: a second one saved a second later has other bytes
    got = store_upload(
        data=data, name="../../etc/会议.docx", sent_as="file", settings=files_settings
    )
    assert got.name == "会议.docx" and got.kind == "word"
    nameless = store_upload(data=data, name="", sent_as="file", settings=files_settings)
    assert nameless.name == f"{got.sha256[:8]}.docx"


def test_photos_shown_to_others_lose_their_location_but_keep_the_rest(
    files_settings: Settings,
) -> None:
    got = store_upload(data=photo(), name="p.jpg", sent_as="photo", settings=files_settings)
    original = Image.open(io.BytesIO(attachment_path(files_settings, got).read_bytes()))
    assert original.getexif().get_ifd(GPS_IFD) == GPS  # the evidence as received is kept
    shared = shareable_path(files_settings, got.sha256, got.suffix, got.kind)
    assert shared is not None and shared != attachment_path(files_settings, got)
    image = Image.open(io.BytesIO(shared.read_bytes()))
    exif = image.getexif()
    assert GPS_IFD not in exif and exif.get_ifd(GPS_IFD) == {}
    assert exif[0x010F] == "TestPhone"  # other tags stay
    assert image.size == (64, 48)
    # The image data is not re-encoded: only the EXIF segment changed.
    assert shared.read_bytes().endswith(photo()[-200:])
    # Asked again, the same copy is used.
    assert shareable_path(files_settings, got.sha256, got.suffix, got.kind) == shared


def test_png_with_exif_is_rewritten_without_it_and_documents_are_shown_as_they_are(
    files_settings: Settings,
) -> None:
    exif = Image.Exif()
    exif[GPS_IFD] = GPS
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "PNG", exif=exif.tobytes())
    cleaned = strip_location(out.getvalue())
    assert cleaned is not None and GPS_IFD not in Image.open(io.BytesIO(cleaned)).getexif()
    assert Image.open(io.BytesIO(cleaned)).getpixel((0, 0)) == (1, 2, 3)
    plain = photo(with_gps=False)
    assert Image.open(io.BytesIO(strip_location(plain) or b"")).getexif()[0x010F] == "TestPhone"
    doc = store_upload(data=docx_bytes(), name="d.docx", sent_as="file", settings=files_settings)
    assert shareable_path(files_settings, doc.sha256, doc.suffix, doc.kind) == attachment_path(
        files_settings, doc
    )


async def test_the_platform_helper_downloads_then_stores(files_settings: Settings) -> None:
    calls = []

    async def download() -> bytes:
        calls.append(1)
        return photo()

    got = await fetch_and_store(download, name="x.jpg", sent_as="photo", settings=files_settings)
    assert got.ok and calls == [1]

    async def broken() -> bytes:
        raise ConnectionError("media id expired")

    failed = await fetch_and_store(broken, name="y.jpg", sent_as="photo", settings=files_settings)
    assert failed.problem == "not_fetched" and not failed.sha256
    # A size the platform announced over the limit is refused without downloading.
    huge = await fetch_and_store(
        download,
        name="big.pdf",
        sent_as="file",
        settings=files_settings,
        size_hint=files_settings.upload_max_bytes + 1,
    )
    assert huge.problem == "too_big" and calls == [1]
    assert len(stored(files_settings)) == 1

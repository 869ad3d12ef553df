"""How pictures and files people send (uploads) are spoken of: what each kind is called, and the
sentence for one that could not be taken (too big, wrong kind, not fetched)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.core import Attachment
from models.files import NOT_FETCHED, PICTURE, TOO_BIG, WRONG_KIND, shareable_path
from settings import Settings

KIND_ZH = {PICTURE: "照片", "pdf": "PDF 文件", "word": "Word 文件", "excel": "Excel 表格"}
PROBLEMS = {
    TOO_BIG: "{what}太大了，请发送不超过 {mb} MB 的图片或文件。",
    WRONG_KIND: "{what}不是支持的格式。可以发送照片（JPG、PNG 等）、PDF、Word 或 Excel 文件。",
    NOT_FETCHED: "没能收到{what}，请再发送一次。",
}
NOTHING_STORED = "（未保存）"


def kind_zh(kind: str) -> str:
    return KIND_ZH.get(kind, "文件")


def _what(attachment: Attachment) -> str:
    base = "这张照片" if attachment.sent_as == "photo" else "这个文件"
    return f"{base}（{attachment.name}）" if attachment.name else base


def problem(attachments: Sequence[Attachment], settings: Settings) -> str | None:
    """The sentence for the first attachment that could not be taken, or None."""
    for attachment in attachments:
        if attachment.problem:
            text = PROBLEMS.get(attachment.problem, PROBLEMS[NOT_FETCHED])
            return text.format(what=_what(attachment), mb=settings.UPLOAD_MAX_MB) + NOTHING_STORED
    return None


def usable(attachments: Sequence[Attachment]) -> Attachment | None:
    return next((a for a in attachments if a.ok), None)


def as_values(attachment: Attachment) -> dict[str, Any]:
    """An attachment as dialog data or button values (scalars)."""
    return {
        "sha": attachment.sha256,
        "suffix": attachment.suffix,
        "kind": attachment.kind,
        "file_name": attachment.name,
        "sent_as": attachment.sent_as,
        "size": attachment.size,
    }


def from_values(values: dict[str, Any]) -> Attachment | None:
    if not values.get("sha"):
        return None
    return Attachment(
        sent_as=str(values.get("sent_as") or "file"),
        name=str(values.get("file_name") or ""),
        kind=str(values.get("kind") or ""),
        sha256=str(values["sha"]),
        suffix=str(values.get("suffix") or ""),
        size=int(values.get("size") or 0),
    )


def shown(
    settings: Settings, sha256: str, suffix: str, kind: str
) -> tuple[Path | None, Path | None]:
    """(image, file) for a Reply showing stored evidence to others: location data removed."""
    if not sha256:
        return None, None
    path = shareable_path(settings, sha256, suffix, kind)
    return (path, None) if kind == PICTURE else (None, path)

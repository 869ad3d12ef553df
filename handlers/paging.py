"""Paging for every list: a window of rows, 上一页 / 下一页 buttons, and what is shown.

A list handler slices its rows with `window`, says where it is with `where`, and adds
`buttons(target, offset, total, **values)`: each press runs `target` with `offset` and the
values (typed "下一页" works too, as for any button).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from bot.core import Button, Scalar

SIZE = 10
NEXT = "下一页"
PREVIOUS = "上一页"
WHERE = "（第 {first}–{last} 条，共 {total} 条）"
LAST = "（已经是最后一页）"

T = TypeVar("T")


def window(rows: Sequence[T], offset: int, size: int = SIZE) -> tuple[list[T], int]:
    """The rows of the page starting at `offset` (moved back onto the last page when past it),
    and the offset actually used."""
    offset = max(0, offset)
    if offset >= len(rows) and rows:
        offset = (len(rows) - 1) // size * size
    return list(rows[offset : offset + size]), offset


def where(offset: int, shown: int, total: int) -> str:
    """'（第 11–20 条，共 23 条）' when the list has more than one page, else ''."""
    if total <= shown and offset == 0:
        return ""
    return WHERE.format(first=offset + 1, last=offset + shown, total=total)


def buttons(
    target: str, offset: int, total: int, size: int = SIZE, **values: Scalar
) -> tuple[Button, ...]:
    """上一页 and 下一页 where there is such a page."""
    found = []
    if offset > 0:
        found.append(Button(PREVIOUS, target, offset=max(0, offset - size), **values))
    if offset + size < total:
        found.append(Button(NEXT, target, offset=offset + size, **values))
    return tuple(found)

"""Reading webhook bodies safely: a size cap enforced before and while reading."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):
    """The request body is over the cap; nothing beyond the cap was read."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, read in chunks as it streams in; BodyTooLarge as soon as it exceeds `limit`
    (at once when Content-Length says so), so a huge body never sits in memory."""
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)

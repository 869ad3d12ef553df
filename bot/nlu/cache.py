"""Data derived from shipped files, kept on disk keyed by a hash of those files.

Built once (jieba's prefix dictionary, the models' weights as arrays) and then read back with
marshal in milliseconds. The key covers every input byte and the Python version, so a changed
input or interpreter builds a new file (and drops the old one); an unreadable or missing cache
only costs the build. Kept in settings.ROOT/data/cache (beside the default database and files),
else in the system's temporary folder when that is not writable.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

# settings.ROOT / "data" (not imported: `import bot.nlu` stays free of pydantic).
FOLDER = Path(__file__).resolve().parents[2] / "data" / "cache"
FORMAT = b"1"  # bump when what is stored changes shape
T = TypeVar("T")


def cached(
    name: str,
    inputs: Iterable[bytes],
    build: Callable[[], T],
    pack: Callable[[T], Any],
    unpack: Callable[[Any], T],
) -> T:
    """`build()`, or what `pack` stored for exactly these inputs, read back through `unpack`."""
    digest = hashlib.sha256(FORMAT + b"\0" + sys.version.encode())
    for part in inputs:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    del inputs  # large files: not kept while the cache is read
    file_name = f"{name}-{digest.hexdigest()[:20]}.marshal"
    for folder in _folders():
        path = folder / file_name
        try:
            with path.open("rb") as handle:  # read as it goes: no copy of the whole file
                stored = marshal.load(handle)
            return unpack(stored)
        except FileNotFoundError:
            continue
        except Exception:  # a truncated or foreign file: build it again
            logger.warning("cache %s unreadable, rebuilding", path, exc_info=True)
    value = build()
    _store(name, file_name, marshal.dumps(pack(value)))
    return value


def _folders() -> list[Path]:
    return [FOLDER, Path(tempfile.gettempdir()) / "hongmeng-cache"]


def _store(name: str, file_name: str, data: bytes) -> None:
    """Write atomically to the first writable folder and drop older versions of `name`."""
    for folder in _folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        except OSError:
            continue
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, folder / file_name)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            continue
        for old in folder.glob(f"{name}-*.marshal"):
            if old.name != file_name:
                old.unlink(missing_ok=True)
        return
    logger.warning("no writable folder for the cache %s", name)

"""jieba's prefix dictionary (word or prefix → count) packed: the same answers as its dict.

jieba keeps 498,000 words and prefixes as a dict of str → int: ~62 MB, and ~0.5 s to read back
from its marshal cache at each start. Here the sorted keys are one string with an array of
offsets and an array of counts (~10 MB), found by binary search within the keys that share the
first character, and read from bot.nlu.cache in milliseconds. Words added later (our userdict,
jieba.add_word) go to a small dict consulted first, as jieba's own dict would hold them.
"""

from __future__ import annotations

import io
from array import array
from typing import Any

from bot.nlu import cache

_MISSING = object()
_UNSEEN = object()
# Answers remembered (jieba asks for the same fragment two or three times per sentence, and
# the same words come back): a hit costs a dict lookup, a miss a binary search. Emptied when
# full, so it stays below ~3 MB.
SEEN_MAX = 20_000


class PackedFreq:
    """What jieba asks of its FREQ: `in`, `[]`, `get` and `[]=` (add_word)."""

    def __init__(
        self, text: str, offsets: array[int], counts: array[int], first: dict[str, tuple[int, int]]
    ) -> None:
        self._text = text  # the sorted keys, end to end
        self._offsets = offsets  # key i is text[offsets[i]:offsets[i + 1]]
        self._counts = counts
        self._first = first  # first character → the range of keys starting with it
        self._added: dict[str, int] = {}
        self._seen: dict[str, Any] = {}

    @classmethod
    def build(cls, freq: dict[str, int]) -> PackedFreq:
        keys = sorted(freq)
        # 4 bytes an offset and a count where they fit (jieba's counts do), else 8.
        wide = sum(map(len, keys)) >= 2**32 or max(freq.values(), default=0) >= 2**32
        offsets, counts = array("Q" if wide else "I", [0]), array("q" if wide else "I")
        first: dict[str, tuple[int, int]] = {}
        end = 0
        for index, key in enumerate(keys):
            end += len(key)
            offsets.append(end)
            counts.append(freq[key])
            low, _ = first.get(key[0], (index, index))
            first[key[0]] = (low, index + 1)
        return cls("".join(keys), offsets, counts, first)

    def _index(self, key: str) -> int:
        bounds = self._first.get(key[:1])
        if bounds is None:
            return -1
        low, high = bounds
        text, offsets = self._text, self._offsets
        while low < high:
            middle = (low + high) // 2
            found = text[offsets[middle] : offsets[middle + 1]]
            if found < key:
                low = middle + 1
            elif found > key:
                high = middle
            else:
                return middle
        return -1

    def get(self, key: str, default: Any = None) -> Any:
        value = self._seen.get(key, _UNSEEN)
        if value is _UNSEEN:
            value = self._added.get(key, _MISSING)
            if value is _MISSING:
                index = self._index(key)
                value = self._counts[index] if index >= 0 else _MISSING
            if len(self._seen) >= SEEN_MAX:
                self._seen.clear()
            self._seen[key] = value
        return default if value is _MISSING else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def __getitem__(self, key: str) -> int:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    def __setitem__(self, key: str, value: int) -> None:
        self._added[key] = value
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._counts) + sum(self._index(k) < 0 for k in self._added)


def install(tokenizer: Any, version: str) -> None:
    """Give a jieba Tokenizer (jieba.dt) its default dictionary, packed, and mark it loaded."""
    with tokenizer.get_dict_file() as source:
        raw = source.read()

    def build() -> tuple[PackedFreq, int]:
        freq, total = tokenizer.gen_pfdict(io.BytesIO(raw))
        return PackedFreq.build(freq), total

    packed, total = cache.cached("jieba-prefix", [version.encode(), raw], build, _pack, _unpack)
    with tokenizer.lock:
        tokenizer.FREQ, tokenizer.total = packed, total
        tokenizer.initialized = True


def _pack(value: tuple[PackedFreq, int]) -> tuple[Any, ...]:
    packed, total = value
    firsts = "".join(packed._first)
    bounds = array("I", [n for low, high in packed._first.values() for n in (low, high)])
    return (
        total,
        packed._text,
        packed._offsets.typecode,
        packed._offsets.tobytes(),
        packed._counts.typecode,
        packed._counts.tobytes(),
        firsts,
        bounds.tobytes(),
    )


def _unpack(stored: tuple[Any, ...]) -> tuple[PackedFreq, int]:
    total, text, offsets_type, offsets_data, counts_type, counts_data, firsts, bounds_data = stored
    offsets, counts, bounds = array(offsets_type), array(counts_type), array("I")
    offsets.frombytes(offsets_data)
    counts.frombytes(counts_data)
    bounds.frombytes(bounds_data)
    first = {char: (bounds[2 * k], bounds[2 * k + 1]) for k, char in enumerate(firsts)}
    return PackedFreq(text, offsets, counts, first), total

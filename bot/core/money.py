"""Amounts as people type them and as the county's reports write them.

Money is integer fen, never a float. `parse_amount("3000余万元")` reads Arabic or Chinese
numerals with 千/万/亿 (3000余万, 1.7亿, 二百六十万元, 2,335万, 一点七亿, 1万2千) and marks an
amount approximate when it says 余/多/约/近/左右; `parse_count("37人")` reads a number of
people or things the same way. `show_amount` writes figures the way the report does:
3000余万元, 2335万元, 1.7亿元, 8600元. Chinese numerals below 万 are read by cn2an (pinned in
requirements.txt); 万 and 亿 are units here, so 1.7亿 and 一点七亿 read alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.core.text import fold

YUAN = 100  # fen in a yuan
_UNITS = {"千": 1_000, "万": 10_000, "亿": 100_000_000}
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_DIGITS |= {"七": 7, "八": 8, "九": 9}
LARGEST = Decimal(1_000_000_000_000)  # a trillion yuan: anything above is a typing slip
_ABOUT = re.compile(r"余|多|约|近|左右|上下|大约|大概|将近")
_CURRENCY = re.compile(r"[¥￥]|rmb|人民币|元|块钱|块|圆|整", re.I)
_NUMBER = re.compile(r"[0-9][0-9,，]*(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千点]+")


@dataclass(frozen=True)
class Amount:
    """An amount of money in fen; `approximate` when it was typed as 余/多/约."""

    fen: int
    approximate: bool = False


class AmountError(ValueError):
    """What was typed is not an amount: `reason` is empty, negative, not_a_number or
    too_large."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_amount(text: str) -> Amount:
    """Money typed in any of the report's forms, as integer fen."""
    value, approximate = _parse(text)
    fen = (value * YUAN).quantize(Decimal(1))
    return Amount(int(fen), approximate)


def parse_count(text: str) -> tuple[int, bool]:
    """A count (people, compounds, problems): 37人, 三十七名, 479余人, 1.3万人."""
    value, approximate = _parse(re.sub(r"[人名个件户家条次座处项]", "", text))
    if value != value.to_integral_value():
        raise AmountError("not_a_number")
    return int(value), approximate


def _parse(text: str) -> tuple[Decimal, bool]:
    cleaned = fold(text).replace(" ", "")
    if not cleaned:
        raise AmountError("empty")
    if cleaned.startswith(("-", "负")):
        raise AmountError("negative")
    approximate = bool(_ABOUT.search(cleaned))
    cleaned = _CURRENCY.sub("", _ABOUT.sub("", cleaned))
    total = Decimal(0)
    rest = cleaned
    # Each group is a number followed by a unit: 1万2千 → 1×万 + 2×千; the last may have none.
    while rest:
        found = _NUMBER.match(rest)
        if found is None:
            raise AmountError("not_a_number")
        number = _number(found.group(0))
        rest = rest[found.end() :]
        scale = 1
        while rest and rest[0] in _UNITS:
            scale *= _UNITS[rest[0]]
            rest = rest[1:]
        total += number * scale
    if total > LARGEST:
        raise AmountError("too_large")
    return total, approximate


def _number(text: str) -> Decimal:
    if text[0].isdigit():
        try:
            return Decimal(text.replace(",", "").replace("，", ""))
        except InvalidOperation:
            raise AmountError("not_a_number") from None
    if len(text) > 1:
        text = text.lstrip("零〇") or "零"  # 一万零二百: the group after 万 is 零二百
    whole, _, fraction = text.partition("点")
    value = Decimal(_chinese_integer(whole)) if whole else Decimal(0)
    if fraction:
        if any(c not in _DIGITS for c in fraction):
            raise AmountError("not_a_number")
        value += Decimal("0." + "".join(str(_DIGITS[c]) for c in fraction))
    return value


def _chinese_integer(text: str) -> int:
    """一千二百三十四 → 1234; 十五 → 15; 一千零五 → 1005 (below 万: 万 and 亿 are units)."""
    # Imported here: cn2an (with its dependency proces) costs ~0.1 s at start, and most
    # processes never read a Chinese numeral.
    import cn2an

    try:
        return int(cn2an.cn2an(text, "normal"))
    except (ValueError, KeyError, IndexError):
        raise AmountError("not_a_number") from None


def show_amount(fen: int, approximate: bool = False) -> str:
    """As the report writes it: 3000余万元, 2335万元, 1.7亿元, 260余万元, 8600元."""
    yuan = Decimal(fen) / YUAN
    about = "余" if approximate else ""
    for unit, size in (("亿", 100_000_000), ("万", 10_000)):
        if yuan >= size:
            return f"{_short(yuan / size)}{about}{unit}元"
    return f"{_short(yuan)}{about}元"


def show_count(count: int, unit: str, approximate: bool = False) -> str:
    """479人, 1.3万人, 37余人."""
    about = "余" if approximate else ""
    if count >= 10_000:
        return f"{_short(Decimal(count) / 10_000)}{about}万{unit}"
    return f"{count}{about}{unit}"


def _short(value: Decimal) -> str:
    """At most two decimals, none when whole: 1.7, 2335, 12.35."""
    rounded = value.quantize(Decimal("0.01"))
    text = f"{rounded:f}".rstrip("0").rstrip(".")
    return text or "0"

"""Text as it arrives from phones, folded once at the door: full-width letters and digits
(and the few signs codes and dates use) become ASCII, the ideographic space a space, runs of
white space one space; Chinese punctuation stays as typed. And the readings of numbers and
codes people type: Chinese numerals, digits in groups or with dashes."""

from __future__ import annotations

import re
import unicodedata

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CODE_CHARS = "".join(_DIGITS)
# Digits written one by one, in groups, with spaces, dashes or dots between them.
_DIGIT_RUN = re.compile(rf"[0-9{_CODE_CHARS}](?:[\s\-.·—_]*[0-9{_CODE_CHARS}])*")


# Full-width forms folded to ASCII: letters, digits and the signs of codes, dates and commands.
_WIDE = {chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFF01, 0xFF5F)}
_WIDE = {k: v for k, v in _WIDE.items() if v.isalnum() or v in "-#@/.+_"}
_FOLD = str.maketrans(_WIDE)


def fold(text: str) -> str:
    """Full-width letters, digits and code signs to ASCII (１２３ → 123, ／ → /), every run of
    white space (the ideographic space too) to one space, nothing at the ends; line breaks and
    Chinese punctuation are kept."""
    folded = text.translate(_FOLD)
    lines = [re.sub(r"[^\S\n]+", " ", line).strip() for line in folded.split("\n")]
    return "\n".join(lines).strip()


def chinese_number(text: str) -> int | None:
    """0–99 written as 7, 07, 七, 十七, 二十, 二十三, 两; None for anything else."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(c not in _DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return _DIGITS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


def digit_runs(text: str) -> list[str]:
    """Each number typed in the text, as ASCII digits: '签到 123 456' → ['123456'],
    '码是三八二九一零' → ['382910'], '123-456' → ['123456']."""
    runs = []
    for found in _DIGIT_RUN.finditer(text):
        digits = "".join(
            str(_DIGITS[c]) if c in _DIGITS else c for c in found.group(0) if c.isalnum()
        )
        runs.append(digits)
    return runs


def code_in(text: str, length: int) -> str | None:
    """The first code of `length` digits in the text, however it was typed, or None."""
    return next((run for run in digit_runs(text) if len(run) == length), None)

"""Dates as people and OCR write them: 2035年3月11日, 2035.03.11, 2035/3/11, 二〇三五年三月一日."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# Text is NFKC-normalised first, so full-width digits arrive as ASCII.
# OCR sometimes sets digits apart ("2 0 2 2年0 2月0 3日"): one blank between digits is allowed.
_NUMERIC = re.compile(
    r"(?<!\d)(?<!\d )((?:1 ?9|2 ?0) ?\d ?\d)\s*(年|[./-])\s*"
    r"(\d(?: ?\d)?)\s*(月|[./-])\s*(\d(?: ?\d)?)(?! ?\d)(\s*日)?"
)
_HAN_DIGITS = {char: index for index, char in enumerate("〇一二三四五六七八九")} | {"零": 0, "O": 0}
_HAN = re.compile(
    r"([〇零一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日"
)
PERPETUAL = re.compile(r"长期|永久|无固定期限|不约定期限|无期限")
_EARLIEST_YEAR = 1900
_LATEST_YEAR = 2200


@dataclass(frozen=True)
class DateMatch:
    """A date-shaped piece of text; `value` is None when no such day exists (2035-02-30) or
    OCR set its digits apart."""

    value: dt.date | None
    raw: str
    start: int
    end: int

    @property
    def iso(self) -> str:
        assert self.value is not None
        return self.value.isoformat()


def find_dates(text: str) -> list[DateMatch]:
    """Date-shaped pieces of `text` in order of appearance."""
    found: list[DateMatch] = []
    for match in _NUMERIC.finditer(text):
        first, second = match.group(2), match.group(4)
        # 2035年3-11 is not a date someone wrote; 2035.03.11 and 2035年3月11日 are.
        if (first == "年") != (second == "月") or (first != "年" and first != second):
            continue
        year, month, day = (int(match.group(index).replace(" ", "")) for index in (1, 3, 5))
        found.append(_match(year, month, day, match))
    for match in _HAN.finditer(text):
        year = int("".join(str(_HAN_DIGITS[char]) for char in match.group(1)))
        month, day = _han_number(match.group(2)), _han_number(match.group(3))
        found.append(_match(year, month, day, match))
    return sorted(found, key=lambda date: date.start)


def _match(year: int, month: int, day: int, match: re.Match[str]) -> DateMatch:
    raw = match.group().strip()
    if re.search(r"\d \d", raw):
        # OCR sets digits apart when it is unsure of them ("2 0 2 9 /1 /4" for 2029/1/1):
        # such a date is shown as read but not taken.
        return DateMatch(value=None, raw=raw, start=match.start(), end=match.end())
    try:
        value: dt.date | None = dt.date(year, month, day)
    except ValueError:
        value = None
    if value is not None and not _EARLIEST_YEAR <= value.year <= _LATEST_YEAR:
        value = None
    return DateMatch(value=value, raw=raw, start=match.start(), end=match.end())


def _han_number(text: str) -> int:
    """一 .. 三十一 written in Han numerals."""
    if "十" not in text:
        return _HAN_DIGITS[text] if len(text) == 1 else 0
    tens, _, ones = text.partition("十")
    return (_HAN_DIGITS[tens] if tens else 1) * 10 + (_HAN_DIGITS[ones] if ones else 0)


def loosely_written(text: str, date: dt.date) -> bool:
    """Whether `text` reads as `date` with its 年/月/日 garbled by OCR (2015年03月11日 as 20154F03 11).

    Only used to confirm a date already read cleanly elsewhere on the same document.
    """
    pattern = rf"(?<!\d){date.year}\D{{0,2}}?.?\D{{0,2}}0?{date.month}\D{{1,3}}0?{date.day}(?!\d)"
    return re.search(pattern, text) is not None

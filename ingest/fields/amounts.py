"""Money written as numerals (¥123,456.00, 123456元, 12.5万元) and in 大写 (壹拾贰万叁仟肆佰伍拾陆元整)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ingest.fields.text import HAN

_CENT = Decimal("0.01")
UPPER_DIGITS = {char: index for index, char in enumerate("零壹贰叁肆伍陆柒捌玖")} | {"〇": 0}
_SMALL_UNITS = {"拾": 10, "佰": 100, "仟": 1000}
UPPER_CHARS = "".join(UPPER_DIGITS) + "拾佰仟万亿元圆角分整正"
_UPPER_RUN = re.compile(f"[{UPPER_CHARS}]+")
_NUMERAL = re.compile(
    r"(?P<prefix>[¥$]|RMB|CNY|人民币)?\s*"
    r"(?P<number>(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|(?<![\d.,])\d+(?:\.\d{1,6})?)(?![\d,]|\.\d)\s*"
    r"(?P<unit>万元|万|元)?"
)
# Words that may stand right before or after 大写 without being OCR damage.
_UPPER_NEIGHBOURS = set("人民币大写为计共即合额价款整正")


@dataclass(frozen=True)
class AmountReading:
    """What one stretch of text says the amount is, in each notation it was written in."""

    numeral: Decimal | None
    numeral_raw: str | None
    upper: Decimal | None
    upper_raw: str | None
    upper_damaged: bool  # 大写 is there but OCR broke it (a non-大写 character inside)


def as_text(amount: Decimal) -> str:
    return str(amount.quantize(_CENT))


def read_amount(text: str) -> AmountReading:
    """The first numeral amount and the first 大写 amount in `text`."""
    numeral, numeral_raw = _first_numeral(text)
    upper, upper_raw, damaged = _first_upper(text)
    return AmountReading(numeral, numeral_raw, upper, upper_raw, damaged)


def parse_upper(text: str) -> Decimal | None:
    """壹拾贰万叁仟肆佰伍拾陆元整 -> 123456; None when the characters do not form an amount."""
    text = text.rstrip("整正")
    for yuan in ("元", "圆"):
        if yuan in text:
            integer_part, _, fraction = text.partition(yuan)
            break
    else:
        return None
    integer = _parse_upper_integer(integer_part) if integer_part else 0
    cents = _parse_upper_fraction(fraction)
    if integer is None or cents is None:
        return None
    return (Decimal(integer) + Decimal(cents) / 100).quantize(_CENT)


def _parse_upper_integer(text: str) -> int | None:
    total, section, digit = 0, 0, None
    for char in text:
        if char in UPPER_DIGITS:
            if digit is not None and digit != 0 and UPPER_DIGITS[char] != 0:
                return None  # two digits without a unit between them
            digit = UPPER_DIGITS[char]
        elif char in _SMALL_UNITS:
            section += (1 if digit is None else digit) * _SMALL_UNITS[char]
            digit = None
        elif char == "万":
            section += digit or 0
            total += section * 10_000
            section, digit = 0, None
        elif char == "亿":
            section += digit or 0
            total = (total + section) * 100_000_000
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def _parse_upper_fraction(text: str) -> int | None:
    cents, digit = 0, None
    for char in text.lstrip("零"):
        if char in UPPER_DIGITS:
            digit = UPPER_DIGITS[char]
        elif char == "角" and digit is not None:
            cents += digit * 10
            digit = None
        elif char == "分" and digit is not None:
            cents += digit
            digit = None
        else:
            return None
    return None if digit is not None else cents


def _first_numeral(text: str) -> tuple[Decimal | None, str | None]:
    for match in _NUMERAL.finditer(text):
        # A bare number is an amount only with a currency sign before it or 元 after it.
        if not (match.group("prefix") or match.group("unit")):
            continue
        try:
            value = Decimal(match.group("number").replace(",", ""))
        except InvalidOperation:
            continue
        if match.group("unit") in ("万", "万元"):
            value *= 10_000
        return value.quantize(_CENT), match.group().strip()
    return None, None


def _first_upper(text: str) -> tuple[Decimal | None, str | None, bool]:
    for match in _UPPER_RUN.finditer(text):
        run = match.group()
        if not any(char in UPPER_DIGITS for char in run) or not any(char in "元圆" for char in run):
            continue
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        damaged = any(
            re.match(f"[{HAN}]", char) and char not in _UPPER_NEIGHBOURS for char in (before, after)
        )
        value = None if damaged else parse_upper(run)
        return value, run, damaged or value is None
    # A run broken by a misread character may lack 元 on one side: still damaged 大写.
    pieces = [run for run in _UPPER_RUN.findall(text) if sum(char in UPPER_DIGITS for char in run) >= 2]
    if pieces:
        return None, pieces[0], True
    return None, None, False

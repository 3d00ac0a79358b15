"""居民身份证号码 masked in everything a caller receives who may not see them.

One function, `mask_id_numbers`, decides what is an ID number and masks it as
`110101********1234` (18 digits) or `110101******123` (the 15-digit numbers issued
before 1999): the birth date is hidden, area and last digits stay to tell people apart.
The API applies it to every text response (`search_api/masking.py`), exports to every
cell, and page images black out the words it would mask.

What counts as an ID number:
- 15 or 18 digits (half- or full-width, a final X allowed), written in one piece or in
  groups separated by spaces, dashes or highlight tags (`<em>…</em>`);
- with a birth date where an ID number has one (YYYYMMDD from 1900 on, or YYMMDD);
- a number that fails its check character is still somebody's ID number (an OCR misread).
What does not, although it has the same length:
- an 18-character 统一社会信用代码 whose GB 32100 check character fits and whose GB 11643
  check character does not (the ID check fitting as well is left masked: the safer error);
- a 15-digit 注册号 or a bank account written after its label (注册号, 信用代码, 账号,
  or a key such as `credit_code` in JSON), which an ID number has no reason to follow.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.credit_code import is_valid_credit_code
from archive.models import Document, DocumentPage

_DIGITS = "0123456789０１２３４５６７８９"
_CHECK_X = "XxＸｘ"
# A group of digits, the last one possibly an X (the check character).
_GROUP = re.compile(r"[0-9０-９]+[XxＸｘ]?")
# What may stand between the groups of one number: spaces, dashes, highlight tags.
_JOINER = re.compile(r"(?:[ \u3000\u00a0\-－]|</?em>){1,4}")
# Groups one joiner apart: the longest stretch one number may be read from. The lookahead
# skips, inside the regular expression engine, every stretch too short to hold an ID number:
# most of a response's digits (dates, counts, scores) stand in those.
_CHAIN = re.compile(
    r"[0-9０-９](?=[0-9０-９XxＸｘ \u3000\u00a0\-－</em>]{14})[0-9０-９]*[XxＸｘ]?"
    + r"(?:" + _JOINER.pattern + _GROUP.pattern + r")*"
)
_WORD_CHAR = re.compile(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]")
# Before a number only a digit joins it to something longer ("ID110101…" is still a number).
_DIGIT_CHAR = re.compile(r"[0-9０-９]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Labels after which a 15- or 18-digit number is a business number, not a person's.
_BUSINESS_LABELS = (
    "注册号",
    "注册码",
    "信用代码",
    "执照号",
    "账号",
    "帐号",
    "账户",
    "帐户",
    "卡号",
    "credit_code",
    "registration_no",
    "license_no",
    "bank_account",
    "account_no",
    "account_number",
)
_CONTEXT_CHARS = 24


@dataclass(frozen=True)
class IdNumberSpan:
    """Where one ID number stands in a text: its digits' positions, and its value."""

    positions: tuple[int, ...]
    value: str

    @property
    def start(self) -> int:
        return self.positions[0]

    @property
    def end(self) -> int:
        return self.positions[-1] + 1

    @property
    def hidden_positions(self) -> tuple[int, ...]:
        """The birth date: digits 7-14 of 18, 7-12 of 15."""
        return self.positions[6:14] if len(self.positions) == 18 else self.positions[6:12]


def _half_width(text: str) -> str:
    return unicodedata.normalize("NFKC", text).upper()


def _id_check_fits(value: str) -> bool:
    total = sum(int(char) * weight for char, weight in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def _born(year: int, month: str, day: str) -> bool:
    return 1 <= int(month) <= 12 and 1 <= int(day) <= 31 and year >= 0


def _is_id_shaped(value: str) -> bool:
    if len(value) == 18:
        if not value[:17].isdigit() or value[17] not in "0123456789X" or value[0] == "0":
            return False
        year = int(value[6:10])
        return 1900 <= year <= 2099 and _born(year, value[10:12], value[12:14])
    if len(value) == 15:
        return value.isdigit() and value[0] != "0" and _born(int(value[6:8]), value[8:10], value[10:12])
    return False


def _after_business_label(text: str, start: int) -> bool:
    window = text[max(0, start - _CONTEXT_CHARS) : start]
    # Only the label of this number counts, not one that belongs to a number before it.
    last_digit = max((window.rfind(d) for d in _DIGITS), default=-1)
    window = window[last_digit + 1 :].lower()
    return any(label in window for label in _BUSINESS_LABELS)


def is_id_number(value: str, *, after_business_label: bool = False) -> bool:
    """Whether 15 or 18 characters (half-width, upper case) are taken for an ID number."""
    if not _is_id_shaped(value):
        return False
    if len(value) == 18:
        if _id_check_fits(value):
            return True
        if is_valid_credit_code(value):
            return False
    return not after_business_label


def _is_boundary(text: str, index: int, joined: re.Pattern[str] = _WORD_CHAR) -> bool:
    return index < 0 or index >= len(text) or not joined.match(text[index])


def find_id_numbers(text: str) -> Iterator[IdNumberSpan]:
    """The ID numbers in `text`, in order."""
    if not text:
        return
    for chain in _CHAIN.finditer(text):
        start, end = chain.span()
        # Joiners included, a stretch shorter than 15 characters cannot hold 15 digits.
        if end - start < 15:
            continue
        groups = list(_GROUP.finditer(text, start, end))
        # One unbroken run (an identifier, an account number) is a number only at its full length.
        if len(groups) == 1 and end - start not in (15, 18):
            continue
        yield from _id_numbers_in_chain(text, groups)


def _id_numbers_in_chain(text: str, groups: list[re.Match[str]]) -> Iterator[IdNumberSpan]:
    """The ID numbers read from consecutive groups of one chain (joined by joiners)."""
    i = 0
    while i < len(groups):
        first = groups[i]
        if not _is_boundary(text, first.start() - 1, _DIGIT_CHAR):
            i += 1
            continue
        found = None
        length, j = 0, i
        while j < len(groups):
            group = groups[j]
            if j > i and not _JOINER.fullmatch(text, groups[j - 1].end(), group.start()):
                break
            length += len(group.group())
            if length > 18 or (group.group()[-1] in _CHECK_X and length != 18):
                break
            if length in (15, 18) and _is_boundary(text, group.end()):
                positions = tuple(
                    index for g in groups[i : j + 1] for index in range(g.start(), g.end())
                )
                value = _half_width("".join(text[index] for index in positions))
                if is_id_number(value, after_business_label=_after_business_label(text, first.start())):
                    found = (IdNumberSpan(positions=positions, value=value), j)
            j += 1
        if found is None:
            i += 1
            continue
        span, last = found
        yield span
        i = last + 1


def mask_id_numbers(text: str, *, keep: Callable[[str], bool] | None = None) -> str:
    """`text` with the birth date of every ID number replaced by `*`.

    `keep(value)` may spare numbers the caller is entitled to see (a borrower's document).
    """
    if not text:
        return text
    hidden: set[int] = set()
    for span in find_id_numbers(text):
        if keep is None or not keep(span.value):
            hidden.update(span.hidden_positions)
    if not hidden:
        return text
    return "".join("*" if index in hidden else char for index, char in enumerate(text))


def id_numbers_in(texts: Iterable[str]) -> set[str]:
    """The ID numbers (half-width) written anywhere in `texts`."""
    return {span.value for text in texts for span in find_id_numbers(text)}


def masked(value: Any, *, keep: Callable[[str], bool] | None = None) -> Any:
    """Every string inside `value` (dicts, lists, tuples) masked; keys stay as they are."""
    if isinstance(value, str):
        return mask_id_numbers(value, keep=keep)
    if isinstance(value, dict):
        return {key: masked(item, keep=keep) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(masked(item, keep=keep) for item in value)
    return value


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings_in(item)


def id_numbers_of_documents(session: Session, document_ids: Iterable[str]) -> frozenset[str]:
    """The ID numbers written anywhere in these documents: what their borrowers may see."""
    ids = sorted(set(document_ids))
    if not ids:
        return frozenset()
    texts: list[str] = []
    for document in session.scalars(select(Document).where(Document.id.in_(ids))):
        texts.extend(
            strings_in(
                [
                    document.title,
                    document.original_filename,
                    document.fields,
                    document.field_provenance,
                    document.field_problems,
                    document.flags,
                ]
            )
        )
    texts.extend(session.scalars(select(DocumentPage.text).where(DocumentPage.document_id.in_(ids))))
    return frozenset(id_numbers_in(texts))

"""Readers shared by the document types: identifiers, dates, terms and plain text values."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from archive.identifiers import Resolved
from ingest.fields.dates import PERPETUAL, find_dates
from ingest.fields.layout import Where
from ingest.fields.model import Collector, FieldValue
from ingest.fields.text import HAN, Segment, clean_value, normalize

_ALNUM_RUN = re.compile(r"[0-9A-Za-z×]+")
_TO = re.compile(r"至|到|--?|~|—+|–")


def identifier_token(segment: Segment) -> tuple[str, Where | None]:
    """The number after a label: blanks OCR put inside it dropped, printed on the next line if
    need be; and where it was read."""
    for text, where in ((segment.text, segment.where), (segment.next_line, segment.next_where)):
        match = _ALNUM_RUN.match(clean_value(text).replace(" ", ""))
        if match:
            return match.group(), where
    return "", None


def located(where: Where | None) -> dict[str, Any]:
    """FieldValue arguments saying where on the page a value was read (nothing for text pages)."""
    if where is None:
        return {}
    return {"box": where.box, "confidence": where.confidence, "method": "layout"}


def add_identifier(
    collector: Collector,
    key: str,
    token: str,
    page: int,
    resolve: Callable[[str], Resolved | None],
    what: str,
    where: Where | None = None,
) -> None:
    resolved = resolve(token)
    if resolved is None:
        collector.problem(
            key,
            f"{what}校验失败或无法唯一纠正: {token} (check character fails, no unique single-slip repair)",
        )
        return
    collector.add(
        key,
        FieldValue(
            value=resolved.value,
            page=page,
            corrected=resolved.corrected,
            raw=token if token != resolved.value else None,
            **located(where),
        ),
    )


def add_date(collector: Collector, key: str, segment: Segment, what: str) -> None:
    """The first date after a label; a label with no readable date is a recorded problem."""
    # Never the next line: in a two-column scan that holds another label's value.
    add_first_date(collector, key, segment.text, segment.page, what, segment.where)


def add_first_date(
    collector: Collector, key: str, text: str, page: int, what: str, where: Where | None = None
) -> None:
    """The first date in `text`; none, or one that does not exist, is a recorded problem."""
    text = clean_value(text)
    dates = find_dates(text)
    if not dates:
        collector.problem(key, f"{what}无法识别: {text[:30]} (date unreadable)")
        return
    date = dates[0]
    if date.value is None:
        collector.problem(key, f"{what}无效或数字不清: {date.raw} (no such date, or digits unclear)")
        return
    collector.add(
        key,
        FieldValue(value=date.iso, page=page, raw=_raw(date.raw, date.iso), **located(where)),
    )


def add_term(
    collector: Collector,
    segment_text: str,
    page: int,
    what: str,
    start_key: str | None,
    where: Where | None = None,
) -> None:
    """A term `X至Y`, `X至长期` or `长期`: start (when wanted), expires_on or perpetual."""
    text = clean_value(segment_text)
    at: dict[str, Any] = located(where)
    dates = find_dates(text)
    perpetual = PERPETUAL.search(text)
    if any(date.value is None for date in dates):
        bad = next(date for date in dates if date.value is None)
        collector.problem(
            "expires_on", f"{what}含无效或数字不清的日期: {bad.raw} (no such date, or digits unclear)"
        )
        return
    if start_key and dates and (len(dates) == 2 or perpetual):
        start = dates[0]
        collector.add(start_key, FieldValue(value=start.iso, page=page, raw=_raw(start.raw, start.iso), **at))
    if perpetual and len(dates) <= 1:
        if dates and perpetual.start() < dates[0].start:
            collector.problem("expires_on", f"{what}无法理解: {text[:40]} (term not understood)")
            return
        collector.add("perpetual", FieldValue(value=True, page=page, raw=perpetual.group(), **at))
        return
    if len(dates) == 2 and _TO.search(text[dates[0].end : dates[1].start]):
        end = dates[1]
        collector.add("expires_on", FieldValue(value=end.iso, page=page, raw=_raw(end.raw, end.iso), **at))
        return
    collector.problem("expires_on", f"{what}无法识别: {text[:40]} (term unreadable)")


def text_value(collector: Collector, key: str, segment: Segment, shape: re.Pattern[str], what: str) -> None:
    """A free-text value (a name, an address) when it has the expected shape; with the lines it
    wraps on to when it was read by layout and still has that shape with them."""
    value = clean_value(segment.text)
    if not value:
        collector.problem(key, f"{what}为空 (label without a value)")
        return
    where = segment.where
    # Whole first: a line cut mid-word ("…2201单" before "元") is no value on its own.
    whole = clean_value(value + segment.continued) if segment.continued else ""
    if whole and shape in (ADDRESS, ORGANISATION) and plausible(whole, shape):
        value, where = whole, segment.whole_where
    elif not plausible(value, shape):
        collector.problem(key, f"{what}无法识别: {value[:40]} (value unreadable)")
        return
    collector.add(key, FieldValue(value=value, page=segment.page, **located(where)))


def unlabelled_tokens(pages: Iterable[tuple[int, str]], length: int) -> list[tuple[int, str]]:
    """Every run of exactly `length` letters and digits, with its page (upper-cased)."""
    pattern = re.compile(rf"(?<![0-9A-Za-z])[0-9A-Za-z]{{{length}}}(?![0-9A-Za-z])")
    return [
        (number, match.group().upper())
        for number, text in pages
        for match in pattern.finditer(normalize(text))
    ]


# OCR turns a short line of Han it cannot read into Latin letters ("HABE" for 胡秀霞), so a
# Latin name must look like one: two or more words of three letters or more.
HAN_NAME = re.compile(rf"[{HAN}·•]{{2,15}}")
PERSON = re.compile(rf"[{HAN}·•]{{2,15}}|[A-Za-z]{{3,}}(?:[ .'-]+[A-Za-z]{{3,}}){{1,4}}")
ORGANISATION = re.compile(rf"(?=.*[{HAN}])[{HAN}A-Za-z][{HAN}A-Za-z0-9()·&.,\- ]{{1,80}}(?<=[{HAN})A-Za-z])")
ADDRESS = re.compile(rf"(?=.*[{HAN}])[{HAN}A-Za-z0-9()·#\-,、 ]{{4,120}}")
# An address that ends in a number ends in its unit; "162与" is 162号 misread.
_ADDRESS_END = re.compile(rf"\d[{HAN}]$")
_ADDRESS_UNITS = set("号室层楼座幢栋铺房弄巷村组")


def plausible(value: str, shape: re.Pattern[str]) -> bool:
    """The value has its field's shape, balanced brackets and, for an address, a sensible end."""
    if not shape.fullmatch(value) or value.count("(") != value.count(")"):
        return False
    return not (shape is ADDRESS and _ADDRESS_END.search(value) and value[-1] not in _ADDRESS_UNITS)


def _raw(raw: str, value: str) -> str | None:
    return raw if raw != value else None

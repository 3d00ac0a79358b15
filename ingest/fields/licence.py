"""营业执照: name, credit code or 注册号, type, legal representative, capital, dates, term, address.

Two dates are told apart: 成立日期 (`founded_on`, the day the company was founded, shared by
every licence it was ever issued) and the licence's own issue date (`issued_on`), printed
under 登记机关 (or labelled 发照日期/核准日期), which tells a re-issued licence from an older one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from archive.credit_code import is_valid_credit_code
from archive.identifiers import resolve_credit_code, resolve_registration_no
from ingest.fields.amounts import UPPER_CHARS, as_text, read_amount
from ingest.fields.common import (
    ADDRESS,
    ORGANISATION,
    PERSON,
    add_date,
    add_first_date,
    add_identifier,
    add_term,
    identifier_token,
    located,
    text_value,
    unlabelled_tokens,
)
from ingest.fields.dates import PERPETUAL, find_dates, loosely_written
from ingest.fields.layout import PageLayout
from ingest.fields.model import Collector, FieldExtraction, FieldValue
from ingest.fields.text import HAN, Layouts, Segment, clean_value, labelled_segments

EXPECTED = (
    "name",
    "credit_code",
    "company_type",
    "legal_representative",
    "registered_capital",
    "founded_on",
    "issued_on",
    "expires_on",
    "address",
)
LABELS = {
    "统一社会信用代码": "credit_code",
    "社会信用代码": "credit_code",
    "注册号": "registration_no",
    "名称": "name",
    "企业名称": "name",
    "类型": "company_type",
    "企业类型": "company_type",
    "主体类型": "company_type",
    "公司类型": "company_type",
    "法定代表人": "legal_representative",
    "法定代表人姓名": "legal_representative",
    "负责人": "legal_representative",
    "执行事务合伙人": "legal_representative",
    "经营者": "legal_representative",
    "投资人": "legal_representative",
    "注册资本": "registered_capital",
    "注册资金": "registered_capital",
    "成立日期": "founded_on",
    "注册日期": "founded_on",
    "发照日期": "issued_on",
    "核准日期": "issued_on",
    # The issue date is printed under the registration authority, without a label of its own.
    "登记机关": "authority",
    "营业期限": "term",
    "经营期限": "term",
    "合伙期限": "term",
    "营业期限自": "term_from",
    "营业期限至": "term_to",
    "住所": "address",
    "经营场所": "address",
    "主要经营场所": "address",
    "营业场所": "address",
    # Only end the value before them.
    "经营范围": "",
    "组成形式": "",
    "实收资本": "",
}
COMPANY_TYPE = re.compile(rf"[{HAN}()（）、]{{2,40}}")
# What may stand in a registered-capital value besides the amount itself.
_CAPITAL_WORDS = re.compile(r"人民币|\(人民币\)|万元|元|万|整|正|RMB|CNY|[¥\d,.\s()]")


def extract(pages: list[tuple[int, str]], layouts: Layouts = None) -> FieldExtraction:
    collector = Collector(EXPECTED)
    segments = labelled_segments(pages, LABELS, layouts)
    for segment in segments:
        _read(collector, segment)
    if "credit_code" not in collector.readings and "registration_no" not in collector.readings:
        _unlabelled_credit_code(collector, pages)
    if "registration_no" in collector.readings:
        collector.reasons.pop("credit_code", None)
        if "credit_code" not in collector.readings:
            collector.expected = tuple(name for name in EXPECTED if name != "credit_code")
    if "perpetual" in collector.readings:
        collector.expected = tuple(name for name in collector.expected if name != "expires_on")
    _founded_on_read_loosely(collector, segments)
    if "issued_on" not in collector.readings and layouts:
        _issue_date_by_place(collector, layouts)
    return collector.result()


# The issue date stands alone at the bottom of the licence (under 登记机关, often under the
# seal too, which can hide the label from OCR but rarely the date itself).
_BOTTOM_PART = 0.55
_LABELLED_ROW = re.compile("|".join(re.escape(label) for label in LABELS if LABELS[label]))


def _issue_date_by_place(collector: Collector, layouts: Mapping[int, PageLayout]) -> None:
    """The one date that stands alone in the bottom part of a page, when 登记机关 was not read."""
    found: dict[str, FieldValue] = {}
    for number, layout in layouts.items():
        for row in layout.rows:
            if row.middle < _BOTTOM_PART * layout.upright_height or _LABELLED_ROW.search(row.text):
                continue  # a labelled date (成立日期 of a one-column licence) is that label's
            for cell in layout.cells(row):
                text = clean_value(cell.text)
                dates = find_dates(text)
                if len(dates) != 1 or dates[0].value is None:
                    continue
                if clean_value(text[: dates[0].start] + text[dates[0].end :]):
                    continue
                date = dates[0]
                raw = date.raw if date.raw != date.iso else None
                where = {**located(layout.where(cell.words)), "method": "place"}
                found[date.iso] = FieldValue(date.iso, page=number, raw=raw, **where)
    if len(found) == 1:
        collector.add("issued_on", next(iter(found.values())))
        collector.reasons.pop("issued_on", None)


def _read(collector: Collector, segment: Segment) -> None:
    key = segment.key
    if key in ("credit_code", "registration_no"):
        token, where = identifier_token(segment)
        if len(token) == 15:
            add_identifier(
                collector, "registration_no", token, segment.page, resolve_registration_no, "注册号", where
            )
        elif len(token) == 18:
            add_identifier(
                collector, "credit_code", token, segment.page, resolve_credit_code, "统一社会信用代码", where
            )
        else:
            collector.problem(
                "credit_code",
                f"统一社会信用代码长度不符 ({len(token)} 位): {token} (expected 18 characters)",
            )
    elif key == "name":
        text_value(collector, key, segment, ORGANISATION, "名称")
    elif key == "company_type":
        text_value(collector, key, segment, COMPANY_TYPE, "类型")
    elif key == "legal_representative":
        text_value(collector, key, segment, PERSON, "法定代表人")
    elif key == "address":
        text_value(collector, key, segment, ADDRESS, "住所")
    elif key == "registered_capital":
        _capital(collector, segment)
    elif key == "founded_on":
        add_date(collector, "founded_on", segment, "成立日期")
    elif key == "issued_on":
        add_date(collector, "issued_on", segment, "发照日期")
    elif key == "authority":
        _authority_date(collector, segment)
    elif key == "term":
        add_term(collector, segment.text, segment.page, "营业期限", None, segment.where)
    elif key == "term_to":
        perpetual = PERPETUAL.search(segment.text)
        if perpetual:
            collector.add(
                "perpetual",
                FieldValue(value=True, page=segment.page, raw=perpetual.group(), **located(segment.where)),
            )
        else:
            add_date(collector, "expires_on", segment, "营业期限至")


def _capital(collector: Collector, segment: Segment) -> None:
    text = clean_value(segment.text)
    leftover = _CAPITAL_WORDS.sub("", re.sub(f"[{UPPER_CHARS}]", "", text))
    reading = read_amount(text)
    if leftover or reading.upper_damaged:
        collector.problem("registered_capital", f"注册资本无法识别: {text[:30]} (unreadable)")
        return
    if "美元" in text or "港币" in text or "欧元" in text:
        collector.problem("registered_capital", f"注册资本不是人民币: {text[:30]} (not in yuan)")
        return
    values = {value for value in (reading.numeral, reading.upper) if value is not None}
    if len(values) != 1:
        collector.problem("registered_capital", f"注册资本无法确定: {text[:30]} (amount unclear)")
        return
    value = as_text(values.pop())
    collector.add(
        "registered_capital", FieldValue(value=value, page=segment.page, raw=text, **located(segment.where))
    )


def _unlabelled_credit_code(collector: Collector, pages: list[tuple[int, str]]) -> None:
    """A code whose label OCR lost: accepted only when it passes the check as read."""
    for number, token in unlabelled_tokens(pages, 18):
        if is_valid_credit_code(token):
            collector.add("credit_code", FieldValue(value=token, page=number))


def _authority_date(collector: Collector, segment: Segment) -> None:
    """The issue date after 登记机关 (and the authority's name), or alone on the line under it."""
    if find_dates(segment.text):
        add_first_date(collector, "issued_on", segment.text, segment.page, "发照日期", segment.where)
        return
    under = clean_value(segment.next_line)
    dates = find_dates(under)
    # On a two-column page a line under the label holding anything else is another field's.
    if len(dates) == 1 and not clean_value(under[: dates[0].start] + under[dates[0].end :]):
        add_first_date(collector, "issued_on", under, segment.page, "发照日期", segment.next_where)
        return
    collector.problem("issued_on", "登记机关下未见发照日期 (no issue date under the registration authority)")


def _founded_on_read_loosely(collector: Collector, segments: list[Segment]) -> None:
    """成立日期 with 年/月/日 garbled by OCR, confirmed by the same date starting 营业期限.

    The garbled reading alone would be a guess; matching the term's clean start date makes it
    two independent readings of the same day. Most licences start their term on 成立日期.
    """
    term_starts = _term_start_dates(segments)
    if "founded_on" in collector.readings:
        _disagreeing_term_start(collector, term_starts)
        return
    if len(term_starts) != 1:
        return
    (start,) = term_starts
    for segment in segments:
        if segment.key == "founded_on" and loosely_written(clean_value(segment.text), start):
            collector.add(
                "founded_on",
                FieldValue(value=start.isoformat(), page=segment.page, raw=clean_value(segment.text)),
            )
            collector.reasons.pop("founded_on", None)
            return


def _disagreeing_term_start(collector: Collector, term_starts: set[dt.date]) -> None:
    """A 成立日期 unlike the term's start is likelier misread than true (2008年12月 as 2008年2月)."""
    founded = {value.value for value in collector.readings["founded_on"]}
    if len(term_starts) == 1 and founded != {next(iter(term_starts)).isoformat()}:
        collector.readings.pop("founded_on")
        collector.problem(
            "founded_on",
            f"成立日期 {'/'.join(sorted(map(str, founded)))} 与营业期限起始日 {next(iter(term_starts))}"
            " 不一致 (founding date and term start disagree)",
        )


def _term_start_dates(segments: list[Segment]) -> set[dt.date]:
    starts: set[dt.date] = set()
    for segment in segments:
        if segment.key in ("term", "term_from"):
            dates = find_dates(clean_value(segment.text))
            if dates and dates[0].value is not None:
                starts.add(dates[0].value)
    return starts

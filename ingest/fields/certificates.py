"""资质证书 and other documents (授权书, 其他): certificate number and clearly labelled dates."""

from __future__ import annotations

import re

from ingest.fields.common import add_date, add_term, located
from ingest.fields.model import Collector, FieldExtraction, FieldValue
from ingest.fields.text import Layouts, Segment, clean_value, labelled_segments

QUALIFICATION_EXPECTED = ("certificate_no", "issued_on", "expires_on")
_DATE_LABELS = {
    "发证日期": "issued_on",
    "颁发日期": "issued_on",
    "发证时间": "issued_on",
    "签发日期": "issued_on",
    "批准日期": "issued_on",
    "有效期至": "expires_on",
    "有效期限至": "expires_on",
    "有效日期至": "expires_on",
    "有效期": "term",
    "有效期限": "term",
    "授权期限": "term",
}
QUALIFICATION_LABELS = _DATE_LABELS | {
    "证书编号": "certificate_no",
    "证书号": "certificate_no",
    "证书号码": "certificate_no",
    "编号": "certificate_no",
    "发证机关": "",
    "发证单位": "",
}
_CERTIFICATE_NO = re.compile(
    r"(?=.*\d)[0-9A-Za-z\-_/()\[\]〔〕【】#\u4e00-\u9fff]{2,39}[0-9A-Za-z)\]〕】\u4e00-\u9fff]"
)


def extract_qualification(pages: list[tuple[int, str]], layouts: Layouts = None) -> FieldExtraction:
    collector = Collector(QUALIFICATION_EXPECTED)
    term_starts = Collector(())
    for segment in labelled_segments(pages, QUALIFICATION_LABELS, layouts):
        if segment.key == "certificate_no":
            _certificate_no(collector, segment)
        else:
            _date_segment(collector, term_starts, segment)
    _start_if_no_issue_date(collector, term_starts)
    return collector.result()


def extract_other(pages: list[tuple[int, str]], layouts: Layouts = None) -> FieldExtraction:
    """Only dates with an unmistakable label; nothing is expected."""
    collector = Collector(())
    term_starts = Collector(())
    for segment in labelled_segments(pages, _DATE_LABELS, layouts):
        _date_segment(collector, term_starts, segment)
    _start_if_no_issue_date(collector, term_starts)
    return collector.result()


def _date_segment(collector: Collector, term_starts: Collector, segment: Segment) -> None:
    if segment.key == "issued_on":
        add_date(collector, "issued_on", segment, "发证日期")
    elif segment.key == "expires_on":
        add_date(collector, "expires_on", segment, "有效期至")
    elif segment.key == "term":
        # 有效期：X至Y. Its start is the issue date only when no 发证日期 says otherwise.
        add_term(term_starts, segment.text, segment.page, "有效期", "issued_on", segment.where)
        for name in ("expires_on", "perpetual"):
            for value in term_starts.readings.pop(name, []):
                collector.add(name, value)


def _start_if_no_issue_date(collector: Collector, term_starts: Collector) -> None:
    if "issued_on" not in collector.readings and "issued_on" in term_starts.readings:
        for value in term_starts.readings["issued_on"]:
            collector.add("issued_on", value)
    for name, reason in term_starts.reasons.items():
        collector.problem(name, reason)


def _certificate_no(collector: Collector, segment: Segment) -> None:
    text = clean_value(segment.text)
    value = clean_value(text.split(" ")[0]) if text else ""
    if _CERTIFICATE_NO.fullmatch(value):
        collector.add("certificate_no", FieldValue(value=value, page=segment.page, **located(segment.where)))
    else:
        collector.problem("certificate_no", f"证书编号无法识别: {value[:30]} (unreadable)")

"""发票: the invoice number and date as printed; an e-invoice's own data (OFD) comes on top."""

from __future__ import annotations

import re

from ingest.fields.common import add_date, located
from ingest.fields.model import Collector, FieldExtraction, FieldValue
from ingest.fields.text import Layouts, clean_value, labelled_segments

INVOICE_EXPECTED = ("invoice_no", "issued_on")
_LABELS = {"发票号码": "invoice_no", "发票号": "invoice_no", "开票日期": "issued_on"}
# 数电发票 numbers have 20 digits; the older VAT invoices 8 (with a 10- or 12-digit code).
_INVOICE_NO = re.compile(r"(?<!\d)(\d{20}|\d{8})(?!\d)")


def extract(pages: list[tuple[int, str]], layouts: Layouts = None) -> FieldExtraction:
    collector = Collector(INVOICE_EXPECTED)
    for segment in labelled_segments(pages, _LABELS, layouts):
        if segment.key == "issued_on":
            add_date(collector, "issued_on", segment, "开票日期")
            continue
        text, where = clean_value(segment.text).replace(" ", ""), segment.where
        if not text:
            text, where = clean_value(segment.next_line).replace(" ", ""), segment.next_where
        match = _INVOICE_NO.search(text)
        if match:
            collector.add("invoice_no", FieldValue(value=match.group(1), page=segment.page, **located(where)))
        else:
            collector.problem("invoice_no", f"发票号码无法识别: {text[:30]} (invoice number unreadable)")
    return collector.result()

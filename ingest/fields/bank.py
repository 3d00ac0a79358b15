"""开户信息: bank, account number and account name."""

from __future__ import annotations

import re

from ingest.fields.common import ORGANISATION, text_value
from ingest.fields.model import Collector, FieldExtraction, FieldValue
from ingest.fields.text import Segment, clean_value, labelled_segments

EXPECTED = ("bank_name", "account_no", "account_name")
LABELS = {
    "开户银行": "bank_name",
    "开户行": "bank_name",
    "开户银行名称": "bank_name",
    "开户网点": "bank_name",
    "账号": "account_no",
    "帐号": "account_no",
    "银行账号": "account_no",
    "账户号码": "account_no",
    "户名": "account_name",
    "账户名称": "account_name",
    "账户名": "account_name",
    "开户名称": "account_name",
    "开户单位": "account_name",
    "核准号": "",
    "编号": "",
    "法定代表人": "",
    "单位负责人": "",
}
_ACCOUNT_NO = re.compile(r"\d{6,32}")


def extract(pages: list[tuple[int, str]]) -> FieldExtraction:
    collector = Collector(EXPECTED)
    for segment in labelled_segments(pages, LABELS):
        if segment.key == "account_no":
            _account_no(collector, segment)
        else:
            what = "开户银行" if segment.key == "bank_name" else "户名"
            text_value(collector, segment.key, segment, ORGANISATION, what)
    return collector.result()


def _account_no(collector: Collector, segment: Segment) -> None:
    # Banks print account numbers in groups of four; there is no check digit to repair with.
    value = re.sub(r"[\s-]", "", clean_value(segment.text))
    if _ACCOUNT_NO.fullmatch(value):
        collector.add("account_no", FieldValue(value=value, page=segment.page))
    else:
        collector.problem("account_no", f"账号无法识别: {value[:40]} (account number unreadable)")

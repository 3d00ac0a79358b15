"""开户信息: bank, account number and account name."""

from __future__ import annotations

import re

from ingest.fields.common import ORGANISATION, located, plausible, text_value
from ingest.fields.model import Collector, FieldExtraction, FieldValue
from ingest.fields.text import Layouts, Segment, clean_value, labelled_segments, normalize

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
    "存款人名称": "account_name",
    "核准号": "",
    "基本存款账户编号": "",
    "发证机关": "",
    "编号": "",
    "法定代表人": "",
    "单位负责人": "",
}
_ACCOUNT_NO = re.compile(r"\d{6,32}")


# 开户许可证 names the account holder in its sentence: 经审核，<户名>符合开户条件，准予开立…
_PERMIT_HOLDER = re.compile(r"经审核[,:]?\s*(?P<holder>[^,。\n]{2,60}?)\s*符合开户条件")


def extract(pages: list[tuple[int, str]], layouts: Layouts = None) -> FieldExtraction:
    collector = Collector(EXPECTED)
    for segment in labelled_segments(pages, LABELS, layouts):
        if segment.key == "account_no":
            _account_no(collector, segment)
        else:
            what = "开户银行" if segment.key == "bank_name" else "户名"
            text_value(collector, segment.key, segment, ORGANISATION, what)
    if "account_name" not in collector.readings:
        for number, text in pages:
            flat = normalize(layouts[number].text() if layouts and number in layouts else text)
            for match in _PERMIT_HOLDER.finditer(re.sub(r"\s+", "", flat)):
                holder = clean_value(match.group("holder"))
                if plausible(holder, ORGANISATION):
                    collector.add("account_name", FieldValue(value=holder, page=number))
    return collector.result()


def _account_no(collector: Collector, segment: Segment) -> None:
    # Banks print account numbers in groups of four; there is no check digit to repair with.
    value = re.sub(r"[\s-]", "", clean_value(segment.text))
    if _ACCOUNT_NO.fullmatch(value):
        collector.add("account_no", FieldValue(value=value, page=segment.page, **located(segment.where)))
    else:
        collector.problem("account_no", f"账号无法识别: {value[:40]} (account number unreadable)")

"""合同: number, parties (甲方/乙方), amount, signing date and term."""

from __future__ import annotations

import re

from ingest.fields.amounts import as_text, read_amount
from ingest.fields.common import ORGANISATION, add_date, add_term, plausible
from ingest.fields.dates import find_dates
from ingest.fields.model import Collector, FieldExtraction, FieldValue
from ingest.fields.text import Segment, clean_value, labelled_segments, normalize

EXPECTED = ("contract_no", "party_a", "party_b", "amount", "signed_on")
_AMOUNT_LABELS = (
    "合同总金额",
    "合同金额",
    "合同总价款",
    "合同价款",
    "合同总价",
    "合同价格",
    "总金额",
    "总价款",
    "金额合计",
    "合计金额",
    "总价",
)
LABELS = {
    "合同编号": "contract_no",
    "合同号": "contract_no",
    "协议编号": "contract_no",
    "编号": "contract_no",
    "原合同编号": "",
    "签订日期": "signed_on",
    "签署日期": "signed_on",
    "签约日期": "signed_on",
    "签订时间": "signed_on",
}
# Amount clauses are read across line breaks: a long clause wraps, sometimes inside the
# figures themselves ("¥3,878,829" at the end of one line, ".06" starting the next).
_AMOUNT_CLAUSE = re.compile("(?<!原)(?:" + "|".join(_AMOUNT_LABELS) + r")(?P<clause>[^。;]{1,120})")
# A number OCR cut short ("CG-2024-") ends in a separator; a whole one never does.
_CONTRACT_NO = re.compile(
    r"(?=.*\d)[0-9A-Za-z\-_/()\[\]〔〕【】#\u4e00-\u9fff]{2,39}[0-9A-Za-z)\]〕】\u4e00-\u9fff]"
)
# 甲方（采购方）：… or 采购方（甲方）：…; the colon or the bracketed role tells it from prose.
_PARTY = re.compile(
    r"^\s*(?:(?P<side>[甲乙])方\s*(?P<role>\([^()]{1,12}\))?|[^\s:()]{1,8}\((?P<side2>[甲乙])方\))"
    r"\s*(?P<colon>[:.,])?\s*(?P<value>.*)$"
)
_NOT_A_NAME = re.compile(r"盖章|签字|签章|签名|代表|授权|地址|电话|账号|开户")
_VALUE_END = re.compile(r"\t| {2,}|[,;。]")
_TERM = re.compile(r"(?:有效期|期限|合同期|服务期|租赁期)[^。\n]{0,12}?自(?P<term>[^。\n]{6,60})")


def extract(pages: list[tuple[int, str]]) -> FieldExtraction:
    collector = Collector(EXPECTED)
    for segment in labelled_segments(pages, LABELS):
        if segment.key == "contract_no":
            _contract_no(collector, segment)
        elif segment.key == "signed_on":
            add_date(collector, "signed_on", segment, "签订日期")
    for number, text in pages:
        normalized = normalize(text)
        for match in _AMOUNT_CLAUSE.finditer(normalized.replace("\n", "")):
            _amount(collector, match.group("clause"), number)
        _parties(collector, number, normalized)
        for match in _TERM.finditer(normalized):
            term = match.group("term")
            if len(find_dates(term)) >= 1:
                add_term(collector, term, number, "合同期限", start_key="issued_on")
    if "amount" in collector.reasons and "amount" in collector.readings:
        # One reading disagreed with itself: the amount is not certain anywhere.
        collector.readings.pop("amount")
    return collector.result()


def _contract_no(collector: Collector, segment: Segment) -> None:
    value = clean_value(segment.text).split(" ")[0] if clean_value(segment.text) else ""
    value = clean_value(value)
    if _CONTRACT_NO.fullmatch(value):
        collector.add("contract_no", FieldValue(value=value, page=segment.page))
    else:
        collector.problem("contract_no", f"合同编号无法识别: {value[:30]} (unreadable)")


def _amount(collector: Collector, clause: str, page: int) -> None:
    reading = read_amount(clause)
    numeral, upper = reading.numeral, reading.upper
    if numeral is not None and upper is not None and numeral != upper:
        collector.problem(
            "amount",
            f"大写 {reading.upper_raw} 与小写 {reading.numeral_raw} 不一致"
            " (amount in words and figures disagree)",
        )
        return
    if reading.upper_damaged:
        # The figures alone are not enough: the same OCR that broke the 大写 may have dropped
        # the figures' cents ("¥3,878,829" for ¥3,878,829.06), and nothing can tell.
        collector.problem(
            "amount",
            f"大写金额无法识别，小写 {reading.numeral_raw} 无从核对 (amount in words unreadable)",
        )
        return
    value = numeral if numeral is not None else upper
    if value is None:
        collector.problem("amount", f"合同金额无法识别: {clean_value(clause)[:40]} (amount unreadable)")
        return
    raw = reading.numeral_raw if numeral is not None else reading.upper_raw
    collector.add("amount", FieldValue(value=as_text(value), page=page, raw=raw))


def _parties(collector: Collector, number: int, text: str) -> None:
    for line in text.splitlines():
        match = _PARTY.match(line)
        if match is None:
            continue
        side = match.group("side") or match.group("side2")
        if not (match.group("colon") or match.group("role") or match.group("side2")):
            continue
        value = clean_value(_VALUE_END.split(match.group("value"), maxsplit=1)[0])
        value = re.sub(r"\((?:盖章|签章|公章|签字)\)$", "", value)
        key = "party_a" if side == "甲" else "party_b"
        if not value or _NOT_A_NAME.search(value) or not plausible(value, ORGANISATION):
            continue
        collector.add(key, FieldValue(value=value, page=number))

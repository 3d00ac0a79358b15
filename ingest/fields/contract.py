"""合同: number, parties (甲方/乙方), amount, signing date and term."""

from __future__ import annotations

import re

from ingest.fields.amounts import as_text, read_amount
from ingest.fields.common import ORGANISATION, add_date, add_term, located, plausible
from ingest.fields.dates import find_dates
from ingest.fields.model import Collector, FieldExtraction, FieldValue
from ingest.fields.text import Layouts, Segment, clean_value, labelled_segments, normalize

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


def extract(pages: list[tuple[int, str]], layouts: Layouts = None) -> FieldExtraction:
    collector = Collector(EXPECTED)
    for segment in labelled_segments(pages, LABELS, layouts):
        if segment.key == "contract_no":
            _contract_no(collector, segment)
        elif segment.key == "signed_on":
            add_date(collector, "signed_on", segment, "签订日期")
    # On an OCR'd page the text is rebuilt from where its words stand, one line per cell, so
    # that the two columns of a signature block read as two.
    texts = [
        (number, layouts[number].cells_text() if layouts and number in layouts else text)
        for number, text in pages
    ]
    if "signed_on" not in collector.readings:
        _signature_dates(collector, texts)
    unread: dict[str, str] = {}
    for number, text in texts:
        normalized = normalize(text)
        for match in _AMOUNT_CLAUSE.finditer(normalized.replace("\n", "")):
            _amount(collector, match.group("clause"), number, unread)
        _parties(collector, number, normalized, scanned=bool(layouts and number in layouts))
        for match in _TERM.finditer(normalized):
            term = match.group("term")
            if len(find_dates(term)) >= 1:
                add_term(collector, term, number, "合同期限", "issued_on")
    if "amount" not in collector.readings and "amount" in unread:
        collector.problem("amount", unread["amount"])
    if "amount" in collector.reasons and "amount" in collector.readings:
        # One reading disagreed with itself: the amount is not certain anywhere.
        collector.readings.pop("amount")
    return collector.result()


# 甲方（盖章）/ 乙方（签字） open a signature block; a 日期 line under it is when that side signed.
_SIGNATURE_BLOCK = re.compile(
    r"^\s*(?:[甲乙丙]方|[^\s:]{1,8}\([甲乙]方\))\s*\((?:盖章|签章|公章|签字|签名|印章)[^()]{0,6}\)"
)
_SIGNATURE_DATE = re.compile(r"^\s*(?:签订|签署|签约|签字|签章|盖章)?(?:日期|时间)\s*[:.]?\s*(?P<date>.*)$")


def _signature_dates(collector: Collector, pages: list[tuple[int, str]]) -> None:
    """The day the contract was signed from its signature blocks: the later side's date (it
    binds once both have signed); none read when a block's date cannot be read."""
    dates: list[tuple[str, int, str]] = []
    for number, text in pages:
        in_block = False
        for line in normalize(text).splitlines():
            if _SIGNATURE_BLOCK.match(line):
                in_block = True
                continue
            match = _SIGNATURE_DATE.match(line) if in_block else None
            if match is None:
                continue
            found = find_dates(clean_value(match.group("date")))
            if not found:
                continue  # a blank 日期：____ left for a hand-written date
            if found[0].value is None:
                collector.problem(
                    "signed_on", f"签署日期无效或数字不清: {found[0].raw} (no such date, or digits unclear)"
                )
                return
            dates.append((found[0].iso, number, found[0].raw))
    if dates:
        iso, number, raw = max(dates)
        collector.add("signed_on", FieldValue(value=iso, page=number, raw=raw if raw != iso else None))


def _contract_no(collector: Collector, segment: Segment) -> None:
    value = clean_value(segment.text).split(" ")[0] if clean_value(segment.text) else ""
    value = clean_value(value)
    if _CONTRACT_NO.fullmatch(value):
        collector.add("contract_no", FieldValue(value=value, page=segment.page, **located(segment.where)))
    else:
        collector.problem("contract_no", f"合同编号无法识别: {value[:30]} (unreadable)")


def _amount(collector: Collector, clause: str, page: int, unread: dict[str, str]) -> None:
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
        # Prose that names the amount without stating it (违约金按合同金额千分之一): only a
        # reason when no clause states it.
        unread.setdefault("amount", f"合同金额无法识别: {clean_value(clause)[:40]} (amount unreadable)")
        return
    raw = reading.numeral_raw if numeral is not None else reading.upper_raw
    collector.add("amount", FieldValue(value=as_text(value), page=page, raw=raw))


# 甲方（盖章）: what stands after it on a scan is the seal's impression or a signature.
_SIGNING_ROLE = re.compile(r"\((?:盖章|签章|公章|签字|签名|印章)")


def _parties(collector: Collector, number: int, text: str, *, scanned: bool) -> None:
    for line in text.splitlines():
        match = _PARTY.match(line)
        if match is None:
            continue
        side = match.group("side") or match.group("side2")
        if not (match.group("colon") or match.group("role") or match.group("side2")):
            continue
        if scanned and _SIGNING_ROLE.match(match.group("role") or ""):
            # On a scan the seal is stamped right there, and OCR reads its ring of characters
            # on the label's line: a garbled name that would veto the one the contract states.
            continue
        value = clean_value(_VALUE_END.split(match.group("value"), maxsplit=1)[0])
        value = re.sub(r"\((?:盖章|签章|公章|签字)\)$", "", value)
        key = "party_a" if side == "甲" else "party_b"
        if not value or _NOT_A_NAME.search(value) or not plausible(value, ORGANISATION):
            continue
        collector.add(key, FieldValue(value=value, page=number))

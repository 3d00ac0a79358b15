"""Value types of field extraction, and the collector that refuses to pick between readings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CHINESE_FIELD_NAMES = {
    "name": "名称/姓名",
    "credit_code": "统一社会信用代码",
    "company_type": "类型",
    "legal_representative": "法定代表人",
    "registered_capital": "注册资本",
    "founded_on": "成立日期",
    "issued_on": "发照/签发日期",
    "expires_on": "到期日期",
    "address": "住所",
    "id_number": "公民身份号码",
    "contract_no": "合同编号",
    "party_a": "甲方",
    "party_b": "乙方",
    "amount": "合同金额",
    "signed_on": "签订日期",
    "bank_name": "开户银行",
    "account_no": "账号",
    "account_name": "户名",
    "certificate_no": "证书编号",
    "invoice_no": "发票号码",
    "seller_name": "销售方名称",
    "buyer_name": "购买方名称",
    "qr_host": "二维码指向的网站",
}

# How a problem says the field was read more than once with different values.
CONFLICTING = "读到多个不一致的值"


@dataclass(frozen=True)
class FieldValue:
    """One field as read from the document.

    Dates are ISO "YYYY-MM-DD", amounts a decimal string in yuan ("123456.00"), a perpetual
    term is True. `raw` is the text as read when it differs from `value`.
    """

    value: str | bool
    page: int  # 1-based
    source: Literal["extracted"] = "extracted"
    corrected: bool = False  # an OCR slip repaired by the check character
    raw: str | None = None
    # "text": read from the page text; "layout": from an OCR'd page's words by where they stand;
    # "second_pass": from a targeted OCR re-read of the page; "qr": decoded from a QR code;
    # "embedded": carried by the file itself apart from its text (an OFD e-invoice's data);
    # "place": known only by where it stands, with no label read beside it (a person confirms it)
    method: Literal["text", "layout", "second_pass", "qr", "embedded", "place"] = "text"
    # Where on the page it was read, [left, top, right, bottom] as fractions of the page, and
    # the lowest confidence (0-100) of the words it was read from; for OCR'd pages.
    box: tuple[float, float, float, float] | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class FieldExtraction:
    """The fields found, and for each expected field not found, why (Chinese and English)."""

    fields: dict[str, FieldValue]
    problems: dict[str, str]


@dataclass
class Collector:
    """Readings per field; a field read twice with different values is reported as a problem."""

    expected: tuple[str, ...]
    readings: dict[str, list[FieldValue]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: FieldValue) -> None:
        self.readings.setdefault(name, []).append(value)

    def problem(self, name: str, reason: str) -> None:
        """Why `name` may be missing; the first reason recorded is kept."""
        self.reasons.setdefault(name, reason)

    def result(self) -> FieldExtraction:
        fields: dict[str, FieldValue] = {}
        problems: dict[str, str] = {}
        for name, values in self.readings.items():
            distinct = sorted({str(value.value) for value in values})
            if len(distinct) == 1:
                fields[name] = values[0]
            else:
                problems[name] = f"{CONFLICTING}: {' / '.join(distinct)} (conflicting values, none reported)"
        for name in self.expected:
            if name not in fields and name not in problems:
                problems[name] = self.reasons.get(
                    name, f"未找到{CHINESE_FIELD_NAMES.get(name, name)} (no {name} found)"
                )
        for name, reason in self.reasons.items():
            if name not in fields and name not in problems:
                problems[name] = reason
        return FieldExtraction(fields=fields, problems=problems)

"""A document's title from what was read, for uploads that came without one.

`采购合同 HT-2023-0111`, `营业执照（杭州云帆信息科技有限公司）`: the document's own heading
where it has one, with the number or name that tells it from its siblings. Nothing is
made up: without a heading or a telling value there is no derived title. An ID number never
goes into a title (titles are shown to people who see numbers masked).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

_MAX = 300
# A heading: Chinese words at the start of a short line, before any English translation.
_HEADING = re.compile(r"^\s*([\u4e00-\u9fff][\u4e00-\u9fff（）()·、]{1,28})")
# What each type's heading ends with, so that a line of prose is never taken for one.
_HEADING_ENDS = {
    "contract": ("合同", "合同书", "协议", "协议书", "契约", "订单", "确认书"),
    "qualification": ("证", "证书", "许可证", "资质", "认证", "备案表", "登记表"),
    "authorization": ("委托书", "授权书", "授权委托书", "证明", "证明书"),
    "bank_account": ("确认函", "证明", "许可证", "开户许可证", "信息表", "回单", "备案表"),
    "other": ("书", "证", "函", "证明", "表", "单", "合同", "协议"),
}


def derive_title(doc_type: str, fields: Mapping[str, object], first_page: str) -> str | None:
    """The title a person would give this document, or None when what was read says too little."""
    heading = _heading(doc_type, first_page)
    text = _text_fields(fields)
    if doc_type == "business_license":
        subject = text.get("name") or text.get("credit_code") or text.get("registration_no")
        return _bounded(f"营业执照（{subject}）") if subject else None
    if doc_type == "id_card":
        return _bounded(f"身份证（{text['name']}）") if text.get("name") else None
    if doc_type == "contract":
        number = text.get("contract_no")
        if heading and number:
            return _bounded(f"{heading} {number}")
        if number:
            return _bounded(f"合同 {number}")
        counterpart = text.get("party_b") or text.get("party_a")
        if heading and counterpart:
            return _bounded(f"{heading}（{counterpart}）")
        return heading
    if doc_type == "bank_account":
        holder = text.get("account_name") or text.get("bank_name")
        return _bounded(f"{heading or '银行开户信息'}（{holder}）") if holder else heading
    if doc_type == "qualification":
        number = text.get("certificate_no")
        if number:
            return _bounded(f"{heading or '资质证书'} {number}")
        return heading
    if doc_type == "authorization":
        dated = text.get("issued_on")
        if heading and dated:
            return _bounded(f"{heading}（{dated}）")
        return heading
    return heading


def _text_fields(fields: Mapping[str, object]) -> dict[str, str]:
    values = {}
    for name, value in fields.items():
        plain = getattr(value, "value", value)
        if isinstance(plain, str) and plain.strip():
            values[name] = plain.strip()
    return values


def _heading(doc_type: str, first_page: str) -> str | None:
    """The first short line that reads as this type's heading (采购合同, 安全生产许可证…)."""
    endings = _HEADING_ENDS.get(doc_type)
    if not endings:
        return None
    for line in unicodedata.normalize("NFKC", first_page).splitlines()[:6]:
        compact = re.sub(r"\s+", "", line) if re.fullmatch(r"[\u4e00-\u9fff\s]+", line.strip()) else line
        match = _HEADING.match(compact)
        if match is None:
            continue
        candidate = match.group(1).rstrip("（(")
        if candidate.endswith(endings) and len(candidate) >= 2:
            return candidate
    return None


def _bounded(title: str) -> str:
    return title[:_MAX]

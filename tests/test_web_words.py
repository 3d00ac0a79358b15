"""The words of the web interface: every Chinese text a page passes through `t()` has its
English, and what the code stores (keys, bilingual messages, pydantic errors) reaches a
person as words."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from archive.schemas import PartnerCreate
from ingest.fields.model import CHINESE_FIELD_NAMES as READER_FIELD_NAMES
from search_api.web.i18n import EN, LABELS
from search_api.web.present import CERTAINTY_WORDS, field_value, message_in, validation_message, value_text

WEB = Path(__file__).resolve().parents[1] / "search_api" / "web"
CALL = re.compile(r"""\bt\(\s*(["'])(.+?)\1""")
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_chinese_text_has_its_english() -> None:
    used = {m.group(2) for path in WEB.rglob("*") if path.suffix in (".html", ".py")
            for m in CALL.finditer(path.read_text(encoding="utf-8"))}
    used |= set(CERTAINTY_WORDS.values())
    missing = sorted(text for text in used if HAN.search(text) and text not in EN)
    assert missing == []
    for group in LABELS.values():
        assert all(zh and en and not HAN.search(en) for zh, en in group.values())


def test_bilingual_messages_are_shown_in_one_language() -> None:
    message = "未找到签订日期 (no signed_on found)"
    assert message_in("zh", message) == "未找到签订日期"
    assert message_in("en", message) == "no signed on found"
    assert message_in("zh", "只有中文") == "只有中文"


def test_a_reviewed_change_reads_as_words() -> None:
    change = {"old": None, "new": "2020-06-30", "decision": "corrected"}
    assert value_text("zh", "expires_on", change) == "— → 2020-06-30（已更正）"
    assert value_text("en", "retention", {"old": "D10", "new": "D30"}) == "10 years → 30 years"


def test_values_read_as_words() -> None:
    assert field_value("zh", "perpetual", True) == "长期"
    assert field_value("en", "perpetual", True) == "Long-term"
    assert field_value("zh", "amount", "123456.00") == "123,456.00 元"
    assert field_value("zh", "registered_capital", "5000000.00") == "5,000,000.00 元"
    assert field_value("zh", "legal_hold", False) == "否"


def test_validation_errors_name_the_field_in_chinese() -> None:
    try:
        PartnerCreate.model_validate(
            {"name": "", "kind": "supplier", "department": "采购部", "credit_code": "913501003154662780",
             "email": "not-an-address"}
        )
    except ValidationError as exc:
        text = validation_message("zh", exc.errors())
    assert "名称：不能为空" in text
    assert "统一社会信用代码：统一社会信用代码无效" in text
    assert "邮箱：邮箱格式不正确" in text
    assert "Value error" not in text and "credit_code" not in text


def test_every_field_the_reader_produces_has_a_label_on_the_pages() -> None:
    # A field without one is shown by its key (`invoice_no`, `qr_host`) on the document page.
    assert sorted(set(READER_FIELD_NAMES) - set(LABELS["field"])) == []


def test_every_flag_compliance_raises_has_a_label_on_the_pages() -> None:
    # A flag without one is shown by its key (`licence_qr_missing`) above the readings.
    source = (Path(__file__).resolve().parents[1] / "archive" / "compliance.py").read_text(encoding="utf-8")
    raised = set(re.findall(r'"kind": "([a-z_]+)"', source))
    assert raised and sorted(raised - set(LABELS["flag"])) == []

"""居民身份证: name and number from the front, validity (有效期限) from the back."""

from __future__ import annotations

from archive.identifiers import is_valid_id_number, resolve_id_number
from ingest.fields.common import (
    HAN_NAME,
    add_identifier,
    add_term,
    identifier_token,
    text_value,
    unlabelled_tokens,
)
from ingest.fields.model import Collector, FieldExtraction, FieldValue
from ingest.fields.text import Layouts, labelled_segments

EXPECTED = ("name", "id_number", "issued_on", "expires_on")
LABELS = {
    "姓名": "name",
    "公民身份号码": "id_number",
    "身份证号码": "id_number",
    "身份号码": "id_number",
    "身份证号": "id_number",
    "有效期限": "validity",
    "有效期": "validity",
    "性别": "",
    "民族": "",
    "出生": "",
    "住址": "",
    "签发机关": "",
}


def extract(pages: list[tuple[int, str]], layouts: Layouts = None) -> FieldExtraction:
    collector = Collector(EXPECTED)
    for segment in labelled_segments(pages, LABELS, layouts):
        if segment.key == "name":
            text_value(collector, "name", segment, HAN_NAME, "姓名")
        elif segment.key == "id_number":
            token, where = identifier_token(segment)
            add_identifier(
                collector, "id_number", token, segment.page, resolve_id_number, "公民身份号码", where
            )
        elif segment.key == "validity":
            add_term(collector, segment.text, segment.page, "有效期限", "issued_on", segment.where)
    if "id_number" not in collector.readings:
        # A number whose label OCR lost: accepted only when it passes the check as read.
        for number, token in unlabelled_tokens(pages, 18):
            if is_valid_id_number(token):
                collector.add("id_number", FieldValue(value=token, page=number))
                collector.reasons.pop("id_number", None)
    if "perpetual" in collector.readings:
        collector.expected = tuple(name for name in EXPECTED if name != "expires_on")
    return collector.result()

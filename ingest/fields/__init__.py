"""Fields read from a document's page texts, per document type, never guessed.

A value is reported only when it was read with the shape its field requires (a credit code
or ID number passing its check character, a date that exists, an amount whose 大写 and
figures agree); everything else is left out with the reason in `problems`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ingest.fields import bank, certificates, contract, id_card, invoice, licence
from ingest.fields.layout import PageLayout
from ingest.fields.model import FieldExtraction, FieldValue
from ingest.fields.text import Layouts, normalize

__all__ = ["FieldExtraction", "FieldValue", "extract_fields"]

_EXTRACTORS: dict[str, Callable[[list[tuple[int, str]], Layouts], FieldExtraction]] = {
    "business_license": licence.extract,
    "id_card": id_card.extract,
    "contract": contract.extract,
    "bank_account": bank.extract,
    "qualification": certificates.extract_qualification,
    "authorization": certificates.extract_other,
    "invoice": invoice.extract,
    "other": certificates.extract_other,
}


def extract_fields(
    doc_type: str,
    pages: list[tuple[int, str]],
    layouts: Mapping[int, Mapping[str, Any]] | None = None,
) -> FieldExtraction:
    """The fields of a document of `doc_type` from its (1-based page number, text) pairs, and
    the layouts (words with boxes) of its OCR'd pages, which are then read by layout."""
    try:
        extractor = _EXTRACTORS[doc_type]
    except KeyError:
        raise ValueError(f"未知的文档类型: {doc_type} (unknown doc_type)") from None
    try:
        read = {number: PageLayout(layout) for number, layout in (layouts or {}).items() if layout}
        result = extractor(pages, read or None)
        return _with_places(result, read) if read else result
    finally:
        # The normalised pages serve this document's readers only: none kept for the next.
        normalize.cache_clear()


def _with_places(result: FieldExtraction, layouts: Mapping[int, PageLayout]) -> FieldExtraction:
    """A box for each value read from an OCR'd page without one (one read from the page's
    text, as a contract's amount clause is), found where its text stands on the page."""
    fields: dict[str, FieldValue] = {}
    for name, value in result.fields.items():
        layout = layouts.get(value.page)
        if value.box is None and layout is not None:
            needle = value.raw or (value.value if isinstance(value.value, str) else None)
            where = layout.find(needle) if needle else None
            if where is not None:
                value = replace(value, box=where.box, confidence=where.confidence)
        fields[name] = value
    return FieldExtraction(fields=fields, problems=result.problems)

"""Fields read from a document's page texts, per document type, never guessed.

A value is reported only when it was read with the shape its field requires (a credit code
or ID number passing its check character, a date that exists, an amount whose 大写 and
figures agree); everything else is left out with the reason in `problems`.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.fields import bank, certificates, contract, id_card, invoice, licence
from ingest.fields.model import FieldExtraction, FieldValue
from ingest.fields.text import normalize

__all__ = ["FieldExtraction", "FieldValue", "extract_fields"]

_EXTRACTORS: dict[str, Callable[[list[tuple[int, str]]], FieldExtraction]] = {
    "business_license": licence.extract,
    "id_card": id_card.extract,
    "contract": contract.extract,
    "bank_account": bank.extract,
    "qualification": certificates.extract_qualification,
    "authorization": certificates.extract_other,
    "invoice": invoice.extract,
    "other": certificates.extract_other,
}


def extract_fields(doc_type: str, pages: list[tuple[int, str]]) -> FieldExtraction:
    """The fields of a document of `doc_type` from its (1-based page number, text) pairs."""
    try:
        extractor = _EXTRACTORS[doc_type]
    except KeyError:
        raise ValueError(f"未知的文档类型: {doc_type} (unknown doc_type)") from None
    try:
        return extractor(pages)
    finally:
        # The normalised pages serve this document's readers only: none kept for the next.
        normalize.cache_clear()

"""A second, targeted OCR reading of a credit code or ID number the page text did not yield.

The first pass reads the whole page with chi_sim+eng; on a scan it now and then drops or adds
a character of the code, or loses its label. Only then is the page read once more, in English
with the identifier's alphabet as the character whitelist, which reads the code itself better.
The label's Han characters come out of that pass as Latin garbage stuck to the left of the
code, so a code is looked for at the end of each run of characters on a line, never guessed:
it must pass its check characters and look like a real identifier (a region code that
exists, a plausible birth date), and exactly one distinct value may be found on the page.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from archive.identifiers import Resolved, resolve_credit_code, resolve_id_number
from ingest.extraction.model import ExtractedPage
from ingest.extraction.page_image import RENDER_ERRORS, render_page
from ingest.fields.model import CONFLICTING, FieldExtraction, FieldValue
from ocr import OcrError, OcrOptions, ocr_image_file

logger = logging.getLogger(__name__)

_DPI = 300
_LENGTH = 18
# 9-18 may hold these letters (GB 32100 leaves out I, O, S, V, Z). ")" is this pass's reading of
# a final J in the usual licence fonts; it is read back as J at the last position only.
_CREDIT_CODE_WHITELIST = "0123456789ABCDEFGHJKLMNPQRTUWXY)"
_ID_WHITELIST = "0123456789X"
# Each segmentation reads some codes the others miss (40 bench scans of licences and ID cards:
# --psm 11 33, 6 35, 4 34, the three together 37; the 5 first-pass misses need all three), and an
# English run costs ~0.5 s a page at 300 dpi, so all three run and what they find is pooled.
_PSMS = (11, 6, 4)
# First two digits of GB/T 2260 province-level codes, and 10 for national bodies' credit codes.
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65"
    " 71 81 82".split()
)
# GB 32100 登记管理部门代码 and the 机构类别代码 each may use.
_CREDIT_CODE_KINDS = {
    "1": "1239",
    "2": "19",
    "3": "123459",
    "4": "19",
    "5": "1239",
    "6": "129",
    "7": "1239",
    "8": "19",
    "9": "123",
    "A": "19",
    "N": "1239",
    "Y": "1",
}
_RUN = re.compile(r"[0-9A-Z)]+")
_MAX_PAGES = 4  # a licence or ID card scan has one or two pages; a longer file is not re-read


@dataclass(frozen=True)
class _Target:
    field: str
    whitelist: str
    resolve: Callable[[str], Resolved | None]
    plausible: Callable[[str], bool]
    what: str


def _plausible_credit_code(code: str) -> bool:
    return code[1] in _CREDIT_CODE_KINDS.get(code[0], "") and (
        code[2:4] in _PROVINCES or code[2:8] == "100000"
    )


def _plausible_id_number(number: str) -> bool:
    return number[:2] in _PROVINCES


_TARGETS = {
    "business_license": _Target(
        "credit_code", _CREDIT_CODE_WHITELIST, resolve_credit_code, _plausible_credit_code, "统一社会信用代码"
    ),
    "id_card": _Target("id_number", _ID_WHITELIST, resolve_id_number, _plausible_id_number, "公民身份号码"),
}


@dataclass(frozen=True)
class SecondPass:
    """The fields after the second pass, and what it cost (zero runs when it was not needed)."""

    fields: FieldExtraction
    tesseract_runs: int = 0
    seconds: float = 0.0
    outcome: str = "not_needed"  # not_needed, found, nothing, ambiguous


def needs_second_pass(doc_type: str, fields: FieldExtraction, pages: Sequence[ExtractedPage]) -> bool:
    """Whether `fields` lack the document's identifier and a page of it was read by OCR."""
    target = _TARGETS.get(doc_type)
    if target is None or target.field in fields.fields or not any(p.source == "ocr" for p in pages):
        return False
    if fields.problems.get(target.field, "").startswith(CONFLICTING):
        return False  # the text already holds two valid values: a third reading cannot settle it
    # An old licence with a 15-digit 注册号 has no credit code to find.
    return not (target.field == "credit_code" and "registration_no" in fields.fields)


def reread_identifier(
    doc_type: str,
    fields: FieldExtraction,
    *,
    path: Path,
    media_type: str,
    pages: Sequence[ExtractedPage],
    timeout_seconds: float = 60.0,
) -> SecondPass:
    """`fields` with the credit code or ID number added when the OCR'd pages yield exactly one."""
    if not needs_second_pass(doc_type, fields, pages):
        return SecondPass(fields)
    target = _TARGETS[doc_type]
    started = time.monotonic()
    found: dict[str, FieldValue] = {}
    runs = 0
    for page in [p for p in pages if p.source == "ocr"][:_MAX_PAGES]:
        texts, page_runs = _read_page(path, media_type, page.number, target, timeout_seconds)
        runs += page_runs
        for text in texts:
            for value in _values(text, target, page.number):
                found.setdefault(value.value, value)  # type: ignore[arg-type]
    seconds = time.monotonic() - started
    if len(found) == 1:
        (value,) = found.values()
        problems = {name: why for name, why in fields.problems.items() if name != target.field}
        result = FieldExtraction(fields={**fields.fields, target.field: value}, problems=problems)
        return SecondPass(result, runs, seconds, "found")
    if not found:
        return SecondPass(fields, runs, seconds, "nothing")
    why = (
        f"{target.what}复核时读到多个有效值: {' / '.join(sorted(found))}"
        " (the targeted re-read found several valid values, none reported)"
    )
    return SecondPass(
        FieldExtraction(fields=fields.fields, problems={**fields.problems, target.field: why}),
        runs,
        seconds,
        "ambiguous",
    )


def _values(text: str, target: _Target, page: int) -> list[FieldValue]:
    """Every valid, plausible identifier that ends a run (or a few adjoining runs) of a line."""
    values = []
    for token in _tokens(text):
        raw = token[:-1] + "J" if token.endswith(")") else token
        resolved = target.resolve(raw)
        if resolved is None or not target.plausible(resolved.value):
            continue
        values.append(
            FieldValue(
                value=resolved.value,
                page=page,
                corrected=resolved.corrected,
                raw=token if token != resolved.value else None,
                method="second_pass",
            )
        )
    return values


def _tokens(text: str) -> list[str]:
    """The last 18 characters before each gap on a line, joining up to three runs to get them.

    Tesseract sometimes splits a code at a wider gap between two characters, and the label in
    front of it turns into letters glued to its start; its end is the end of a run.
    """
    tokens = []
    for line in text.upper().splitlines():
        runs = _RUN.findall(line)
        for end in range(len(runs)):
            joined = ""
            for start in range(end, max(end - 3, -1), -1):
                joined = runs[start] + joined
                if len(joined) >= _LENGTH:
                    token = joined[-_LENGTH:]
                    # ")" inside a code is not a J; only the check character may be one.
                    if ")" not in token[:-1]:
                        tokens.append(token)
                    break
    return tokens


def _read_page(
    path: Path, media_type: str, number: int, target: _Target, timeout_seconds: float
) -> tuple[list[str], int]:
    """The page's texts from each whitelisted English pass; none when it cannot be rendered."""
    try:
        image, dpi = render_page(path, media_type, number, _DPI)
    except RENDER_ERRORS as error:
        logger.warning("second pass: page %d of %s cannot be rendered: %s", number, path.name, error)
        return [], 0
    texts: list[str] = []
    runs = 0
    with tempfile.TemporaryDirectory(prefix="second-pass-") as workdir:
        image_path = Path(workdir) / "page.tif"
        image.save(image_path, "TIFF", compression="raw", **({"dpi": dpi} if dpi else {}))
        for psm in _PSMS:
            options = OcrOptions(
                languages="eng", psm=psm, timeout_seconds=timeout_seconds, char_whitelist=target.whitelist
            )
            runs += 1
            try:
                texts.append(ocr_image_file(image_path, options).text)
            except OcrError as error:
                logger.warning("second pass: page %d of %s: %s", number, path.name, error)
    return texts, runs

"""Page text made comparable (NFKC, OCR spaces between Han characters dropped) and labels found in it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from ocr import remove_cjk_spaces

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LEADING_SEPARATORS = re.compile(r"^[\s:;.,、|]+")
_TRAILING_PUNCTUATION = re.compile(r"[\s:;.,、。|]+$")


# Each reader looks at a page twice or more (labels, then amounts, parties, bare tokens): NFKC
# of a 200-page contract was a tenth of process_document's time (bench/, text pages/second).
# Big enough for every page of one long document; `extract_fields` empties it after each.
@lru_cache(maxsize=1024)
def normalize(text: str) -> str:
    """Full-width forms to ASCII (digits, colon, brackets), OCR blanks between Han dropped."""
    text = unicodedata.normalize("NFKC", text).replace("\u3000", " ")
    return "\n".join(remove_cjk_spaces(line) for line in text.splitlines())


def clean_value(text: str) -> str:
    return _TRAILING_PUNCTUATION.sub("", _LEADING_SEPARATORS.sub("", text)).strip()


@dataclass(frozen=True)
class Segment:
    """The text after one label: up to the next label, a tab or the end of the line."""

    key: str
    label: str
    text: str
    next_line: str  # the following non-empty line, for values printed under their label
    page: int


def labelled_segments(pages: Iterable[tuple[int, str]], labels: Mapping[str, str]) -> list[Segment]:
    """Every occurrence of a label (surface text -> field key) with the text that follows it.

    Labels mapped to "" only end the value before them (经营范围, 原合同编号, ...).
    """
    pattern = re.compile("|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True)))
    segments: list[Segment] = []
    for number, text in pages:
        lines = [line for line in normalize(text).splitlines() if line.strip()]
        for index, line in enumerate(lines):
            matches = list(pattern.finditer(line))
            for position, match in enumerate(matches):
                key = labels[match.group()]
                if not key:
                    continue
                end = matches[position + 1].start() if position + 1 < len(matches) else len(line)
                value = _after_tabs(line[match.end() : end])
                next_line = lines[index + 1] if index + 1 < len(lines) else ""
                segments.append(
                    Segment(key=key, label=match.group(), text=value, next_line=next_line, page=number)
                )
    return segments


def _after_tabs(text: str) -> str:
    """In a table row the value is the first non-empty cell after the label."""
    for cell in text.split("\t"):
        if clean_value(cell):
            return cell
    return ""

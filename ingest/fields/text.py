"""Page text made comparable (NFKC, OCR spaces between Han characters dropped) and labels found in it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from ingest.fields.layout import PageLayout, Where
from ocr import remove_cjk_spaces

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# OCR'd pages read by layout, by page number; None: every page by its text.
Layouts = Mapping[int, PageLayout] | None
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
    # The following non-empty line, for values printed under their label; on a page read by
    # layout, what stands under the label in its column.
    next_line: str
    page: int
    where: Where | None = None  # where `text` was read, on a page read by layout
    next_where: Where | None = None  # where `next_line` was read
    # On a page read by layout, the lines a long value wraps on to (an address, a name).
    continued: str = ""
    whole_where: Where | None = None  # where `text` and `continued` were read together


def labelled_segments(
    pages: Iterable[tuple[int, str]],
    labels: Mapping[str, str],
    layouts: Layouts = None,
) -> list[Segment]:
    """Every occurrence of a label (surface text -> field key) with the text that follows it.

    Labels mapped to "" only end the value before them (经营范围, 原合同编号, ...). A page with
    a layout (an OCR'd page's words and boxes) is read by where its words stand.
    """
    pattern = re.compile("|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True)))
    segments: list[Segment] = []
    for number, text in pages:
        if layouts and number in layouts:
            segments += _layout_segments(number, layouts[number], labels)
            continue
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


@lru_cache(maxsize=32)
def _spaced_label_pattern(labels: tuple[str, ...]) -> re.Pattern[str]:
    """Labels as printed on forms, their characters set apart by blanks or a wide gap, where
    OCR may read one speck of the paper as a symbol (住☑所)."""
    gap = r"[ \t]*(?:[^\w \t][ \t]*)?"
    alternatives = (gap.join(re.escape(char) for char in label) for label in labels)
    return re.compile("|".join(alternatives))


def _layout_segments(number: int, layout: PageLayout, labels: Mapping[str, str]) -> list[Segment]:
    """Labels on the page's rows; a value right of its label on the same row, else under it."""
    pattern = _spaced_label_pattern(tuple(sorted(labels, key=len, reverse=True)))
    found = [
        (row_index, match)
        for row_index, row in enumerate(layout.rows)
        for match in pattern.finditer(row.text)
    ]
    starts = [(match.start(), row_index) for row_index, match in found]
    segments: list[Segment] = []
    for position, (row_index, match) in enumerate(found):
        label = re.sub(r"[^\w]", "", match.group())
        key = labels.get(label, "")
        if not key:
            continue
        row = layout.rows[row_index]
        following = found[position + 1] if position + 1 < len(found) else None
        end = following[1].start() if following and following[0] == row_index else len(row.text)
        value_start = match.end()
        while value_start < end and row.text[value_start] in " \t:;.,、|":
            value_start += 1
        cell_end = row.text.find("\t", value_start, end)
        value = layout.value_right_of(row, value_start, cell_end if cell_end >= 0 else end)
        label_span = layout.span(row, match.start(), match.end())
        under = layout.below(row_index, label_span, starts)
        next_label = (
            layout.span(row, following[1].start(), following[1].end())
            if following and following[0] == row_index
            else None
        )
        right_limit = next_label.words[0].left if next_label and next_label.words else layout.width
        wrapped = layout.continued(row_index, label_span, value, right_limit, starts)
        segments.append(
            Segment(
                key=key,
                label=label,
                text=value.text,
                next_line=under.text,
                page=number,
                where=layout.where(value.words),
                next_where=layout.where(under.words),
                continued=wrapped.text,
                whole_where=layout.where(value.words + wrapped.words),
            )
        )
    return segments

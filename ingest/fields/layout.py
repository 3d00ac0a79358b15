"""An OCR'd page read by where its words stand: rows along the baseline, labels and their values.

A value is the text to the right of its label on the same baseline, up to the next label; or,
when nothing stands there, the text under the label in the same column. Rows are formed on
the page straightened by its measured skew, so a scan tilted by a degree still keeps a
two-column licence's left and right values on their own labels' rows. Boxes given back are in
the page's own pixels (before straightening) as fractions of its width and height.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_CHAR = re.compile(f"[{HAN}]")
_LATIN_END = re.compile(r"[0-9A-Za-z.,]$")
_LATIN_START = re.compile(r"[0-9A-Za-z¥$]")
# Gaps in units of the page's typical character height.
_SPACE_GAP = 0.45  # wider than this between two Latin or digit words: a blank
_CELL_GAP = 3.0  # wider than this: another cell of the row (a column, a distant value)
_VALUE_GAP = 9.0  # a same-row value starts at most this far right of its label
_ROW_TOLERANCE = 0.55  # a word whose middle is this close to a row's middle is on it
_BELOW_ROWS = 2.6  # the value under a label starts within this many heights below it
_WRAPPED_LINE = 2.0  # a wrapped value's next line is at most this many heights lower


@dataclass(frozen=True)
class Where:
    """Where a value was read: [left, top, right, bottom] as fractions of the page, and the
    lowest confidence (0-100) of its words."""

    box: tuple[float, float, float, float]
    confidence: float | None


@dataclass(frozen=True)
class _Word:
    """A word with its box on the upright page (what reading uses) and on the page as stored."""

    text: str
    left: int
    top: int
    right: int
    bottom: int
    confidence: float
    middle: float  # vertical middle on the straightened page
    height: float
    stored: tuple[int, int, int, int]  # the box as the layout keeps it (before any turning)

    @property
    def width(self) -> int:
        return self.right - self.left


@dataclass
class Row:
    """Words sharing a baseline, left to right, and their text with each character's word."""

    words: list[_Word]
    text: str = ""
    owners: list[int] | None = None  # index into words of each character of text

    @property
    def middle(self) -> float:
        return statistics.fmean(word.middle for word in self.words)


@dataclass(frozen=True)
class Span:
    """A stretch of a row: its text and its words."""

    text: str
    words: tuple[_Word, ...]


class PageLayout:
    """One page's words in rows, with the lookups the field readers need."""

    def __init__(self, layout: Mapping[str, Any]) -> None:
        # The stored size and boxes are those of the page before it was turned upright.
        self.width = max(int(layout.get("width") or 0), 1)
        self.height = max(int(layout.get("height") or 0), 1)
        turned = int(layout.get("turned") or 0) % 360
        self.upright_height = self.width if turned in (90, 270) else self.height
        raw = []
        for word in layout.get("words") or ():
            if str(word[0]).strip():
                stored: Box = (int(word[1]), int(word[2]), int(word[3]), int(word[4]))
                upright = _upright(stored, turned, self.width, self.height)
                raw.append((str(word[0]), *upright, float(word[5]), stored))
        heights = [word[4] - word[2] for word in raw if _HAN_CHAR.search(word[0])] or [
            word[4] - word[2] for word in raw
        ]
        self.unit = max(statistics.median(heights), 1.0) if heights else 1.0
        slope = _skew(raw, self.unit)
        words = [
            _Word(
                text=unicodedata.normalize("NFKC", text).replace("\u3000", " ").strip(),
                left=left,
                top=top,
                right=right,
                bottom=bottom,
                confidence=confidence,
                middle=(top + bottom) / 2 - slope * (left + right) / 2,
                height=max(bottom - top, 1),
                stored=stored,
            )
            for text, left, top, right, bottom, confidence, stored in raw
        ]
        self.rows = _rows(words, self.unit)

    def where(self, words: tuple[_Word, ...] | list[_Word]) -> Where | None:
        if not words:
            return None
        box = (
            round(min(word.stored[0] for word in words) / self.width, 4),
            round(min(word.stored[1] for word in words) / self.height, 4),
            round(max(word.stored[2] for word in words) / self.width, 4),
            round(max(word.stored[3] for word in words) / self.height, 4),
        )
        return Where(box=box, confidence=round(min(word.confidence for word in words), 1))

    def find(self, needle: str) -> Where | None:
        """Where `needle` stands on the page (blanks aside), when it stands in one place only."""
        wanted = re.sub(r"\s", "", unicodedata.normalize("NFKC", needle))
        if not wanted:
            return None
        places: list[Span] = []
        for row in self.rows:
            assert row.owners is not None
            kept = [index for index, char in enumerate(row.text) if not char.isspace()]
            squeezed = "".join(row.text[index] for index in kept)
            start = squeezed.find(wanted)
            while start >= 0:
                places.append(self.span(row, kept[start], kept[start + len(wanted) - 1] + 1))
                start = squeezed.find(wanted, start + 1)
        return self.where(places[0].words) if len(places) == 1 else None

    def text(self) -> str:
        """The page as lines: one per row, its cells (columns) separated by a tab."""
        return "\n".join(row.text for row in self.rows)

    def cells_text(self) -> str:
        """The page as lines: one per cell of each row, so that two columns read as two lines."""
        return "\n".join(cell.text for row in self.rows for cell in self.cells(row))

    def cells(self, row: Row) -> list[Span]:
        """The row cut where words stand far apart."""
        cells: list[list[_Word]] = [[row.words[0]]]
        for before, after in zip(row.words, row.words[1:], strict=False):
            if after.left - before.right > _CELL_GAP * self.unit:
                cells.append([])
            cells[-1].append(after)
        return [Span(_joined(cell, self.unit), tuple(cell)) for cell in cells]

    def span(self, row: Row, start: int, end: int) -> Span:
        """Characters start..end of a row's text, and the words they were read from."""
        assert row.owners is not None
        owners = sorted({row.owners[index] for index in range(start, end) if row.owners[index] >= 0})
        return Span(row.text[start:end], tuple(row.words[index] for index in owners))

    def value_right_of(self, row: Row, label_end: int, value_end: int) -> Span:
        """What stands right of a label up to `value_end` (the next label or the row's end), if
        it starts near enough to belong to it."""
        span = self.span(row, label_end, value_end)
        if not span.words:
            return Span("", ())
        assert row.owners is not None
        label_right = row.words[row.owners[label_end - 1]].right if label_end else 0
        if span.words[0].left - label_right > _VALUE_GAP * self.unit:
            return Span("", ())
        return span

    def continued(
        self, row_index: int, label: Span, value: Span, right_limit: float, stop_at: list[tuple[int, int]]
    ) -> Span:
        """The lines a wrapped value runs on to: rows right under it that start where it starts,
        within its column, up to a row holding a label in that column."""
        if not value.words or not label.words:
            return Span("", ())
        column_left = label.words[0].left - self.unit
        start = value.words[0].left
        words: list[_Word] = []
        last_middle = self.rows[row_index].middle
        for index in range(row_index + 1, len(self.rows)):
            row = self.rows[index]
            if row.middle - last_middle > _WRAPPED_LINE * self.unit:
                break
            assert row.owners is not None
            inside = [
                position
                for position, word in enumerate(row.words)
                if word.left >= start - self.unit and word.right <= right_limit + self.unit
            ]
            if not inside or abs(row.words[inside[0]].left - start) > 1.2 * self.unit:
                break
            labels_here = [row.words[row.owners[begin]] for begin, row_of in stop_at if row_of == index]
            if any(column_left <= word.left < right_limit for word in labels_here):
                break
            # Anything where the labels stand (a label OCR misread) starts another field.
            if any(column_left <= word.left and word.right < start - self.unit for word in row.words):
                break
            words += [row.words[position] for position in inside]
            last_middle = row.middle
        return Span(_joined(words, self.unit).replace("\t", ""), tuple(words))

    def below(self, row_index: int, label: Span, stop_at: list[tuple[int, int]]) -> Span:
        """The words under a label in its column: on the nearest row below whose words overlap
        the label's width, as far as they run on without a cell gap or another label."""
        left = min(word.left for word in label.words)
        right = max(word.right for word in label.words)
        row = self.rows[row_index]
        for index in range(row_index + 1, len(self.rows)):
            candidate = self.rows[index]
            if candidate.middle - row.middle > _BELOW_ROWS * self.unit:
                break
            overlapping = [
                position
                for position, word in enumerate(candidate.words)
                if word.right > left and word.left < right
            ]
            if not overlapping:
                continue
            start = end = overlapping[0]
            while start > 0 and candidate.words[start].left - candidate.words[start - 1].right <= (
                _CELL_GAP * self.unit
            ):
                start -= 1
            while end + 1 < len(candidate.words) and (
                candidate.words[end + 1].left - candidate.words[end].right <= _CELL_GAP * self.unit
            ):
                end += 1
            words = candidate.words[start : end + 1]
            text = _joined(words, self.unit)
            assert candidate.owners is not None
            # A label in that stretch makes it another field's row, not this label's value.
            covered = set(range(start, end + 1))
            if any(candidate.owners[begin] in covered for begin, row_of in stop_at if row_of == index):
                return Span("", ())
            return Span(text, tuple(words))
        return Span("", ())


Box = tuple[int, int, int, int]


def _upright(box: Box, turned: int, width: int, height: int) -> Box:
    """A box on the stored page (width x height) moved onto the page turned `turned` degrees
    clockwise, which is how the page reads upright."""
    left, top, right, bottom = box
    if turned == 90:  # (x, y) -> (height - y, x)
        return height - bottom, left, height - top, right
    if turned == 180:
        return width - right, height - bottom, width - left, height - top
    if turned == 270:  # (x, y) -> (y, width - x)
        return top, width - right, bottom, width - left
    return box


def _joined(words: list[_Word] | tuple[_Word, ...], unit: float) -> str:
    text = ""
    for position, word in enumerate(words):
        if position:
            text += _separator(words[position - 1], word, unit)
        text += word.text
    return text


def _separator(before: _Word, after: _Word, unit: float) -> str:
    gap = after.left - before.right
    if gap > _CELL_GAP * unit:
        return "\t"
    # Blanks matter only between Latin words and figures ("Supply Agreement", "1402 0230");
    # Chinese is written without them, and OCR puts stray ones before brackets and after labels.
    if gap > _SPACE_GAP * unit and _LATIN_END.search(before.text) and _LATIN_START.match(after.text):
        return " "
    return ""


def _skew(raw: list[Any], unit: float) -> float:
    """The page's tilt as dy/dx, from neighbouring words read on one line (median of pairs)."""
    centres = sorted(((word[1] + word[3]) / 2, (word[2] + word[4]) / 2) for word in raw)
    slopes: list[float] = []
    for index, (x, y) in enumerate(centres):
        for other_x, other_y in centres[index + 1 : index + 40]:
            dx = other_x - x
            if dx > 25 * unit:
                break
            if dx >= 4 * unit and abs(other_y - y) < 0.5 * unit:
                slopes.append((other_y - y) / dx)
    return statistics.median(slopes) if len(slopes) >= 5 else 0.0


def _rows(words: list[_Word], unit: float) -> list[Row]:
    rows: list[Row] = []
    for word in sorted(words, key=lambda word: word.middle):
        if rows and abs(word.middle - rows[-1].middle) <= _ROW_TOLERANCE * unit:
            rows[-1].words.append(word)
        else:
            rows.append(Row(words=[word]))
    for row in rows:
        row.words.sort(key=lambda word: word.left)
        text, owners = "", []
        for position, word in enumerate(row.words):
            if position:
                separator = _separator(row.words[position - 1], word, unit)
                text += separator
                owners += [-1] * len(separator)
            text += word.text
            owners += [position] * len(word.text)
        row.text, row.owners = text, owners
    return rows

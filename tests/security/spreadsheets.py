"""Reading exports back as a spreadsheet program would, to judge every cell."""

from __future__ import annotations

import csv
import io
import re

import openpyxl

XLSX_MAGIC = b"PK\x03\x04"
# What a spreadsheet may take for the start of a formula (OWASP's list, full-width forms too).
FORMULA_STARTS = tuple("=+-@\t\r\n\0＝＋－＠")
# A plain number such as -123 is read as a number, not a formula.
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def is_spreadsheet(content_type: str, body: bytes) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media in ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") or (
        media == "application/octet-stream" and body.startswith(XLSX_MAGIC)
    )


def cells(content_type: str, body: bytes) -> list[tuple[str, object, str]]:
    """(where, value, type) of every non-empty cell; type "f" is a formula."""
    if body.startswith(XLSX_MAGIC):
        workbook = openpyxl.load_workbook(io.BytesIO(body))
        return [
            (f"{sheet.title}!{cell.coordinate}", cell.value, cell.data_type)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows()
            for cell in row
            if cell.value is not None
        ]
    text = body.decode("utf-8-sig")
    return [
        (f"row {r} column {c}", value, "s")
        for r, row in enumerate(csv.reader(io.StringIO(text)), start=1)
        for c, value in enumerate(row, start=1)
        if value != ""
    ]


def live_formulas(content_type: str, body: bytes) -> list[str]:
    """Cells a spreadsheet would evaluate: formula cells, and text starting like a formula."""
    found = []
    for where, value, kind in cells(content_type, body):
        if kind == "f":
            found.append(f"{where}: formula {value!r}")
        elif (
            isinstance(value, str)
            and value.lstrip(" \u3000").startswith(FORMULA_STARTS)
            and not PLAIN_NUMBER.match(value)
        ):
            found.append(f"{where}: {value!r}")
    return found

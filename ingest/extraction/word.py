"""DOCX text: headers, body paragraphs and tables in document order, footers; one page."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

import docx
from docx.document import Document as WordDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.section import _Footer, _Header
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from lxml import etree

from ingest.extraction.model import (
    ExtractedPage,
    Extraction,
    ExtractionError,
    ExtractionLimits,
    PageDone,
)

# python-docx parses every part with lxml's XMLParser(resolve_entities=False), so an external
# entity such as <!ENTITY x SYSTEM "file:///etc/passwd"> stays an unexpanded reference; this
# is what makes opening uploaded DOCX files safe (tests/test_extraction.py checks it).


def extract_docx(path: Path, limits: ExtractionLimits, on_page: PageDone | None) -> Extraction:
    """The whole DOCX as one page of text."""
    _check_archive(path, limits)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, etree.XMLSyntaxError) as error:
        # python-docx names the file by its path in the store: a person sees no server path.
        raise _corrupt(f"{type(error).__name__}: {str(error).replace(str(path), 'upload')}") from error
    lines = [
        *_header_footer_lines(_headers(document)),
        *_block_lines(document.iter_inner_content()),
        *_header_footer_lines(_footers(document)),
    ]
    text = "\n".join(line for line in lines if line.strip())
    if on_page is not None:
        on_page(1)
    return Extraction(pages=[ExtractedPage(number=1, text=text, source="text")])


def _corrupt(detail: str) -> ExtractionError:
    return ExtractionError("corrupt", f"DOCX 文件损坏或不是 Word 文档: {detail} (corrupt DOCX)")


def _check_archive(path: Path, limits: ExtractionLimits) -> None:
    """Refuse zip bombs from the central directory alone, before anything is inflated."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as error:
        raise _corrupt(str(error)) from error
    # Declared sizes are a real bound: zipfile never returns more than a member's declared
    # size (and fails its CRC check if the data was longer).
    inflated = sum(member.file_size for member in members)
    if inflated > limits.max_docx_inflated_bytes:
        raise ExtractionError(
            "docx_bomb",
            f"DOCX 解压后共 {inflated} 字节，超过上限 {limits.max_docx_inflated_bytes} 字节"
            " (DOCX inflates beyond the limit)",
        )
    if "[Content_Types].xml" not in {member.filename for member in members}:
        raise _corrupt("缺少 [Content_Types].xml")


def _block_lines(blocks: Iterable[Paragraph | Table]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            lines.append(block.text)
        else:
            lines.extend(_table_lines(block))
    return lines


def _table_lines(table: Table) -> list[str]:
    """One line per row, cells separated by tabs."""
    lines: list[str] = []
    for row in table.rows:
        cells: list[_Cell] = []
        for cell in row.cells:
            # A horizontally merged cell is returned once per grid column it spans.
            if not cells or cells[-1]._tc is not cell._tc:
                cells.append(cell)
        lines.append("\t".join(_cell_text(cell) for cell in cells))
    return lines


def _cell_text(cell: _Cell) -> str:
    return " ".join(line.strip() for line in _block_lines(cell.iter_inner_content()) if line.strip())


def _headers(document: WordDocument) -> list[_Header]:
    return [
        header
        for section in document.sections
        for header in (section.first_page_header, section.header, section.even_page_header)
        if not header.is_linked_to_previous
    ]


def _footers(document: WordDocument) -> list[_Footer]:
    return [
        footer
        for section in document.sections
        for footer in (section.first_page_footer, section.footer, section.even_page_footer)
        if not footer.is_linked_to_previous
    ]


def _header_footer_lines(parts: list[_Header] | list[_Footer]) -> list[str]:
    """Each distinct header (or footer) once, however many sections repeat it."""
    lines: list[str] = []
    seen: set[str] = set()
    for part in parts:
        text = "\n".join(line for line in _block_lines(part.iter_inner_content()) if line.strip())
        if text and text not in seen:
            seen.add(text)
            lines.append(text)
    return lines

"""Generators of real sample documents (PDF, DOCX, images) for the extraction and OCR tests."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pypdfium2 as pdfium
from docx import Document
from PIL import Image, ImageChops, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
A4_INCHES = (8.27, 11.69)
_PDF_FONT_NAME = "WenQuanYiZenHei"
_CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    """Check character of a 统一社会信用代码 per GB 32100-2015."""
    total = sum(
        _CREDIT_CODE_CHARS.index(char) * weight
        for char, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return _CREDIT_CODE_CHARS[(31 - total % 31) % 31]


# 9 登记管理部门=工商, 1 机构类别=企业, 350100 福州市, 315466278 组织机构代码 (its own GB 11714
# check digit included); all digits so OCR assertions do not trip over O/0 or B/8.
CREDIT_CODE = "91350100315466278" + credit_code_check_char("91350100315466278")

LICENCE_TEXT = f"""营业执照
统一社会信用代码 {CREDIT_CODE}
名称 福建省闽江供应链管理有限公司
类型 有限责任公司
法定代表人 林建华
注册资本 伍佰万元整
成立日期 2015年03月11日
营业期限 2015年03月11日至2035年03月10日
住所 福建省福州市鼓楼区五四路158号环球广场12层
经营范围 供应链管理服务；国内货物运输代理；五金产品、机电设备批发。
登记机关 福州市市场监督管理局
2021年06月18日"""

CONTRACT_TEXT = """采购合同 Supply Agreement
合同编号：HT-2026-0042
甲方（采购方）：福建省闽江供应链管理有限公司
乙方（供应方）：厦门鹭岛机电设备有限公司
一、标的：乙方向甲方供应离心水泵二十台，型号 QW-80-40。
二、合同金额：人民币壹拾贰万叁仟肆佰伍拾陆元整（¥123,456.00）。
三、交货期限：合同签订后三十日内交付至甲方福州仓库。
四、付款方式：验收合格后十五个工作日内一次性付清。
This Supply Agreement is made in Chinese and English; the Chinese text prevails."""


def text_pdf(path: Path, pages: Sequence[str]) -> Path:
    """Write a born-digital PDF (real text layer, embedded CJK font), one string per page."""
    _register_pdf_font()
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=True)
    for page_text in pages:
        _draw_text_page(pdf, page_text)
        pdf.showPage()
    pdf.save()
    return path


def scanned_pdf(
    path: Path,
    pages: Sequence[str],
    dpi: int = 300,
    rotate_degrees: float = 0.5,
    noise: bool = True,
    page_inches: tuple[float, float] = A4_INCHES,
) -> Path:
    """Write an image-only PDF (no text layer) that looks like a scan of the given pages."""
    images = [
        _scan_page(text, dpi, rotate_degrees, noise, page_inches, seed=number)
        for number, text in enumerate(pages)
    ]
    images[0].save(
        path,
        "PDF",
        save_all=True,
        append_images=images[1:],
        resolution=float(dpi),
        quality=90,
        creationDate=None,  # no timestamps: the same pages give the same bytes
        modDate=None,
    )
    return path


def mixed_pdf(path: Path, text_page: str, scanned_page: str, dpi: int = 200) -> Path:
    """Write a two-page PDF: page 1 born-digital, page 2 an image-only scan."""
    text_part = text_pdf(path.with_name(path.stem + "-text.pdf"), [text_page])
    scan_part = scanned_pdf(path.with_name(path.stem + "-scan.pdf"), [scanned_page], dpi=dpi)
    merged = pdfium.PdfDocument(text_part)
    scans = pdfium.PdfDocument(scan_part)
    try:
        merged.import_pages(scans)
        merged.save(path)
    finally:
        scans.close()
        merged.close()
    text_part.unlink()
    scan_part.unlink()
    return path


def scan_image(
    path: Path,
    text: str,
    dpi: int = 300,
    fmt: Literal["png", "jpeg", "tiff"] = "png",
    rotate_degrees: float = 0.5,
    page_inches: tuple[float, float] = A4_INCHES,
    noise: bool = True,
) -> Path:
    """Write one scanned page as an image file."""
    image = _scan_page(text, dpi, rotate_degrees, noise, page_inches, seed=0)
    _save_image(image, path, fmt, dpi)
    return path


def scan_tiff(
    path: Path,
    pages: Sequence[str],
    dpi: int = 200,
    page_inches: tuple[float, float] = A4_INCHES,
) -> Path:
    """Write a multi-page TIFF, one scanned page per string."""
    images = [_scan_page(text, dpi, 0.5, True, page_inches, seed=number) for number, text in enumerate(pages)]
    images[0].save(
        path,
        "TIFF",
        save_all=True,
        append_images=images[1:],
        dpi=(dpi, dpi),
        compression="tiff_lzw",
    )
    return path


def docx_file(
    path: Path,
    paragraphs: Sequence[str],
    table_rows: Sequence[Sequence[str]] | None = None,
    header: str | None = None,
    footer: str | None = None,
) -> Path:
    """Write a DOCX with paragraphs, then an optional table, and optional header and footer."""
    document = Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table_rows:
        table = document.add_table(rows=len(table_rows), cols=len(table_rows[0]))
        for row, values in zip(table.rows, table_rows, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    section = document.sections[0]
    if header is not None:
        section.header.paragraphs[0].text = header
    if footer is not None:
        section.footer.paragraphs[0].text = footer
    buffer = io.BytesIO()
    document.save(buffer)
    _write_zip(path, _zip_members(buffer))
    return path


def encrypted_pdf(path: Path, user_password: str = "secret") -> Path:  # noqa: S107 - sample
    """Write an encrypted PDF; with an empty user password it opens without one (owner-only)."""
    _register_pdf_font()
    encryption = StandardEncryption(user_password, ownerPassword="owner-" + user_password)
    pdf = canvas.Canvas(str(path), pagesize=A4, encrypt=encryption, invariant=True)
    _draw_text_page(pdf, LICENCE_TEXT)
    pdf.showPage()
    pdf.save()
    return path


def truncated_pdf(path: Path) -> Path:
    """Write the first half of a valid two-page PDF, as an interrupted upload would leave it."""
    whole = text_pdf(path.with_name(path.stem + "-whole.pdf"), [LICENCE_TEXT, CONTRACT_TEXT])
    truncated_copy(whole, path)
    whole.unlink()
    return path


def truncated_copy(source: Path, path: Path, keep: float = 0.5) -> Path:
    """Write the first `keep` fraction of `source` to `path`."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def xxe_docx(path: Path, target: str = "/etc/hostname") -> Path:
    """Write a DOCX whose document.xml declares an external entity pointing at a local file."""
    docx_file(path, ["XXE-PLACEHOLDER"])
    document_xml = _read_zip_member(path, "word/document.xml").decode("utf-8")
    declaration, _, rest = document_xml.partition("?>")
    doctype = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{target}">]>'
    patched = declaration + "?>" + doctype + rest.replace("XXE-PLACEHOLDER", "外部实体:&xxe;:结束")
    _replace_zip_member(path, "word/document.xml", patched.encode("utf-8"))
    return path


def docx_bomb(path: Path, inflated_bytes: int = 256 * 1024 * 1024) -> Path:
    """Write a DOCX whose document.xml inflates to `inflated_bytes` from a few hundred KiB."""
    docx_file(path, ["炸弹"])
    members = _zip_members(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            if name != "word/document.xml":
                archive.writestr(_zip_entry(name), data)
        # Streamed in chunks so building the sample never holds the inflated size in memory.
        info = _zip_entry("word/document.xml")
        chunk = b" " * (4 * 1024 * 1024)
        body, closing, _ = members["word/document.xml"].rpartition(b"</w:document>")
        with archive.open(info, "w", force_zip64=True) as member:
            member.write(body)
            for _ in range(inflated_bytes // len(chunk) + 1):
                member.write(chunk)  # whitespace between elements keeps the XML well-formed
            member.write(closing)
    return path


def huge_image(path: Path, width: int = 40_000, height: int = 40_000) -> Path:
    """Write a PNG whose header claims width x height pixels; the pixel data is a stub."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    stub_rows = zlib.compress(b"\x00" * (1 + (width + 7) // 8))  # one row is enough to open
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", stub_rows)
        + _png_chunk(b"IEND", b"")
    )
    return path


def not_an_image(path: Path) -> Path:
    """Write a text file with an image extension."""
    path.write_text("这不是图片 (not an image)\n", encoding="utf-8")
    return path


def _register_pdf_font() -> None:
    if _PDF_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_PDF_FONT_NAME, str(FONT_PATH), subfontIndex=0))


def _draw_text_page(pdf: canvas.Canvas, page_text: str, font_size: float = 12) -> None:
    margin = 72.0
    width, height = A4
    y = height - margin
    pdf.setFont(_PDF_FONT_NAME, font_size)
    for line in _wrap_for_pdf(page_text, width - 2 * margin, font_size):
        pdf.drawString(margin, y, line)
        y -= font_size * 1.6


def _wrap_for_pdf(text: str, max_width: float, font_size: float) -> list[str]:
    # CJK text has no spaces to break at, so wrap character by character.
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for char in paragraph:
            if pdfmetrics.stringWidth(current + char, _PDF_FONT_NAME, font_size) > max_width:
                lines.append(current)
                current = ""
            current += char
        lines.append(current)
    return lines


def _scan_page(
    text: str,
    dpi: int,
    rotate_degrees: float,
    noise: bool,
    page_inches: tuple[float, float],
    seed: int,
) -> Image.Image:
    size = (round(page_inches[0] * dpi), round(page_inches[1] * dpi))
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    font_px = round(12 / 72 * dpi)  # 12 pt at the scan resolution
    font = ImageFont.truetype(str(FONT_PATH), font_px, index=0)
    margin = round(0.8 * dpi)
    y = margin
    for line in _wrap_for_image(text, font, size[0] - 2 * margin):
        draw.text((margin, y), line, font=font, fill=20)
        y += round(font_px * 1.6)
    if noise:
        page = ImageChops.darker(page, _paper_noise(size, seed))
    if rotate_degrees:
        page = page.rotate(rotate_degrees, resample=Image.Resampling.BICUBIC, fillcolor=255)
    return page


def _wrap_for_image(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for char in paragraph:
            if font.getlength(current + char) > max_width:
                lines.append(current)
                current = ""
            current += char
        lines.append(current)
    return lines


def _paper_noise(size: tuple[int, int], seed: int) -> Image.Image:
    """Light grey grain with rare dark specks, like a cheap office scanner."""
    rng = random.Random(seed)  # noqa: S311 - test data, determinism wanted, not secrecy
    grain = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return grain.point(lambda value: 70 if value == 0 else 255 - value // 12)


def _save_image(image: Image.Image, path: Path, fmt: str, dpi: int) -> None:
    if fmt == "jpeg":
        image.save(path, "JPEG", quality=85, dpi=(dpi, dpi))
    elif fmt == "tiff":
        image.save(path, "TIFF", dpi=(dpi, dpi), compression="tiff_lzw")
    else:
        image.save(path, "PNG", dpi=(dpi, dpi))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _zip_members(source: Path | io.BytesIO) -> dict[str, bytes]:
    with zipfile.ZipFile(source) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _read_zip_member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def _replace_zip_member(path: Path, name: str, data: bytes) -> None:
    members = _zip_members(path)
    members[name] = data
    _write_zip(path, members)


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(_zip_entry(name), data)


def _zip_entry(name: str) -> zipfile.ZipInfo:
    """A member with a fixed timestamp, so that the same content gives the same bytes."""
    entry = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    return entry


def noisy_scan(
    path: Path,
    pages: Sequence[str],
    dpi: int = 300,
    rotate_degrees: float = 0.5,
    blur_radius: float = 0.0,
    seed: int = 0,
    page_inches: tuple[float, float] = A4_INCHES,
) -> Path:
    """Write scanned pages with paper grain, a tilt and optional blur: PNG for one page, TIFF or PDF for more.

    The format follows the suffix of `path` (.png, .tif/.tiff, .pdf).
    """
    from PIL import ImageFilter

    images = []
    for number, text in enumerate(pages):
        image = _scan_page(text, dpi, rotate_degrees, True, page_inches, seed=seed * 1000 + number)
        if blur_radius:
            image = image.filter(ImageFilter.GaussianBlur(blur_radius))
        images.append(image)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        images[0].save(
            path, "PDF", save_all=True, append_images=images[1:], resolution=float(dpi),
            quality=90, creationDate=None, modDate=None,
        )
    elif suffix in (".tif", ".tiff"):
        images[0].save(
            path, "TIFF", save_all=True, append_images=images[1:], dpi=(dpi, dpi), compression="tiff_lzw"
        )
    else:
        _save_image(images[0], path, "png", dpi)
    return path

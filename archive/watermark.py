"""Watermarked borrowing (借阅水印): what a borrower views or downloads under a grant carries
a visible mark — borrower, time, request number — on every PDF page and image; the original
in the store is never touched. Those who see a document by the visibility rule get it as is.

PDF pages get the mark as an image object (PIL draws the Chinese text, so no CJK font has to be
embedded: 16 MB for WenQuanYi) plus one small line in a standard font that text extraction
reads back; images get it drawn onto every frame.
"""

from __future__ import annotations

import ctypes
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageDraw, ImageFont, ImageSequence
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.errors import Forbidden
from archive.file_facts import PDFIUM_LOCK
from archive.models import AccessGrant, Document
from archive.permissions import User, can_view_document

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)
_INK = (200, 0, 0, 110)
WATERMARKED_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/tiff"}


@dataclass(frozen=True)
class Stamp:
    borrower: str
    at: datetime
    request_id: str
    allow_download: bool

    @property
    def line(self) -> str:
        return f"借阅专用 {self.borrower} {self.at:%Y-%m-%d %H:%M} UTC 借阅单 {self.request_id}"

    @property
    def ascii_line(self) -> str:
        return f"BORROWED {self.borrower} {self.at:%Y-%m-%d %H:%M} UTC REQUEST {self.request_id}"


def sees_by_rule(user: User, document: Document) -> bool:
    """Whether the user may see the document without any borrow grant."""
    return can_view_document(
        User(user.sub, user.roles, user.departments, user.clearance),
        document_id=document.id,
        confidentiality=document.confidentiality,
        department=document.department,
    )


def loan_stamp(session: Session, *, user: User, document: Document, download: bool) -> Stamp | None:
    """The mark for what this user gets of this document: None when they see it by the rule;
    refused when the loan is view-only and a download was asked for."""
    if sees_by_rule(user, document):
        return None
    now = datetime.now(UTC)
    grant = session.scalars(
        select(AccessGrant)
        .where(
            AccessGrant.user_sub == user.sub,
            AccessGrant.document_id == document.id,
            AccessGrant.expires_at > now,
            AccessGrant.returned_at.is_(None),
        )
        .order_by(AccessGrant.allow_download.desc(), AccessGrant.expires_at.desc())
    ).first()
    if grant is None:  # seen through a grant that ended a moment ago: nothing unmarked leaves
        raise Forbidden("借阅已结束 (the loan has ended)")
    if download and not grant.allow_download:
        raise Forbidden("该借阅为仅查看，不可下载 (this loan is view-only: no download)")
    if download and document.media_type not in WATERMARKED_TYPES:
        raise Forbidden(
            "该格式无法加借阅水印，借阅期间不提供下载"
            " (this format cannot carry the loan watermark; no download)"
        )
    stamp = Stamp(user.sub, now, grant.request_id or f"grant-{grant.id}", grant.allow_download)
    if download:
        record_event(
            session,
            user=user.sub,
            action="download_watermarked",
            target=document.id,
            details={"request_id": stamp.request_id, "at": now.isoformat(timespec="seconds")},
        )
    return stamp


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_CANDIDATES:
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _mark_image(stamp: Stamp, size: int) -> Image.Image:
    """The stamp's text, transparent around it."""
    font = _font(size)
    left, top, right, bottom = font.getbbox(stamp.line)
    pad = size // 4
    mark = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    ImageDraw.Draw(mark).text((pad - left, pad - top), stamp.line, font=font, fill=_INK)
    return mark


def watermark_image(image: Image.Image, stamp: Stamp) -> Image.Image:
    """One page image with the stamp drawn across it, twice, tilted."""
    base = image.convert("RGBA")
    mark = _mark_image(stamp, max(12, base.width // 28)).rotate(30, expand=True)
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    for y in (base.height // 6, base.height // 2):
        layer.alpha_composite(
            mark, (max(0, (base.width - mark.width) // 2), min(y, max(0, base.height - mark.height)))
        )
    return Image.alpha_composite(base, layer).convert("RGB")


def watermark_pdf(path: Path, stamp: Stamp) -> bytes:
    """The PDF with the stamp on every page (an image object and a text line); the original untouched."""
    mark = _mark_image(stamp, 48)
    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(path)
        try:
            font = pdfium_c.FPDFText_LoadStandardFont(document, b"Helvetica")
            for index in range(len(document)):
                page = document[index]
                try:
                    _stamp_page(document, page, mark, font, stamp)
                finally:
                    page.close()
            out = io.BytesIO()
            document.save(out)
            return out.getvalue()
        finally:
            document.close()


def _stamp_page(
    document: pdfium.PdfDocument, page: pdfium.PdfPage, mark: Image.Image, font: object, stamp: Stamp
) -> None:
    width, height = page.get_size()
    image = pdfium.PdfImage.new(document)
    image.set_bitmap(pdfium.PdfBitmap.from_pil(mark))
    shown = width * 0.8
    image.set_matrix(
        pdfium.PdfMatrix()
        .scale(shown, shown * mark.height / mark.width)
        .rotate(-30)
        .translate(width * 0.12, height * 0.3)
    )
    page.insert_obj(image)
    text = pdfium_c.FPDFPageObj_CreateTextObj(document, font, 8.0)
    encoded = ctypes.create_string_buffer((stamp.ascii_line + "\0").encode("utf-16-le"))
    pdfium_c.FPDFText_SetText(text, ctypes.cast(encoded, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_SetFillColor(text, 200, 0, 0, 170)
    pdfium_c.FPDFPageObj_Transform(text, 1, 0, 0, 1, 18, 12)
    pdfium_c.FPDFPage_InsertObject(page, text)
    page.gen_content()


def watermark_file(path: Path, media_type: str, stamp: Stamp) -> bytes:
    """The bytes a borrower downloads: every page or frame marked, in the original's format."""
    if media_type == "application/pdf":
        return watermark_pdf(path, stamp)
    with Image.open(path) as source:
        frames = [watermark_image(frame.copy(), stamp) for frame in ImageSequence.Iterator(source)]
        fmt = source.format or "PNG"
    out = io.BytesIO()
    if fmt == "TIFF" and len(frames) > 1:
        frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")
    else:
        frames[0].save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()

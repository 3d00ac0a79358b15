"""The business licence's QR code: whether one can be read, and the host it points to.

Every licence issued since the 2016 reform carries a QR code that opens the licence's record
on the national enterprise credit information system (国家企业信用信息公示系统). A scan
without a readable code, or with one pointing elsewhere, is worth a second look; it is an
authenticity hint, never the credit code (which is read from the print and its check
character).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import zxingcpp

from ingest.extraction.page_image import RENDER_ERRORS, render_page, renders
from ingest.fields.model import FieldValue

logger = logging.getLogger(__name__)

_DPI = 200  # QR modules of a licence are ~0.5 mm: 4 pixels each at 200 dpi, plenty to decode
_MAX_PAGES = 2


@dataclass(frozen=True)
class QrReading:
    """What the licence's QR code says: its host (None when no code could be read)."""

    host: str | None
    value: FieldValue | None


def read_licence_qr(path: Path, media_type: str, pages: list[int]) -> QrReading:
    """The first QR code with a web address found on the document's first pages."""
    if not renders(media_type):
        # A licence kept as a Word or OFD file: no page image to look for a code in.
        return QrReading(None, None)
    for number in pages[:_MAX_PAGES]:
        try:
            image, _dpi = render_page(path, media_type, number, _DPI)
        except RENDER_ERRORS as error:
            logger.warning("QR: page %d of %s cannot be rendered: %s", number, path.name, error)
            continue
        for code in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
            host = (urlsplit(code.text.strip()).hostname or "").lower()
            if not host:
                continue
            corners = [code.position.top_left, code.position.top_right, code.position.bottom_right,
                       code.position.bottom_left]
            box = (
                round(min(point.x for point in corners) / image.width, 4),
                round(min(point.y for point in corners) / image.height, 4),
                round(max(point.x for point in corners) / image.width, 4),
                round(max(point.y for point in corners) / image.height, 4),
            )
            raw = code.text.strip()[:200]
            return QrReading(host, FieldValue(value=host, page=number, raw=raw, method="qr", box=box))
    return QrReading(None, None)

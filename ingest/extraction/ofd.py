"""OFD text (GB/T 33190-2016) with ofdkit, and the data an e-invoice (数电发票) carries.

ofdkit was chosen by measurement on OFD files built like the tax bureau's (README, OFD):
exact text and every invoice field from CustomDatas or from the custom tags alone, in
milliseconds, reading only the parts it needs. Before it runs, the package is checked here:
its declared unzipped size (the DOCX limit, against zip bombs), and every location inside
it, since an OFD that points outside its own package (a URL, a file path, `..`) would make
its text depend on something that is not archived.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

import ofdkit
from lxml import etree

from archive.file_facts import ofd_member
from ingest.extraction.model import (
    ExtractedPage,
    Extraction,
    ExtractionError,
    ExtractionLimits,
    PageDone,
)

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
# Elements and attributes of GB/T 33190 that hold a location inside the package.
_LOCATION_TAGS = {
    "DocRoot",
    "Signatures",
    "PublicRes",
    "DocumentRes",
    "Attachments",
    "CustomTags",
    "Annotations",
    "FileLoc",
    "MediaFile",
    "Extensions",
    "Versions",
    "SignedValue",
}
_LOCATION_ATTRIBUTES = {"BaseLoc", "ResourceLoc", "FileLoc"}
_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")


def extract_ofd(path: Path, limits: ExtractionLimits, on_page: PageDone | None) -> Extraction:
    """Every page's text in reading order; e-invoice fields in `embedded` when it is one."""
    _check_package(path, limits)
    try:
        with ofdkit.open(path) as document:
            pages = []
            for number, page in enumerate(document.pages, start=1):
                pages.append(ExtractedPage(number=number, text=page.text().strip(), source="text"))
                if on_page is not None:
                    on_page(number)
            invoice = document.invoice()
    except ofdkit.OFDLimitError as error:
        raise ExtractionError("zip_bomb", f"OFD 部件超过大小上限: {error} (OFD part too large)") from error
    except ofdkit.OFDError as error:
        raise _corrupt(str(error)) from error
    if not pages:
        raise _corrupt("没有页面 (no pages)")
    if len(pages) > limits.max_pages:
        raise ExtractionError(
            "too_many_pages", f"OFD 共 {len(pages)} 页，超过上限 {limits.max_pages} 页 (too many pages)"
        )
    return Extraction(pages=pages, embedded=_invoice_fields(invoice) if invoice else {})


def _corrupt(detail: str) -> ExtractionError:
    return ExtractionError("corrupt", f"OFD 文件损坏或不是 OFD 文档: {detail} (corrupt OFD)")


def _check_package(path: Path, limits: ExtractionLimits) -> None:
    """Refuse a zip bomb from the central directory alone, and any location outside the package."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            inflated = sum(member.file_size for member in members)
            if inflated > limits.max_docx_inflated_bytes:
                raise ExtractionError(
                    "zip_bomb",
                    f"OFD 解压后共 {inflated} 字节，超过上限 {limits.max_docx_inflated_bytes} 字节"
                    " (OFD inflates beyond the limit)",
                )
            names = {member.filename for member in members}
            if "OFD.xml" not in names:
                raise _corrupt("缺少 OFD.xml (no OFD.xml)")
            for member in members:
                if member.filename.lower().endswith(".xml"):
                    _check_locations(
                        archive.read(member), PurePosixPath(member.filename).parent, member.filename
                    )
    except zipfile.BadZipFile as error:
        raise _corrupt(str(error)) from error


def _check_locations(xml: bytes, base: PurePosixPath, member: str) -> None:
    try:
        root = etree.fromstring(xml, _XML_PARSER)
    except etree.XMLSyntaxError as error:
        raise _corrupt(f"{member}: {error}") from error
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        locations = [value for name, value in element.attrib.items() if name in _LOCATION_ATTRIBUTES]
        if etree.QName(element).localname in _LOCATION_TAGS and element.text:
            locations.append(element.text.strip())
        for location in locations:
            # Locations are relative to the part that names them, or to the package root.
            if location and ofd_member(base, location) is None:
                raise ExtractionError(
                    "external_reference",
                    f"OFD 引用了包外的资源 {location[:120]}（{member}），内容不完整，四性检测 GD-2-7"
                    " 内容数据完整性检测未通过 (the OFD refers to a resource outside its package)",
                )


def _invoice_fields(invoice: ofdkit.Invoice) -> dict[str, str]:
    """The e-invoice's own data, in the archive's field names."""
    buyer, seller = invoice.buyer, invoice.seller
    found = {
        "invoice_no": invoice.invoice_number,
        "invoice_code": invoice.invoice_code,
        "issued_on": invoice.issue_date,
        "amount": _amount(invoice.total_amount),
        "amount_without_tax": _amount(invoice.amount_without_tax),
        "tax_amount": _amount(invoice.tax_amount),
        "buyer_name": buyer.name if buyer else None,
        "buyer_tax_id": buyer.tax_id if buyer else None,
        "seller_name": seller.name if seller else None,
        "seller_tax_id": seller.tax_id if seller else None,
    }
    return {name: value.strip() for name, value in found.items() if isinstance(value, str) and value.strip()}


def _amount(value: object) -> str | None:
    if value is None:
        return None
    match = _AMOUNT.search(str(value).replace(",", ""))
    return f"{float(match.group(0)):.2f}" if match else None

"""What a stored original says about itself: type by content, size, pages (declared and
loadable), creation metadata, electronic signatures, encryption and compression.

Read at intake and again by every re-check; the 四性检测 compares the two (真实性) and judges
the file's usability from them. Nothing here trusts the file: sizes are checked before
anything is inflated, XML is parsed without entities or network.
"""

from __future__ import annotations

import ctypes
import threading
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from lxml import etree
from PIL import Image

from archive.filetypes import OFD_MEDIA_TYPE, sniff
from archive.storage import file_digests

# PDFium is not thread-safe (see ingest/extraction/pdf.py); the web's page images and the
# re-check may run beside each other in one process.
PDFIUM_LOCK = threading.Lock()
_PUBLIC_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
OFD_NAMESPACE = "http://www.ofdspec.org/2016"


def inspect_file(
    path: Path, *, max_inflated_bytes: int = 200 * 1024 * 1024, pdf_page_counts: tuple[int, int] | None = None
) -> dict[str, Any]:
    """The facts of one file; `problems` lists what could not be read, never raises on bad input.

    `pdf_page_counts`: (declared, loadable) as PDFium just found them reading this PDF's
    pages (the worker's extraction), so that they are not loaded a second time here.
    """
    facts: dict[str, Any] = {"size": path.stat().st_size, "problems": []}
    kind = sniff(path)
    facts["media_type"] = kind.media_type if kind else None
    try:
        if kind is None:
            facts["problems"].append("无法识别的文件类型 (unrecognised content)")
        elif kind.media_type == "application/pdf":
            facts.update(_pdf_facts(path, pdf_page_counts))
        elif kind.media_type == OFD_MEDIA_TYPE:
            facts.update(_ofd_facts(path, max_inflated_bytes))
        elif kind.media_type.startswith("image/"):
            facts.update(_image_facts(path))
        else:
            facts.update(_zip_facts(path, max_inflated_bytes))
    except Exception as exc:  # a hostile file: what it is, is itself the finding
        facts["problems"].append(
            f"无法读取文件结构 (cannot read the file's structure): {type(exc).__name__}: {exc}"
        )
    return facts


def facts_of_file(
    path: Path, *, max_inflated_bytes: int, pdf_page_counts: tuple[int, int] | None = None
) -> dict[str, Any]:
    """What a check needs of one file, computable anywhere (a pool process too): its facts
    and both digests."""
    sha256, sm3, _size = file_digests(path)
    return {
        **inspect_file(path, max_inflated_bytes=max_inflated_bytes, pdf_page_counts=pdf_page_counts),
        "sha256": sha256,
        "sm3": sm3,
        "stored": True,
    }


def _pdf_facts(path: Path, page_counts: tuple[int, int] | None = None) -> dict[str, Any]:
    with PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as error:
            if error.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
                return {"encrypted": True, "pages_declared": None}
            return {"problems": [f"PDF 无法打开 (PDF cannot be opened): {error}"], "pages_declared": None}
        try:
            encrypted = pdfium_c.FPDF_GetSecurityHandlerRevision(document) != -1
            declared = len(document)
            # Loading every page again was a sixth of the worker's CPU on a 200-page text PDF
            # (bench/, text pages/second); counts of another page tree are not these.
            if page_counts is not None and page_counts[0] == declared:
                loadable = page_counts[1]
            else:
                loadable = _loadable_pages(document, declared)
            metadata = document.get_metadata_dict(skip_empty=True)
            signatures = _pdf_signatures(document)
        finally:
            document.close()
    return {
        "encrypted": encrypted,
        "pages_declared": declared,
        "pages_loadable": loadable,
        "created": metadata.get("CreationDate"),
        "modified": metadata.get("ModDate"),
        "producer": metadata.get("Producer") or metadata.get("Creator"),
        "signatures": signatures,
    }


def _loadable_pages(document: pdfium.PdfDocument, declared: int) -> int:
    loadable = 0
    for index in range(declared):
        try:
            document[index].close()
            loadable += 1
        except pdfium.PdfiumError:
            pass
    return loadable


def _pdf_signatures(document: pdfium.PdfDocument) -> list[dict[str, Any]]:
    """Each signature's filter, time and reason: detected and reported, not validated."""
    found = []
    for index in range(pdfium_c.FPDF_GetSignatureCount(document)):
        signature = pdfium_c.FPDF_GetSignatureObject(document, index)
        found.append(
            {
                "sub_filter": _pdfium_bytes(pdfium_c.FPDFSignatureObj_GetSubFilter, signature),
                "time": _pdfium_bytes(pdfium_c.FPDFSignatureObj_GetTime, signature),
                "contents_bytes": pdfium_c.FPDFSignatureObj_GetContents(signature, None, 0),
            }
        )
    return found


def _pdfium_bytes(function: Any, handle: Any) -> str | None:
    length = function(handle, None, 0)
    if length <= 0:
        return None
    buffer = ctypes.create_string_buffer(length)
    function(handle, buffer, length)
    return buffer.raw[: length - 1].decode("latin-1", "replace") or None


def _zip_members(path: Path, max_inflated_bytes: int) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    archive = zipfile.ZipFile(path)
    members = archive.infolist()
    inflated = sum(member.file_size for member in members)
    facts: dict[str, Any] = {
        "inflated_bytes": inflated,
        "encrypted": any(member.flag_bits & 0x1 for member in members),
        "compression": sorted({member.compress_type for member in members}),
        "non_public_compression": sorted({member.compress_type for member in members} - _PUBLIC_ZIP_METHODS),
    }
    if inflated > max_inflated_bytes:
        archive.close()
        raise ValueError(
            f"解压后 {inflated} 字节，超过上限 {max_inflated_bytes} 字节 (inflates beyond the limit)"
        )
    return archive, facts


def _zip_facts(path: Path, max_inflated_bytes: int) -> dict[str, Any]:
    archive, facts = _zip_members(path, max_inflated_bytes)
    with archive:
        if "docProps/core.xml" in archive.namelist() and not facts["encrypted"]:
            core = etree.fromstring(archive.read("docProps/core.xml"), _XML_PARSER)
            facts["created"] = _first_text(core, "{http://purl.org/dc/terms/}created")
            facts["modified"] = _first_text(core, "{http://purl.org/dc/terms/}modified")
            facts["producer"] = _first_text(core, "{http://purl.org/dc/elements/1.1/}creator")
    facts["pages_declared"] = 1
    facts["pages_loadable"] = 1
    return facts


def _first_text(root: etree._Element, tag: str) -> str | None:
    element = root.find(f".//{tag}")
    return element.text.strip() if element is not None and element.text else None


def ofd_member(base: PurePosixPath, location: str) -> str | None:
    """A location inside an OFD package as a member name; None when it points outside it
    (a URL, an absolute file path, or `..` past the package root)."""
    if not location or "://" in location or location.startswith(("\\\\", "file:")) or ":" in location[:3]:
        return None
    target = PurePosixPath(location.replace("\\", "/"))
    joined = target if location.startswith("/") else base / target
    parts: list[str] = []
    for part in joined.parts:
        if part in ("/", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts) or None


def _ofd_facts(path: Path, max_inflated_bytes: int) -> dict[str, Any]:
    archive, facts = _zip_members(path, max_inflated_bytes)
    with archive:
        names = set(archive.namelist())
        root = etree.fromstring(archive.read("OFD.xml"), _XML_PARSER)
        ns = {"ofd": OFD_NAMESPACE}
        facts["created"] = root.findtext(".//ofd:DocInfo/ofd:CreationDate", namespaces=ns)
        facts["modified"] = root.findtext(".//ofd:DocInfo/ofd:ModDate", namespaces=ns)
        facts["producer"] = root.findtext(".//ofd:DocInfo/ofd:Creator", namespaces=ns)
        declared = 0
        loadable = 0
        signatures: list[dict[str, Any]] = []
        for body in root.findall("ofd:DocBody", ns):
            doc_root = body.findtext("ofd:DocRoot", namespaces=ns) or ""
            member = ofd_member(PurePosixPath(""), doc_root)
            if member is None or member not in names:
                facts["problems"].append(
                    f"文档根节点无效 (DocRoot outside the package or missing): {doc_root}"
                )
                continue
            document = etree.fromstring(archive.read(member), _XML_PARSER)
            base = PurePosixPath(member).parent
            for page in document.findall(".//ofd:Pages/ofd:Page", ns):
                declared += 1
                page_member = ofd_member(base, page.get("BaseLoc", ""))
                if page_member is not None and page_member in names:
                    loadable += 1
            signs = body.findtext("ofd:Signatures", namespaces=ns)
            signs_member = ofd_member(PurePosixPath(""), signs) if signs else None
            if signs_member and signs_member in names:
                signatures += _ofd_signatures(archive, names, signs_member)
        facts.update(pages_declared=declared, pages_loadable=loadable, signatures=signatures)
    return facts


def _ofd_signatures(archive: zipfile.ZipFile, names: set[str], member: str) -> list[dict[str, Any]]:
    ns = {"ofd": OFD_NAMESPACE}
    listing = etree.fromstring(archive.read(member), _XML_PARSER)
    base = PurePosixPath(member).parent
    found = []
    for signature in listing.findall("ofd:Signature", ns):
        location = ofd_member(base, signature.get("BaseLoc", ""))
        entry: dict[str, Any] = {"type": signature.get("Type") or "Seal", "location": location}
        if location and location in names:
            detail = etree.fromstring(archive.read(location), _XML_PARSER)
            entry["provider"] = (
                detail.find(".//ofd:Provider", ns).get("ProviderName")
                if detail.find(".//ofd:Provider", ns) is not None
                else None
            )
            entry["method"] = detail.findtext(".//ofd:SignatureMethod", namespaces=ns)
            entry["time"] = detail.findtext(".//ofd:SignatureDateTime", namespaces=ns)
        found.append(entry)
    return found


def _image_facts(path: Path) -> dict[str, Any]:
    with Image.open(path) as image:
        frames = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
        compression = image.info.get("compression")
        exif = image.getexif()
        created = exif.get(0x0132)  # DateTime
        producer = exif.get(0x0131)  # Software
        return {
            "pages_declared": frames,
            "pages_loadable": frames,
            "encrypted": False,
            "compression": [compression] if compression else [],
            "non_public_compression": [],
            "created": str(created) if created else None,
            "producer": str(producer) if producer else None,
        }

"""What an upload is, judged by its bytes; the name and the declared type only have to agree."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from archive.errors import UnsupportedFile


@dataclass(frozen=True)
class FileKind:
    media_type: str
    label: str
    extensions: frozenset[str]


PDF = FileKind("application/pdf", "PDF", frozenset({".pdf"}))
DOCX = FileKind(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "Word (DOCX)",
    frozenset({".docx"}),
)
PNG = FileKind("image/png", "PNG 图像", frozenset({".png"}))
JPEG = FileKind("image/jpeg", "JPEG 图像", frozenset({".jpg", ".jpeg"}))
TIFF = FileKind("image/tiff", "TIFF 图像", frozenset({".tif", ".tiff"}))
# GB/T 33190-2016 版式文档: a ZIP package whose entry point OFD.xml is an ofd:OFD element.
OFD_MEDIA_TYPE = "application/ofd"
OFD = FileKind(OFD_MEDIA_TYPE, "OFD 版式文档", frozenset({".ofd"}))
SUPPORTED = (PDF, OFD, DOCX, PNG, JPEG, TIFF)
_BY_EXTENSION = {ext: kind for kind in SUPPORTED for ext in kind.extensions}
_BY_MEDIA_TYPE = {kind.media_type: kind for kind in SUPPORTED}
SUPPORTED_LABEL = "PDF、OFD、DOCX、PNG、JPEG、TIFF"


def sniff(path: Path) -> FileKind | None:
    """The kind of a file by its bytes alone, or None."""
    return _sniff(path)


def _sniff(path: Path) -> FileKind | None:
    with path.open("rb") as stream:
        head = stream.read(1024)
    # PDF readers accept the header anywhere in the first kilobyte.
    if b"%PDF-" in head:
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    return None


def _zip_kind(path: Path) -> FileKind | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "OFD.xml" in names:
                return OFD if _is_ofd_entry(archive.open("OFD.xml").read(4096)) else None
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        return None
    if "[Content_Types].xml" in names and "word/document.xml" in names:
        return DOCX
    return None


def _is_ofd_entry(head: bytes) -> bool:
    """OFD.xml opens with an ofd:OFD root element in the OFD namespace."""
    return b"http://www.ofdspec.org/2016" in head and b"OFD" in head


def _describe_foreign(path: Path) -> str:
    with path.open("rb") as stream:
        head = stream.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "HTML 网页"
    if head.startswith(b"<?xml") or b"<svg" in head:
        return "XML/SVG"
    if head.startswith(b"pk\x03\x04"):
        return "ZIP 压缩包"
    if head.startswith(b"gif8"):
        return "GIF 图像"
    return "无法识别的内容"


def identify_upload(path: Path, *, filename: str | None, declared_media_type: str | None) -> FileKind:
    """The file's kind from its bytes; refuses what is empty, unsupported or disguised."""
    if path.stat().st_size == 0:
        raise UnsupportedFile("文件为空 (the file is empty)")
    kind = _sniff(path)
    extension = PurePath(filename or "").suffix.lower()
    if kind is None and extension == ".ofd":
        raise UnsupportedFile(
            "不是有效的 OFD 文件：包中没有 OFD 入口文件 OFD.xml，四性检测 GD-3-3 内容数据格式检测未通过，"
            "文件未保存 (not an OFD package: no OFD.xml entry; format check GD-3-3 failed, nothing kept)"
        )
    if kind is None:
        raise UnsupportedFile(
            f"不支持的文件类型：{_describe_foreign(path)}；只接受 {SUPPORTED_LABEL}"
            f" (unsupported file type; accepted: PDF, OFD, DOCX, PNG, JPEG, TIFF)"
        )
    claimed_by_name = _BY_EXTENSION.get(extension)
    if extension and claimed_by_name is not kind:
        raise UnsupportedFile(
            f"文件内容是 {kind.label}，与文件扩展名 {extension} 不符"
            f" (content is {kind.media_type}, which does not match the extension {extension})"
        )
    claimed_by_header = _BY_MEDIA_TYPE.get((declared_media_type or "").split(";")[0].strip())
    if claimed_by_header is not None and claimed_by_header is not kind:
        raise UnsupportedFile(
            f"文件内容是 {kind.label}，与声明的类型 {declared_media_type} 不符"
            f" (content is {kind.media_type}, declared as {declared_media_type})"
        )
    return kind

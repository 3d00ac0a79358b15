"""`partner-archive import DIR`: a directory through the pipeline stages, searchable at the end."""

from __future__ import annotations

from sqlalchemy import select

from archive.db import make_engine, make_session_factory
from archive.models import AuditEntry, Document
from archive.schemas import Confidentiality, DocType
from ingest.bulk_import import ImportOptions, import_directory
from tests import samples


def test_a_directory_is_recorded_extracted_and_searchable(
    tmp_path, settings, client, make_caller, create_partner
) -> None:
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    archive = tmp_path / "archive"
    (archive / "contract").mkdir(parents=True)
    samples.text_pdf(archive / "contract" / "采购合同.pdf", [samples.CONTRACT_TEXT])
    samples.docx_file(archive / "技术服务协议.docx", ["技术服务协议", "乙方提供离心水泵的安装调试服务。"])
    samples.scan_image(archive / "营业执照.png", samples.LICENCE_TEXT, dpi=200, page_inches=(8.27, 5.0))
    (archive / "说明.txt").write_text("not a document", encoding="utf-8")
    (archive / "副本.pdf").write_bytes((archive / "contract" / "采购合同.pdf").read_bytes())
    (archive / ".hidden.pdf").write_bytes(b"%PDF-1.4 ignored")

    options = ImportOptions(partner=partner["archive_no"], doc_type=DocType.other,
                            confidentiality=Confidentiality.internal, user="chen.dang", jobs=1)
    report = import_directory(settings, archive, options)
    again = import_directory(settings, archive, options)

    assert (report.indexed, report.duplicates, report.failed) == (3, 1, [])
    assert [name for name, _why in report.skipped] == ["说明.txt"]
    assert report.ocr_pages == 1
    assert (again.indexed, again.duplicates) == (0, 4)

    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        documents = {doc.original_filename: doc for doc in session.scalars(select(Document))}
        uploads = session.scalars(select(AuditEntry).where(AuditEntry.action == "upload")).all()
    engine.dispose()
    assert {name: doc.status for name, doc in documents.items()} == {
        "采购合同.pdf": "indexed", "技术服务协议.docx": "indexed", "营业执照.png": "indexed"
    }
    # The type comes from a directory named after it, else from --doc-type.
    assert documents["采购合同.pdf"].doc_type == "contract"
    assert documents["技术服务协议.docx"].doc_type == "other"
    assert len(uploads) == 3 and all(entry.details["import"] for entry in uploads)

    buyer = make_caller("zhang.wei", departments="采购部")
    found = client.get("/api/v1/search", params={"q": "离心水泵"}, headers=buyer.headers).json()
    assert {hit["title"] for hit in found["hits"]} == {"采购合同", "技术服务协议"}

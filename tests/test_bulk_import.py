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
    # Numbers are taken as a block per batch: consecutive, none lost, none twice.
    assert sorted(doc.archive_no.rsplit("-", 1)[1] for doc in documents.values()) == ["0001", "0002", "0003"]

    buyer = make_caller("zhang.wei", departments="采购部")
    found = client.get("/api/v1/search", params={"q": "离心水泵"}, headers=buyer.headers).json()
    assert {hit["title"] for hit in found["hits"]} == {"采购合同", "技术服务协议"}


def test_the_import_leaves_the_index_refreshing_and_refuses_without_a_search_engine(
    tmp_path, settings, es, create_partner
) -> None:
    import pytest

    from archive.search_index import documents_alias
    from ingest.bulk_import import ImportAborted
    from tests.conftest import _free_port

    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    archive = tmp_path / "archive"
    archive.mkdir()
    samples.text_pdf(archive / "采购合同.pdf", [samples.CONTRACT_TEXT])
    options = ImportOptions(partner=partner["id"], doc_type=DocType.contract,
                            confidentiality=Confidentiality.internal, user="chen.dang", jobs=1)

    nowhere = settings.model_copy(update={"es_url": f"http://127.0.0.1:{_free_port()}"})
    with pytest.raises(ImportAborted, match="搜索引擎不可用"):
        import_directory(nowhere, archive, options)
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        assert session.scalars(select(Document)).all() == []
    engine.dispose()

    report = import_directory(settings, archive, options)
    assert report.indexed == 1
    # Periodic refresh was off during the import; the index's own setting is back.
    index_settings = es.indices.get_settings(index=documents_alias(settings.es_index_prefix)).body
    assert all("refresh_interval" not in body["settings"]["index"] for body in index_settings.values())

"""`partner-archive import DIR`: a directory through the pipeline stages, searchable at the end."""

from __future__ import annotations

import pytest
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
    # Titled from what was read, as uploads without a title are.
    assert {hit["title"] for hit in found["hits"]} == {"采购合同 HT-2026-0042", "技术服务协议"}


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


def test_the_import_command_reads_partners_and_types_from_the_directories(
    tmp_path, settings, client, make_caller, create_partner
) -> None:
    from tests.test_resilience import run_cli

    minjiang = create_partner("福建省闽江供应链管理有限公司", "采购部")
    haisi = create_partner("泉州海丝贸易有限公司", "销售部", kind="customer")
    archive = tmp_path / "archive"
    # DIR/<partner, by archive number or id>/<type>/files, and files straight under a partner.
    (archive / minjiang["archive_no"] / "contract").mkdir(parents=True)
    (archive / haisi["id"]).mkdir(parents=True)
    samples.text_pdf(archive / minjiang["archive_no"] / "contract" / "采购合同.pdf", [samples.CONTRACT_TEXT])
    samples.docx_file(archive / haisi["id"] / "来往函件.docx", ["来往函件", "关于年度销售返利的函，请贵司核对。"])
    (archive / haisi["id"] / "说明.txt").write_text("不是档案文件", encoding="utf-8")

    result = run_cli(settings, "import", str(archive), "--doc-type", "other", "--user", "chen.dang", "--jobs", "1")
    assert "imported 2 documents (2 pages, 0 by OCR)" in result.stdout
    assert "0 duplicates, 1 skipped, 0 failed" in result.stdout
    assert f"skipped {haisi['id']}/说明.txt" in result.stderr

    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    found = {
        hit["title"]: hit
        for q in ("离心水泵", "销售返利")
        for hit in client.get("/api/v1/search", params={"q": q}, headers=office.headers).json()["hits"]
    }
    # Titled from what was read, as an upload without a 题名 is (the file name is only a fallback).
    assert {title: (hit["partner_id"], hit["doc_type"], hit["department"]) for title, hit in found.items()} == {
        "采购合同 HT-2026-0042": (minjiang["id"], "contract", "采购部"),
        "关于年度销售返利的函": (haisi["id"], "other", "销售部"),
    }
    document = client.get(f"/api/v1/documents/{found['采购合同 HT-2026-0042']['id']}", headers=office.headers).json()
    assert (document["status"], document["uploaded_by"]) == ("indexed", "chen.dang")


@pytest.mark.filterwarnings("ignore::elasticsearch.exceptions.GeneralAvailabilityWarning")  # the task list
def test_an_interrupted_import_is_finished_by_a_worker(tmp_path, settings, es, client, make_caller, create_partner) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time
    from datetime import UTC, datetime
    from pathlib import Path

    from archive.search_index import documents_alias
    from tests.reliability.processes import service_env, wait_for, worker_process

    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    archive = tmp_path / "archive"
    archive.mkdir()
    for n in range(3):
        samples.text_pdf(archive / f"采购合同{n}.pdf", [f"{samples.CONTRACT_TEXT}\n补充条款第{n}条"])
    alias = documents_alias(settings.es_index_prefix)
    (index,) = es.indices.get_alias(name=alias)
    # The engine holds the import's bulk write (a replica this single node cannot host), so the
    # import is killed with every file recorded, leased to it and its text kept, none indexed.
    es.indices.put_settings(index=index, settings={"number_of_replicas": 1, "write.wait_for_active_shards": "all"})
    env = service_env(settings, PARTNER_ARCHIVE_LEASE_SECONDS="3", PARTNER_ARCHIVE_ES_REQUEST_TIMEOUT="300")
    command = [str(Path(sys.executable).with_name("partner-archive")), "import", str(archive),
               "--partner", partner["id"], "--doc-type", "contract", "--jobs", "1"]
    try:
        with (tmp_path / "import.log").open("wb") as log:
            importer = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)

        def bulk_write_held() -> bool:
            tasks = es.tasks.list(actions="indices:data/write/bulk*", detailed=True).body
            return any(f"[{index}]" in task.get("description", "")
                       for node in tasks["nodes"].values() for task in node["tasks"].values())

        wait_for(bulk_write_held, timeout=180, what="the import's bulk write")
        os.killpg(importer.pid, signal.SIGKILL)
        importer.wait(timeout=30)
        documents = _documents(settings)
        assert [(d.status, d.pages, d.uploaded_by) for d in documents] == [("processing", 1, "import")] * 3
    finally:
        es.indices.put_settings(index=index, settings={"number_of_replicas": 0, "write.wait_for_active_shards": None})

    leased = settings.model_copy(update={"lease_seconds": 3})
    lease_ends = max(d.lease_expires_at for d in documents)
    time.sleep(max(0.0, (lease_ends - datetime.now(UTC)).total_seconds()) + 0.5)
    with worker_process(leased, tmp_path / "worker.log"):
        wait_for(lambda: all(d.status == "indexed" for d in _documents(settings)), timeout=300,
                 what="the worker to finish the import")
    buyer = make_caller("zhang.wei", departments="采购部")
    found = client.get("/api/v1/search", params={"q": "补充条款"}, headers=buyer.headers).json()
    # Each titled from what was read (the same contract number in all three).
    assert sorted(hit["title"] for hit in found["hits"]) == ["采购合同 HT-2026-0042"] * 3
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 3


def _documents(settings) -> list[Document]:  # type: ignore[no-untyped-def]
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        documents = list(session.scalars(select(Document).order_by(Document.original_filename)))
        session.expunge_all()
    engine.dispose()
    return documents


def test_an_import_keeps_and_checks_each_document_as_the_worker_would(
    tmp_path, settings, client, upload, run_worker, make_caller, create_partner
) -> None:
    """The import keeps a batch's text with one flush and judges its intake checks on lookups
    fetched for the whole batch: the records and check items are those of one at a time."""
    from archive.checks import CheckInput, evaluate, record_lookups, stored_facts
    from archive.models import DestructionRecord, DocumentCheck, ReviewItem
    from archive.storage import OriginalStore

    importer = create_partner("福建省闽江供应链管理有限公司", "采购部")
    uploader = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    archive = tmp_path / "archive"
    (archive / "business_license").mkdir(parents=True)
    (archive / "contract").mkdir()
    # A licence without its credit code and expiry: unread fields go to the review queue.
    licence = samples.docx_file(archive / "business_license" / "营业执照.docx",
                                ["营业执照", "名称 福建省闽江供应链管理有限公司", "类型 有限责任公司"])
    samples.text_pdf(archive / "business_license" / "营业执照副本.pdf", [samples.LICENCE_TEXT])
    for n in range(3):
        samples.text_pdf(archive / "contract" / f"采购合同{n}.pdf", [f"{samples.CONTRACT_TEXT}\n补充条款第{n}条"])
    options = ImportOptions(partner=importer["id"], doc_type=DocType.other,
                            confidentiality=Confidentiality.internal, user="chen.dang", jobs=1)
    report = import_directory(settings, archive, options)
    assert (report.indexed, report.failed, report.skipped) == (5, [], [])

    engine = make_engine(settings.resolved_database_url)
    store = OriginalStore(settings.originals_dir)
    with make_session_factory(engine)() as session:
        imported = list(session.scalars(select(Document).where(Document.partner_id == importer["id"])))

        def judged_alone(document: Document, **lookups: object) -> list[tuple[str, str, str]]:
            facts = stored_facts(store, document.sha256, max_inflated_bytes=settings.max_inflated_mb * 1024 * 1024)
            items = evaluate(session, document, settings=settings, stage="intake", given=CheckInput(facts), **lookups)
            return [(item.code, item.result, item.evidence) for item in items]

        for document in imported:
            (check,) = session.scalars(select(DocumentCheck).where(DocumentCheck.document_id == document.id))
            assert check.run_id == report.check_run
            assert [(item["code"], item["result"], item["evidence"]) for item in check.items] == judged_alone(
                document
            ), document.original_filename

        # A code also held by a destroyed document is found so in a batch too.
        first = imported[0]
        session.add(DestructionRecord(
            request_id="r1", document_id="d1", archive_no="x", partner_id=importer["id"], partner_name="x",
            doc_type=first.doc_type, title="x", confidentiality="internal", department="采购部",
            original_filename="x.pdf", sha256="0" * 64, uploaded_at=first.created_at,
            archival_code=first.archival_code, reason="测试", requested_by="a", approved_by="b", executed_by="c",
            executed_at=first.created_at,
        ))
        lookups = record_lookups(session, imported)
        assert lookups.code_counts[first.archival_code] == 2
        for document in imported:
            assert judged_alone(document, lookups=lookups) == judged_alone(document)
        assert ("GD-1-8", "fail") in [(code, result) for code, result, _ in judged_alone(first, lookups=lookups)]
        session.rollback()

    # The same licence uploaded for another partner and read by the worker: the same record.
    office = make_caller("wang.fang", roles="archivist", clearance="confidential")
    response = upload(office, licence, partner_id=uploader["id"], doc_type="business_license")
    assert response.status_code == 202, response.text
    run_worker()
    with make_session_factory(engine)() as session:
        imported_licence = session.scalars(
            select(Document).where(Document.partner_id == importer["id"], Document.original_filename == "营业执照.docx")
        ).one()
        uploaded = session.scalars(select(Document).where(Document.partner_id == uploader["id"])).one()

        def kept(document: Document) -> tuple:
            items = session.scalars(select(ReviewItem).where(ReviewItem.document_id == document.id))
            return (document.status, document.title, document.pages, document.fields, document.field_problems,
                    sorted((item.field, item.kind, item.reason) for item in items),
                    [(page.number, page.text, page.source) for page in document.page_texts])

        assert kept(imported_licence) == kept(uploaded)
        assert "credit_code" in imported_licence.field_problems
    engine.dispose()


def test_a_batch_that_cannot_be_recorded_leaves_no_original_behind(tmp_path, settings, create_partner) -> None:
    """The originals are copied before the batch's transaction; if it fails they are taken back."""
    from sqlalchemy import update

    from archive.models import ArchiveSequence

    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    samples.text_pdf(first / "采购合同.pdf", [samples.CONTRACT_TEXT])
    for n in range(3):
        samples.text_pdf(second / f"补充协议{n}.pdf", [f"{samples.CONTRACT_TEXT}\n补充条款第{n}条"])
    options = ImportOptions(partner=partner["id"], doc_type=DocType.contract,
                            confidentiality=Confidentiality.internal, user="chen.dang", jobs=1)
    assert import_directory(settings, first, options).indexed == 1

    engine = make_engine(settings.resolved_database_url)
    # The 档号 sequence set back: the next batch's first code is taken, and its insert fails.
    with make_session_factory(engine)() as session:
        session.execute(update(ArchiveSequence).where(ArchiveSequence.key.startswith("item:")).values(last_value=0))
        session.commit()
    with pytest.raises(Exception, match="UNIQUE|unique|duplicate"):
        import_directory(settings, second, options)
    with make_session_factory(engine)() as session:
        assert [doc.original_filename for doc in session.scalars(select(Document))] == ["采购合同.pdf"]
    engine.dispose()
    stored = [path for path in settings.originals_dir.rglob("*") if path.is_file() and ".staging" not in path.parts]
    assert len(stored) == 1


def test_a_file_that_cannot_be_read_stays_on_record_failed_and_checked(tmp_path, settings, create_partner) -> None:
    """A reading failure is written (failed, with its intake check) while other batches are kept."""
    from archive.models import DocumentCheck

    partner = create_partner("泉州海丝贸易有限公司", "采购部")
    archive = tmp_path / "archive"
    archive.mkdir()
    samples.encrypted_pdf(archive / "加密合同.pdf")
    samples.text_pdf(archive / "采购合同.pdf", [samples.CONTRACT_TEXT])
    options = ImportOptions(partner=partner["id"], doc_type=DocType.contract,
                            confidentiality=Confidentiality.internal, user="chen.dang", jobs=1)
    report = import_directory(settings, archive, options)
    assert report.indexed == 1 and len(report.failed) == 1 and report.checks_failed == 1

    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        documents = {doc.original_filename: doc for doc in session.scalars(select(Document))}
        failed = documents["加密合同.pdf"]
        (check,) = session.scalars(select(DocumentCheck).where(DocumentCheck.document_id == failed.id))
    engine.dispose()
    assert (failed.status, failed.error_reason, failed.check_status) == ("failed", "encrypted", "failed")
    assert documents["采购合同.pdf"].status == "indexed"
    assert check.run_id == report.check_run
    assert {item["code"]: item["result"] for item in check.items}["GD-3-6"] == "fail"

"""Faults injected into the real stack: nothing lost, nothing doubled, nothing stuck."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from archive.elasticsearch_node import LocalNode, default_distribution_dir
from archive.models import AuditEntry, Document
from archive.search_index import documents_alias
from archive.settings import Settings
from search_api.app import create_app
from tests.conftest import _free_port
from tests.reliability.processes import (
    api_process,
    as_seen_by,
    kill_group,
    on_a_small_disk,
    wait_for,
    worker_process,
)
from tests.samples import CONTRACT_TEXT, LICENCE_TEXT, scanned_pdf, text_pdf
from tests.test_resilience import run_cli


def _documents(settings: Settings) -> list[Document]:
    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(Document)))
        session.expunge_all()
    engine.dispose()
    return rows


def _one(settings: Settings, document_id: str) -> Document:
    return next(d for d in _documents(settings) if d.id == document_id)


def _index_count(settings: Settings) -> int:
    es = Elasticsearch(settings.effective_es_url)
    alias = documents_alias(settings.es_index_prefix)
    es.indices.refresh(index=alias)
    count = es.count(index=alias)["count"]
    es.close()
    return count


@pytest.fixture
def short_lease(settings: Settings) -> Settings:
    return settings.model_copy(update={"lease_seconds": 3})


def _upload(client: TestClient, caller, path: Path, partner_id: str, doc_type: str = "contract") -> str:  # type: ignore[no-untyped-def]
    with path.open("rb") as stream:
        response = client.post(
            "/api/v1/documents",
            files={"file": (path.name, stream, "application/octet-stream")},
            data={"partner_id": partner_id, "doc_type": doc_type, "confidentiality": "internal"},
            headers=caller.headers,
        )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _tesseract_running_under(worker: subprocess.Popen[bytes]) -> bool:
    """Whether a Tesseract process of the worker's process group is reading a page now."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            command, _, rest = stat.read_text().partition(" (")[2].rpartition(") ")
        except OSError:
            continue  # gone meanwhile
        if command == "tesseract" and int(rest.split()[2]) == worker.pid:
            return True
    return False


def _index_write_held(es: Elasticsearch, index: str) -> bool:
    """Whether the engine holds a write to `index` (waiting for its shard copies to be active)."""
    tasks = es.tasks.list(actions="indices:data/write/*", detailed=True).body
    return any(
        f"[{index}]" in task.get("description", "")
        for node in tasks["nodes"].values()
        for task in node["tasks"].values()
    )


def _restart_when_leases_run_out(settings: Settings, log: Path) -> list[Document]:
    """A new worker once the dead one's lease has run out (it takes that up at its start);
    returns the documents once all are indexed."""
    lease_ends = max(d.lease_expires_at for d in _documents(settings) if d.lease_expires_at)
    time.sleep(max(0.0, (lease_ends - datetime.now(UTC)).total_seconds()) + 0.5)
    with worker_process(settings, log):
        wait_for(
            lambda: all(d.status == "indexed" for d in _documents(settings)),
            timeout=300,
            what="every document indexed after the restart",
        )
    return _documents(settings)


def test_worker_killed_mid_ocr_loses_and_doubles_nothing(
    tmp_path, short_lease, client, make_caller, create_partner
) -> None:
    # What is tested (the lease runs out, the job is taken up again, one record, one index entry)
    # does not depend on the recogniser; Tesseract gives the moment to kill at, a process of its
    # own reading a page, and its orphans are what killing the worker's group must also end.
    # PP-OCR reads inside the worker's process, where killing the worker is killing the engine.
    settings = short_lease.model_copy(update={"ocr_engine": "tesseract"})
    buyer = make_caller("zhang.wei", departments="采购部")
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    log = tmp_path / "worker.log"
    scan = scanned_pdf(tmp_path / "两页扫描件.pdf", [LICENCE_TEXT] * 2, dpi=200)
    scanned_id = _upload(client, buyer, scan, partner["id"], "other")
    with worker_process(settings, log) as worker:
        wait_for(lambda: _tesseract_running_under(worker), timeout=120, what="Tesseract to read the scan")
        kill_group(worker)  # with its Tesseract processes
    scanned = _one(settings, scanned_id)
    assert (scanned.status, scanned.pages, scanned.attempts) == ("processing", None, 1)

    (document,) = _restart_when_leases_run_out(settings, log)
    assert (document.id, document.attempts, document.pages, document.ocr_pages) == (scanned_id, 2, 2, 2)
    indexed = _index_count(settings)
    assert indexed == 1
    hits = client.get("/api/v1/search", params={"q": "鼓楼区"}, headers=buyer.headers).json()["hits"]
    assert [hit["id"] for hit in hits] == [scanned_id]


@pytest.mark.filterwarnings("ignore::elasticsearch.exceptions.GeneralAvailabilityWarning")  # the task list
def test_worker_killed_mid_indexing_loses_and_doubles_nothing(
    tmp_path, short_lease, client, es, make_caller, create_partner
) -> None:
    settings = short_lease
    buyer = make_caller("zhang.wei", departments="采购部")
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    log = tmp_path / "worker.log"
    # The engine holds every write to this test's index, waiting for a replica that a single
    # node can never host; the worker's client waits longer still, so only the kill ends it.
    alias = documents_alias(settings.es_index_prefix)
    (index,) = es.indices.get_alias(name=alias)
    es.indices.put_settings(
        index=index, settings={"number_of_replicas": 1, "write.wait_for_active_shards": "all"}
    )
    try:
        contract_id = _upload(client, buyer, text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT]), partner["id"])
        with worker_process(settings, log, PARTNER_ARCHIVE_ES_REQUEST_TIMEOUT="300") as worker:
            wait_for(lambda: _index_write_held(es, index), timeout=120, what="the worker's index write")
            kill_group(worker)
        contract = _one(settings, contract_id)
        assert (contract.status, contract.pages, contract.attempts) == ("processing", 1, 1)  # text kept
        assert not es.exists(index=alias, id=contract_id)
    finally:
        es.indices.put_settings(
            index=index, settings={"number_of_replicas": 0, "write.wait_for_active_shards": None}
        )

    (document,) = _restart_when_leases_run_out(settings, log)
    assert (document.id, document.attempts, document.pages) == (contract_id, 2, 1)
    indexed = _index_count(settings)
    assert indexed == 1
    hits = client.get("/api/v1/search", params={"q": "离心水泵"}, headers=buyer.headers).json()["hits"]
    assert [hit["id"] for hit in hits] == [contract_id]


@pytest.fixture
def own_node():  # type: ignore[no-untyped-def]
    """A node of this test's own, so that stopping it harms no other test."""
    home = Path(tempfile.mkdtemp(prefix="partner-archive-outage-es-"))
    home.chmod(0o755)
    node = LocalNode(
        home=home,
        distribution_dir=default_distribution_dir(),
        http_port=_free_port(),
        transport_port=_free_port(),
        heap_mb=384,
    )
    node.start()
    yield node
    node.stop()
    shutil.rmtree(home, ignore_errors=True)


def test_search_engine_outage_queues_uploads_and_indexes_them_when_it_returns(
    tmp_path, settings, own_node, make_caller
) -> None:
    settings = settings.model_copy(update={"es_url": own_node.url})
    buyer = make_caller("zhang.wei", departments="采购部")
    archivist = make_caller("chen.dang", roles="archivist", clearance="confidential")
    log = tmp_path / "worker.log"
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as client,
        worker_process(settings, log),
    ):
        partner = client.post(
            "/api/v1/partners",
            json={"name": "厦门鹭岛机电设备有限公司", "kind": "supplier", "department": "采购部"},
            headers=archivist.headers,
        ).json()
        before = _upload(client, buyer, text_pdf(tmp_path / "a.pdf", [CONTRACT_TEXT]), partner["id"])
        wait_for(lambda: _one(settings, before).status == "indexed", timeout=60, what="first document")

        own_node.stop()
        during = [
            _upload(
                client,
                buyer,
                text_pdf(tmp_path / f"b{n}.pdf", [f"停机期间上传的采购合同第{n}份"]),
                partner["id"],
            )
            for n in range(3)
        ]
        search = client.get("/api/v1/search", params={"q": "采购合同"}, headers=buyer.headers)
        assert search.status_code == 503
        assert "搜索服务暂时不可用" in search.json()["detail"]
        health = client.get("/api/v1/healthz").json()
        assert health["checks"]["elasticsearch"].startswith("down")

        own_node.start()
        wait_for(
            lambda: all(_one(settings, d).status == "indexed" for d in during),
            timeout=150,
            interval=1,
            what="queued uploads to be indexed after the outage",
        )
        found = client.get("/api/v1/search", params={"q": "停机期间"}, headers=buyer.headers).json()
        assert {hit["id"] for hit in found["hits"]} == set(during)


def _open_files(process: subprocess.Popen[bytes]) -> set[Path]:
    descriptors = Path(f"/proc/{process.pid}/fd")
    return {Path(os.readlink(fd)) for fd in descriptors.iterdir() if fd.is_symlink()}


def test_api_killed_mid_upload_leaves_nothing_half_kept(
    tmp_path, settings, create_partner, make_caller
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    pdf = text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT])
    size = pdf.stat().st_size
    staging = settings.originals_dir / ".staging"
    holder = create_engine(settings.resolved_database_url)
    lock = holder.connect()

    def send() -> None:
        try:
            httpx.post(
                f"{url}/api/v1/documents",
                files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")},
                data={"partner_id": partner["id"], "doc_type": "contract", "confidentiality": "internal"},
                headers=buyer.headers,
                timeout=120,
            )
        except httpx.HTTPError:
            pass  # the server dies under it

    with api_process(settings, tmp_path / "api.log") as (api, url):
        # The record cannot be written while this is held: the upload stops inside the step
        # that records it, after its bytes were staged, hashed and identified.
        lock.exec_driver_sql("BEGIN IMMEDIATE")
        sender = threading.Thread(target=send)
        sender.start()

        def written_whole_and_closed() -> list[Path]:
            whole = [p for p in settings.originals_dir.rglob("*") if p.is_file() and p.stat().st_size == size]
            return whole if whole and not set(whole) & _open_files(api) else []

        (written,) = wait_for(written_whole_and_closed, timeout=60, what="the upload's bytes on disk")
        kill_group(api)
        sender.join()
    lock.rollback()
    lock.close()
    holder.dispose()

    assert _documents(settings) == []
    # Only in staging: nothing was moved into the store for a record that does not exist.
    assert [p for p in settings.originals_dir.rglob("*") if p.is_file()] == [written]
    assert written.parent == staging
    staged = written
    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "upload")).all() == []
    engine.dispose()

    # An hour later the API restarts: a killed process's staging file is cleared, while a
    # fresh one (another API's upload in flight on a shared store) is left alone.
    an_hour_ago = time.time() - 3601
    os.utime(staged, (an_hour_ago, an_hour_ago))
    in_flight = staging / "upload-in-flight"
    in_flight.write_bytes(b"%PDF-1.7\n")
    with api_process(settings, tmp_path / "api.log") as (_api, url):
        assert sorted(staging.iterdir()) == [in_flight]
        in_flight.unlink()
        report = run_cli(settings, "check")
        assert report.returncode == 0, report.stdout
        again = httpx.post(
            f"{url}/api/v1/documents",
            files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")},
            data={"partner_id": partner["id"], "doc_type": "contract", "confidentiality": "internal"},
            headers=buyer.headers,
            timeout=60,
        )
    assert again.status_code == 202, again.text
    assert [d.id for d in _documents(settings)] == [again.json()["id"]]


def test_twenty_concurrent_uploads_of_the_same_file_make_one_document(
    tmp_path, settings, create_partner, make_caller
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    pdf = text_pdf(tmp_path / "同一份合同.pdf", [CONTRACT_TEXT]).read_bytes()
    with api_process(settings, tmp_path / "api.log") as (_api, url):
        barrier = threading.Barrier(20)

        def send(_n: int) -> httpx.Response:
            barrier.wait()
            return httpx.post(
                f"{url}/api/v1/documents",
                files={"file": ("同一份合同.pdf", pdf, "application/pdf")},
                data={"partner_id": partner["id"], "doc_type": "contract", "confidentiality": "internal"},
                headers=buyer.headers,
                timeout=60,
            )

        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(send, range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [202], [
        (r.status_code, r.text[:150]) for r in responses
    ]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(_documents(settings)) == 1


def test_disk_full_is_a_clear_507_and_the_service_goes_on(tmp_path, settings, make_caller) -> None:
    archivist = make_caller("chen.dang", roles="archivist", clearance="confidential")
    settings.originals_dir.mkdir(parents=True)
    try:
        small_disk = on_a_small_disk(settings.originals_dir, "3m")
    except RuntimeError as exc:
        pytest.fail(str(exc))  # a missing prerequisite fails; it never skips
    with api_process(settings, tmp_path / "api.log", inside=small_disk) as (api, url):
        originals = as_seen_by(api, settings.originals_dir)
        assert shutil.disk_usage(originals).total <= 3 * 1024 * 1024  # the API's own small disk
        partner = httpx.post(
            f"{url}/api/v1/partners",
            json={"name": "磁盘测试客商", "kind": "supplier", "department": "采购部"},
            headers=archivist.headers,
        ).json()
        filler = originals / "filler"
        filler.write_bytes(b"\0" * (2 * 1024 * 1024 + 900 * 1024))
        big = tmp_path / "扫描合同.pdf"
        big.write_bytes(b"%PDF-1.7\n" + os.urandom(600 * 1024))

        def send() -> httpx.Response:
            return httpx.post(
                f"{url}/api/v1/documents",
                files={"file": ("扫描合同.pdf", big.read_bytes(), "application/pdf")},
                data={"partner_id": partner["id"], "doc_type": "contract", "confidentiality": "internal"},
                headers=archivist.headers,
                timeout=60,
            )

        refused = send()
        assert refused.status_code == 507, refused.text
        assert "存储空间已满" in refused.json()["detail"]
        assert [p.name for p in originals.rglob("*") if p.is_file()] == ["filler"]
        assert _documents(settings) == []
        assert httpx.get(f"{url}/api/v1/healthz").status_code == 200

        filler.unlink()  # space returns
        accepted = send()
        assert accepted.status_code == 202, accepted.text
        stored = [p.name for p in originals.rglob("*") if p.is_file()]
    assert [d.id for d in _documents(settings)] == [accepted.json()["id"]]
    assert stored == [_documents(settings)[0].sha256]
    # Nothing of the small disk was ever on the host's view of the directory.
    assert list(settings.originals_dir.iterdir()) == []

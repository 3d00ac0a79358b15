"""Faults injected into the real stack: nothing lost, nothing doubled, nothing stuck."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from archive.elasticsearch_node import LocalNode, default_distribution_dir
from archive.models import Document
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


def test_worker_killed_mid_ocr_and_mid_indexing_loses_and_doubles_nothing(
    tmp_path, short_lease, client, make_caller, create_partner
) -> None:
    settings = short_lease
    buyer = make_caller("zhang.wei", departments="采购部")
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    scan = scanned_pdf(tmp_path / "六页扫描件.pdf", [LICENCE_TEXT] * 6, dpi=300)
    scanned_id = _upload(client, buyer, scan, partner["id"], "business_license")
    log = tmp_path / "worker.log"

    with worker_process(settings, log) as worker:
        wait_for(lambda: _one(settings, scanned_id).status == "processing", timeout=60, what="OCR to start")
        kill_group(worker)  # SIGKILL in the middle of OCR
    assert _one(settings, scanned_id).status == "processing"

    # Mid-indexing: the text is kept, the index write not yet confirmed.
    killed_while_indexing = None
    for attempt in range(5):
        pdf = text_pdf(tmp_path / f"合同{attempt}.pdf", [f"{CONTRACT_TEXT}\n补充条款第{attempt}条"])
        document_id = _upload(client, buyer, pdf, partner["id"])
        with worker_process(settings, log) as worker:

            def kept_text(document_id: str = document_id) -> bool:
                document = _one(settings, document_id)
                return document.pages is not None or document.status in ("indexed", "failed")

            wait_for(kept_text, timeout=120, interval=0.01, what="text to be kept")
            kill_group(worker)
        if _one(settings, document_id).status == "processing":
            killed_while_indexing = document_id
            break
    assert killed_while_indexing, "could not catch the worker between keeping text and indexing"

    with worker_process(settings, log):
        wait_for(
            lambda: all(d.status == "indexed" for d in _documents(settings)),
            timeout=180,
            what="every document indexed after the restart",
        )
    documents = _documents(settings)
    assert _one(settings, scanned_id).attempts == 2
    assert _index_count(settings) == len(documents)
    assert not any(d.status == "processing" for d in documents)


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


def test_api_killed_mid_upload_leaves_nothing_half_kept(
    tmp_path, settings, create_partner, make_caller
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    with api_process(settings, tmp_path / "api.log") as (api, url):
        host, port = url.removeprefix("http://").split(":")
        boundary = "partnerarchiveboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="partner_id"\r\n\r\n{partner["id"]}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="doc_type"\r\n\r\ncontract\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="confidentiality"\r\n\r\ninternal\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
        ).encode()
        total = len(head) + 8 * 1024 * 1024
        with socket.create_connection((host, int(port))) as connection:
            connection.sendall(
                f"POST /api/v1/documents HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {buyer.token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n".encode()
                + head
            )
            for _ in range(40):  # 2.5 MB of an 8 MB body, then the server dies
                connection.sendall(b"0" * 65536)
            kill_group(api)
    assert _documents(settings) == []
    assert [p for p in settings.originals_dir.rglob("*") if p.is_file() and ".staging" not in p.parts] == []
    from tests.test_resilience import run_cli

    report = run_cli(settings, "check")
    assert report.returncode == 0, report.stdout


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

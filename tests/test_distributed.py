"""The scaled-out configuration on real engines: PostgreSQL as the record, Redis as the queue.

Same code as the embedded default; only PARTNER_ARCHIVE_DATABASE_URL and QUEUE_URL differ.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from archive.audit import verify_chain
from archive.db import make_engine, make_session_factory
from archive.jobs import JobQueue
from archive.migrate import upgrade_database
from archive.models import AuditEntry
from ingest.worker import attach, build_context
from search_api.app import create_app
from tests.engines import postgres_server, postgres_url, redis_server, redis_url  # noqa: F401 (fixtures)
from tests.samples import CONTRACT_TEXT, docx_file, text_pdf


def test_postgres_and_redis_run_the_same_service(
    tmp_path, settings, postgres_url, redis_url, make_caller  # noqa: F811
) -> None:
    scaled = settings.model_copy(update={"database_url": postgres_url, "queue_url": redis_url})
    upgrade_database(scaled.resolved_database_url)
    upgrade_database(scaled.resolved_database_url)  # idempotent, as every process start runs it
    buyer = make_caller("zhang.wei", departments="采购部")
    archivist = make_caller("chen.dang", roles="archivist", clearance="confidential")
    with TestClient(create_app(scaled), raise_server_exceptions=False) as client:
        assert client.get("/api/v1/healthz").json()["checks"] == {
            "database": "ok", "elasticsearch": "ok", "queue": "ok"
        }
        partner = client.post("/api/v1/partners", json={"name": "福建省闽江供应链管理有限公司", "kind": "supplier",
                                                        "department": "采购部"}, headers=archivist.headers).json()
        assert partner["archive_no"].startswith("GYS-")
        ids = []
        for path in (text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT]),
                     docx_file(tmp_path / "技术服务协议.docx", ["技术服务协议", "服务内容：仓储管理系统年度运维。"])):
            with path.open("rb") as stream:
                response = client.post(
                    "/api/v1/documents", files={"file": (path.name, stream, "application/octet-stream")},
                    data={"partner_id": partner["id"], "doc_type": "contract", "confidentiality": "internal"},
                    headers=buyer.headers,
                )
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])

        queue = JobQueue(scaled)
        assert queue.pending() == 2  # the messages are in Redis
        attach(queue, build_context(scaled), scaled)
        while (task := queue.huey.dequeue()) is not None:
            queue.huey.execute(task)

        for document_id in ids:
            assert client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers).json()["status"] == "indexed"
        found = client.get("/api/v1/search", params={"q": "仓储管理系统"}, headers=buyer.headers).json()
        assert [hit["id"] for hit in found["hits"]] == [ids[1]]
        contract = client.get(f"/api/v1/documents/{ids[0]}", headers=buyer.headers).json()
        assert contract["fields"]["contract_no"] == "HT-2026-0042"

    with make_session_factory(make_engine(postgres_url))() as session:
        report = verify_chain(session)
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions == ["partner_create", "upload", "upload", "view", "view", "search", "view"]
    assert report.intact and report.entries == len(actions)


def test_healthz_is_503_naming_the_database_or_the_queue_while_it_is_down(
    settings, postgres_server, redis_server  # noqa: F811 (the fixtures imported above)
) -> None:
    scaled = settings.model_copy(update={"database_url": postgres_server.url, "queue_url": redis_server.url})
    upgrade_database(scaled.resolved_database_url)
    with TestClient(create_app(scaled), raise_server_exceptions=False) as client:

        def health() -> tuple[int, dict[str, str]]:
            response = client.get("/api/v1/healthz")
            return response.status_code, response.json()["checks"]

        everything = {"database": "ok", "elasticsearch": "ok", "queue": "ok"}
        assert health() == (200, everything)
        redis_server.stop()
        try:
            status, checks = health()
        finally:
            redis_server.start()
        assert (status, checks["database"], checks["elasticsearch"]) == (503, "ok", "ok")
        assert checks["queue"].startswith("down: ")
        assert health() == (200, everything)

        postgres_server.stop()
        try:
            status, checks = health()
        finally:
            postgres_server.start()
        assert (status, checks["queue"], checks["elasticsearch"]) == (503, "ok", "ok")
        assert checks["database"].startswith("down: ")
        assert health() == (200, everything)

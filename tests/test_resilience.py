"""The search engine down, a worker gone mid-job, a rebuilt index: nothing lost or doubled."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from archive.jobs import JobQueue
from archive.models import Document, DocumentCheck
from archive.search_index import documents_alias, ensure_index
from archive.settings import Settings
from ingest.pipeline import requeue_abandoned
from ingest.worker import attach, build_context
from search_api.app import create_app
from tests.conftest import _free_port
from tests.samples import CONTRACT_TEXT, text_pdf


def _down(settings: Settings) -> Settings:
    """The same service pointed at an address where no search engine answers."""
    return settings.model_copy(update={"es_url": f"http://127.0.0.1:{_free_port()}"})


def _status(settings: Settings, document_id: str) -> Document:
    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session:
        document = session.get(Document, document_id)
        assert document is not None
        session.expunge(document)
    engine.dispose()
    return document


def test_engine_down_refuses_search_keeps_uploads_and_indexes_them_later(
    tmp_path, settings, make_caller, create_partner, client, run_worker
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    outage = _down(settings)
    with TestClient(create_app(outage), raise_server_exceptions=False) as down:
        health = down.get("/api/v1/healthz")
        assert health.status_code == 503
        assert health.json()["checks"]["elasticsearch"].startswith("down")
        assert health.json()["checks"]["database"] == "ok"

        search = down.get("/api/v1/search", params={"q": "采购合同"}, headers=buyer.headers)
        assert search.status_code == 503
        assert "搜索服务暂时不可用" in search.json()["detail"]
        assert "Traceback" not in search.text

        pdf = text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT])
        with pdf.open("rb") as stream:
            accepted = down.post(
                "/api/v1/documents",
                files={"file": ("采购合同.pdf", stream, "application/pdf")},
                data={"partner_id": partner["id"], "doc_type": "contract", "confidentiality": "internal"},
                headers=buyer.headers,
            )
        assert accepted.status_code == 202
    document_id = accepted.json()["id"]

    # A worker that cannot reach the engine extracts, then gives the job back.
    queue = JobQueue(outage)
    attach(queue, build_context(outage), outage)
    task = queue.huey.dequeue()
    queue.huey.execute(task)
    waiting = _status(settings, document_id)
    assert waiting.status == "queued"
    assert waiting.check_status is None  # judged once indexed, not for an attempt given back
    assert waiting.pages == 1
    assert waiting.attempts == 0
    assert queue.huey.scheduled_count() == 1  # the queue's own retry, not a lost job

    # The engine is back: the sweep and the retry deliver it; nobody acts.
    _age_record(settings, document_id)
    assert (
        requeue_abandoned(
            build_context(settings),
            enqueue=JobQueue(settings).enqueue_document,
            stale_after=timedelta(seconds=60),
        )
        == 1
    )
    run_worker()
    assert _status(settings, document_id).status == "indexed"
    found = client.get("/api/v1/search", params={"q": "采购合同"}, headers=buyer.headers).json()
    assert [hit["id"] for hit in found["hits"]] == [document_id]


def _age_record(settings: Settings, document_id: str, **values: object) -> None:
    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session:
        session.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(updated_at=datetime.now(UTC) - timedelta(hours=1), **values)
        )
        session.commit()
    engine.dispose()


def test_a_job_abandoned_mid_way_is_taken_up_again_and_indexed_once(
    tmp_path, settings, es, make_caller, create_partner, upload, run_worker
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    document_id = upload(
        buyer, text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT]), partner_id=partner["id"]
    ).json()["id"]
    queue = JobQueue(settings)
    assert queue.huey.dequeue() is not None  # the message a killed worker took with it
    # ...and the record that worker left: processing, its lease run out.
    _age_record(
        settings,
        document_id,
        status="processing",
        attempts=1,
        lease_expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )

    ctx = build_context(settings)
    assert requeue_abandoned(ctx, enqueue=queue.enqueue_document, stale_after=timedelta(minutes=5)) == 1
    run_worker()
    document = _status(settings, document_id)
    assert (document.status, document.attempts) == ("indexed", 2)
    es.indices.refresh(index=documents_alias(settings.es_index_prefix))
    count = es.count(index=documents_alias(settings.es_index_prefix))["count"]
    assert count == 1


def test_a_document_whose_worker_dies_every_time_is_parked_as_failed(
    tmp_path, settings, make_caller, create_partner, upload, run_worker
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    document_id = upload(
        buyer, text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT]), partner_id=partner["id"]
    ).json()["id"]
    _age_record(
        settings,
        document_id,
        status="processing",
        attempts=settings.max_attempts,
        lease_expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    run_worker()
    document = _status(settings, document_id)
    assert document.status == "failed"
    assert document.error_reason == "gave_up"
    assert "retry" in (document.error or "")


def test_reindex_rebuilds_from_the_record_and_switches_the_alias(
    tmp_path, settings, es, client, make_caller, create_partner, upload, run_worker
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    document_id = upload(
        buyer, text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT]), partner_id=partner["id"]
    ).json()["id"]
    run_worker()
    alias = documents_alias(settings.es_index_prefix)
    before = list(es.indices.get_alias(name=alias))

    result = run_cli(settings, "reindex")
    assert "reindexed 1 documents" in result.stdout

    after = list(es.indices.get_alias(name=alias))
    assert len(after) == 1 and after != before
    assert not es.indices.exists(index=before[0])
    found = client.get("/api/v1/search", params={"q": "离心水泵"}, headers=buyer.headers).json()
    assert [hit["id"] for hit in found["hits"]] == [document_id]


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `partner-archive` command, configured through the environment alone."""
    env = {
        **os.environ,
        "PARTNER_ARCHIVE_DATA_DIR": str(settings.data_dir),
        "PARTNER_ARCHIVE_ES_URL": settings.effective_es_url,
        "PARTNER_ARCHIVE_ES_INDEX_PREFIX": settings.es_index_prefix,
    }
    command = [str(Path(sys.executable).with_name("partner-archive")), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return result


def test_a_token_from_the_command_line_is_accepted_by_the_service(settings, client, make_caller) -> None:
    minted = run_cli(
        settings,
        "token",
        "--sub",
        "wang.fang",
        "--roles",
        "staff,compliance",
        "--departments",
        "采购部,财务部",
        "--clearance",
        "secret",
        "--ttl",
        "1h",
    ).stdout.strip()
    claims = jwt.decode(minted, settings.jwt_secret.get_secret_value(), algorithms=["HS256"])
    assert {key: claims[key] for key in ("sub", "roles", "departments", "clearance")} == {
        "sub": "wang.fang",
        "roles": ["staff", "compliance"],
        "departments": ["采购部", "财务部"],
        "clearance": "secret",
    }
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - datetime.now(UTC).timestamp()) < 120
    # The service reads the same claims: compliance sees every department's partners.
    other = client.post(
        "/api/v1/partners",
        json={"name": "泉州海丝贸易有限公司", "kind": "customer", "department": "销售部"},
        headers=make_caller("chen.dang", roles="archivist", clearance="secret").headers,
    ).json()
    response = client.get("/api/v1/partners", headers={"Authorization": f"Bearer {minted}"})
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["items"]] == [other["id"]]


def test_healthz_is_200_when_everything_answers(client) -> None:
    response = client.get("/api/v1/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "elasticsearch": "ok", "queue": "ok"}


def test_readyz_is_200_when_engines_answer_and_the_schema_is_current(client) -> None:
    response = client.get("/api/v1/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "elasticsearch": "ok", "queue": "ok"},
    }


def test_readyz_is_503_while_the_schema_lags_behind_the_code(settings, client) -> None:
    from alembic import command

    from archive.migrate import alembic_config, head_revision

    previous = f"{int(head_revision()) - 1:04d}"
    command.stamp(alembic_config(settings.resolved_database_url), previous)
    response = client.get("/api/v1/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == f"behind: at {previous}, code expects {head_revision()}"
    # Alive all the same: the process answers, it only should not take traffic yet.
    assert client.get("/api/v1/healthz").status_code == 200


def test_readyz_is_503_when_the_search_engine_is_down(settings) -> None:
    with TestClient(create_app(_down(settings)), raise_server_exceptions=False) as down:
        response = down.get("/api/v1/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert response.json()["checks"]["elasticsearch"].startswith("down")
    assert response.json()["checks"]["migrations"] == "ok"


def test_a_search_that_only_part_of_the_index_can_answer_is_503_not_a_smaller_total(
    tmp_path, settings, es, client, make_caller, create_partner, upload, run_worker
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    assert upload(buyer, text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT]), partner_id=partner["id"]).status_code == 202
    run_worker()
    assert client.get("/api/v1/search", params={"q": "采购合同"}, headers=buyer.headers).json()["total"] == 1
    # A second index behind the alias whose only shard has no node to live on: what a
    # cluster looks like when the node holding a shard is gone and no copy took over.
    alias = documents_alias(settings.es_index_prefix)
    stranded = f"{alias}-stranded"
    es.indices.create(
        index=stranded,
        settings={"number_of_shards": 1, "number_of_replicas": 0,
                  "index.routing.allocation.require._name": "no-such-node"},
        wait_for_active_shards="0",
    )
    try:
        es.indices.update_aliases(actions=[{"add": {"index": stranded, "alias": alias}}])
        search = client.get("/api/v1/search", params={"q": "采购合同"}, headers=buyer.headers)
    finally:
        # A red index would make the shared node's health red for every later test.
        es.indices.delete(index=stranded)
    assert search.status_code == 503, search.text
    assert "搜索服务暂时不可用" in search.json()["detail"]


def test_a_cluster_named_by_several_nodes_is_searched_while_the_first_is_down(
    settings, make_caller, create_partner
) -> None:
    dead_first = f"http://127.0.0.1:{_free_port()},{settings.es_url}"
    cluster = settings.model_copy(update={"es_url": dead_first})
    buyer = make_caller("zhang.wei", departments="采购部")
    with TestClient(create_app(cluster), raise_server_exceptions=False) as client:
        for _ in range(3):
            response = client.get("/api/v1/search", params={"q": "采购合同"}, headers=buyer.headers)
            assert response.status_code == 200, response.text
        assert client.get("/api/v1/readyz").json()["checks"]["elasticsearch"] == "ok"


def test_a_write_the_engine_refuses_leaves_one_intake_check_that_of_the_failure(
    tmp_path, settings, es, make_caller, create_partner, upload, run_worker
) -> None:
    """The intake check runs while the engine writes the document, in the same transaction:
    when the write is refused, only the failure's own check is kept, never one of a document
    that was about to be indexed."""
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    pdf = text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT])
    document_id = upload(buyer, pdf, partner_id=partner["id"]).json()["id"]
    alias = documents_alias(settings.es_index_prefix)
    ensure_index(es, prefix=settings.es_index_prefix)
    es.indices.put_settings(index=alias, settings={"index.blocks.write": True})
    try:
        assert run_worker() == 1
    finally:
        es.indices.put_settings(index=alias, settings={"index.blocks.write": None})
    document = _status(settings, document_id)
    assert (document.status, document.error_reason, document.check_status) == ("failed", "internal_error", "failed")
    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session:
        checks = session.scalars(select(DocumentCheck).where(DocumentCheck.document_id == document_id)).all()
        readable = [item for item in checks[0].items if item["code"] == "GD-3-4"] if checks else []
    engine.dispose()
    assert len(checks) == 1 and not checks[0].passed
    assert [item["result"] for item in readable] == ["fail"]
    assert es.count(index=alias)["count"] == 0

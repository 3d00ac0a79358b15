"""The scaled-out configuration on real engines: PostgreSQL as the record, Redis as the queue.

Same code as the embedded default; only PARTNER_ARCHIVE_DATABASE_URL and QUEUE_URL differ.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from archive.audit import verify_chain
from archive.db import make_engine, make_session_factory
from archive.jobs import JobQueue
from archive.migrate import upgrade_database
from archive.settings import Settings
from ingest.worker import attach, build_context
from search_api.app import create_app
from tests.conftest import _free_port
from tests.samples import CONTRACT_TEXT, docx_file, text_pdf

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_service_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the Debian package brings the `postgres` user.
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 server binaries are missing: apt-get install postgresql (make test does)")
    home = Path(tempfile.mkdtemp(prefix="partner-archive-pg-"))
    home.chmod(0o755)
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(home, account.pw_uid, account.pw_gid)
    data, port = home / "data", _free_port()
    subprocess.run(_as_service_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_service_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w",
                                     "-o", f"-p {port} -k {home} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", "CREATE DATABASE archive"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/archive"
    finally:
        subprocess.run(_as_service_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: apt-get install redis-server (make test does)")
    home = Path(tempfile.mkdtemp(prefix="partner-archive-redis-"))
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home), "--appendonly", "yes",
         "--save", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() != "PONG":
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(home, ignore_errors=True)


def test_postgres_and_redis_run_the_same_service(
    tmp_path, settings, postgres_url, redis_url, make_caller
) -> None:
    scaled = settings.model_copy(update={"database_url": postgres_url, "queue_url": redis_url})
    assert isinstance(scaled, Settings)
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
    assert report.intact and report.entries >= 5

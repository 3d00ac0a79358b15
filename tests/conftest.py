"""The suite runs against a real Elasticsearch node (started here, once per session) and
real Tesseract. Each test gets its own data directory and index prefix."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from archive.auth import mint_token
from archive.elasticsearch_node import LocalNode, default_distribution_dir
from archive.jobs import JobQueue
from archive.migrate import upgrade_database
from archive.settings import Settings
from ingest.worker import attach, build_context
from search_api.app import create_app

RUN_ID = uuid.uuid4().hex[:8]
_prefix_numbers = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


TEST_NODE_PREFIX = "partner-archive-test-es-"


def _stop_nodes_of_dead_runs() -> None:
    """A run that was killed never stopped its node; stop those whose pytest is gone."""
    for home in Path(tempfile.gettempdir()).glob(f"{TEST_NODE_PREFIX}*"):
        try:
            owner = int((home / "owner.pid").read_text())
            os.kill(owner, 0)
            continue  # that run is still going
        except ProcessLookupError:
            pass  # its run is gone
        except (FileNotFoundError, ValueError):
            continue  # not ours to judge
        LocalNode(home=home, distribution_dir=default_distribution_dir()).stop()
        shutil.rmtree(home, ignore_errors=True)


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    """A run stopped by SIGTERM (a CI time limit, `kill`) unwinds as Ctrl-C does.

    Python's default for SIGTERM is to die on the spot: no fixture is torn down, and the
    Elasticsearch nodes, PostgreSQL and Redis this run started keep running after it.
    As a KeyboardInterrupt, pytest ends the session and tears every fixture down.
    """
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A skipped test proves nothing: under `make test` a missing prerequisite is a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, which this suite does not allow (install what it needs): {report.longrepr}"


RUN_INDEX_PREFIX = f"pa-test-{RUN_ID}-"


def run_index_prefix() -> str:
    """A fresh index prefix of this run: the session clean-up finds it, other runs never share it."""
    return f"{RUN_INDEX_PREFIX}{next(_prefix_numbers)}"


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """A real node: an existing one from PARTNER_ARCHIVE_TEST_ES_URL, or one started here."""
    external = os.environ.get("PARTNER_ARCHIVE_TEST_ES_URL")
    if external:
        yield external
        _delete_run_indices(external)
        return
    _stop_nodes_of_dead_runs()
    # Under /tmp, not pytest's 0700 tmp root: as root the node runs as a service user.
    home = Path(tempfile.mkdtemp(prefix=TEST_NODE_PREFIX))
    home.chmod(0o755)
    (home / "owner.pid").write_text(str(os.getpid()))
    node = LocalNode(
        home=home,
        distribution_dir=default_distribution_dir(),
        http_port=_free_port(),
        transport_port=_free_port(),
        heap_mb=512,
    )
    node.start()
    try:
        yield node.url
        strays = _indices_outside_the_run(node.url)
    finally:
        node.stop()
        shutil.rmtree(home, ignore_errors=True)
    # On the run's own node every index carries the run's prefix: one named by a test would
    # escape the clean-up on a shared node (PARTNER_ARCHIVE_TEST_ES_URL) and meet other runs there.
    assert not strays, f"indices outside the run's prefix {RUN_INDEX_PREFIX!r}: {strays}"


def _delete_run_indices(url: str) -> None:
    with Elasticsearch(url, request_timeout=30) as client:
        # Named one by one: wildcard deletes are refused on purpose.
        for name in client.indices.get(index=f"{RUN_INDEX_PREFIX}*", expand_wildcards="all"):
            client.indices.delete(index=name)


def _indices_outside_the_run(url: str) -> list[str]:
    with Elasticsearch(url, request_timeout=30) as client:
        names = client.indices.get(index="*", expand_wildcards="all").keys()
    return sorted(name for name in names if not name.startswith((".", RUN_INDEX_PREFIX)))


@pytest.fixture(scope="session")
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture
def settings(tmp_path: Path, es_url: str) -> Settings:
    data_dir = tmp_path / "data"
    settings = Settings(
        data_dir=data_dir,
        es_url=es_url,
        es_index_prefix=run_index_prefix(),
        ocr_dpi=300,
        lease_seconds=300,
    )
    data_dir.mkdir(parents=True)
    upgrade_database(settings.resolved_database_url)
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class Caller:
    """A user with a token, for readable tests: `staff_purchasing.get(client, url)`."""

    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_caller(settings: Settings):  # type: ignore[no-untyped-def]
    def make(sub: str, roles: str = "staff", departments: str = "", clearance: str = "internal") -> Caller:
        return Caller(
            mint_token(
                settings,
                sub=sub,
                roles=roles.split(","),
                departments=[d for d in departments.split(",") if d],
                clearance=clearance,
            )
        )

    return make


@contextmanager
def worker_for(settings: Settings) -> Iterator[Callable[[], int]]:
    """A worker built from `settings` that runs every job waiting in the real queue, in this
    process, until none is left."""
    queue = JobQueue(settings)
    ctx = build_context(settings)
    attach(queue, ctx, settings)

    def drain() -> int:
        executed = 0
        while (task := queue.huey.dequeue()) is not None:
            queue.huey.execute(task)
            executed += 1
        return executed

    try:
        yield drain
    finally:
        ctx.es.close()


@pytest.fixture
def run_worker(settings: Settings):  # type: ignore[no-untyped-def]
    """Run every job waiting in the real queue, in this process, until none is left."""
    with worker_for(settings) as drain:
        yield drain


@pytest.fixture
def create_partner(client: TestClient, make_caller):  # type: ignore[no-untyped-def]
    def create(name: str, department: str, kind: str = "supplier", **extra: object) -> dict:
        caller = make_caller("registrar", roles="archivist", clearance="confidential")
        response = client.post(
            "/api/v1/partners",
            json={"name": name, "kind": kind, "department": department, **extra},
            headers=caller.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    return create


@pytest.fixture
def upload(client: TestClient):  # type: ignore[no-untyped-def]
    def send(
        caller: Caller,
        path: Path,
        *,
        partner_id: str,
        doc_type: str = "contract",
        confidentiality: str = "internal",
        filename: str | None = None,
        content_type: str = "application/octet-stream",
        **form: str,
    ):  # type: ignore[no-untyped-def]
        with path.open("rb") as stream:
            return client.post(
                "/api/v1/documents",
                files={"file": (filename or path.name, stream, content_type)},
                data={
                    "partner_id": partner_id,
                    "doc_type": doc_type,
                    "confidentiality": confidentiality,
                    **form,
                },
                headers=caller.headers,
            )

    return send

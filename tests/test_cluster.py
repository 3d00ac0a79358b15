"""The scaled-out topology on one machine, with a node lost and brought back under load.

Three Elasticsearch nodes of the pinned distribution on loopback (one replica per shard),
PostgreSQL as the record, Redis as the queue, two API processes and two workers started
with the `partner-archive` command line. While scans and text PDFs are uploaded and
searches run, the node holding the primary shard is killed, the service keeps going on
the replica, and the node comes back.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from archive.auth import mint_token
from archive.db import make_engine, make_session_factory
from archive.elasticsearch_node import LocalNode, default_distribution_dir, local_cluster, start_cluster
from archive.migrate import upgrade_database
from archive.models import Document
from archive.search_index import documents_alias, ensure_index
from archive.settings import Settings
from tests.conftest import RUN_ID, _free_port
from tests.engines import postgres_server, postgres_url, redis_server, redis_url  # noqa: F401 (fixtures)
from tests.reliability.processes import wait_for
from tests.samples import scan_image, text_pdf

PARTNER_ARCHIVE = str(Path(sys.executable).with_name("partner-archive"))
# Each baseline document says 基准; nothing uploaded during the failure does, so every
# answered search for it must count exactly these.
BASELINE = 4
SCANS = 6
TEXT_PDFS = 6


@pytest.fixture(scope="module")
def cluster() -> Iterator[list[LocalNode]]:
    # Under /tmp with 0755: as root the nodes run as a service user that must reach them.
    home = Path(tempfile.mkdtemp(prefix="partner-archive-cluster-es-"))
    home.chmod(0o755)
    nodes = local_cluster(
        home,
        distribution_dir=default_distribution_dir(),
        http_ports=[_free_port() for _ in range(3)],
        transport_ports=[_free_port() for _ in range(3)],
        heap_mb=256,
    )
    try:
        start_cluster(nodes, timeout=300)
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        shutil.rmtree(home, ignore_errors=True)


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PARTNER_ARCHIVE_DATA_DIR": str(settings.data_dir),
        "PARTNER_ARCHIVE_DATABASE_URL": settings.resolved_database_url,
        "PARTNER_ARCHIVE_QUEUE_URL": settings.resolved_queue_url,
        "PARTNER_ARCHIVE_ES_URL": str(settings.es_url),
        "PARTNER_ARCHIVE_ES_REPLICAS": str(settings.es_replicas),
        "PARTNER_ARCHIVE_ES_INDEX_PREFIX": settings.es_index_prefix,
        "PARTNER_ARCHIVE_LEASE_SECONDS": str(settings.lease_seconds),
        # Two workers on two cores: one page read at a time each.
        "PARTNER_ARCHIVE_OCR_WORKERS": "1",
        "PARTNER_ARCHIVE_OCR_ENGINE": settings.ocr_engine,
        **extra,
    }


@dataclass
class Service:
    """The processes of the scaled-out service, and the API addresses to spread requests on."""

    settings: Settings
    logs: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    apis: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    numbers: Iterator[int] = field(default_factory=itertools.count)

    def start(self, command: str, **extra: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{command}-{next(self.numbers)}.log").open("ab")
        process = subprocess.Popen(
            [PARTNER_ARCHIVE, command],
            env=_env(self.settings, **self.extra_env, **extra),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start_api(self, extra: dict[str, str]) -> None:
        port = _free_port()
        self.start("serve", PARTNER_ARCHIVE_PORT=str(port), **extra)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{url}/api/v1/healthz"), timeout=90, interval=0.3, what=f"API at {url}")
        self.apis.append(url)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Searches:
    """Searches sent round-robin to the APIs until stopped: when, which status, which total."""

    apis: list[str]
    headers: dict[str, str]
    answers: list[tuple[float, int, int | None]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            for api in itertools.cycle(self.apis):
                if self.stopping.is_set():
                    return
                response = client.get(f"{api}/api/v1/search", params={"q": "基准"}, headers=self.headers)
                total = response.json().get("total") if response.status_code == 200 else None
                self.answers.append((time.monotonic(), response.status_code, total))
                time.sleep(0.05)

    def between(self, start: float, end: float) -> list[tuple[float, int, int | None]]:
        return [answer for answer in self.answers if start <= answer[0] <= end]


def _upload(api: str, headers: dict[str, str], path: Path, partner_id: str) -> str:
    with path.open("rb") as stream:
        response = httpx.post(
            f"{api}/api/v1/documents",
            files={"file": (path.name, stream, "application/octet-stream")},
            data={"partner_id": partner_id, "doc_type": "contract", "confidentiality": "internal"},
            headers=headers,
            timeout=60,
        )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _status(api: str, headers: dict[str, str], document_id: str) -> str:
    return httpx.get(f"{api}/api/v1/documents/{document_id}", headers=headers, timeout=30).json()["status"]


def _primary_node(nodes: list[LocalNode], alias: str) -> LocalNode:
    alive = next(node for node in nodes if node.is_healthy())
    shards = httpx.get(f"{alive.url}/_cat/shards/{alias}", params={"format": "json"}, timeout=10).json()
    (primary,) = [shard["node"] for shard in shards if shard["prirep"] == "p"]
    return next(node for node in nodes if node.node_name == primary)


def _cluster_status(node: LocalNode) -> str:
    return httpx.get(f"{node.url}/_cluster/health", timeout=10).json()["status"]


def test_three_node_cluster_loses_the_primary_node_under_load_and_nothing_is_lost(
    tmp_path, cluster, postgres_url, redis_url  # noqa: F811
) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="partner-archive-cluster-data-"))
    prefix = f"pa-test-{RUN_ID}-cluster"
    alias = documents_alias(prefix)
    # The index made before the services start, so that the node holding its primary (the
    # one to be killed) can be named first in their list: a client that only ever spoke to
    # the first node would lose every search while it is down.
    bootstrap = Elasticsearch([node.url for node in cluster], request_timeout=30)
    ensure_index(bootstrap, prefix=prefix, replicas=1)
    bootstrap.cluster.health(index=alias, wait_for_status="green", timeout="120s")
    bootstrap.close()
    victim = _primary_node(cluster, alias)
    others = [node for node in cluster if node is not victim]
    settings = Settings(
        data_dir=data_dir,
        database_url=postgres_url,
        queue_url=redis_url,
        es_url=",".join(node.url for node in [victim, *others]),
        es_replicas=1,
        es_index_prefix=prefix,
        lease_seconds=60,
    )
    upgrade_database(settings.resolved_database_url)
    metrics_port = _free_port()
    metrics_dir = data_dir / "metrics"
    metrics_dir.mkdir()
    buyer = {"Authorization": "Bearer " + mint_token(settings, sub="zhang.wei", roles=["staff"],
                                                      departments=["采购部"], clearance="internal")}
    archivist = {"Authorization": "Bearer " + mint_token(settings, sub="chen.dang", roles=["archivist"],
                                                          departments=[], clearance="confidential")}
    files = tmp_path / "files"
    files.mkdir()
    baseline = [text_pdf(files / f"基准{n}.pdf", [f"基准采购合同第{n}份，供货范围：离心水泵。"]) for n in range(BASELINE)]
    during = [
        scan_image(files / f"扫描件{n}.png", f"扩容测试扫描件第{n}份 仓储服务合同", dpi=200,
                   page_inches=(4.0, 1.2), noise=False)
        for n in range(SCANS)
    ] + [text_pdf(files / f"合同{n}.pdf", [f"扩容测试文本合同第{n}份，仓储服务。"]) for n in range(TEXT_PDFS)]
    # Scans and text files interleaved, so that OCR runs while the node is down.
    during = [path for pair in itertools.zip_longest(during[:SCANS], during[SCANS:]) for path in pair if path]

    # All four processes count into one directory; the first API serves the sum.
    service = Service(settings, logs=tmp_path, extra_env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    searches = None
    try:
        with ThreadPoolExecutor(max_workers=2) as starting:
            list(starting.map(service.start_api, [{"PARTNER_ARCHIVE_METRICS_PORT": str(metrics_port)}, {}]))
        service.start("worker")
        service.start("worker")
        apis = itertools.cycle(service.apis)
        partner = httpx.post(
            f"{service.apis[0]}/api/v1/partners",
            json={"name": "福州榕城仓储物流有限公司", "kind": "supplier", "department": "采购部"},
            headers=archivist, timeout=30,
        ).json()
        baseline_ids = [_upload(next(apis), buyer, path, partner["id"]) for path in baseline]
        wait_for(lambda: all(_status(service.apis[0], buyer, i) == "indexed" for i in baseline_ids),
                 timeout=120, interval=0.5, what="the baseline indexed")
        assert httpx.get(f"{cluster[0].url}/{alias}/_settings", timeout=10).json().popitem()[1][
            "settings"]["index"]["number_of_replicas"] == "1"

        searches = Searches(service.apis, buyer)
        searcher = threading.Thread(target=searches.run, daemon=True)
        searcher.start()

        assert _primary_node(cluster, alias) is victim
        during_ids = [_upload(next(apis), buyer, path, partner["id"]) for path in during[:4]]
        wait_for(lambda: len(searches.answers) >= 5, timeout=60, what="searches before the failure")
        killed_at = time.monotonic()
        victim.kill()
        survivor = others[0]
        during_ids += [_upload(next(apis), buyer, path, partner["id"]) for path in during[4:]]
        # The service keeps going on the replica: documents uploaded after the kill get indexed.
        wait_for(lambda: sum(_status(service.apis[1], buyer, i) == "indexed" for i in during_ids[4:]) >= 3,
                 timeout=180, interval=1, what="documents indexed while the node is down")
        assert _cluster_status(survivor) == "yellow"
        returned_at = time.monotonic()
        victim.start(timeout=300)
        wait_for(lambda: _cluster_status(survivor) == "green", timeout=300, interval=1,
                 what="the cluster green again")
        green_at = time.monotonic()
        wait_for(lambda: all(_status(service.apis[0], buyer, i) == "indexed" for i in during_ids),
                 timeout=300, interval=1, what="every upload indexed")
        searches.stopping.set()
        searcher.join(timeout=60)
        print(f"node down {returned_at - killed_at:.1f} s, green {green_at - returned_at:.1f} s after its return;"
              f" searches: {len(searches.answers)}, 503: {sum(s == 503 for _, s, _ in searches.answers)},"
              f" while down: {len(searches.between(killed_at, returned_at))}")

        # Searches kept answering; any that could not be served said 503, never a wrong count.
        statuses = {status for _, status, _ in searches.answers}
        assert statuses <= {200, 503}, statuses
        assert {total for _, status, total in searches.answers if status == 200} == {BASELINE}
        while_down = searches.between(killed_at, returned_at)
        assert sum(status == 200 for _, status, _ in while_down) >= 5, while_down
        assert sum(status == 200 for _, status, _ in searches.answers) >= 0.8 * len(searches.answers)

        # Nothing lost, nothing twice: one record per upload, each indexed, each once in the index.
        engine = make_engine(settings.resolved_database_url)
        with make_session_factory(engine)() as session:
            on_record = dict(session.execute(select(Document.id, Document.status)).all())
            shas = session.scalar(select(func.count(func.distinct(Document.sha256))))
            ocr_pages = session.scalar(select(func.sum(Document.ocr_pages)))
        engine.dispose()
        uploaded = baseline_ids + during_ids
        assert sorted(on_record) == sorted(uploaded)
        assert set(on_record.values()) == {"indexed"}
        assert shas == len(uploaded)
        indexed = httpx.post(f"{survivor.url}/{alias}/_search", json={"size": 100, "_source": False},
                             timeout=10).json()["hits"]
        assert indexed["total"]["value"] == len(uploaded)
        assert sorted(hit["_id"] for hit in indexed["hits"]) == sorted(uploaded)
        found = httpx.get(f"{service.apis[1]}/api/v1/search", params={"q": "扩容测试"}, headers=buyer,
                          timeout=30).json()
        assert found["total"] == len(during)

        # The metrics served by one API add up the four processes' counts.
        metrics = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(
                httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
            )
            for sample in family.samples
        }
        answered = sum(status == 200 for _, status, _ in searches.answers) + 1
        assert metrics[("partner_archive_searches_total", (("outcome", "answered"),))] == answered
        assert metrics[("partner_archive_uploads_total", (("outcome", "accepted"),))] == len(uploaded)
        assert ocr_pages >= SCANS
        assert metrics[("partner_archive_ocr_pages_total", (("source", settings.ocr_engine),))] == ocr_pages
        assert metrics[("partner_archive_documents_processed_total", (("outcome", "indexed"),))] == len(uploaded)
        assert metrics[("partner_archive_documents", (("status", "indexed"),))] == len(uploaded)
        assert metrics[("partner_archive_queue_depth", ())] == 0

        check = subprocess.run([PARTNER_ARCHIVE, "check"], env=_env(settings), capture_output=True, text=True,
                               timeout=300)
        assert check.returncode == 0, check.stdout + check.stderr
        assert f"索引条目 (index entries): {len(uploaded)}" in check.stdout
    finally:
        if searches is not None:
            searches.stopping.set()
        service.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

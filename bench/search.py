"""Search latency through the API against the same queries sent straight to Elasticsearch,
reindex against raw bulk, and the scale curve."""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive.audit import AuditWriter
from archive.db import make_engine, make_session_factory
from archive.models import Document
from archive.permissions import User
from archive.search import SearchFilters, search_documents
from archive.search_index import documents_alias, index_body
from archive.settings import Settings
from bench import archive_data
from bench.common import (
    OUT,
    VENV_BIN,
    Figure,
    api_process,
    log,
    percentile,
    prepare_data_dir,
    service_env,
    token,
)
from bench.inputs import synthetic_documents, synthetic_partners

CLIENTS = 8
# Mixed Chinese and English, words, phrases, codes and a filter or two, as staff type them.
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("采购合同", {}),
    ("离心水泵", {}),
    ("质量保证期", {}),
    ('"增值税专用发票"', {}),
    ("违约金 逾期付款", {}),
    ("供应链管理", {"doc_type": "contract"}),
    ("不可抗力", {}),
    ("保密义务", {"doc_type": "contract"}),
    ("warehouse", {}),
    ("bank transfer", {}),
    ("Supplier deliver goods", {}),
    ("安装调试 控制柜", {}),
    ("闽江", {}),
    ("GYS-2026-000042", {}),
    ("营业执照", {"doc_type": "business_license"}),
    ("人民法院", {}),
]
# (sub, roles, departments, clearance): the permission filter differs by caller.
CALLERS = [
    ("zhang.wei", "staff", "采购部", "internal"),
    ("li.na", "staff", "销售部,市场部", "secret"),
    ("wang.fang", "staff", "法务部", "confidential"),
    ("chen.jie", "compliance", "", "confidential"),
]


def _users() -> list[User]:
    return [User(sub=s, roles=frozenset(r.split(",")), departments=frozenset(d for d in ds.split(",") if d),
                 clearance=c) for s, r, ds, c in CALLERS]


class _Recorder:
    """Forwards to the real client and keeps the request body `search_documents` sends."""

    def __init__(self, es: Elasticsearch) -> None:
        self._es = es
        self.body: dict[str, Any] | None = None

    def search(self, *, index: str, **body: Any):  # type: ignore[no-untyped-def]
        self.body = body
        return self._es.search(index=index, **body)


def direct_bodies(es: Elasticsearch, prefix: str, data_dir: Path) -> list[dict[str, Any]]:
    """The exact Elasticsearch bodies the API sends, one per (caller, query) pair."""
    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings.resolved_database_url)
    recorder = _Recorder(es)
    bodies = []
    audit = AuditWriter(make_session_factory(engine))
    for user, (q, filters) in _pairs(_users()):
        search_documents(recorder, audit, prefix=prefix, user=user, q=q,  # type: ignore[arg-type]
                         filters=SearchFilters(**filters), page=1, size=20)
        bodies.append(recorder.body)
    audit.close()
    engine.dispose()
    return bodies  # type: ignore[return-value]


def _pairs(callers: list[Any]) -> list[tuple[Any, tuple[str, dict[str, str]]]]:
    return [(callers[i % len(callers)], query) for i, query in enumerate(QUERIES * len(callers))]


def _load(send, requests: int) -> list[float]:  # type: ignore[no-untyped-def]
    """`CLIENTS` threads, each sending its share of `requests`; latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = itertools.count()

    def client(_number: int) -> None:
        with httpx.Client(timeout=60) as http:
            while (n := next(counter)) < requests:
                started = time.perf_counter()
                send(http, n)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def api_sender(url: str, data_dir: Path):  # type: ignore[no-untyped-def]
    headers = [{"Authorization": "Bearer " + token(data_dir, sub=s, roles=r, departments=d, clearance=c)}
               for s, r, d, c in CALLERS]
    pairs = _pairs(headers)

    def send(http: httpx.Client, n: int) -> None:
        auth, (q, filters) = pairs[n % len(pairs)]
        response = http.get(f"{url}/api/v1/search", params={"q": q, **filters}, headers=auth)
        response.raise_for_status()

    return send


# Arguments of `es.search` that the client sends in the URL, not in the body.
_URL_PARAMETERS = ("allow_partial_search_results",)


def direct_sender(es_url: str, alias: str, bodies: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    requests = []
    for body in bodies:
        in_body = {key: value for key, value in body.items() if key not in _URL_PARAMETERS}
        in_url = {key: json.dumps(body[key]) for key in _URL_PARAMETERS if key in body}
        requests.append((json.dumps(in_body, ensure_ascii=False).encode(), in_url))

    def send(http: httpx.Client, n: int) -> None:
        content, params = requests[n % len(requests)]
        response = http.post(f"{es_url}/{alias}/_search", content=content, params=params,
                             headers={"Content-Type": "application/json"})
        response.raise_for_status()

    return send


def search_latency(es_url: str, data_dir: Path, prefix: str, runs: int, requests: int) -> tuple[list[Figure], list[float]]:
    es = Elasticsearch(es_url, request_timeout=60)
    bodies = direct_bodies(es, prefix, data_dir)
    es.close()
    env = service_env(data_dir, es_url, prefix)
    p50s, p95s, direct50, direct95 = [], [], [], []
    with api_process(env, data_dir / "api.log") as url:
        api, direct = api_sender(url, data_dir), direct_sender(es_url, documents_alias(prefix), bodies)
        _load(api, len(bodies))  # warm both paths: caches, JIT, connection pools
        _load(direct, len(bodies))
        # In turns of two rounds of every (caller, query) pair: both paths meet the same
        # moments of the machine (a background job, the node's merges), not one after the other.
        turn = 2 * len(bodies)
        turns = max(1, requests // turn)
        for run in range(runs):
            through_api, straight = [], []
            for _ in range(turns):
                through_api += _load(api, turn)
                straight += _load(direct, turn)
            p50s.append(percentile(through_api, 0.5))
            p95s.append(percentile(through_api, 0.95))
            direct50.append(percentile(straight, 0.5))
            direct95.append(percentile(straight, 0.95))
            log(f"search run {run + 1}/{runs}: API p50 {p50s[-1]:.1f} ms p95 {p95s[-1]:.1f} ms; "
                f"direct p50 {direct50[-1]:.1f} ms p95 {direct95[-1]:.1f} ms")
    command = (f"GET /api/v1/search?q=… ({len(QUERIES)} Chinese/English queries × {len(CALLERS)} callers "
               f"with different permission filters), {CLIENTS} concurrent clients, {turns * turn} requests per run, "
               f"in turns of {turn} with the reference")
    reference = ("the bodies search_documents() sends (captured from it), POSTed to /<alias>/_search, "
                 f"{CLIENTS} concurrent clients")
    return [
        Figure(name="search latency p50", unit="ms", samples=p50s, reference_samples=direct50,
               reference=reference, higher_is_better=False, target_ratio=0.87, command=command,
               note="ratio = direct / API; ≥ 0.87 means within 15% of direct"),
        Figure(name="search latency p95", unit="ms", samples=p95s, reference_samples=direct95,
               reference=reference, higher_is_better=False, target_ratio=0.87, command=command,
               note="ratio = direct / API; ≥ 0.87 means within 15% of direct"),
    ], p95s


def api_p95(es_url: str, data_dir: Path, prefix: str, requests: int) -> float:
    env = service_env(data_dir, es_url, prefix)
    with api_process(env, data_dir / "api-scale.log") as url:
        send = api_sender(url, data_dir)
        _load(send, len(QUERIES) * len(CALLERS))
        return percentile(_load(send, requests), 0.95)


def check_bodies_match(database_url: str, partners: list[dict[str, str]]) -> None:
    """The raw bulk reference must send what reindex sends: compare the first 200 documents."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        documents = session.scalars(
            select(Document).order_by(Document.id).limit(200)
            .options(selectinload(Document.page_texts), selectinload(Document.partner))
        ).all()
        mine = {doc["id"]: archive_data.body(doc) for doc in synthetic_documents(0, 200, partners)}
        for document in documents:
            if index_body(document) != mine[document.id]:
                raise AssertionError(f"raw bulk body differs from index_body for {document.id}")
    engine.dispose()


def archive_figures(es_url: str, documents: int, scale: tuple[int, int, int], runs: int, requests: int) -> list[Figure]:
    es = Elasticsearch(es_url, request_timeout=300)
    partners = synthetic_partners(2000)
    data_dir = OUT / "search" / "data"
    prepare_data_dir(data_dir)
    settings = Settings(data_dir=data_dir)
    started = time.perf_counter()
    archive_data.write_records(settings.resolved_database_url, partners, documents)
    log(f"archive: {documents} records written in {time.perf_counter() - started:.0f} s")
    check_bodies_match(settings.resolved_database_url, partners)
    prefix = f"bench-search-{time.time_ns()}"
    env = service_env(data_dir, es_url, prefix)

    reindex_rates, raw_rates = [], []
    raw_index = ""
    for run in range(runs):
        started = time.perf_counter()
        result = subprocess.run([str(VENV_BIN / "partner-archive"), "reindex"], env=env, capture_output=True,
                                text=True, check=False)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"reindex failed: {result.stdout}\n{result.stderr}")
        reindex_rates.append(documents / elapsed)
        log(f"reindex run {run + 1}/{runs}: {elapsed:.1f} s ({result.stdout.strip()})")
        prepared = list(archive_data.actions("placeholder", partners, 0, documents))
        if raw_index:
            es.indices.delete(index=raw_index)
        raw_index = f"bench-raw-{time.time_ns()}"
        for action in prepared:
            action["_index"] = raw_index
        started = time.perf_counter()
        archive_data.create_index(es, raw_index)
        archive_data.raw_bulk(es, raw_index, prepared)
        elapsed = time.perf_counter() - started
        raw_rates.append(documents / elapsed)
        del prepared
        log(f"raw bulk run {run + 1}/{runs}: {elapsed:.1f} s")
    figures = [
        Figure(name="reindex", unit="docs/s", samples=reindex_rates, reference_samples=raw_rates,
               reference="helpers.bulk (chunk 500) of the same bodies, prepared in memory beforehand, into an "
               "index with the same settings (refresh off, then on and refreshed)",
               higher_is_better=True, target_ratio=0.8,
               command=f"partner-archive reindex ({documents} documents from the SQLite record; "
               "wall time of the command, Python start-up included)")
    ]
    search_figures, p95s = search_latency(es_url, data_dir, prefix, runs=3, requests=requests)
    figures += search_figures

    # The scale curve: the API's p95 at three sizes (the middle one is the index above).
    small, middle, large = scale
    curve: dict[int, float] = {middle: min(p95s)}
    small_prefix = f"bench-scale-{time.time_ns()}"
    archive_data.create_index(es, f"{small_prefix}-index", alias=documents_alias(small_prefix))
    archive_data.raw_bulk(es, f"{small_prefix}-index", list(archive_data.actions(f"{small_prefix}-index", partners, 0, small)))
    curve[small] = api_p95(es_url, data_dir, small_prefix, requests)
    es.indices.delete(index=f"{small_prefix}-index")
    log(f"scale: p95 {curve[small]:.1f} ms at {small}")
    # The large one grows the raw reference index (the first `middle` documents) by the rest.
    large_prefix = f"bench-scale-{time.time_ns()}"
    es.indices.put_settings(index=raw_index, settings={"refresh_interval": "-1"})
    started = time.perf_counter()
    archive_data.raw_bulk(es, raw_index, archive_data.actions(raw_index, partners, middle, large - middle))
    es.indices.put_alias(index=raw_index, name=documents_alias(large_prefix))
    log(f"scale: {large - middle} more documents in {time.perf_counter() - started:.0f} s")
    curve[large] = api_p95(es_url, data_dir, large_prefix, requests)
    log(f"scale: p95 {curve[large]:.1f} ms at {large}")
    es.indices.delete(index=raw_index)
    es.close()
    sizes = sorted(curve)
    growth = curve[sizes[-1]] / curve[sizes[0]]
    figures.append(
        Figure(name="scale curve (search p95)", unit="ms", samples=[curve[sizes[-1]]],
               reference_samples=[curve[sizes[0]]],
               reference=f"p95 at {sizes[0]} documents",
               higher_is_better=False, target_ratio=sizes[0] / sizes[-1],
               command=f"as the search latency figure, API p95 at {', '.join(map(str, sizes))} documents",
               note=f"sub-linear growth: p95 grows less than the document count ({sizes[-1] // sizes[0]}×); "
               f"ratio = p95({sizes[0]}) / p95({sizes[-1]}), target = {sizes[0]}/{sizes[-1]}",
               extra={"p95_ms_by_documents": {str(k): round(v, 1) for k, v in sorted(curve.items())},
                      "growth": round(growth, 2)})
    )
    return figures

"""Mixed load: eight people search the archive while a worker OCRs scans on the same cores.

Search p95 while a scan is being OCR'd against search p95 with nothing else running, and
OCR pages/minute while people search against OCR alone; both references in the same run,
against the same API, worker and node.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import httpx

from archive.settings import Settings
from bench import archive_data, inputs
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
    worker_process,
)
from bench.ocr import _upload_until_indexed
from bench.partners import make_partner
from bench.search import CALLERS as CALLERS_OF_QUERIES
from bench.search import CLIENTS, QUERIES, _load, api_sender

# Each of the eight clients waits this long between a result and its next search: people
# read what they found. Without a pause eight clients would take every cycle of 2 cores and
# the question "does OCR slow search down" would have no answer but "everything is slower".
THINK_SECONDS = 0.5


def _search_while(send, until: threading.Event, refused: list[int] | None = None) -> list[float]:  # type: ignore[no-untyped-def]
    """`CLIENTS` people searching (with their pause) until `until` is set; latencies in ms.

    A search the API refuses (503: the engine did not answer in time) counts with its
    latency and is tallied in `refused`, rather than ending that person's searching.
    """
    latencies: list[float] = []
    lock = threading.Lock()

    def person(number: int) -> None:
        n = number
        with httpx.Client(timeout=60) as http:
            while not until.is_set():
                started = time.perf_counter()
                try:
                    send(http, n)
                except httpx.HTTPStatusError:
                    if refused is not None:
                        with lock:
                            refused.append(n)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                n += CLIENTS
                until.wait(THINK_SECONDS)

    people = [threading.Thread(target=person, args=(i,)) for i in range(CLIENTS)]
    for thread in people:
        thread.start()
    for thread in people:
        thread.join()
    return latencies


def _ocr_pages_per_minute(url: str, auth: dict[str, str], pdf: Path, pages: int, partner_id: str) -> float:
    with httpx.Client(base_url=url, headers=auth, timeout=120) as client:
        return pages / _upload_until_indexed(client, pdf, partner_id) * 60


def _ocr_then_set(done: threading.Event, into: list[float], *args) -> None:  # type: ignore[no-untyped-def]
    try:
        into.append(_ocr_pages_per_minute(*args))
    finally:
        done.set()


def measure(es_url: str, documents: int, pages: int, runs: int, idle_seconds: float) -> list[Figure]:
    data_dir = OUT / "mixed" / "data"
    prepare_data_dir(data_dir)
    partners = inputs.synthetic_partners(2000)
    started = time.perf_counter()
    archive_data.write_records(Settings(data_dir=data_dir).resolved_database_url, partners, documents)
    prefix = f"bench-mixed-{time.time_ns()}"
    # No OCR cache: every run must read its pages again, as new scans would be.
    env = service_env(data_dir, es_url, prefix, PARTNER_ARCHIVE_OCR_CACHE="false",
                      PARTNER_ARCHIVE_MAX_UPLOAD_MB="500")
    result = subprocess.run([str(VENV_BIN / "partner-archive"), "reindex"], env=env, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"reindex failed: {result.stdout}\n{result.stderr[-3000:]}")
    log(f"mixed: {documents} documents on record and indexed in {time.perf_counter() - started:.0f} s")
    scan = inputs.scanned_pdf(OUT / "mixed" / f"scan-{pages}.pdf", pages, seed=7)
    auth = {"Authorization": "Bearer " + token(data_dir, sub="bench", roles="archivist", departments="",
                                               clearance="confidential")}
    nice = Settings().worker_nice
    p95_idle, p95_mixed, ocr_idle, ocr_mixed, unniced = [], [], [], [], {}
    with api_process(env, data_dir / "api.log") as url:
        send = api_sender(url, data_dir)
        # Every (caller, query) pair once, so that the idle reference does not pay for the
        # engine's cold caches that the run under OCR would then find warm.
        _load(send, len(QUERIES) * len(CALLERS_OF_QUERIES))
        for worker_nice in ([nice] * runs) + ([0] if runs > 1 else []):
            worker_env = {**env, "PARTNER_ARCHIVE_WORKER_NICE": str(worker_nice)}
            with worker_process(worker_env, data_dir / "worker.log"):
                # Search alone (the worker waits for work), then OCR alone, then both at once.
                quiet = threading.Event()
                threading.Timer(idle_seconds, quiet.set).start()
                refused_idle: list[int] = []
                idle = _search_while(send, quiet, refused_idle)
                # Prospects (QZ-…): the synthetic archive's partners hold the GYS-… numbers.
                partner_id, _ = make_partner(data_dir, f"福建省闽江供应链管理有限公司{time.time_ns()}",
                                             kind="prospect")
                alone = _ocr_pages_per_minute(url, auth, scan, pages, partner_id)
                partner_id, _ = make_partner(data_dir, f"厦门鹭岛机电设备有限公司{time.time_ns()}", kind="prospect")
                done = threading.Event()
                together: list[float] = []
                reader = threading.Thread(target=_ocr_then_set, args=(done, together, url, auth, scan, pages,
                                                                       partner_id))
                reader.start()
                refused_mixed: list[int] = []
                under_ingest = _search_while(send, done, refused_mixed)
                reader.join()
            line = (f"nice {worker_nice}: search p95 idle {percentile(idle, 0.95):.1f} ms, under OCR "
                    f"{percentile(under_ingest, 0.95):.1f} ms ({len(under_ingest)} searches; 503: "
                    f"{len(refused_idle)} idle, {len(refused_mixed)} under OCR); OCR alone "
                    f"{alone:.1f} pages/min, under search {together[0]:.1f}")
            log(f"mixed: {line}")
            if worker_nice == nice:
                p95_idle.append(percentile(idle, 0.95))
                p95_mixed.append(percentile(under_ingest, 0.95))
                ocr_idle.append(alone)
                ocr_mixed.append(together[0])
            else:
                unniced = {"worker_nice_0": line}
    setup = {
        "worker_nice": nice,
        "workers": 1,
        "ocr_processes": "one per core (OMP_THREAD_LIMIT=1)",
        "elasticsearch_thread_pools": "defaults (search: cores × 3/2 + 1, write: cores)",
        "think_seconds": THINK_SECONDS,
        **unniced,
    }
    command = (f"{CLIENTS} clients searching through the API ({documents:,} documents; each waits "
               f"{THINK_SECONDS} s between a result and its next search) while one worker OCRs a "
               f"{pages}-page 300-dpi scan (OCR cache off)")
    return [
        Figure(name="search p95 under ingest", unit="ms", samples=p95_mixed, reference_samples=p95_idle,
               reference="the same clients and queries with the worker idle", higher_is_better=False,
               target_ratio=1 / 1.5, command=command, note="ratio = idle / under ingest; ≥ 0.67 means ≤ 1.5×",
               extra=setup),
        Figure(name="OCR pages/minute under search", unit="pages/min", samples=ocr_mixed,
               reference_samples=ocr_idle, reference="the same scan uploaded with nobody searching",
               higher_is_better=True, target_ratio=0.85, command=command, extra=setup),
    ]

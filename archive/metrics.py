"""What the service counts, in the Prometheus format (prometheus-client).

Each process counts its own work: the API its requests, searches and uploads, a worker its
documents and OCR pages. Processes of one host that share `PROMETHEUS_MULTIPROC_DIR`
(`partner-archive run` sets it up for its API and worker) write their counts there, and the
one that serves the metrics adds them all up: the client library's multiprocess mode.
What belongs to no process (the queue's depth and oldest job, documents by status) is read
from the record and the queue when scraped, by the API that serves it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUEST_SECONDS = Histogram(
    "partner_archive_http_request_duration_seconds",
    "HTTP requests by route template, method and status, and how long each took",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
SEARCHES = Counter(
    "partner_archive_searches", "Searches, by outcome (answered, unavailable)", ["outcome"]
)
UPLOADS = Counter(
    "partner_archive_uploads", "Uploads, by outcome (accepted, duplicate, refused)", ["outcome"]
)
DOCUMENTS_PROCESSED = Counter(
    "partner_archive_documents_processed",
    "Documents a worker finished, by outcome (indexed, failed, deferred: the engine was away)",
    ["outcome"],
)
OCR_PAGES = Counter(
    "partner_archive_ocr_pages", "Pages read by OCR, by where the text came from (tesseract, ppocr, cache)",
    ["source"],
)
OCR_SECONDS = Counter(
    "partner_archive_ocr_seconds", "Seconds spent in the recogniser (Tesseract or PP-OCR), summed over pages"
)
ELASTICSEARCH_ERRORS = Counter(
    "partner_archive_elasticsearch_errors",
    "Requests to Elasticsearch that failed, by operation and kind (unavailable, rejected)",
    ["operation", "kind"],
)
AUDIT_WAIT_SECONDS = Histogram(
    "partner_archive_audit_writer_wait_seconds",
    "How long a read's audit entry waited until it was committed (group commit)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 60),
)


def count_elasticsearch_error(operation: str, *, unavailable: bool) -> None:
    ELASTICSEARCH_ERRORS.labels(operation, "unavailable" if unavailable else "rejected").inc()


class ArchiveStateCollector(Collector):
    """Queue depth, the oldest waiting job's age and documents by status, read when scraped."""

    def __init__(
        self,
        *,
        queue_depth: Callable[[], int],
        documents_by_status: Callable[[], dict[str, int]],
        oldest_waiting: Callable[[], datetime | None],
    ) -> None:
        self._queue_depth = queue_depth
        self._documents_by_status = documents_by_status
        self._oldest_waiting = oldest_waiting

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("partner_archive_queue_depth", "Jobs waiting in the queue")
        depth.add_metric([], self._queue_depth())
        yield depth
        oldest = self._oldest_waiting()
        age = GaugeMetricFamily(
            "partner_archive_queue_oldest_job_age_seconds",
            "Age of the oldest document waiting to be processed (0 when none waits)",
        )
        age.add_metric([], (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0)
        yield age
        documents = GaugeMetricFamily(
            "partner_archive_documents", "Documents on record, by status", labels=["status"]
        )
        counts = self._documents_by_status()
        for status in ("queued", "processing", "indexed", "failed"):
            counts.setdefault(status, 0)
        for status, count in sorted(counts.items()):
            documents.add_metric([status], count)
        yield documents


class _Delegate(Collector):
    """Another registry's metrics, so that one registry can serve both it and our own."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        yield from self._source.collect()


def serving_registry(*extra: Collector) -> CollectorRegistry:
    """This process's metrics (or, in multiprocess mode, every process's on this host) plus `extra`."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Delegate(REGISTRY))
    for collector in extra:
        registry.register(collector)
    return registry


class MetricsServer:
    """`/metrics` on a port of its own, apart from the public API (loopback unless told otherwise)."""

    def __init__(self, registry: CollectorRegistry, *, host: str, port: int) -> None:
        self._server, self._thread = start_http_server(port, addr=host, registry=registry)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


"""`/metrics` on a port of its own, read with Prometheus's own text parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import _free_port
from tests.samples import CONTRACT_TEXT, scan_image, text_pdf


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by name and labels."""
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_searches_uploads_queue_documents_ocr_and_audit(
    tmp_path, settings, make_caller, create_partner, upload, run_worker
) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    port = _free_port()
    settings = settings.model_copy(update={"metrics_port": port})
    buyer = make_caller("zhang.wei", departments="采购部")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        # Not on the public API's port.
        assert client.get("/metrics").status_code == 404
        before = _scrape(port)
        archivist = make_caller("chen.dang", roles="archivist", clearance="confidential")
        partner = client.post(
            "/api/v1/partners",
            json={"name": "福建省闽江供应链管理有限公司", "kind": "supplier", "department": "采购部"},
            headers=archivist.headers,
        ).json()
        scan = scan_image(tmp_path / "扫描合同.png", "仓储服务合同 第一页", dpi=200, page_inches=(4.0, 1.2), noise=False)
        contract = text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT])
        for path in (scan, contract, contract):
            with path.open("rb") as stream:
                client.post(
                    "/api/v1/documents",
                    files={"file": (path.name, stream, "application/octet-stream")},
                    data={"partner_id": partner["id"], "doc_type": "contract", "confidentiality": "internal"},
                    headers=buyer.headers,
                )
        waiting = _scrape(port)
        assert run_worker() == 2
        for _ in range(3):
            assert client.get("/api/v1/search", params={"q": "合同"}, headers=buyer.headers).status_code == 200
        assert client.get("/api/v1/documents/nothing-here", headers=buyer.headers).status_code == 404
        after = _scrape(port)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    search_route = {"route": "/api/v1/search", "method": "GET", "status": "200"}
    assert grew("partner_archive_http_request_duration_seconds_count", **search_route) == 3
    assert grew("partner_archive_http_request_duration_seconds_bucket", le="+Inf", **search_route) == 3
    assert grew("partner_archive_http_request_duration_seconds_sum", **search_route) > 0
    # By the route's template, never the raw path.
    assert grew("partner_archive_http_request_duration_seconds_count", route="/api/v1/documents/{document_id}",
                method="GET", status="404") == 1
    assert grew("partner_archive_searches_total", outcome="answered") == 3
    assert grew("partner_archive_uploads_total", outcome="accepted") == 2
    assert grew("partner_archive_uploads_total", outcome="duplicate") == 1
    assert grew("partner_archive_audit_writer_wait_seconds_count") >= 3
    assert grew("partner_archive_ocr_pages_total", source="ppocr") == 1
    assert grew("partner_archive_ocr_seconds_total") > 0
    assert grew("partner_archive_documents_processed_total", outcome="indexed") == 2
    # The archive's state, read from this test's own record and queue when scraped.
    assert _value(waiting, "partner_archive_queue_depth") == 2
    assert _value(waiting, "partner_archive_queue_oldest_job_age_seconds") > 0
    assert _value(waiting, "partner_archive_documents", status="queued") == 2
    assert _value(after, "partner_archive_queue_depth") == 0
    assert _value(after, "partner_archive_queue_oldest_job_age_seconds") == 0
    assert _value(after, "partner_archive_documents", status="indexed") == 2
    assert _value(after, "partner_archive_documents", status="queued") == 0
    assert ("partner_archive_elasticsearch_errors_total", ()) not in after  # labelled only


def test_search_engine_errors_are_counted(settings, make_caller) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    port = _free_port()
    down = settings.model_copy(update={"metrics_port": port, "es_url": f"http://127.0.0.1:{_free_port()}"})
    buyer = make_caller("zhang.wei", departments="采购部")
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        before = _scrape(port)
        assert client.get("/api/v1/search", params={"q": "合同"}, headers=buyer.headers).status_code == 503
        after = _scrape(port)
    errors = ("partner_archive_elasticsearch_errors_total", (("kind", "unavailable"), ("operation", "search")))
    assert after[errors] - before.get(errors, 0) == 1
    unavailable = ("partner_archive_searches_total", (("outcome", "unavailable"),))
    assert after[unavailable] - before.get(unavailable, 0) == 1

"""Issue 12, finding 8: a forged newer licence must not hide the real one.

Any uploader could add a licence dated in the future (or simply newer) that then superseded
the real licence: its expiry vanished from the expiry list, the notices and the annual
review. Now a licence dated after its upload day, or one that would replace a document
another person uploaded, waits in the review queue for an archivist; until then the real
licence stays current everywhere, and the waiting one does not count as a valid licence.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

from archive.compliance import send_expiry_notices
from archive.db import make_engine, make_session_factory, session_scope
from tests.conftest import _free_port
from tests.review_samples import PARTNER, chinese_date, licence_pdf
from tests.samples import CREDIT_CODE


def _day(offset: int) -> str:
    return chinese_date((datetime.now(UTC).date() + timedelta(days=offset)).isoformat())


def test_a_forged_newer_licence_does_not_hide_the_real_one(
    tmp_path, settings, client, upload, run_worker, make_caller, create_partner
) -> None:
    partner = create_partner(PARTNER, "采购部", credit_code=CREDIT_CODE)
    owner = make_caller("zhang.wei", departments="采购部")
    forger = make_caller("qian.li", departments="采购部")
    another = make_caller("sun.yu", departments="采购部")
    archivist = make_caller("chen.dang", roles="archivist", clearance="confidential")
    compliance = make_caller("zhao.he", roles="compliance", clearance="confidential")

    def licence(caller, name, **text):  # type: ignore[no-untyped-def]
        path = licence_pdf(tmp_path, name, **text)
        response = upload(caller, path, partner_id=partner["id"], doc_type="business_license")
        assert response.status_code == 202, response.text
        return response.json()["id"]

    # The real licence ran out five days ago.
    real = licence(owner, "营业执照", issued="2019年05月20日", term=f"2015年03月11日至{_day(-5)}")
    run_worker()
    # One forgery dated in the future; another dated yesterday, by a third person.
    future = _day(90)
    forged = licence(forger, "营业执照（换发）", founded=future, issued=future, term=f"{future}至2046年01月01日")
    backdated = licence(another, "营业执照（副本）", issued=_day(-1), term="2015年03月11日至2046年01月01日")
    run_worker()

    def current(document_id: str) -> bool:
        return client.get(f"/api/v1/documents/{document_id}", headers=archivist.headers).json()["superseded_by"] is None

    assert current(real), "the real licence was hidden by a forged one"
    expiring = client.get("/api/v1/compliance/expiring", params={"within_days": 30}, headers=compliance.headers)
    assert real in [item["id"] for item in expiring.json()]

    # Both wait for the archive office, each saying why.
    queue = client.get(
        "/api/v1/review-queue", params={"kind": "supersession"}, headers=archivist.headers
    ).json()["items"]
    reasons = {item["document_id"]: item["reason"] for item in queue}
    assert set(reasons) == {forged, backdated}
    assert "晚于上传日" in reasons[forged] and "他人" in reasons[forged]
    assert "他人" in reasons[backdated] and "晚于上传日" not in reasons[backdated]

    # The annual review (as of next 1 July) does not count the forgery as a valid licence.
    next_year = datetime.now(UTC).year + 1
    review = client.get(
        "/api/v1/reports/annual-review", params={"year": next_year}, headers=compliance.headers
    ).json()
    purchasing = next(d for d in review["departments"] if d["department"] == "采购部")
    assert [p["id"] for p in purchasing["missing_licence"]] == [partner["id"]]
    assert real in [d["id"] for d in purchasing["expiring"]]

    # The department is told the real licence expired.
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", _free_port()), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    configured = settings.model_copy(update={"notify_webhooks": {"采购部": f"http://127.0.0.1:{server.server_port}/"}})
    try:
        with session_scope(make_session_factory(make_engine(settings.resolved_database_url))) as session:
            send_expiry_notices(session, settings=configured)
    finally:
        server.shutdown()
    assert [d["id"] for d in received[0]["documents"]] == [real]

    # The forger cannot confirm their own licence; the archivist refuses it, and it never hides.
    refused = client.post(
        f"/api/v1/review-queue/{forged}/supersedes", json={"decision": "confirm"}, headers=forger.headers
    )
    assert refused.status_code == 403
    rejected = client.post(
        f"/api/v1/review-queue/{forged}/supersedes",
        json={"decision": "reject", "note": "登记机关查无此换发记录"},
        headers=archivist.headers,
    )
    assert rejected.status_code == 200, rejected.text
    assert current(real)
    audit = client.get("/api/v1/audit", params={"action": "review_decision"}, headers=archivist.headers).json()
    assert [(e["target"], e["details"]["decision"]) for e in audit] == [(forged, "rejected")]

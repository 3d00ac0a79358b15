"""Finding 7: seeing a partner through one public document lets a user read it, never change it.

Stated over every route the OpenAPI document lists that writes under `/partners/{partner_id}`:
a route added later is covered too (and fails here until it has a sample body below).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from archive.models import AuditEntry, Partner, PartnerChange
from tests.samples import CREDIT_CODE, text_pdf

OWN, OTHER = "采购部", "销售部"
WRITES = ("post", "put", "patch", "delete")
# A valid body for each write route, so that only who the caller is can refuse it.
SAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("patch", "/api/v1/partners/{partner_id}"): {
        "json": {"bank_account": "6222 0000 1111 2222", "credit_code": CREDIT_CODE, "department": OTHER,
                 "remarks": "已改为我部对接"},
    },
    ("post", "/api/v1/partners/{partner_id}/approve"): {"json": {"comment": "同意"}},
    ("post", "/api/v1/partners/{partner_id}/reject"): {"json": {"comment": "不同意"}},
    ("post", "/api/v1/partners/{partner_id}/resubmit"): {"json": {"comment": "重新提交"}},
    ("post", "/api/v1/partners/{partner_id}/status"): {"json": {"status": "suspended", "reason": "暂停合作"}},
    ("post", "/api/v1/partners/{partner_id}/records"): {
        "data": {"date": "2026-11-20", "kind": "visit", "summary": "顺路拜访，约定改用新账户付款"},
    },
    ("post", "/api/v1/partners/{partner_id}/ratings"): {
        "json": {"rating": "D", "rated_on": "2026-11-20", "reason": "信用不佳"},
    },
    ("post", "/api/v1/partners/{partner_id}/evaluations"): {
        "json": {"period": "2026年度", "quality": 0, "delivery": 0, "service": 0},
    },
    ("post", "/api/v1/partners/{partner_id}/changes/{change_id}/confirm"): {"json": {"note": "已核实"}},
    ("post", "/api/v1/partners/{partner_id}/changes/{change_id}/reject"): {"json": {"note": "驳回"}},
}


def _record(settings, partner_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The partner's row, its history, and every action recorded but reads: any write (a
    status, a record, an evaluation, a confirmation) leaves an audit entry."""
    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session:
        partner = session.get(Partner, partner_id)
        assert partner is not None
        state = {
            "row": {c.name: getattr(partner, c.key) for c in Partner.__table__.columns if c.name != "updated_at"},
            "changes": session.scalar(select(func.count()).select_from(PartnerChange)),
            "writes": [(e.action, e.target) for e in session.scalars(
                select(AuditEntry).where(AuditEntry.action.not_in(("partner_view", "view"))).order_by(AuditEntry.seq))],
        }
    engine.dispose()
    return state


def test_a_partner_seen_through_a_public_document_is_read_only(
    tmp_path, settings, client, upload, run_worker, make_caller, create_partner
) -> None:
    partner = create_partner("福建省闽江供应链管理有限公司", OWN, legal_representative="林建华",
                             bank_name="中国工商银行福州鼓楼支行", bank_account="1402023109600123456")
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    public = text_pdf(tmp_path / "资质公示.pdf", ["安全生产许可证公示信息：许可范围为机电设备安装。"])
    assert upload(office, public, partner_id=partner["id"], doc_type="qualification",
                  confidentiality="public").status_code == 202
    run_worker()
    # A change waiting for its second person, so that confirm and reject have something to refuse.
    buyer = make_caller("zhang.wei", departments=OWN)
    waiting = client.patch(f"/api/v1/partners/{partner['id']}", json={"legal_representative": "陈小明"},
                           headers=buyer.headers)
    # (Read loosely, so that on code without second-person changes the test fails on the
    # property below rather than here.)
    pending = waiting.json().get("pending_changes") or [{"id": "0" * 32}]
    ids = {"partner_id": partner["id"], "change_id": pending[0]["id"]}

    outsiders = {
        "staff of another department": make_caller("li.na", departments=OTHER),
        "manager of another department": make_caller("qian.hao", roles="manager", departments=OTHER),
    }
    paths = client.get("/openapi.json").json()["paths"]
    writes = sorted(
        (method, path)
        for path, operations in paths.items()
        if path.startswith("/api/v1/partners/{partner_id}")
        for method in operations
        if method in WRITES
    )
    assert ("patch", "/api/v1/partners/{partner_id}") in writes
    missing = [route for route in writes if route not in SAMPLES]
    assert not missing, f"add a sample body for {missing}"

    before = _record(settings, partner["id"])
    problems = []
    for who, caller in outsiders.items():
        # They may read it: it is visible to them through the public document.
        assert client.get(f"/api/v1/partners/{partner['id']}", headers=caller.headers).status_code == 200
        for method, path in writes:
            response = client.request(method, path.format(**ids), headers=caller.headers, **SAMPLES[(method, path)])
            if response.status_code != 403:
                problems.append(f"{who}: {method.upper()} {path} → {response.status_code} {response.text[:100]}")
    assert not problems, "\n".join(problems)
    assert _record(settings, partner["id"]) == before

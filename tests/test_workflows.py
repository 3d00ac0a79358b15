"""The archive office's workflows: audit, borrowing, destruction, ratings and evaluations."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, StatementError

from tests.samples import CONTRACT_TEXT, text_pdf
from tests.test_resilience import run_cli


@pytest.fixture
def office(tmp_path, client, make_caller, create_partner, upload, run_worker):  # type: ignore[no-untyped-def]
    """A secret contract of 采购部, a seller who cannot see it, and the office's people."""
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    people = {
        "buyer": make_caller("zhang.wei", departments="采购部", clearance="secret"),
        "seller": make_caller("li.na", departments="销售部"),
        "archivist": make_caller("chen.dang", roles="archivist", clearance="confidential"),
        "archivist2": make_caller("wu.an", roles="archivist", clearance="confidential"),
        "leader": make_caller("lin.zong", roles="admin", clearance="confidential"),
        "leader2": make_caller("huang.dong", roles="admin", clearance="confidential"),
        "compliance": make_caller("zhao.he", roles="compliance", clearance="confidential"),
    }
    pdf = text_pdf(tmp_path / "保密采购合同.pdf", [CONTRACT_TEXT])
    response = upload(people["buyer"], pdf, partner_id=partner["id"], confidentiality="secret")
    document_id = response.json()["id"]
    run_worker()
    return partner, document_id, people


def _post(client, caller, url, json=None):  # type: ignore[no-untyped-def]
    return client.post(url, json=json, headers=caller.headers)


def test_a_loan_opens_a_document_until_it_is_returned(client, office) -> None:
    _partner, document_id, people = office
    seller, archivist = people["seller"], people["archivist"]
    assert client.get(f"/api/v1/documents/{document_id}", headers=seller.headers).status_code == 404

    loan = _post(
        client,
        seller,
        "/api/v1/borrow-requests",
        {"document_ids": [document_id], "reason": "核对合同金额", "days": 7},
    )
    assert loan.status_code == 201, loan.text
    loan_id = loan.json()["id"]
    assert loan.json()["status"] == "pending"
    inbox = client.get("/api/v1/borrow-requests", params={"status": "pending"}, headers=archivist.headers)
    assert [r["id"] for r in inbox.json()] == [loan_id]

    approved = _post(client, archivist, f"/api/v1/borrow-requests/{loan_id}/approve", {"note": "同意"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert client.get(f"/api/v1/documents/{document_id}", headers=seller.headers).status_code == 200
    found = client.get("/api/v1/search", params={"q": "离心水泵"}, headers=seller.headers).json()
    assert [hit["id"] for hit in found["hits"]] == [document_id]

    assert _post(client, archivist, f"/api/v1/borrow-requests/{loan_id}/return").status_code == 403
    returned = _post(client, seller, f"/api/v1/borrow-requests/{loan_id}/return")
    assert returned.json()["status"] == "returned"
    assert client.get(f"/api/v1/documents/{document_id}", headers=seller.headers).status_code == 404
    assert client.get("/api/v1/search", params={"q": "离心水泵"}, headers=seller.headers).json()["total"] == 0


def test_a_loan_ends_by_itself_when_it_expires(client, settings, office) -> None:
    _partner, document_id, people = office
    seller = people["seller"]
    loan_id = _post(
        client,
        seller,
        "/api/v1/borrow-requests",
        {"document_ids": [document_id], "reason": "审计抽查", "days": 1},
    ).json()["id"]
    _post(client, people["archivist"], f"/api/v1/borrow-requests/{loan_id}/approve")
    assert client.get(f"/api/v1/documents/{document_id}", headers=seller.headers).status_code == 200
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:  # the day has passed
        connection.execute(text("UPDATE access_grants SET expires_at = '2000-01-01 00:00:00'"))
        connection.execute(text("UPDATE borrow_requests SET expires_at = '2000-01-01 00:00:00'"))
    engine.dispose()
    assert client.get(f"/api/v1/documents/{document_id}", headers=seller.headers).status_code == 404
    assert (
        client.get(f"/api/v1/borrow-requests/{loan_id}", headers=seller.headers).json()["status"] == "expired"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "查阅", "days": 31}, "days"),
        ({"reason": "查阅", "days": 0}, "days"),
        ({"reason": "", "days": 3}, "reason"),
        # An unknown id is accepted like a hidden one (hidden is as good as absent); a reference
        # no document could have is not.
        ({"reason": "查阅", "days": 3, "document_ids": ["0" * 65]}, "document_ids"),
    ],
)
def test_bad_borrow_requests_are_refused(client, office, body, field) -> None:
    _partner, document_id, people = office
    response = _post(
        client, people["seller"], "/api/v1/borrow-requests", {"document_ids": [document_id], **body}
    )
    assert response.status_code == 422
    assert field in response.text


def test_borrow_decisions_follow_the_rules(client, office) -> None:
    _partner, document_id, people = office
    own = _post(
        client,
        people["archivist"],
        "/api/v1/borrow-requests",
        {"document_ids": [document_id], "reason": "整理", "days": 3},
    ).json()["id"]
    refused = _post(client, people["archivist"], f"/api/v1/borrow-requests/{own}/approve")
    assert refused.status_code == 403
    assert "自己" in refused.json()["detail"]
    loan = _post(
        client,
        people["seller"],
        "/api/v1/borrow-requests",
        {"document_ids": [document_id], "reason": "核对", "days": 3},
    ).json()["id"]
    assert _post(client, people["buyer"], f"/api/v1/borrow-requests/{loan}/approve").status_code == 403
    assert _post(client, people["archivist"], f"/api/v1/borrow-requests/{loan}/reject").status_code == 200
    again = _post(client, people["archivist2"], f"/api/v1/borrow-requests/{loan}/approve")
    assert again.status_code == 409
    assert client.get(f"/api/v1/documents/{document_id}", headers=people["seller"].headers).status_code == 404
    assert _post(client, people["archivist"], "/api/v1/borrow-requests/nope/approve").status_code == 404


def test_two_racing_approvals_have_exactly_one_winner(client, office) -> None:
    _partner, document_id, people = office
    loan = _post(
        client,
        people["seller"],
        "/api/v1/borrow-requests",
        {"document_ids": [document_id], "reason": "核对", "days": 3},
    ).json()["id"]
    results: list[int] = []
    approvers = [people["archivist"], people["archivist2"], people["leader"], people["leader2"]]

    def approve(caller) -> None:  # type: ignore[no-untyped-def]
        results.append(_post(client, caller, f"/api/v1/borrow-requests/{loan}/approve").status_code)

    threads = [threading.Thread(target=approve, args=(caller,)) for caller in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409, 409, 409]


def test_destruction_needs_a_leader_and_leaves_a_record(client, settings, office) -> None:
    partner, document_id, people = office
    archivist, leader = people["archivist"], people["leader"]
    document = client.get(f"/api/v1/documents/{document_id}", headers=archivist.headers).json()

    assert (
        _post(
            client,
            people["buyer"],
            "/api/v1/destruction-requests",
            {"document_ids": [document_id], "reason": "过期"},
        ).status_code
        == 403
    )
    request = _post(
        client,
        archivist,
        "/api/v1/destruction-requests",
        {
            "document_ids": [document_id],
            "reason": "合同履行完毕且已过保管期限",
            "appraisal_note": "经鉴定无继续保存价值",
        },
    )
    assert request.status_code == 201, request.text
    request_id = request.json()["id"]
    unapproved = _post(client, archivist, f"/api/v1/destruction-requests/{request_id}/execute")
    assert unapproved.status_code == 409
    assert _post(client, archivist, f"/api/v1/destruction-requests/{request_id}/approve").status_code == 403
    assert _post(client, leader, f"/api/v1/destruction-requests/{request_id}/approve").status_code == 200
    assert _post(client, leader, f"/api/v1/destruction-requests/{request_id}/approve").status_code == 409
    executed = _post(client, archivist, f"/api/v1/destruction-requests/{request_id}/execute")
    assert executed.status_code == 200, executed.text
    assert executed.json()["status"] == "executed"

    assert client.get(f"/api/v1/documents/{document_id}", headers=archivist.headers).status_code == 404
    assert (
        client.get("/api/v1/search", params={"q": "离心水泵"}, headers=archivist.headers).json()["total"] == 0
    )
    assert not (
        settings.originals_dir / document["sha256"][:2] / document["sha256"][2:4] / document["sha256"]
    ).exists()
    records = client.get("/api/v1/destruction-records", headers=people["compliance"].headers).json()
    assert len(records) == 1
    record = records[0]
    assert (record["document_id"], record["sha256"], record["partner_name"]) == (
        document_id,
        document["sha256"],
        partner["name"],
    )
    assert (record["requested_by"], record["approved_by"], record["executed_by"]) == (
        "chen.dang",
        "lin.zong",
        "chen.dang",
    )
    assert record["reason"] == "合同履行完毕且已过保管期限"


def test_a_document_on_legal_hold_cannot_be_destroyed(client, office) -> None:
    _partner, document_id, people = office
    archivist, leader = people["archivist"], people["leader"]
    request_id = _post(
        client, archivist, "/api/v1/destruction-requests", {"document_ids": [document_id], "reason": "到期"}
    ).json()["id"]
    _post(client, leader, f"/api/v1/destruction-requests/{request_id}/approve")
    hold = client.patch(
        f"/api/v1/documents/{document_id}", json={"legal_hold": True}, headers=archivist.headers
    )
    assert hold.status_code == 200
    blocked = _post(client, archivist, f"/api/v1/destruction-requests/{request_id}/execute")
    assert blocked.status_code == 409
    assert "诉讼保全" in blocked.json()["detail"]
    assert client.get(f"/api/v1/documents/{document_id}", headers=archivist.headers).status_code == 200
    again = _post(
        client, archivist, "/api/v1/destruction-requests", {"document_ids": [document_id], "reason": "到期"}
    )
    assert again.status_code == 409


def test_documents_past_retention_are_listed_as_eligible(client, settings, office) -> None:
    _partner, document_id, people = office
    client.patch(
        f"/api/v1/documents/{document_id}",
        json={"expires_on": "1990-06-30"},
        headers=people["archivist"].headers,
    )
    eligible = client.get("/api/v1/destruction-eligible", headers=people["archivist"].headers).json()
    # A contract is kept 定期30年 (D30) from its expiry.
    assert [(e["id"], e["retention"], e["retention_ends"]) for e in eligible] == [(document_id, "D30", "2020-06-30")]
    assert client.get("/api/v1/destruction-eligible", headers=people["buyer"].headers).status_code == 403


def test_ratings_and_evaluations_keep_history_and_filter_partners(client, office, create_partner) -> None:
    partner, _document_id, people = office
    other = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    compliance, buyer = people["compliance"], people["buyer"]
    for rating, day in (("B", "2025-07-01"), ("A", "2026-07-01")):
        response = _post(
            client,
            compliance,
            f"/api/v1/partners/{partner['id']}/ratings",
            {"rating": rating, "rated_on": day, "reason": "年度信用评审"},
        )
        assert response.status_code == 201, response.text
    assert (
        _post(
            client,
            buyer,
            f"/api/v1/partners/{partner['id']}/ratings",
            {"rating": "A", "rated_on": "2026-07-01", "reason": "自评"},
        ).status_code
        == 403
    )
    history = client.get(f"/api/v1/partners/{partner['id']}/ratings", headers=buyer.headers).json()
    assert [entry["rating"] for entry in history] == ["A", "B"]
    assert (
        client.get(f"/api/v1/partners/{partner['id']}", headers=buyer.headers).json()["credit_rating"] == "A"
    )

    evaluation = _post(
        client,
        buyer,
        f"/api/v1/partners/{other['id']}/evaluations",
        {"period": "2026年度", "quality": 90, "delivery": 80, "service": 70, "notes": "交货偶有延迟"},
    )
    assert evaluation.status_code == 201, evaluation.text
    assert evaluation.json()["score"] == 83.0
    rated_a = client.get("/api/v1/partners", params={"credit_rating": "A"}, headers=buyer.headers).json()
    assert [p["id"] for p in rated_a["items"]] == [partner["id"]]
    good = client.get("/api/v1/partners", params={"min_score": 80}, headers=buyer.headers).json()
    assert [p["id"] for p in good["items"]] == [other["id"]]
    bad = _post(
        client,
        buyer,
        f"/api/v1/partners/{other['id']}/evaluations",
        {"period": "2026Q4", "quality": 120, "delivery": 80, "service": 70},
    )
    assert bad.status_code == 422


def test_every_action_is_audited_and_the_chain_holds(client, settings, office) -> None:
    partner, document_id, people = office
    buyer, archivist = people["buyer"], people["archivist"]
    client.get("/api/v1/search", params={"q": "采购合同", "doc_type": "contract"}, headers=buyer.headers)
    client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers)
    client.get(f"/api/v1/documents/{document_id}/content", headers=buyer.headers)
    client.patch(f"/api/v1/partners/{partner['id']}", json={"phone": "0591-1234567"}, headers=buyer.headers)

    assert client.get("/api/v1/audit", headers=buyer.headers).status_code == 403
    entries = client.get("/api/v1/audit", params={"user": "zhang.wei"}, headers=archivist.headers).json()
    actions = [entry["action"] for entry in entries]
    assert actions == ["partner_update", "download", "view", "search", "upload"]
    search = entries[3]
    assert search["details"]["q"] == "采购合同"
    assert search["details"]["filters"] == {"doc_type": "contract"}
    assert search["details"]["total"] == 1
    assert entries[0]["target"] == partner["id"]
    audited = client.get("/api/v1/audit", params={"action": "audit_query"}, headers=archivist.headers).json()
    assert audited and audited[0]["user"] == "chen.dang"

    assert "audit chain intact" in run_cli(settings, "audit", "verify").stdout
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET user = 'someone.else' WHERE action = 'download'"))
    engine.dispose()
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PARTNER_ARCHIVE_DATA_DIR": str(settings.data_dir)}
    broken = subprocess.run(
        [str(Path(sys.executable).with_name("partner-archive")), "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert broken.returncode == 1
    assert "altered" in broken.stderr


def test_searches_audited_together_each_committed_before_its_answer(settings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from archive.audit import AuditWriter, verify_chain
    from archive.db import make_engine, make_session_factory
    from archive.models import AuditEntry

    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    writer = AuditWriter(factory)
    queries = [f"采购合同 第{n}号" for n in range(64)]

    def search_and_check(q: str) -> bool:
        writer.record(user="zhang.wei", action="search", details={"q": q})
        # The caller is answered only now: its entry must already be readable by anyone.
        with factory() as session:
            return session.query(AuditEntry).filter(AuditEntry.details["q"].as_string() == q).count() == 1

    with ThreadPoolExecutor(16) as pool:
        committed_before_answer = list(pool.map(search_and_check, queries))
    writer.close()
    assert all(committed_before_answer)
    with factory() as session:
        report = verify_chain(session)
        seqs = [seq for (seq,) in session.query(AuditEntry.seq).order_by(AuditEntry.seq)]
    assert report.intact and report.entries == 64
    assert seqs == list(range(1, 65))
    engine.dispose()


def test_a_search_whose_record_cannot_be_written_fails(
    tmp_path, settings, client, make_caller, create_partner, upload, run_worker
) -> None:
    from archive.audit import AuditWriter
    from archive.db import make_engine, make_session_factory

    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    document_id = upload(buyer, text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT]), partner_id=partner["id"]).json()["id"]
    run_worker()
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:  # the database refuses every new audit entry
        connection.execute(
            text(
                "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END"
            )
        )
    refused = client.get("/api/v1/search", params={"q": "离心水泵"}, headers=buyer.headers)
    assert refused.status_code == 500
    assert refused.json() == {"detail": "服务器内部错误，已记录 (internal error; it has been logged)"}
    assert document_id not in refused.text  # no answer leaves without its record
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_refused"))
    engine.dispose()
    answered = client.get("/api/v1/search", params={"q": "离心水泵"}, headers=buyer.headers)
    assert [hit["id"] for hit in answered.json()["hits"]] == [document_id]

    writer = AuditWriter(make_session_factory(make_engine(settings.resolved_database_url)))
    with pytest.raises(StatementError, match="not JSON serializable"):
        writer.record(user="zhang.wei", action="search", details={"q": object()})
    writer.record(user="zhang.wei", action="search", details={"q": "营业执照"})
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.record(user="zhang.wei", action="search", details={"q": "营业执照"})


def test_a_search_that_gives_up_waiting_for_the_log_does_not_stall_the_next(settings, monkeypatch) -> None:
    import archive.audit
    from archive.audit import AuditWriter
    from archive.db import make_session_factory

    # The writer in front waits up to 3 s for the database's write lock; those behind it up to 0.3 s.
    engine = create_engine(settings.resolved_database_url, connect_args={"timeout": 3})
    monkeypatch.setattr(archive.audit, "WRITE_TIMEOUT_SECONDS", 0.3)
    sessions = make_session_factory(engine)
    writing = threading.Event()

    def session_for_the_writer():  # type: ignore[no-untyped-def]
        writing.set()
        return sessions()

    writer = AuditWriter(session_for_the_writer)  # type: ignore[arg-type]
    blocker = create_engine(settings.resolved_database_url).connect()
    blocker.exec_driver_sql("BEGIN IMMEDIATE")  # someone else holds the write lock
    outcomes: dict[str, BaseException | None] = {}

    def search(name: str) -> None:
        try:
            writer.record(user="zhang.wei", action="search", details={"q": name})
            outcomes[name] = None
        except Exception as exc:
            outcomes[name] = exc

    first = threading.Thread(target=search, args=("采购合同",))
    first.start()
    assert writing.wait(timeout=30)  # the first is writing now, stuck behind the lock
    second = threading.Thread(target=search, args=("营业执照",))
    second.start()
    second.join()
    first.join()
    blocker.rollback()
    blocker.close()
    assert isinstance(outcomes["营业执照"], TimeoutError)
    assert "审计记录写入超时" in str(outcomes["营业执照"])
    assert isinstance(outcomes["采购合同"], OperationalError)
    assert "database is locked" in str(outcomes["采购合同"])
    # The line is free again: the next search is recorded at once.
    writing.clear()
    search("离心水泵")
    assert outcomes["离心水泵"] is None and writing.is_set()
    engine.dispose()


ID_CARD = "姓名 林建华\n性别 男 民族 汉\n出生 1985年6月12日\n住址 福建省福州市鼓楼区五四路158号\n公民身份号码 350102198506123011"


def test_a_borrower_sees_id_numbers_unmasked_and_downloads_until_the_return(
    tmp_path, client, upload, run_worker, make_caller, create_partner
) -> None:
    import pypdfium2 as pdfium

    partner = create_partner("福州榕城包装材料有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    seller = make_caller("li.na", departments="销售部")
    archivist = make_caller("chen.dang", roles="archivist", clearance="confidential")
    card = text_pdf(tmp_path / "法人身份证.pdf", [ID_CARD])
    document_id = upload(buyer, card, partner_id=partner["id"], doc_type="id_card").json()["id"]
    run_worker()

    def seen_by(caller) -> tuple[str | None, str | None]:  # type: ignore[no-untyped-def]
        document = client.get(f"/api/v1/documents/{document_id}", headers=caller.headers)
        hits = client.get("/api/v1/search", params={"q": "公民身份号码"}, headers=caller.headers).json()["hits"]
        field = document.json()["fields"]["id_number"] if document.status_code == 200 else None
        return field, " ".join(hits[0]["highlights"]) if hits else None

    assert seen_by(seller) == (None, None)
    assert client.get(f"/api/v1/documents/{document_id}/content", headers=seller.headers).status_code == 404
    loan = _post(client, seller, "/api/v1/borrow-requests", {"document_ids": [document_id], "reason": "核对法人身份", "days": 3})
    assert _post(client, archivist, f"/api/v1/borrow-requests/{loan.json()['id']}/approve").status_code == 200

    field, highlighted = seen_by(seller)
    assert field == "350102198506123011" and "350102198506123011" in (highlighted or "")
    field, highlighted = seen_by(buyer)  # the department's staff, without a loan: masked as before
    assert field == "350102********3011" and "350102********3011" in (highlighted or "")
    download = client.get(f"/api/v1/documents/{document_id}/content", headers=seller.headers)
    assert download.status_code == 200 and download.headers["content-disposition"].startswith("attachment;")
    copy = pdfium.PdfDocument(download.content)
    assert "350102198506123011" in copy[0].get_textpage().get_text_range()  # the borrower's copy, whole
    copy.close()

    assert _post(client, seller, f"/api/v1/borrow-requests/{loan.json()['id']}/return").status_code == 200
    assert seen_by(seller) == (None, None)
    assert client.get(f"/api/v1/documents/{document_id}/content", headers=seller.headers).status_code == 404


def test_the_audit_log_filters_by_time_target_and_action_and_pages(
    client, office, make_caller, create_partner
) -> None:
    from tests.samples import CREDIT_CODE

    _partner, document_id, people = office
    seller, archivist, leader = people["seller"], people["archivist"], people["leader"]
    coded = create_partner("厦门鹭岛机电设备有限公司", "采购部", credit_code=CREDIT_CODE)
    assert client.get("/api/v1/lookup", params={"license_no": CREDIT_CODE}, headers=people["buyer"].headers).status_code == 200

    def loan() -> str:
        body = {"document_ids": [document_id], "reason": "核对合同金额", "days": 3}
        return _post(client, seller, "/api/v1/borrow-requests", body).json()["id"]

    refused = loan()
    _post(client, archivist, f"/api/v1/borrow-requests/{refused}/reject", {"note": "请说明用途"})
    granted = loan()
    _post(client, archivist, f"/api/v1/borrow-requests/{granted}/approve")
    _post(client, seller, f"/api/v1/borrow-requests/{granted}/return")
    destruction = _post(
        client, archivist, "/api/v1/destruction-requests", {"document_ids": [document_id], "reason": "重复归档"}
    ).json()["id"]
    _post(client, leader, f"/api/v1/destruction-requests/{destruction}/approve")
    assert _post(client, archivist, f"/api/v1/destruction-requests/{destruction}/execute").status_code == 200

    reader = people["archivist2"]

    def audit(**params: object) -> list[dict]:
        response = client.get("/api/v1/audit", params=params, headers=reader.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def steps(entries: list[dict]) -> list[tuple[str, str]]:
        return [(entry["action"], entry["user"]) for entry in entries]

    (lookup,) = audit(action="lookup")
    assert (lookup["user"], lookup["target"], lookup["details"]["license_no"]) == ("zhang.wei", coded["id"], CREDIT_CODE)
    assert steps(audit(target=refused)) == [("borrow_reject", "chen.dang"), ("borrow_request", "li.na")]
    assert audit(target=refused)[0]["details"]["note"] == "请说明用途"
    assert steps(audit(target=granted)) == [
        ("borrow_return", "li.na"), ("borrow_approve", "chen.dang"), ("borrow_request", "li.na"),
    ]
    executed, approved, requested = audit(target=destruction)
    assert steps([executed, approved, requested]) == [
        ("destruction_execute", "chen.dang"), ("destruction_approve", "lin.zong"), ("destruction_request", "chen.dang"),
    ]
    assert [d["id"] for d in executed["details"]["documents"]] == [document_id]

    # since is inclusive, until exclusive: the window from the granted loan's approval to its return.
    window = audit(target=granted)
    since, until = window[1]["at"], window[0]["at"]
    between = audit(since=since, until=until)
    assert steps(between) == [("borrow_approve", "chen.dang")]
    assert all(since <= entry["at"] < until for entry in between)
    assert audit(since=executed["at"], action="destruction_execute") == [executed]
    assert audit(until=requested["at"], action="destruction_request") == []

    # Pages are consecutive slices of the newest-first list.
    everything = audit(user="li.na")
    assert steps(everything) == [("borrow_return", "li.na"), ("borrow_request", "li.na"), ("borrow_request", "li.na")]
    pages = [audit(user="li.na", size=2, page=n) for n in (1, 2, 3)]
    assert [[entry["seq"] for entry in page] for page in pages] == [
        [entry["seq"] for entry in everything[:2]], [everything[2]["seq"]], [],
    ]

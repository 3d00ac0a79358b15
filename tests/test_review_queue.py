"""The review queue and `expiry_unknown`: nothing the reader could not read is silently missed.

Documents are uploaded as files and read by the real worker; every state below comes from
what the reader found, and every change from a person's decision through the API.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook

from archive.compliance import send_expiry_notices
from archive.db import make_engine, make_session_factory, session_scope
from archive.models import Document
from archive.search_index import documents_alias
from ingest.fields import extract_fields
from ingest.pipeline import keep_fields
from tests.conftest import _free_port
from tests.review_samples import (
    CONTRACT_WITH_UNREADABLE_TERM,
    CONTRACT_WITHOUT_TERM,
    ID_CARD_MISREAD,
    ID_CARD_WITHOUT_TERM,
    PARTNER,
    licence_pdf,
)
from tests.samples import CREDIT_CODE, LICENCE_TEXT, scan_image, text_pdf

OTHER_PARTNER = "厦门鹭岛机电设备有限公司"
UNREADABLE_TERM = "2015年03月11日至2035年13月40日"


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture
def people(make_caller):  # type: ignore[no-untyped-def]
    return {
        "buyer": make_caller("zhang.wei", departments="采购部"),
        "seller": make_caller("li.na", departments="销售部"),
        "archivist": make_caller("chen.dang", roles="archivist", clearance="confidential"),
        "compliance": make_caller("zhao.he", roles="compliance", clearance="confidential"),
        "admin": make_caller("wang.ling", roles="admin", clearance="confidential"),
    }


@pytest.fixture
def unknown_expiries(tmp_path, client, upload, run_worker, people, create_partner):  # type: ignore[no-untyped-def]
    """A licence, an ID card and a contract with no readable expiry; a contract with no term and a
    长期 licence (which are not unknown); one licence of 销售部."""
    purchasing = create_partner(PARTNER, "采购部", credit_code=CREDIT_CODE)
    other = create_partner(OTHER_PARTNER, "采购部")
    sales = create_partner("泉州刺桐纺织品进出口有限公司", "销售部")

    def send(caller, path, partner, doc_type):  # type: ignore[no-untyped-def]
        response = upload(caller, path, partner_id=partner["id"], doc_type=doc_type)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    buyer, seller = people["buyer"], people["seller"]
    ids = {
        "licence": send(buyer, licence_pdf(tmp_path, "营业执照", term=UNREADABLE_TERM), purchasing, "business_license"),
        "card": send(buyer, text_pdf(tmp_path / "法人身份证.pdf", [ID_CARD_WITHOUT_TERM]), purchasing, "id_card"),
        "contract": send(
            buyer, text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_WITH_UNREADABLE_TERM]), purchasing, "contract"
        ),
        "no_term": send(buyer, text_pdf(tmp_path / "框架合同.pdf", [CONTRACT_WITHOUT_TERM]), purchasing, "contract"),
        "perpetual": send(
            buyer, licence_pdf(tmp_path, "长期执照", term="2015年03月11日至长期"), other, "business_license"
        ),
        "sales": send(seller, licence_pdf(tmp_path, "销售部执照", term=UNREADABLE_TERM), sales, "business_license"),
    }
    run_worker()
    return ids


def _sections(client, caller, within_days: int = 30) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(
        "/api/v1/compliance/expiring", params={"within_days": within_days, "sections": "true"}, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def _decide(client, caller, document_id: str, field: str, **body: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/review-queue/{document_id}/{field}", json=body, headers=caller.headers)


def test_expiry_unknown_is_listed_apart_until_a_person_settles_it(client, people, unknown_expiries) -> None:
    ids = unknown_expiries
    buyer, archivist = people["buyer"], people["archivist"]
    body = _sections(client, buyer)
    unknown = {item["id"]: item for item in body["expiry_unknown"]}
    assert set(unknown) == {ids["licence"], ids["card"], ids["contract"]}
    assert "营业期限" in unknown[ids["licence"]]["reason"]
    assert unknown[ids["card"]]["review_url"] == f"/review?document={ids['card']}"
    assert body["expiring"] == []

    # Today's response keeps its shape; the header says what it cannot hold.
    plain = client.get("/api/v1/compliance/expiring", params={"within_days": 30}, headers=buyer.headers)
    assert plain.json() == []
    assert plain.headers["X-Expiry-Unknown"] == "3"
    seller_view = client.get("/api/v1/compliance/expiring", headers=people["seller"].headers)
    assert seller_view.headers["X-Expiry-Unknown"] == "1"
    assert [i["id"] for i in _sections(client, people["seller"])["expiry_unknown"]] == [ids["sales"]]

    # Three ways to settle it: the date supplied, none recorded, 长期 stated on the edit path.
    soon = (datetime.now(UTC).date() + timedelta(days=20)).isoformat()
    decided = _decide(client, archivist, ids["licence"], "expires_on", decision="correct", value=soon)
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"] == "corrected" and decided.json()["decided_by"] == "chen.dang"
    assert _decide(client, archivist, ids["card"], "expires_on", decision="not_present").status_code == 200
    patched = client.patch(
        f"/api/v1/documents/{ids['contract']}", json={"fields": {"expires_on": "长期"}}, headers=archivist.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["fields"]["perpetual"] is True and "expires_on" not in patched.json()["fields"]

    body = _sections(client, buyer)
    assert body["expiry_unknown"] == []
    assert [item["id"] for item in body["expiring"]] == [ids["licence"]]  # now dated, 20 days left
    licence = client.get(f"/api/v1/documents/{ids['licence']}", headers=buyer.headers).json()
    assert licence["expires_on"] == soon and licence["fields"]["expires_on"] == soon
    provenance = licence["field_provenance"]["expires_on"]
    assert provenance["source"] == "supplied" and provenance["by"] == "chen.dang" and provenance["at"]
    assert "expires_on" not in licence["field_problems"]
    card = client.get(f"/api/v1/documents/{ids['card']}", headers=buyer.headers).json()
    assert card["field_provenance"]["expires_on"]["not_present"] is True
    audited = client.get("/api/v1/audit", params={"action": "field_correction"}, headers=archivist.headers).json()
    assert {entry["target"] for entry in audited} == {ids["licence"], ids["card"], ids["contract"]}


def test_the_annual_review_and_the_daily_notice_carry_expiry_unknown(
    settings, client, people, unknown_expiries
) -> None:
    ids = unknown_expiries
    year = datetime.now(UTC).year
    review = client.get(
        "/api/v1/reports/annual-review", params={"year": year}, headers=people["compliance"].headers
    ).json()
    by_department = {d["department"]: d for d in review["departments"]}
    assert {d["id"] for d in by_department["采购部"]["expiry_unknown"]} == {ids["licence"], ids["card"], ids["contract"]}
    assert [d["id"] for d in by_department["销售部"]["expiry_unknown"]] == [ids["sales"]]
    workbook = load_workbook(
        io.BytesIO(
            client.get(
                "/api/v1/reports/annual-review",
                params={"year": year, "format": "xlsx"},
                headers=people["compliance"].headers,
            ).content
        )
    )
    rows = list(workbook["到期日未知"].iter_rows(min_row=5, values_only=True))
    assert sorted(row[2] for row in rows) == sorted(
        client.get(f"/api/v1/documents/{i}", headers=people["archivist"].headers).json()["archive_no"]
        for i in (ids["licence"], ids["card"], ids["contract"], ids["sales"])
    )

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
    mailbox = _Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    configured = settings.model_copy(
        update={
            "notify_webhooks": {"*": f"http://127.0.0.1:{server.server_port}/hook"},
            "notify_emails": {"采购部": ["caigou@minjiang-scm.cn"]},
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_starttls": False,
        }
    )
    factory = make_session_factory(make_engine(settings.resolved_database_url))
    try:
        with session_scope(factory) as session:
            assert send_expiry_notices(session, settings=configured) == 4 + 3  # webhooks, then 采购部's mail
        with session_scope(factory) as session:
            assert send_expiry_notices(session, settings=configured) == 0  # each sent once
    finally:
        server.shutdown()
        smtp.stop()
    (mail,) = mailbox.messages
    body = email.message_from_string(mail, policy=email.policy.default)
    assert "到期日期未知" in body["Subject"]
    text = body.get_body().get_content()
    for document_id in (ids["licence"], ids["card"], ids["contract"]):
        number = client.get(f"/api/v1/documents/{document_id}", headers=people["archivist"].headers).json()
        assert f"{number['archive_no']} {PARTNER}《{number['title']}》 到期日期未知" in text
    notices = {notice["department"]: notice for notice in received}
    assert set(notices) == {"采购部", "销售部"}
    assert {d["id"] for d in notices["采购部"]["expiry_unknown"]} == {ids["licence"], ids["card"], ids["contract"]}
    assert notices["采购部"]["documents"] == []
    assert [d["id"] for d in notices["销售部"]["expiry_unknown"]] == [ids["sales"]]


def test_the_queue_lists_unknown_fields_under_the_visibility_rule_with_numbers_masked(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    purchasing = create_partner(PARTNER, "采购部", credit_code=CREDIT_CODE)
    sales = create_partner(OTHER_PARTNER, "销售部")
    card = upload(
        people["buyer"], text_pdf(tmp_path / "身份证.pdf", [ID_CARD_MISREAD]), partner_id=purchasing["id"],
        doc_type="id_card",
    ).json()["id"]
    # Filed 秘密 by the office: nobody uploads above their own clearance.
    contract = upload(
        people["archivist"], text_pdf(tmp_path / "销售合同.pdf", [CONTRACT_WITH_UNREADABLE_TERM]),
        partner_id=sales["id"], doc_type="contract", confidentiality="secret",
    ).json()["id"]
    run_worker()

    def queue(caller, **params):  # type: ignore[no-untyped-def]
        response = client.get("/api/v1/review-queue", params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        return response.json()

    office = queue(people["archivist"], size=200)
    by_key = {(item["document_id"], item["field"]): item for item in office["items"]}
    assert office["total"] == len(office["items"])
    misread = by_key[(card, "id_number")]
    assert misread["kind"] == "unknown" and misread["value"] is None
    assert "350102198506123012" in misread["reason"]  # the office sees what was read
    assert by_key[(contract, "expires_on")]["kind"] == "unknown"
    assert {item["field"] for item in office["items"] if item["document_id"] == contract} >= {"amount", "signed_on"}

    compliance = client.get("/api/v1/review-queue", params={"size": 200}, headers=people["compliance"].headers)
    assert compliance.json()["total"] == office["total"]
    assert "19850612" not in compliance.text and "350102********3012" in compliance.text

    buyer_view = queue(people["buyer"], size=200)
    assert {item["document_id"] for item in buyer_view["items"]} == {card}
    assert "19850612" not in json.dumps(buyer_view, ensure_ascii=False)
    assert queue(people["seller"])["total"] == 0  # 销售部's contract is above an internal clearance

    only = queue(people["archivist"], document_id=contract, field="expires_on")
    assert [(i["document_id"], i["field"]) for i in only["items"]] == [(contract, "expires_on")]
    assert queue(people["archivist"], kind="supersession")["total"] == 0
    assert {i["document_id"] for i in queue(people["archivist"], department="销售部", size=200)["items"]} == {contract}

    summary = client.get("/api/v1/review-queue/summary", headers=people["compliance"].headers).json()
    counts = {row["department"]: row["open"] for row in summary["departments"]}
    assert counts == {
        "采购部": sum(1 for i in office["items"] if i["document_id"] == card),
        "销售部": sum(1 for i in office["items"] if i["document_id"] == contract),
    }
    assert summary["total"] == office["total"]
    buyer_summary = client.get("/api/v1/review-queue/summary", headers=people["buyer"].headers).json()
    assert [row["department"] for row in buyer_summary["departments"]] == ["采购部"]

    # Decided items leave the open queue and the counts, and stay listed as decided.
    assert _decide(client, people["admin"], contract, "signed_on", decision="correct", value="2026-01-01").status_code == 200
    assert (contract, "signed_on") not in {(i["document_id"], i["field"]) for i in queue(people["archivist"], size=200)["items"]}
    decided = queue(people["archivist"], status="decided")["items"]
    assert [(i["document_id"], i["field"], i["decision"], i["decided_by"]) for i in decided] == [
        (contract, "signed_on", "corrected", "wang.ling")
    ]
    after = client.get("/api/v1/review-queue/summary", headers=people["compliance"].headers).json()
    assert after["total"] == summary["total"] - 1


def test_decisions_on_a_scanned_licence_become_supplied_and_reach_the_index(
    tmp_path, es, settings, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner(PARTNER, "采购部")
    scan = scan_image(tmp_path / "营业执照扫描件.png", LICENCE_TEXT, dpi=200)
    document_id = upload(people["buyer"], scan, partner_id=partner["id"], doc_type="business_license").json()["id"]
    run_worker()
    archivist = people["archivist"]
    items = client.get(
        "/api/v1/review-queue", params={"document_id": document_id}, headers=archivist.headers
    ).json()["items"]
    unsure = [item for item in items if item["kind"] == "needs_review"]
    # Free text read by OCR is never taken as certain: the name and the other free-text fields.
    assert len(unsure) >= 3, items
    assert all(item["value"] and item["provenance"]["page"] == 1 for item in unsure)
    accepted, corrected, absent = unsure[:3]

    assert _decide(client, archivist, document_id, accepted["field"], decision="accept").status_code == 200
    new_value = "福建省闽江供应链管理有限公司（更正）"
    response = _decide(client, archivist, document_id, corrected["field"], decision="correct", value=new_value)
    assert response.status_code == 200, response.text
    assert response.json()["value"] == new_value
    assert _decide(client, archivist, document_id, absent["field"], decision="not_present").status_code == 200

    document = client.get(f"/api/v1/documents/{document_id}", headers=archivist.headers).json()
    fields, provenance = document["fields"], document["field_provenance"]
    assert fields[accepted["field"]] == accepted["value"]
    assert provenance[accepted["field"]]["source"] == "supplied"
    assert provenance[accepted["field"]]["needs_review"] is False
    assert provenance[accepted["field"]]["by"] == "chen.dang"
    assert fields[corrected["field"]] == new_value
    assert provenance[corrected["field"]]["raw"] == corrected["value"]  # what was read stays on record
    assert provenance[corrected["field"]]["page"] == 1
    assert absent["field"] not in fields and provenance[absent["field"]]["not_present"] is True

    source = es.get(index=documents_alias(settings.es_index_prefix), id=document_id)["_source"]
    assert source["fields"][corrected["field"]] == new_value
    assert absent["field"] not in source["fields"]

    # A credit code corrected through the queue is found by the look-up at once.
    code = next((i for i in items if i["field"] == "credit_code"), None)
    if code is None:  # read and checked: correct it on the edit path instead, to another valid code
        patched = client.patch(
            f"/api/v1/documents/{document_id}", json={"fields": {"credit_code": "91350200705123457E"}},
            headers=archivist.headers,
        )
        assert patched.status_code == 200, patched.text
    else:
        assert _decide(
            client, archivist, document_id, "credit_code", decision="correct", value="91350200705123457E"
        ).status_code == 200
    found = client.get("/api/v1/lookup", params={"license_no": "91350200705123457E"}, headers=archivist.headers)
    assert found.status_code == 200, found.text
    assert [d["id"] for d in found.json()["documents"]] == [document_id]

    log = client.get("/api/v1/audit", params={"action": "field_correction"}, headers=archivist.headers).json()
    decisions = [entry["details"]["fields"] for entry in log if entry["target"] == document_id]
    recorded = {name: change["decision"] for d in decisions for name, change in d.items()}
    assert recorded.items() >= {
        accepted["field"]: "accepted",
        corrected["field"]: "corrected",
        absent["field"]: "not_present",
    }.items()


def test_patch_with_fields_changes_them_through_the_same_service(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner(PARTNER, "采购部")
    contract = upload(
        people["buyer"], text_pdf(tmp_path / "合同.pdf", [CONTRACT_WITH_UNREADABLE_TERM]), partner_id=partner["id"]
    ).json()["id"]
    run_worker()
    archivist = people["archivist"]
    response = client.patch(
        f"/api/v1/documents/{contract}",
        json={"fields": {"amount": "¥123,456", "signed_on": "2025-12-20", "party_b": None}},
        headers=archivist.headers,
    )
    assert response.status_code == 200, response.text
    fields = response.json()["fields"]
    assert fields["amount"] == "123456.00" and fields["signed_on"] == "2025-12-20" and "party_b" not in fields
    assert response.json()["field_provenance"]["party_b"]["not_present"] is True
    again = client.get(f"/api/v1/documents/{contract}", headers=archivist.headers).json()
    assert again["fields"] == fields  # kept, not only answered
    open_fields = {
        item["field"]
        for item in client.get(
            "/api/v1/review-queue", params={"document_id": contract}, headers=archivist.headers
        ).json()["items"]
    }
    assert not open_fields & {"amount", "signed_on"}
    assert "expires_on" in open_fields
    # Two spellings of one expiry that disagree are refused, not guessed between.
    clash = client.patch(
        f"/api/v1/documents/{contract}",
        json={"expires_on": "2027-12-31", "fields": {"expires_on": "2027-12-30"}},
        headers=archivist.headers,
    )
    assert clash.status_code == 422
    assert client.patch(
        f"/api/v1/documents/{contract}", json={"fields": {"signed_on": "2025-12-21"}}, headers=people["buyer"].headers
    ).status_code == 403


def test_bad_decisions_are_refused_with_a_reason_and_change_nothing(
    tmp_path, client, upload, run_worker, people, create_partner, make_caller
) -> None:
    partner = create_partner(PARTNER, "采购部")
    licence = upload(
        people["archivist"], licence_pdf(tmp_path, "营业执照", term=UNREADABLE_TERM), partner_id=partner["id"],
        doc_type="business_license", confidentiality="secret",
    ).json()["id"]
    contract = upload(
        people["buyer"], text_pdf(tmp_path / "合同.pdf", [CONTRACT_WITH_UNREADABLE_TERM]), partner_id=partner["id"]
    ).json()["id"]
    run_worker()
    archivist = people["archivist"]
    before = client.get(f"/api/v1/documents/{licence}", headers=archivist.headers).json()

    # Hidden from an archivist whose clearance does not reach it: as if absent.
    low = make_caller("wu.dang", roles="archivist", clearance="internal")
    hidden = _decide(client, low, licence, "expires_on", decision="correct", value="2035-03-10")
    assert hidden.status_code == 404
    assert _decide(client, archivist, "0" * 32, "expires_on", decision="not_present").status_code == 404
    assert _decide(client, archivist, licence, "contract_no", decision="not_present").status_code == 404

    for caller in (people["buyer"], people["compliance"]):
        refused = _decide(client, caller, licence, "expires_on", decision="correct", value="2035-03-10")
        assert refused.status_code == 403
        assert "档案管理员" in refused.json()["detail"] and "archivist" in refused.json()["detail"]

    for value, words in (
        ("2035/03/10", ("日期格式", "a date like")),
        ("2035-02-30", ("日期不存在", "no such date")),
    ):
        bad = _decide(client, archivist, licence, "expires_on", decision="correct", value=value)
        assert bad.status_code == 422, bad.text
        assert all(word in bad.json()["detail"] for word in words), bad.json()
    wrong_check = CREDIT_CODE[:17] + ("0" if CREDIT_CODE[17] != "0" else "1")
    bad_code = client.patch(
        f"/api/v1/documents/{licence}", json={"fields": {"credit_code": wrong_check}}, headers=archivist.headers
    )
    assert bad_code.status_code == 422
    assert "校验位" in bad_code.json()["detail"] and "check character" in bad_code.json()["detail"]
    assert bad_code.json()["field"] == "credit_code"
    assert _decide(client, archivist, licence, "expires_on", decision="accept").status_code == 422  # nothing read
    assert _decide(client, archivist, licence, "expires_on", decision="correct").status_code == 422  # no value
    assert _decide(client, archivist, licence, "expires_on", decision="confirm").status_code == 422
    assert _decide(client, archivist, licence, "expires_on", decision="shrug").status_code == 422
    unknown_field = client.patch(
        f"/api/v1/documents/{contract}", json={"fields": {"favourite_colour": "蓝"}}, headers=archivist.headers
    )
    assert unknown_field.status_code == 422 and "未知字段" in unknown_field.json()["detail"]
    assert client.get(f"/api/v1/documents/{licence}", headers=archivist.headers).json() == before

    # Deciding twice: the second is refused, naming who decided.
    assert _decide(client, archivist, licence, "expires_on", decision="not_present").status_code == 200
    twice = _decide(client, people["admin"], licence, "expires_on", decision="correct", value="2035-03-10")
    assert twice.status_code == 409
    assert "chen.dang" in twice.json()["detail"] and "already decided" in twice.json()["detail"]
    assert client.get(f"/api/v1/documents/{licence}", headers=archivist.headers).json()["expires_on"] is None


def test_an_issue_date_known_only_by_its_place_on_the_page_waits_for_a_person(
    tmp_path, settings, client, upload, run_worker, people, create_partner
) -> None:
    # When OCR lost 登记机关 (under the seal), the licence's issue date is the one date standing
    # alone at the bottom of the page; on a photographed licence that can be a misread date,
    # and supersession and the annual review act on it, so a person confirms it.
    layout = {"width": 2480, "height": 3508, "words": [["2023年04月23日", 1650, 2930, 1970, 2970, 96.0]]}
    reading = extract_fields("business_license", [(1, "")], {1: layout})
    assert reading.fields["issued_on"].method == "place"

    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    accepted = upload(people["archivist"], text_pdf(tmp_path / "执照.pdf", [LICENCE_TEXT]),
                      partner_id=partner["id"], doc_type="business_license")
    run_worker()
    factory = make_session_factory(make_engine(settings.resolved_database_url))
    with session_scope(factory) as session:
        document = session.get(Document, accepted.json()["id"])
        keep_fields(document, reading, page_sources={1: "ocr"})
    with session_scope(factory) as session:
        document = session.get(Document, accepted.json()["id"])
        assert document.field_provenance["issued_on"]["needs_review"] is True
        assert ("issued_on", "needs_review") in {(item.field, item.kind) for item in document.review_items}

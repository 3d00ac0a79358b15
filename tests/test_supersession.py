"""Supersession on the right date: the licence issued later is the current one, never by 成立日期,
and a document dated after the day it was uploaded replaces nothing until an archivist confirms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import Document
from archive.permissions import User
from archive.review import would_supersede
from tests.review_samples import PARTNER, chinese_date, licence_pdf
from tests.samples import CREDIT_CODE


@pytest.fixture
def people(make_caller):  # type: ignore[no-untyped-def]
    return {
        "buyer": make_caller("zhang.wei", departments="采购部"),
        "archivist": make_caller("chen.dang", roles="archivist", clearance="confidential"),
        "compliance": make_caller("zhao.he", roles="compliance", clearance="confidential"),
    }


def _in_days(days: int) -> str:
    return chinese_date((datetime.now(UTC).date() + timedelta(days=days)).isoformat())


def _upload_licence(upload, caller, partner, tmp_path, name, **text):  # type: ignore[no-untyped-def]
    response = upload(caller, licence_pdf(tmp_path, name, **text), partner_id=partner["id"], doc_type="business_license")
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _document(client, caller, document_id):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/documents/{document_id}", headers=caller.headers).json()


def _would_replace(settings, user: User, document_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    """What the review page lists as the documents this one would replace, for `user`."""
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        replaced = [d.id for d in would_supersede(session, user=user, document=session.get(Document, document_id))]
    engine.dispose()
    return replaced


def _expiring_ids(client, caller) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/compliance/expiring", params={"within_days": 60}, headers=caller.headers)
    return [item["id"] for item in response.json()]


def test_the_licence_issued_later_is_current_whatever_the_upload_order(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner(PARTNER, "采购部", credit_code=CREDIT_CODE)
    buyer = people["buyer"]
    # The re-issued licence arrives first, the older one after; both say 成立日期 2015-03-11.
    newer = _upload_licence(
        upload, buyer, partner, tmp_path, "营业执照（2024换发）", issued="2024年05月20日",
        term="2015年03月11日至2045年03月10日",
    )
    run_worker()
    older = _upload_licence(
        upload, buyer, partner, tmp_path, "营业执照（2019）", issued="2019年05月20日",
        term=f"2015年03月11日至{_in_days(20)}",
    )
    run_worker()
    newer_doc, older_doc = _document(client, buyer, newer), _document(client, buyer, older)
    assert newer_doc["fields"]["issued_on"] == "2024-05-20"
    assert newer_doc["fields"]["founded_on"] == older_doc["fields"]["founded_on"] == "2015-03-11"
    assert older_doc["superseded_by"] == newer
    assert newer_doc["superseded_by"] is None
    assert older not in _expiring_ids(client, buyer)  # its expiry is the replaced licence's


def test_without_a_readable_issue_date_the_later_upload_is_newer(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner(PARTNER, "采购部", credit_code=CREDIT_CODE)
    buyer = people["buyer"]
    first = _upload_licence(
        upload, buyer, partner, tmp_path, "营业执照（旧）", issued="2019年05月20日", term=f"2015年03月11日至{_in_days(20)}"
    )
    run_worker()
    # The issue date under 登记机关 is missing: it counts as issued on the day it was uploaded.
    second = _upload_licence(upload, buyer, partner, tmp_path, "营业执照（新）", issued="", term="2015年03月11日至长期")
    run_worker()
    assert "issued_on" not in _document(client, buyer, second)["fields"]
    assert _document(client, buyer, first)["superseded_by"] == second
    assert _document(client, buyer, second)["superseded_by"] is None
    assert first not in _expiring_ids(client, buyer)


def test_a_licence_dated_after_its_upload_day_waits_for_an_archivist(
    tmp_path, settings, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner(PARTNER, "采购部", credit_code=CREDIT_CODE)
    buyer, archivist = people["buyer"], people["archivist"]
    current = _upload_licence(
        upload, buyer, partner, tmp_path, "营业执照", issued="2019年05月20日", term=f"2015年03月11日至{_in_days(20)}"
    )
    run_worker()
    future = _in_days(30)
    dated_later = _upload_licence(
        upload, buyer, partner, tmp_path, "营业执照（新）", issued=future, term="2015年03月11日至2045年03月10日"
    )
    run_worker()
    assert _document(client, buyer, current)["superseded_by"] is None
    assert _document(client, buyer, dated_later)["superseded_by"] is None
    assert current in _expiring_ids(client, buyer)  # still showing: nothing replaced it yet

    queue = client.get(
        "/api/v1/review-queue", params={"kind": "supersession"}, headers=archivist.headers
    ).json()["items"]
    assert [(item["document_id"], item["field"]) for item in queue] == [(dated_later, "supersedes")]
    assert "晚于上传日" in queue[0]["reason"] and "after the day it was uploaded" in queue[0]["reason"]
    assert "他人" not in queue[0]["reason"]  # the same uploader: only the date holds it back

    # What the archivist is shown as the licence the confirmation would replace; a caller of
    # another department, who does not see it, is not told of it.
    archivist_user = User(sub="chen.dang", roles=frozenset({"archivist"}), departments=frozenset(),
                          clearance="confidential")
    outsider = User(sub="li.na", roles=frozenset({"staff"}), departments=frozenset({"销售部"}), clearance="internal")
    assert _would_replace(settings, archivist_user, dated_later) == [current]
    assert _would_replace(settings, outsider, dated_later) == []

    decision = {"decision": "confirm", "note": "已电话核实换证日期"}
    for caller in (buyer, people["compliance"]):
        refused = client.post(f"/api/v1/review-queue/{dated_later}/supersedes", json=decision, headers=caller.headers)
        assert refused.status_code == 403
    confirmed = client.post(f"/api/v1/review-queue/{dated_later}/supersedes", json=decision, headers=archivist.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["decision"] == "confirmed"
    assert _document(client, buyer, current)["superseded_by"] == dated_later
    assert current not in _expiring_ids(client, buyer)
    assert _would_replace(settings, archivist_user, dated_later) == []  # replaced already
    again = client.post(f"/api/v1/review-queue/{dated_later}/supersedes", json=decision, headers=archivist.headers)
    assert again.status_code == 409


def test_correcting_an_issue_date_moves_supersession(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner(PARTNER, "采购部", credit_code=CREDIT_CODE)
    buyer, archivist = people["buyer"], people["archivist"]
    first = _upload_licence(upload, buyer, partner, tmp_path, "营业执照（甲）", issued="2024年05月20日")
    run_worker()
    second = _upload_licence(upload, buyer, partner, tmp_path, "营业执照（乙）", issued="2019年05月20日")
    run_worker()
    assert _document(client, buyer, second)["superseded_by"] == first
    # The date on the second was misread: it was issued in 2025.
    response = client.patch(
        f"/api/v1/documents/{second}", json={"fields": {"issued_on": "2025-06-01"}}, headers=archivist.headers
    )
    assert response.status_code == 200, response.text
    assert _document(client, buyer, first)["superseded_by"] == second
    assert _document(client, buyer, second)["superseded_by"] is None


def _id_number(first17: str) -> str:
    from archive.identifiers import id_number_check_char

    return first17 + id_number_check_char(first17)


def test_an_id_card_replaces_only_the_same_persons_card(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    from tests.samples import text_pdf

    partner = create_partner(PARTNER, "采购部", credit_code=CREDIT_CODE)
    buyer = people["buyer"]
    legal, agent = _id_number("35010219850612301"), _id_number("35020319900307452")
    soon = (datetime.now(UTC).date() + timedelta(days=20)).strftime("%Y.%m.%d")

    def card(name: str, person: str, number: str, term: str) -> str:
        path = text_pdf(tmp_path / f"{name}.pdf", [f"姓名 {person}\n公民身份号码 {number}\n有效期限 {term}"])
        response = upload(buyer, path, partner_id=partner["id"], doc_type="id_card")
        assert response.status_code == 202, response.text
        return response.json()["id"]

    legal_card = card("法定代表人身份证", "林建华", legal, f"2016.05.10-{soon}")
    run_worker()
    agent_card = card("经办人身份证", "王丽", agent, "2020.03.07-2040.03.07")
    run_worker()
    # The agent's newer card does not hide the legal representative's, which expires soon.
    assert _document(client, buyer, legal_card)["superseded_by"] is None
    assert legal_card in _expiring_ids(client, buyer)
    renewed = card("法定代表人身份证（换领）", "林建华", legal, "2026.01.10-2046.01.10")
    run_worker()
    assert _document(client, buyer, legal_card)["superseded_by"] == renewed
    assert _document(client, buyer, agent_card)["superseded_by"] is None
    assert legal_card not in _expiring_ids(client, buyer)


def test_destroying_the_current_licence_brings_back_the_one_it_replaced(
    tmp_path, client, upload, run_worker, people, create_partner, make_caller
) -> None:
    partner = create_partner(PARTNER, "采购部", credit_code=CREDIT_CODE)
    buyer, archivist = people["buyer"], people["archivist"]
    leader = make_caller("lin.zong", roles="admin", clearance="confidential")
    older = _upload_licence(
        upload, buyer, partner, tmp_path, "营业执照（2019）", issued="2019年05月20日", term=f"2015年03月11日至{_in_days(20)}"
    )
    run_worker()
    newer = _upload_licence(upload, buyer, partner, tmp_path, "营业执照（2024）", issued="2024年05月20日")
    run_worker()
    assert _document(client, buyer, older)["superseded_by"] == newer
    request = client.post(
        "/api/v1/destruction-requests",
        json={"document_ids": [newer], "reason": "误传的副本，经鉴定销毁"},
        headers=archivist.headers,
    ).json()["id"]
    assert client.post(f"/api/v1/destruction-requests/{request}/approve", headers=leader.headers).status_code == 200
    executed = client.post(f"/api/v1/destruction-requests/{request}/execute", headers=archivist.headers)
    assert executed.status_code == 200, executed.text
    assert _document(client, buyer, older)["superseded_by"] is None
    assert older in _expiring_ids(client, buyer)


def test_a_replaced_licence_of_unknown_expiry_is_no_longer_listed(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner(PARTNER, "采购部", credit_code=CREDIT_CODE)
    buyer = people["buyer"]
    unreadable = _upload_licence(
        upload, buyer, partner, tmp_path, "营业执照（模糊）", issued="", term="2015年03月11日至2035年13月40日"
    )
    run_worker()

    def unknown() -> list[str]:
        response = client.get("/api/v1/compliance/expiring", params={"sections": "true"}, headers=buyer.headers)
        return [item["id"] for item in response.json()["expiry_unknown"]]

    assert unknown() == [unreadable]
    replacement = _upload_licence(upload, buyer, partner, tmp_path, "营业执照（清晰）", issued="")
    run_worker()
    assert _document(client, buyer, unreadable)["superseded_by"] == replacement
    assert unknown() == []

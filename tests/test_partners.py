"""Partners: registration, numbering, credit-code checks, history, visibility."""

from __future__ import annotations

import re

import pytest

from archive.credit_code import (
    credit_code_check_char,
    is_valid_credit_code,
    is_valid_registration_no,
    normalize_license_no,
)
from tests.samples import CREDIT_CODE


def test_credit_code_check_character_follows_gb_32100() -> None:
    assert is_valid_credit_code("91350100M000100Y43")
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert not is_valid_credit_code("91350100M000100Y44")
    # I, O, S, V and Z never appear in a credit code.
    assert not is_valid_credit_code("91350100M000100O43")


def test_registration_number_check_digit() -> None:
    assert is_valid_registration_no("110108000000016")
    assert not is_valid_registration_no("110108000000017")


def test_license_numbers_are_normalised_from_how_people_type_them() -> None:
    assert normalize_license_no(" ９１３５ 0100m000100y43 ") == "91350100M000100Y43"


def test_create_partner_numbers_it_by_kind_and_year(client, make_caller) -> None:
    # The archive office opens an archive at once; anyone else's waits for approval
    # (tests/test_partner_life.py).
    caller = make_caller("wang.fang", roles="archivist", clearance="confidential")
    response = client.post(
        "/api/v1/partners",
        json={
            "name": "福建省闽江供应链管理有限公司",
            "kind": "supplier",
            "department": "采购部",
            "credit_code": f"{CREDIT_CODE[:9]} {CREDIT_CODE[9:].lower()}",
            "legal_representative": "林建华",
            "contact_person": "陈晓燕",
            "phone": "0591-87654321",
            "email": "chenxy@minjiang-scm.cn",
            "credit_rating": "A",
        },
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "active"
    assert re.fullmatch(r"GYS-\d{4}-000001", body["archive_no"])
    assert body["credit_code"] == CREDIT_CODE

    second = client.post(
        "/api/v1/partners",
        json={"name": "厦门鹭岛机电设备有限公司", "kind": "supplier", "department": "采购部"},
        headers=caller.headers,
    )
    assert second.json()["archive_no"].endswith("-000002")
    customer = client.post(
        "/api/v1/partners",
        json={"name": "泉州海丝贸易有限公司", "kind": "customer", "department": "销售部"},
        headers=caller.headers,
    )
    assert re.fullmatch(r"KH-\d{4}-000001", customer.json()["archive_no"])


def test_duplicate_credit_code_is_409_naming_the_existing_partner(client, make_caller) -> None:
    caller = make_caller("zhang.wei", departments="采购部")
    first = client.post(
        "/api/v1/partners",
        json={
            "name": "福建省闽江供应链管理有限公司",
            "kind": "supplier",
            "department": "采购部",
            "credit_code": CREDIT_CODE,
        },
        headers=caller.headers,
    ).json()
    again = client.post(
        "/api/v1/partners",
        json={"name": "闽江供应链", "kind": "customer", "department": "销售部", "credit_code": CREDIT_CODE},
        headers=caller.headers,
    )
    assert again.status_code == 409
    assert again.json()["existing_id"] == first["id"]
    assert "福建省闽江供应链管理有限公司" in again.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("credit_code", "91350100M000100Y44"),
        ("kind", "vendor"),
        ("credit_rating", "E"),
        ("email", "不是邮箱"),
    ],
)
def test_invalid_partner_fields_are_422_naming_the_field(client, make_caller, field, value) -> None:
    caller = make_caller("zhang.wei", departments="采购部")
    body = {"name": "测试客商", "kind": "supplier", "department": "采购部", field: value}
    response = client.post("/api/v1/partners", json=body, headers=caller.headers)
    assert response.status_code == 422
    assert field in response.json()["detail"]


def test_changes_are_kept_as_history(client, make_caller, create_partner) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部", phone="0592-1234567")
    caller = make_caller("li.na", departments="采购部")
    response = client.patch(
        f"/api/v1/partners/{partner['id']}",
        json={"phone": "0592-7654321", "contact_person": "王强"},
        headers=caller.headers,
    )
    assert response.status_code == 200, response.text
    history = client.get(f"/api/v1/partners/{partner['id']}", headers=caller.headers).json()["history"]
    assert len(history) == 1
    assert history[0]["user"] == "li.na"
    assert history[0]["changes"]["phone"] == {"old": "0592-1234567", "new": "0592-7654321"}
    assert history[0]["changes"]["contact_person"] == {"old": None, "new": "王强"}


def test_partners_of_other_departments_do_not_exist_for_staff(client, make_caller, create_partner) -> None:
    ours = create_partner("福州榕城包装材料有限公司", "采购部")
    theirs = create_partner("泉州海丝贸易有限公司", "销售部", kind="customer")
    buyer = make_caller("zhang.wei", departments="采购部")
    listing = client.get("/api/v1/partners", headers=buyer.headers).json()
    assert [p["id"] for p in listing["items"]] == [ours["id"]]
    assert listing["total"] == 1
    assert client.get(f"/api/v1/partners/{theirs['id']}", headers=buyer.headers).status_code == 404
    archivist = make_caller("archive.office", roles="archivist", clearance="confidential")
    assert client.get("/api/v1/partners?q=泉州", headers=archivist.headers).json()["total"] == 1


def test_requests_without_a_valid_token_are_401(client, settings) -> None:
    assert client.get("/api/v1/partners").status_code == 401
    bad = client.get("/api/v1/partners", headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code == 401
    assert "令牌" in bad.json()["detail"]

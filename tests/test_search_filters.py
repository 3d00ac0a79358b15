"""Search filters: partner, department, partner kind and expiry bounds, inside the visibility rule."""

from __future__ import annotations

import pytest

from tests.samples import text_pdf

COMMON = "本档案收录合同档案及相关证照，供检索核对。"
# name: (partner, doc_type, department override, expires_on)
CORPUS = {
    "闽江采购合同": ("闽江", "contract", None, "2027-01-15"),
    "闽江资质证书": ("闽江", "qualification", "财务部", "2026-06-30"),
    "海丝销售合同": ("海丝", "contract", None, "2028-03-01"),
    "海丝往来函件": ("海丝", "other", None, None),
}


@pytest.fixture
def filed(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    partners = {
        "闽江": create_partner("福建省闽江供应链管理有限公司", "采购部"),
        "海丝": create_partner("泉州海丝贸易有限公司", "销售部", kind="customer"),
    }
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    ids = {}
    for name, (partner, doc_type, department, expires_on) in CORPUS.items():
        form = {
            "title": name,
            **({"department": department} if department else {}),
            **({"expires_on": expires_on} if expires_on else {}),
        }
        pdf = text_pdf(tmp_path / f"{name}.pdf", [f"{name}\n{COMMON}"])
        response = upload(office, pdf, partner_id=partners[partner]["id"], doc_type=doc_type, **form)
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
    assert run_worker() == len(CORPUS)
    return partners, ids, office


def _found(client, caller, **params) -> set[str]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/search", params={"q": "合同档案", **params}, headers=caller.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["hits"])
    return {hit["title"] for hit in body["hits"]}


def test_each_filter_narrows_to_exactly_its_documents(client, filed) -> None:
    partners, _ids, office = filed
    assert _found(client, office) == set(CORPUS)
    assert _found(client, office, partner_id=partners["闽江"]["id"]) == {"闽江采购合同", "闽江资质证书"}
    assert _found(client, office, department="财务部") == {"闽江资质证书"}
    assert _found(client, office, department="采购部") == {"闽江采购合同"}
    assert _found(client, office, kind="customer") == {"海丝销售合同", "海丝往来函件"}
    assert _found(client, office, kind="partner") == set()
    # Expiry bounds are strict, and a document without an expiry date meets neither.
    assert _found(client, office, expires_before="2027-01-15") == {"闽江资质证书"}
    assert _found(client, office, expires_before="2027-01-16") == {"闽江资质证书", "闽江采购合同"}
    assert _found(client, office, expires_after="2027-01-15") == {"海丝销售合同"}
    assert _found(client, office, expires_after="2026-06-29", expires_before="2028-03-01") == {
        "闽江资质证书",
        "闽江采购合同",
    }
    assert _found(client, office, kind="supplier", doc_type="contract") == {"闽江采购合同"}


def test_filters_apply_without_words_and_shape_the_facets(client, filed) -> None:
    _partners, _ids, office = filed
    body = client.get("/api/v1/search", params={"kind": "customer"}, headers=office.headers).json()
    assert {hit["title"] for hit in body["hits"]} == {"海丝销售合同", "海丝往来函件"}
    assert body["facets"] == {
        "doc_type": {"contract": 1, "other": 1},
        "department": {"销售部": 2},
        "kind": {"customer": 2},
    }


def test_a_filter_never_reaches_past_what_the_caller_sees(client, filed, make_caller) -> None:
    partners, _ids, _office = filed
    buyer = make_caller("zhang.wei", departments="采购部")
    assert _found(client, buyer) == {"闽江采购合同"}
    assert _found(client, buyer, department="财务部") == set()
    assert _found(client, buyer, partner_id=partners["海丝"]["id"]) == set()
    assert _found(client, buyer, kind="customer") == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "vendor"}, "kind"),
        ({"expires_before": "2027年1月1日"}, "expires_before"),
        ({"expires_after": "tomorrow"}, "expires_after"),
    ],
)
def test_a_malformed_filter_is_422_naming_it(client, make_caller, params, field) -> None:
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    response = client.get("/api/v1/search", params=params, headers=office.headers)
    assert response.status_code == 422
    assert field in response.json()["detail"]

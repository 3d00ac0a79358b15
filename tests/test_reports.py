"""Reports: 客商汇总表 (XLSX, CSV), 基本资料登记表 (DOCX) and the 7.1 annual review."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import docx
import openpyxl
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from archive.models import AuditEntry
from tests.samples import text_pdf

COLUMNS = ["序号", "供应商/客户", "企业法人", "联系人", "联系电话", "联系邮件", "合作内容", "备注"]

MINJIANG = {
    "name": "福建省闽江供应链管理有限公司", "department": "采购部", "kind": "supplier",
    "legal_representative": "林建华", "contact_person": "陈小明", "phone": "0591-87654321",
    "email": "chenxm@minjiang-scm.cn", "cooperation": "离心水泵、闸阀", "remarks": "年度框架协议",
    "bank_name": "中国工商银行福州鼓楼支行", "bank_account": "1402023109600123456",
}
LUDAO = {
    "name": "厦门鹭岛机电设备有限公司", "department": "采购部", "kind": "supplier",
    "credit_code": "913501003154662784", "legal_representative": "黄志强", "address": "厦门市湖里区华泰路18号",
    "contact_person": "郑丽娟", "phone": "0592-5678901", "fax": "0592-5678902", "email": "zhenglj@ludao-me.com",
    "bank_name": "中国银行厦门湖里支行", "bank_account": "4101 2345 6789 0012", "cooperation": "电机、配电柜",
    "credit_rating": "A", "remarks": "长期合作，月结30天",
}
HAISI = {"name": "泉州海丝贸易有限公司", "department": "销售部", "kind": "customer",
         "legal_representative": "蔡明辉", "contact_person": "吴婷"}
NANSHAN = {"name": "漳州南山物流有限公司", "department": "销售部", "kind": "customer",
           "legal_representative": "许国栋"}


def _licence(name: str, *, term: str, issued: str, code: str | None = None) -> str:
    """The text layer of a business licence: what the field reader takes the dates from."""
    return "\n".join([
        "营业执照",
        *([f"统一社会信用代码 {code}"] if code else []),
        f"名称 {name}",
        "类型 有限责任公司",
        f"营业期限 {term}",
        "登记机关 厦门市市场监督管理局",
        issued,
    ])


@pytest.fixture
def archive(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    """Four partners as the annual review of 2026 should find them (review date 2026-07-01).

    Every state comes from real uploads: 鹭岛's licence reads 营业期限 长期, and 海丝 filed a new
    licence (长期) that replaces its old one, which would otherwise expire within the year.
    """
    partners = {
        key: create_partner(**data)
        for key, data in (("闽江", MINJIANG), ("鹭岛", LUDAO), ("海丝", HAISI), ("南山", NANSHAN))
    }
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    ids = {}
    # name: (partner, doc_type, confidentiality, expires_on supplied, text read from it)
    documents = {
        "闽江营业执照": ("闽江", "business_license", "internal", "2027-03-31", None),
        "闽江保密协议": ("闽江", "contract", "secret", "2026-12-31", None),
        "鹭岛营业执照": ("鹭岛", "business_license", "internal", None, _licence(
            LUDAO["name"], code=LUDAO["credit_code"], term="2012年04月09日至长期", issued="2019年08月20日")),
        "海丝旧营业执照": ("海丝", "business_license", "internal", None, _licence(
            HAISI["name"], term="2006年09月30日至2026年09月30日", issued="2016年01月05日")),
        "海丝营业执照": ("海丝", "business_license", "internal", None, _licence(
            HAISI["name"], term="2006年09月30日至长期", issued="2023年05月16日")),
        "南山营业执照": ("南山", "business_license", "internal", "2026-03-01", None),
        "南山开户许可证": ("南山", "bank_account", "internal", None, None),
    }
    for name, (partner, doc_type, level, expires_on, page) in documents.items():
        pdf = text_pdf(tmp_path / f"{name}.pdf", [page or f"{name}\n{partners[partner]['name']}"])
        form = {"title": name, **({"expires_on": expires_on} if expires_on else {})}
        response = upload(office, pdf, partner_id=partners[partner]["id"], doc_type=doc_type,
                          confidentiality=level, **form)
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
    assert run_worker() == len(documents)
    licences = {name: client.get(f"/api/v1/documents/{ids[name]}", headers=office.headers).json()
                for name in ("鹭岛营业执照", "海丝旧营业执照", "海丝营业执照")}
    assert licences["鹭岛营业执照"]["fields"]["perpetual"] is True
    assert licences["海丝旧营业执照"]["expires_on"] == "2026-09-30"
    assert licences["海丝旧营业执照"]["superseded_by"] == ids["海丝营业执照"]
    assert licences["海丝营业执照"]["superseded_by"] is None
    return partners, ids


def _names(sheet_rows: list[tuple]) -> list[str]:
    return [row[1] for row in sheet_rows]


def test_partner_summary_xlsx_has_the_heading_block_and_exact_columns(client, make_caller, archive) -> None:
    compliance = make_caller("he.jing", roles="compliance", clearance="internal")
    response = client.get("/api/v1/reports/partners", params={"format": "xlsx"}, headers=compliance.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{quote('客商汇总表')}" in disposition

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "客商汇总表"
    assert rows[1][:3] == ("部门", "全部部门", "制表日期")
    assert list(rows[3]) == COLUMNS
    assert sheet.freeze_panes == "A5"
    assert all(cell.font.bold for cell in sheet[4])
    assert sheet.column_dimensions["B"].width >= 30
    body = rows[4:]
    assert sorted(_names(body)) == sorted(p["name"] for p in (MINJIANG, LUDAO, HAISI, NANSHAN))
    assert [row[0] for row in body] == [1, 2, 3, 4]
    minjiang = next(row for row in body if row[1] == MINJIANG["name"])
    assert minjiang[2:] == ("林建华", "陈小明", "0591-87654321", "chenxm@minjiang-scm.cn", "离心水泵、闸阀", "年度框架协议")


def test_partner_summary_filters_by_kind_and_department(client, make_caller, archive) -> None:
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    suppliers = client.get("/api/v1/reports/partners", params={"kind": "supplier", "department": "采购部"},
                           headers=office.headers)
    sheet = openpyxl.load_workbook(io.BytesIO(suppliers.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "供应商汇总表" and rows[1][1] == "采购部"
    assert sorted(_names(rows[4:])) == sorted([MINJIANG["name"], LUDAO["name"]])

    customers = client.get("/api/v1/reports/partners", params={"kind": "customer", "department": "采购部"},
                           headers=office.headers)
    rows = list(openpyxl.load_workbook(io.BytesIO(customers.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "客户汇总表" and rows[4:] == []


def test_partner_summary_csv_is_utf8_with_bom(client, make_caller, archive) -> None:
    admin = make_caller("zhao.lei", roles="admin", clearance="secret")
    response = client.get("/api/v1/reports/partners", params={"format": "csv", "department": "销售部"},
                          headers=admin.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["客商汇总表"]
    assert rows[3] == COLUMNS
    assert sorted(row[1] for row in rows[4:]) == sorted([HAISI["name"], NANSHAN["name"]])
    haisi = next(row for row in rows[4:] if row[1] == HAISI["name"])
    assert haisi[2:4] == ["蔡明辉", "吴婷"]


def test_reports_are_refused_to_staff(client, make_caller, archive) -> None:
    seller = make_caller("li.na", roles="staff", departments="销售部", clearance="secret")
    for url, params in (("/api/v1/reports/partners", {"format": "xlsx"}),
                        ("/api/v1/reports/partners", {"format": "csv"}),
                        ("/api/v1/reports/annual-review", {"year": 2026})):
        response = client.get(url, params=params, headers=seller.headers)
        assert response.status_code == 403, response.text
        assert "档案管理员" in response.json()["detail"]


def test_registration_form_is_a_docx_with_the_partners_values(client, make_caller, archive) -> None:
    partners, _ids = archive
    buyer = make_caller("zhang.wei", roles="staff", departments="采购部", clearance="internal")
    response = client.get(f"/api/v1/reports/partners/{partners['鹭岛']['id']}/registration-form",
                          params={"format": "docx"}, headers=buyer.headers)
    assert response.status_code == 200, response.text
    assert quote("厦门鹭岛机电设备有限公司") in response.headers["content-disposition"]
    form = docx.Document(io.BytesIO(response.content))
    assert "供应商基本资料登记表" in form.paragraphs[0].text
    values = {row.cells[0].text: row.cells[1].text for row in form.tables[0].rows}
    assert list(values) == ["企业名称", "地址", "法人代表", "银行账户", "营业执照", "主要合作产品", "联系电话",
                            "联系传真", "联系人", "经办人", "联系邮箱", "其他", "备注"]
    assert values["企业名称"] == "厦门鹭岛机电设备有限公司"
    assert values["地址"] == "厦门市湖里区华泰路18号"
    assert values["法人代表"] == "黄志强"
    assert values["银行账户"] == "中国银行厦门湖里支行 4101 2345 6789 0012"
    assert "913501003154662784" in values["营业执照"] and "长期有效" in values["营业执照"]
    assert values["主要合作产品"] == "电机、配电柜"
    assert (values["联系电话"], values["联系传真"], values["联系人"]) == ("0592-5678901", "0592-5678902", "郑丽娟")
    assert values["经办人"] == "zhang.wei"
    assert values["联系邮箱"] == "zhenglj@ludao-me.com"
    assert partners["鹭岛"]["archive_no"] in values["其他"] and "信用等级：A" in values["其他"]
    assert values["备注"] == "长期合作，月结30天"

    office = make_caller("archive.office", roles="archivist")
    for key, licence in (("海丝", "已存档（长期有效）"), ("南山", "未存档")):  # 南山's only licence has expired
        form = client.get(f"/api/v1/reports/partners/{partners[key]['id']}/registration-form",
                          headers=office.headers)
        filled = {row.cells[0].text: row.cells[1].text for row in docx.Document(io.BytesIO(form.content)).tables[0].rows}
        assert filled["营业执照"] == f"统一社会信用代码：未登记；有效营业执照：{licence}"
        assert filled["银行账户"] == ""


def test_registration_form_of_a_hidden_partner_is_404(client, make_caller, archive) -> None:
    partners, _ids = archive
    seller = make_caller("li.na", roles="staff", departments="销售部", clearance="secret")
    response = client.get(f"/api/v1/reports/partners/{partners['鹭岛']['id']}/registration-form",
                          headers=seller.headers)
    assert response.status_code == 404


def _by_department(body: dict) -> dict[str, dict]:
    return {section["department"]: section for section in body["departments"]}


def test_annual_review_finds_missing_licences_bank_info_and_expiring_documents(
    client, make_caller, archive
) -> None:
    partners, ids = archive
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    response = client.get("/api/v1/reports/annual-review", params={"year": 2026}, headers=office.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["year"] == 2026 and body["review_date"] == "2026-07-01"
    sections = _by_department(body)
    assert set(sections) == {"采购部", "销售部"}

    purchasing, sales = sections["采购部"], sections["销售部"]
    # 闽江's licence runs until 2027-03-31 and 鹭岛's is perpetual: both valid on 1 July.
    assert purchasing["missing_licence"] == []
    # 鹭岛 has bank details on record; 闽江 too.
    assert purchasing["missing_bank_info"] == []
    assert [(d["id"], d["expires_on"], d["expired"]) for d in purchasing["expiring"]] == [
        (ids["闽江保密协议"], "2026-12-31", False),
        (ids["闽江营业执照"], "2027-03-31", False),
    ]
    # 海丝's current licence is perpetual; 南山's only licence expired before the review date.
    assert [p["name"] for p in sales["missing_licence"]] == [NANSHAN["name"]]
    # 南山 has no account on the partner, but a 开户许可证 is on file.
    assert [p["id"] for p in sales["missing_bank_info"]] == [partners["海丝"]["id"]]
    # 海丝's old licence (to 2026-09-30) is replaced by its new one: not listed as expiring.
    assert [(d["id"], d["expires_on"], d["expired"], d["doc_type_label"]) for d in sales["expiring"]] == [
        (ids["南山营业执照"], "2026-03-01", True, "营业执照"),
    ]


def test_annual_review_counts_only_what_the_caller_may_see(client, make_caller, archive) -> None:
    _partners, ids = archive
    compliance = make_caller("he.jing", roles="compliance", clearance="internal")
    body = client.get("/api/v1/reports/annual-review", params={"year": 2026}, headers=compliance.headers).json()
    expiring = [d["id"] for d in _by_department(body)["采购部"]["expiring"]]
    assert expiring == [ids["闽江营业执照"]]  # the secret agreement is above this clearance


def test_annual_review_as_a_workbook_and_every_report_is_audited(
    settings, client, make_caller, archive
) -> None:
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    response = client.get("/api/v1/reports/annual-review", params={"year": 2026, "format": "xlsx"},
                          headers=office.headers)
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["缺营业执照", "缺银行信息", "资料不齐全", "即将到期", "到期日未知"]
    expiring = list(workbook["即将到期"].iter_rows(min_row=5, values_only=True))
    assert [(row[1], row[5], row[7]) for row in expiring] == [
        ("采购部", "闽江保密协议", "将到期"), ("采购部", "闽江营业执照", "将到期"), ("销售部", "南山营业执照", "已过期"),
    ]
    client.get("/api/v1/reports/partners", params={"format": "csv"}, headers=office.headers)

    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "report")).all()
    engine.dispose()
    assert [(e.user, e.target) for e in entries] == [
        ("archive.office", "annual-review"), ("archive.office", "partners"),
    ]
    assert entries[1].details["format"] == "csv" and entries[1].details["rows"] == 4

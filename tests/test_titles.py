"""Titles: derived from what was read when the uploader gave none, never over one they gave."""

from __future__ import annotations

import pytest

from ingest.fields import extract_fields
from ingest.fields.titles import derive_title
from tests.samples import CONTRACT_TEXT, LICENCE_TEXT, text_pdf


def _title(doc_type: str, text: str) -> str | None:
    return derive_title(doc_type, extract_fields(doc_type, [(1, text)]).fields, text)


@pytest.mark.parametrize(
    ("doc_type", "text", "title"),
    [
        ("contract", "采购合同\n合同编号：HT-2023-0111\n甲方：杭州云帆信息科技有限公司", "采购合同 HT-2023-0111"),
        ("contract", CONTRACT_TEXT, "采购合同 HT-2026-0042"),
        ("contract", "技 术 服 务 协 议\n编号：FW-2024-0093", "技术服务协议 FW-2024-0093"),
        ("contract", "合同编号：XS-2025-0001\n本合同由双方签订。", "合同 XS-2025-0001"),
        (
            "business_license",
            "营业执照\n名称 杭州云帆信息科技有限公司\n统一社会信用代码 913501003154662784",
            "营业执照（杭州云帆信息科技有限公司）",
        ),
        ("business_license", LICENCE_TEXT, "营业执照（福建省闽江供应链管理有限公司）"),
        ("id_card", "姓名 林建华\n公民身份号码 110101199003071234", "身份证（林建华）"),
        (
            "bank_account",
            "银行账户信息确认函\n户名：福建省闽江供应链管理有限公司\n开户银行：中国工商银行福州鼓楼支行",
            "银行账户信息确认函（福建省闽江供应链管理有限公司）",
        ),
        (
            "qualification",
            "安全生产许可证\n证书编号：JZ2024000123\n有效期至：2027年1月1日",
            "安全生产许可证 JZ2024000123",
        ),
        ("authorization", "授权委托书\n兹委托我公司员工办理相关事宜。", "授权委托书"),
    ],
)
def test_title_from_what_was_read(doc_type: str, text: str, title: str) -> None:
    assert _title(doc_type, text) == title


@pytest.mark.parametrize(
    ("doc_type", "text"),
    [
        # Prose is not a heading; without a number or a name nothing is made up.
        ("contract", "双方经友好协商，就以下事项达成一致意见。"),
        ("business_license", "营业执照\n经营范围 软件开发"),
        ("id_card", "公民身份号码 110101199003071234"),
        ("other", "Scanned by CamScanner"),
    ],
)
def test_no_title_when_what_was_read_says_too_little(doc_type: str, text: str) -> None:
    assert _title(doc_type, text) is None


def test_an_id_number_never_goes_into_a_title() -> None:
    title = _title("id_card", "姓名 林建华\n公民身份号码 110101199003071234")
    assert title is not None and "110101" not in title


def test_the_worker_titles_untitled_uploads_and_keeps_given_ones(
    tmp_path, client, upload, run_worker, make_caller, create_partner
) -> None:
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    office = make_caller("registrar", roles="archivist", clearance="confidential")
    contract = text_pdf(tmp_path / "D11_P03_contract.pdf", [CONTRACT_TEXT])
    licence = text_pdf(tmp_path / "scan0001.pdf", [LICENCE_TEXT])
    prose = text_pdf(tmp_path / "说明.pdf", ["双方经友好协商，就以下事项达成一致意见。"])
    given = upload(office, licence, partner_id=partner["id"], doc_type="business_license", title="2025 年换发执照")
    untitled = upload(office, contract, partner_id=partner["id"])
    nothing_to_go_on = upload(office, prose, partner_id=partner["id"])
    assert {r.status_code for r in (given, untitled, nothing_to_go_on)} == {202}
    assert run_worker() == 3

    def title(response) -> str:  # type: ignore[no-untyped-def]
        return client.get(f"/api/v1/documents/{response.json()['id']}", headers=office.headers).json()["title"]

    assert title(given) == "2025 年换发执照"
    assert title(untitled) == "采购合同 HT-2026-0042"
    assert title(nothing_to_go_on) == "说明"
    # The derived title is what search finds.
    hits = client.get("/api/v1/search", params={"q": "HT-2026-0042"}, headers=office.headers).json()["hits"]
    assert [hit["title"] for hit in hits] == ["采购合同 HT-2026-0042"]

    # A title given later by PATCH is never replaced when the document is read again.
    changed = client.patch(
        f"/api/v1/documents/{untitled.json()['id']}", json={"title": "供货合同（水泵）"}, headers=office.headers
    )
    assert changed.status_code == 200
    retyped = client.patch(
        f"/api/v1/documents/{untitled.json()['id']}", json={"doc_type": "other"}, headers=office.headers
    )
    assert retyped.status_code == 200 and retyped.json()["status"] == "queued"
    assert run_worker() == 1
    assert title(untitled) == "供货合同（水泵）"

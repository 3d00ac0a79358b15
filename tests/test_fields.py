"""Field extraction per document type, from text as licences, ID cards and contracts print it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.extraction import ExtractionLimits, extract
from ingest.fields import FieldExtraction, FieldValue, extract_fields
from tests import samples

CODE = samples.CREDIT_CODE  # 913501003154662784
ID_NUMBER = "350102198503071236"


def values(result: FieldExtraction) -> dict[str, str | bool]:
    return {name: field.value for name, field in result.fields.items()}


# --- 营业执照 --------------------------------------------------------------------------------


def test_licence_text_layer_gives_every_field() -> None:
    result = extract_fields("business_license", [(1, samples.LICENCE_TEXT)])
    assert values(result) == {
        "credit_code": CODE,
        "name": "福建省闽江供应链管理有限公司",
        "company_type": "有限责任公司",
        "legal_representative": "林建华",
        "registered_capital": "5000000.00",
        "founded_on": "2015-03-11",
        "issued_on": "2021-06-18",
        "expires_on": "2035-03-10",
        "address": "福建省福州市鼓楼区五四路158号环球广场12层",
    }
    assert result.problems == {}
    assert result.fields["founded_on"] == FieldValue(
        "2015-03-11", page=1, source="extracted", raw="2015年03月11日"
    )


@pytest.mark.parametrize(
    "bottom",
    [
        "登记机关 福州市市场监督管理局 2021年6月18日",
        "登记机关\n2021年06月18日",
        "发照日期：2021-06-18",
        "核准日期 2021年06月18日",
    ],
    ids=["same line", "under the label", "发照日期", "核准日期"],
)
def test_licence_issue_date_is_the_date_of_the_registration_authority(bottom: str) -> None:
    text = f"成立日期 2015年03月11日\n营业期限 2015年03月11日至长期\n{bottom}"
    result = extract_fields("business_license", [(1, text)])
    assert result.fields["founded_on"].value == "2015-03-11"
    assert result.fields["issued_on"].value == "2021-06-18"


def test_a_line_under_the_registration_authority_that_is_not_only_a_date_is_not_its_date() -> None:
    # Two-column text: the line under 登记机关 belongs to the other column.
    text = "成立日期 2015年03月11日\n登记机关\n营业期限 2016年01月01日至2036年12月31日"
    result = extract_fields("business_license", [(1, text)])
    assert "issued_on" not in result.fields
    assert "登记机关" in result.problems["issued_on"]


def test_licence_as_ocr_reads_it() -> None:
    # Spaced labels, full-width colon and digits, an O for a 0 in the code, blanks inside it.
    text = """营 业 执 照
统一社会信用代码：９１３５ O１００ ３１５４ ６６２７ ８４
名    称：厦门鹭岛机电设备有限公司
类    型：有限责任公司（自然人投资或控股）
法定代表人：陈 志 强
注册资本：人民币 500 万元
成立日期：２０１８年 ６月 ５日
营业期限：2018 年 06 月 05 日 至 长期
住    所：厦门市思明区鹭江道100号1801室"""
    result = extract_fields("business_license", [(1, text)])
    assert values(result) == {
        "credit_code": CODE,
        "name": "厦门鹭岛机电设备有限公司",
        "company_type": "有限责任公司(自然人投资或控股)",
        "legal_representative": "陈志强",
        "registered_capital": "5000000.00",
        "founded_on": "2018-06-05",
        "perpetual": True,
        "address": "厦门市思明区鹭江道100号1801室",
    }
    assert result.fields["credit_code"].corrected
    assert result.fields["credit_code"].raw == "9135O1003154662784"
    assert "expires_on" not in result.problems  # perpetual: there is no end date to miss


def test_licence_two_columns_on_one_line_and_code_under_its_label() -> None:
    text = f"""统一社会信用代码
{CODE}
名称 福建省闽江供应链管理有限公司 注册资本 壹仟贰佰万元整
类型 股份有限公司(非上市) 成立日期 2009-11-20
法定代表人 林建华 营业期限 2009.11.20至2039.11.19"""
    assert values(extract_fields("business_license", [(1, text)])) == {
        "credit_code": CODE,
        "name": "福建省闽江供应链管理有限公司",
        "registered_capital": "12000000.00",
        "company_type": "股份有限公司(非上市)",
        "founded_on": "2009-11-20",
        "legal_representative": "林建华",
        "expires_on": "2039-11-19",
    }


def test_old_licence_with_registration_number() -> None:
    text = "企业法人营业执照\n注册号：350100100012341\n名称：福州闽江贸易有限公司\n营业期限自 2008年3月1日\n营业期限至 2028年2月29日"
    result = extract_fields("business_license", [(1, text)])
    assert result.fields["registration_no"].value == "350100100012341"
    assert result.fields["expires_on"].value == "2028-02-29"
    assert "credit_code" not in result.fields and "credit_code" not in result.problems


def test_credit_code_with_an_ambiguous_slip_is_left_out_with_a_reason() -> None:
    result = extract_fields("business_license", [(1, "统一社会信用代码 9L35010090G74G39XK")])
    assert "credit_code" not in result.fields
    assert "校验" in result.problems["credit_code"]


@pytest.mark.parametrize(
    ("line", "problem_word"),
    [
        ("成立日期 2035年02月30日", "无效"),
        ("成立日期 2 0 3 5年0 3月1 1日", "数字不清"),
        ("成立日期 20154F03 11", "无法识别"),
        ("统一社会信用代码 91350100315466278", "长度"),
        ("注册资本 伍个万元整", "无法识别"),
    ],
    ids=["no such day", "digits set apart", "garbled date", "17 characters", "garbled 大写"],
)
def test_unreadable_values_are_never_guessed(line: str, problem_word: str) -> None:
    result = extract_fields("business_license", [(1, line)])
    field = {"成立": "founded_on", "统一": "credit_code", "注册": "registered_capital"}[line[:2]]
    assert field not in result.fields
    assert problem_word in result.problems[field]


def test_garbled_founding_date_is_taken_only_when_the_term_confirms_it() -> None:
    confirmed = "成立日期 20154F03 11\n营业期限 2015年03月11日至2035年03月10日"
    result = extract_fields("business_license", [(1, confirmed)])
    assert result.fields["founded_on"] == FieldValue("2015-03-11", page=1, raw="20154F03 11")
    unconfirmed = "成立日期 20154F03 11\n营业期限 2016年03月11日至2036年03月10日"
    assert "founded_on" not in extract_fields("business_license", [(1, unconfirmed)]).fields


def test_founding_date_that_contradicts_the_term_start_is_left_out() -> None:
    # 2008年12月05日 with the 1 lost by OCR; the term still starts on the true day.
    text = "成立日期 2008年2月5日\n营业期限 2008年12月05日至2038年12月04日"
    result = extract_fields("business_license", [(1, text)])
    assert "founded_on" not in result.fields
    assert "不一致" in result.problems["founded_on"]
    assert result.fields["expires_on"].value == "2038-12-04"


def test_a_date_is_never_taken_from_the_line_under_an_empty_label() -> None:
    # Two-column scans put the values after all the labels: the next line is someone else's.
    text = "证书编号：\n有效期至：\n发证日期：\nGR399361767\n2022年08月19日\n2019.08.20"
    result = extract_fields("qualification", [(1, text)])
    assert "issued_on" not in result.fields and "expires_on" not in result.fields


def test_conflicting_readings_on_two_pages_are_not_reported() -> None:
    pages = [(1, f"统一社会信用代码 {CODE}"), (2, "统一社会信用代码 9135010090G74G39XK")]
    result = extract_fields("business_license", pages)
    assert "credit_code" not in result.fields
    assert "不一致" in result.problems["credit_code"]


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "2035年3月11日",
        "2035年03月11日",
        "2035-03-11",
        "2035.03.11",
        "2035/3/11",
        "２０３５年３月１１日",
        "2035 年 3 月 11 日",
        "二〇三五年三月十一日",
    ],
)
def test_dates_in_every_written_form(written: str) -> None:
    result = extract_fields("qualification", [(1, f"证书编号：D235012345\n有效期至：{written}")])
    assert result.fields["expires_on"].value == "2035-03-11"


# --- 居民身份证 ------------------------------------------------------------------------------


def test_id_card_front_and_back() -> None:
    front = f"姓名 林建华\n性别 男  民族 汉\n出生 1985年3月7日\n住址 福建省福州市鼓楼区五四路158号\n公民身份号码 {ID_NUMBER}"
    back = "中华人民共和国\n居民身份证\n签发机关 福州市公安局鼓楼分局\n有效期限 2015.03.11-2035.03.11"
    result = extract_fields("id_card", [(1, front), (2, back)])
    assert values(result) == {
        "name": "林建华",
        "id_number": ID_NUMBER,
        "issued_on": "2015-03-11",
        "expires_on": "2035-03-11",
    }
    assert result.fields["expires_on"].page == 2


def test_id_card_as_ocr_reads_it() -> None:
    front = "姓 名 王 芳\n公民身份号码 35010219B5O3O71236"
    back = "有效期限 2006.08.01-长期"
    result = extract_fields("id_card", [(1, front), (2, back)])
    assert values(result) == {
        "name": "王芳",
        "id_number": ID_NUMBER,
        "issued_on": "2006-08-01",
        "perpetual": True,
    }
    assert result.fields["id_number"].corrected


def test_id_card_name_read_as_latin_letters_is_refused() -> None:
    result = extract_fields("id_card", [(1, f"姓名 HABE\n公民身份号码 {ID_NUMBER}")])
    assert "name" not in result.fields and "name" in result.problems


# --- 合同 ------------------------------------------------------------------------------------


def test_contract_sample() -> None:
    result = extract_fields("contract", [(1, samples.CONTRACT_TEXT)])
    assert values(result) == {
        "contract_no": "HT-2026-0042",
        "party_a": "福建省闽江供应链管理有限公司",
        "party_b": "厦门鹭岛机电设备有限公司",
        "amount": "123456.00",
    }
    assert set(result.problems) == {"signed_on"}


def test_contract_with_term_signature_page_and_amount_in_words() -> None:
    first = """技术服务合同
合同号：FW-2025-0318
甲方（委托方）：福州市博远信息技术有限公司
乙方（受托方）：杭州市启明新材料科技有限公司
二、合同总价：人民币1,250,000.50元（大写：壹佰贰拾伍万元零伍角）。
三、本合同有效期自2025年4月1日起至2026年3月31日止。"""
    second = "甲方（盖章）：\n乙方（盖章）：\n签订日期：2025年3月28日"
    assert values(extract_fields("contract", [(1, first), (2, second)])) == {
        "contract_no": "FW-2025-0318",
        "party_a": "福州市博远信息技术有限公司",
        "party_b": "杭州市启明新材料科技有限公司",
        "amount": "1250000.50",
        "issued_on": "2025-04-01",
        "expires_on": "2026-03-31",
        "signed_on": "2025-03-28",
    }


def test_figures_are_not_taken_when_ocr_broke_the_amount_in_words() -> None:
    text = "合同金额：人民币壹拾融万会什肆佰伍拾陆元整 (¥123,456.00)。"
    result = extract_fields("contract", [(1, text)])
    assert "amount" not in result.fields
    assert "大写" in result.problems["amount"]


def test_amount_clause_wrapped_over_two_lines_is_read_whole() -> None:
    # A text PDF wraps the clause inside the figures and inside the 大写.
    text = "二、合同金额：人民币3,878,829\n.06元（大写：叁佰捌拾柒万捌仟捌佰\n贰拾玖元零陆分）。"
    assert extract_fields("contract", [(1, text)]).fields["amount"].value == "3878829.06"


def test_figures_with_a_misread_tail_are_not_cut_short() -> None:
    # 元 read as "75": the figures are not ¥3,878,829 with the rest ignored.
    result = extract_fields("contract", [(1, "二、合同金额 : ¥3,878,829.0675 (AS: ARABIA BUFBHA) )")])
    assert "amount" not in result.fields and "amount" in result.problems


def test_amount_in_words_and_figures_that_disagree_is_not_reported() -> None:
    text = "合同编号：HT-2026-0043\n合同金额：人民币壹拾贰万叁仟肆佰伍拾陆元整（¥123,465.00）。"
    result = extract_fields("contract", [(1, text)])
    assert "amount" not in result.fields
    assert "不一致" in result.problems["amount"]


@pytest.mark.parametrize(
    ("clause", "amount"),
    [
        ("合同金额：123456元", "123456.00"),
        ("合同金额：壹拾贰万叁仟肆佰伍拾陆元整", "123456.00"),
        ("合同总金额：人民币12.5万元", "125000.00"),
        ("合同金额：壹万零伍拾元伍角陆分", "10050.56"),
    ],
)
def test_amount_in_one_notation(clause: str, amount: str) -> None:
    assert extract_fields("contract", [(1, clause)]).fields["amount"].value == amount


def test_prose_mentioning_the_parties_is_not_a_party() -> None:
    text = "甲方应于收货后十日内付款。\n乙方向甲方提供设备。\n原合同编号：HT-2020-0001"
    result = extract_fields("contract", [(1, text)])
    assert "party_a" not in result.fields and "party_b" not in result.fields
    assert "contract_no" not in result.fields


# --- bank, qualification, others -------------------------------------------------------------


def test_bank_account_letter() -> None:
    text = "银行账户信息确认函\n户名：福建省闽江供应链管理有限公司\n开户银行：中国工商银行股份有限公司福州五四支行\n账号：1402 0230 0920 0123 456"
    assert values(extract_fields("bank_account", [(1, text)])) == {
        "account_name": "福建省闽江供应链管理有限公司",
        "bank_name": "中国工商银行股份有限公司福州五四支行",
        "account_no": "1402023009200123456",
    }


def test_account_number_with_a_letter_in_it_is_refused() -> None:
    result = extract_fields("bank_account", [(1, "账号：1402 O230 0920 0123 456")])
    assert "account_no" not in result.fields and "account_no" in result.problems


def test_qualification_certificate() -> None:
    text = "建筑业企业资质证书\n证书编号：D235012345\n有效期：2023年6月1日至2028年5月31日\n发证日期：2023年05月30日"
    assert values(extract_fields("qualification", [(1, text)])) == {
        "certificate_no": "D235012345",
        "issued_on": "2023-05-30",
        "expires_on": "2028-05-31",
    }


def test_authorization_reports_only_labelled_dates() -> None:
    result = extract_fields(
        "authorization", [(1, "授权委托书\n兹授权林建华办理采购事宜。\n有效期至：2026年12月31日")]
    )
    assert values(result) == {"expires_on": "2026-12-31"}
    assert result.problems == {}
    assert extract_fields("other", [(1, "会议纪要 2026年1月5日")]) == FieldExtraction({}, {})


def test_unknown_doc_type_is_refused() -> None:
    with pytest.raises(ValueError):
        extract_fields("voucher", [(1, "")])


# --- through real OCR ------------------------------------------------------------------------


@pytest.mark.slow
def test_scanned_licence_through_ocr(tmp_path: Path) -> None:
    image = samples.scan_image(tmp_path / "licence.png", samples.LICENCE_TEXT, dpi=300)
    extraction = extract(image, "image/png", limits=ExtractionLimits(ocr_workers=2))
    result = extract_fields("business_license", [(page.number, page.text) for page in extraction.pages])
    assert result.fields["credit_code"].value == CODE
    assert result.fields["founded_on"].value == "2015-03-11"
    assert result.fields["issued_on"].value == "2021-06-18"
    assert result.fields["expires_on"].value == "2035-03-10"


@pytest.mark.slow
def test_scanned_id_card_through_ocr(tmp_path: Path) -> None:
    front = f"姓名 林建华\n性别 男  民族 汉\n出生 1985年3月7日\n住址 福建省福州市鼓楼区五四路158号\n公民身份号码 {ID_NUMBER}"
    back = "中华人民共和国\n居民身份证\n签发机关 福州市公安局鼓楼分局\n有效期限 2015.03.11-2035.03.11"
    tiff = samples.noisy_scan(
        tmp_path / "id.tif", [front, back], dpi=300, rotate_degrees=0.6, page_inches=(8.27, 5.5)
    )
    extraction = extract(tiff, "image/tiff", limits=ExtractionLimits(ocr_workers=2))
    result = extract_fields("id_card", [(page.number, page.text) for page in extraction.pages])
    assert result.fields["id_number"].value == ID_NUMBER
    assert result.fields["issued_on"].value == "2015-03-11"
    assert result.fields["expires_on"].value == "2035-03-11"

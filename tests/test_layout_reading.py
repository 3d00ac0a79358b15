"""Fields read by where words stand: labels and values on a baseline or in a column, real layouts.

The layout tests without OCR build a page's words by hand; the scans are drawn in the real
layouts (tests/layouts.py) and read by the configured engine (PP-OCR) and by Tesseract.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.extraction import ExtractionLimits, extract
from ingest.fields import extract_fields
from ingest.fields.layout import PageLayout
from ingest.reading import with_licence_qr
from tests import layouts
from tests.samples import CREDIT_CODE

ID_NUMBER = "350102198503071236"
LICENCE = layouts.LicenceData(
    name="福建省闽江供应链管理有限公司",
    credit_code=CREDIT_CODE,
    company_type="有限责任公司（自然人投资或控股）",
    legal_representative="林建华",
    registered_capital="伍佰万元整",
    founded="2015年03月11日",
    term="2015年03月11日至2035年03月10日",
    address="福建省福州市鼓楼区五四路158号环球广场12层",
    business_scope="供应链管理服务；国内货物运输代理；五金产品、机电设备批发。（依法须经批准的项目，经相关部门批准后方可开展经营活动）",
    authority="福州市鼓楼区市场监督管理局",
    issued="2021年06月18日",
    qr_payload=f"http://{layouts.QR_HOST}/%7B8A3F2C11D0%7D",
)
LICENCE_VALUES = {
    "credit_code": CREDIT_CODE,
    "name": "福建省闽江供应链管理有限公司",
    "company_type": "有限责任公司(自然人投资或控股)",
    "legal_representative": "林建华",
    "registered_capital": "5000000.00",
    "founded_on": "2015-03-11",
    "issued_on": "2021-06-18",
    "expires_on": "2035-03-10",
    "address": "福建省福州市鼓楼区五四路158号环球广场12层",
}


def word(text: str, left: int, top: int, width: int | None = None, height: int = 40) -> list[object]:
    return [text, left, top, left + (width or 40 * len(text)), top + height, 96.0]


def page(*words: list[object], width: int = 2400, height: int = 1700) -> dict[str, object]:
    return {"width": width, "height": height, "words": list(words)}


def values(result) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {name: field.value for name, field in result.fields.items()}


# --- by hand: the geometry ----------------------------------------------------------------------


def test_two_columns_pair_each_label_with_the_value_on_its_own_baseline() -> None:
    # As Tesseract emits this page, the right column's labels come on the left column's lines
    # and their values blocks later; by position each value stays with its label.
    layout = page(
        word("名称", 100, 400), word("福建省闽江供应链管理有限公司", 300, 402),
        word("注册资本", 1300, 398), word("伍佰万元整", 1500, 400),
        word("类型", 100, 480), word("有限责任公司", 300, 481),
        word("成立日期", 1300, 478), word("2015年03月11日", 1500, 480, 300),
        word("营业期限", 1300, 558), word("2015年03月11日至2035年03月10日", 1500, 560, 640),
    )
    text = "名称 类型 注册资本 成立日期 营业期限\n福建省闽江供应链管理有限公司\n有限责任公司\n伍佰万元整\n2015年03月11日"
    by_text = extract_fields("business_license", [(1, text)])
    by_layout = extract_fields("business_license", [(1, text)], {1: layout})
    assert "founded_on" not in by_text.fields and "expires_on" not in by_text.fields
    assert values(by_layout) == {
        "name": "福建省闽江供应链管理有限公司",
        "registered_capital": "5000000.00",
        "company_type": "有限责任公司",
        "founded_on": "2015-03-11",
        "expires_on": "2035-03-10",
    }
    founded = by_layout.fields["founded_on"]
    assert founded.method == "layout" and founded.confidence == 96.0
    assert founded.box == pytest.approx((1500 / 2400, 480 / 1700, 1800 / 2400, 520 / 1700), abs=1e-3)


def test_a_tilted_page_keeps_values_on_their_labels_rows() -> None:
    # 1.5 degrees of tilt: across 1,400 pixels the right column sits 36 pixels lower than the left.
    def tilted(text: str, left: int, top: int, width: int | None = None) -> list[object]:
        return word(text, left, top + round(left * 0.026), width)

    layout = page(
        tilted("名称", 100, 400), tilted("福建省闽江供应链管理有限公司", 300, 400),
        tilted("成立日期", 1300, 400), tilted("2015年03月11日", 1500, 400, 300),
        tilted("类型", 100, 460), tilted("有限责任公司", 300, 460),
        tilted("营业期限", 1300, 460), tilted("2015年03月11日至长期", 1500, 460, 420),
    )
    result = extract_fields("business_license", [(1, "")], {1: layout})
    assert values(result) == {
        "name": "福建省闽江供应链管理有限公司",
        "founded_on": "2015-03-11",
        "company_type": "有限责任公司",
        "perpetual": True,
    }


def test_a_value_under_its_label_in_the_same_column() -> None:
    layout = page(
        word("统一社会信用代码", 100, 200), word(CREDIT_CODE, 100, 260, 520),
        word("登记机关", 1700, 1300), word("2021年06月18日", 1650, 1370, 320),
        word("营业期限", 1300, 700), word("2015年03月11日至2035年03月10日", 1500, 700, 640),
    )
    result = extract_fields("business_license", [(1, "")], {1: layout})
    assert result.fields["credit_code"].value == CREDIT_CODE
    assert result.fields["issued_on"].value == "2021-06-18"


def test_a_long_value_is_read_with_the_line_it_wraps_on_to_but_never_the_next_field() -> None:
    layout = page(
        word("住所", 1300, 400), word("福建省福州市鼓楼区五四路158号", 1500, 400),
        word("环球广场12层", 1500, 460),
        word("名称", 100, 400), word("福建省闽江供应链管理有限公司", 300, 400),
        word("型", 170, 460), word("有限责任公司", 300, 460),  # 类 lost by OCR: still a label's row
    )
    result = extract_fields("business_license", [(1, "")], {1: layout})
    assert result.fields["address"].value == "福建省福州市鼓楼区五四路158号环球广场12层"
    assert result.fields["name"].value == "福建省闽江供应链管理有限公司"


def test_an_address_cut_mid_word_at_the_line_end_is_read_with_its_wrapped_end() -> None:
    layout = page(
        word("住所", 1300, 400), word("四川省成都市武侯区湖东路18号万达广场A区2201单", 1500, 400),
        word("元", 1490, 470),
    )
    result = extract_fields("business_license", [(1, "")], {1: layout})
    # "…2201单" alone ends a number in no unit: only with its wrapped 元 is it an address.
    assert result.fields["address"].value == "四川省成都市武侯区湖东路18号万达广场A区2201单元"


def test_a_spaced_label_with_a_speck_read_between_its_characters_is_still_the_label() -> None:
    layout = page(
        word("住", 1300, 400), word("☑", 1380, 400), word("所", 1460, 400),
        word("福建省厦门市思明区人民南路290号金融中心B座1806室", 1560, 400),
    )
    result = extract_fields("business_license", [(1, "")], {1: layout})
    assert result.fields["address"].value == "福建省厦门市思明区人民南路290号金融中心B座1806室"


def test_a_one_column_licence_takes_its_issue_date_under_the_authority_not_its_founding_date() -> None:
    # Pre-2016 layout on A4 portrait: 成立日期 and 营业期限 fall in the page's bottom half; the
    # seal hides 登 of 登记机关, or the whole label.
    rows = (
        word("成立日期", 300, 1960), word("2019年10月22日", 700, 1960, 320),
        word("营业期限", 300, 2070), word("2019年10月22日至2039年10月21日", 700, 2070, 640),
    )
    for authority in ([word("记机关", 1700, 2780)], []):
        layout = page(*rows, *authority, word("2023年04月23日", 1650, 2930, 320), width=2480, height=3508)
        result = extract_fields("business_license", [(1, "")], {1: layout})
        assert result.fields["issued_on"].value == "2023-04-23", authority
        assert result.fields["founded_on"].value == "2019-10-22"


def test_a_page_read_turned_is_read_upright_and_boxes_stay_on_the_page_as_stored() -> None:
    upright = page(word("名称", 100, 400), word("福建省闽江供应链管理有限公司", 300, 400))
    # The same words on the page as it was scanned, lying on its side (turned 90° anticlockwise),
    # and the note that it was turned 90° clockwise to be read.
    width, height = 1700, 2400
    sideways = {
        "width": width,
        "height": height,
        "turned": 90,
        "words": [
            [text, top, height - right, bottom, height - left, confidence]
            for text, left, top, right, bottom, confidence in upright["words"]  # type: ignore[attr-defined]
        ],
    }
    result = extract_fields("business_license", [(1, "")], {1: sideways})
    name = result.fields["name"]
    assert name.value == "福建省闽江供应链管理有限公司"
    left, top, right, bottom = name.box
    assert bottom - top > right - left  # tall and narrow: where it stands on the sideways scan


def test_signature_block_dates_in_two_columns_give_the_later_one() -> None:
    second_page = "甲方（盖章）：\t乙方（盖章）：\n日期：2025年3月28日\t日期：2025年3月30日"
    cells = second_page.replace("\t", "\n")
    result = extract_fields("contract", [(2, cells)])
    assert result.fields["signed_on"].value == "2025-03-30"
    unreadable = extract_fields("contract", [(2, "甲方（盖章）：\n日期：2025年2月30日")])
    assert "signed_on" not in unreadable.fields and "数字不清" in unreadable.problems["signed_on"]


def test_a_seal_read_beside_a_signature_label_does_not_veto_the_party_the_contract_states() -> None:
    first = page(
        word("甲方(采购方):北京市启明供应链管理有限公司", 100, 300),
        word("乙方(供应方):上海市恒信信息技术有限公司", 100, 380),
        width=1700, height=2400,
    )
    # The seal stamped over 乙方's block: OCR reads its ring of characters on the label's line.
    second = page(
        word("甲方(盖章)", 100, 980), word("乙方(盖章)", 900, 980),
        word("海市道首龍支术限", 1160, 982),
        word("北京市启明供应链管理有限公司", 100, 1080), word("上海市恒信信息技术有限公司", 900, 1080),
        width=1700, height=2400,
    )
    result = extract_fields("contract", [(1, ""), (2, "")], {1: first, 2: second})
    assert result.fields["party_a"].value == "北京市启明供应链管理有限公司"
    assert result.fields["party_b"].value == "上海市恒信信息技术有限公司"
    assert result.fields["party_b"].page == 1
    # On a text page nothing is stamped over the line: 乙方（盖章）：名称 is the party's name.
    typed = "乙方（供应方）：上海市恒信信息技术有限公司\n乙方（盖章）：上海市恒信信息科技有限公司"
    assert "party_b" not in extract_fields("contract", [(1, typed)]).fields


def test_the_account_holder_of_an_account_permit_is_read_from_its_sentence() -> None:
    text = "开户许可证\n核准号：J3910001234501\n经审核，福建省闽江供应链管理有限公司\n符合开户条件，准予开立基本存款账户。\n开户银行 中国工商银行股份有限公司福州五四支行\n账号 1402 0230 0920 0123 456"
    assert values(extract_fields("bank_account", [(1, text)])) == {
        "account_name": "福建省闽江供应链管理有限公司",
        "bank_name": "中国工商银行股份有限公司福州五四支行",
        "account_no": "1402023009200123456",
    }


def test_a_mention_of_the_contract_amount_in_prose_does_not_hide_the_stated_amount() -> None:
    text = "二、合同金额：人民币壹拾贰万叁仟肆佰伍拾陆元整（¥123,456.00）。\n三、逾期每日按合同金额千分之一支付违约金。"
    assert extract_fields("contract", [(1, text)]).fields["amount"].value == "123456.00"


def test_page_layout_rows_and_cells() -> None:
    layout = PageLayout(page(word("名称", 100, 400), word("福建", 300, 400), word("注册资本", 1300, 400)))
    assert layout.text() == "名称福建\t注册资本"
    assert layout.cells_text() == "名称福建\n注册资本"


# --- real layouts through OCR -------------------------------------------------------------------


@pytest.fixture(scope="module")
def landscape_licence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return layouts.scan(
        tmp_path_factory.mktemp("licence") / "营业执照.png",
        [layouts.licence_2016(LICENCE)],
        layouts.ScanOptions(dpi=200, rotate_degrees=0.6, seed=3),
    )


def test_a_2016_licence_in_its_real_layout_gives_every_field_with_its_place(landscape_licence: Path) -> None:
    extraction = extract(landscape_licence, "image/png", limits=ExtractionLimits(ocr_workers=2))
    (scan,) = extraction.pages
    assert scan.layout and scan.layout["width"] == 2339 and len(scan.layout["words"]) > 100
    pages = [(scan.number, scan.text)]
    result = extract_fields("business_license", pages, {1: scan.layout})
    assert values(result) == LICENCE_VALUES
    for name, value in result.fields.items():
        assert value.box is not None and all(0 <= edge <= 1 for edge in value.box), name
        assert value.confidence is not None, name
    # The founding date stands in the right column, level with 类型; the issue date low on the right.
    assert result.fields["founded_on"].box[0] > 0.5 and result.fields["issued_on"].box[1] > 0.7
    with_qr = with_licence_qr(result, path=landscape_licence, media_type="image/png", extraction=extraction)
    assert with_qr.fields["qr_host"].value == layouts.QR_HOST
    assert with_qr.fields["qr_host"].box[0] > 0.7  # top right, where the code is printed


def test_tesseract_words_come_with_boxes_and_its_licence_reads_by_layout(landscape_licence: Path) -> None:
    extraction = extract(
        landscape_licence, "image/png", limits=ExtractionLimits(ocr_workers=2, ocr_engine="tesseract")
    )
    (scan,) = extraction.pages
    assert scan.layout and len(scan.layout["words"]) > 50
    text, left, top, right, bottom, confidence = scan.layout["words"][0]
    assert isinstance(text, str) and 0 <= left < right <= 2339 and 0 <= top < bottom <= 1654
    by_text = extract_fields("business_license", [(1, scan.text)])
    by_layout = extract_fields("business_license", [(1, scan.text)], {1: scan.layout})
    assert by_layout.fields["credit_code"].value == CREDIT_CODE
    # Checked values are never wrong; free text (闽 read as 闲) may be, and goes to review.
    checked = {"credit_code", "founded_on", "issued_on", "expires_on", "registered_capital"}
    assert all(LICENCE_VALUES[name] == value.value for name, value in by_layout.fields.items() if name in checked)
    assert len(by_layout.fields) >= len(by_text.fields)


def test_a_licence_with_its_qr_code_torn_off_or_turned_upside_down(tmp_path: Path) -> None:
    torn = layouts.scan(
        tmp_path / "torn.png",
        [layouts.licence_2016(LICENCE)],
        layouts.ScanOptions(dpi=150, turned=180, tear_qr=True, seed=5),
    )
    extraction = extract(torn, "image/png", limits=ExtractionLimits(ocr_workers=2))
    (scan,) = extraction.pages
    assert scan.layout is not None and scan.layout.get("turned") == 180
    result = extract_fields("business_license", [(1, scan.text)], {1: scan.layout})
    result = with_licence_qr(result, path=torn, media_type="image/png", extraction=extraction)
    assert "qr_host" not in result.fields and "二维码" in result.problems["qr_host"]
    # At 150 dpi and upside down: what is read is right, what is not is listed with a reason.
    for name, value in result.fields.items():
        assert LICENCE_VALUES[name] == value.value, name
    for name in set(LICENCE_VALUES) - set(result.fields):
        assert result.problems[name], name


def test_a_licence_kept_as_a_word_file_is_read_without_a_qr_code(tmp_path: Path) -> None:
    from tests import samples

    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    licence = samples.docx_file(tmp_path / "营业执照.docx", samples.LICENCE_TEXT.splitlines())
    extraction = extract(licence, docx, limits=ExtractionLimits(ocr_workers=1))
    result = extract_fields("business_license", [(page.number, page.text) for page in extraction.pages], {})
    result = with_licence_qr(result, path=licence, media_type=docx, extraction=extraction)
    # Looked for on a page image only; a Word file has none, so the code is listed as not read.
    assert result.fields["credit_code"].value == CREDIT_CODE
    assert "qr_host" not in result.fields and "二维码" in result.problems["qr_host"]


def test_a_licence_fed_in_sideways_or_photographed_at_an_angle(tmp_path: Path) -> None:
    bad_scans = {
        "sideways": layouts.ScanOptions(dpi=200, turned=90, seed=6),
        "photo": layouts.ScanOptions(dpi=200, perspective=0.05, rotate_degrees=2.5, seed=7),
    }
    for how, options in bad_scans.items():
        path = layouts.scan(tmp_path / f"{how}.png", [layouts.licence_2016(LICENCE)], options)
        (scan,) = extract(path, "image/png", limits=ExtractionLimits(ocr_workers=2)).pages
        assert scan.layout is not None and scan.layout.get("turned", 0) == (270 if how == "sideways" else 0), how
        result = extract_fields("business_license", [(1, scan.text)], {1: scan.layout})
        # The code and the dates that put a licence on the expiry list are read; anything not
        # read is listed with its reason, and nothing read is wrong.
        assert {"credit_code", "expires_on", "issued_on"} <= set(result.fields), (how, result.problems)
        for name, value in result.fields.items():
            assert LICENCE_VALUES[name] == value.value, (how, name)
        for name in set(LICENCE_VALUES) - set(result.fields):
            assert result.problems[name], (how, name)


def test_an_id_card_photocopy_gives_number_and_validity(tmp_path: Path) -> None:
    card = layouts.IdCardData(
        "林建华", "男", "汉", (1985, 3, 7), "福建省福州市鼓楼区五四路158号环球广场12层", ID_NUMBER,
        "福州市公安局鼓楼分局", "2016.03.01-2036.03.01",
    )
    scan_path = layouts.scan(tmp_path / "身份证.png", [layouts.id_card_copy(card)], layouts.ScanOptions(dpi=200))
    (scan,) = extract(scan_path, "image/png", limits=ExtractionLimits(ocr_workers=2)).pages
    result = extract_fields("id_card", [(1, scan.text)], {1: scan.layout})
    assert values(result) == {
        "name": "林建华",
        "id_number": ID_NUMBER,
        "issued_on": "2016-03-01",
        "expires_on": "2036-03-01",
    }


def test_licence_qr_hints() -> None:
    from archive.compliance import licence_qr_flags

    code = {"credit_code": CREDIT_CODE}
    kinds = lambda fields, scanned=True: [  # noqa: E731
        flag["kind"] for flag in licence_qr_flags(doc_type="business_license", fields=fields, scanned=scanned)
    ]
    assert kinds({**code, "qr_host": "www.gsxt.gov.cn"}) == []
    assert kinds({**code, "qr_host": "gsxt.gov.cn.example.com"}) == ["licence_qr_elsewhere"]
    assert kinds(code) == ["licence_qr_missing"]
    assert kinds(code, scanned=False) == []  # a text PDF may be a copy without it
    assert kinds({"registration_no": "350100100012341"}) == []  # licences before 2016 have none
    assert licence_qr_flags(doc_type="contract", fields={}, scanned=True) == []

"""Documents for the review-queue, expiry and supersession tests, as real files (text PDFs)."""

from __future__ import annotations

from pathlib import Path

from tests.samples import CREDIT_CODE, text_pdf

PARTNER = "福建省闽江供应链管理有限公司"


def licence_text(
    *,
    term: str = "2015年03月11日至2035年03月10日",
    issued: str = "2019年05月20日",
    founded: str = "2015年03月11日",
    code: str = CREDIT_CODE,
) -> str:
    """A 2016-format licence: 成立日期 shared by every re-issue, the issue date under 登记机关."""
    return f"""营业执照
统一社会信用代码 {code}
名称 {PARTNER}
类型 有限责任公司
法定代表人 林建华
注册资本 伍佰万元整
成立日期 {founded}
营业期限 {term}
住所 福建省福州市鼓楼区五四路158号环球广场12层
经营范围 供应链管理服务；国内货物运输代理。
登记机关 福州市市场监督管理局
{issued}"""


def chinese_date(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{year}年{month}月{day}日"


def licence_pdf(directory: Path, name: str, **text: str) -> Path:
    return text_pdf(directory / f"{name}.pdf", [licence_text(**text)])


ID_CARD_WITHOUT_TERM = (
    "姓名 林建华\n性别 男 民族 汉\n出生 1985年6月12日\n住址 福建省福州市鼓楼区五四路158号\n"
    "公民身份号码 350102198506123011"
)
# The last digit misread: the check character fails and no single slip explains it.
ID_CARD_MISREAD = "姓名 林建华\n公民身份号码 350102198506123012\n有效期限 2016.05.10-2036.05.10"
CONTRACT_WITH_UNREADABLE_TERM = (
    "采购合同\n合同编号：HT-2026-0107\n甲方（采购方）：福建省闽江供应链管理有限公司\n"
    "乙方（供应方）：厦门鹭岛机电设备有限公司\n合同有效期：自2026年1月1日起至2027年13月1日止。"
)
CONTRACT_WITHOUT_TERM = (
    "采购合同\n合同编号：HT-2026-0108\n甲方（采购方）：福建省闽江供应链管理有限公司\n"
    "乙方（供应方）：厦门鹭岛机电设备有限公司\n交货期限：合同签订后三十日内。"
)

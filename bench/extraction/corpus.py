"""Generated documents with known field values: licences, ID cards, contracts, bank letters, certificates."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from archive.credit_code import CREDIT_CODE_ALPHABET, credit_code_check_char
from archive.identifiers import id_number_check_char, organization_code_check_char

SOURCES = ("text_pdf", "docx", "scan_300", "scan_200")
_UPPER_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志文斌海波宇浩然晨阳欣怡子涵梓轩思远嘉豪雨萱"
_REGIONS = (
    ("福建省", "福州市", "鼓楼区", "350102"),
    ("福建省", "厦门市", "思明区", "350203"),
    ("浙江省", "杭州市", "西湖区", "330106"),
    ("广东省", "深圳市", "南山区", "440305"),
    ("江苏省", "南京市", "玄武区", "320102"),
    ("上海市", "上海市", "浦东新区", "310115"),
    ("北京市", "北京市", "海淀区", "110108"),
    ("四川省", "成都市", "武侯区", "510107"),
)
_BRANDS = (
    "闽江",
    "鹭岛",
    "东海",
    "恒信",
    "华联",
    "金桥",
    "瑞丰",
    "宏达",
    "新曜",
    "博远",
    "嘉禾",
    "汇通",
    "天成",
    "启明",
)
_TRADES = (
    "供应链管理",
    "机电设备",
    "建筑工程",
    "信息技术",
    "医疗器械",
    "食品贸易",
    "物流",
    "新材料科技",
    "环保科技",
)
_TYPES = ("有限责任公司", "有限责任公司(自然人投资或控股)", "股份有限公司(非上市)", "有限责任公司(法人独资)")
_BANKS = (
    "中国工商银行股份有限公司",
    "中国建设银行股份有限公司",
    "招商银行股份有限公司",
    "兴业银行股份有限公司",
)
_STREETS = ("五四路", "湖东路", "华林路", "鹭江道", "文三路", "科技园南路", "中山路", "人民南路")
_CERTS = (
    ("建筑业企业资质证书", "D", "福建省住房和城乡建设厅"),
    ("安全生产许可证", "(闽)JZ安许证字[", "福建省住房和城乡建设厅"),
    ("医疗器械经营许可证", "闽榕食药监械经营许", "福州市市场监督管理局"),
    ("高新技术企业证书", "GR", "福建省科学技术厅"),
)


@dataclass(frozen=True)
class Document:
    """One generated document: its pages, how it is rendered, and the values it must yield."""

    doc_id: str
    doc_type: str
    source: str
    pages: list[str]
    truth: dict[str, str | bool]
    seed: int
    rotate: float = 0.0
    blur: float = 0.0
    page_inches: tuple[float, float] = (8.27, 11.69)
    notes: dict[str, str] = field(default_factory=dict)


def credit_code(rng: random.Random, region: str) -> str:
    # Positions 9-17 are a 组织机构代码 with its own GB 11714 check character, as on real codes.
    body = "".join(
        rng.choice(CREDIT_CODE_ALPHABET if rng.random() < 0.15 else "0123456789") for _ in range(8)
    )
    body += organization_code_check_char(body)
    first17 = rng.choice(("91", "91", "91", "92", "93", "52")) + region + body
    return first17 + credit_code_check_char(first17)


def id_number(rng: random.Random, region: str, born: dt.date) -> str:
    first17 = region + born.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    return first17 + id_number_check_char(first17)


def person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))


def company(rng: random.Random) -> tuple[str, tuple[str, str, str, str]]:
    region = rng.choice(_REGIONS)
    prefix = region[0] if rng.random() < 0.5 else region[1]
    return f"{prefix}{rng.choice(_BRANDS)}{rng.choice(_TRADES)}有限公司", region


def random_date(rng: random.Random, start: int, end: int) -> dt.date:
    first = dt.date(start, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randrange(first, dt.date(end, 12, 31).toordinal()))


def write_date(rng: random.Random, date: dt.date, full_width_ok: bool) -> str:
    style = rng.randrange(6)
    text = (
        f"{date.year}年{date.month:02d}月{date.day:02d}日",
        f"{date.year}年{date.month}月{date.day}日",
        f"{date.year}-{date.month:02d}-{date.day:02d}",
        f"{date.year}.{date.month:02d}.{date.day:02d}",
        f"{date.year}/{date.month}/{date.day}",
        f"{date.year} 年 {date.month} 月 {date.day} 日",
    )[style]
    if full_width_ok and rng.random() < 0.2:
        text = text.translate(_FULL_WIDTH)
    return text


def upper_amount(amount: Decimal) -> str:
    """123456 -> 壹拾贰万叁仟肆佰伍拾陆元整 (as written on Chinese contracts and cheques)."""
    yuan = int(amount)
    cents = int((amount - yuan) * 100)
    hundred_millions, rest = divmod(yuan, 10**8)
    tens_of_thousands, ones = divmod(rest, 10**4)
    text = ""
    for part, unit in ((hundred_millions, "亿"), (tens_of_thousands, "万"), (ones, "")):
        if not part:
            if text and not text.endswith("零"):
                text += "零"
            continue
        if text and part < 1000 and not text.endswith("零"):
            text += "零"
        text += _upper_section(part) + unit
    text = text.rstrip("零") + "元"
    if not cents:
        return text + "整"
    jiao, fen = divmod(cents, 10)
    text += _UPPER_DIGITS[jiao] + "角" if jiao else "零"
    return text + (_UPPER_DIGITS[fen] + "分" if fen else "整")


def _upper_section(number: int) -> str:
    text, pending_zero = "", False
    for unit, divisor in (("仟", 1000), ("佰", 100), ("拾", 10), ("", 1)):
        digit = number // divisor % 10
        if digit == 0:
            pending_zero = bool(text)
            continue
        if pending_zero:
            text += "零"
            pending_zero = False
        text += _UPPER_DIGITS[digit] + unit
    return text


def _label(rng: random.Random, label: str, spaced_ok: bool = True) -> str:
    """Labels as printed: 名称, 名  称 (licences space short ones out), 名称： or 名称:"""
    if spaced_ok and len(label) == 2 and rng.random() < 0.4:
        label = label[0] + "  " + label[1]
    return label + rng.choice((" ", "：", ":", "： ", "  "))


def licence(rng: random.Random, full_width_ok: bool) -> tuple[list[str], dict[str, str | bool]]:
    name, region = company(rng)
    code = credit_code(rng, region[3])
    representative = person(rng)
    founded = random_date(rng, 1995, 2024)
    capital = Decimal(rng.choice((50, 100, 200, 300, 500, 1000, 2000, 5000, 12000))) * 10_000
    capital_text = rng.choice(
        (upper_amount(capital), f"{int(capital / 10_000)}万元人民币", f"人民币{upper_amount(capital)}")
    )
    address = f"{region[0]}{region[1] if region[1] != region[0] else ''}{region[2]}{rng.choice(_STREETS)}{rng.randrange(1, 400)}号"
    truth: dict[str, str | bool] = {
        "name": name,
        "credit_code": code,
        "company_type": rng.choice(_TYPES),
        "legal_representative": representative,
        "registered_capital": f"{capital:.2f}",
        "founded_on": founded.isoformat(),
        "address": address,
    }
    # The licence's own issue date, printed under 登记机关. Drawn from a generator of its own so
    # that every other value of the corpus stays what it was before this date was added.
    issue_rng = random.Random(code)  # noqa: S311 - test data
    issued = founded + dt.timedelta(days=issue_rng.randrange(0, (dt.date(2025, 12, 31) - founded).days + 1))
    truth["issued_on"] = issued.isoformat()
    written_founded = write_date(rng, founded, full_width_ok)
    if rng.random() < 0.35:
        term = f"{written_founded}至长期"
        truth["perpetual"] = True
    else:
        expires = founded.replace(year=founded.year + rng.choice((10, 20, 30, 50))) - dt.timedelta(days=1)
        term = f"{written_founded}至{write_date(rng, expires, full_width_ok)}"
        truth["expires_on"] = expires.isoformat()
    shown_code = code if not full_width_ok or rng.random() > 0.15 else code.translate(_FULL_WIDTH)
    lines = [
        "营业执照",
        f"{_label(rng, '统一社会信用代码', False)}{shown_code}",
        f"{_label(rng, '名称')}{name}",
        f"{_label(rng, '类型')}{truth['company_type']}",
        f"{_label(rng, '法定代表人', False)}{representative}",
        f"{_label(rng, '注册资本', False)}{capital_text}",
        f"{_label(rng, '成立日期', False)}{written_founded}",
        f"{_label(rng, '营业期限', False)}{term}",
        f"{_label(rng, '住所')}{address}",
        f"经营范围 {rng.choice(_TRADES)}服务；国内货物运输代理；五金产品批发。",
        f"登记机关 {region[1]}市场监督管理局",
        write_date(issue_rng, issued, full_width_ok),
    ]
    return ["\n".join(lines)], truth


def id_card(rng: random.Random, full_width_ok: bool) -> tuple[list[str], dict[str, str | bool]]:
    region = rng.choice(_REGIONS)
    born = random_date(rng, 1950, 2004)
    number = id_number(rng, region[3], born)
    name = person(rng)
    issued = random_date(rng, max(born.year + 16, 2006), 2025)
    truth: dict[str, str | bool] = {"name": name, "id_number": number, "issued_on": issued.isoformat()}
    if issued.year - born.year >= 46:
        validity = f"{issued:%Y.%m.%d}-长期"
        truth["perpetual"] = True
    else:
        years = 10 if issued.year - born.year < 26 else 20
        expires = (
            issued.replace(year=issued.year + years)
            if not (issued.month == 2 and issued.day == 29)
            else issued.replace(year=issued.year + years, day=28)
        )
        validity = f"{issued:%Y.%m.%d}-{expires:%Y.%m.%d}"
        truth["expires_on"] = expires.isoformat()
    front = "\n".join(
        (
            f"姓名 {name}",
            f"性别 {rng.choice('男女')}    民族 汉",
            f"出生 {born.year}年{born.month}月{born.day}日",
            f"住址 {region[0]}{region[1]}{region[2]}{rng.choice(_STREETS)}{rng.randrange(1, 300)}号",
            f"公民身份号码 {number}",
        )
    )
    back = "\n".join(
        ("中华人民共和国", "居民身份证", f"签发机关 {region[1]}公安局{region[2]}分局", f"有效期限 {validity}")
    )
    return [front, back], truth


def contract(rng: random.Random, full_width_ok: bool) -> tuple[list[str], dict[str, str | bool]]:
    party_a, _ = company(rng)
    party_b, _ = company(rng)
    while party_b == party_a:
        party_b, _ = company(rng)
    number = (
        f"{rng.choice(('HT', 'CG', 'FW', 'XS'))}-{rng.randrange(2019, 2027)}-{rng.randrange(1, 9999):04d}"
    )
    amount = Decimal(rng.randrange(10_000, 5_000_000)) + (
        Decimal(rng.randrange(100)) / 100 if rng.random() < 0.3 else 0
    )
    signed = random_date(rng, 2019, 2026)
    start = signed + dt.timedelta(days=rng.randrange(0, 15))
    end = start.replace(year=start.year + rng.choice((1, 2, 3))) - dt.timedelta(days=1)
    truth: dict[str, str | bool] = {
        "contract_no": number,
        "party_a": party_a,
        "party_b": party_b,
        "amount": f"{amount:.2f}",
        "signed_on": signed.isoformat(),
        "issued_on": start.isoformat(),
        "expires_on": end.isoformat(),
    }
    figures = f"{amount:,.2f}"
    amount_text = rng.choice(
        (
            f"人民币{upper_amount(amount)}（¥{figures}）",
            f"人民币{figures}元（大写：{upper_amount(amount)}）",
            f"¥{figures}元（大写：人民币{upper_amount(amount)}）",
        )
    )
    page1 = "\n".join(
        (
            rng.choice(("采购合同", "技术服务合同", "设备买卖合同", "物流服务协议")),
            f"{rng.choice(('合同编号', '合同号', '编号'))}：{number}",
            f"甲方（{rng.choice(('采购方', '委托方', '买方'))}）：{party_a}",
            f"乙方（{rng.choice(('供应方', '受托方', '卖方'))}）：{party_b}",
            "一、标的：乙方向甲方提供合同附件所列货物及服务。",
            f"二、合同金额：{amount_text}。",
            f"三、合同有效期自{write_date(rng, start, full_width_ok)}起至{write_date(rng, end, full_width_ok)}止。",
            "四、付款方式：验收合格后十五个工作日内一次性付清。",
        )
    )
    page2 = "\n".join(
        (
            "五、争议解决：协商不成的，提交甲方所在地人民法院诉讼解决。",
            "甲方（盖章）：",
            "乙方（盖章）：",
            f"签订日期：{write_date(rng, signed, full_width_ok)}",
        )
    )
    return [page1, page2], truth


def bank_letter(rng: random.Random, full_width_ok: bool) -> tuple[list[str], dict[str, str | bool]]:
    name, region = company(rng)
    bank = f"{rng.choice(_BANKS)}{region[1].rstrip('市')}{rng.choice(_STREETS).rstrip('路道')}支行"
    account = "".join(str(rng.randrange(10)) for _ in range(rng.choice((16, 17, 19))))
    grouped = " ".join(account[index : index + 4] for index in range(0, len(account), 4))
    truth: dict[str, str | bool] = {"bank_name": bank, "account_no": account, "account_name": name}
    lines = (
        "银行账户信息确认函",
        f"户名：{name}",
        f"开户银行：{bank}",
        f"账号：{grouped if rng.random() < 0.5 else account}",
        "特此证明。",
    )
    return ["\n".join(lines)], truth


def certificate(rng: random.Random, full_width_ok: bool) -> tuple[list[str], dict[str, str | bool]]:
    title, prefix, issuer = rng.choice(_CERTS)
    name, _ = company(rng)
    digits = "".join(str(rng.randrange(10)) for _ in range(9))
    number = (
        f"{prefix}{digits}"
        if not prefix.endswith("[")
        else f"{prefix}{rng.randrange(2018, 2026)}]{digits[:6]}"
    )
    issued = random_date(rng, 2018, 2025)
    expires = issued.replace(year=issued.year + rng.choice((3, 5))) - dt.timedelta(days=1)
    truth: dict[str, str | bool] = {
        "certificate_no": number,
        "issued_on": issued.isoformat(),
        "expires_on": expires.isoformat(),
    }
    lines = (
        title,
        f"证书编号：{number}",
        f"企业名称：{name}",
        f"有效期至：{write_date(rng, expires, full_width_ok)}",
        f"发证机关：{issuer}",
        f"发证日期：{write_date(rng, issued, full_width_ok)}",
    )
    return ["\n".join(lines)], truth


_MAKERS = {
    "business_license": licence,
    "id_card": id_card,
    "contract": contract,
    "bank_account": bank_letter,
    "qualification": certificate,
}
# Licences and ID cards carry the check-character identifiers the targets are about.
_MIX = (
    ("business_license", 0.32),
    ("id_card", 0.28),
    ("contract", 0.16),
    ("bank_account", 0.12),
    ("qualification", 0.12),
)
_SOURCE_MIX = (("text_pdf", 0.2), ("docx", 0.15), ("scan_300", 0.4), ("scan_200", 0.25))


def generate(count: int, seed: int = 20260311) -> list[Document]:
    """`count` documents with known values; the same seed gives the same corpus."""
    rng = random.Random(seed)  # noqa: S311 - test data, determinism wanted
    documents: list[Document] = []
    for index in range(count):
        doc_type = _pick(_MIX, index * 0.6180339887)
        source = _pick(_SOURCE_MIX, index * 0.7548776662 + 0.1)
        pages, truth = _MAKERS[doc_type](rng, full_width_ok=True)
        documents.append(
            Document(
                doc_id=f"{index:04d}-{doc_type}-{source}",
                doc_type=doc_type,
                source=source,
                pages=pages,
                truth=truth,
                seed=index,
                rotate=rng.choice((-1, 1)) * rng.uniform(0.3, 1.0),
                blur=rng.uniform(0.3, 0.7),
                page_inches=(8.27, 5.5) if doc_type in ("id_card", "bank_account") else (8.27, 11.69),
            )
        )
    return documents


def _pick(mix: tuple[tuple[str, float], ...], walk: float) -> str:
    """A deterministic, evenly spread interleaving that follows the shares of `mix`."""
    position = walk % 1.0
    total = 0.0
    for name, share in mix:
        total += share
        if position < total:
            return name
    return mix[-1][0]

"""Documents in their real layouts (tests/layouts.py) with known values and known printed text.

Licences (2016 format 副本 landscape and portrait, 正本 reduced to A4, pre-2016 with 注册号), ID
cards (photocopy of both sides, or each side scanned alone), bank letters (开户许可证,
基本存款账户信息) and two-page contracts with their dates in the signature block; scanned at 300
and 200 dpi with grain, blur and a tilt; and a few bad scans (turned, photographed at an angle,
QR code torn off, 150 dpi) whose values must never come out wrong.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from archive.credit_code import registration_no_check_digit
from bench.extraction.corpus import (
    _BANKS,
    _STREETS,
    _TRADES,
    _TYPES,
    company,
    credit_code,
    id_number,
    person,
    random_date,
    upper_amount,
)
from tests import layouts
from tests.layouts import Form, ScanOptions, Seal, Text

SOURCES = ("real_300", "real_200", "bad")
_SCOPE = (
    "供应链管理服务",
    "国内货物运输代理",
    "五金产品批发",
    "机电设备销售",
    "软件开发",
    "信息技术咨询服务",
    "建筑材料销售",
    "医疗器械经营（一类）",
    "普通货物仓储服务（不含危险化学品等需许可审批的项目）",
    "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广",
)
_BUILDINGS = ("", "", "环球广场12层", "金融中心B座1806室", "科技园3号楼501", "万达广场A区2201单元")
_KINDS = (
    ("licence_2016_landscape", 0.20),
    ("licence_2016_portrait", 0.10),
    ("licence_2016_original", 0.06),
    ("licence_before_2016", 0.08),
    ("id_card_copy", 0.14),
    ("id_card_sides", 0.06),
    ("bank_permit", 0.08),
    ("bank_account_info", 0.06),
    ("contract", 0.22),
)
_BAD = ("turned_90", "turned_180", "photo_at_angle", "qr_torn_off", "dpi_150")
_DOC_TYPES = {
    "licence": "business_license",
    "id": "id_card",
    "bank": "bank_account",
    "contract": "contract",
}


@dataclass(frozen=True)
class RealDocument:
    """One document in a real layout: what it is, how it was scanned, what it must yield."""

    doc_id: str
    doc_type: str
    kind: str
    source: str
    truth: dict[str, str | bool]
    data: object
    scan: ScanOptions
    suffix: str
    registration_no: str = ""


def generate(count: int, seed: int = 20261202) -> list[RealDocument]:
    """`count` documents in real layouts plus one of each bad scan; same seed, same corpus."""
    rng = random.Random(seed)  # noqa: S311 - test data
    documents: list[RealDocument] = []
    for index in range(count):
        kind = _pick(_KINDS, index * 0.6180339887)
        dpi = 300 if index % 5 in (0, 1, 3) else 200
        documents.append(_document(rng, index, kind, f"real_{dpi}", _scan_options(rng, index, dpi)))
    for offset, bad in enumerate(_BAD):
        index = count + offset
        options = _scan_options(rng, index, 150 if bad == "dpi_150" else 300)
        if bad.startswith("turned"):
            options = _replace(options, turned=int(bad.split("_")[1]))
        elif bad == "photo_at_angle":
            options = _replace(options, perspective=0.05, rotate_degrees=2.5)
        elif bad == "qr_torn_off":
            options = _replace(options, tear_qr=True)
        documents.append(_document(rng, index, "licence_2016_landscape", "bad", options, note=bad))
    return documents


def forms(document: RealDocument) -> list[Form]:
    """The pages of a document, drawn."""
    data = document.data
    if document.kind == "licence_2016_landscape":
        return [layouts.licence_2016(data)]  # type: ignore[arg-type]
    if document.kind == "licence_2016_portrait":
        return [layouts.licence_2016(data, orientation="portrait")]  # type: ignore[arg-type]
    if document.kind == "licence_2016_original":
        return [layouts.licence_2016(data, copy="正本")]  # type: ignore[arg-type]
    if document.kind == "licence_before_2016":
        return [layouts.licence_before_2016(data, document.registration_no)]  # type: ignore[arg-type]
    if document.kind == "id_card_copy":
        return [layouts.id_card_copy(data)]  # type: ignore[arg-type]
    if document.kind == "id_card_sides":
        return layouts.id_card_sides(data)  # type: ignore[arg-type]
    if document.kind == "bank_permit":
        return [layouts.bank_permit(data)]  # type: ignore[arg-type]
    if document.kind == "bank_account_info":
        return [layouts.bank_account_info(data)]  # type: ignore[arg-type]
    return layouts.contract_pages(data)  # type: ignore[arg-type]


def render(document: RealDocument, directory: Path) -> tuple[Path, str]:
    """The scan file and its media type."""
    path = directory / f"{document.doc_id}{document.suffix}"
    layouts.scan(path, forms(document), document.scan)
    media_type = {".png": "image/png", ".jpg": "image/jpeg", ".tif": "image/tiff", ".pdf": "application/pdf"}
    return path, media_type[document.suffix]


def printed_text(document: RealDocument) -> list[str]:
    """What is printed on each page (seals aside), for the bag-of-characters error."""
    pages = []
    for form in forms(document):
        pieces = [item.text for item in form.items if isinstance(item, Text)]
        pages.append("".join(pieces))
    return pages


def bag_of_characters(text: str) -> dict[str, int]:
    """Characters and their counts, blanks left out, full-width forms folded (NFKC)."""
    counts: dict[str, int] = {}
    for char in unicodedata.normalize("NFKC", text):
        if not char.isspace():
            counts[char] = counts.get(char, 0) + 1
    return counts


def _document(
    rng: random.Random, index: int, kind: str, source: str, options: ScanOptions, note: str = ""
) -> RealDocument:
    family = kind.split("_")[0]
    doc_id = f"{index:04d}-{kind}-{note or source}"
    suffix = ".png"
    registration_no = ""
    if family == "licence":
        data, truth = _licence(rng, with_qr=kind != "licence_before_2016")
        if kind == "licence_before_2016":
            registration_no = _registration_no(rng)
            truth.pop("credit_code")
            truth["registration_no"] = registration_no
        if kind == "licence_2016_original":
            options = _replace(options, reduce_to_mm=layouts.A4_LANDSCAPE)
        if data.qr_payload and not options.tear_qr:
            truth["qr_host"] = layouts.QR_HOST
        suffix = ".jpg" if index % 3 == 0 else ".png"
    elif family == "id":
        data, truth = _id_card(rng)
        suffix = ".tif" if kind == "id_card_sides" else ".png"
    elif family == "bank":
        data, truth = _bank(rng)
    else:
        data, truth = _contract(rng)
        suffix = ".pdf"
    return RealDocument(
        doc_id=doc_id,
        doc_type=_DOC_TYPES[family],
        kind=kind,
        source=source,
        truth=truth,
        data=data,
        scan=options,
        suffix=suffix,
        registration_no=registration_no,
    )


def _scan_options(rng: random.Random, index: int, dpi: int) -> ScanOptions:
    return ScanOptions(
        dpi=dpi,
        rotate_degrees=rng.choice((-1, 1)) * rng.uniform(0.2, 1.0),
        blur_radius=rng.uniform(0.3, 0.7),
        seed=index,
    )


def _replace(options: ScanOptions, **changes: object) -> ScanOptions:
    from dataclasses import replace

    return replace(options, **changes)  # type: ignore[arg-type]


def _printed_date(date: dt.date) -> str:
    return f"{date.year}年{date.month:02d}月{date.day:02d}日"


def _address(rng: random.Random, region: tuple[str, str, str, str]) -> str:
    city = region[1] if region[1] != region[0] else ""
    return f"{region[0]}{city}{region[2]}{rng.choice(_STREETS)}{rng.randrange(1, 400)}号{rng.choice(_BUILDINGS)}"


def _licence(rng: random.Random, with_qr: bool) -> tuple[layouts.LicenceData, dict[str, str | bool]]:
    name, region = company(rng)
    code = credit_code(rng, region[3])
    founded = random_date(rng, 1998, 2023)
    issued = founded + dt.timedelta(days=rng.randrange(0, (dt.date(2025, 12, 31) - founded).days + 1))
    capital = Decimal(rng.choice((50, 100, 200, 300, 500, 1000, 2000, 5000))) * 10_000
    capital_text = rng.choice(
        (upper_amount(capital), f"{int(capital / 10_000)}万元人民币", f"人民币{upper_amount(capital)}")
    )
    company_type = rng.choice(_TYPES)
    representative = person(rng)
    address = _address(rng, region)
    truth: dict[str, str | bool] = {
        "name": name,
        "credit_code": code,
        "company_type": company_type,
        "legal_representative": representative,
        "registered_capital": f"{capital:.2f}",
        "founded_on": founded.isoformat(),
        "issued_on": issued.isoformat(),
        "address": address,
    }
    if rng.random() < 0.35:
        term = f"{_printed_date(founded)}至长期"
        truth["perpetual"] = True
    else:
        expires = founded.replace(year=founded.year + rng.choice((10, 20, 30, 50))) - dt.timedelta(days=1)
        term = f"{_printed_date(founded)}至{_printed_date(expires)}"
        truth["expires_on"] = expires.isoformat()
    scope = "；".join(rng.sample(_SCOPE, rng.randrange(2, 6))) + "。（依法须经批准的项目，经相关部门批准后方可开展经营活动）"
    token = "".join(rng.choice("0123456789ABCDEF") for _ in range(32))
    data = layouts.LicenceData(
        name=name,
        credit_code=code,
        company_type=company_type.replace("(", "（").replace(")", "）"),
        legal_representative=representative,
        registered_capital=capital_text,
        founded=_printed_date(founded),
        term=term,
        address=address,
        business_scope=f"{rng.choice(_TRADES)}服务；{scope}",
        authority=f"{region[1]}{region[2]}市场监督管理局",
        issued=_printed_date(issued),
        qr_payload=f"http://{layouts.QR_HOST}/%7B{token}%7D" if with_qr else None,
    )
    return data, truth


def _registration_no(rng: random.Random) -> str:
    first14 = rng.choice(("350100", "350200", "330100")) + "".join(str(rng.randrange(10)) for _ in range(8))
    return first14 + str(registration_no_check_digit(first14))


def _id_card(rng: random.Random) -> tuple[layouts.IdCardData, dict[str, str | bool]]:
    from bench.extraction.corpus import _REGIONS

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
        day = 28 if (issued.month, issued.day) == (2, 29) else issued.day
        expires = issued.replace(year=issued.year + years, day=day)
        validity = f"{issued:%Y.%m.%d}-{expires:%Y.%m.%d}"
        truth["expires_on"] = expires.isoformat()
    data = layouts.IdCardData(
        name=name,
        sex=rng.choice("男女"),
        ethnicity=rng.choice(("汉", "汉", "汉", "回", "畲")),
        born=(born.year, born.month, born.day),
        address=_address(rng, region),
        number=number,
        authority=f"{region[1]}公安局{region[2]}分局",
        validity=validity,
    )
    return data, truth


def _bank(rng: random.Random) -> tuple[layouts.BankData, dict[str, str | bool]]:
    name, region = company(rng)
    bank = f"{rng.choice(_BANKS)}{region[1].rstrip('市')}{rng.choice(_STREETS).rstrip('路道')}支行"
    account = "".join(str(rng.randrange(10)) for _ in range(rng.choice((16, 17, 19))))
    grouped = " ".join(account[index : index + 4] for index in range(0, len(account), 4))
    data = layouts.BankData(
        holder=name,
        legal_representative=person(rng),
        bank=bank,
        account=grouped if rng.random() < 0.6 else account,
        approval_no="J" + "".join(str(rng.randrange(10)) for _ in range(13)),
        serial=f"{rng.randrange(1000, 9999)}-{rng.randrange(10**7, 10**8)}",
        issued=_printed_date(random_date(rng, 2008, 2025)),
        authority=f"中国人民银行{region[1]}中心支行",
    )
    return data, {"bank_name": bank, "account_no": account, "account_name": name}


def _contract(rng: random.Random) -> tuple[layouts.ContractData, dict[str, str | bool]]:
    party_a, _ = company(rng)
    party_b, _ = company(rng)
    while party_b == party_a:
        party_b, _ = company(rng)
    number = f"{rng.choice(('HT', 'CG', 'FW', 'XS'))}-{rng.randrange(2019, 2027)}-{rng.randrange(1, 9999):04d}"
    amount = Decimal(rng.randrange(10_000, 5_000_000)) + (
        Decimal(rng.randrange(100)) / 100 if rng.random() < 0.3 else 0
    )
    figures = f"{amount:,.2f}"
    clause = rng.choice(
        (
            f"二、合同金额：人民币{upper_amount(amount)}（¥{figures}）。",
            f"二、合同金额：人民币{figures}元（大写：{upper_amount(amount)}）。",
            f"二、合同总价款：¥{figures}元（大写：人民币{upper_amount(amount)}），含增值税。",
        )
    )
    signed_a = random_date(rng, 2019, 2026)
    signed_b = signed_a + dt.timedelta(days=rng.choice((0, 0, 1, 3)))
    data = layouts.ContractData(
        title=rng.choice(("采购合同", "技术服务合同", "设备买卖合同", "物流服务协议")),
        number=number,
        party_a=party_a,
        party_b=party_b,
        amount_clause=clause,
        signed_a=f"{signed_a.year}年{signed_a.month}月{signed_a.day}日",
        signed_b=f"{signed_b.year}年{signed_b.month}月{signed_b.day}日",
    )
    truth: dict[str, str | bool] = {
        "contract_no": number,
        "party_a": party_a,
        "party_b": party_b,
        "amount": f"{amount:.2f}",
        "signed_on": max(signed_a, signed_b).isoformat(),
    }
    return data, truth


def _pick(mix: tuple[tuple[str, float], ...], walk: float) -> str:
    position = walk % 1.0
    total = 0.0
    for name, share in mix:
        total += share
        if position < total:
            return name
    return mix[-1][0]


__all__ = ["SOURCES", "RealDocument", "Seal", "bag_of_characters", "forms", "generate", "printed_text", "render"]

"""Scans of documents in their real layouts, drawn by code: licences, ID cards, bank letters, contracts.

Each maker places its text where the real form prints it (in millimetres on the page) and
returns a `Form`; `scan()` renders a form as a scanner or a phone would give it back: paper
grain, a red seal over the issue date, a tilt, blur, any resolution, and optionally turned,
photographed at an angle or with the QR code torn off.

- 营业执照 (2016 national format, 三证合一): 统一社会信用代码 top left with the code under it,
  the QR code top right, two columns (left 名称/类型/法定代表人/经营范围, right
  注册资本/成立日期/营业期限/住所), 登记机关 at the bottom right with the issue date under it
  and the registration authority's red seal over both. 副本 landscape (A4) or portrait, 正本
  landscape (A3, scanned reduced to A4).
- 企业法人营业执照 before 2016: 注册号 (15 digits) top right, one column of labels.
- 居民身份证 (second generation), front and back, as the usual photocopy: both sides on one A4 page.
- 开户许可证 (核准号, 编号, the account holder in the sentence, 法定代表人, 开户银行, 账号) and the
  later 基本存款账户信息 (存款人名称, 账号, 开户银行, 基本存款账户编号).
- Contracts whose dates stand only in the two-column signature block (甲方（盖章）… 日期 /
  乙方（盖章）… 日期).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import segno
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from tests.samples import FONT_PATH

MONO_FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
A4_PORTRAIT = (210.0, 297.0)
A4_LANDSCAPE = (297.0, 210.0)
A3_LANDSCAPE = (420.0, 297.0)
ID_CARD = (85.6, 54.0)
_MM_PER_INCH = 25.4
_PT_PER_MM = 72 / 25.4
INK = (25, 25, 25)
SEAL_RED = (205, 40, 45)
QR_HOST = "www.gsxt.gov.cn"


@dataclass(frozen=True)
class Text:
    """A run of text: its top-left corner in mm, size in points; wrapped at `wrap_mm` if given."""

    x: float
    y: float
    text: str
    size: float = 11.0
    wrap_mm: float | None = None
    spacing: float = 1.5  # line spacing, in font heights
    mono: bool = False


@dataclass(frozen=True)
class Seal:
    """A round red seal (公章): centre and diameter in mm, the authority's name along its rim."""

    x: float
    y: float
    diameter: float
    name: str


@dataclass(frozen=True)
class QrCode:
    x: float
    y: float
    size: float
    payload: str


@dataclass(frozen=True)
class Box:
    """A rectangle outline (a border, a card's edge, a photo placeholder when filled)."""

    left: float
    top: float
    right: float
    bottom: float
    width_mm: float = 0.4
    fill: tuple[int, int, int] | None = None


@dataclass
class Form:
    """A page to draw: its size in mm and what stands on it."""

    size_mm: tuple[float, float]
    items: list[Text | Seal | QrCode | Box] = field(default_factory=list)

    def text(self, x: float, y: float, text: str, size: float = 11.0, **options: object) -> None:
        self.items.append(Text(x, y, text, size, **options))  # type: ignore[arg-type]


# --- the documents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceData:
    name: str
    credit_code: str
    company_type: str
    legal_representative: str
    registered_capital: str  # as printed: 伍佰万元整 or 人民币500万元
    founded: str  # as printed
    term: str  # as printed: 2015年03月11日至2035年03月10日, or 2015年03月11日至长期
    address: str
    business_scope: str
    authority: str
    issued: str  # as printed under 登记机关
    qr_payload: str | None = None


def licence_2016(
    data: LicenceData,
    copy: Literal["副本", "正本"] = "副本",
    orientation: Literal["landscape", "portrait"] = "landscape",
) -> Form:
    """The 2016 national business licence (三证合一 with its 18-character credit code)."""
    if orientation == "portrait":
        return _licence_portrait(data)
    width, height = A3_LANDSCAPE if copy == "正本" else A4_LANDSCAPE
    k = width / A4_LANDSCAPE[0]  # 正本 is the 副本's layout enlarged to A3
    form = Form((width, height))
    form.items.append(Box(8 * k, 8 * k, width - 8 * k, height - 8 * k, width_mm=1.2 * k))
    form.items.append(Box(10 * k, 10 * k, width - 10 * k, height - 10 * k, width_mm=0.3 * k))
    _emblem(form, width / 2, 22 * k, 10 * k)
    form.text(width / 2 - 30 * k, 34 * k, "营 业 执 照", 34 * k)
    if copy == "副本":
        form.text(width / 2 - 12 * k, 50 * k, "（副  本）", 14 * k)
    form.text(20 * k, 22 * k, "统一社会信用代码", 12 * k)
    form.text(20 * k, 29 * k, data.credit_code, 13 * k, mono=True)
    if data.qr_payload:
        form.items.append(QrCode(width - 52 * k, 16 * k, 26 * k, data.qr_payload))
        form.text(width - 62 * k, 44 * k, "扫描二维码登录“国家企业信用", 7 * k)
        form.text(width - 62 * k, 48 * k, "信息公示系统”了解更多登记、", 7 * k)
        form.text(width - 62 * k, 52 * k, "备案、许可、监管信息。", 7 * k)
    left_label, left_value, right_label, right_value = 22 * k, 52 * k, 160 * k, 188 * k
    row = 10.5 * k
    top = 66 * k
    size = 11 * k
    for index, (label, value) in enumerate(
        (("名        称", data.name), ("类        型", data.company_type), ("法定代表人", data.legal_representative))
    ):
        form.text(left_label, top + index * row, label, size)
        form.text(left_value, top + index * row, value, size, wrap_mm=(right_label - left_value - 6 * k))
    form.text(left_label, top + 3 * row, "经营范围", size)
    form.text(left_value, top + 3 * row, data.business_scope, size, wrap_mm=(right_label - left_value - 6 * k))
    for index, (label, value) in enumerate(
        (
            ("注册资本", data.registered_capital),
            ("成立日期", data.founded),
            ("营业期限", data.term),
            ("住        所", data.address),
        )
    ):
        form.text(right_label, top + index * row, label, size)
        form.text(right_value, top + index * row, value, size, wrap_mm=(width - 16 * k - right_value))
    _authority_block(form, width - 78 * k, height - 52 * k, data, k)
    form.text(20 * k, height - 24 * k, f"国家企业信用信息公示系统网址：http://{QR_HOST}", 8 * k)
    if copy == "副本":
        form.text(20 * k, height - 19 * k, "市场主体应当于每年1月1日至6月30日通过国家企业信用信息公示系统报送公示年度报告。", 8 * k)
    form.text(width / 2 - 18 * k, height - 14 * k, "国家市场监督管理总局监制", 7 * k)
    return form


def _licence_portrait(data: LicenceData) -> Form:
    width, height = A4_PORTRAIT
    form = Form((width, height))
    form.items.append(Box(8, 8, width - 8, height - 8, width_mm=1.2))
    _emblem(form, width / 2, 24, 10)
    form.text(width / 2 - 30, 36, "营 业 执 照", 32)
    form.text(width / 2 - 12, 52, "（副  本）", 14)
    form.text(16, 64, "统一社会信用代码", 11)
    form.text(16, 70, data.credit_code, 12, mono=True)
    if data.qr_payload:
        form.items.append(QrCode(width - 44, 58, 26, data.qr_payload))
    left_label, left_value, right_label, right_value = 16, 40, 110, 133
    top, row, size = 98, 11.0, 10.5
    for index, (label, value) in enumerate(
        (("名    称", data.name), ("类    型", data.company_type), ("法定代表人", data.legal_representative))
    ):
        form.text(left_label, top + index * row, label, size)
        form.text(left_value, top + index * row, value, size, wrap_mm=right_label - left_value - 4)
    form.text(left_label, top + 3 * row, "经营范围", size)
    form.text(left_value, top + 3 * row, data.business_scope, size, wrap_mm=right_label - left_value - 4)
    for index, (label, value) in enumerate(
        (
            ("注册资本", data.registered_capital),
            ("成立日期", data.founded),
            ("营业期限", data.term),
            ("住    所", data.address),
        )
    ):
        form.text(right_label, top + index * row, label, size)
        form.text(right_value, top + index * row, value, size, wrap_mm=width - 14 - right_value)
    _authority_block(form, width - 78, height - 70, data, 1.0)
    form.text(16, height - 24, f"国家企业信用信息公示系统网址：http://{QR_HOST}", 8)
    form.text(width / 2 - 18, height - 15, "国家市场监督管理总局监制", 7)
    return form


def licence_before_2016(data: LicenceData, registration_no: str) -> Form:
    """企业法人营业执照 (副本) with its 15-digit 注册号, one column of labels, portrait."""
    width, height = A4_PORTRAIT
    form = Form((width, height))
    form.items.append(Box(10, 10, width - 10, height - 10, width_mm=1.0))
    _emblem(form, width / 2, 26, 10)
    form.text(width / 2 - 48, 40, "企业法人营业执照", 26)
    form.text(width / 2 - 12, 54, "（副  本）", 13)
    form.text(width - 82, 64, f"注册号  {registration_no}", 11)
    labels = (
        ("名        称", data.name),
        ("住        所", data.address),
        ("法定代表人姓名", data.legal_representative),
        ("注 册 资 本", data.registered_capital),
        ("实 收 资 本", data.registered_capital),
        ("公 司 类 型", data.company_type),
        ("经 营 范 围", data.business_scope),
        ("成 立 日 期", data.founded),
        ("营 业 期 限", data.term),
    )
    y = 78.0
    for label, value in labels:
        form.text(24, y, label, 11)
        form.text(64, y, value, 11, wrap_mm=width - 24 - 64)
        lines = max(1, math.ceil(_text_width_mm(value, 11) / (width - 24 - 64)))
        y += 9.5 + (lines - 1) * 5.8
    _authority_block(form, width - 80, height - 66, data, 1.0)
    return form


def _authority_block(form: Form, x: float, y: float, data: LicenceData, k: float) -> None:
    """登记机关 with the issue date under it, and the authority's seal over both."""
    form.text(x + 8 * k, y, "登 记 机 关", 15 * k)
    form.text(x, y + 13 * k, data.issued, 12 * k)
    form.items.append(Seal(x + 26 * k, y + 8 * k, 40 * k, data.authority))


def _emblem(form: Form, x: float, y: float, radius: float) -> None:
    """The national emblem, as a scanner sees it at a glance: a dark disc with a ring."""
    form.items.append(Box(x - radius, y - radius, x + radius, y + radius, width_mm=0.8, fill=(150, 40, 40)))


@dataclass(frozen=True)
class IdCardData:
    name: str
    sex: str
    ethnicity: str
    born: tuple[int, int, int]
    address: str
    number: str
    authority: str
    validity: str  # 2016.03.01-2036.03.01 or 2016.03.01-长期


def id_card_copy(data: IdCardData) -> Form:
    """身份证复印件: front above back on one A4 page, each at its real size."""
    form = Form(A4_PORTRAIT)
    _id_front(form, 62, 40, data)
    _id_back(form, 62, 120, data)
    return form


def id_card_sides(data: IdCardData) -> list[Form]:
    """The card's two sides scanned on their own, each page the card's size."""
    front, back = Form(ID_CARD), Form(ID_CARD)
    _id_front(front, 0, 0, data)
    _id_back(back, 0, 0, data)
    return [front, back]


def _id_front(form: Form, x: float, y: float, data: IdCardData) -> None:
    form.items.append(Box(x, y, x + ID_CARD[0], y + ID_CARD[1], width_mm=0.3))
    form.items.append(Box(x + 57, y + 7, x + 81, y + 37, width_mm=0.2, fill=(120, 120, 120)))
    small, value = 8.5, 10.0
    form.text(x + 5, y + 6, "姓 名", small)
    form.text(x + 15, y + 5.5, data.name, value)
    form.text(x + 5, y + 13, "性 别", small)
    form.text(x + 15, y + 12.5, data.sex, value)
    form.text(x + 25, y + 13, "民 族", small)
    form.text(x + 35, y + 12.5, data.ethnicity, value)
    year, month, day = data.born
    form.text(x + 5, y + 20, "出 生", small)
    form.text(x + 15, y + 19.5, f"{year}  年  {month}  月  {day}  日", value)
    form.text(x + 5, y + 27, "住 址", small)
    form.text(x + 15, y + 26.5, data.address, value, wrap_mm=40, spacing=1.35)
    form.text(x + 5, y + 45, "公民身份号码", small)
    form.text(x + 28, y + 44.3, data.number, 12, mono=True)


def _id_back(form: Form, x: float, y: float, data: IdCardData) -> None:
    form.items.append(Box(x, y, x + ID_CARD[0], y + ID_CARD[1], width_mm=0.3))
    _emblem(form, x + 12, y + 12, 7)
    form.text(x + 30, y + 6, "中华人民共和国", 12)
    form.text(x + 26, y + 15, "居民身份证", 18)
    form.text(x + 14, y + 37, "签发机关", 8.5)
    form.text(x + 30, y + 36.5, data.authority, 9.5)
    form.text(x + 14, y + 45, "有效期限", 8.5)
    form.text(x + 30, y + 44.5, data.validity, 9.5)


@dataclass(frozen=True)
class BankData:
    holder: str
    legal_representative: str
    bank: str
    account: str  # as printed, often in groups of four
    approval_no: str  # 核准号 J3910001234501
    serial: str  # 编号 3910-01234567
    issued: str
    authority: str


def bank_permit(data: BankData) -> Form:
    """开户许可证 (until 2019): the account holder named in the sentence, then a table of labels."""
    form = Form(A4_LANDSCAPE)
    form.items.append(Box(12, 12, 285, 198, width_mm=1.0))
    form.text(118, 24, "开 户 许 可 证", 26)
    form.text(24, 48, f"核准号：{data.approval_no}", 11)
    form.text(190, 48, f"编号：{data.serial}", 11)
    form.text(36, 64, "经审核，", 12)
    form.text(58, 64, data.holder, 12)
    form.text(36, 74, "符合开户条件，准予开立基本存款账户。", 12)
    for index, (label, value) in enumerate(
        (("法定代表人", data.legal_representative), ("开 户 银 行", data.bank), ("账        号", data.account))
    ):
        form.text(36, 92 + index * 13, label, 12)
        form.text(80, 92 + index * 13, value, 12)
    form.text(190, 150, "发证机关（盖章）", 11)
    form.text(190, 166, data.issued, 11)
    form.items.append(Seal(215, 158, 38, data.authority))
    return form


def bank_account_info(data: BankData) -> Form:
    """基本存款账户信息 (since 2019): a table of labels and values, the bank's seal at the bottom."""
    form = Form(A4_PORTRAIT)
    form.text(60, 30, "基本存款账户信息", 20)
    rows = (
        ("账户名称", data.holder),
        ("账    号", data.account),
        ("开户银行", data.bank),
        ("法定代表人（单位负责人）", data.legal_representative),
        ("基本存款账户编号", data.approval_no),
    )
    for index, (label, value) in enumerate(rows):
        y = 56 + index * 14
        form.items.append(Box(20, y - 4, 190, y + 10, width_mm=0.3))
        form.text(24, y, label, 11)
        form.text(88, y, value, 11, wrap_mm=98)
    form.text(120, 150, f"开户银行（盖章）  {data.issued}", 11)
    form.items.append(Seal(150, 150, 36, data.bank[:14]))
    return form


@dataclass(frozen=True)
class ContractData:
    title: str
    number: str
    party_a: str
    party_b: str
    amount_clause: str  # 二、合同金额：…
    signed_a: str  # as printed in 甲方's block
    signed_b: str


def contract_pages(data: ContractData) -> list[Form]:
    """A two-page contract: terms on the first, the two-column signature block on the second."""
    first = Form(A4_PORTRAIT)
    first.text(70, 26, data.title, 18)
    first.text(130, 40, f"合同编号：{data.number}", 10.5)
    first.text(24, 54, f"甲方（采购方）：{data.party_a}", 11)
    first.text(24, 63, f"乙方（供应方）：{data.party_b}", 11)
    clauses = (
        "一、标的：乙方按本合同附件所列清单向甲方供应货物，并负责运输、安装与调试。",
        data.amount_clause,
        "三、交货：乙方应于合同生效后三十日内交付至甲方指定仓库，逾期每日按合同金额千分之一支付违约金。",
        "四、付款：货物验收合格且乙方开具增值税专用发票后十五个工作日内，甲方一次性付清货款。",
        "五、质量保证：质保期为验收合格之日起十二个月，质保期内乙方免费维修或更换。",
    )
    y = 78.0
    for clause in clauses:
        first.text(24, y, clause, 11, wrap_mm=162)
        y += 8 + 6.5 * (math.ceil(_text_width_mm(clause, 11) / 162) - 1) + 3
    second = Form(A4_PORTRAIT)
    second.text(24, 30, "六、争议解决：协商不成的，任何一方可向甲方所在地人民法院提起诉讼。", 11, wrap_mm=162)
    second.text(24, 42, "七、本合同一式两份，甲乙双方各执一份，自双方签字盖章之日起生效。", 11, wrap_mm=162)
    second.text(24, 62, "（以下无正文）", 11)
    for x, side, name, signed in ((24, "甲", data.party_a, data.signed_a), (112, "乙", data.party_b, data.signed_b)):
        second.text(x, 84, f"{side}方（盖章）：", 11)
        second.text(x, 94, name, 11, wrap_mm=80)
        second.text(x, 110, "法定代表人或授权代表（签字）：", 10)
        second.text(x, 126, f"日期：{signed}", 11)
        second.items.append(Seal(x + 34, 100, 38, name))
    return [first, second]


# --- scanning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanOptions:
    """How a form comes back from the scanner (or a phone)."""

    dpi: int = 300
    rotate_degrees: float = 0.5  # tilt, counter-clockwise
    blur_radius: float = 0.4
    noise: bool = True
    seed: int = 0
    turned: Literal[0, 90, 180, 270] = 0  # the whole page turned clockwise (fed in sideways)
    perspective: float = 0.0  # a phone photo's keystone: 0 flat, 0.08 strongly at an angle
    tear_qr: bool = False  # the QR code's corner torn off (painted over with paper)
    reduce_to_mm: tuple[float, float] | None = None  # a copier's reduction (A3 正本 onto A4)
    colour: bool = True


def render(form: Form, options: ScanOptions) -> Image.Image:
    """The form as a scanned RGB image (greyscale when `colour` is off)."""
    dpi = options.dpi
    if options.reduce_to_mm:
        # Drawn at the original size, then reduced as a copier does: text gets smaller.
        scale = options.reduce_to_mm[0] / form.size_mm[0]
        dpi = round(options.dpi * scale)
    px = dpi / _MM_PER_INCH
    size = (round(form.size_mm[0] * px), round(form.size_mm[1] * px))
    page = Image.new("RGB", size, (252, 251, 247))
    ink = ImageDraw.Draw(page)
    seals: list[Seal] = []
    qr_boxes: list[tuple[int, int, int, int]] = []
    for item in form.items:
        if isinstance(item, Text):
            _draw_text(ink, item, px)
        elif isinstance(item, Box):
            box = (round(item.left * px), round(item.top * px), round(item.right * px), round(item.bottom * px))
            ink.rectangle(box, outline=INK, width=max(1, round(item.width_mm * px)), fill=item.fill)
        elif isinstance(item, QrCode):
            qr_boxes.append(_draw_qr(page, item, px))
        else:
            seals.append(item)
    if options.tear_qr:
        for left, top, right, bottom in qr_boxes:
            # Torn diagonally through the code: most of its modules and two finder patterns gone.
            ink.polygon(
                [(left - 10, top - 10), (right + 10, top - 10), (right + 10, bottom - (bottom - top) // 3),
                 (left - 10, bottom + 10)],
                fill=(252, 251, 247),
            )
    for seal in seals:
        page = _stamp(page, seal, px)
    if options.reduce_to_mm:
        target = (round(options.reduce_to_mm[0] * options.dpi / _MM_PER_INCH),
                  round(options.reduce_to_mm[1] * options.dpi / _MM_PER_INCH))
        page = page.resize(target, Image.Resampling.LANCZOS)
    if options.noise:
        page = _grain(page, options.seed)
    if options.blur_radius:
        page = page.filter(ImageFilter.GaussianBlur(options.blur_radius * options.dpi / 300))
    if options.rotate_degrees:
        page = page.rotate(options.rotate_degrees, resample=Image.Resampling.BICUBIC, fillcolor=(252, 251, 247))
    if options.perspective:
        page = _photographed(page, options.perspective)
    if options.turned:
        page = page.rotate(-options.turned, expand=True)
    return page if options.colour else page.convert("L")


def scan(path: Path, forms: list[Form], options: ScanOptions) -> Path:
    """Write the forms as one scan: PNG/JPEG for one page, TIFF or PDF for several (by suffix)."""
    images = [render(form, replace(options, seed=options.seed * 100 + number)) for number, form in enumerate(forms)]
    dpi = (options.dpi, options.dpi)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=float(options.dpi),
                       quality=88, creationDate=None, modDate=None)
    elif suffix in (".tif", ".tiff"):
        images[0].save(path, "TIFF", save_all=True, append_images=images[1:], dpi=dpi, compression="tiff_lzw")
    elif suffix in (".jpg", ".jpeg"):
        assert len(images) == 1
        images[0].save(path, "JPEG", quality=88, dpi=dpi)
    else:
        assert len(images) == 1
        images[0].save(path, "PNG", dpi=dpi)
    return path


def _font(size_pt: float, px_per_mm: float, mono: bool = False) -> ImageFont.FreeTypeFont:
    pixels = max(6, round(size_pt / _PT_PER_MM * px_per_mm))
    return _load_font(str(MONO_FONT_PATH if mono else FONT_PATH), pixels)


_FONTS: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def _load_font(path: str, pixels: int) -> ImageFont.FreeTypeFont:
    key = (path, pixels)
    if key not in _FONTS:
        _FONTS[key] = ImageFont.truetype(path, pixels, index=0)
    return _FONTS[key]


def _text_width_mm(text: str, size_pt: float) -> float:
    font = _font(size_pt, 10.0)
    return font.getlength(text) / 10.0


def _draw_text(ink: ImageDraw.ImageDraw, item: Text, px: float) -> None:
    font = _font(item.size, px, item.mono)
    lines = [item.text]
    if item.wrap_mm:
        lines = _wrap(item.text, font, item.wrap_mm * px)
    line_height = font.size * item.spacing
    for index, line in enumerate(lines):
        ink.text((round(item.x * px), round(item.y * px + index * line_height)), line, font=font, fill=INK)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines, current = [], ""
    for char in text:
        if current and font.getlength(current + char) > width:
            lines.append(current)
            current = ""
        current += char
    return [*lines, current]


def _draw_qr(page: Image.Image, item: QrCode, px: float) -> tuple[int, int, int, int]:
    code = segno.make(item.payload, error="m")
    modules = code.symbol_size(scale=1, border=0)[0]
    side = round(item.size * px)
    scale = max(1, side // modules)
    matrix = Image.new("RGB", (modules, modules), (252, 251, 247))
    for y, row in enumerate(code.matrix):
        for x, dark in enumerate(row):
            if dark:
                matrix.putpixel((x, y), INK)
    image = matrix.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    left, top = round(item.x * px), round(item.y * px)
    page.paste(image, (left, top))
    return left, top, left + image.width, top + image.height


def _stamp(page: Image.Image, seal: Seal, px: float) -> Image.Image:
    """A red seal pressed over the page: ring, star and the name along the rim, ink multiplied."""
    diameter = round(seal.diameter * px)
    stamp = Image.new("RGB", (diameter, diameter), (255, 255, 255))
    draw = ImageDraw.Draw(stamp)
    ring = max(2, diameter // 28)
    draw.ellipse((ring, ring, diameter - ring, diameter - ring), outline=SEAL_RED, width=ring)
    centre = diameter / 2
    star = [
        (
            centre + math.cos(math.radians(-90 + 36 * index)) * diameter * (0.056 if index % 2 else 0.14),
            centre + math.sin(math.radians(-90 + 36 * index)) * diameter * (0.056 if index % 2 else 0.14),
        )
        for index in range(10)
    ]
    draw.polygon(star, fill=SEAL_RED)
    name = seal.name[:16]
    font = _load_font(str(FONT_PATH), max(8, round(diameter * 0.11)))
    for index, char in enumerate(name):
        angle = math.radians(-160 + 140 * index / max(1, len(name) - 1))
        x = centre + math.cos(angle) * diameter * 0.36
        y = centre + math.sin(angle) * diameter * 0.36
        glyph = Image.new("L", (font.size * 2, font.size * 2), 0)
        ImageDraw.Draw(glyph).text((font.size // 2, font.size // 2), char, font=font, fill=255)
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        colour = Image.new("RGB", glyph.size, SEAL_RED)
        stamp.paste(colour, (round(x - glyph.width / 2), round(y - glyph.height / 2)), glyph)
    left = round(seal.x * px - diameter / 2)
    top = round(seal.y * px - diameter / 2)
    region = page.crop((left, top, left + diameter, top + diameter))
    # Seal ink is translucent: what was printed under it stays visible through it.
    pressed = ImageChops.multiply(region, Image.blend(Image.new("RGB", stamp.size, (255, 255, 255)), stamp, 0.85))
    page.paste(pressed, (left, top))
    return page


def _grain(page: Image.Image, seed: int) -> Image.Image:
    rng = random.Random(seed)  # noqa: S311 - test data
    grain = Image.frombytes("L", page.size, rng.randbytes(page.size[0] * page.size[1]))
    grain = grain.point(lambda value: 90 if value == 0 else 255 - value // 14)
    return ImageChops.multiply(page, Image.merge("RGB", (grain, grain, grain)))


def _photographed(page: Image.Image, strength: float) -> Image.Image:
    """A photo taken at an angle: the far edge shrinks (a keystone) and the light falls off."""
    width, height = page.size
    inset = strength * width
    # Target quad (what the camera sees) for the page's corners.
    quad = [(inset, 0.0), (width - inset, strength * height * 0.3), (width, height), (0.0, height)]
    coefficients = _perspective_coefficients(quad, [(0, 0), (width, 0), (width, height), (0, height)])
    canvas = page.transform(page.size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC,
                            fillcolor=(120, 118, 112))
    return canvas


def _perspective_coefficients(
    target: list[tuple[float, float]], source: list[tuple[float, float]]
) -> tuple[float, ...]:
    """PIL's eight coefficients mapping output (target) points back to input (source) points."""
    import numpy as np

    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=float)
    b = np.array([coordinate for point in source for coordinate in point], dtype=float)
    return tuple(float(value) for value in np.linalg.solve(a, b))

"""OFD files (GB/T 33190-2016) built for the tests: a ZIP with OFD.xml, a document, pages of
TextObject/TextCode; an e-invoice (数电发票) layout with its data in CustomDatas and custom
tags that point at the text objects, as the tax bureau's files carry it; and hostile ones."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

NS = "http://www.ofdspec.org/2016"


@dataclass(frozen=True)
class Invoice:
    number: str = "26352000000012345678"
    issued_on: str = "2026-03-15"
    amount: str = "11300.00"
    tax: str = "1300.00"
    buyer_name: str = "福建省闽江供应链管理有限公司"
    buyer_tax_id: str = "913501003154662784"
    seller_name: str = "厦门鹭岛机电设备有限公司"
    seller_tax_id: str = "91350200MA2XYZ1234"
    items: list[str] = field(default_factory=lambda: ["*机械设备*离心水泵 2台 10000.00"])


def invoice_lines(invoice: Invoice) -> list[tuple[str, str | None]]:
    """The printed lines of a 数电发票, each with the tag it carries (if any)."""
    return [
        ("电子发票（增值税专用发票）", None),
        (f"发票号码：{invoice.number}", None),
        (invoice.number, "InvoiceNo"),
        (f"开票日期：{invoice.issued_on[:4]}年{invoice.issued_on[5:7]}月{invoice.issued_on[8:]}日", None),
        (invoice.issued_on, "IssueDate"),
        ("购买方信息 名称：", None),
        (invoice.buyer_name, "BuyerName"),
        ("统一社会信用代码/纳税人识别号：", None),
        (invoice.buyer_tax_id, "BuyerTaxID"),
        ("销售方信息 名称：", None),
        (invoice.seller_name, "SellerName"),
        ("统一社会信用代码/纳税人识别号：", None),
        (invoice.seller_tax_id, "SellerTaxID"),
        *[(item, None) for item in invoice.items],
        (f"税额 {invoice.tax}", None),
        ("价税合计（小写）", None),
        (f"¥{invoice.amount}", "TaxInclusiveTotalAmount"),
        ("开票人：王芳", None),
    ]


def ofd_file(
    path: Path,
    pages: list[list[str]] | None = None,
    *,
    invoice: Invoice | None = None,
    custom_datas: bool = True,
    signed: bool = False,
    page_location: str | None = None,
    declared_pages: int | None = None,
    extra_members: dict[str, bytes] | None = None,
) -> Path:
    """An OFD with the given pages of lines, or an e-invoice's page; options make it hostile."""
    tagged: dict[str, int] = {}
    page_objects: list[list[tuple[int, str]]] = []
    next_id = 10
    if invoice is not None:
        objects = []
        for text, tag in invoice_lines(invoice):
            objects.append((next_id, text))
            if tag:
                tagged[tag] = next_id
            next_id += 1
        page_objects.append(objects)
    for lines in pages or []:
        objects = []
        for text in lines:
            objects.append((next_id, text))
            next_id += 1
        page_objects.append(objects)
    members: dict[str, bytes] = {}
    custom = ""
    if invoice is not None and custom_datas:
        datas = {
            "发票号码": invoice.number,
            "开票日期": invoice.issued_on,
            "价税合计": invoice.amount,
            "购买方名称": invoice.buyer_name,
            "购买方纳税人识别号": invoice.buyer_tax_id,
            "销售方名称": invoice.seller_name,
            "销售方纳税人识别号": invoice.seller_tax_id,
        }
        custom = (
            "<ofd:CustomDatas>"
            + "".join(
                f'<ofd:CustomData Name="{name}">{escape(value)}</ofd:CustomData>'
                for name, value in datas.items()
            )
            + "</ofd:CustomDatas>"
        )
    signatures = "<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>" if signed else ""
    members["OFD.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{NS}" Version="1.1" DocType="OFD">'
        "<ofd:DocBody><ofd:DocInfo><ofd:DocID>6f3a0d9c2b8e4a51</ofd:DocID><ofd:Creator>测试开票系统</ofd:Creator>"
        f"<ofd:CreationDate>2026-03-15</ofd:CreationDate>{custom}</ofd:DocInfo>"
        f"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>{signatures}</ofd:DocBody></ofd:OFD>"
    ).encode()
    page_entries = "".join(
        f'<ofd:Page ID="{index + 1}" BaseLoc="{page_location or f"Pages/Page_{index}/Content.xml"}"/>'
        for index in range(declared_pages if declared_pages is not None else len(page_objects))
    )
    tags = "<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags>" if tagged else ""
    members["Doc_0/Document.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
        f"<ofd:MaxUnitID>{next_id}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox>"
        "</ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
        f"<ofd:Pages>{page_entries}</ofd:Pages>{tags}</ofd:Document>"
    ).encode()
    members["Doc_0/PublicRes.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:Fonts>'
        '<ofd:Font ID="2" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>'
    ).encode()
    for index, objects in enumerate(page_objects):
        texts = "".join(
            f'<ofd:TextObject ID="{object_id}" Boundary="10 {10 + row * 8} 180 7" Font="2" Size="4">'
            f'<ofd:TextCode X="0" Y="5">{escape(text)}</ofd:TextCode></ofd:TextObject>'
            for row, (object_id, text) in enumerate(objects)
        )
        members[f"Doc_0/Pages/Page_{index}/Content.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{NS}"><ofd:Content>'
            f'<ofd:Layer ID="3">{texts}</ofd:Layer></ofd:Content></ofd:Page>'
        ).encode()
    if tagged:
        members["Doc_0/Tags/CustomTags.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:CustomTags xmlns:ofd="{NS}">'
            '<ofd:CustomTag TypeID="invoice" NameSpace="http://www.chinatax.gov.cn/ofd/2019">'
            "<ofd:FileLoc>CustomTag.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>"
        ).encode()
        members["Doc_0/Tags/CustomTag.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><eInvoice xmlns:ofd="{NS}">'
            + "".join(
                f'<{tag}><ofd:ObjectRef PageRef="1">{object_id}</ofd:ObjectRef></{tag}>'
                for tag, object_id in tagged.items()
            )
            + "</eInvoice>"
        ).encode()
    if signed:
        members["Doc_0/Signs/Signatures.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="{NS}">'
            '<ofd:Signature ID="1" Type="Seal" BaseLoc="Sign_0/Signature.xml"/></ofd:Signatures>'
        ).encode()
        members["Doc_0/Signs/Sign_0/Signature.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Signature xmlns:ofd="{NS}"><ofd:SignedInfo>'
            '<ofd:Provider ProviderName="国家税务总局电子发票签章" Version="1.0"/>'
            "<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>"
            "<ofd:SignatureDateTime>20260315101500Z</ofd:SignatureDateTime></ofd:SignedInfo>"
            "<ofd:SignedValue>SignedValue.dat</ofd:SignedValue></ofd:Signature>"
        ).encode()
        members["Doc_0/Signs/Sign_0/SignedValue.dat"] = b"\x30\x82\x01\x00" + b"\x00" * 64
    members.update(extra_members or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            entry = zipfile.ZipInfo(name, date_time=(2026, 3, 15, 10, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return path


def zip_claiming_ofd(path: Path) -> Path:
    """A ZIP named .ofd without an OFD.xml entry point."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "这不是 OFD")
    return path


def ofd_bomb(path: Path, inflated_bytes: int = 256 * 1024 * 1024) -> Path:
    """A valid OFD with one member that inflates far beyond the limit (a zip bomb)."""
    ofd_file(path, [["第一页"]])
    padding = zipfile.ZipInfo("Doc_0/Res/padding.bin", date_time=(2026, 3, 15, 10, 0, 0))
    padding.compress_type = zipfile.ZIP_DEFLATED
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open(padding, "w", force_zip64=True) as stream,
    ):
        block = b"\0" * (1024 * 1024)
        for _ in range(inflated_bytes // len(block)):
            stream.write(block)
    return path

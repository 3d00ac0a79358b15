"""Generated inputs: dense Chinese pages (text PDFs, 300-dpi scans), DOCX, and a synthetic archive."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium

from bench.extraction.corpus import company, generate, person
from tests import samples

# Clauses of the kind that fill real contracts and licences, Chinese with some English.
CLAUSES = (
    "甲方应当按照本合同约定的时间和方式向乙方支付货款，逾期付款的，每逾期一日按未付金额的万分之五支付违约金。",
    "乙方保证所供货物符合国家标准及行业标准，并随货提供产品合格证、检验报告及使用说明书。",
    "货物验收合格后，乙方应在十五个工作日内开具增值税专用发票，税率为百分之十三。",
    "因不可抗力导致本合同不能履行的，双方互不承担责任，但应在事件发生后七日内书面通知对方。",
    "本合同履行过程中发生的争议，由双方协商解决；协商不成的，提交甲方所在地人民法院诉讼解决。",
    "The Supplier shall deliver the goods to the Buyer's warehouse in Fuzhou within thirty days.",
    "乙方对所供设备提供十二个月的质量保证期，保证期内免费维修或更换损坏部件。",
    "双方应对在履行本合同过程中知悉的对方商业秘密承担保密义务，保密期限为合同终止后三年。",
    "经营范围：供应链管理服务；国内货物运输代理；五金产品、机电设备批发；技术进出口。",
    "本协议一式肆份，甲乙双方各执贰份，自双方签字盖章之日起生效，具有同等法律效力。",
    "Payment shall be made by bank transfer to the account named in the bank account letter.",
    "离心水泵、阀门、电机及配套控制柜的安装调试由乙方负责，费用已包含在合同总价之内。",
)
QUERY_WORDS = ("采购合同", "离心水泵", "营业执照", "质量保证", "违约金", "增值税专用发票", "供应链管理",
               "保密义务", "安装调试", "不可抗力", "warehouse", "bank transfer", "Supplier")


def dense_page(rng: random.Random, number: int, chars: int = 800) -> str:
    """About `chars` characters of contract text, headed by its page number."""
    name, _region = company(rng)
    lines = [f"第 {number} 页  采购合同  HT-2026-{rng.randrange(10000):04d}", f"甲方：{name}  法定代表人：{person(rng)}"]
    while sum(len(line) for line in lines) < chars:
        lines.append(rng.choice(CLAUSES))
    return "\n".join(lines)


def text_pdf(path: Path, pages: int, seed: int = 1) -> Path:
    rng = random.Random(seed)  # noqa: S311 - generated data, determinism wanted
    return samples.text_pdf(path, [dense_page(rng, n + 1) for n in range(pages)])


def scanned_pdf(path: Path, pages: int, *, seed: int = 2, sparse: bool = False) -> Path:
    """An image-only 300-dpi PDF of dense pages (or of pages with two lines, for memory runs)."""
    rng = random.Random(seed)  # noqa: S311
    texts = [
        f"第 {n + 1} 页 附件 Attachment\n扫描件" if sparse else dense_page(rng, n + 1) for n in range(pages)
    ]
    return samples.noisy_scan(path, texts, dpi=300, rotate_degrees=0.5, seed=seed)


def page_images(pdf: Path, directory: Path) -> list[Path]:
    """The page images exactly as embedded in the scanned PDF (the JPEG bytes), one file each."""
    directory.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument(pdf)
    images: list[Path] = []
    try:
        for index in range(len(document)):
            page = document[index]
            (image,) = [obj for obj in page.get_objects() if isinstance(obj, pdfium.PdfImage)]
            target = directory / f"page-{index + 1:03d}"
            image.extract(target)  # writes target + the native suffix (.jpg for DCT data)
            images.extend(sorted(directory.glob(f"page-{index + 1:03d}.*")))
    finally:
        document.close()
    return images


def mixed_archive(directory: Path, count: int, seed: int = 3) -> list[Path]:
    """`count` born-digital documents, text PDFs and DOCX alternately, from the field corpus:
    licences, ID cards, bank letters and certificates of one page, contracts of 3-10 pages."""
    directory.mkdir(parents=True, exist_ok=True)
    # The corpus draws scans too; their text is used here as born-digital documents.
    corpus = generate(count, seed=seed)
    rng = random.Random(seed)  # noqa: S311
    paths: list[Path] = []
    for number, document in enumerate(corpus):
        stem = directory / f"{number:05d}-{document.doc_type}"
        pages = list(document.pages)
        if document.doc_type == "contract":
            # The corpus' contracts stop after their fields; real ones run on for pages of terms.
            pages += [dense_page(rng, n + len(pages) + 1) for n in range(rng.randrange(2, 9))]
        if number % 2:
            paragraphs = [line for page in pages for line in page.splitlines()]
            paths.append(samples.docx_file(stem.with_suffix(".docx"), paragraphs))
        else:
            paths.append(samples.text_pdf(stem.with_suffix(".pdf"), pages))
    return paths


DEPARTMENTS = ("采购部", "销售部", "财务部", "法务部", "工程部", "行政部", "市场部", "物流部")
DOC_TYPES = ("business_license", "contract", "id_card", "bank_account", "authorization", "qualification", "other")
CONFIDENTIALITY = ("public", "internal", "internal", "internal", "secret", "confidential")
RANK = {"public": 0, "internal": 1, "secret": 2, "confidential": 3}


def synthetic_documents(start: int, count: int, partners: list[dict[str, str]], seed: int = 4) -> Iterator[dict]:
    """Records for the search archive: partner, type, department, title and 1-3 pages of text."""
    rng = random.Random(seed * 1_000_003 + start)  # noqa: S311
    for number in range(start, start + count):
        partner = partners[number % len(partners)]
        doc_type = rng.choice(DOC_TYPES)
        pages = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            pages.append("".join(rng.choice(CLAUSES) for _ in range(rng.randrange(3, 8))))
        yield {
            "id": f"{number:032x}",
            "partner": partner,
            "archive_no": f"{partner['archive_no']}-{number:07d}",
            "doc_type": doc_type,
            "department": partner["department"],
            "confidentiality": rng.choice(CONFIDENTIALITY),
            "title": f"{partner['name']}{doc_type}{number}",
            "pages": pages,
            "sha256": f"{number:064x}",
            "expires_on": f"20{rng.randrange(24, 36)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        }


def synthetic_partners(count: int, seed: int = 5) -> list[dict[str, str]]:
    rng = random.Random(seed)  # noqa: S311
    partners = []
    for number in range(count):
        name, _region = company(rng)
        partners.append(
            {
                "id": f"p{number:031x}",
                "name": f"{name}{number}",
                "kind": rng.choice(("supplier", "customer", "partner")),
                "department": DEPARTMENTS[number % len(DEPARTMENTS)],
                "archive_no": f"GYS-2026-{number:06d}",
            }
        )
    return partners

"""Finding 5 (and the picture half of finding 2): page images drawn within ingest's limits,
only for indexed documents, from a bounded cache, with ID numbers blacked out."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.pdfgen import canvas

from tests.samples import _PDF_FONT_NAME, _register_pdf_font, huge_image, text_pdf
from tests.security.conftest import web_sign_in

MISREAD = "350102198506123012"


def _page(client, document_id: str, number: int = 1):  # type: ignore[no-untyped-def]
    return client.get(f"/documents/{document_id}/pages/{number}.png")


def _huge_text_pdf(path, side_points: float = 7200.0):  # type: ignore[no-untyped-def]
    """A text PDF whose page is 100 inches square: 10,000 × 10,000 pixels at 100 dpi."""
    _register_pdf_font()
    pdf = canvas.Canvas(str(path), pagesize=(side_points, side_points), invariant=True)
    pdf.setFont(_PDF_FONT_NAME, 48)
    pdf.drawString(72, side_points - 144, "超大页面的采购合同文本：甲方向乙方采购离心水泵二十台，合同金额人民币壹拾贰万元整。")
    pdf.showPage()
    pdf.save()
    return path


@pytest.fixture
def small_images(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"max_image_pixels": 2_000_000, "page_image_cache_mb": 1})


def test_pages_are_drawn_within_limits_only_when_indexed_and_from_a_cache(
    tmp_path, settings, client, upload, run_worker, make_caller, create_partner
) -> None:
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    huge = upload(buyer, _huge_text_pdf(tmp_path / "huge.pdf"), partner_id=partner["id"]).json()["id"]
    assert run_worker() == 1
    waiting = upload(buyer, text_pdf(tmp_path / "later.pdf", ["稍后处理"]), partner_id=partner["id"]).json()["id"]
    web_sign_in(client, "zhang.wei", departments="采购部")

    drawn = _page(client, huge)
    assert drawn.status_code == 200, drawn.text[:300]
    image = Image.open(io.BytesIO(drawn.content))
    assert image.width * image.height <= 8_000_000, image.size
    # Not yet read by the worker: nothing is drawn from it.
    assert _page(client, waiting).status_code == 404

    # The second time the page comes from the cache, even with the original gone.
    path = client.app.state.store.path_for(
        client.get(f"/api/v1/documents/{huge}", headers=buyer.headers).json()["sha256"]
    )
    original = path.read_bytes()
    path.unlink()
    try:
        assert _page(client, huge).content == drawn.content
    finally:
        path.write_bytes(original)
    assert 0 < client.app.state.page_images.size <= client.app.state.page_images.max_bytes


def test_an_image_ingest_refused_is_never_drawn(tmp_path, small_images, upload, run_worker, make_caller,
                                                create_partner) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    with TestClient(create_app(small_images), raise_server_exceptions=False) as client:
        office = make_caller("chen.dang", roles="archivist", clearance="confidential")
        partner = client.post("/api/v1/partners", json={"name": "泉州海丝贸易有限公司", "kind": "customer",
                                                        "department": "销售部"}, headers=office.headers).json()
        with (huge_image(tmp_path / "big.png", 3000, 3000)).open("rb") as stream:
            document_id = client.post(
                "/api/v1/documents", files={"file": ("big.png", stream, "image/png")},
                data={"partner_id": partner["id"], "doc_type": "other", "confidentiality": "internal"},
                headers=office.headers,
            ).json()["id"]
        from archive.jobs import JobQueue
        from ingest.worker import attach, build_context

        queue, ctx = JobQueue(small_images), build_context(small_images)
        attach(queue, ctx, small_images)
        while (task := queue.huey.dequeue()) is not None:
            queue.huey.execute(task)
        ctx.es.close()
        assert client.get(f"/api/v1/documents/{document_id}", headers=office.headers).json()["status"] == "failed"
        web_sign_in(client, "chen.dang", roles="archivist", clearance="confidential")
        assert _page(client, document_id).status_code == 404


def _number_region(path, number: str, scale: float) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    """Where `number` is drawn on page 1, in pixels of a page drawn at `scale`."""
    pdf = pdfium.PdfDocument(str(path))
    page = pdf[0]
    textpage = page.get_textpage()
    text = "".join(textpage.get_text_range(i, 1)[:1] or " " for i in range(textpage.count_chars()))
    start = text.index(number)
    boxes = [textpage.get_charbox(i) for i in range(start, start + len(number))]
    height = page.get_size()[1]
    pdf.close()
    return (int(min(b[0] for b in boxes) * scale), int((height - max(b[3] for b in boxes)) * scale),
            int(max(b[2] for b in boxes) * scale) + 1, int((height - min(b[1] for b in boxes)) * scale) + 1)


def test_an_id_number_is_blacked_out_for_those_who_see_it_masked(
    tmp_path, client, upload, run_worker, make_caller, create_partner
) -> None:
    partner = create_partner("福州榕城包装材料有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    card = text_pdf(tmp_path / "card.pdf", [f"姓名 林建华\n公民身份号码 {MISREAD}\n住址 福州市鼓楼区五四路158号"])
    document_id = upload(buyer, card, partner_id=partner["id"], doc_type="id_card").json()["id"]
    assert run_worker() == 1
    web_sign_in(client, "chen.dang", roles="archivist", clearance="confidential")
    plain = Image.open(io.BytesIO(_page(client, document_id).content)).convert("L")
    web_sign_in(client, "zhang.wei", departments="采购部")
    masked_response = _page(client, document_id)
    assert masked_response.status_code == 200
    masked = Image.open(io.BytesIO(masked_response.content)).convert("L")
    region = _number_region(card, MISREAD, scale=100 / 72)
    number_pixels = list(masked.crop(region).getdata())
    assert sum(1 for value in number_pixels if value < 40) / len(number_pixels) > 0.95  # black
    assert min(plain.crop(region).getdata()) < 100 and max(plain.crop(region).getdata()) > 200  # text
    # The rest of the page is as it was: the name stays readable.
    name = (region[0], region[1] - 40, region[2], region[1] - 20)
    assert list(masked.crop(name).getdata()) == list(plain.crop(name).getdata())


def test_an_id_card_scan_whose_number_cannot_be_placed_is_not_shown(
    tmp_path, settings, client, upload, run_worker, make_caller, create_partner
) -> None:
    from sqlalchemy import create_engine, text

    from tests.samples import scan_image

    partner = create_partner("福州榕城包装材料有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    scan = scan_image(tmp_path / "card.png", f"姓名 林建华\n公民身份号码 {MISREAD}")
    document_id = upload(buyer, scan, partner_id=partner["id"], doc_type="id_card").json()["id"]
    assert run_worker() == 1
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:  # a page OCR'd before word boxes were kept
        connection.execute(text("UPDATE document_pages SET layout = NULL"))
        connection.execute(text("UPDATE documents SET field_provenance = '{}'"))
    engine.dispose()
    web_sign_in(client, "zhang.wei", departments="采购部")
    refused = _page(client, document_id)
    assert refused.status_code == 403 and "身份证号码" in refused.text
    web_sign_in(client, "chen.dang", roles="archivist", clearance="confidential")
    assert _page(client, document_id).status_code == 200

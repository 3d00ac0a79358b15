"""Watermarked borrowing: a borrower's download carries borrower, time and request number on
every page; a view-only loan allows no download; the original stays unchanged, and those
who see the document by the rule get it as it is."""

from __future__ import annotations

import hashlib
import io

import pypdfium2 as pdfium
import pytest
from PIL import Image

from archive.storage import OriginalStore
from tests.samples import CONTRACT_TEXT, scan_image, text_pdf


@pytest.fixture
def loan_setup(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    people = {
        "buyer": make_caller("zhang.wei", departments="采购部", clearance="secret"),
        "seller": make_caller("li.na", departments="销售部"),
        "archivist": make_caller("chen.dang", roles="archivist", clearance="confidential"),
    }
    pdf = text_pdf(tmp_path / "保密采购合同.pdf", [CONTRACT_TEXT, "第二页：附件清单"])
    png = scan_image(tmp_path / "营业执照.png", "营业执照 统一社会信用代码", dpi=100, page_inches=(4.0, 3.0))
    ids = {}
    for path in (pdf, png):
        response = upload(people["buyer"], path, partner_id=partner["id"], confidentiality="secret")
        assert response.status_code == 202, response.text
        ids[path.suffix] = response.json()["id"]
    run_worker()
    return ids, people, {".pdf": pdf, ".png": png}


def _borrow(client, people, ids, *, allow_download):  # type: ignore[no-untyped-def]
    body = {"document_ids": ids, "reason": "核对供货条款", "days": 7}
    if allow_download is not None:
        body["allow_download"] = allow_download
    request = client.post("/api/v1/borrow-requests", json=body, headers=people["seller"].headers).json()
    approved = client.post(f"/api/v1/borrow-requests/{request['id']}/approve", json={},
                           headers=people["archivist"].headers)
    assert approved.status_code == 200, approved.text
    return request["id"]


def test_a_borrowed_pdf_is_watermarked_and_the_original_unchanged(settings, client, loan_setup) -> None:
    ids, people, files = loan_setup
    # Today's clients send no allow_download: the loan lets them download, as before.
    request_id = _borrow(client, people, [ids[".pdf"]], allow_download=None)
    borrowed = client.get(f"/api/v1/documents/{ids['.pdf']}/content", headers=people["seller"].headers)
    assert borrowed.status_code == 200 and borrowed.headers["cache-control"] == "no-store"
    original = files[".pdf"].read_bytes()
    assert borrowed.content != original
    marked = pdfium.PdfDocument(borrowed.content)
    assert len(marked) == 2
    for index in range(2):
        page_text = marked[index].get_textpage().get_text_bounded()
        assert "BORROWED li.na" in page_text and f"REQUEST {request_id}" in page_text
    # The mark is visible: the rendered first page has red ink the original does not have.
    reds = [_red_pixels(pdfium.PdfDocument(data)[0].render(scale=1).to_pil()) for data in (original, borrowed.content)]
    assert reds[0] == 0 and reds[1] > 500
    # The buyer sees it by the rule: the original, byte for byte; the store is untouched.
    own = client.get(f"/api/v1/documents/{ids['.pdf']}/content", headers=people["buyer"].headers)
    assert own.content == original
    sha256 = hashlib.sha256(original).hexdigest()
    assert hashlib.sha256(OriginalStore(settings.originals_dir).path_for(sha256).read_bytes()).hexdigest() == sha256


def test_a_view_only_loan_refuses_the_download(client, loan_setup) -> None:
    ids, people, _files = loan_setup
    _borrow(client, people, [ids[".pdf"]], allow_download=False)
    assert client.get(f"/api/v1/documents/{ids['.pdf']}", headers=people["seller"].headers).status_code == 200
    refused = client.get(f"/api/v1/documents/{ids['.pdf']}/content", headers=people["seller"].headers)
    assert refused.status_code == 403 and "仅查看" in refused.json()["detail"]
    requests = client.get("/api/v1/borrow-requests", headers=people["seller"].headers).json()
    assert [r["allow_download"] for r in requests] == [False]


def test_a_borrowed_image_is_watermarked(client, loan_setup) -> None:
    ids, people, files = loan_setup
    _borrow(client, people, [ids[".png"]], allow_download=True)
    borrowed = client.get(f"/api/v1/documents/{ids['.png']}/content", headers=people["seller"].headers)
    assert borrowed.status_code == 200
    marked = Image.open(io.BytesIO(borrowed.content))
    original = Image.open(files[".png"])
    assert marked.format == "PNG" and marked.size == original.size
    assert _red_pixels(original) == 0 and _red_pixels(marked) > 200


def _red_pixels(image: Image.Image) -> int:
    rgb = image.convert("RGB")
    return sum(1 for r, g, b in rgb.getdata() if r > 200 and g < 190 and b < 190 and r - g > 40)

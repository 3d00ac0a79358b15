"""What a file says of itself, read without trusting it: a signed PDF's signature is detected
and reported (GD-1-1.2), an OFD's seal too, and a PDF whose page tree lies is caught."""

from __future__ import annotations

from pathlib import Path

from archive.file_facts import inspect_file
from ingest.extraction import PDF, extract
from tests.ofd_samples import Invoice, ofd_file
from tests.samples import CONTRACT_TEXT, text_pdf


def signed_pdf(path: Path) -> Path:
    """A one-page PDF with a signature field whose value is a detached PKCS#7 signature
    dictionary (the structure signing tools write; the signature bytes are placeholders)."""
    contents = "30" + "00" * 63
    objects = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>",
        "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /Rect [0 0 0 0] /P 3 0 R /V 5 0 R >>",
        f"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /M (D:20260315101500+08'00')"
        f" /Reason (合同签署) /ByteRange [0 0 0 0] /Contents <{contents}> >>",
    ]
    body = b"%PDF-1.7\n"
    offsets = []
    for number, text in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n{text}\nendobj\n".encode("latin-1", "replace")
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(body)
    return path


def test_a_signed_pdf_is_detected_and_reported(tmp_path) -> None:
    facts = inspect_file(signed_pdf(tmp_path / "已签署合同.pdf"))
    assert facts["problems"] == [] and facts["pages_declared"] == facts["pages_loadable"] == 1
    assert [(s["sub_filter"], s["time"]) for s in facts["signatures"]] == [
        ("adbe.pkcs7.detached", "D:20260315101500+08'00'")
    ]
    unsigned = inspect_file(text_pdf(tmp_path / "未签署.pdf", [CONTRACT_TEXT]))
    assert unsigned["signatures"] == []


def test_an_ofd_seal_is_detected_and_its_properties_read(tmp_path) -> None:
    facts = inspect_file(ofd_file(tmp_path / "发票.ofd", invoice=Invoice(), signed=True))
    assert facts["media_type"] == "application/ofd" and facts["encrypted"] is False
    assert (facts["pages_declared"], facts["pages_loadable"], facts["created"]) == (1, 1, "2026-03-15")
    assert [(s["provider"], s["method"]) for s in facts["signatures"]] == [
        ("国家税务总局电子发票签章", "1.2.156.10197.1.501")
    ]


def test_a_lying_page_tree_is_seen(tmp_path) -> None:
    honest = text_pdf(tmp_path / "两页.pdf", [CONTRACT_TEXT, "第二页"])
    lying = tmp_path / "五页.pdf"
    lying.write_bytes(honest.read_bytes().replace(b"/Count 2", b"/Count 5"))
    facts = inspect_file(lying)
    assert (facts["pages_declared"], facts["pages_loadable"]) == (5, 2)


def test_the_worker_s_page_counts_stand_in_for_loading_the_pages_again(tmp_path) -> None:
    """The worker hands the facts the extraction's count of loadable pages; counts of another
    page tree (here 2 where the file declares 5) are ignored and the pages are loaded."""
    honest = text_pdf(tmp_path / "两页.pdf", [CONTRACT_TEXT, "第二页"])
    extraction = extract(honest, PDF)
    counts = (len(extraction.pages), extraction.loadable_pages)
    assert counts == (2, 2)
    assert inspect_file(honest, pdf_page_counts=counts) == inspect_file(honest)
    lying = tmp_path / "五页.pdf"
    lying.write_bytes(honest.read_bytes().replace(b"/Count 2", b"/Count 5"))
    facts = inspect_file(lying, pdf_page_counts=counts)
    assert (facts["pages_declared"], facts["pages_loadable"]) == (5, 2)
    # Counts of the same page tree are taken as they are: the pages are not loaded again.
    assert inspect_file(lying, pdf_page_counts=(5, 5))["pages_loadable"] == 5

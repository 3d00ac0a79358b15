"""Hostile and broken input: each file ends refused at upload (4xx with a message) or as a
`failed` document with a reason; never a 5xx, never a crashed worker, never a stuck job."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive.db import make_engine, make_session_factory
from archive.migrate import upgrade_database
from archive.models import DocumentPage
from archive.settings import Settings
from search_api.app import create_app
from tests import samples

MACRO_CONTENT_TYPE = "application/vnd.ms-word.document.macroEnabled.main+xml"


def _macro_docx(folder: Path) -> Path:
    path = folder / "a.docx"
    samples.docx_file(path, ["宏病毒测试文档"])
    types = samples._read_zip_member(path, "[Content_Types].xml").decode("utf-8")
    types = re.sub(
        r"application/vnd\.openxmlformats-officedocument\.wordprocessingml\.document\.main\+xml",
        MACRO_CONTENT_TYPE,
        types,
    )
    samples._replace_zip_member(path, "[Content_Types].xml", types.encode("utf-8"))
    samples._replace_zip_member(path, "word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\0" * 508)
    return path


def _broken_xref_pdf(folder: Path) -> Path:
    path = samples.text_pdf(folder / "a.pdf", ["交叉引用表损坏的合同\n合同编号：HT-2026-0099"])
    data = path.read_bytes()
    data = re.sub(rb"startxref\s+\d+", b"startxref\n999999", data)
    path.write_bytes(data)
    return path


def _pages_pdf(path: Path, count: int) -> Path:
    return samples.text_pdf(path, [f"第 {n} 页 超长文件测试" for n in range(1, count + 1)])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# name, file maker, upload file name, what must happen: an HTTP status at upload, or the
# reason a document ends `failed` with, or "indexed" where reading it safely is the right end.
CORPUS: list[tuple[str, Callable[[Path], Path], str, int | str]] = [
    ("empty", lambda d: _write(d / "a.pdf", b""), "空文件.pdf", 415),
    ("truncated pdf", lambda d: samples.truncated_pdf(d / "a.pdf"), "截断.pdf", "corrupt"),
    ("broken xref", _broken_xref_pdf, "交叉引用损坏.pdf", "indexed"),
    ("encrypted pdf", lambda d: samples.encrypted_pdf(d / "a.pdf"), "加密.pdf", "encrypted"),
    (
        "jpeg named pdf",
        lambda d: samples.scan_image(d / "a.jpg", "营业执照", dpi=72, fmt="jpeg"),
        "执照.pdf",
        415,
    ),
    (
        "html named pdf",
        lambda d: _write(d / "a.html", b"<!DOCTYPE html><html><body>x</body></html>"),
        "合同.pdf",
        415,
    ),
    (
        "svg named png",
        lambda d: _write(d / "a.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
        "扫描.png",
        415,
    ),
    ("zip named docx", lambda d: _write(d / "a.zip", b"PK\x03\x04" + b"\0" * 100), "协议.docx", 415),
    ("pixel bomb", lambda d: samples.huge_image(d / "a.png"), "炸弹.png", "image_too_large"),
    ("zip-bomb docx", lambda d: samples.docx_bomb(d / "a.docx"), "炸弹.docx", "docx_bomb"),
    ("xxe docx", lambda d: samples.xxe_docx(d / "a.docx"), "外部实体.docx", "indexed"),
    ("macro docx", _macro_docx, "宏.docx", "corrupt"),
    ("2,000 pages", lambda d: _pages_pdf(d / "a.pdf", 2000), "两千页.pdf", "too_many_pages"),
    ("not an image", lambda d: samples.not_an_image(d / "a.png"), "损坏.png", 415),
]


@pytest.fixture
def strict(tmp_path: Path, es_url: str, settings: Settings):  # type: ignore[no-untyped-def]
    """The service with a 1,000-page limit, so that the 2,000-page PDF is refused."""
    limited = settings.model_copy(update={"max_pages": 1000})
    upgrade_database(limited.resolved_database_url)
    with TestClient(create_app(limited), raise_server_exceptions=False) as client:
        yield limited, client


def _page_texts(settings: Settings, document_id: str) -> str:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        pages = session.scalars(select(DocumentPage.text).where(DocumentPage.document_id == document_id))
        text = "\n".join(pages)
    engine.dispose()
    return text


# Generated afresh by every run, and left there to look at (the folder is not committed).
CORPUS_DIR = Path(__file__).resolve().parent.parent / "data" / "bad"


def test_every_bad_input_ends_refused_or_failed_with_a_reason(strict, make_caller) -> None:
    from archive.jobs import JobQueue
    from ingest.worker import attach, build_context

    settings, client = strict
    archivist = make_caller("chen.dang", roles="archivist", clearance="confidential")
    partner = client.post(
        "/api/v1/partners",
        json={"name": "恶意文件测试客商", "kind": "supplier", "department": "采购部"},
        headers=archivist.headers,
    ).json()
    queue = JobQueue(settings)
    attach(queue, build_context(settings), settings)
    outcomes: dict[str, object] = {}
    indexed_ids: dict[str, str] = {}
    for name, make, filename, expected in CORPUS:
        folder = CORPUS_DIR / re.sub(r"\W", "_", name)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        path = make(folder)
        with path.open("rb") as stream:
            response = client.post(
                "/api/v1/documents",
                files={"file": (filename, stream, "application/octet-stream")},
                data={"partner_id": partner["id"], "doc_type": "other", "confidentiality": "internal"},
                headers=archivist.headers,
            )
        assert response.status_code < 500, (name, response.text)
        if isinstance(expected, int):
            assert response.status_code == expected, (name, response.text)
            assert response.json()["detail"], name
            outcomes[name] = response.status_code
            continue
        assert response.status_code == 202, (name, response.text)
        while (task := queue.huey.dequeue()) is not None:
            queue.huey.execute(task)
        document = client.get(f"/api/v1/documents/{response.json()['id']}", headers=archivist.headers).json()
        if expected == "indexed":
            assert document["status"] == "indexed", (name, document)
        else:
            assert (document["status"], document["error_reason"]) == ("failed", expected), (name, document)
            assert document["error"], name
            assert str(settings.data_path) not in document["error"], (name, document["error"])  # no server path
        outcomes[name] = document["error_reason"] or document["status"]
        indexed_ids[name] = document["id"]
    assert len(outcomes) == len(CORPUS)

    # The entity in the XXE file was never resolved: the file's own text is there, the
    # host's name is not, in the record nor in what a search shows.
    hostname = Path("/etc/hostname").read_text().strip()
    assert hostname
    kept = _page_texts(settings, indexed_ids["xxe docx"])
    assert "外部实体" in kept and hostname not in kept
    found = client.get("/api/v1/search", params={"q": "外部实体"}, headers=archivist.headers)
    assert found.status_code == 200, found.text
    (hit,) = found.json()["hits"]
    assert hit["id"] == indexed_ids["xxe docx"]
    assert "外部实体" in " ".join(hit["highlights"]) and hostname not in " ".join(hit["highlights"])


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("../../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\合同.pdf", "合同.pdf"),
        ("合同\x1b[31m\u202e.pdf", "合同[31m.pdf"),
        ("长" * 1000 + ".pdf", ("长" * 1000 + ".pdf")[-200:]),
    ],
)
def test_hostile_file_names_never_touch_the_filesystem(
    tmp_path, client, upload, make_caller, create_partner, settings, raw, kept
) -> None:
    partner = create_partner("文件名测试客商", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    pdf = samples.text_pdf(tmp_path / "x.pdf", [f"文件名测试 {len(raw)}"])
    response = upload(buyer, pdf, partner_id=partner["id"], filename=raw)
    assert response.status_code == 202, response.text
    document = client.get(f"/api/v1/documents/{response.json()['id']}", headers=buyer.headers).json()
    assert document["original_filename"] == kept
    stored = [p.name for p in settings.originals_dir.rglob("*") if p.is_file()]
    assert stored == [document["sha256"]]
    download = client.get(f"/api/v1/documents/{document['id']}/content", headers=buyer.headers)
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "\n" not in download.headers["content-disposition"]


def test_metadata_with_sql_and_query_syntax_is_kept_literally(
    tmp_path, client, upload, run_worker, make_caller, create_partner
) -> None:
    hostile = "'; DROP TABLE documents; -- department:* OR _id:*"
    partner = create_partner(hostile, "采购部")
    plain = create_partner("福州榕城包装材料有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    other = make_caller("li.na", departments="销售部")
    # Long enough to be read from the text layer, not OCR'd.
    first = samples.text_pdf(tmp_path / "x.pdf", ["普通采购合同，约定离心水泵的供货数量、单价与交货期限。"])
    second = samples.text_pdf(tmp_path / "y.pdf", ["另一份采购合同，约定闸阀的供货数量、单价与交货期限。"])
    response = upload(buyer, first, partner_id=partner["id"], title=hostile)
    bystander = upload(buyer, second, partner_id=plain["id"])
    assert run_worker() == 2
    document_id = response.json()["id"]
    document = client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers).json()
    assert (document["title"], document["status"]) == (hostile, "indexed")

    # Searched for by someone who sees both documents: the words find the one title that
    # holds them, and the field syntax in them reaches nothing else (taken as field queries,
    # `department:*` and `_id:*` would match every document).
    for q in ("DROP TABLE documents", '"DROP TABLE"'):
        found = client.get("/api/v1/search", params={"q": q}, headers=buyer.headers)
        assert found.status_code == 200, (q, found.text)
        assert [hit["id"] for hit in found.json()["hits"]] == [document_id], q
    for q in (hostile, "department:*", "_id:*", "* OR _id:*"):
        found = client.get("/api/v1/search", params={"q": q}, headers=buyer.headers)
        assert found.status_code == 200, (q, found.text)
        assert {hit["id"] for hit in found.json()["hits"]} <= {document_id}, q
        assert found.json()["total"] == len(found.json()["hits"]), q
    assert client.get("/api/v1/search", params={"q": "采购合同"}, headers=buyer.headers).json()["total"] == 2
    hidden = client.get("/api/v1/search", params={"q": hostile}, headers=other.headers)
    assert hidden.status_code == 200 and hidden.json()["total"] == 0

    listed = client.get("/api/v1/partners", params={"q": "'; DROP"}, headers=buyer.headers)
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["items"]] == [partner["id"]]
    assert client.get("/api/v1/partners", headers=buyer.headers).json()["total"] == 2
    assert bystander.status_code == 202

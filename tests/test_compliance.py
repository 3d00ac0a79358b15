"""Fields read from licences and contracts, licence-number lookup, expiry list and notices."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from archive.compliance import send_expiry_notices
from archive.db import make_engine, make_session_factory, session_scope
from archive.jobs import NOTIFY_EXPIRING, JobQueue
from archive.models import DocumentPage
from ingest.worker import attach, build_context
from tests.conftest import _free_port
from tests.samples import CONTRACT_TEXT, CREDIT_CODE, LICENCE_TEXT, scan_image, text_pdf

OTHER_CODE = "91350200705123457E"  # a valid code of another company


@pytest.fixture
def people(make_caller):  # type: ignore[no-untyped-def]
    return {
        "buyer": make_caller("zhang.wei", departments="采购部"),
        "seller": make_caller("li.na", departments="销售部"),
        "archivist": make_caller("chen.dang", roles="archivist", clearance="confidential"),
        "compliance": make_caller("zhao.he", roles="compliance", clearance="confidential"),
    }


@pytest.fixture
def scanned_licence(tmp_path, client, upload, run_worker, people, create_partner):  # type: ignore[no-untyped-def]
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部", credit_code=CREDIT_CODE)
    scan = scan_image(tmp_path / "营业执照.png", LICENCE_TEXT, dpi=300)
    document_id = upload(people["buyer"], scan, partner_id=partner["id"], doc_type="business_license").json()[
        "id"
    ]
    run_worker()
    return partner, document_id


def test_a_scanned_licence_yields_its_fields_with_provenance(client, people, scanned_licence, settings) -> None:
    _partner, document_id = scanned_licence
    document = client.get(f"/api/v1/documents/{document_id}", headers=people["buyer"].headers).json()
    assert document["status"] == "indexed"
    fields = document["fields"]
    assert fields["credit_code"] == CREDIT_CODE
    assert fields["founded_on"] == "2015-03-11"
    assert fields["issued_on"] == "2021-06-18"  # the date under 登记机关, not 成立日期
    assert fields["expires_on"] == "2035-03-10"
    assert document["expires_on"] == "2035-03-10"
    assert document["field_provenance"]["credit_code"]["source"] == "extracted"
    assert document["field_provenance"]["credit_code"]["page"] == 1
    assert document["field_provenance"]["credit_code"]["needs_review"] is False  # its check character holds
    # Free text read by OCR is never taken as certain.
    assert fields["name"] == "福建省闽江供应链管理有限公司"
    assert document["field_provenance"]["name"]["needs_review"] is True
    assert document["field_provenance"]["name"]["page_source"] == "ocr"
    # Where on the page each value was read (fractions of the page) and how sure the reading was.
    for name in ("credit_code", "issued_on", "expires_on"):
        left, top, right, bottom = document["field_provenance"][name]["box"]
        assert 0 <= left < right <= 1 and 0 <= top < bottom <= 1, name
        assert 0 < document["field_provenance"][name]["confidence"] <= 100, name
    # This scan of a plain text page has no QR code, which a 2016 licence always carries.
    assert [flag["kind"] for flag in document["flags"]] == ["licence_qr_missing"]
    assert "qr_host" not in fields and "二维码" in document["field_problems"]["qr_host"]
    with session_scope(make_session_factory(make_engine(settings.resolved_database_url))) as session:
        page = session.get(DocumentPage, (document_id, 1))
        assert page is not None and page.layout is not None
        assert page.layout["width"] == 2481 and len(page.layout["words"]) > 20
        assert any(word[0] == "营业执照" or word[0] == "营" for word in page.layout["words"])


@pytest.mark.parametrize(
    "typed",
    [
        CREDIT_CODE,
        f"{CREDIT_CODE[:6]} {CREDIT_CODE[6:12]} {CREDIT_CODE[12:]}",
        CREDIT_CODE.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        CREDIT_CODE[:4] + "O" + CREDIT_CODE[5:],  # 0 read as O: the check character resolves it
    ],
)
def test_lookup_by_licence_number_however_it_is_typed(client, people, scanned_licence, typed) -> None:
    partner, document_id = scanned_licence
    assert CREDIT_CODE[4] == "0"
    response = client.get("/api/v1/lookup", params={"license_no": typed}, headers=people["buyer"].headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["partner"]["id"] == partner["id"]
    assert [d["id"] for d in body["documents"]] == [document_id]


def test_lookup_refuses_malformed_and_hides_what_the_caller_may_not_see(
    client, people, scanned_licence
) -> None:
    assert (
        client.get(
            "/api/v1/lookup", params={"license_no": "12345"}, headers=people["buyer"].headers
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/api/v1/lookup", params={"license_no": OTHER_CODE}, headers=people["buyer"].headers
        ).status_code
        == 404
    )
    hidden = client.get(
        "/api/v1/lookup", params={"license_no": CREDIT_CODE}, headers=people["seller"].headers
    )
    assert hidden.status_code == 404


def test_a_code_read_from_a_licence_is_found_even_if_never_declared(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    licence = text_pdf(tmp_path / "营业执照.pdf", [LICENCE_TEXT])
    document_id = upload(
        people["buyer"], licence, partner_id=partner["id"], doc_type="business_license"
    ).json()["id"]
    run_worker()
    body = client.get(
        "/api/v1/lookup", params={"license_no": CREDIT_CODE}, headers=people["archivist"].headers
    ).json()
    assert body["partner"]["id"] == partner["id"]
    assert [d["id"] for d in body["documents"]] == [document_id]


def test_mismatches_are_flagged_for_compliance(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner("福州榕城包装材料有限公司", "采购部", credit_code=OTHER_CODE)
    licence = text_pdf(tmp_path / "营业执照.pdf", [LICENCE_TEXT])
    contract = text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT])
    ids = [
        upload(people["buyer"], licence, partner_id=partner["id"], doc_type="business_license").json()["id"],
        upload(people["buyer"], contract, partner_id=partner["id"], doc_type="contract").json()["id"],
    ]
    run_worker()
    licence_flags = client.get(f"/api/v1/documents/{ids[0]}", headers=people["compliance"].headers).json()[
        "flags"
    ]
    assert {flag["kind"] for flag in licence_flags} == {"credit_code_mismatch", "name_mismatch"}
    assert not any(flag["needs_review"] for flag in licence_flags)  # read from a text layer
    contract_doc = client.get(f"/api/v1/documents/{ids[1]}", headers=people["compliance"].headers).json()
    assert contract_doc["fields"]["contract_no"] == "HT-2026-0042"
    assert [flag["kind"] for flag in contract_doc["flags"]] == ["party_mismatch"]


def _upload_expiring(upload, caller, partner, tmp_path, name, expires_on, doc_type="qualification"):  # type: ignore[no-untyped-def]
    pdf = text_pdf(tmp_path / f"{name}.pdf", [f"{name}\n证书有效期以档案室登记为准。"])
    response = upload(caller, pdf, partner_id=partner["id"], doc_type=doc_type, expires_on=expires_on)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_expiring_list_puts_expired_first_and_leaves_superseded_out(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    today = datetime.now(UTC).date()
    buyer = people["buyer"]
    expired = _upload_expiring(
        upload, buyer, partner, tmp_path, "安全生产许可证", (today - timedelta(days=3)).isoformat()
    )
    soon = _upload_expiring(
        upload,
        buyer,
        partner,
        tmp_path,
        "质量管理体系认证证书",
        (today + timedelta(days=20)).isoformat(),
        "other",
    )
    later = _upload_expiring(
        upload, buyer, partner, tmp_path, "排污许可证", (today + timedelta(days=200)).isoformat(), "other"
    )
    run_worker()
    items = client.get(
        "/api/v1/compliance/expiring", params={"within_days": 30}, headers=buyer.headers
    ).json()
    assert [(i["id"], i["expired"]) for i in items] == [(expired, True), (soon, False)]
    assert later not in {i["id"] for i in items}

    renewed = _upload_expiring(
        upload, buyer, partner, tmp_path, "安全生产许可证（换证）", (today + timedelta(days=1000)).isoformat()
    )
    run_worker()
    old = client.get(f"/api/v1/documents/{expired}", headers=buyer.headers).json()
    assert old["superseded_by"] == renewed
    items = client.get(
        "/api/v1/compliance/expiring", params={"within_days": 30}, headers=buyer.headers
    ).json()
    assert [i["id"] for i in items] == [soon]
    assert (
        client.get(
            "/api/v1/compliance/expiring", params={"within_days": 0}, headers=buyer.headers
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/api/v1/compliance/expiring", params={"within_days": 3651}, headers=buyer.headers
        ).status_code
        == 422
    )
    assert client.get("/api/v1/compliance/expiring", headers=people["seller"].headers).json() == []


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
        length = int(self.headers["Content-Length"])
        _Webhook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


def test_each_department_is_notified_once_by_webhook_and_email(
    tmp_path, settings, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    today = datetime.now(UTC).date()
    document_id = _upload_expiring(
        upload,
        people["buyer"],
        partner,
        tmp_path,
        "危险化学品经营许可证",
        (today + timedelta(days=10)).isoformat(),
    )
    _upload_expiring(
        upload,
        people["buyer"],
        partner,
        tmp_path,
        "营业许可",
        (today + timedelta(days=90)).isoformat(),
        "other",
    )
    run_worker()

    _Webhook.received = []
    server = HTTPServer(("127.0.0.1", _free_port()), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    mailbox = _Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    try:
        configured = settings.model_copy(
            update={
                "notify_webhooks": {"*": f"http://127.0.0.1:{server.server_port}/hook"},
                "notify_emails": {"采购部": ["caigou@minjiang-scm.cn"]},
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "smtp_starttls": False,
            }
        )
        factory = make_session_factory(make_engine(settings.resolved_database_url))
        with session_scope(factory) as session:
            assert send_expiry_notices(session, settings=configured, today=today) == 2
        with session_scope(factory) as session:
            assert send_expiry_notices(session, settings=configured, today=today) == 0
    finally:
        server.shutdown()
        smtp.stop()
    assert len(_Webhook.received) == 1
    assert _Webhook.received[0]["department"] == "采购部"
    assert [d["id"] for d in _Webhook.received[0]["documents"]] == [document_id]
    (mail,) = mailbox.messages
    assert mail["To"] == "caigou@minjiang-scm.cn"
    assert mail["Subject"] == "【客商档案】采购部 有 1 份文档即将到期"
    document = client.get(f"/api/v1/documents/{document_id}", headers=people["buyer"].headers).json()
    lines = [line for line in mail.get_body().get_content().splitlines() if line.startswith("- ")]
    assert lines == [
        f"- {document['archive_no']} 厦门鹭岛机电设备有限公司《危险化学品经营许可证》 {document['expires_on']} 即将到期"
    ]


def test_the_worker_sends_the_daily_notice_at_notify_hour(
    tmp_path, settings, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    expires = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    document_id = _upload_expiring(upload, people["buyer"], partner, tmp_path, "危险化学品经营许可证", expires)
    run_worker()
    _Webhook.received = []
    server = HTTPServer(("127.0.0.1", _free_port()), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    configured = settings.model_copy(
        update={"notify_hour": 7, "notify_webhooks": {"*": f"http://127.0.0.1:{server.server_port}/hook"}}
    )
    queue = JobQueue(configured)
    attach(queue, build_context(configured), configured)

    def due_at(local: datetime) -> list:  # type: ignore[type-arg]
        # What the worker's consumer starts at that minute (it reads the clock in UTC).
        return [task for task in queue.huey.read_periodic(local.astimezone(UTC).replace(tzinfo=None))
                if task.name == NOTIFY_EXPIRING]

    seven = datetime.now().astimezone().replace(hour=7, minute=0, second=0, microsecond=0)
    for other in (seven - timedelta(hours=1), seven + timedelta(minutes=1), seven + timedelta(hours=1)):
        assert due_at(other) == [], other
    (notice,) = due_at(seven)
    try:
        queue.huey.execute(notice)
    finally:
        server.shutdown()
    assert [[d["id"] for d in hook["documents"]] for hook in _Webhook.received] == [[document_id]]


def test_id_numbers_in_fields_are_masked_for_staff(
    tmp_path, client, upload, run_worker, people, create_partner
) -> None:
    partner = create_partner("福州榕城包装材料有限公司", "采购部")
    card = text_pdf(
        tmp_path / "法人身份证.pdf",
        [
            "姓名 林建华\n性别 男 民族 汉\n出生 1985年6月12日\n住址 福建省福州市鼓楼区五四路158号\n公民身份号码 350102198506123011",
        ],
    )
    document_id = upload(people["buyer"], card, partner_id=partner["id"], doc_type="id_card").json()["id"]
    run_worker()
    staff_view = client.get(f"/api/v1/documents/{document_id}", headers=people["buyer"].headers).json()
    office_view = client.get(f"/api/v1/documents/{document_id}", headers=people["archivist"].headers).json()
    assert office_view["fields"]["id_number"] == "350102198506123011"
    assert staff_view["fields"]["id_number"] == "350102********3011"
    assert "19850612" not in json.dumps(staff_view, ensure_ascii=False)
    for caller, shown in ((people["buyer"], "350102********3011"), (people["archivist"], "350102198506123011")):
        (hit,) = client.get("/api/v1/search", params={"q": "公民身份号码"}, headers=caller.headers).json()["hits"]
        assert hit["id"] == document_id
        highlighted = " ".join(hit["highlights"])
        assert shown in highlighted  # the number is in the fragment, masked or not
        assert caller is people["archivist"] or "19850612" not in highlighted

"""`partner-archive backup DEST` / `restore SRC`: a round trip into a new data directory and index."""

from __future__ import annotations

import hashlib
import json

from fastapi.testclient import TestClient

from archive.settings import Settings
from search_api.app import create_app
from tests.samples import docx_file, text_pdf
from tests.test_integrity import run_cli


def _search(client: TestClient, caller, q: str) -> set[str]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/search", params={"q": q}, headers=caller.headers)
    assert response.status_code == 200, response.text
    return {hit["id"] for hit in response.json()["hits"]}


def test_backup_and_restore_round_trip(tmp_path, settings, client, upload, run_worker, make_caller,
                                       create_partner) -> None:
    minjiang = create_partner("福建省闽江供应链管理有限公司", "采购部", bank_account="1402023109600123456")
    haisi = create_partner("泉州海丝贸易有限公司", "销售部", kind="customer")
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    files = [
        (text_pdf(tmp_path / "采购合同.pdf", ["采购合同\n甲方采购离心水泵二十台，合同金额人民币壹拾贰万元整。"]),
         minjiang, "contract", "internal"),
        (docx_file(tmp_path / "技术服务协议.docx", ["技术服务协议", "乙方负责离心水泵的安装调试与年度维保。"]),
         minjiang, "contract", "secret"),
        (text_pdf(tmp_path / "销售合同.pdf", ["销售合同\n乙方向甲方供应离心水泵配件一批。"]),
         haisi, "contract", "internal"),
    ]
    for path, partner, doc_type, level in files:
        response = upload(office, path, partner_id=partner["id"], doc_type=doc_type, confidentiality=level)
        assert response.status_code == 202, response.text
    assert run_worker() == len(files)
    before = _search(client, office, "离心水泵")
    assert len(before) == 3

    dest = tmp_path / "backup-2026-07-01"
    made = run_cli(settings, "backup", str(dest))
    assert made.returncode == 0, made.stdout + made.stderr
    assert "2 个客商 (partners), 3 份文档 (documents)" in made.stdout
    manifest = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == 1 and manifest["created_at"]
    assert manifest["counts"]["partners"] == 2 and manifest["counts"]["documents"] == 3
    assert manifest["counts"]["originals"] == 3 and manifest["originals"]["corrupt"] == []
    assert manifest["database"]["sha256"] == hashlib.sha256((dest / "archive.db").read_bytes()).hexdigest()
    assert (dest / "queue.db").is_file()
    assert not (dest / "archive.db-wal").exists()

    # A backup never writes into a directory that holds something already.
    again = run_cli(settings, "backup", str(dest))
    assert again.returncode == 1 and "备份目录非空" in again.stderr
    # A restore never overwrites an archive.
    refused = run_cli(settings, "restore", str(dest))
    assert refused.returncode == 1 and "数据目录非空" in refused.stderr

    restored = Settings(
        data_dir=tmp_path / "restored",
        es_url=settings.es_url,
        es_index_prefix=f"{settings.es_index_prefix}-restored",
    )
    done = run_cli(restored, "restore", str(dest))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "索引已重建 (index rebuilt): 3" in done.stdout

    with TestClient(create_app(restored), raise_server_exceptions=False) as restored_client:
        assert _search(restored_client, office, "离心水泵") == before
        buyer = make_caller("zhang.wei", departments="采购部", clearance="internal")
        assert len(_search(restored_client, buyer, "离心水泵")) == 1
        for document_id in before:
            original = client.get(f"/api/v1/documents/{document_id}/content", headers=office.headers)
            copy = restored_client.get(f"/api/v1/documents/{document_id}/content", headers=office.headers)
            assert copy.status_code == 200 and copy.content == original.content
        partners = restored_client.get("/api/v1/partners", headers=office.headers).json()
        assert {p["archive_no"] for p in partners["items"]} == {minjiang["archive_no"], haisi["archive_no"]}

    checked = run_cli(restored, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "未发现问题" in checked.stdout


def test_restore_refuses_a_damaged_backup_and_leaves_nothing_behind(
    tmp_path, settings, upload, make_caller, create_partner
) -> None:
    nanshan = create_partner("漳州南山物流有限公司", "销售部", kind="customer")
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    pdf = text_pdf(tmp_path / "物流服务合同.pdf", ["物流服务合同\n乙方负责甲方货物的仓储与配送。"])
    assert upload(office, pdf, partner_id=nanshan["id"]).status_code == 202
    dest = tmp_path / "backup"
    assert run_cli(settings, "backup", str(dest)).returncode == 0
    target = Settings(data_dir=tmp_path / "elsewhere", es_url=settings.es_url,
                      es_index_prefix=f"{settings.es_index_prefix}-elsewhere")

    (sha256,) = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))["originals"]["files"]
    original = dest / "originals" / sha256[:2] / sha256[2:4] / sha256
    original.write_bytes(original.read_bytes()[:-10])
    result = run_cli(target, "restore", str(dest))
    assert result.returncode == 1 and "原件校验失败" in result.stderr
    assert not (tmp_path / "elsewhere" / "archive.db").exists()
    assert not (tmp_path / "elsewhere" / "originals").exists()

    with (dest / "archive.db").open("ab") as stream:
        stream.write(b"\0")
    result = run_cli(target, "restore", str(dest))
    assert result.returncode == 1 and "已损坏" in result.stderr

    missing = run_cli(target, "restore", str(tmp_path / "nothing-here"))
    assert missing.returncode == 1 and "manifest.json" in missing.stderr

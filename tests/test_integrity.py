"""`partner-archive check [--repair]`: originals against their SHA-256, the index against the record."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from archive.models import AuditEntry
from archive.search_index import documents_alias
from archive.settings import Settings
from archive.storage import OriginalStore
from tests.samples import text_pdf


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `partner-archive` command, configured through the environment alone."""
    env = {
        **os.environ,
        "PARTNER_ARCHIVE_DATA_DIR": str(settings.data_dir),
        "PARTNER_ARCHIVE_ES_URL": settings.effective_es_url,
        "PARTNER_ARCHIVE_ES_INDEX_PREFIX": settings.es_index_prefix,
    }
    command = [str(Path(sys.executable).with_name("partner-archive")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


DOCUMENTS = {
    "采购合同": "甲方：福建省闽江供应链管理有限公司，采购离心水泵二十台。",
    "质量保证协议": "供方保证所供水泵符合国家标准 GB/T 3216。",
    "授权委托书": "兹委托陈小明办理本公司合同签订事宜。",
    "补充协议": "双方同意交货期顺延十五日。",
}


@pytest.fixture
def archive(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    ids = {}
    for title, body in DOCUMENTS.items():
        pdf = text_pdf(tmp_path / f"{title}.pdf", [f"{title}\n{body}"])
        response = upload(office, pdf, partner_id=partner["id"], title=title)
        assert response.status_code == 202, response.text
        ids[title] = response.json()["id"]
    assert run_worker() == len(DOCUMENTS)
    return ids


def _sha256_of(settings: Settings, document_id: str) -> str:
    engine = create_engine(settings.resolved_database_url)
    with engine.connect() as connection:
        sha = connection.execute(text("SELECT sha256 FROM documents WHERE id = :id"), {"id": document_id}).scalar_one()
    engine.dispose()
    return sha


def test_a_sound_archive_passes(settings, archive) -> None:
    result = run_cli(settings, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "未发现问题" in result.stdout and "no problems found" in result.stdout
    assert "原件 (originals checked): 4" in result.stdout


def test_check_finds_every_kind_of_damage_and_repair_fixes_the_index(settings, es, archive) -> None:
    ids = archive
    alias = documents_alias(settings.es_index_prefix)
    store = OriginalStore(settings.originals_dir)
    # An original altered on disk, another removed.
    altered = store.path_for(_sha256_of(settings, ids["采购合同"]))
    original_bytes = altered.read_bytes()
    altered.write_bytes(original_bytes + b"%tampered")
    removed = store.path_for(_sha256_of(settings, ids["授权委托书"]))
    removed_bytes = removed.read_bytes()
    removed.unlink()
    # An entry gone from the index, one the record does not know, one changed behind the API's back.
    es.delete(index=alias, id=ids["质量保证协议"], refresh=True)
    ghost_source = es.get(index=alias, id=ids["补充协议"])["_source"]
    es.index(index=alias, id="ghost0000000000000000000000000000", document=ghost_source, refresh=True)
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE documents SET confidentiality = 'secret' WHERE id = :id"),
                           {"id": ids["补充协议"]})

    found = run_cli(settings, "check")
    assert found.returncode == 1, found.stdout + found.stderr
    report = found.stdout
    assert "原件被改动 (original altered): " in report and ids["采购合同"] in report
    assert "原件缺失 (original missing)" in report and ids["授权委托书"] in report
    assert "索引缺失 (missing from index): " in report and ids["质量保证协议"] in report
    assert "索引多余 (in the index, not on record): [ghost0000000000000000000000000000]" in report
    stale_line = next(line for line in report.splitlines() if "索引过期" in line)
    assert ids["补充协议"] in stale_line and "confidentiality" in stale_line
    assert "发现 5 个问题" in report

    repaired = run_cli(settings, "check", "--repair")
    # The originals cannot be repaired from here, so the command still fails.
    assert repaired.returncode == 1, repaired.stdout + repaired.stderr
    assert "重新索引 2 条 (reindexed), 删除 1 条 (deleted)" in repaired.stdout
    assert "请从备份恢复" in repaired.stdout
    assert es.exists(index=alias, id=ids["质量保证协议"])
    assert not es.exists(index=alias, id="ghost0000000000000000000000000000")
    assert es.get(index=alias, id=ids["补充协议"])["_source"]["confidentiality"] == "secret"

    again = run_cli(settings, "check")
    assert again.returncode == 1
    assert "索引" not in "".join(line for line in again.stdout.splitlines() if "✗" in line)
    assert "发现 2 个问题" in again.stdout

    altered.write_bytes(original_bytes)
    removed.write_bytes(removed_bytes)
    assert run_cli(settings, "check").returncode == 0

    with Session(engine) as session:
        checks = session.scalars(select(AuditEntry).where(AuditEntry.action == "check").order_by(AuditEntry.seq)).all()
    engine.dispose()
    assert len(checks) == 4
    assert checks[0].details["stale"] == {ids["补充协议"]: ["confidentiality"]}
    assert checks[0].details["repaired"] is False
    assert checks[1].details["repaired"] is True and checks[1].details["reindexed"] == 2
    assert checks[3].details["missing_from_index"] == [] and checks[3].details["altered_files"] == []

"""Audit retention: entries younger than 180 days are never deleted; older ones are exported
with the chain's verification and then purged, the purge recorded, and the chain still
verifies from its new anchor."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive.audit import GENESIS, _digest, record_event, verify_chain
from archive.db import make_engine, make_session_factory
from archive.models import AuditEntry, AuditHead
from archive.settings import Settings
from tests.test_integrity import run_cli


def _write_history(settings: Settings, ages_in_days: list[int]) -> None:
    """Entries of the given ages, chained as the writer would have chained them."""
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        for n, _age in enumerate(ages_in_days):
            record_event(session, user="zhang.wei", action="search", details={"q": f"合同{n}"})
        session.commit()
        now = datetime.now(UTC)
        prev = GENESIS
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        for entry, age in zip(entries, ages_in_days + [0] * (len(entries) - len(ages_in_days)), strict=False):
            entry.at = now - timedelta(days=age)
            entry.prev_hash = prev
            entry.hash = _digest(prev, seq=entry.seq, at=entry.at, user=entry.user, action=entry.action,
                                 target=entry.target, details=entry.details)
            prev = entry.hash
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev))
        session.commit()
    engine.dispose()


def _session(settings: Settings) -> Session:
    return make_session_factory(make_engine(settings.resolved_database_url))()


def test_nothing_younger_than_180_days_is_purged(settings, client, make_caller) -> None:
    _write_history(settings, [400, 300, 200, 100, 10])
    admin = make_caller("lin.zong", roles="admin", clearance="confidential")
    refused = client.post("/api/v1/audit/purge", json={"before": (datetime.now(UTC) - timedelta(days=150)).isoformat()},
                          headers=admin.headers)
    assert refused.status_code == 422 and "180" in refused.json()["detail"]
    archivist = make_caller("chen.dang", roles="archivist", clearance="confidential")
    assert client.post("/api/v1/audit/purge", json={"before": "2020-01-01T00:00:00Z"},
                       headers=archivist.headers).status_code == 403
    with _session(settings) as session:
        assert session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq).limit(1)) == 1
    with pytest.raises(Exception, match="180"):
        Settings(audit_retention_days=90)


def test_older_entries_are_exported_verified_then_purged(settings, client, make_caller, tmp_path) -> None:
    _write_history(settings, [400, 300, 200, 100, 10])
    admin = make_caller("lin.zong", roles="admin", clearance="confidential")
    before = datetime.now(UTC) - timedelta(days=190)
    export = client.get("/api/v1/audit/export", params={"before": before.isoformat()}, headers=admin.headers)
    assert export.status_code == 200
    exported = json.loads(export.content)
    assert [e["seq"] for e in exported["entries"]] == [1, 2, 3]
    assert exported["chain"]["intact"] and exported["chain"]["last_hash"] == exported["entries"][-1]["hash"]

    done = client.post("/api/v1/audit/purge", json={"before": before.isoformat()}, headers=admin.headers)
    assert done.status_code == 200, done.text
    assert (done.json()["first_seq"], done.json()["last_seq"], done.json()["entries"]) == (1, 3, 3)
    written = settings.data_path / "audit-exports" / done.json()["export"]
    assert [e["seq"] for e in json.loads(written.read_bytes())["entries"]] == [1, 2, 3]
    with _session(settings) as session:
        kept = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        assert kept[0].seq == 4
        purge = next(e for e in kept if e.action == "audit_purge")
        assert purge.user == "lin.zong" and purge.details["export_sha256"] == done.json()["export_sha256"]
        assert verify_chain(session).intact
    verified = run_cli(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr

    # The command line does the same, and refuses what is too young.
    too_young = run_cli(settings, "audit", "purge", "--before", (datetime.now(UTC) - timedelta(days=30)).date()
                        .isoformat(), "--export", str(tmp_path / "x.json"))
    assert too_young.returncode == 1 and "180" in too_young.stderr and not (tmp_path / "x.json").exists()


def test_a_broken_chain_is_not_purged(settings, client, make_caller) -> None:
    _write_history(settings, [400, 300, 10])
    with _session(settings) as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(user="someone.else"))
        session.commit()
    admin = make_caller("lin.zong", roles="admin", clearance="confidential")
    refused = client.post("/api/v1/audit/purge", json={"before": (datetime.now(UTC) - timedelta(days=200)).isoformat()},
                          headers=admin.headers)
    assert refused.status_code == 409 and "校验未通过" in refused.json()["detail"]
    with _session(settings) as session:
        assert session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq).limit(1)) == 1

"""A borrower's return and the office's recall of the same loan, at the same moment, on
PostgreSQL (where a write does not fail on a stale read as SQLite's does): one of them wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from archive.borrowing import get_request, recall_loan, return_loan
from archive.db import make_engine, make_session_factory
from archive.errors import Conflict
from archive.migrate import upgrade_database
from archive.models import AuditEntry, BorrowRequest
from archive.permissions import User
from tests.engines import postgres_server, postgres_url  # noqa: F401 (fixtures)

BORROWER = User(sub="li.na", roles=frozenset({"staff"}), departments=frozenset({"销售部"}), clearance="internal")
OFFICE = User(sub="wang.fang", roles=frozenset({"archivist"}), departments=frozenset(), clearance="confidential")


def test_a_return_read_before_a_recall_does_not_undo_it(postgres_url: str) -> None:  # noqa: F811
    upgrade_database(postgres_url)
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        loan = BorrowRequest(
            requester=BORROWER.sub, reason="核对合同条款", days=7, status="approved", decided_by=OFFICE.sub,
            decided_at=datetime.now(UTC), expires_at=datetime.now(UTC) + timedelta(days=7), document_ids=[],
        )
        session.add(loan)
    loan_id = loan.id

    with factory() as returning:
        # The borrower's return has read the loan as on loan (kept: the session's identity
        # map holds it as read, as it does between a return's read and its write) …
        read_before = get_request(returning, user=BORROWER, request_id=loan_id)
        assert read_before.status == "approved"
        # … when the office's recall commits.
        with factory() as recalling, recalling.begin():
            recall_loan(recalling, user=OFFICE, request_id=loan_id, note="合同已到期，收回")
        with pytest.raises(Conflict):
            return_loan(returning, user=BORROWER, request_id=loan_id)
        returning.rollback()

    with factory() as session:
        assert session.get(BorrowRequest, loan_id).status == "recalled"
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target == loan_id)).all()
        assert actions == ["borrow_recall"]
    engine.dispose()

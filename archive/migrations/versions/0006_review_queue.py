"""review queue; expiry notices about an unknown expiry

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Kept here rather than imported: a migration must do the same thing whatever the code becomes.
_EXPIRY_EXPECTED = ("business_license", "id_card")
_UNREAD_EXPIRY = "未读出到期日期 (no expiry date was read)"


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("opened_at", archive.db.UTCDateTime(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", archive.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "field", name="uq_review_item_field"),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_items_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_decided_at"), ["decided_at"], unique=False)

    with op.batch_alter_table("expiry_notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=20), nullable=True))
        batch_op.alter_column("expires_on", existing_type=sa.Date(), nullable=True)
    notices = sa.table("expiry_notices", sa.column("subject", sa.String), sa.column("expires_on", sa.Date))
    for (expires_on,) in op.get_bind().execute(sa.select(notices.c.expires_on).distinct()):
        op.execute(
            notices.update().where(notices.c.expires_on == expires_on).values(subject=expires_on.isoformat())
        )
    with op.batch_alter_table("expiry_notices", schema=None) as batch_op:
        batch_op.alter_column("subject", existing_type=sa.String(length=20), nullable=False)
        batch_op.drop_constraint("uq_expiry_notice_once", type_="unique")
        batch_op.create_unique_constraint("uq_expiry_notice_subject", ["document_id", "channel", "subject"])

    _queue_what_documents_already_hold()


def _queue_what_documents_already_hold() -> None:
    """Open an item for every field already marked for review or not read."""
    documents = sa.table(
        "documents",
        sa.column("id", sa.String),
        sa.column("doc_type", sa.String),
        sa.column("expires_on", sa.Date),
        sa.column("pages", sa.Integer),
        sa.column("fields", sa.JSON),
        sa.column("field_provenance", sa.JSON),
        sa.column("field_problems", sa.JSON),
    )
    items = sa.table(
        "review_items",
        sa.column("document_id", sa.String),
        sa.column("field", sa.String),
        sa.column("kind", sa.String),
        sa.column("reason", sa.Text),
        sa.column("opened_at", archive.db.UTCDateTime),
    )
    now = datetime.now(UTC)
    rows = []
    for document in op.get_bind().execute(sa.select(documents)):
        fields = document.fields or {}
        provenance = document.field_provenance or {}
        problems = document.field_problems or {}
        for name, entry in provenance.items():
            if name in fields and entry.get("needs_review") and entry.get("source") != "supplied":
                rows.append(_item(document.id, name, "needs_review", None))
        for name, why in problems.items():
            if name not in fields:
                rows.append(_item(document.id, name, "unknown", why))
        if (
            document.doc_type in _EXPIRY_EXPECTED
            and document.expires_on is None
            and "expires_on" not in fields
            and "expires_on" not in problems
            and "expires_on" not in provenance
            and fields.get("perpetual") is not True
            and document.pages is not None  # read already, not waiting for the worker
        ):
            rows.append(_item(document.id, "expires_on", "unknown", _UNREAD_EXPIRY))
    if rows:
        op.bulk_insert(items, [{**row, "opened_at": now} for row in rows])


def _item(document_id: str, field: str, kind: str, reason: str | None) -> dict[str, object]:
    return {"document_id": document_id, "field": field, "kind": kind, "reason": reason}


def downgrade() -> None:
    with op.batch_alter_table("expiry_notices", schema=None) as batch_op:
        batch_op.drop_constraint("uq_expiry_notice_subject", type_="unique")
    op.execute("DELETE FROM expiry_notices WHERE expires_on IS NULL")
    with op.batch_alter_table("expiry_notices", schema=None) as batch_op:
        batch_op.alter_column("expires_on", existing_type=sa.Date(), nullable=False)
        batch_op.create_unique_constraint("uq_expiry_notice_once", ["document_id", "channel", "expires_on"])
        batch_op.drop_column("subject")

    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_items_decided_at"))
        batch_op.drop_index(batch_op.f("ix_review_items_document_id"))
    op.drop_table("review_items")

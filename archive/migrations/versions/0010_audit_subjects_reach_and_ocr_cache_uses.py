"""audit subjects, copies unique per reach, OCR cache uses

What each audit entry names (so the log follows the visibility rule), the same bytes for one
partner allowed once per department and confidentiality (an upload of bytes hidden from its
uploader becomes a document of its own), and which OCR cache entries each document's text
came from (removed with the last of them). The department a destroyed document had is kept
since 0009.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _subjects(target: str | None, details: object) -> set[str]:
    """As archive.audit.subjects_of names them (kept here: a migration must not change)."""
    found = {target} if target else set()
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            details = {}
    if isinstance(details, dict):
        if isinstance(details.get("document_id"), str):
            found.add(details["document_id"])
        for key in ("document_ids", "documents"):
            for item in details.get(key) or []:
                if isinstance(item, str):
                    found.add(item)
                elif isinstance(item, dict) and isinstance(item.get("id"), str):
                    found.add(item["id"])
    return {subject[:200] for subject in found}


def upgrade() -> None:
    op.create_table(
        "audit_subjects",
        sa.Column(
            "seq", sa.Integer(), sa.ForeignKey("audit_entries.seq", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("subject", sa.String(length=200), primary_key=True),
    )
    op.create_index("ix_audit_subjects_subject", "audit_subjects", ["subject"])
    op.create_table(
        "ocr_cache_uses",
        sa.Column(
            "document_id",
            sa.String(length=32),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("entry", sa.String(length=200), primary_key=True),
    )
    op.create_index("ix_ocr_cache_uses_entry", "ocr_cache_uses", ["entry"])
    with op.batch_alter_table("documents") as batch_op:
        batch_op.drop_constraint("uq_documents_partner_sha256", type_="unique")
        batch_op.create_unique_constraint(
            "uq_documents_partner_sha256_reach", ["partner_id", "sha256", "department", "confidentiality"]
        )

    connection = op.get_bind()
    entries = sa.table(
        "audit_entries", sa.column("seq", sa.Integer()), sa.column("target"), sa.column("details", sa.JSON())
    )
    subjects = sa.table("audit_subjects", sa.column("seq", sa.Integer()), sa.column("subject"))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(entries.c.seq, entries.c.target, entries.c.details)
            .where(entries.c.seq > last)
            .order_by(entries.c.seq)
            .limit(5000)
        ).all()
        if not rows:
            break
        batch = [
            {"seq": seq, "subject": subject}
            for seq, target, details in rows
            for subject in _subjects(target, details)
        ]
        if batch:
            connection.execute(sa.insert(subjects), batch)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_ocr_cache_uses_entry", table_name="ocr_cache_uses")
    op.drop_table("ocr_cache_uses")
    with op.batch_alter_table("documents") as batch_op:
        batch_op.drop_constraint("uq_documents_partner_sha256_reach", type_="unique")
        batch_op.create_unique_constraint("uq_documents_partner_sha256", ["partner_id", "sha256"])
    op.drop_index("ix_audit_subjects_subject", table_name="audit_subjects")
    op.drop_table("audit_subjects")

"""四性检测, 档号 and 保管期限, borrow download rights, the audit anchor

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00

Documents already on record get their 保管期限 and 档号 here, in the order they were taken
in, by the rule configured now (PARTNER_ARCHIVE_* settings), so that no group starts with a gap.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch_op:
        batch_op.add_column(sa.Column("sm3", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("retention", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("filing_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("archival_group", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("item_no", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("archival_code", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("file_properties", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("check_status", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_documents_archival_group", ["archival_group"])
        batch_op.create_index("ix_documents_check_status", ["check_status"])
        batch_op.create_index("ix_documents_checked_at", ["checked_at"])
        batch_op.create_unique_constraint("uq_documents_archival_code", ["archival_code"])
    with op.batch_alter_table("access_grants") as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("allow_download", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("borrow_requests") as batch_op:
        batch_op.add_column(
            sa.Column("allow_download", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("destruction_records") as batch_op:
        batch_op.add_column(sa.Column("archival_code", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("archival_group", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("item_no", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retention", sa.String(length=4), nullable=True))
        batch_op.create_index("ix_destruction_records_archival_group", ["archival_group"])
    op.create_table(
        "audit_anchor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "check_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_check_runs_kind", "check_runs", ["kind"])
    op.create_index("ix_check_runs_started_at", "check_runs", ["started_at"])
    op.create_table(
        "document_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_document_checks_run_id", "document_checks", ["run_id"])
    op.create_index("ix_document_checks_at", "document_checks", ["at"])
    op.create_index("ix_document_checks_document_at", "document_checks", ["document_id", "at"])
    op.create_index("ix_audit_target", "audit_entries", ["target"])
    _number_documents_on_record()


def _number_documents_on_record() -> None:
    # Late imports: the rule lives in the domain and reads the settings in force.
    from archive.archival_codes import ArchivalRule
    from archive.settings import get_settings

    rule = ArchivalRule.from_settings(get_settings())
    bind = op.get_bind()
    documents = sa.table(
        "documents",
        sa.column("id"),
        sa.column("doc_type"),
        sa.column("department"),
        sa.column("created_at"),
        sa.column("retention"),
        sa.column("filing_year"),
        sa.column("archival_group"),
        sa.column("item_no"),
        sa.column("archival_code"),
        sa.column("file_properties"),
    )
    sequences = sa.table("archive_sequences", sa.column("key"), sa.column("last_value"))
    counters: dict[str, int] = {}
    rows = bind.execute(
        sa.select(
            documents.c.id, documents.c.doc_type, documents.c.department, documents.c.created_at
        ).order_by(documents.c.created_at, documents.c.id)
    ).all()
    for row in rows:
        created = row.created_at
        year = created.year if hasattr(created, "year") else int(str(created)[:4])
        retention = rule.retention_for(row.doc_type)
        group = rule.group(year=year, retention=retention, department=row.department)
        counters[group] = counters.get(group, 0) + 1
        bind.execute(
            documents.update()
            .where(documents.c.id == row.id)
            .values(
                retention=retention,
                filing_year=year,
                archival_group=group,
                item_no=counters[group],
                archival_code=rule.code(group, counters[group]),
                file_properties={},
            )
        )
    for group, last in counters.items():
        bind.execute(sequences.insert().values(key=f"item:{group}", last_value=last))


def downgrade() -> None:
    op.drop_index("ix_audit_target", table_name="audit_entries")
    op.drop_index("ix_document_checks_document_at", table_name="document_checks")
    op.drop_index("ix_document_checks_at", table_name="document_checks")
    op.drop_index("ix_document_checks_run_id", table_name="document_checks")
    op.drop_table("document_checks")
    op.drop_index("ix_check_runs_started_at", table_name="check_runs")
    op.drop_index("ix_check_runs_kind", table_name="check_runs")
    op.drop_table("check_runs")
    op.drop_table("audit_anchor")
    with op.batch_alter_table("destruction_records") as batch_op:
        batch_op.drop_index("ix_destruction_records_archival_group")
        for column in ("retention", "item_no", "archival_group", "archival_code"):
            batch_op.drop_column(column)
    with op.batch_alter_table("borrow_requests") as batch_op:
        batch_op.drop_column("allow_download")
    with op.batch_alter_table("access_grants") as batch_op:
        batch_op.drop_column("allow_download")
        batch_op.drop_column("request_id")
    with op.batch_alter_table("documents") as batch_op:
        batch_op.drop_constraint("uq_documents_archival_code", type_="unique")
        batch_op.drop_index("ix_documents_checked_at")
        batch_op.drop_index("ix_documents_check_status")
        batch_op.drop_index("ix_documents_archival_group")
        for column in (
            "checked_at",
            "check_status",
            "file_properties",
            "archival_code",
            "item_no",
            "archival_group",
            "filing_year",
            "retention",
            "sm3",
        ):
            batch_op.drop_column(column)

"""title source, loan recall and requester departments, destruction rejection, record department

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing titles count as given by a person: the worker never replaces those.
    with op.batch_alter_table("documents") as batch_op:
        batch_op.add_column(
            sa.Column("title_source", sa.String(length=20), server_default="supplied", nullable=False)
        )
    with op.batch_alter_table("borrow_requests") as batch_op:
        batch_op.add_column(sa.Column("recalled_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("requester_departments", sa.JSON(), nullable=True))
    with op.batch_alter_table("destruction_records") as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=100), nullable=True))
    with op.batch_alter_table("destruction_requests") as batch_op:
        batch_op.add_column(sa.Column("rejected_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("rejection_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("destruction_requests") as batch_op:
        batch_op.drop_column("rejection_note")
        batch_op.drop_column("rejected_by")
    with op.batch_alter_table("destruction_records") as batch_op:
        batch_op.drop_column("department")
    with op.batch_alter_table("borrow_requests") as batch_op:
        batch_op.drop_column("requester_departments")
        batch_op.drop_column("recalled_by")
    with op.batch_alter_table("documents") as batch_op:
        batch_op.drop_column("title_source")

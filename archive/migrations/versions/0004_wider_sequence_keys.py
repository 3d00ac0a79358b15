"""wider sequence keys: `documents:<partner id>` is 42 characters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 14:46:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("archive_sequences") as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=40), type_=sa.String(length=80))


def downgrade() -> None:
    with op.batch_alter_table("archive_sequences") as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=80), type_=sa.String(length=40))

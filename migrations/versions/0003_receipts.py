"""receipts: the hash of each run's lines and its receipt

Revision ID: 0003
Revises: 0002
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable, no constraint) works on SQLite without a batch table copy;
    # runs written before this revision have no receipt, and `settle verify` says so
    op.add_column("run", sa.Column("lines_hash", sa.String(length=80), nullable=True))
    op.add_column("run", sa.Column("receipt", sa.Text(), nullable=True))
    op.add_column("run", sa.Column("receipt_hash", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.drop_column("receipt_hash")
        batch.drop_column("receipt")
        batch.drop_column("lines_hash")

"""disputes and rulings of the geschillencommissie (INTERFACE.md v2, RULES.md §4.0)

Two snapshot tables, one row per line of disputes.csv and rulings.csv; a snapshot loaded before
has neither (its hash does not count them: loader.canonical_tables, version 3).

Revision ID: 0008
Revises: 0007
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "dispute",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("dispute", sa.String(), nullable=False),
        sa.Column("placement", sa.String(), nullable=False),
        sa.Column("raised_by", sa.String(length=4), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshot.id"]),
        sa.PrimaryKeyConstraint("snapshot_id", "dispute"),
    )
    op.create_table(
        "ruling",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("ruling", sa.String(), nullable=False),
        sa.Column("dispute", sa.String(), nullable=True),
        sa.Column("placement", sa.String(), nullable=False),
        sa.Column("payer", sa.String(length=4), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshot.id"]),
        sa.PrimaryKeyConstraint("snapshot_id", "ruling"),
    )


def downgrade() -> None:
    for table in ("ruling", "dispute"):
        if op.get_bind().execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one():
            raise RuntimeError(f"this database holds {table}s (revision 0008), which an engine of revision 0007 "
                               "would not apply, so it is not downgraded")
    op.drop_table("ruling")
    op.drop_table("dispute")

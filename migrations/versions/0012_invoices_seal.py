"""the invoices seal: a final run's receipt holds the hash of its invoices and credit notes

`run.invoices_hash` (settlement.receipt.invoices_hash), set when the run is finalised and part of
its final receipt. A nullable column: a run finalised before has none, its receipt is what it
was, and `settle verify` checks its invoices by what they must be (lines, pool shares,
finalisation date, invoice counters) and says that the seal is absent.

Revision ID: 0012
Revises: 0011
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: Union[str, None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # a plain ADD COLUMN (on SQLite too): a batch operation would copy `run`, which other tables reference
    op.add_column("run", sa.Column("invoices_hash", sa.String(length=80), nullable=True))


def downgrade() -> None:
    # a receipt holding the seal is rebuilt from the run's columns by `settle verify`: without the
    # column an engine of 0011 would find every such receipt altered, so the database is kept
    if op.get_bind().execute(sa.text("SELECT count(*) FROM run WHERE invoices_hash IS NOT NULL")).scalar_one():
        raise RuntimeError("this database holds runs whose receipts seal their invoices (revision 0012), which "
                           "an engine of revision 0011 cannot verify, so it is not downgraded")
    op.drop_column("run", "invoices_hash")  # SQLite 3.35 and later drop a column in place

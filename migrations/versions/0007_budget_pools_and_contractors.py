"""budget pools and contractors (RULES.md v2 §5.3, §2)

- pool_share.budget: a pool with `budget = "historic"` splits T = C - B(M); the column holds B(M),
  so that the pool's costs (total + budget) are stored with it. Every pool stored before is a pool
  of costs: budget 0.
- placement.contractor: the municipality that contracted and pays the provider (INTERFACE.md v2
  `placements.contractor`), the creditor of the placement's lines; empty: the care region's
  centrumgemeente, as for every placement stored before.

Revision ID: 0007
Revises: 0006
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("pool_share") as batch:
        batch.add_column(sa.Column("budget", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("placement") as batch:
        batch.add_column(sa.Column("contractor", sa.String(length=4), nullable=True))


def downgrade() -> None:
    if op.get_bind().execute(sa.text("SELECT count(*) FROM pool_share WHERE budget <> 0")).scalar_one():
        raise RuntimeError("this database holds budget pools (revision 0007), which an engine of revision 0006 "
                           "would settle as pools of costs, so it is not downgraded")
    if op.get_bind().execute(sa.text("SELECT count(*) FROM placement WHERE contractor IS NOT NULL")).scalar_one():
        raise RuntimeError("this database holds placements with a contractor (revision 0007), which an engine of "
                           "revision 0006 would invoice from the centrumgemeente, so it is not downgraded")
    with op.batch_alter_table("placement") as batch:
        batch.drop_column("contractor")
    with op.batch_alter_table("pool_share") as batch:
        batch.drop_column("budget")

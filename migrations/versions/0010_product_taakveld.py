"""products.csv's optional `taakveld`: the Iv3 taakveld a municipality books a product's costs on

A nullable column; a snapshot loaded before has none (its hash does not count it:
loader.canonical_tables, version 4), and the export then shows the domain's taakveld.

Revision ID: 0010
Revises: 0009
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("product") as batch:
        batch.add_column(sa.Column("taakveld", sa.String(), nullable=True))


def downgrade() -> None:
    if op.get_bind().execute(sa.text("SELECT count(*) FROM product WHERE taakveld IS NOT NULL")).scalar_one():
        raise RuntimeError("this database holds products with a taakveld (revision 0010), which an engine of "
                           "revision 0009 would not keep, so it is not downgraded")
    with op.batch_alter_table("product") as batch:
        batch.drop_column("taakveld")

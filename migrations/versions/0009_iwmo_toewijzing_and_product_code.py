"""iWmo declarations in: a placement's toewijzing number and a product's iWmo product code

- placement.toewijzing: the municipality's toewijzing number (iWmo ToewijzingNummer) by which a
  provider's WMO323 declaration names the placement (`settle import-iwmo`); empty for every
  placement stored before.
- product.iwmo_product_code: the product code a provider declares the product with; empty for every
  product stored before.

Neither enters the input hash of a snapshot that does not use it (loader.canonical_tables,
version 4), so every snapshot stored before keeps its identity.

Revision ID: 0009
Revises: 0008
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("placement") as batch:
        batch.add_column(sa.Column("toewijzing", sa.String(length=9), nullable=True))
    with op.batch_alter_table("product") as batch:
        batch.add_column(sa.Column("iwmo_product_code", sa.String(length=5), nullable=True))


def downgrade() -> None:
    for table, column in (("placement", "toewijzing"), ("product", "iwmo_product_code")):
        if op.get_bind().execute(sa.text(f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL")).scalar_one():
            raise RuntimeError(f"this database holds {table}s with a {column} (revision 0009), whose snapshots an "
                               "engine of revision 0008 would read without it (and so with another input hash), "
                               "so it is not downgraded")
    with op.batch_alter_table("product") as batch:
        batch.drop_column("iwmo_product_code")
    with op.batch_alter_table("placement") as batch:
        batch.drop_column("toewijzing")

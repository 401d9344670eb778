"""trace bundles: a run's trace parts stored as one compressed text

The parts of a run written since (settlement.trace: a step or a pool block, each once per run)
are held in one row of `trace_bundle`: the parts' lines (key and canonical JSON text, sorted by key)
compressed with zlib. A national month's 46,000 parts were 27 MB in `trace_part` and are about
3 MB here, written as one row. Runs written before keep their parts in `trace_part` and read,
verify and hash as before: the lines hash is over the parts' texts, however they are stored.

Revision ID: 0011
Revises: 0010
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: Union[str, None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "trace_bundle",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("encoding", sa.String(length=32), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name="fk_trace_bundle_run_id_run"),
        sa.PrimaryKeyConstraint("run_id", name="pk_trace_bundle"),
    )


def downgrade() -> None:
    # A run whose parts are bundled is sealed by a lines hash over them: the engine of 0010 could
    # neither read its traces nor verify it, so such a database is not taken back.
    if op.get_bind().execute(sa.text("SELECT count(*) FROM trace_bundle")).scalar_one():
        raise RuntimeError("this database holds runs whose trace parts are stored as bundles (revision 0011); "
                           "an engine of revision 0010 cannot read or verify them, so it is not downgraded")
    op.drop_table("trace_bundle")

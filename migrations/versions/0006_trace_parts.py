"""trace parts: the steps shared by many lines of a run, stored once

A line's trace names each of its steps (and its pool block) by a part key; `trace_part` holds each
part's text once per run (settlement.trace.write_shared). Lines written before keep their whole
traces and read as before; their runs have no parts, and their lines hash is unchanged.

Revision ID: 0006
Revises: 0005
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "trace_part",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=17), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.PrimaryKeyConstraint("run_id", "key"),
    )


def downgrade() -> None:
    # A run written with parts is sealed by a lines hash over them: the engine of 0005 could
    # neither read its traces nor verify it, so such a database is not taken back.
    if op.get_bind().execute(sa.text("SELECT count(*) FROM trace_part")).scalar_one():
        raise RuntimeError("this database holds runs whose traces are stored in parts (revision 0006); "
                           "an engine of revision 0005 cannot read or verify them, so it is not downgraded")
    op.drop_table("trace_part")

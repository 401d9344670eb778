"""indexes for explaining one client or placement: read its rows, not the snapshot's

`settle explain --client C` reads the client's lines (line: run_id, client, since 0001) and the
client's facts; `--placement P` the placement's lines and its client's facts. Without these
indexes each of those reads went through every row of the snapshot (or of the run).

- line: (run_id, placement), new;
- brp, application: (snapshot_id, client) in place of (snapshot_id), which its prefix still
  serves (reading a whole snapshot), so a load maintains as many indexes as before;
- placement: (snapshot_id, client), new (its primary key is snapshot_id, placement);
- notification: (snapshot_id, placement) in place of (snapshot_id).

Revision ID: 0005
Revises: 0004
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# table -> (index replaced or None, new index, its columns)
INDEXES = (
    ("line", None, "ix_line_run_id_placement", ["run_id", "placement"]),
    ("brp", "ix_brp_snapshot_id", "ix_brp_snapshot_id_client", ["snapshot_id", "client"]),
    ("application", "ix_application_snapshot_id", "ix_application_snapshot_id_client", ["snapshot_id", "client"]),
    ("placement", None, "ix_placement_snapshot_id_client", ["snapshot_id", "client"]),
    ("notification", "ix_notification_snapshot_id", "ix_notification_snapshot_id_placement",
     ["snapshot_id", "placement"]),
)


def upgrade() -> None:
    # plain CREATE and DROP INDEX: no table copy on SQLite
    for table, old, new, columns in INDEXES:
        op.create_index(new, table, columns, unique=False)
        if old is not None:
            op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, new, columns in reversed(INDEXES):
        if old is not None:
            op.create_index(old, table, ["snapshot_id"], unique=False)
        op.drop_index(new, table_name=table)

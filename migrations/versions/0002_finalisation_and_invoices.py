"""finalisation, correction runs and invoice numbers

Run kinds draft/final/correction (checked), `run.finalized_at` (set exactly when a run is final)
and `run.parent` (the final run a correction corrects); the `invoice` table and the
`invoice_counter` per (creditor, year). Existing runs stay drafts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finalized_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    if bind.dialect.name == 'sqlite':
        # Adding a constraint in batch mode would copy and drop `run`, which SQLite refuses while
        # lines and pool shares reference it (foreign keys are on, and cannot be switched off
        # inside the migration's transaction). SQLite can add a column with a REFERENCES clause
        # in place; the check on run.kind is left to PostgreSQL (and to the code).
        op.execute('ALTER TABLE run ADD COLUMN parent INTEGER CONSTRAINT fk_run_parent_run REFERENCES run (id)')
    else:
        with op.batch_alter_table('run', schema=None) as batch_op:
            batch_op.add_column(sa.Column('parent', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f('fk_run_parent_run'), 'run', ['parent'], ['id'])
            batch_op.create_check_constraint(batch_op.f('ck_run_kind'), "kind IN ('draft', 'final', 'correction')")

    op.create_table('invoice_counter',
    sa.Column('creditor', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('creditor', 'year', name=op.f('pk_invoice_counter'))
    )
    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('creditor', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('debtor', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('corrects', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name=op.f('ck_invoice_kind')),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_invoice_run_id_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('creditor', 'year', 'seq', name=op.f('uq_invoice_creditor')),
    sa.UniqueConstraint('number', name=op.f('uq_invoice_number'))
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_run_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_month'))
    op.drop_table('invoice')
    op.drop_table('invoice_counter')
    if op.get_bind().dialect.name == 'sqlite':
        # in place (SQLite 3.35+), for the reason given in upgrade()
        op.execute('ALTER TABLE run DROP COLUMN parent')
        op.execute('ALTER TABLE run DROP COLUMN finalized_at')
    else:
        with op.batch_alter_table('run', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('ck_run_kind'), type_='check')
            batch_op.drop_constraint(batch_op.f('fk_run_parent_run'), type_='foreignkey')
            batch_op.drop_column('parent')
            batch_op.drop_column('finalized_at')

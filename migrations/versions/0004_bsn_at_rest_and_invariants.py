"""BSN at rest (keyed hash and encryption) and the money invariants as database constraints

client: `bsn` (plain text) becomes `bsn_hmac` (HMAC-SHA256, hex) and `bsn_enc` (AES-GCM), with
the key from SETTLEMENT_BSN_KEY (settlement.bsn); a database with clients and no key set is not
touched: the upgrade stops first with one sentence naming the variable. One BSN per snapshot
(a unique index on bsn_hmac, snapshot_id, which also serves look-ups by BSN).

Constraints (RULES.md §8), on both dialects unless said:
- line: exactly one of payer and pool; basis 'pool' exactly for pooled lines;
- run: one final run per month (a partial unique index); on PostgreSQL also: a run has a parent
  exactly when it is a correction (SQLite cannot add a check to `run` without copying it, which
  the foreign keys of line, pool_share, invoice and run.parent forbid inside the migration);
- invoice: a credit note exactly when the amount is negative, never zero; creditor <> debtor;
  one invoice per (run, creditor, debtor).
Not expressible simply, so not here: pool_share.share >= 0 outside correction runs (the kind is
on `run`), and the sums (lines = payables, shares = pool total, invoice = what it bills): the
code checks those on every run and at finalisation (engine.check_invariants, check_invoices).

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

FINAL = "kind = 'final'"


def _clients(columns):
    return sa.table("client", sa.column("snapshot_id", sa.Integer), sa.column("client", sa.String),
                    *(sa.column(c, sa.String) for c in columns))


def upgrade() -> None:
    from settlement import bsn

    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:  # freed pages and deleted cells are overwritten with zeros: no plain BSN stays behind
        bind.exec_driver_sql("PRAGMA secure_delete = ON")
    old = _clients(["bsn"])
    rows = bind.execute(sa.select(old.c.snapshot_id, old.c.client, old.c.bsn)).all()
    # before any change (SQLite runs DDL outside the transaction): no key, no upgrade
    keys = bsn.keyring("upgrading a database with clients (schema 0004 encrypts their BSNs)") if rows else None

    op.add_column("client", sa.Column("bsn_hmac", sa.String(length=64), nullable=True))
    op.add_column("client", sa.Column("bsn_enc", sa.String(length=120), nullable=True))
    if rows:
        new = _clients(["bsn_hmac", "bsn_enc"])
        bind.execute(new.update().where(new.c.snapshot_id == sa.bindparam("_sid"), new.c.client == sa.bindparam("_cid"))
                     .values(bsn_hmac=sa.bindparam("_hmac"), bsn_enc=sa.bindparam("_enc")),
                     [{"_sid": sid, "_cid": cid, "_hmac": keys.digest(plain), "_enc": keys.encrypt(plain, cid)}
                      for sid, cid, plain in rows])
    # SQLite: NOT NULL and dropping `bsn` copy `client` in batch mode; no table references it
    with op.batch_alter_table("client") as batch:
        batch.alter_column("bsn_hmac", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("bsn_enc", existing_type=sa.String(length=120), nullable=False)
        batch.drop_column("bsn")
    op.create_index("uq_client_bsn_hmac", "client", ["bsn_hmac", "snapshot_id"], unique=True)

    # invariants; SQLite copies `line` and `invoice` (nothing references them) to add checks
    with op.batch_alter_table("line") as batch:
        batch.create_check_constraint(op.f("ck_line_payer_or_pool"), "(payer IS NULL) <> (pool IS NULL)")
        batch.create_check_constraint(op.f("ck_line_pool_basis"), "(basis = 'pool') = (pool IS NOT NULL)")
    with op.batch_alter_table("invoice") as batch:
        batch.create_check_constraint(op.f("ck_invoice_sign"), "(kind = 'credit_note') = (amount < 0) AND amount <> 0")
        batch.create_check_constraint(op.f("ck_invoice_parties"), "creditor <> debtor")
        batch.create_unique_constraint(op.f("uq_invoice_run_id"), ["run_id", "creditor", "debtor"])
    op.create_index("uq_run_month_final", "run", ["month"], unique=True,
                    sqlite_where=sa.text(FINAL), postgresql_where=sa.text(FINAL))
    if not sqlite:
        op.create_check_constraint(op.f("ck_run_parent"), "run", "(kind = 'correction') = (parent IS NOT NULL)")


def downgrade() -> None:
    from settlement import bsn

    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    new = _clients(["bsn_enc"])
    rows = bind.execute(sa.select(new.c.snapshot_id, new.c.client, new.c.bsn_enc)).all()
    keys = bsn.keyring("downgrading a database with clients (schema 0003 holds their BSNs in plain text)") \
        if rows else None
    plain = [{"_sid": sid, "_cid": cid, "_bsn": keys.decrypt(enc, cid)} for sid, cid, enc in rows]

    if not sqlite:
        op.drop_constraint(op.f("ck_run_parent"), "run", type_="check")
    op.drop_index("uq_run_month_final", "run")
    with op.batch_alter_table("invoice") as batch:
        batch.drop_constraint(op.f("uq_invoice_run_id"), type_="unique")
        batch.drop_constraint(op.f("ck_invoice_parties"), type_="check")
        batch.drop_constraint(op.f("ck_invoice_sign"), type_="check")
    with op.batch_alter_table("line") as batch:
        batch.drop_constraint(op.f("ck_line_pool_basis"), type_="check")
        batch.drop_constraint(op.f("ck_line_payer_or_pool"), type_="check")

    op.drop_index("uq_client_bsn_hmac", "client")
    op.add_column("client", sa.Column("bsn", sa.String(length=9), nullable=True))
    if plain:
        old = _clients(["bsn"])
        bind.execute(old.update().where(old.c.snapshot_id == sa.bindparam("_sid"), old.c.client == sa.bindparam("_cid"))
                     .values(bsn=sa.bindparam("_bsn")), plain)
    with op.batch_alter_table("client") as batch:
        batch.alter_column("bsn", existing_type=sa.String(length=9), nullable=False)
        batch.drop_column("bsn_enc")
        batch.drop_column("bsn_hmac")

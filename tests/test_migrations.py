"""Upgrading from every earlier schema version, with data in it, on SQLite and PostgreSQL.

For each revision R before the head (found with Alembic's ScriptDirectory, so a new migration is
covered without touching this file): an empty database is upgraded to R; rows are written with
SQL as the code of that time wrote them (its tables, reflected from the database: the demo
dataset as snapshot 1, a draft run of 2024-03 with its lines and pool shares, and from 0002 on a
final run of 2024-02 with numbered invoices and their counters); `settle init` upgrades it to the
head; then every old row is still there, unchanged in every column that survived, and `settle
load`, `run`, `finalize`, `export` and `verify` work on the old data and the new.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from settlement import db, export, migrate, receipt
from settlement.cli import main
from settlement.demo.run import DATA
from settlement.engine import Engine, engine_info
from settlement.loader import load_dir
from settlement.periods import Month
from tests.legacy import data_before_budget_pools

FINAL_MONTH, DRAFT_MONTH, NEW_MONTH = "2024-02", "2024-03", "2024-04"
FACTS = {"municipality": "municipalities", "region": "regions", "region_member": "members", "product": "products",
         "tariff": "tariffs", "client": "clients", "brp": "registrations", "application": "applications",
         "placement": "placements", "notification": "notifications", "declaration": "declarations",
         "budget": "budgets"}


def _revisions() -> list[str]:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.migrations_dir()))
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1, "the migrations have more than one head"
    return [r.revision for r in reversed(list(script.walk_revisions()))]


REVISIONS = _revisions()
EARLIER = REVISIONS[:-1]


def test_the_schema_check_knows_the_head():
    """Commands check the schema against migrate.HEAD without importing Alembic: it must be the
    newest revision, and a database at an earlier one is refused until `settle init`."""
    assert migrate.HEAD == REVISIONS[-1]


def settle(url: str, *args: str) -> str:
    r = CliRunner().invoke(main, ["--db", url, *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def test_the_revisions_form_one_line_from_0001():
    assert REVISIONS[0] == "0001" and len(REVISIONS) == len(set(REVISIONS)) >= 4


def _row(table: sa.Table, values: dict) -> dict:
    """The values the table at this revision has columns for; every required column given."""
    missing = [c.name for c in table.c if not c.nullable and c.name not in values and c.autoincrement is not True
               and not (c.primary_key and c.name == "id") and c.server_default is None]
    assert not missing, f"{table.name} at this revision needs {missing}: the test must learn to fill them"
    return {k: v for k, v in values.items() if k in table.c}


def _fill(engine: sa.Engine, tables: dict[str, sa.Table], data: Path = DATA) -> dict:
    """Write what the code of that revision wrote: a snapshot of `data` (for a revision before 0007
    the demo data without their budget pool, tests.legacy.data_before_budget_pools), a draft run, a
    final run with invoices when the schema has them. Returns what the checks need."""
    ds, agreements = load_dir(data)
    info = engine_info()
    codes = sorted(ds.municipalities)
    eng = Engine(ds, agreements)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    has_final = "invoice" in tables and "finalized_at" in tables["run"].c
    expected = {}
    with engine.begin() as conn:
        snapshot_id = conn.execute(tables["snapshot"].insert().values(**_row(tables["snapshot"], dict(
            input_hash=ds.input_hash, agreements_hash=ds.agreements_hash,
            agreements_toml=(data / "agreements.toml").read_text(encoding="utf-8"), source=str(data.resolve()),
            seq=1, loaded_at=now - timedelta(days=40))))).inserted_primary_key[0]
        for name, attr in FACTS.items():
            value = getattr(ds, attr)
            records = list(value.values()) if isinstance(value, dict) else list(value)
            t = tables[name]
            rows = []
            for r in records:
                values = {**asdict(r), "snapshot_id": snapshot_id}
                if name == "client" and "bsn_enc" in t.c:  # a revision after BSNs were encrypted
                    from settlement import bsn
                    keys = bsn.keyring("the migration test")
                    values.update(bsn_hmac=keys.digest(r.bsn), bsn_enc=keys.encrypt(r.bsn, r.client))
                rows.append(_row(t, values))
            if rows:
                conn.execute(t.insert(), rows)
        for month, final in ((FINAL_MONTH, True), (DRAFT_MONTH, False)):
            if final and not has_final:
                continue
            result = eng.settle(Month.parse(month))
            text = export.dumps(export.build(month, info["engine_version"], ds.input_hash, result.lines, result.pools,
                                             codes))
            calculated = now - timedelta(days=30 if final else 1)
            values = dict(snapshot_id=snapshot_id, month=month, kind="final" if final else "draft",
                          engine_version=info["engine_version"], rules_version=info["rules_version"],
                          input_hash=ds.input_hash, agreements_hash=ds.agreements_hash,
                          export_hash=export.digest(text), calculated_at=calculated,
                          finalized_at=calculated + timedelta(hours=1) if final else None, parent=None,
                          lines_hash=receipt.lines_hash(result.lines, result.pools))
            the_receipt = receipt.build(SimpleNamespace(**values), values["lines_hash"])
            values.update(receipt=receipt.text(the_receipt), receipt_hash=receipt.digest(the_receipt))
            run_id = conn.execute(tables["run"].insert().values(**_row(tables["run"], values))).inserted_primary_key[0]
            conn.execute(tables["line"].insert(), [_row(tables["line"], dict(
                run_id=run_id, seq=i, placement=l.placement, client=l.client, product=l.product, region=l.region,
                days=l.days, amount=l.amount, status=l.status, basis=l.basis, payer=l.payer, pool=l.pool,
                creditor=l.creditor, flags=",".join(l.flags), trace=receipt.trace_text(l.trace)))
                for i, l in enumerate(result.lines)])
            conn.execute(tables["pool_share"].insert(), [_row(tables["pool_share"], dict(
                run_id=run_id, agreement=p.agreement, municipality=c, creditor=p.creditor, total=p.total,
                weight=str(dict(p.weights)[c]), share=v)) for p in result.pools for c, v in p.shares.items()])
            expected[month] = (run_id, text, len(result.lines))
            if final:
                by_creditor: dict[str, list] = defaultdict(list)
                for c, d, v in result.invoices:
                    by_creditor[c].append((d, v))
                year = int(month[:4])
                for creditor, owed in sorted(by_creditor.items()):
                    conn.execute(tables["invoice"].insert(), [_row(tables["invoice"], dict(
                        number=f"{creditor}-{year}-{seq:05d}", run_id=run_id, creditor=creditor, debtor=d,
                        month=month, year=year, seq=seq, kind="invoice", amount=v, corrects=None,
                        issue_date=values["finalized_at"].date())) for seq, (d, v) in enumerate(owed, 1)])
                    conn.execute(tables["invoice_counter"].insert().values(creditor=creditor, year=year,
                                                                           last=len(owed)))
                expected["invoices"] = sum(len(v) for v in by_creditor.values())
    return expected


def _contents(engine: sa.Engine) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table's columns and rows, as the driver returns them (no type conversion)."""
    tables = sa.MetaData()
    tables.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for t in tables.sorted_tables:
            names = sorted(c.name for c in t.c)
            columns = ", ".join(f'"{n}"' for n in names)
            rows = conn.exec_driver_sql(f'SELECT {columns} FROM "{t.name}"').all()
            out[t.name] = (names, [tuple(r) for r in rows])
    return out


def _upgrade_to(url: str, revision: str) -> None:
    engine = db.make_engine(url)
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def _gapless(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        invoices = conn.execute(sa.select(db.Invoice.__table__)).all()
        counters = {(c.creditor, c.year): c.last for c in conn.execute(sa.select(db.InvoiceCounter.__table__))}
    engine.dispose()
    seqs: dict[tuple[str, int], list[int]] = defaultdict(list)
    for inv in invoices:
        seqs[(inv.creditor, inv.year)].append(inv.seq)
        assert inv.number == f"{inv.creditor}-{inv.year}-{inv.seq:05d}"
    for key, values in seqs.items():
        assert sorted(values) == list(range(1, len(values) + 1)), key
    assert counters == {k: len(v) for k, v in seqs.items()}
    return len(invoices)


@pytest.mark.parametrize("revision", EARLIER)
def test_upgrade_with_data_from(revision, db_url, tmp_path):
    _upgrade_to(db_url, revision)
    engine = db.make_engine(db_url)
    old = sa.MetaData()
    old.reflect(engine)  # the tables as revision `revision` made them
    data = data_before_budget_pools(DATA, tmp_path)  # every earlier revision is before 0007
    expected = _fill(engine, dict(old.tables), data)
    before = _contents(engine)
    engine.dispose()

    r = CliRunner().invoke(main, ["--db", db_url, "run", "--month", NEW_MONTH])
    assert r.exit_code == 1 and "settle init" in r.output  # an old schema is refused, not misused
    assert "schema is current" in settle(db_url, "init")
    engine = db.make_engine(db_url)
    assert migrate.is_current(engine)
    after = _contents(engine)
    engine.dispose()

    # every old row is still there, equal in every column the head still has
    for table, (names, rows) in before.items():
        if table == "alembic_version":
            continue
        assert table in after, f"table {table} is gone"
        kept = [n for n in names if n in after[table][0]]
        assert len(kept) >= len(names) - 1, (table, names, after[table][0])  # 0004 replaced client.bsn
        pick_old = [names.index(n) for n in kept]
        pick_new = [after[table][0].index(n) for n in kept]
        assert sorted(repr(tuple(r[i] for i in pick_old)) for r in rows) == \
               sorted(repr(tuple(r[i] for i in pick_new)) for r in after[table][1]), f"rows of {table} changed"

    # the loaded data is recognised (BSNs included, they are part of the input hash)
    assert "unchanged: already the current snapshot" in settle(db_url, "load", str(data))
    # the old draft: exported as it was written, finalised now, verified against its snapshot
    run_id, text, _ = expected[DRAFT_MONTH]
    assert settle(db_url, "export", "--month", DRAFT_MONTH) == text
    assert f"{DRAFT_MONTH}: run {run_id} is final" in settle(db_url, "finalize", "--month", DRAFT_MONTH)
    assert f"{DRAFT_MONTH} verifies" in settle(db_url, "verify", "--month", DRAFT_MONTH)
    assert "no correction" in settle(db_url, "run", "--month", DRAFT_MONTH)
    # the old final run (0002 on): verified, nothing to correct, its invoices kept
    if FINAL_MONTH in expected:
        run_id, text, _ = expected[FINAL_MONTH]
        assert settle(db_url, "export", "--month", FINAL_MONTH) == text
        assert f"{FINAL_MONTH} verifies" in settle(db_url, "verify", "--month", FINAL_MONTH)
        assert "no correction" in settle(db_url, "run", "--month", FINAL_MONTH)
        r = CliRunner().invoke(main, ["--db", db_url, "finalize", "--month", FINAL_MONTH])
        assert r.exit_code == 1 and f"{FINAL_MONTH} is already final" in r.output
    # a new month on the upgraded database; its numbers continue the old counters
    assert f"{NEW_MONTH}: draft run" in settle(db_url, "run", "--month", NEW_MONTH)
    numbered = settle(db_url, "finalize", "--month", NEW_MONTH)
    doc = json.loads(settle(db_url, "export", "--month", NEW_MONTH))
    assert f"{len(doc['invoices'])} invoice(s) numbered" in numbered
    assert f"{NEW_MONTH} verifies" in settle(db_url, "verify", "--month", NEW_MONTH)
    total = _gapless(db_url)
    assert total > expected.get("invoices", 0) + len(doc["invoices"])

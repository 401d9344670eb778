"""What earlier versions wrote, for the tests of upgrades: a dataset stored as schema 0001..0003
stored it, through the tables as the database has them (the BSN in plain text in client.bsn)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import shutil

import sqlalchemy as sa

from settlement import store
from settlement.loader import load_dir


def data_before_budget_pools(source: Path, tmp: Path) -> Path:
    """A copy of the dataset `source` in `tmp`/data as the revisions before 0007 could store it:
    budget pools (RULES.md §5.3) are v2, and the pool_share of 0001..0006 has no column for a
    pool's budget part, so the IJssel-Vecht pool is the plain cost pool it was; nor have they the
    tables of disputes and rulings (v2, migration of rulings), so the copy has neither file."""
    data = Path(tmp) / "data-before-budget-pools"
    shutil.copytree(source, data)
    for name in ("disputes.csv", "rulings.csv"):
        (data / name).unlink(missing_ok=True)
    toml = (data / "agreements.toml").read_text(encoding="utf-8")
    assert toml.count('budget = "historic"\n') == 1, "the demo has one budget pool"
    (data / "agreements.toml").write_text(toml.replace('budget = "historic"\n', ""), encoding="utf-8")
    return data


def load_as_before_0004(engine, directory: Path):
    """Load `directory` as a snapshot the way `settle load` did before migration 0004; returns
    (the Snapshot, the Dataset with its plain BSNs, the agreements)."""
    ds, agreements = load_dir(directory)
    old = sa.MetaData()
    old.reflect(engine)
    assert "bsn" in old.tables["client"].c, "the database is already past 0003"
    with engine.begin() as conn:
        snapshot_id = conn.execute(old.tables["snapshot"].insert().values(
            input_hash=ds.input_hash, agreements_hash=ds.agreements_hash,
            agreements_toml=(Path(directory) / "agreements.toml").read_text(encoding="utf-8"),
            source=str(directory), seq=1, loaded_at=datetime.now(timezone.utc))).inserted_primary_key[0]
        for table, attr, _, _ in store._facts():
            if table.name not in old.tables:  # a table added since (dispute, ruling): the data have none
                assert not store._records(ds, attr)
                continue
            columns = old.tables[table.name].c  # a field added since (placement.contractor) has none
            rows = [{k: v for k, v in {**asdict(r), "snapshot_id": snapshot_id}.items() if k in columns}
                    for r in store._records(ds, attr)]
            if rows:
                conn.execute(old.tables[table.name].insert(), rows)
        snapshot = store.snapshot_by_id(conn, snapshot_id)
    return snapshot, ds, agreements


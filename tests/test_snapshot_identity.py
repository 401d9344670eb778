"""A snapshot keeps its identity when the exchange format grows (issue 12, item 3).

The canonical form of the input hash is versioned per table and per field (loader.InputFile,
loader.canonical_tables): a table added later enters the hash only when it has records, a field
added later only in the records that carry a value. Here the format grows in the test, the way a
real addition would: version 5 of the canonical form adds an optional file `reviews.csv` (a new
table) and an optional column `order_number` on `placements.csv` (a new field), with their
declarations, a parser, a fact class and the database columns a migration would add. (Version 2,
3 and 4 are real: `placements.contractor`, `disputes.csv` and `rulings.csv` (INTERFACE.md v2), and
`placements.toewijzing`, `products.iwmo_product_code` (settlement.iwmo) and `products.taakveld`,
added the same way.) Data that
use neither hash exactly as before, and a month made final before the addition still verifies
after it; data that use them hash differently."""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field, fields, replace
from datetime import date

import pytest
import sqlalchemy as sa

from settlement import db, loader, store
from settlement.demo.run import DATA
from settlement.facts import Dataset, Placement
from settlement.loader import canonical_tables, dataset_hashes, hash_of, load_dir
from tests.test_loader import PINNED_AGREEMENTS_HASH, PINNED_INPUT_HASH, load_v1, pinned_data, write
from tests.test_verify import MONTH, final_month, settle

# the canonical record of a placement (v1, frozen)
V1_PLACEMENT = ("placement", "client", "product", "region", "provider", "location", "start", "end", "financing")
V1_TABLES = ["applications", "budgets", "clients", "declarations", "members", "municipalities", "notifications",
             "placements", "products", "regions", "registrations", "tariffs"]


# -- version 1 is frozen ---------------------------------------------------------------------------------

def test_the_pinned_hashes_are_canonical_form_v1(tmp_path):
    data, toml = pinned_data()
    ds, agreements = load_v1(write(tmp_path / "d", data, toml))  # data of INTERFACE.md v1, without OINs
    assert (ds.input_hash, ds.agreements_hash) == (PINNED_INPUT_HASH, PINNED_AGREEMENTS_HASH)
    assert dataset_hashes(ds, agreements) == (PINNED_INPUT_HASH, PINNED_AGREEMENTS_HASH)
    canon = canonical_tables(ds, agreements)
    assert sorted(canon["input"]) == V1_TABLES  # every table of version 1, empty or not
    assert hash_of(canon["input"]) == PINNED_INPUT_HASH
    assert all(i.since == 1 for i in loader.INPUTS if i.attr in V1_TABLES)
    placements = next(i for i in loader.INPUTS if i.attr == "placements")
    assert placements.record == V1_PLACEMENT and placements.later == (("contractor", 2), ("toewijzing", 4))


def test_a_declaration_must_name_every_field_once():
    placements = next(i for i in loader.INPUTS if i.attr == "placements")
    loader.check_inputs(loader.INPUTS)
    with pytest.raises(ValueError, match="must each be in"):
        loader.check_inputs([replace(placements, fact=PlacementV3)])  # order_number declared nowhere
    with pytest.raises(ValueError, match="declared twice"):
        loader.check_inputs([placements, placements])
    with pytest.raises(ValueError, match="versions"):  # version 5 is not yet the canonical form's
        loader.check_inputs([replace(placements, fact=PlacementV3,
                                     later=(("contractor", 2), ("toewijzing", 4), ("order_number", 5)))])


# -- the format grows: version 5 --------------------------------------------------------------------------

@dataclass(frozen=True)
class PlacementV3(Placement):
    order_number: str | None = None  # a provider's order number (a field this format might gain)


@dataclass(frozen=True)
class Review:
    review: str
    placement: str
    payer: str
    decided_on: date


@dataclass
class DatasetV3(Dataset):
    reviews: dict[str, Review] = field(default_factory=dict)


def _placement_v3(r: loader.Row) -> PlacementV3 | None:
    p = loader._placement(r)
    order = r.text("order_number", required=False)
    return PlacementV3(*(getattr(p, f.name) for f in fields(Placement)), order) if p and r.ok else None


def _review(r: loader.Row) -> Review | None:
    review, placement, payer, day = r.ident("review"), r.ident("placement"), r.code("payer"), r.date("decided_on")
    return Review(review, placement, payer, day) if r.ok else None  # type: ignore[arg-type]


def _schema_v3() -> sa.MetaData:
    """The tables as a migration adding the two would leave them."""
    meta = sa.MetaData()
    for table in db.metadata.tables.values():
        table.to_metadata(meta)
    meta.tables["placement"].append_column(sa.Column("order_number", sa.String, nullable=True))
    sa.Table("review", meta, sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshot.id"), primary_key=True),
             sa.Column("review", sa.String, primary_key=True), sa.Column("placement", sa.String, nullable=False),
             sa.Column("payer", sa.String(4), nullable=False), sa.Column("decided_on", sa.Date, nullable=False))
    return meta


def migrate_to_v3(url: str, meta: sa.MetaData) -> None:
    engine = sa.create_engine(db.database_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE placement ADD COLUMN order_number VARCHAR"))
        meta.tables["review"].create(conn)
    engine.dispose()


def grow(monkeypatch) -> sa.MetaData:
    """Declare version 3 in-process: the new table and field, as a real addition would declare them."""
    placements = next(i for i in loader.INPUTS if i.attr == "placements")
    assert placements.record == V1_PLACEMENT
    grown = tuple(replace(i, fact=PlacementV3, parser=_placement_v3,
                          optional_columns=("contractor", "toewijzing", "order_number"),
                          later=(("contractor", 2), ("toewijzing", 4), ("order_number", 5))) if i is placements else i
                  for i in loader.INPUTS)
    grown += (loader.InputFile("reviews.csv", "reviews", Review, "review", ("review", "placement", "payer", "decided_on"),
                               _review, key="review", required=False, since=5,
                               record=("review", "placement", "payer", "decided_on")),)
    monkeypatch.setattr(loader, "CANONICAL_VERSION", 5)
    loader.check_inputs(grown)
    monkeypatch.setattr(loader, "INPUTS", grown)
    monkeypatch.setattr(loader, "Dataset", DatasetV3)
    monkeypatch.setattr(store, "Dataset", DatasetV3)
    meta = _schema_v3()
    monkeypatch.setattr(store, "_table", lambda name: meta.tables[name])
    return meta


def _copy(tmp_path, name="data", order=None, reviews=None):
    """The demo data; with an `order_number` column (its cells empty but for `order`: {placement:
    number}) and a `reviews.csv` (its rows: `reviews`) when given."""
    d = tmp_path / name
    shutil.copytree(DATA, d)
    if order is not None:
        with open(d / "placements.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        rows[0].append("order_number")
        for row in rows[1:]:
            row.append(order.get(row[0], ""))
        with open(d / "placements.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
    if reviews is not None:
        with open(d / "reviews.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows([["review", "placement", "payer", "decided_on"], *reviews])
    return d


def test_growing_keeps_the_hash_of_data_that_do_not_use_it(tmp_path, monkeypatch):
    data, toml = pinned_data()
    pinned = write(tmp_path / "pinned", data, toml)
    before, _ = load_dir(DATA)
    grow(monkeypatch)
    ds, agreements = load_v1(pinned)  # data of INTERFACE.md v1, without OINs
    assert (ds.input_hash, ds.agreements_hash) == (PINNED_INPUT_HASH, PINNED_AGREEMENTS_HASH)
    assert dataset_hashes(ds, agreements) == (PINNED_INPUT_HASH, PINNED_AGREEMENTS_HASH)
    assert hash_of(canonical_tables(ds)["input"]) == PINNED_INPUT_HASH
    assert isinstance(ds.placements["P1"], PlacementV3) and ds.reviews == {}
    # the demo data as they were, with the new column left empty, and with an empty reviews.csv
    for d in (DATA, _copy(tmp_path, "empty-column", order={}), _copy(tmp_path, "empty-file", reviews=[]),
              _copy(tmp_path, "both", order={}, reviews=[])):
        ds, _ = load_dir(d)
        assert ds.input_hash == before.input_hash, d
        assert hash_of(canonical_tables(ds)["input"]) == before.input_hash


def test_data_that_use_the_new_field_or_table_hash_differently(tmp_path, monkeypatch):
    base, _ = load_dir(DATA)
    first = sorted(base.placements)[0]
    location = base.placements[first].location
    grow(monkeypatch)
    hashes = {base.input_hash}
    for d in (_copy(tmp_path, "field", order={first: "ORD-1"}),
              _copy(tmp_path, "table", reviews=[["R1", first, location, "2024-02-01"]]),
              _copy(tmp_path, "both", order={first: "ORD-1"}, reviews=[["R1", first, location, "2024-02-01"]])):
        ds, agreements = load_dir(d)
        assert ds.input_hash not in hashes
        hashes.add(ds.input_hash)
        canon = canonical_tables(ds)["input"]
        assert hash_of(canon) == ds.input_hash == dataset_hashes(ds, agreements)[0]
        if "order_number" in (d / "placements.csv").read_text():
            assert [r for r in canon["placements"] if isinstance(r[-1], dict)] == [
                [*(loader._plain(getattr(ds.placements[first], n)) for n in V1_PLACEMENT),
                 {"order_number": "ORD-1"}]]
        assert ("reviews" in canon) == (d / "reviews.csv").exists()


def test_a_month_made_final_before_the_addition_still_verifies(db_url, tmp_path, monkeypatch):
    final_month(db_url)
    assert f"{MONTH} verifies" in settle(db_url, "verify", "--month", MONTH)
    migrate_to_v3(db_url, grow(monkeypatch))
    out = settle(db_url, "verify", "--month", MONTH)
    assert f"{MONTH} verifies" in out and "recomputed identically" in out
    # the same directory, and one with the new column and file left empty, is the same snapshot
    assert "unchanged" in settle(db_url, "load", str(DATA))
    assert "unchanged" in settle(db_url, "load", str(_copy(tmp_path, "empty", order={}, reviews=[])))
    # data that use them: a new snapshot, stored and read back with its hash
    base, _ = load_dir(DATA)
    first = sorted(base.placements)[0]
    location = base.placements[first].location
    used = _copy(tmp_path, "used", order={first: "ORD-1"}, reviews=[["R1", first, location, "2024-02-01"]])
    loaded, _ = load_dir(used)
    assert "loaded as snapshot 2" in settle(db_url, "load", str(used))
    engine = db.make_engine(db.database_url(db_url))
    with engine.connect() as conn:
        stored, agreements = store.read_dataset(conn, store.current_snapshot(conn), with_bsn=True)
    engine.dispose()
    assert stored.placements[first].order_number == "ORD-1" and list(stored.reviews) == ["R1"]
    assert dataset_hashes(stored, agreements)[0] == loaded.input_hash != base.input_hash

"""The fast load path gives what the plain one gave: the snapshot's hashes (the canonical form of
loader.canonical_tables, encoded record by record), the stored rows (positional inserts, COPY on
PostgreSQL), the refusals; and `settle load` shows its progress on a terminal only."""

from __future__ import annotations

import gc
import io
import random
import sys
from datetime import date

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.nl import bsn

from settlement import cli, db, loader, service, store
from settlement.demo.run import DATA
from settlement.facts import (
    Budget,
    Client,
    Dataset,
    Municipality,
    Placement,
    Product,
    Registration,
)
from settlement.loader import (
    READING,
    STORING,
    VALIDATING,
    LoadError,
    _valid_bsn,
    canonical_tables,
    dataset_hashes,
    hash_of,
    load_dir,
)
from tests.test_loader import (
    PINNED_AGREEMENTS_HASH,
    PINNED_INPUT_HASH,
    as_loaded_before,
    load_v1,
    pinned_data,
    with_oins,
    write,
)


def _definition(ds: Dataset, agreements=None) -> tuple[str, str]:
    canon = canonical_tables(ds, agreements)
    return hash_of(canon["input"]), hash_of(canon["agreements"])


# -- the hash -----------------------------------------------------------------------------------------

def test_hashes_equal_the_canonical_definition_on_the_demo_data():
    ds, agreements = load_dir(DATA)
    assert (ds.input_hash, ds.agreements_hash) == _definition(ds, agreements)


text = st.text(st.characters(codec="utf-8"), max_size=12)
maybe_day = st.none() | st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(text, text, text, st.integers(0, 10 ** 12), st.booleans(), text | st.none(),
                          st.dates(), maybe_day), max_size=8))
def test_hashes_equal_the_canonical_definition_on_any_values(rows):
    """Strings that sort one way as Python text and another as JSON (escapes, non-ASCII, characters
    outside the BMP, prefixes), None, booleans, big integers and dates, in records of every shape."""
    ds = Dataset(
        municipalities={f"m{i}": Municipality(a, b, c, a, b, c, f) for i, (a, b, c, _, _, f, _, _) in enumerate(rows)},
        regions={}, members=[],
        products={f"p{i}": Product(a, b, c, t, a, f) for i, (a, b, c, _, t, f, _, _) in enumerate(rows)},
        tariffs=[],
        clients={f"c{i}": Client(a, b) for i, (a, b, *_) in enumerate(rows)},
        registrations=[Registration(a, f, c, d, e, n) for a, _, c, n, _, f, d, e in rows],
        applications=[],
        placements={f"P{i}": Placement(a, b, c, a, b, c, d, e, a) for i, (a, b, c, _, _, _, d, e) in enumerate(rows)},
        budgets=[Budget(a, n, n if t else None, None) for a, _, _, n, t, *_ in rows])
    assert dataset_hashes(ds, []) == _definition(ds, [])


def test_bsn_check_is_stdnums_eleven_test():
    rng = random.Random(11)
    values = ["000000000", "111222333", "123456782", "100000009", "999999990"]
    values += [f"{rng.randrange(10 ** 9):09d}" for _ in range(20_000)]
    assert all(_valid_bsn(v) == bsn.is_valid(v) for v in values)
    assert sum(map(_valid_bsn, values)) > 1000  # both outcomes were tried


# -- storing ------------------------------------------------------------------------------------------

TABLES = tuple(i.attr for i in loader.INPUTS)  # every table of the exchange format (disputes and rulings too)


def _records(ds: Dataset) -> int:
    return sum(len(getattr(ds, name)) for name in TABLES)


def _facts(ds: Dataset) -> dict[str, list]:
    out = {}
    for name in TABLES:
        value = getattr(ds, name)
        out[name] = sorted(map(repr, value.values() if isinstance(value, dict) else value))
    out["bsn"] = sorted((c.client, c.bsn) for c in ds.clients.values())
    return out


def test_stored_rows_read_back_as_loaded(db_url, tmp_path):
    """Every value comes back as it was loaded (dates, empty cells, booleans, cents, quotes, line
    breaks, non-ASCII), so `settle verify` recomputes the pinned hashes from the stored rows; a
    second load of the same directory stores nothing."""
    data, toml = pinned_data()
    # data of INTERFACE.md v1: loaded with placeholder OINs, which are then taken out of the stored
    # rows, as a snapshot loaded under v1 holds them (OIN NULL)
    directory, without = with_oins(write(tmp_path / "pinned", data, toml))
    service.init(db_url)
    engine = db.make_engine(db_url)
    with as_loaded_before():  # the line break in a name, refused since
        assert service.load(engine, directory) == (1, "loaded")
        assert service.load(engine, directory) == (1, "unchanged")
    with engine.begin() as conn:
        t = db.MunicipalityRow.__table__
        conn.execute(t.update().where(t.c.code.in_(sorted(without))).values(oin=None))
    with engine.connect() as conn:
        stored, agreements = store.read_dataset(conn, store.current_snapshot(conn), with_bsn=True)
    loaded, _ = load_v1(tmp_path / "pinned")
    assert _facts(stored) == _facts(loaded)
    assert dataset_hashes(stored, agreements) == (PINNED_INPUT_HASH, PINNED_AGREEMENTS_HASH)
    engine.dispose()


def test_a_batch_boundary_loses_no_rows(db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "_SAVE_BATCH", 4)
    service.init(db_url)
    engine = db.make_engine(db_url)
    steps = []
    service.load(engine, DATA, lambda phase, done, total: steps.append((phase, done, total)))
    with engine.connect() as conn:
        stored, _ = store.read_dataset(conn, store.current_snapshot(conn), with_bsn=True)
    loaded, _ = load_dir(DATA)
    assert _facts(stored) == _facts(loaded)
    storing = [(done, total) for phase, done, total in steps if phase == STORING]
    assert len(storing) > 10 and storing[-1][0] == storing[-1][1] == _records(loaded)
    engine.dispose()


def test_a_database_error_while_storing_is_sqlalchemys(db_url):
    """As before the positional inserts and COPY: the database's refusal is an IntegrityError
    (the CLI's one sentence names it), and nothing is stored."""
    from dataclasses import replace

    import sqlalchemy as sa
    service.init(db_url)
    ds, _ = load_dir(DATA)
    a, b = sorted(ds.clients)[:2]
    ds.clients[b] = replace(ds.clients[b], bsn=ds.clients[a].bsn)
    engine = db.make_engine(db_url)
    with pytest.raises(sa.exc.IntegrityError):
        store.save_snapshot(engine, ds, "", "test")
    with engine.connect() as conn:
        assert store.current_snapshot(conn) is None
        assert conn.execute(sa.select(sa.func.count()).select_from(db.BrpRow.__table__)).scalar() == 0
    engine.dispose()


# -- the collector ------------------------------------------------------------------------------------

@pytest.mark.parametrize("enabled", [True, False])
def test_load_restores_the_collector(tmp_path, enabled):
    url = f"sqlite:///{tmp_path / 'gc.db'}"
    service.init(url)
    engine = db.make_engine(url)
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        seen = []
        service.load(engine, DATA, lambda *_: seen.append(gc.isenabled()))
        assert seen and not any(seen)  # off while loading
        assert gc.isenabled() is enabled
        bad = tmp_path / "bad"
        bad.mkdir()
        with pytest.raises(LoadError):
            service.load(engine, bad)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
        engine.dispose()


# -- progress -----------------------------------------------------------------------------------------

def test_progress_runs_through_the_phases(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    service.init(url)
    engine = db.make_engine(url)
    steps: list[tuple[str, int, int]] = []
    service.load(engine, DATA, lambda *step: steps.append(step))
    phases = [p for i, (p, _, _) in enumerate(steps) if i == 0 or steps[i - 1][0] != p]
    assert phases == [READING, VALIDATING, STORING]
    for phase in phases:
        mine = [(done, total) for p, done, total in steps if p == phase]
        assert len({total for _, total in mine}) == 1  # one total per phase
        assert [d for d, _ in mine] == sorted(d for d, _ in mine)  # never backwards
        assert mine[-1][0] == mine[-1][1] > 0  # ends complete
    assert next(total for p, _, total in steps if p == READING) == sum(f.stat().st_size for f in DATA.glob("*.csv"))

    steps.clear()  # the same directory again: nothing to store
    assert service.load(engine, DATA, lambda *step: steps.append(step))[1] == "unchanged"
    assert STORING not in {p for p, _, _ in steps}
    engine.dispose()


def test_refused_dataset_reports_no_storing(tmp_path):
    data, toml = pinned_data()
    data["placements.csv"][2][6] = "2023-02-30"
    directory, _ = with_oins(write(tmp_path / "bad", data, toml))
    steps = []
    with pytest.raises(LoadError) as e, as_loaded_before():
        load_dir(directory, lambda *step: steps.append(step))
    assert e.value.problems == ["placements.csv:3: start: 2023-02-30 is not a date that exists"]
    assert steps[-1][0] != STORING


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_load_shows_progress_on_a_terminal_only(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 't.db'}"
    assert CliRunner().invoke(cli.main, ["--db", url, "init"]).exit_code == 0
    r = CliRunner().invoke(cli.main, ["--db", url, "load", str(DATA)])
    assert r.exit_code == 0 and r.stderr == "" and r.stdout.endswith("loaded as snapshot 1\n")

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = cli._LoadProgress.on_terminal()
    assert progress is not None
    for step in [(READING, 0, 2_000_000), (READING, 2_000_000, 2_000_000), (VALIDATING, 3, 15)]:
        progress(*step)
    progress.close()  # a refusal after the third step: the bar's line is ended
    lines = terminal.getvalue().split("\n")
    assert lines[0].endswith("reading files [##############################] 2.0/2.0 MB")
    assert lines[1].startswith("\rvalidating [######........................] 3/15 steps")
    assert lines[2] == ""

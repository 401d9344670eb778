"""A BSN must not be a pseudonym or another identifier (issue 11, item 5).

Pseudonyms, placement ids and providers are stored as they are, printed by `settle explain` and
written into exports, so a BSN typed as one of them would break "a copy of the database shows no
BSN". The loader refuses any such value that is nine digits passing the 11-proef or equal to a BSN
of clients.csv, naming file, line and column but never the number. The datasets are the bundled
demonstration data with one identifier replaced.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, create_engine, select
from stdnum.nl import bsn

from settlement import loader
from settlement.cli import main
from settlement.demo.run import DATA
from settlement.loader import LoadError, load_dir

CLIENT_FILES = ("clients.csv", "brp.csv", "applications.csv", "placements.csv")
PLACEMENT_FILES = ("placements.csv", "notifications.csv", "declarations.csv")
MESSAGE_END = "; pseudonyms and other identifiers must not be BSNs (the number is not shown)"


def demo_bsns() -> dict[str, str]:
    """client -> BSN of the demonstration data."""
    with open(DATA / "clients.csv", encoding="utf-8", newline="") as f:
        return {row["client"]: row["bsn"] for row in csv.DictReader(f)}


BSNS = demo_bsns()
RANDOM_BSN = "123456782"  # passes the 11-proef, no client's BSN
NOT_A_BSN = "123456789"  # nine digits failing the 11-proef
assert bsn.is_valid(RANDOM_BSN) and RANDOM_BSN not in BSNS.values()
assert not bsn.is_valid(NOT_A_BSN) and NOT_A_BSN not in BSNS.values()
assert list(BSNS)[:2] == ["C0001", "C0002"]


def replace(directory: Path, files: tuple[str, ...], column: str, old: str, new: str) -> dict[str, list[int]]:
    """Replace every cell `old` of `column` by `new` in `files`; {file: the lines changed}."""
    changed: dict[str, list[int]] = {}
    for name in files:
        path = directory / name
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        i = rows[0].index(column)
        lines = [n for n, row in enumerate(rows[1:], 2) if row[i] == old]  # no cell of the demo spans lines
        for n in lines:
            rows[n - 1][i] = new
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8")
        if lines:
            changed[name] = lines
    return changed


def demo_copy(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(DATA, d)
    return d


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(LoadError) as e:
        load_dir(directory)
    return e.value.problems


def expected(changed: dict[str, list[int]], column: str, message: str) -> list[str]:
    return sorted(f"{name}:{line}: {column}: {message}{MESSAGE_END}" for name, lines in changed.items()
                  for line in lines)


# -- the loader ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["another client's", "random", "own"])
def test_a_client_pseudonym_that_is_a_bsn_is_refused_in_every_file(tmp_path, kind):
    """C0001's pseudonym in all four files becomes C0002's BSN, a valid number of no client, or
    C0001's own BSN: every line that holds it is refused, none shows the number."""
    number = {"another client's": BSNS["C0002"], "random": RANDOM_BSN, "own": BSNS["C0001"]}[kind]
    d = demo_copy(tmp_path)
    changed = replace(d, CLIENT_FILES, "client", "C0001", number)
    assert set(changed) == set(CLIENT_FILES) and changed["clients.csv"] == [2]
    problems = problems_of(d)
    assert not [p for p in problems if number in p]
    if kind == "another client's":
        first = "this client pseudonym is the BSN of client C0002 (line 3 of clients.csv)"
        assert sorted(problems) == expected(changed, "client", first)
    elif kind == "random":
        first = "this client pseudonym looks like a BSN (nine digits passing the 11-proef)"
        assert sorted(problems) == expected(changed, "client", first)
    else:
        own = f"clients.csv:2: client: this client pseudonym is this client's own BSN{MESSAGE_END}"
        other = expected({k: v for k, v in changed.items() if k != "clients.csv"}, "client",
                         "this client pseudonym is the client's own BSN (line 2 of clients.csv)")
        assert sorted(problems) == sorted([own, *other])


def test_the_fast_paths_do_not_bypass_the_check(tmp_path, monkeypatch):
    """The rows with the BSN are plain rows of the files, two of them with a fast path: each fast path
    declines a pseudonym of digits only, so the parser reads the row and notes it for the check."""
    d = demo_copy(tmp_path)
    changed = replace(d, CLIENT_FILES, "client", "C0001", RANDOM_BSN)
    declined: list[tuple[str, int]] = []
    for name, fast in dict(loader.FAST_PARSERS).items():
        def counted(cells, line, fast=fast, name=name):
            record = fast(cells, line)
            if RANDOM_BSN in cells.values():
                assert record is None
                declined.append((name, line))
            return record
        monkeypatch.setitem(loader.FAST_PARSERS, name, counted)
    load_dir(DATA)  # every date of the demo is known: but for the BSN, its rows would take the fast path
    declined.clear()
    problems = problems_of(d)
    assert sorted(declined) == sorted((name, line) for name, lines in changed.items() for line in lines
                                      if name in loader.FAST_PARSERS)  # brp.csv and placements.csv have one
    assert len(problems) == 1 + 2 + 1 + 1 and len(declined) == 2 + 1


@pytest.mark.parametrize("name,column", sorted((f, c) for f, c in loader.IDENTIFIERS if f in loader.FAST_PARSERS))
def test_each_fast_path_declines_an_identifier_of_digits(name, column):
    cells = {"clients.csv": {"client": "C1", "bsn": "111222333"},
             "brp.csv": {"client": "C1", "municipality": "0193", "kind": "woonadres", "valid_from": "2023-01-01",
                         "valid_to": ""},
             "applications.csv": {"client": "C1", "region": "ijssel-vecht", "municipality": "0193",
                                  "date": "2023-01-01"},
             "placements.csv": {"placement": "P1", "client": "C1", "product": "BW", "region": "ijssel-vecht",
                                "provider": "Zorg", "location": "0193", "start": "2023-01-01", "end": "",
                                "financing": "ZIN"}}[name]
    parse, _ = loader.PARSERS[name]
    out = loader.Problems()
    assert parse(loader.Row(name, 2, dict(cells), out, True)) is not None and not out.digits  # learns the date
    assert loader.FAST_PARSERS[name](dict(cells), 2) is not None
    cells[column] = RANDOM_BSN
    assert loader.FAST_PARSERS[name](dict(cells), 2) is None
    record = parse(loader.Row(name, 2, dict(cells), out, True))
    assert record is not None and getattr(record, column) == RANDOM_BSN  # refused later, with every BSN known
    assert out.digits == [(name, 2, column, RANDOM_BSN)] and not out


def test_other_identifiers_that_are_bsns_are_refused(tmp_path):
    """A placement id (in placements, notifications, declarations), a provider (also with spaces
    around it) and an agreement id."""
    d = demo_copy(tmp_path)
    placement = replace(d, PLACEMENT_FILES, "placement", "P00001", BSNS["C0003"])
    assert set(placement) == {"placements.csv", "declarations.csv"}
    provider = replace(d, ("placements.csv",), "provider", "De Kern", RANDOM_BSN)
    spaced = replace(d, ("placements.csv",), "provider", "Stichting Philadelphia", f" {RANDOM_BSN} ")
    assert spaced["placements.csv"]
    provider["placements.csv"] += spaced["placements.csv"]
    toml = (d / "agreements.toml").read_text(encoding="utf-8")
    (d / "agreements.toml").write_text(toml.replace('id = "ijv-solidariteit-historisch"', f'id = "{RANDOM_BSN}"'),
                                       encoding="utf-8")
    problems = problems_of(d)
    assert not [p for p in problems if RANDOM_BSN in p or BSNS["C0003"] in p]
    assert sorted(problems) == sorted(
        expected(placement, "placement", "this placement id is the BSN of client C0003 (line 4 of clients.csv)")
        + expected(provider, "provider", "this provider looks like a BSN (nine digits passing the 11-proef)")
        + [f"agreements.toml:8: id: this agreement id looks like a BSN (nine digits passing the 11-proef)"
           f"{MESSAGE_END}"])


def test_nine_digits_that_are_no_bsn_are_a_pseudonym_like_any_other(tmp_path):
    d = demo_copy(tmp_path)
    replace(d, CLIENT_FILES, "client", "C0001", NOT_A_BSN)
    ds, _ = load_dir(d)
    assert NOT_A_BSN in ds.clients and "C0001" not in ds.clients


# -- the command line ---------------------------------------------------------------------------------

def settle(url: str, *args: str):
    return CliRunner().invoke(main, ["--db", url, *args])


def database(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in order: what 'unchanged' is compared on."""
    engine = create_engine(url)
    try:
        md = MetaData()
        md.reflect(engine)
        with engine.connect() as conn:
            return {name: [tuple(r) for r in conn.execute(select(t).order_by(*t.c))]
                    for name, t in sorted(md.tables.items())}
    finally:
        engine.dispose()


@pytest.mark.parametrize("number", [BSNS["C0002"], RANDOM_BSN], ids=["another-clients-bsn", "random-valid-bsn"])
def test_settle_load_refuses_a_bsn_as_pseudonym(db_url, tmp_path, number):
    assert settle(db_url, "init").exit_code == 0
    assert settle(db_url, "load", str(DATA)).exit_code == 0
    before = database(db_url)
    d = demo_copy(tmp_path)
    changed = replace(d, CLIENT_FILES, "client", "C0001", number)
    r = settle(db_url, "load", str(d))
    assert r.exit_code == 2, r.output
    assert r.stdout == "" and "Traceback" not in r.stderr
    assert number not in r.stderr
    lines = r.stderr.splitlines()
    assert lines[-1] == f"error: the dataset was refused ({len(lines) - 1} problem(s)); nothing was stored"
    for name, numbers in changed.items():
        for n in numbers:
            assert any(p.startswith(f"{name}:{n}: client: this client pseudonym ") and "BSN" in p
                       and p.endswith(MESSAGE_END) for p in lines), (name, n, lines)
    assert len(lines) - 1 == sum(map(len, changed.values()))
    assert database(db_url) == before

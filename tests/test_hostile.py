"""Hostile input (docs/RELIABILITY.md): every broken dataset of the corpus in tests/hostile/ is
refused whole through the real command line, on SQLite and on PostgreSQL.

Each case must give: exit status 2; no traceback; every problem on stderr of the form
`file:line: column: message`, among them the case's exact prefix with the key part of its message;
and a database that is byte for byte what it was, holding one loaded snapshot (the base dataset),
so that "unchanged" means something. The base is loaded once per database for the whole module.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, create_engine, select, text

from conftest import PG_URL, _pg_available, _plain
from hostile.cases import BASE, CASES, Case, Replace, apply
from settlement.cli import main

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = re.compile(r"^[\w.]+:\d+: [\w.-]+: .+")
SUMMARY = re.compile(r"^error: the dataset was refused \((\d+) problem\(s\)\); nothing was stored$")


def settle(url: str, *args: str):
    return CliRunner().invoke(main, ["--db", url, *args])


_engines: dict[str, tuple] = {}  # url -> (engine, reflected metadata): one per database for the module


def dump(url: str) -> dict:
    """A deterministic picture of the whole database.

    SQLite: the SQL text of `iterdump()` (schema and every row) and the SHA-256 of the file after a
    WAL checkpoint. PostgreSQL: the list of tables, every table's rows ordered by all its columns,
    and every sequence's last value.
    """
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        con = sqlite3.connect(path)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            sql = "\n".join(con.iterdump())
        finally:
            con.close()
        return {"iterdump": sql, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
    if url not in _engines:
        engine = create_engine(url)
        md = MetaData()
        md.reflect(engine)
        _engines[url] = (engine, md)
    engine, md = _engines[url]
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(text(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"))]
        tables = {name: [tuple(r) for r in conn.execute(select(t).order_by(*t.c))]
                  for name, t in sorted(md.tables.items())}
        sequences = [tuple(r) for r in conn.execute(text(
            "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"))]
    return {"table_names": names, "tables": tables, "sequences": sequences}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def base_db(request, tmp_path_factory):
    """(url, {"dump": dump}) of a database holding the base dataset as its one snapshot; once per module.

    The same databases as conftest's `db_url` (an SQLite file; a fresh PostgreSQL database, skipped
    without a server unless CI=true), module-scoped so that 150 cases do not load the base 150 times.
    """
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'base.db'}"
    else:
        problem = _pg_available()
        if problem:
            if os.environ.get("CI") == "true":
                pytest.fail(f"PostgreSQL is mandatory in CI: {problem}")
            pytest.skip(problem)
        import psycopg
        name = f"settle_hostile_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_plain(PG_URL), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    try:
        assert settle(url, "init").exit_code == 0
        r = settle(url, "load", str(BASE))
        assert r.exit_code == 0 and "loaded as snapshot 1" in r.output, r.output
        before = dump(url)
        assert "snapshot" in str(before)
        yield url, {"dump": before}
    finally:
        if url in _engines:
            _engines.pop(url)[0].dispose()
        if name is not None:
            import psycopg
            with psycopg.connect(_plain(PG_URL), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check_refusal(case: Case, exit_code: int, stdout: str, stderr: str) -> list[str]:
    """The refusal as the interface demands it; returns the problem lines."""
    assert exit_code == 2, (exit_code, stdout, stderr)
    assert "Traceback" not in stdout + stderr
    assert stdout == ""
    lines = stderr.splitlines()
    assert lines, "no problems printed"
    summary = SUMMARY.match(lines[-1])
    assert summary, lines[-1]
    problems = lines[:-1]
    assert int(summary.group(1)) == len(problems)
    assert all(PROBLEM.match(p) for p in problems), [p for p in problems if not PROBLEM.match(p)]
    hits = [p for p in problems if p.startswith(case.prefix + " ") and case.fragment in p]
    assert hits, f"expected {case.prefix} ...{case.fragment}... in\n" + "\n".join(problems[:20])
    if case.alone:
        assert len(problems) == 1, problems
    return problems


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_dataset_is_refused_whole(base_db, case, tmp_path):
    url, state = base_db
    before = state["dump"]
    d = apply(case, tmp_path / "data")
    try:
        r = settle(url, "load", str(d))
    finally:
        shutil.rmtree(d, ignore_errors=True)  # the 100 MB cases leave nothing behind
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    after = dump(url)
    state["dump"] = after  # a case wrongly accepted fails alone, not every case after it
    check_refusal(case, r.exit_code, r.stdout, r.stderr)
    assert after == before


def test_corpus_is_large_and_covers_every_class():
    kinds = Counter(c.kind for c in CASES)
    assert len(CASES) >= 50
    assert set(kinds) == {"encoding", "structure", "files", "dates", "amounts", "identity", "codes", "periods",
                          "keys", "references", "agreements", "toml", "size", "limits"}, kinds
    assert sum(c.kind == "size" and "100-mb" in c.name for c in CASES) >= 1


def test_committed_corpus_is_small():
    assert sum(p.stat().st_size for p in BASE.iterdir()) < 10_000
    assert sum(p.stat().st_size for p in BASE.parent.glob("*.py")) < 100_000


SUBPROCESS_CASES = ["cp1252-byte", "toml-deep-nesting", "nul-in-cell"]


def test_refusal_in_a_real_process(tmp_path):
    """The same refusals from `python -m settlement.cli` in its own process: status 2, no traceback."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert settle(url, "init").exit_code == 0
    assert settle(url, "load", str(BASE)).exit_code == 0
    before = dump(url)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("SETTLEMENT_DEBUG", None)
    by_name = {c.name: c for c in CASES}
    for name in SUBPROCESS_CASES:
        case = by_name[name]
        d = apply(case, tmp_path / name)
        p = subprocess.run([sys.executable, "-m", "settlement.cli", "--db", url, "load", str(d)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
        check_refusal(case, p.returncode, p.stdout, p.stderr)
        assert dump(url) == before


# Known problems outside the loader (docs/RELIABILITY.md, 'Hostile input'): strict expected failures,
# so that the fix turns them into failures that ask for the marker to go.

def _sqlite_with_base(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    assert settle(url, "init").exit_code == 0
    assert settle(url, "load", str(BASE)).exit_code == 0
    return url


def test_huge_notify_within_days_is_refused(tmp_path):
    url = _sqlite_with_base(tmp_path)
    case = Case("huge-notify-days", "agreements",
                (Replace("agreements.toml", b"notify_within_days = 14", b"notify_within_days = 10000000"),),
                "agreements.toml:20: notify_within_days:", "must be")
    d = apply(case, tmp_path / "data")
    r = settle(url, "load", str(d))
    if r.exit_code == 0:  # accepted: then at least settling must not crash
        r = settle(url, "run", "--month", "2023-05")
        assert r.exit_code != 1 and "OverflowError" not in r.output, r.output
    check_refusal(case, r.exit_code, r.stdout, r.stderr)


def test_creditor_of_the_wrong_type_is_named(tmp_path):
    case = Case("creditor-list", "agreements",
                (Replace("agreements.toml", b'clients = "historic"', b'clients = "historic"\ncreditor = ["0193"]'),),
                "agreements.toml:9: creditor:", "0193")
    d = apply(case, tmp_path / "data")
    r = settle(_sqlite_with_base(tmp_path), "load", str(d))
    check_refusal(case, r.exit_code, r.stdout, r.stderr)


def test_last_month_of_the_calendar_is_not_a_crash(tmp_path):
    r = settle(_sqlite_with_base(tmp_path), "run", "--month", "9999-12")
    assert r.exit_code in (0, 2) and "OverflowError" not in r.output, r.output

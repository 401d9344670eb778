"""Fuzzing the loader and the engine behind it through the command line (docs/RELIABILITY.md).

Hypothesis mutates the valid base dataset of tests/hostile/base/ (delete, duplicate and swap rows;
replace cells by random text, numbers, dates, empty cells or values from elsewhere in the data;
drop and rename columns; delete, truncate or corrupt files with random bytes; edit
agreements.toml) and loads the result with `settle load` into a database that already holds the
base. Every example must end in one of two ways, never in a crash (status 1, a traceback):

- refused: status 2, every line before the summary a `file:line: column: message` problem, at
  least one of them, and the database exactly as it was;
- accepted: `settle run` for a month of the data exits 0 or refuses with status 2 for a data
  problem (such as a missing tariff); when it settles, the export conserves money: the lines sum
  to the payables.

SQLite only (the refusal path is database-independent; tests/test_hostile.py covers PostgreSQL).
SETTLEMENT_FUZZ_EXAMPLES changes the number of examples (default 150); SETTLEMENT_FUZZ_RANDOM=1
explores new examples instead of the fixed, reproducible sequence.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sqlite3
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile.cases import BASE
from settlement.cli import main

DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PROBLEM = re.compile(r"^[\w.]+:\d+: [\w.-]+: .+")
REFUSED = re.compile(r"^error: the dataset was refused \((\d+) problem\(s\)\); nothing was stored$")
UNSETTLED = "error: the month cannot be settled"
EXAMPLES = int(os.environ.get("SETTLEMENT_FUZZ_EXAMPLES", "150"))
MONTHS = [f"{y}-{m:02d}" for y in (2022, 2023, 2024) for m in range(1, 13)]

FILES = sorted(p.name for p in BASE.iterdir())
CSV_FILES = [f for f in FILES if f.endswith(".csv")]
BASE_BYTES = {f: (BASE / f).read_bytes() for f in FILES}


def _rows(data: bytes) -> list[list[str]] | None:
    try:
        return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), strict=True))
    except (UnicodeDecodeError, csv.Error):
        return None


def _bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


# every cell value of the base, per column name: plausible replacements that keep references alive
POOL: dict[str, list[str]] = {}
for _f in CSV_FILES:
    _r = _rows(BASE_BYTES[_f])
    assert _r is not None
    for _row in _r[1:]:
        for _col, _value in zip(_r[0], _row):
            POOL.setdefault(_col, [])
            if _value not in POOL[_col]:
                POOL[_col].append(_value)
ALL_VALUES = sorted({v for vs in POOL.values() for v in vs})

plausible_date = st.dates(date(2019, 1, 1), date(2026, 12, 31)).map(date.isoformat)
any_date = st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat)
# values that broke loaders before: control characters, numbers beyond 64 bits, non-ASCII digits,
# the ends of the calendar, keys with a line break, amounts the Dutch way
NASTY = ["\x00", "a\x00b", "\x1b[0m", "9" * 25, "99999999999999999.99", "-0", "１００", "٠١٩٣", "0193\n", "\n", "\r",
         "9999-12-31", "0001-01-01", "1.234,56", "€ 1", "NaN", "inf", "1e308", "\ufeff", "\u2028", "x" * 1001]
amount = st.from_regex(r"-?[0-9]{1,13}(\.[0-9]{1,3})?", fullmatch=True)
cell_value = st.one_of(
    st.just(""),
    st.text(max_size=12),
    st.text(alphabet="0123456789-.,; \"'\t\n", max_size=12),
    st.integers(-10**15, 10**15).map(str),
    amount,
    plausible_date,
    any_date,
    st.sampled_from(ALL_VALUES),
    st.sampled_from(NASTY),
)


def _pick_rows(files: dict[str, bytes], data: st.DataObject) -> tuple[str, list[list[str]]] | None:
    candidates = [f for f in CSV_FILES if f in files and (_rows(files[f]) or [])]
    if not candidates:
        return None
    name = data.draw(st.sampled_from(candidates), label="file")
    return name, _rows(files[name])  # type: ignore[return-value]


def delete_row(files, data):
    picked = _pick_rows(files, data)
    if picked and len(picked[1]) > 1:
        name, rows = picked
        del rows[data.draw(st.integers(1, len(rows) - 1), label="row")]
        files[name] = _bytes(rows)


def duplicate_row(files, data):
    picked = _pick_rows(files, data)
    if picked and len(picked[1]) > 1:
        name, rows = picked
        i = data.draw(st.integers(1, len(rows) - 1), label="row")
        rows.insert(data.draw(st.integers(1, len(rows)), label="to"), list(rows[i]))
        files[name] = _bytes(rows)


def swap_rows(files, data):
    picked = _pick_rows(files, data)
    if picked and len(picked[1]) > 2:
        name, rows = picked
        i = data.draw(st.integers(1, len(rows) - 1), label="row")
        j = data.draw(st.integers(1, len(rows) - 1), label="with")
        rows[i], rows[j] = rows[j], rows[i]
        files[name] = _bytes(rows)


def set_cell(files, data):
    picked = _pick_rows(files, data)
    if picked and len(picked[1]) > 1:
        name, rows = picked
        i = data.draw(st.integers(1, len(rows) - 1), label="row")
        if not rows[i]:
            return
        j = data.draw(st.integers(0, len(rows[i]) - 1), label="column")
        column = rows[0][j] if j < len(rows[0]) else ""
        strategy = st.one_of(cell_value, st.sampled_from(POOL[column])) if POOL.get(column) else cell_value
        rows[i][j] = data.draw(strategy, label="value")
        files[name] = _bytes(rows)


def nudge_date(files, data):
    """Move one date a few days or years: plausible data that tests the rules, not the parser."""
    picked = _pick_rows(files, data)
    if picked and len(picked[1]) > 1:
        name, rows = picked
        cells = [(i, j) for i, r in enumerate(rows[1:], 1) for j, v in enumerate(r) if DATE.fullmatch(v)]
        if cells:
            i, j = data.draw(st.sampled_from(cells), label="cell")
            days = data.draw(st.one_of(st.integers(-40, 40), st.integers(-3000, 3000)), label="days")
            moved = date.fromisoformat(rows[i][j]).toordinal() + days
            rows[i][j] = date.fromordinal(min(max(moved, 1), date.max.toordinal())).isoformat()
            files[name] = _bytes(rows)


def drop_column(files, data):
    picked = _pick_rows(files, data)
    if picked:
        name, rows = picked
        j = data.draw(st.integers(0, len(rows[0]) - 1), label="column")
        files[name] = _bytes([r[:j] + r[j + 1:] for r in rows])


def rename_column(files, data):
    picked = _pick_rows(files, data)
    if picked:
        name, rows = picked
        j = data.draw(st.integers(0, len(rows[0]) - 1), label="column")
        rows[0][j] = data.draw(st.one_of(st.text(max_size=12), st.sampled_from(sorted(POOL))), label="name")
        files[name] = _bytes(rows)


def truncate(files, data):
    name = data.draw(st.sampled_from(sorted(files)), label="file")
    files[name] = files[name][:data.draw(st.integers(0, len(files[name])), label="at")]


def insert_bytes(files, data):
    name = data.draw(st.sampled_from(sorted(files)), label="file")
    at = data.draw(st.integers(0, len(files[name])), label="at")
    files[name] = files[name][:at] + data.draw(st.binary(min_size=1, max_size=8), label="bytes") + files[name][at:]


def delete_file(files, data):
    del files[data.draw(st.sampled_from(sorted(files)), label="file")]


def edit_toml(files, data):
    if "agreements.toml" not in files:
        return
    lines = files["agreements.toml"].split(b"\n")
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    how = data.draw(st.sampled_from(["delete", "duplicate", "value"]), label="how")
    if how == "delete":
        del lines[i]
    elif how == "duplicate":
        lines.insert(i, lines[i])
    elif b"=" in lines[i]:
        key = lines[i].split(b"=", 1)[0]
        value = data.draw(st.one_of(
            st.integers(-10**20, 10**20).map(str), st.integers(0, 400).map(str), st.floats().map(repr), plausible_date,
            st.text(max_size=10).map(json.dumps), st.sampled_from(['"pool"', '"interregional"', '"shift"', '"flag"',
                                                                     '["BW", "MO"]', '"new"', '"all"', "[]", "{}"]),
            st.sampled_from(ALL_VALUES).map(json.dumps), st.sampled_from(NASTY).map(json.dumps),
            st.integers(1, 5000).map(lambda n: "[" * n + "]" * n)), label="value")
        lines[i] = key + b"= " + value.encode("utf-8")
    files["agreements.toml"] = b"\n".join(lines)


MUTATIONS = [delete_row, duplicate_row, swap_rows, swap_rows, set_cell, set_cell, set_cell, nudge_date, nudge_date,
             nudge_date, drop_column, rename_column, truncate, insert_bytes, delete_file, edit_toml, edit_toml]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """An SQLite file holding the base as its one snapshot, and its dump; copied for each example."""
    path = tmp_path_factory.mktemp("fuzz") / "template.db"
    url = f"sqlite:///{path}"
    assert CliRunner().invoke(main, ["--db", url, "init"]).exit_code == 0
    assert CliRunner().invoke(main, ["--db", url, "load", str(BASE)]).exit_code == 0
    return path, _dump(path)


def _dump(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return "\n".join(con.iterdump())
    finally:
        con.close()


def _cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


def test_fuzzed_datasets_are_refused_or_settled_never_crash(template, capsys):
    template_path, template_dump = template
    stats: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("SETTLEMENT_FUZZ_RANDOM"),
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], database=None)
    @given(data=st.data())
    def run(data):
        files = dict(BASE_BYTES)
        n = data.draw(st.integers(1, 3), label="mutations")
        for _ in range(n):
            data.draw(st.sampled_from(MUTATIONS), label="mutation")(files, data)
        month = data.draw(st.sampled_from(MONTHS), label="month")
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp) / "data"
            d.mkdir()
            for name, content in files.items():
                (d / name).write_bytes(content)
            db = Path(tmp) / "fuzz.db"
            shutil.copyfile(template_path, db)
            url = f"sqlite:///{db}"
            runner = CliRunner()
            r = runner.invoke(main, ["--db", url, "load", str(d)])
            out = r.stdout + r.stderr
            assert "Traceback" not in out, out
            assert r.exit_code in (0, 2), f"load crashed (status {r.exit_code}):\n{out}\n{r.exception!r}"
            if r.exit_code == 2:
                stats["refused"] += 1
                lines = r.stderr.splitlines()
                summary = REFUSED.match(lines[-1]) if lines else None
                assert summary, out
                problems = lines[:-1]
                assert problems and any(PROBLEM.match(p) for p in problems), out
                assert _dump(db) == template_dump, "a refused load changed the database"
                return
            stats["accepted"] += 1
            r = runner.invoke(main, ["--db", url, "run", "--month", month])
            out = r.stdout + r.stderr
            assert "Traceback" not in out, out
            assert r.exit_code in (0, 2), f"run {month} crashed (status {r.exit_code}):\n{out}\n{r.exception!r}"
            if r.exit_code == 2:
                assert UNSETTLED in r.stderr, out
                stats["not settled (data problem)"] += 1
                return
            stats["settled"] += 1
            r = runner.invoke(main, ["--db", url, "export", "--month", month])
            assert r.exit_code == 0, r.output
            doc = json.loads(r.stdout)
            lines_total = sum(_cents(l["amount"]) for l in doc["lines"])
            payable_total = sum(_cents(t["payable"]) for t in doc["totals"].values())
            assert lines_total == payable_total, (month, lines_total, payable_total)
            stats["settled with lines"] += bool(doc["lines"])

    run()
    with capsys.disabled():
        print(f"\nfuzz: {sum(stats[k] for k in ('refused', 'accepted'))} examples: " +
              ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
    # the fuzz must exercise both ways out, or it proves little
    assert stats["refused"] >= EXAMPLES // 10 and stats["accepted"] >= EXAMPLES // 10, stats

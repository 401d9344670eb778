"""`settle status` (where the database stands) and `settle run`'s output (--quiet, --format json,
--all, the note on net, warnings), on SQLite and PostgreSQL, with the bundled demo data.

The demo's figures used below, as its exports give them: 2024-01 161 + 129 lines and 28 + 1
invoices, 2024-02 167 + 129 lines and 30 + 1 invoices, 2024-03 171 + 127 lines and 30 + 1 invoices,
2024-04 170 + 124 lines (the first 300 clients' lines plus one per bulk placement in care; the
invoice more is Assen's to Hoogeveen, Assen being Zuid-West's centrumgemeente). In March 2024
Heerenveen (0074) and Zoeterwoude (0638) pay and receive nothing; the dataset has 31
municipalities, 300 + 176 clients and 320 + 176 placements. P00013 (BW-INTRA, payer Dalfsen 0148, creditor
Zwolle 0193) costs 29 x EUR 139.85 = EUR 4055.65 in February and 31 x 139.85 = 4335.35 in March:
a declaration of EUR 4000.00 makes a correction of one line in each (-55.65 and -335.35), and
finalising March's gives one credit note (Zwolle to Dalfsen).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from settlement import db, store
from settlement.cli import main
from settlement.demo.run import DATA


def settle(db_url: str, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False, env=env)


def ok(db_url: str, *args: str, env: dict[str, str] | None = None):
    r = settle(db_url, *args, env=env)
    assert r.exit_code == 0, r.output
    return r


def status(db_url: str) -> dict:
    return json.loads(ok(db_url, "status", "--format", "json").stdout)


def cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


@pytest.fixture
def loaded(db_url):
    ok(db_url, "init")
    ok(db_url, "load", str(DATA))
    return db_url


def changed_data(tmp_path: Path) -> Path:
    """The demo data with P00013 declared at EUR 4000.00 in February and March 2024."""
    data = tmp_path / "changed"
    shutil.copytree(DATA, data)
    with (data / "declarations.csv").open("a", encoding="utf-8") as f:
        f.write("P00013,2024-02,4000.00\nP00013,2024-03,4000.00\n")
    return data


# -- settle status ------------------------------------------------------------------------------

def test_status_of_an_empty_database_says_so(db_url):
    ok(db_url, "init")
    r = ok(db_url, "status")
    assert "no data loaded yet" in r.stdout and "settle load DIR" in r.stdout
    assert status(db_url) == {"format": "settlement-status/1", "snapshot": None, "snapshots": 0, "months": []}


def test_status_without_schema_says_run_init(db_url):
    r = settle(db_url, "status")
    assert r.exit_code == 1 and "settle init" in r.output and "Traceback" not in r.output


def test_status_of_a_loaded_database_before_any_run(loaded):
    doc = status(loaded)
    snap = doc["snapshot"]
    # 300 clients with 320 placements, and 176 bulk clients of one placement each (tests/demo_generator.py
    # N_BULK: 140 + 20 + 7 + 9)
    assert (snap["id"], snap["clients"], snap["placements"], doc["snapshots"]) == (1, 476, 496, 1)
    assert snap["source"] == str(DATA.resolve()) and snap["input_hash"].startswith("sha256:")
    assert doc["months"] == []
    text = ok(loaded, "status").stdout
    assert "current snapshot 1 (of 1 loaded)" in text and "476 clients, 496 placements" in text
    assert f"input {snap['input_hash'][:19]}" in text  # sha256: and 12 hex digits
    assert "no month has been settled yet" in text


def test_status_draft_final_corrected_and_stale(loaded, tmp_path):
    ok(loaded, "run", "--from", "2024-01", "--to", "2024-04")
    exported = {m: json.loads(ok(loaded, "export", "--month", m).stdout) for m in ("2024-01", "2024-02", "2024-03")}
    # the 161, 167 and 171 lines of the first 300 clients plus one line per bulk placement in care that
    # month (129, 129 and 127: each has one payer, or the pool, for the whole month)
    assert [len(exported[m]["lines"]) for m in sorted(exported)] == [161 + 129, 167 + 129, 171 + 127]
    for m in ("2024-01", "2024-02", "2024-03"):
        ok(loaded, "finalize", "--month", m)
    ok(loaded, "load", str(changed_data(tmp_path)))  # snapshot 2: 2024-04's draft is now stale
    corr_feb = ok(loaded, "run", "--month", "2024-02").stdout
    assert "1 correction lines" in corr_feb
    ok(loaded, "run", "--month", "2024-03")
    ok(loaded, "finalize", "--month", "2024-03")

    doc = status(loaded)
    assert doc["snapshot"]["id"] == 2 and doc["snapshots"] == 2
    months = {m["month"]: m for m in doc["months"]}
    assert list(months) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    summary = {m: (v["state"], [(r["kind"], r["final"], r["lines"], r["invoices"], r["credit_notes"], r["snapshot"])
                                for r in v["runs"]], v["stale"], v["invoices"], v["credit_notes"])
               for m, v in months.items()}
    # lines: the first 300 clients' plus one per bulk placement in care (129, 129, 127, 124); invoices:
    # one more each month, Assen to Hoogeveen (Assen is Zuid-West's centrumgemeente and so the creditor
    # of its lines: Hoogeveen's own new clients, once lines Hoogeveen owed itself, are now invoiced),
    # and from February three more: the Leidse Regio pool (new clients BW, from C0040's start on
    # 2024-02-01) gives Leiden a share to invoice to Leiderdorp, Voorschoten and Zoeterwoude, who owed
    # it nothing before (Oegstgeest already had Leiden's invoice for C0040); January has no pooled line
    assert summary == {
        "2024-01": ("final", [("final", True, 161 + 129, 28 + 1, 0, 1)], False, 29, 0),
        "2024-02": ("final + draft correction", [("final", True, 167 + 129, 30 + 1 + 3, 0, 1),
                                                 ("correction", False, 1, 0, 0, 2)], False, 34, 0),
        "2024-03": ("corrected", [("final", True, 171 + 127, 30 + 1 + 3, 0, 1), ("correction", True, 1, 0, 1, 2)],
                    False, 34, 1),
        "2024-04": ("draft", [("draft", False, 170 + 124, 0, 0, 1)], True, 0, 0),
    }
    # the run ids are the stored ones; a correction names the final run it corrects
    for m, v in months.items():
        final = next((r for r in v["runs"] if r["kind"] == "final"), None)
        for r in v["runs"]:
            assert r["corrects"] == (final["id"] if r["kind"] == "correction" else None)
        assert v["draft"] == next((r["id"] for r in v["runs"] if not r["final"]), None)
    # the invoices counted are the exports' (each final run's own)
    assert months["2024-01"]["runs"][0]["invoices"] == len(exported["2024-01"]["invoices"]) == 28 + 1

    text = ok(loaded, "status").stdout
    row = {line.split()[0]: line for line in text.splitlines() if line[:4] == "2024"}
    assert "final + draft correction" in row["2024-02"] and "296 + 1" in row["2024-02"]  # 167 + 129 lines, 1 correction line
    assert "corrected" in row["2024-03"] and "298 + 1" in row["2024-03"]  # 171 + 127
    assert "stale: run the month again" in row["2024-04"]
    assert "stale" not in row["2024-01"] + row["2024-02"] + row["2024-03"]
    assert "the draft of 2024-04 was computed on an earlier snapshot" in text and "settle finalize" in text
    # json output is stable: the same bytes twice, keys sorted
    again = ok(loaded, "status", "--format", "json").stdout
    assert again == json.dumps(json.loads(again), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert again == ok(loaded, "status", "--format", "json").stdout


def test_status_asks_each_table_once_whatever_the_number_of_months(loaded):
    """One query per table: the number of statements does not grow with months or runs."""
    def statements() -> int:
        engine = db.make_engine(loaded)
        seen: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        with engine.connect() as conn:
            store.status(conn)
        engine.dispose()
        return len(seen)
    ok(loaded, "run", "--month", "2024-01")
    one = statements()
    ok(loaded, "run", "--from", "2023-01", "--to", "2024-12")
    ok(loaded, "finalize", "--month", "2023-01")
    assert statements() == one <= 7  # snapshot, snapshots, clients, placements, runs, lines, invoices


# -- settle run: the table, --all, --quiet, --format json, warnings ------------------------------------

def test_run_table_leaves_out_zero_rows_unless_all_and_explains_net(loaded):
    r = ok(loaded, "run", "--month", "2024-03")
    # Heerenveen has nothing in 2024-03; Zoeterwoude pays its share of the Leidse Regio pool (153.30,
    # worked out in tests/test_demo.py), so it is shown
    assert "Heerenveen" not in r.stdout and "0638  Zoeterwoude" in r.stdout and "0193  Zwolle" in r.stdout
    assert "(1 municipality with nothing payable or receivable left out; --all shows them)" in r.stdout
    assert "net = receivable - payable" in r.stdout and "does not sum to zero" in r.stdout
    rows = lambda text: [line for line in text.splitlines() if line[:4].isdigit() and line[4:6] == "  "]
    assert len(rows(r.stdout)) == 31 - 1
    every = ok(loaded, "run", "--month", "2024-03", "--all").stdout
    assert "0074  Heerenveen" in every and "0638  Zoeterwoude" in every and "left out" not in every
    assert len(rows(every)) == 31
    # the total row is the same either way (of every municipality)
    total = lambda text: next(line for line in text.splitlines() if line.strip().startswith("total"))
    assert total(r.stdout) == total(every)


def test_run_quiet_prints_one_line_per_month(loaded):
    r = ok(loaded, "run", "--month", "2024-03", "--quiet")
    assert r.stdout.splitlines() == [r.stdout.splitlines()[0]] and r.stdout.startswith("2024-03: draft run ")
    assert "298 lines" in r.stdout  # 171 + 127 bulk placements (see above)
    many = ok(loaded, "run", "--from", "2024-01", "--to", "2024-03", "-q").stdout.splitlines()
    assert [line[:7] for line in many] == ["2024-01", "2024-02", "2024-03"]


def test_run_json_and_the_net_that_does_not_sum_to_zero(loaded):
    doc = json.loads(ok(loaded, "run", "--from", "2024-02", "--to", "2024-03", "--format", "json").stdout)
    assert doc["format"] == "settlement-run/1" and [m["month"] for m in doc["months"]] == ["2024-02", "2024-03"]
    march = doc["months"][1]
    assert sorted(march) == ["final_run", "kind", "lines", "month", "municipalities", "removed", "run", "total",
                             "warnings"]
    assert (march["kind"], march["lines"], march["final_run"], march["warnings"]) == ("draft", 298, None, [])
    export = json.loads(ok(loaded, "export", "--month", "2024-03").stdout)
    assert march["run"] == export["run"]["id"]
    assert cents(march["total"]) == sum(cents(l["amount"]) for l in export["lines"])
    assert len(march["municipalities"]) == 31
    for code, m in march["municipalities"].items():
        assert m["payable"] == export["totals"][code]["payable"]
        assert m["receivable"] == export["totals"][code]["receivable"]
        assert cents(m["net"]) == cents(m["receivable"]) - cents(m["payable"])
    # net sums to minus what municipalities owe themselves: lines with payer = creditor and pool
    # shares of a pool's own creditor are payable, yet on no invoice
    own = (sum(cents(l["amount"]) for l in export["lines"] if l["payer"] == l["creditor"])
           + sum(cents(v) for p in export["pools"] for c, v in p["shares"].items() if c == p["creditor"]))
    assert own > 0
    assert sum(cents(m["net"]) for m in march["municipalities"].values()) == -own
    # the same figures, in the same order, a second time
    again = json.loads(ok(loaded, "run", "--from", "2024-02", "--to", "2024-03", "--format", "json").stdout)
    assert [(m["month"], m["total"], m["municipalities"]) for m in again["months"]] == \
           [(m["month"], m["total"], m["municipalities"]) for m in doc["months"]]


def test_run_warnings_go_to_stderr_and_into_json(loaded):
    env = {"SETTLEMENT_NOW": "2024-03-15"}  # March 2024 has not ended then
    r = ok(loaded, "run", "--month", "2024-03", "--quiet", env=env)
    assert r.stderr.startswith("warning: 2024-03 has not ended yet") and "warning:" not in r.stdout
    doc = json.loads(ok(loaded, "run", "--month", "2024-03", "--format", "json", env=env).stdout)
    (warning,) = doc["months"][0]["warnings"]
    assert warning.startswith("2024-03 has not ended yet")
    assert ok(loaded, "run", "--month", "2024-02", env=env).stderr == ""

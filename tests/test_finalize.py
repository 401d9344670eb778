"""Finalisation, correction runs and invoice numbers, through the command line, on SQLite and
PostgreSQL, with the bundled demo data (copied and edited where a test needs changed input)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from settlement import db, migrate, store
from settlement.cli import main
from settlement.demo.run import DATA
from settlement.engine import Engine
from settlement.export import build as build_export
from settlement.export import digest, dumps
from settlement.periods import Month

MONTH = "2024-03"
ROOT = Path(__file__).resolve().parent.parent


def settle(db_url: str, *args: str):
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)


def ok(db_url: str, *args: str) -> str:
    r = settle(db_url, *args)
    assert r.exit_code == 0, r.output
    return r.output


def cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


def rows(db_url: str, model, order=None) -> list[dict]:
    engine = create_engine(db_url)
    t = model.__table__
    with engine.connect() as conn:
        out = [dict(r._mapping) for r in conn.execute(select(t).order_by(*(order or t.primary_key.columns)))]
    engine.dispose()
    return out


def counts(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        out = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in db.metadata.sorted_tables}
    engine.dispose()
    return out


def copy_data(tmp_path: Path, name: str = "data") -> Path:
    target = tmp_path / name
    shutil.copytree(DATA, target)
    return target


def edit_csv(path: Path, match: dict[str, str], **changes: str) -> None:
    """Change the cells of the one row of a CSV file whose columns equal `match`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    hits = 0
    for i, text in enumerate(lines[1:], 1):
        cells = text.split(",")
        if all(cells[header.index(k)] == v for k, v in match.items()):
            for k, v in changes.items():
                cells[header.index(k)] = v
            lines[i] = ",".join(cells)
            hits += 1
    assert hits == 1, (path.name, match, hits)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def add_declaration(data: Path, placement: str, month: str, amount: str) -> None:
    with (data / "declarations.csv").open("a", encoding="utf-8") as f:
        f.write(f"{placement},{month},{amount}\n")


def tariff(product: str, region: str, day: dt.date) -> int:
    """The price in cents per unit from the bundled tariffs.csv, read by hand."""
    lines = (DATA / "tariffs.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    for text in lines[1:]:
        r = dict(zip(header, text.split(","), strict=True))
        if (r["product"], r["region"]) == (product, region) and r["valid_from"] <= day.isoformat() <= (r["valid_to"] or "9999"):
            return cents(r["price"] if "." in r["price"] else r["price"] + ".00")
    raise AssertionError("no tariff")


def export(db_url: str, month: str = MONTH) -> dict:
    return json.loads(ok(db_url, "export", "--month", month))


def runs_of(db_url: str, month: str = MONTH) -> list[dict]:
    return [r for r in rows(db_url, db.Run) if r["month"] == month]


def invoices(db_url: str) -> list[dict]:
    return rows(db_url, db.Invoice, order=[db.Invoice.__table__.c.id])


def assert_gapless(db_url: str) -> None:
    """Per (creditor, year): seq 1..N without a gap or a repeat, the number spelled from it, and
    the counter at N."""
    seqs: dict[tuple[str, int], list[int]] = defaultdict(list)
    for inv in invoices(db_url):
        seqs[(inv["creditor"], inv["year"])].append(inv["seq"])
        assert inv["number"] == f"{inv['creditor']}-{inv['year']}-{inv['seq']:05d}"
        assert inv["year"] == int(inv["month"][:4])
    for key, values in seqs.items():
        assert sorted(values) == list(range(1, len(values) + 1)), key
    counters = {(c["creditor"], c["year"]): c["last"] for c in rows(db_url, db.InvoiceCounter)}
    assert counters == {k: len(v) for k, v in seqs.items()}


@pytest.fixture
def loaded(db_url):
    ok(db_url, "init")
    ok(db_url, "load", str(DATA))
    return db_url


@pytest.fixture
def final(loaded):
    ok(loaded, "run", "--month", MONTH)
    ok(loaded, "finalize", "--month", MONTH)
    return loaded


def load_changed(db_url: str, data: Path) -> None:
    out = ok(db_url, "load", str(data))
    assert "loaded as snapshot" in out or "made current again" in out


# -- finalize -----------------------------------------------------------------------------------

def test_finalize_makes_the_run_final_and_numbers_invoices(loaded):
    ok(loaded, "run", "--month", MONTH)
    draft = export(loaded)
    (run,) = runs_of(loaded)
    assert run["kind"] == "draft" and run["finalized_at"] is None
    out = ok(loaded, "finalize", "--month", MONTH)
    assert f"{MONTH}: run {run['id']} is final" in out and "0193-2024-00001" in out
    (run,) = runs_of(loaded)
    assert run["kind"] == "final" and run["finalized_at"] is not None and run["parent"] is None
    day = run["finalized_at"].astimezone(dt.timezone.utc).date()
    got = invoices(loaded)
    # RULES.md §8: one invoice per (creditor, debtor != creditor), numbered per creditor in debtor order
    assert [(i["creditor"], i["debtor"], i["amount"]) for i in got] == \
           [(i["creditor"], i["debtor"], cents(i["amount"])) for i in draft["invoices"]]
    assert all(i["kind"] == "invoice" and i["corrects"] is None and i["run_id"] == run["id"] for i in got)
    assert all(i["issue_date"] == day and i["month"] == MONTH for i in got)
    zwolle = [i["number"] for i in got if i["creditor"] == "0193"]
    assert zwolle == [f"0193-2024-{n:05d}" for n in range(1, len(zwolle) + 1)] and len(zwolle) > 1
    assert_gapless(loaded)
    # the export of a final month is the final run: the draft's amounts, now of kind final and with
    # the invoice numbers (settlement-export/2)
    doc = export(loaded)
    assert doc["run"] == {"id": run["id"], "kind": "final", "corrects": None, "final": True}
    assert [(i["number"], i["kind"]) for i in doc["invoices"]] == [(i["number"], "invoice") for i in got]
    assert {**doc, "run": draft["run"], "invoices": draft["invoices"]} == draft


def test_finalize_without_a_draft(loaded):
    r = settle(loaded, "finalize", "--month", MONTH)
    assert r.exit_code == 1
    assert r.output.startswith("error: ") and "settle run --month 2024-03" in r.output
    assert "Traceback" not in r.output and r.output.count("\n") == 1


def test_finalize_twice_is_refused(final):
    before = counts(final)
    r = settle(final, "finalize", "--month", MONTH)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "2024-03 is already final" in r.output and r.output.count("\n") == 1
    assert counts(final) == before


def test_run_after_finalize_with_unchanged_data(final):
    before_rows = rows(final, db.Run)
    before = counts(final)
    out = ok(final, "run", "--month", MONTH)
    assert "no correction, nothing stored" in out
    assert counts(final) == before and rows(final, db.Run) == before_rows


# -- corrections ----------------------------------------------------------------------------------

def test_changed_declaration_gives_a_correction_and_a_credit_note(final, tmp_path):
    """P00013 (C0013, BW-INTRA in IJssel-Vecht, woonplaats Dalfsen 0148, creditor Zwolle 0193) ran
    all of March 2024 at the tariff: 31 days x EUR 139.85 = EUR 4335.35. A declaration of EUR 4000.00
    replaces it: the correction is 4000.00 - 4335.35 = -335.35, a credit note from Zwolle to Dalfsen."""
    old = 31 * tariff("BW-INTRA", "ijssel-vecht", dt.date(2024, 3, 1))
    assert old == 433535
    final_export = export(final)
    (p13,) = [l for l in final_export["lines"] if l["placement"] == "P00013"]
    assert cents(p13["amount"]) == old and p13["payer"] == "0148" and p13["creditor"] == "0193"
    (final_run,) = runs_of(final)
    original = next(i for i in invoices(final) if (i["creditor"], i["debtor"]) == ("0193", "0148"))

    data = copy_data(tmp_path)
    add_declaration(data, "P00013", MONTH, "4000.00")
    load_changed(final, data)
    out = ok(final, "run", "--month", MONTH)
    assert "draft correction run" in out and "1 correction lines" in out

    doc = export(final)
    assert list(doc) == list(final_export)  # the same format, nothing added
    (line,) = doc["lines"]
    assert (line["placement"], line["payer"], line["basis"], line["creditor"]) == ("P00013", "0148", "woonplaats", "0193")
    assert cents(line["amount"]) == 400000 - old == -33535 and line["days"] == 0
    assert doc["pools"] == []
    assert doc["invoices"] == [{"creditor": "0193", "debtor": "0148", "amount": "-335.35", "number": None,
                                "kind": None, "corrects": None}]
    assert doc["totals"]["0148"] == {"payable": "-335.35", "receivable": "0.00"}

    runs = runs_of(final)
    corr = runs[-1]
    assert (corr["kind"], corr["parent"], corr["finalized_at"]) == ("correction", final_run["id"], None)
    trace = json.loads(settle(final, "explain", "--month", MONTH, "--client", "C0013", "--format", "json").output)["traces"][0]
    block = trace["correction"]
    assert block["earlier"] == [{"run": final_run["id"], "kind": "final", "finalized_at": block["earlier"][0]["finalized_at"],
                                 "days": 31, "amount": "4335.35"}]
    assert (block["earlier_amount"], block["new_amount"], block["amount"]) == ("4335.35", "4000.00", "-335.35")
    assert block["final_run"] == final_run["id"]
    assert any(s["rule"] == "amount" for s in trace["steps"])  # the new trace is kept

    out = ok(final, "finalize", "--month", MONTH)
    assert f"correction run {corr['id']} (of final run {final_run['id']}) is final" in out
    (note,) = [i for i in invoices(final) if i["run_id"] == corr["id"]]
    assert note["kind"] == "credit_note" and note["amount"] == -33535
    assert note["corrects"] == original["number"] == "0193-2024-00001"
    assert note["number"] == f"0193-2024-{len([i for i in invoices(final) if i['creditor'] == '0193']):05d}"
    assert_gapless(final)
    # the export gives the latest run: the (now final) correction, with its credit note's number
    after = export(final)
    assert after["run"] == {**doc["run"], "final": True}
    assert after["invoices"] == [{**doc["invoices"][0], "number": note["number"], "kind": "credit_note",
                                  "corrects": "0193-2024-00001"}]
    assert {**after, "run": doc["run"], "invoices": doc["invoices"]} == doc


def test_raised_declaration_gives_an_additional_invoice(final, tmp_path):
    original = next(i for i in invoices(final) if (i["creditor"], i["debtor"]) == ("0193", "0148"))
    data = copy_data(tmp_path)
    add_declaration(data, "P00013", MONTH, "4500.00")
    load_changed(final, data)
    ok(final, "run", "--month", MONTH)
    ok(final, "finalize", "--month", MONTH)
    extra = invoices(final)[-1]
    assert (extra["kind"], extra["amount"], extra["corrects"]) == ("invoice", 450000 - 433535, original["number"])


def test_draft_correction_is_replaced_and_the_baseline_includes_finalised_corrections(final, tmp_path):
    first = copy_data(tmp_path, "first")
    add_declaration(first, "P00013", MONTH, "4000.00")
    second = copy_data(tmp_path, "second")
    add_declaration(second, "P00013", MONTH, "4100.00")

    load_changed(final, first)
    ok(final, "run", "--month", MONTH)
    draft_id = runs_of(final)[-1]["id"]
    load_changed(final, second)
    out = ok(final, "run", "--month", MONTH)
    assert f"draft run {draft_id} removed" in out
    runs = runs_of(final)
    assert [(r["kind"], r["finalized_at"] is None) for r in runs] == [("final", False), ("correction", True)]
    assert [l["amount"] for l in export(final)["lines"]] == ["-235.35"]
    ok(final, "finalize", "--month", MONTH)

    # the same data again: final run + finalised correction already give these amounts
    assert "no correction" in ok(final, "run", "--month", MONTH)
    # back to the original data: the correction of the correction, against both finalised runs
    load_changed(final, DATA)
    ok(final, "run", "--month", MONTH)
    doc = export(final)
    (line,) = doc["lines"]
    assert line["amount"] == "235.35"
    trace = json.loads(settle(final, "explain", "--month", MONTH, "--client", "C0013", "--format", "json").output)["traces"][0]
    assert [e["kind"] for e in trace["correction"]["earlier"]] == ["final", "correction"]
    assert trace["correction"]["earlier_amount"] == "4100.00"
    ok(final, "finalize", "--month", MONTH)
    last = invoices(final)[-1]
    assert (last["kind"], last["amount"], last["corrects"]) == ("invoice", 23535, "0193-2024-00001")
    assert_gapless(final)


def test_stale_draft_correction_is_removed_when_the_data_return(final, tmp_path):
    data = copy_data(tmp_path)
    add_declaration(data, "P00013", MONTH, "4000.00")
    load_changed(final, data)
    ok(final, "run", "--month", MONTH)
    draft_id = runs_of(final)[-1]["id"]
    load_changed(final, DATA)
    out = ok(final, "run", "--month", MONTH)
    assert "no correction, nothing stored" in out and f"draft run {draft_id} removed" in out
    assert [r["kind"] for r in runs_of(final)] == ["final"]
    assert settle(final, "finalize", "--month", MONTH).exit_code == 1


def test_changed_brp_moves_the_payer(final, tmp_path):
    """C0013 lived in Dalfsen (0148) before P00013 started; if the BRP says Hardenberg (0160), the
    final line of Dalfsen is reversed and Hardenberg pays the same amount."""
    data = copy_data(tmp_path)
    edit_csv(data / "brp.csv", {"client": "C0013", "kind": "woonadres"}, municipality="0160")
    load_changed(final, data)
    ok(final, "run", "--month", MONTH)
    lines = [l for l in export(final)["lines"] if l["placement"] == "P00013"]
    assert [(l["payer"], l["basis"], l["amount"], l["days"]) for l in lines] == \
           [("0148", "woonplaats", "-4335.35", -31), ("0160", "woonplaats", "4335.35", 31)]
    trace = json.loads(settle(final, "explain", "--month", MONTH, "--client", "C0013", "--format", "json").output)["traces"]
    assert "no longer arise" in trace[0]["correction"]["reason"] and trace[0]["steps"]
    assert trace[1]["correction"]["earlier"] == [] and trace[1]["correction"]["earlier_amount"] == "0.00"
    before = {(i["creditor"], i["debtor"]): i["number"] for i in invoices(final)}
    ok(final, "finalize", "--month", MONTH)
    new = [i for i in invoices(final) if i["number"] not in before.values()]
    by_debtor = {i["debtor"]: i for i in new}
    assert by_debtor["0148"]["kind"] == "credit_note" and by_debtor["0148"]["amount"] == -433535
    assert by_debtor["0148"]["corrects"] == before[("0193", "0148")]
    assert by_debtor["0160"]["kind"] == "invoice" and by_debtor["0160"]["amount"] == 433535
    assert by_debtor["0160"]["corrects"] == before[("0193", "0160")]


def test_changed_tariff_corrects_pool_shares(final, tmp_path):
    """BW-INTRA in IJssel-Vecht from EUR 139.85 to EUR 140.00 a day: P00013 (31 days) +EUR 4.65;
    the historic pooled lines change too, so the pool's total and shares get corrections."""
    data = copy_data(tmp_path)
    edit_csv(data / "tariffs.csv", {"product": "BW-INTRA", "region": "ijssel-vecht", "valid_from": "2024-01-01"},
             price="140.00")
    before = export(final)
    load_changed(final, data)
    ok(final, "run", "--month", MONTH)
    doc = export(final)
    (p13,) = [l for l in doc["lines"] if l["placement"] == "P00013"]
    assert p13["amount"] == "4.65"
    pooled = [l for l in doc["lines"] if l["pool"] == "ijv-solidariteit-historisch"]
    assert pooled, "the demo has historic BW-INTRA clients in the IJssel-Vecht pool"
    # the tariff is IJssel-Vecht's: of the month's two pools only its pool changes (the Leidse Regio's
    # pool of new clients has no correction)
    assert [p["agreement"] for p in doc["pools"]] == ["ijv-solidariteit-historisch"]
    (pool,) = doc["pools"]
    (old_pool,) = [p for p in before["pools"] if p["agreement"] == "ijv-solidariteit-historisch"]
    assert cents(pool["total"]) == sum(cents(l["amount"]) for l in pooled)
    assert sum(cents(v) for v in pool["shares"].values()) == cents(pool["total"])
    # each share difference is what the recomputed month gives minus the final share
    engine_ = db.make_engine(final)
    with engine_.connect() as conn:
        ds, agreements = store.read_dataset(conn, store.current_snapshot(conn))
    engine_.dispose()
    (new_pool,) = [p for p in Engine(ds, agreements).settle(Month.parse(MONTH)).pools
                   if p.agreement == "ijv-solidariteit-historisch"]
    for code, share in pool["shares"].items():
        assert cents(share) == new_pool.shares[code] - cents(old_pool["shares"][code]), code
    # conservation holds for the differences too
    assert sum(cents(l["amount"]) for l in doc["lines"]) == sum(cents(t["payable"]) for t in doc["totals"].values())
    ok(final, "finalize", "--month", MONTH)
    assert_gapless(final)


# -- immutability -----------------------------------------------------------------------------

def test_a_new_load_does_not_change_the_final_run(final, tmp_path):
    from settlement.documents.build import build_month

    (run,) = runs_of(final)
    def state():
        lines = [l for l in rows(final, db.LineRow) if l["run_id"] == run["id"]]
        shares = [s for s in rows(final, db.PoolShareRow) if s["run_id"] == run["id"]]
        engine_ = db.make_engine(final)
        with engine_.connect() as conn:
            docs = build_month(conn, MONTH)
        engine_.dispose()
        return lines, shares, invoices(final), [r for r in runs_of(final) if r["id"] == run["id"]], docs

    before = state()
    data = copy_data(tmp_path)
    add_declaration(data, "P00013", MONTH, "4000.00")
    edit_csv(data / "tariffs.csv", {"product": "BW-INTRA", "region": "groningen", "valid_from": "2024-01-01"},
             price="150.00")
    edit_csv(data / "municipalities.csv", {"code": "0148"}, street="Nieuwe Straat 1")
    load_changed(final, data)
    ok(final, "run", "--month", MONTH)  # a draft correction: the documents are those of the final run
    assert state() == before
    ok(final, "finalize", "--month", MONTH)
    lines, shares, invs, run_rows, (_, documents) = state()
    assert (lines, shares, run_rows) == before[:2] + (before[3],)
    assert invs[:len(before[2])] == before[2]
    # every invoice document of the final run is identical (its own snapshot's addresses)
    assert [d for d in documents if d.number in {i["number"] for i in before[2]}] == before[4][1]


# -- numbering ------------------------------------------------------------------------------------

def test_gapless_numbering_across_months_years_and_a_correction(loaded, tmp_path):
    for month in ("2024-03", "2024-04", "2023-12"):
        ok(loaded, "run", "--month", month)
        ok(loaded, "finalize", "--month", month)
    by_month = defaultdict(list)
    for i in invoices(loaded):
        by_month[i["month"]].append(i)
    assert by_month["2024-04"][0]["number"].startswith("0014-2024-")
    z = [i["seq"] for m in ("2024-03", "2024-04") for i in by_month[m] if i["creditor"] == "0193"]
    assert z == list(range(1, len(z) + 1))  # April continues where March stopped
    assert next(i["seq"] for i in by_month["2023-12"] if i["creditor"] == "0193") == 1  # a new year
    data = copy_data(tmp_path)
    add_declaration(data, "P00013", "2024-03", "4000.00")
    load_changed(loaded, data)
    ok(loaded, "run", "--month", "2024-03")
    ok(loaded, "finalize", "--month", "2024-03")
    note = invoices(loaded)[-1]
    assert note["number"] == f"0193-2024-{len(z) + 1:05d}" and note["kind"] == "credit_note"
    assert_gapless(loaded)


def _finalize_process(url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "cli.py", "--db", url, "finalize", "--month", MONTH], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_two_processes_finalise_the_same_month_at_once(loaded):
    """Both processes are started while the month is locked by the test, so they really meet at
    the lock: exactly one finalises, the other refuses with a sentence; numbers stay gapless."""
    ok(loaded, "run", "--month", MONTH)
    if loaded.startswith("postgresql"):
        import psycopg
        plain = loaded.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s, %s)", (store.LOCK_CLASS, 202403))
            procs = [_finalize_process(loaded) for _ in range(2)]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                waiting = holder.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                                         "AND objid = %s", (202403,)).fetchone()[0]
                if waiting == 2 or any(p.poll() is not None for p in procs):
                    break
                time.sleep(0.05)
            assert waiting == 2, "both processes should be waiting for the month's lock"
            holder.execute("SELECT pg_advisory_unlock(%s, %s)", (store.LOCK_CLASS, 202403))
    else:
        holder = sqlite3.connect(loaded.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock: both processes wait for it (busy timeout 5 s)
        procs = [_finalize_process(loaded) for _ in range(2)]
        time.sleep(1.0)
        holder.execute("ROLLBACK")
        holder.close()
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    assert sorted(code for code, _, _ in results) == [0, 1], results
    (loser,) = [err for code, _, err in results if code == 1]
    assert "2024-03 is already final" in loser and "Traceback" not in loser and loser.count("\n") == 1
    assert [r["kind"] for r in runs_of(loaded)] == ["final"]
    numbers = [i["number"] for i in invoices(loaded)]
    assert len(numbers) == len(set(numbers)) and numbers
    assert_gapless(loaded)


def test_two_months_finalised_at_once_share_the_counters(db_url):
    """Finalising 2024-03 and 2024-04 at once: both need Zwolle's 2024 counter. On PostgreSQL the
    test holds that counter row (SELECT ... FOR UPDATE) until both processes wait; on SQLite it
    holds the write lock for a second. Numbers stay gapless, none is given twice."""
    ok(db_url, "init")
    ok(db_url, "load", str(DATA))
    for month in ("2024-02", "2024-03", "2024-04"):
        ok(db_url, "run", "--month", month)
    ok(db_url, "finalize", "--month", "2024-02")  # the counters of 2024 exist now

    def start() -> list[subprocess.Popen]:
        return [subprocess.Popen([sys.executable, "cli.py", "--db", db_url, "finalize", "--month", m], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)}) for m in ("2024-03", "2024-04")]

    if db_url.startswith("postgresql"):
        import psycopg
        plain = db_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain) as holder, psycopg.connect(plain, autocommit=True) as watcher:
            holder.execute("SELECT last FROM invoice_counter WHERE creditor = '0193' AND year = 2024 FOR UPDATE")
            procs = start()
            deadline, waiting = time.monotonic() + 60, 0
            while time.monotonic() < deadline and not any(p.poll() is not None for p in procs):
                waiting = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                          "AND wait_event_type = 'Lock'").fetchone()[0]
                if waiting == 2:
                    break
                time.sleep(0.05)
            assert waiting == 2, "both processes should be waiting for a lock"
            holder.rollback()
    else:
        holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        procs = start()
        time.sleep(1.0)
        holder.execute("ROLLBACK")
        holder.close()
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results
    assert [r["kind"] for m in ("2024-03", "2024-04") for r in runs_of(db_url, m)] == ["final", "final"]
    assert_gapless(db_url)


# -- schema ------------------------------------------------------------------------------------------

def test_migrations_match_the_models(loaded):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    engine_ = db.make_engine(loaded)
    with engine_.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
    engine_.dispose()


def test_init_upgrades_a_0001_database_with_data(db_url, tmp_path):
    """A database made by the previous version (schema 0001, data loaded, a draft run written with
    0001's columns) is upgraded by `settle init`; the draft keeps its lines and can be finalised.
    The demo data as 0001 could store them (tests.legacy.data_before_budget_pools)."""
    import sqlalchemy as sa
    from alembic import command

    from tests.legacy import data_before_budget_pools, load_as_before_0004

    data = data_before_budget_pools(DATA, tmp_path)

    engine_ = db.make_engine(db_url)
    cfg = migrate.alembic_config(engine_)
    with engine_.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    snapshot, ds, agreements = load_as_before_0004(engine_, data)  # as 0001's load wrote it (plain BSNs)
    old = sa.MetaData()
    old.reflect(engine_)  # the tables as 0001 made them
    assert "finalized_at" not in old.tables["run"].c and "invoice" not in old.tables
    result = Engine(ds, agreements).settle(Month.parse(MONTH))
    text = dumps(build_export(MONTH, "0.1.0", snapshot.input_hash, result.lines, result.pools, sorted(ds.municipalities)))
    with engine_.begin() as conn:  # what 0001's save_run wrote
        run_id = conn.execute(old.tables["run"].insert().values(
            snapshot_id=snapshot.id, month=MONTH, kind="draft", engine_version="0.1.0", rules_version="1",
            input_hash=snapshot.input_hash, agreements_hash=snapshot.agreements_hash, export_hash=digest(text),
            calculated_at=dt.datetime.now(dt.timezone.utc))).inserted_primary_key[0]
        conn.execute(old.tables["line"].insert(), [
            {"run_id": run_id, "seq": i, "placement": l.placement, "client": l.client, "product": l.product,
             "region": l.region, "days": l.days, "amount": l.amount, "status": l.status, "basis": l.basis,
             "payer": l.payer, "pool": l.pool, "creditor": l.creditor, "flags": ",".join(l.flags),
             "trace": json.dumps(l.trace)} for i, l in enumerate(result.lines)])
        conn.execute(old.tables["pool_share"].insert(), [
            {"run_id": run_id, "agreement": p.agreement, "municipality": c, "creditor": p.creditor,
             "total": p.total, "weight": str(dict(p.weights)[c]), "share": v}
            for p in result.pools for c, v in p.shares.items()])
    engine_.dispose()

    r = settle(db_url, "run", "--month", MONTH)
    assert r.exit_code == 1 and "settle init" in r.output  # the old schema is refused, not misused
    out = ok(db_url, "init")
    assert "schema is current" in out
    engine_ = db.make_engine(db_url)
    assert migrate.is_current(engine_)
    engine_.dispose()
    (run,) = runs_of(db_url)
    assert (run["id"], run["kind"], run["finalized_at"], run["parent"]) == (run_id, "draft", None, None)
    assert ok(db_url, "export", "--month", MONTH) == text
    assert len([l for l in rows(db_url, db.LineRow) if l["run_id"] == run_id]) == len(result.lines)
    ok(db_url, "finalize", "--month", MONTH)
    assert [r["kind"] for r in runs_of(db_url)] == ["final"]
    assert invoices(db_url)[0]["number"].endswith("-2024-00001")
    assert_gapless(db_url)
    assert "no correction" in ok(db_url, "run", "--month", MONTH)

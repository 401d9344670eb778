"""`settlement-export/2` (INTERFACE.md §3): the export names its run and says whether it is a
draft, final or a correction (whose amounts are differences), gives each invoice its number and
kind once final, and each pool its costs and budget part; its hash is the one the run's receipt
holds, and `settle verify` rebuilds it (or, for a run stored before format 2, format 1).

The figures are those of the bundled demo data in March 2024 (tests/test_finalize.py works
them out): P00013 (C0013, BW-INTRA in IJssel-Vecht, woonplaats Dalfsen 0148, creditor Zwolle
0193) runs all 31 days at EUR 139.85 = EUR 4335.35; a declaration of EUR 4000.00 makes the
correction 4000.00 - 4335.35 = -335.35, a credit note from Zwolle to Dalfsen."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from fractions import Fraction
from types import SimpleNamespace

from click.testing import CliRunner
from sqlalchemy import text

from settlement import db, export, receipt, store
from settlement.agreements import PoolResult
from settlement.cli import main
from settlement.demo.run import DATA
from settlement.engine import Line
from settlement.periods import Month
from settlement.verify import verify_month

from tests.test_verify import sql

MONTH = "2024-03"
NUMBER = re.compile(r"^\d{4}-2024-\d{5}$")


def settle(db_url, *args, code=0):
    r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    return r.output




def runs(db_url):
    return sql(db_url, "SELECT id, kind, parent, finalized_at, export_hash, receipt FROM run "
                       "WHERE month = :m ORDER BY id", m=MONTH)


def stored_invoices(db_url, run_id=None):
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        out = [i for i in store.read_invoices(conn, MONTH) if run_id is None or i.run_id == run_id]
    engine.dispose()
    return out


def exported(db_url):
    """`settle export` of the month: (its text, the document)."""
    out = settle(db_url, "export", "--month", MONTH)
    return out, json.loads(out)


def loaded(db_url):
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))


def with_declaration(tmp_path, amount="4000.00"):
    data = tmp_path / "changed"
    shutil.copytree(DATA, data)
    with (data / "declarations.csv").open("a", encoding="utf-8") as f:
        f.write(f"P00013,{MONTH},{amount}\n")
    return data


def test_a_draft_export_names_its_draft_run_and_numbers_nothing(db_url):
    loaded(db_url)
    settle(db_url, "run", "--month", MONTH)
    (run_id, kind, parent, finalized_at, export_hash, receipt_text), = runs(db_url)
    out, doc = exported(db_url)
    assert doc["format"] == "settlement-export/2"
    assert list(doc) == ["format", "month", "engine_version", "input_hash", "run", "lines", "pools", "invoices",
                         "totals"]
    assert doc["run"] == {"id": run_id, "kind": "draft", "corrects": None, "final": False}
    assert doc["invoices"] and all(list(i) == ["creditor", "debtor", "amount", "number", "kind", "corrects"]
                                   and (i["number"], i["kind"], i["corrects"]) == (None, None, None)
                                   for i in doc["invoices"])
    # the hash recorded at run time is that of this text (it names the run's id), receipt included
    assert export.digest(out) == export_hash == json.loads(receipt_text)["export_hash"]
    assert settle(db_url, "export", "--month", MONTH) == out  # the same bytes again


def test_a_final_export_carries_the_invoice_numbers_its_receipt_holds(db_url):
    loaded(db_url)
    settle(db_url, "run", "--month", MONTH)
    draft_text, draft = exported(db_url)
    settle(db_url, "finalize", "--month", MONTH)
    (run_id, kind, parent, finalized_at, export_hash, receipt_text), = runs(db_url)
    out, doc = exported(db_url)
    assert doc["run"] == {"id": run_id, "kind": "final", "corrects": None, "final": True}
    numbered = stored_invoices(db_url)
    assert [(i["creditor"], i["debtor"], i["amount"], i["number"], i["kind"], i["corrects"]) for i in doc["invoices"]] \
        == [(i.creditor, i.debtor, f"{i.amount // 100}.{i.amount % 100:02d}", i.number, "invoice", None)
            for i in numbered]
    assert all(NUMBER.match(i["number"]) for i in doc["invoices"])
    zwolle = [i["number"] for i in doc["invoices"] if i["creditor"] == "0193"]
    assert zwolle[0] == "0193-2024-00001" and zwolle == [f"0193-2024-{n:05d}" for n in range(1, len(zwolle) + 1)]
    # the amounts are the draft's; the hash is now that of the final export, and the receipt holds it
    assert {**doc, "run": draft["run"], "invoices": draft["invoices"]} == draft
    assert export.digest(out) == export_hash == json.loads(receipt_text)["export_hash"] != export.digest(draft_text)
    verified = settle(db_url, "verify", "--month", MONTH)
    assert f"export {export_hash} (settlement-export/2)" in verified and f"{MONTH} verifies" in verified


def test_a_correction_export_says_it_holds_differences(db_url, tmp_path):
    loaded(db_url)
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    (final_id, *_), = runs(db_url)
    original = next(i.number for i in stored_invoices(db_url) if (i.creditor, i.debtor) == ("0193", "0148"))
    assert original == "0193-2024-00001"
    settle(db_url, "load", str(with_declaration(tmp_path)))
    settle(db_url, "run", "--month", MONTH)
    (_, (corr_id, kind, parent, finalized_at, export_hash, _)) = runs(db_url)
    assert (kind, parent, finalized_at) == ("correction", final_id, None)

    out, doc = exported(db_url)
    assert doc["run"] == {"id": corr_id, "kind": "correction", "corrects": final_id, "final": False}
    (line,) = doc["lines"]
    assert (line["placement"], line["payer"], line["creditor"], line["days"], line["amount"]) == \
           ("P00013", "0148", "0193", 0, "-335.35")
    assert doc["invoices"] == [{"creditor": "0193", "debtor": "0148", "amount": "-335.35", "number": None,
                                "kind": None, "corrects": None}]
    assert doc["totals"]["0148"] == {"payable": "-335.35", "receivable": "0.00"}
    assert doc["totals"]["0193"] == {"payable": "0.00", "receivable": "-335.35"}
    assert export.digest(out) == export_hash

    settle(db_url, "finalize", "--month", MONTH)
    (_, (_, _, _, _, export_hash, receipt_text)) = runs(db_url)
    (note,) = stored_invoices(db_url, corr_id)
    out, doc = exported(db_url)
    assert doc["run"] == {"id": corr_id, "kind": "correction", "corrects": final_id, "final": True}
    assert doc["invoices"] == [{"creditor": "0193", "debtor": "0148", "amount": "-335.35", "number": note.number,
                                "kind": "credit_note", "corrects": "0193-2024-00001"}]
    zwolle_final = [i for i in stored_invoices(db_url) if i.creditor == "0193" and i.run_id == final_id]
    assert note.number == f"0193-2024-{len(zwolle_final) + 1:05d}"  # the next number of Zwolle's 2024
    assert export.digest(out) == export_hash == json.loads(receipt_text)["export_hash"]
    verified = settle(db_url, "verify", "--month", MONTH)
    assert f"correction run {corr_id}: export {export_hash} (settlement-export/2)" in verified
    assert f"{MONTH} verifies" in verified


def test_pools_carry_costs_and_budget(db_url):
    """The IJssel-Vecht budget pool (domain BW) of March 2024 pools 34 historic lines, all whole
    months: C = 19 x 4335.35 (BW-INTRA, 31 x 139.85) + 10 x 2428.85 (BW-NABIJ, 31 x 78.35) +
    5 x 1485.45 (BEGELEID) = 82371.65 + 24288.50 + 7427.25 = 114087.40. Zwolle's historic budget
    2024 is 1075510.00 (budgets.csv): 107551000 cents = 12 x 8962583 + 4, the 4 cents to January..April
    (RULES.md §5.3, ties to the earlier month), so B(M) = 89625.84 and T = C - B(M) = 24461.56."""
    loaded(db_url)
    settle(db_url, "run", "--month", MONTH)
    _, doc = exported(db_url)
    # the Leidse Regio's pool of new clients is the month's other pool (tests/test_demo.py)
    assert sorted(p["agreement"] for p in doc["pools"]) == ["ijv-solidariteit-historisch", "leidse-regio-1-gebied"]
    (pool,) = [p for p in doc["pools"] if p["agreement"] == "ijv-solidariteit-historisch"]
    assert list(pool) == ["agreement", "creditor", "costs", "budget", "total", "shares"]
    pooled = sorted(l["amount"] for l in doc["lines"] if l["pool"] == "ijv-solidariteit-historisch")
    assert pooled == sorted(["4335.35"] * 19 + ["2428.85"] * 10 + ["1485.45"] * 5)
    assert (pool["agreement"], pool["creditor"], pool["costs"], pool["budget"], pool["total"]) == \
           ("ijv-solidariteit-historisch", "0193", "114087.40", "89625.84", "24461.56")
    assert sum(int(v.replace(".", "")) for v in pool["shares"].values()) == 2446156


@dataclass(frozen=True)
class _BudgetPoolResult(PoolResult):
    """A pool result with a budget part B(M), as a budget pool (RULES.md §5.3) will give one."""
    budget: int = 0


def test_a_pool_result_with_a_budget_part_slots_in():
    """Costs C = 4876.55, the month's budget B(M) = 5000.00: total T = C - B(M) = -123.45 (a
    surplus), split over two equal weights as -61.73 and -61.72 (RULES.md §6, ties to the lower code)."""
    pool = _BudgetPoolResult("ijv-budget", "0193", -12345, (("0148", Fraction(1)), ("0193", Fraction(1))),
                             {"0148": -6173, "0193": -6172}, budget=500000)
    doc = export.build(MONTH, "x", "sha256:y", [], [pool], ["0148", "0193"], export.run_head(7, "draft", False, None))
    assert doc["pools"] == [{"agreement": "ijv-budget", "creditor": "0193", "costs": "4876.55", "budget": "5000.00",
                             "total": "-123.45", "shares": {"0148": "-61.73", "0193": "-61.72"}}]


def test_without_a_run_the_export_is_format_1_as_before():
    line = Line("P1", "C1", "BW-INTRA", "ijssel-vecht", 31, 310000, "new", "woonplaats", "0166", None, "0193", (), {})
    text = export.dumps(export.build(MONTH, "0.1.0", "sha256:x", [line], [], ["0166", "0193"]))
    assert text == (
        '{\n  "format": "settlement-export/1",\n  "month": "2024-03",\n  "engine_version": "0.1.0",\n'
        '  "input_hash": "sha256:x",\n  "lines": [\n    {\n      "placement": "P1",\n      "client": "C1",\n'
        '      "product": "BW-INTRA",\n      "region": "ijssel-vecht",\n      "days": 31,\n'
        '      "amount": "3100.00",\n      "status": "new",\n      "basis": "woonplaats",\n'
        '      "payer": "0166",\n      "pool": null,\n      "creditor": "0193",\n      "flags": []\n    }\n  ],\n'
        '  "pools": [],\n  "invoices": [\n    {\n      "creditor": "0193",\n      "debtor": "0166",\n'
        '      "amount": "3100.00"\n    }\n  ],\n  "totals": {\n    "0166": {\n      "payable": "3100.00",\n'
        '      "receivable": "0.00"\n    },\n    "0193": {\n      "payable": "0.00",\n'
        '      "receivable": "3100.00"\n    }\n  }\n}\n')


def test_verify_finds_an_altered_invoice_number(db_url):
    loaded(db_url)
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    settle(db_url, "verify", "--month", MONTH)
    # a number that no longer spells its creditor, year and sequence is named
    sql(db_url, "UPDATE invoice SET number = '0193-2024-00099' WHERE number = '0193-2024-00001'")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert ("invoice 0193-2024-00099 (0193 to 0148): its number does not spell its creditor, year and sequence "
            "(0193-2024-00001)") in out
    # altered with its sequence, it is the export (which carries the number) that no longer hashes
    sql(db_url, "UPDATE invoice SET seq = 99 WHERE number = '0193-2024-00099'")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert "the export rebuilt from the stored lines, pool shares, invoices (with their numbers) and run columns " \
           "does not hash to the recorded" in out


def test_export_refuses_rows_altered_after_the_run(db_url):
    """An export is only handed out when the stored rows still give the export the receipt records:
    a line altered in the database gives one sentence, exit 1, nothing on stdout."""
    loaded(db_url)
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    sql(db_url, "UPDATE line SET amount = amount + 1 WHERE seq = 0")
    r = CliRunner().invoke(main, ["--db", db_url, "export", "--month", MONTH], catch_exceptions=False)
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.startswith("error: the stored rows of run 1 of 2024-03 no longer give the export its receipt "
                               "records (sha256:") and "`settle verify --month 2024-03`" in r.stderr


def test_verify_finds_an_altered_invoice_amount(db_url):
    loaded(db_url)
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    (amount,), = sql(db_url, "SELECT amount FROM invoice WHERE number = '0193-2024-00001'")
    sql(db_url, "UPDATE invoice SET amount = amount + 100 WHERE number = '0193-2024-00001'")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    cents = lambda v: f"{v // 100}.{v % 100:02d}"
    assert (f"invoice 0193-2024-00001 (0193 to 0148): amount stored {cents(amount + 100)}, the stored lines and "
            f"pool shares give {cents(amount)}") in out


def test_a_final_run_stored_before_format_2_still_verifies_and_exports_as_it_was(db_url):
    """Before format 2 a run recorded the hash of its settlement-export/1, taken at run time, and
    finalisation kept it: such a run verifies against format 1, and `settle export` gives that text."""
    loaded(db_url)
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    engine = db.make_engine(db_url)
    with engine.begin() as conn:  # the run as the code before format 2 left it
        run = store.month_runs(conn, MONTH)[0]
        old = export.dumps(export.build(MONTH, run.engine_version, run.input_hash, store.read_lines(conn, run.id),
                                        store.read_pools(conn, run.id), store.municipality_codes(conn, run.snapshot_id)))
        values = {**run.model_dump(), "export_hash": export.digest(old)}
        the_receipt = receipt.build(SimpleNamespace(**values), run.lines_hash)
        conn.execute(text("UPDATE run SET export_hash = :e, receipt = :r, receipt_hash = :h WHERE id = :id"),
                     {"e": export.digest(old), "r": receipt.text(the_receipt), "h": receipt.digest(the_receipt),
                      "id": run.id})
    engine.dispose()
    assert json.loads(old)["format"] == "settlement-export/1"
    out = settle(db_url, "verify", "--month", MONTH)
    assert f"export {export.digest(old)} (settlement-export/1, written before format 2)" in out
    assert f"{MONTH} verifies" in out
    assert settle(db_url, "export", "--month", MONTH) == old


def test_verify_reports_its_progress(db_url, tmp_path):
    loaded(db_url)
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    settle(db_url, "load", str(with_declaration(tmp_path)))
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    calls = []
    engine = db.make_engine(db_url)
    report = verify_month(engine, Month.parse(MONTH), progress=lambda done, total: calls.append((done, total)))
    engine.dispose()
    assert report.ok, report.difference
    # reading, then four steps for each of the two runs (final and correction)
    assert calls == [(n, 9) for n in range(10)]


def test_the_demo_writes_each_months_final_export(tmp_path):
    from settlement.demo.run import run_demo
    run_demo(tmp_path / "demo", echo=lambda _: None, documents=[])
    doc = json.loads((tmp_path / "demo" / f"export-{MONTH}.json").read_text(encoding="utf-8"))
    assert doc["format"] == "settlement-export/2" and doc["run"]["kind"] == "final" and doc["run"]["final"]
    assert doc["invoices"] and all(NUMBER.match(i["number"]) and i["kind"] == "invoice" for i in doc["invoices"])

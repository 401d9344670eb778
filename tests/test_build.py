"""documents.build: statements and invoices of a finalised month, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from settlement import db
from settlement.cli import main
from settlement.demo.run import DATA
from settlement.documents.build import DESCRIPTIONS, build_month
from settlement.documents.model import Invoice, Statement
from settlement.service import UserError

MONTH = "2024-03"


def ok(db_url: str, *args: str) -> str:
    r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def build(db_url: str, month: str = MONTH) -> tuple[list[Statement], list[Invoice]]:
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            return build_month(conn, month)
    finally:
        engine.dispose()


@pytest.fixture
def final(db_url):
    ok(db_url, "init")
    ok(db_url, "load", str(DATA))
    ok(db_url, "run", "--month", MONTH)
    export = json.loads(ok(db_url, "export", "--month", MONTH))
    ok(db_url, "finalize", "--month", MONTH)
    return db_url, export


def test_a_month_without_a_final_run_has_no_documents(db_url):
    ok(db_url, "init")
    ok(db_url, "load", str(DATA))
    ok(db_url, "run", "--month", MONTH)
    with pytest.raises(UserError, match="settle finalize --month 2024-03"):
        build(db_url)


def test_one_statement_per_municipality_with_the_month_totals(final):
    db_url, export = final
    statements, invoices = build(db_url)
    codes = [r["code"] for r in read_csv("municipalities.csv")]
    assert [s.municipality.code for s in statements] == sorted(codes)
    by_code = {s.municipality.code: s for s in statements}
    for code, s in by_code.items():
        assert (s.month, s.period_from.isoformat(), s.period_to.isoformat()) == (MONTH, "2024-03-01", "2024-03-31")
        assert s.payable == cents(export["totals"][code]["payable"]), code
        assert s.receivable == cents(export["totals"][code]["receivable"]), code
        assert s.payable == sum(l.amount for l in s.lines) + sum(p.share for p in s.pool_shares)
        assert all(l.payer == code for l in s.lines) and all(l.creditor == code for l in s.creditor_lines)
        assert not any(l.correction for l in s.lines) and not any(p.correction for p in s.pool_shares)
        for pos in s.positions:
            mine = [i for i in invoices if code in (i.creditor.code, i.debtor.code) and pos.counterparty.code in
                    (i.creditor.code, i.debtor.code)]
            assert pos.receivable == sum(i.total for i in mine if i.creditor.code == code)
            assert pos.payable == sum(i.total for i in mine if i.debtor.code == code)
        assert [p.counterparty.code for p in s.positions] == sorted(p.counterparty.code for p in s.positions)
        assert s.input_hash == export["input_hash"] and s.engine_version == export["engine_version"]
    # conservation (RULES.md §8): all lines are borne by somebody
    assert sum(s.payable for s in statements) == sum(cents(l["amount"]) for l in export["lines"])
    assert sum(len(s.creditor_lines) for s in statements) == len(export["lines"])
    zwolle = by_code["0193"]
    assert zwolle.municipality.name == "Zwolle" and zwolle.municipality.iban.startswith("NL")


def test_bsn_only_where_the_municipality_pays_itself(final):
    db_url, _ = final
    statements, _ = build(db_url)
    bsn = {r["client"]: r["bsn"] for r in read_csv("clients.csv")}
    seen_pool_line = False
    for s in statements:
        for line in s.lines:
            assert line.payer == s.municipality.code and line.pool is None
            assert line.bsn == bsn[line.client]
        for line in s.creditor_lines:
            assert line.bsn is None
            seen_pool_line |= line.pool is not None
    assert seen_pool_line  # pooled lines appear only without a BSN


def test_cross_region_by_hand(final):
    """cross_region: the payer is no member of the care region on 2024-03-01 (region_members.csv)."""
    db_url, _ = final
    statements, _ = build(db_url)
    members = defaultdict(set)
    for r in read_csv("region_members.csv"):
        if r["valid_from"] <= "2024-03-01" <= (r["valid_to"] or "9999-12-31"):
            members[r["region"]].add(r["municipality"])
    lines = [l for s in statements for l in s.lines]
    assert any(l.cross_region for l in lines) and not all(l.cross_region for l in lines)
    for l in lines:
        assert l.cross_region == (l.payer not in members[l.region]), (l.placement, l.payer, l.region)
    assert not any(l.cross_region for s in statements for l in s.creditor_lines if l.pool is not None)
    p32 = next(l for l in lines if l.placement == "P00032")  # Coevorden pays for a placement in Groningen
    assert (p32.payer, p32.region, p32.cross_region) == ("0109", "groningen", True)
    assert p32.product_name == "Beschermd wonen intramuraal"


def test_pool_shares_with_weights(final):
    db_url, export = final
    statements, _ = build(db_url)
    (pool,) = export["pools"]
    weights = {"0148": 28900, "0160": 61500, "0166": 54800, "0175": 18100, "0180": 17700, "0193": 130000,
               "1708": 44600, "1896": 23000}  # agreements.toml
    for s in statements:
        shares = s.pool_shares
        if s.municipality.code not in weights:
            assert shares == ()
            continue
        (share,) = shares
        assert (share.agreement, share.region, share.creditor) == ("ijv-solidariteit-historisch", "ijssel-vecht", "0193")
        assert share.total == cents(pool["total"]) and share.share == cents(pool["shares"][s.municipality.code])
        assert share.weight == str(weights[s.municipality.code]) and share.weight_sum == str(sum(weights.values()))


def test_invoices_summarise_the_lines_per_basis(final):
    db_url, export = final
    statements, invoices = build(db_url)
    assert [i.number for i in invoices] == sorted(i.number for i in invoices)
    assert [(i.creditor.code, i.debtor.code, i.total) for i in sorted(invoices, key=lambda i: (i.creditor.code, i.debtor.code))] \
        == [(i["creditor"], i["debtor"], cents(i["amount"])) for i in export["invoices"]]
    document_date = statements[0].document_date
    assert all(s.document_date == document_date for s in statements)
    for inv in invoices:
        assert inv.kind == "invoice" and inv.corrects is None
        assert inv.issue_date == document_date and inv.due_date == inv.issue_date + timedelta(days=30)
        assert inv.reference == f"BW-MO {MONTH} {inv.debtor.code}" and inv.month == MONTH
        assert sum(l.amount for l in inv.lines) == inv.total
        mine = [l for l in export["lines"] if l["creditor"] == inv.creditor.code and l["payer"] == inv.debtor.code]
        expected = Counter(l["basis"] for l in mine)
        got = {l.basis: l.quantity for l in inv.lines if l.basis != "pool"}
        assert got == dict(expected)
        for l in inv.lines:
            if l.basis == "pool":
                assert l.description == "Aandeel solidariteitspool ijv-solidariteit-historisch" and l.quantity == 1
            else:
                assert l.description == DESCRIPTIONS[l.basis]
                assert l.amount == sum(cents(x["amount"]) for x in mine if x["basis"] == l.basis)
    first = next(i for i in invoices if i.number == "0193-2024-00001")
    assert first.debtor.code == "0148" and first.lines[0].description == "Nieuwe cliënten: woonplaatsbeginsel"


def test_documents_with_a_finalised_correction(final, tmp_path):
    db_url, _ = final
    before_statements, before_invoices = build(db_url)
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    with (data / "declarations.csv").open("a", encoding="utf-8") as f:
        f.write(f"P00013,{MONTH},4000.00\n")
    ok(db_url, "load", str(data))
    ok(db_url, "run", "--month", MONTH)
    assert build(db_url) == (before_statements, before_invoices)  # a draft correction changes nothing
    ok(db_url, "finalize", "--month", MONTH)
    statements, invoices = build(db_url)
    # the original invoices' documents never change
    assert [i for i in invoices if i.number in {b.number for b in before_invoices}] == before_invoices
    (note,) = [i for i in invoices if i.kind == "credit_note"]
    assert (note.corrects, note.total, note.debtor.code) == ("0193-2024-00001", -33535, "0148")
    assert [(l.basis, l.quantity, l.amount) for l in note.lines] == [("woonplaats", 1, -33535)]
    dalfsen = next(s for s in statements if s.municipality.code == "0148")
    old = next(s for s in before_statements if s.municipality.code == "0148")
    corrections = [l for l in dalfsen.lines if l.correction]
    assert [(l.placement, l.amount, l.days, l.bsn) for l in corrections] == [("P00013", -33535, 0, "999990743")]
    assert dalfsen.payable == old.payable - 33535
    (pos,) = [p for p in dalfsen.positions if p.counterparty.code == "0193"]
    (old_pos,) = [p for p in old.positions if p.counterparty.code == "0193"]
    assert pos.payable == old_pos.payable - 33535
    zwolle = next(s for s in statements if s.municipality.code == "0193")
    assert [l.amount for l in zwolle.creditor_lines if l.correction] == [-33535]
    assert all(l.bsn is None for l in zwolle.creditor_lines)
    assert sum(s.payable for s in statements) == sum(s.payable for s in before_statements) - 33535


def test_build_reads_each_table_once(final):
    db_url, export = final
    engine = db.make_engine(db_url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cur, stmt, *a: statements.append(stmt))
    with engine.connect() as conn:
        build_month(conn, MONTH)
    engine.dispose()
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "pg_" not in s]
    assert len(export["lines"]) > 100 and len(queries) <= 10, queries
    tables = Counter(re.search(r"\bFROM\s+\"?(\w+)", s).group(1) for s in queries)  # type: ignore[union-attr]
    assert max(tables.values()) == 1, tables

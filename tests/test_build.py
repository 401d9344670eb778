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

from settlement import db, nl
from settlement.cli import main
from settlement.demo.run import DATA
from settlement.documents.build import build_month
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
    # conservation (RULES.md §8, §5.3): all lines are borne by somebody or by a budget pool's B(M)
    # (the IJssel-Vecht budget pool: B(2024-03) = 89625.84, a twelfth of Zwolle's 1075510.00 plus a cent;
    # the Leidse Regio pool has no budget: 0.00)
    budgets = sum(cents(p["budget"]) for p in export["pools"])
    assert budgets == 8962584
    assert sum(s.payable for s in statements) + budgets == sum(cents(l["amount"]) for l in export["lines"])
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


# The demo's two pools (agreements.toml): (region, creditor, weights, name)
POOLS = {
    "ijv-solidariteit-historisch": ("ijssel-vecht", "0193", {
        "0148": 28900, "0160": 61500, "0166": 54800, "0175": 18100, "0180": 17700, "0193": 130000, "1708": 44600,
        "1896": 23000}, "Solidariteit historisch budget IJssel-Vecht"),
    "leidse-regio-1-gebied": ("leidse-regio", "0546", {
        "0546": 125000, "0547": 27800, "0579": 26000, "0626": 25800, "0638": 9300},
        "Solidariteit nieuwe cliënten Leidse Regio (1 gebied, 1 opgave, 1 aanpak)"),
}


def test_pool_shares_with_weights(final):
    """Both pools have lines in 2024-03 (the Leidse Regio's: C0025 and C0040, new BW clients): each
    member of a pool has one share of it, with the pool's total and its weight of the key; a
    municipality in neither pool has none. The two pools' members are apart (two regions)."""
    db_url, export = final
    statements, _ = build(db_url)
    pools = {p["agreement"]: p for p in export["pools"]}
    assert sorted(pools) == sorted(POOLS)
    for s in statements:
        code = s.municipality.code
        mine = [a for a, (_, _, weights, _) in sorted(POOLS.items()) if code in weights]
        assert [p.agreement for p in s.pool_shares] == mine, code
        for share in s.pool_shares:
            region, creditor, weights, name = POOLS[share.agreement]
            pool = pools[share.agreement]
            assert (share.region, share.creditor, share.name) == (region, creditor, name)
            assert share.total == cents(pool["total"]) and share.share == cents(pool["shares"][code])
            assert share.weight == str(weights[code]) and share.weight_sum == str(sum(weights.values()))


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
        # one invoice line per basis, and (v2) the basis's contested lines on a line of their own
        expected = Counter((l["basis"], "contested" in l["flags"]) for l in mine)
        got = {(l.basis, bool(l.disputes)): l.quantity for l in inv.lines if l.basis != "pool"}
        assert got == dict(expected)
        for l in inv.lines:
            if l.basis == "pool":
                # the name (INTERFACE.md v2) of the creditor's pool, not its id: Zwolle's IJssel-Vecht
                # pool or Leiden's Leidse Regio pool (agreements.toml)
                (name,) = [n for _, c, _, n in POOLS.values() if c == inv.creditor.code]
                assert l.description == f"Aandeel {name}" and l.quantity == 1
            else:
                assert l.description == nl.BASIS[l.basis].invoice
                assert l.amount == sum(cents(x["amount"]) for x in mine
                                       if (x["basis"], "contested" in x["flags"]) == (l.basis, bool(l.disputes)))
    # the creditor's statement shows each invoice again, row for row, with the days added
    by_code = {s.municipality.code: s for s in statements}
    for inv in invoices:
        rows = [r for r in by_code[inv.creditor.code].receivables if r.invoice == inv.number]
        assert [(r.debtor.code, r.basis, 1 if r.lines is None else r.lines, r.amount) for r in rows] == \
            [(inv.debtor.code, l.basis, l.quantity, l.amount) for l in inv.lines]
        mine = [l for l in export["lines"] if l["creditor"] == inv.creditor.code and l["payer"] == inv.debtor.code]
        for r in rows:
            if r.basis != "pool":
                assert r.days == sum(l["days"] for l in mine if l["basis"] == r.basis)
    for s in statements:
        assert sum(r.amount for r in s.receivables) == s.receivable
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
    # runs, lines, pools, invoices, the snapshots, and the five frame tables the agreements are
    # read against (municipalities, regions, members, products, budgets), the clients' BSNs, and
    # (v2) the disputes and rulings whose numbers mark contested lines: each once
    assert len(export["lines"]) > 100 and len(queries) <= 13, queries
    tables = Counter(re.search(r"\bFROM\s+\"?(\w+)", s).group(1) for s in queries)  # type: ignore[union-attr]
    assert max(tables.values()) == 1, tables


# --- a centrumgemeente's summary of what it receives, on a small dataset computed by hand --------
#
# March 2024 (31 days). Region noord: centrumgemeente Assen 0106, members 0106, 1680 Aa en Hunze,
# 1730 Tynaarlo; region zuid: centrumgemeente Emmen 0114, members 0114, 0109 Coevorden. Tariffs:
# BW-INTRA 100,00 a day, THUIS 1.550,00 a month, MO 50,00 a day. A pool of noord's historic BW
# clients with weights 0106: 2, 1680: 1, 1730: 1.
#
#   P1  C1  BW-INTRA noord from 2024-02-01, woonadres 1680   woonplaats  1680  31 days  3.100,00
#   P2  C2  BW-INTRA noord from 2024-03-11, woonadres 1680   woonplaats  1680  21 days  2.100,00
#   P3  C3  THUIS    noord from 2024-01-01, woonadres 1730   registration 1730 31 days  1.550,00
#   P4  C4  MO       noord 2024-03-01..10                    mo          0106  10 days    500,00
#   P5  C5  BW-INTRA noord from 2022-06-01 (historic)        pool              31 days  3.100,00
#                            shares: 0106 1.550,00, 1680 775,00, 1730 775,00
#   P6  C6  BW-INTRA noord from 2024-02-15, woonadres 0109   woonplaats  0109  31 days  3.100,00
#   P7  C7  BW-INTRA zuid  from 2024-03-01, woonadres 1680   woonplaats  1680  31 days  3.100,00 (to 0114)
#
# Assen (0106) receives: 0109 3.100,00 (0106-2024-00001); 1680 5.200,00 + 775,00 = 5.975,00
# (0106-2024-00002); 1730 1.550,00 + 775,00 = 2.325,00 (0106-2024-00003); in all 11.400,00.
# Its placements' lines: 6 lines, 155 days, 13.450,00 = own 500,00 (P4) + pool 3.100,00 (P5)
# + others 9.850,00 (P1, P2, P3, P6: 4 lines, 114 days); 9.850,00 + the others' pool shares
# 1.550,00 = 11.400,00. Emmen (0114) receives 3.100,00 from 1680 (0114-2024-00001).

SMALL = {
    "municipalities.csv": """code,name,iban,street,postcode,city,oin
0106,Assen,NL96BNGH0285010622,Noordersingel 33,9401 JW,Assen,00000001801063784000
0109,Coevorden,NL41BNGH0285010933,Kasteel 1,7741 GC,Coevorden,00000001001094178000
0114,Emmen,NL41BNGH0285011418,Raadhuisplein 1,7811 AP,Emmen,00000001001144820000
1680,Aa en Hunze,NL04BNGH0285168060,Raadhuisplein 1,9461 AA,Gieten,00000001016808411000
1730,Tynaarlo,NL20BNGH0285173010,Raadhuisplein 1,9481 AA,Vries,00000001017304908000
""",
    "regions.csv": """region,name,centrumgemeente,cutover
noord,Noord,0106,2023-01-01
zuid,Zuid,0114,2023-01-01
""",
    "region_members.csv": """region,municipality,valid_from,valid_to
noord,0106,2015-01-01,
noord,1680,2015-01-01,
noord,1730,2015-01-01,
zuid,0114,2015-01-01,
zuid,0109,2015-01-01,
""",
    "products.csv": """product,name,domain,bw_definition,unit,iwmo_category
BW-INTRA,Beschermd wonen intramuraal,BW,true,day,15
THUIS,Thuis Plus,WMO,false,month,18
MO,Nachtopvang,MO,false,day,16
""",
    "tariffs.csv": """product,region,valid_from,valid_to,price
BW-INTRA,noord,2015-01-01,,100.00
THUIS,noord,2015-01-01,,1550.00
MO,noord,2015-01-01,,50.00
BW-INTRA,zuid,2015-01-01,,100.00
THUIS,zuid,2015-01-01,,1550.00
MO,zuid,2015-01-01,,50.00
""",
    "clients.csv": """client,bsn
C1,999994943
C2,999999242
C3,999992302
C4,999999229
C5,999991553
C6,999998961
C7,999997580
""",
    "brp.csv": """client,municipality,kind,valid_from,valid_to
C1,1680,woonadres,2000-01-01,
C2,1680,woonadres,2000-01-01,
C3,1730,woonadres,2000-01-01,
C4,0106,woonadres,2000-01-01,
C5,1730,woonadres,2000-01-01,
C6,0109,woonadres,2000-01-01,
C7,1680,woonadres,2000-01-01,
""",
    "applications.csv": """client,region,municipality,date
C1,noord,1680,2024-01-10
C2,noord,1680,2024-03-01
C5,noord,1730,2022-05-01
C6,noord,0109,2024-02-01
C7,zuid,1680,2024-02-20
""",
    "placements.csv": """placement,client,product,region,provider,location,start,end,financing
P1,C1,BW-INTRA,noord,Aanbieder,0106,2024-02-01,,ZIN
P2,C2,BW-INTRA,noord,Aanbieder,0106,2024-03-11,,ZIN
P3,C3,THUIS,noord,Aanbieder,1730,2024-01-01,,ZIN
P4,C4,MO,noord,Aanbieder,0106,2024-03-01,2024-03-10,ZIN
P5,C5,BW-INTRA,noord,Aanbieder,0106,2022-06-01,,ZIN
P6,C6,BW-INTRA,noord,Aanbieder,0106,2024-02-15,,ZIN
P7,C7,BW-INTRA,zuid,Aanbieder,0114,2024-03-01,,ZIN
""",
    "agreements.toml": """[[agreement]]
id = "noord-pool"
kind = "pool"
region = "noord"
valid_from = 2023-01-01
valid_to = 2025-12-31
clients = "historic"
domains = ["BW"]
[agreement.weights]
"0106" = 2
"1680" = 1
"1730" = 1
""",
}


def small_dataset(path):
    path.mkdir()
    for name, text in SMALL.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def rows_of(statement):
    return [(r.debtor.code, r.invoice, r.basis, r.pool, r.lines, r.days, r.amount, r.correction)
            for r in statement.receivables]


def test_receivables_per_debtor_invoice_and_basis_by_hand(db_url, tmp_path):
    from settlement.documents.render import creditor_summary

    data = small_dataset(tmp_path / "small")
    ok(db_url, "init")
    ok(db_url, "load", str(data))
    ok(db_url, "run", "--month", MONTH)
    ok(db_url, "finalize", "--month", MONTH)
    statements, invoices = build(db_url)
    by_code = {s.municipality.code: s for s in statements}
    assen, emmen = by_code["0106"], by_code["0114"]
    assert rows_of(assen) == [
        ("0109", "0106-2024-00001", "woonplaats", None, 1, 31, 310000, False),
        ("1680", "0106-2024-00002", "woonplaats", None, 2, 52, 520000, False),
        ("1680", "0106-2024-00002", "pool", "noord-pool", None, None, 77500, False),
        ("1730", "0106-2024-00003", "registration", None, 1, 31, 155000, False),
        ("1730", "0106-2024-00003", "pool", "noord-pool", None, None, 77500, False),
    ]
    assert assen.receivable == 1140000
    assert rows_of(emmen) == [("1680", "0114-2024-00001", "woonplaats", None, 1, 31, 310000, False)]
    for code in ("0109", "1680", "1730"):  # they pay, they receive nothing
        assert by_code[code].receivables == () and by_code[code].creditor_lines == ()
    # every invoice is the sum of its rows
    for inv in invoices:
        assert inv.total == sum(r.amount for r in by_code[inv.creditor.code].receivables if r.invoice == inv.number)

    summary = creditor_summary(assen)
    assert [(r["label"], r["count"], r["days"], r["amount"]) for r in summary["rows"]] == [
        ("Kosten van de plaatsingen die uw gemeente heeft gecontracteerd", 6, 155, 1345000),
        ("waarvan voor rekening van uw gemeente zelf (onder ‘Kosten per grondslag’)", 1, 10, 50000),
        ("waarvan in solidariteitspool noord-pool", 1, 31, 310000),
        ("waarvan voor rekening van andere gemeenten", 4, 114, 985000),
        ("Aandelen van andere gemeenten in solidariteitspool noord-pool", None, None, 155000),
    ]
    assert summary["receivable"] == 1140000
    assert [(g["code"], g["count"], g["days"], g["amount"]) for g in summary["groups"]] == [
        ("0109", 1, 31, 310000), ("1680", 2, 52, 597500), ("1730", 1, 31, 232500)]
    assert summary["total"] == {"count": 4, "days": 114, "amount": 1140000}
    assert creditor_summary(by_code["1680"]) is None

    # a finalised correction: P2 declared at 2.000,00 instead of 2.100,00, a credit note of -100,00
    with (data / "declarations.csv").open("w", encoding="utf-8") as f:
        f.write(f"placement,month,amount\nP2,{MONTH},2000.00\n")
    ok(db_url, "load", str(data))
    ok(db_url, "run", "--month", MONTH)
    ok(db_url, "finalize", "--month", MONTH)
    statements, invoices = build(db_url)
    assen = next(s for s in statements if s.municipality.code == "0106")
    assert rows_of(assen)[2:4] == [
        ("1680", "0106-2024-00002", "pool", "noord-pool", None, None, 77500, False),
        ("1680", "0106-2024-00004", "woonplaats", None, 1, 0, -10000, True),
    ]
    assert assen.receivable == 1130000 and len(assen.receivables) == 6
    summary = creditor_summary(assen)
    assert [g["amount"] for g in summary["groups"]] == [310000, 587500, 232500]
    assert summary["rows"][3]["amount"] == 975000 and summary["rows"][0]["count"] == 7  # 6 lines and the correction
    (note,) = [i for i in invoices if i.kind == "credit_note"]
    assert (note.number, note.debtor.code, note.total) == ("0106-2024-00004", "1680", -10000)

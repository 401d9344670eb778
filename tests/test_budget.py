"""The budget monitor (RULES.md §9, `settle budget`): on a small hand-made dataset, every column of
one municipality and of one region computed by hand, a month not final named, corrections added,
the projection against its closed form, the json and csv shapes, the PDF and a deterministic SVG."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from dataclasses import replace
from fractions import Fraction

import pytest
from click.testing import CliRunner

from builders import settle as settle_month
from builders import world
from settlement import budget as b
from settlement import monitor, service, store
from settlement.cli import main
from settlement.facts import Budget, Declaration
from settlement.loader import parse_agreements_text
from settlement.periods import Month

POOL = """
[[agreement]]
id = "noord-historisch"
kind = "pool"
region = "noord"
valid_from = 2023-01-01
clients = "historic"
domains = ["BW"]
[agreement.weights]
"0106" = 2
"1680" = 1
"1730" = 1
"""

BUDGETS = [Budget("0106", 2024, 6_000_000, 1_000_000), Budget("1680", 2024, 0, 2_000_000),
           Budget("1730", 2024, 0, 500_000), Budget("0160", 2024, 0, 300_000),
           Budget("0106", 2025, 4_000_000, 2_000_000), Budget("1680", 2025, 0, 3_000_000),
           Budget("1730", 2025, 0, 800_000), Budget("0160", 2025, 0, 400_000)]


def dataset():
    """Region noord (centrumgemeente 0106, members 0106, 1680, 1730; a historic pool 2:1:1) and
    region west (centrumgemeente 0106, which is no member; member 0160). BW-INTRA costs € 100 a day,
    BEGELEID € 1.500 a month, MO € 50 a day.
    - H1: historic in noord since 2022, pooled;
    - H2: historic in west 2022-01-01..2024-01-31, paid by 0106 (no pool in west);
    - N1: new in noord from 2024-01-10, woonplaats 1680;
    - V1: new in noord from 2024-01-01 on a briefadres, vangnet: its application's 1730;
    - M1: MO in noord from 2024-02-01, 0106."""
    w = world().region("west", "0106", ["0160"])
    w.client("H1", brp=[("woonadres", "0106", "2000-01-01", None)], applications=[("noord", "0106", "2022-06-01")])
    w.placement("PH1", "H1", "BW-INTRA", "noord", "2022-06-01")
    w.client("H2", brp=[("woonadres", "0160", "2000-01-01", None)], applications=[("west", "0160", "2022-01-01")])
    w.placement("PH2", "H2", "BW-INTRA", "west", "2022-01-01", "2024-01-31")
    w.client("N1", brp=[("woonadres", "1680", "2000-01-01", None)], applications=[("noord", "1680", "2024-01-10")])
    w.placement("PN1", "N1", "BW-INTRA", "noord", "2024-01-10")
    w.client("V1", brp=[("briefadres", "1730", "2000-01-01", None)], applications=[("noord", "1730", "2024-01-01")])
    w.placement("PV1", "V1", "BEGELEID", "noord", "2024-01-01")
    w.client("M1", brp=[("woonadres", "0106", "2000-01-01", None)])
    w.placement("PM1", "M1", "MO", "noord", "2024-02-01")
    ds = w.build()
    ds.budgets = list(BUDGETS)
    return ds


def month_data(ds, *months: str) -> dict[str, b.MonthData]:
    agreements = parse_agreements_text(POOL, ds)
    out = {}
    for m in months:
        r = settle_month(ds, m, agreements)
        out[m] = b.MonthData(m, r.lines, r.pools)
    return out


def the_monitor(ds, months, region=None, pending=()):
    names = {c: m.name for c, m in ds.municipalities.items()}
    return b.monitor(2024, ds.regions, ds.members, names, ds.budgets, {"noord-historisch": "historic"}, months,
                     region, pending)


@pytest.fixture(scope="module")
def two_months():
    ds = dataset()
    return ds, the_monitor(ds, month_data(ds, "2024-01", "2024-02"))


def region(mon, slug):
    return next(r for r in mon.regions if r.region == slug)


def row(reg, code):
    return next(r for r in reg.rows if r.code == code)


# -- the figures, by hand -----------------------------------------------------------------------

def test_every_column_of_one_municipality(two_months):
    _, mon = two_months
    r = row(region(mon, "noord"), "0106")
    # historic: its pool shares 2/4 of H1 (January 31 x 100.00 = 3100.00, February 29 x 100.00 = 2900.00)
    # plus its own historic line of H2 (January, 31 x 100.00; H2 left on 2024-01-31)
    assert r.costs.historic == 155_000 + 145_000 + 310_000 == 610_000
    assert (r.costs.new, r.costs.vangnet, r.costs.pooled_all) == (0, 0, 0)
    assert r.costs.mo == 29 * 5_000  # M1 in February
    assert (r.historic_budget, r.objective_budget) == (6_000_000, 1_000_000)
    assert r.historic_result == 6_000_000 - 610_000
    assert r.objective_result == 1_000_000
    assert r.historic_used == Fraction(610_000, 6_000_000) and monitor.percent(r.historic_used) == "10.2"  # 10.1666..
    assert monitor.percent(r.objective_used) == "0.0"
    assert r.role == "member"


def test_every_column_of_one_region(two_months):
    _, mon = two_months
    t = region(mon, "noord").total
    n1 = 22 * 10_000 + 29 * 10_000  # 1680: N1 from 10 January
    v1 = 150_000 + 150_000  # 1730: V1, BEGELEID a month, vangnet
    assert (row(region(mon, "noord"), "1680").costs.historic, row(region(mon, "noord"), "1730").costs.historic) \
        == (77_500 + 72_500, 77_500 + 72_500)
    assert t.historic_budget == 6_000_000 + 0 + 0  # the Regionaal budget: the members' budgets added
    assert t.objective_budget == 1_000_000 + 2_000_000 + 500_000
    assert t.costs.historic == 610_000 + 150_000 + 150_000
    assert t.costs.new == n1 + v1 == 810_000
    assert t.costs.vangnet == v1
    assert t.costs.pooled_all == 0
    assert t.costs.mo == 145_000
    assert t.historic_result == 6_000_000 - 910_000
    assert t.objective_result == 3_500_000 - 810_000
    assert monitor.percent(t.historic_used) == "15.2"  # 15.1666..
    assert monitor.percent(t.objective_used) == "23.1"  # 23.142857..
    # every cent is borne: H1's pooled 3100.00 + 2900.00, H2's 3100.00 (paid by 0106, a member), N1, V1 and M1
    assert t.costs.historic + t.costs.new + t.costs.mo == 310_000 + 290_000 + 310_000 + 810_000 + 145_000


def test_a_centrumgemeente_outside_its_region_counts_in_it(two_months):
    _, mon = two_months
    west = region(mon, "west")
    assert [(r.code, r.role) for r in west.rows] == [("0106", "centrumgemeente"), ("0160", "member")]
    assert west.total.costs.historic == 610_000
    assert west.total.historic_budget == 6_000_000 and west.total.objective_budget == 1_300_000


def test_months_not_final_are_named_not_zero(two_months):
    _, mon = two_months
    assert mon.final_months == ["2024-01", "2024-02"]
    assert mon.missing == [f"2024-{m:02d}" for m in range(3, 13)]
    assert "not final: 2024-03, 2024-04" in monitor.to_text(mon)
    assert monitor.notes_nl(mon)[0].startswith("Niet definitief: 2024-03, 2024-04, ")


def test_a_member_on_any_day_of_the_year_counts():
    ds = dataset()
    ds.members = [m for m in ds.members if m.municipality != "1730"] + [
        replace(next(m for m in ds.members if m.municipality == "1730"), valid_to=Month(2024, 1).last)]
    mon = the_monitor(ds, month_data(ds, "2024-01"), region="noord")
    assert [r.code for r in mon.regions[0].rows] == ["0106", "1680", "1730"]
    nxt = b.monitor(2025, ds.regions, ds.members, {}, ds.budgets, {}, {}, "noord")
    assert [r.code for r in nxt.regions[0].rows] == ["0106", "1680"]


def test_pools_over_all_and_new_clients_and_a_budget_pool():
    lines = []
    pools = [b.PoolResult("a", "0106", 400, (("0106", 1), ("1680", 1)), {"0106": 200, "1680": 200}),
             b.PoolResult("n", "0106", 100, (("0106", 1),), {"0106": 100})]
    got = b.month_costs(b.MonthData("2024-01", lines, pools), {"a": "all", "n": "new"})
    assert (got["0106"].pooled_all, got["0106"].new, got["1680"].pooled_all) == (200, 100, 200)

    class BudgetPool:  # a budget pool's result (RULES.md §5.3): T = C - B(M) shared, B(M) borne by the creditor
        agreement, creditor, total, budget = "h", "0106", -100, 500
        weights = (("0106", 1), ("1680", 1))
        shares = {"0106": -50, "1680": -50}
    got = b.month_costs(b.MonthData("2024-01", [], [BudgetPool]), {"h": "historic"})
    assert (got["0106"].historic, got["1680"].historic) == (450, -50)  # together C = 400


def test_an_unknown_region_and_a_year_without_budgets_are_refused(two_months):
    ds, _ = two_months
    with pytest.raises(b.MonitorError, match="unknown region 'nowhere'"):
        the_monitor(ds, {}, region="nowhere")
    with pytest.raises(b.MonitorError, match="no budgets for 2023"):
        b.monitor(2023, ds.regions, ds.members, {}, ds.budgets, {}, {})


# -- the projection -------------------------------------------------------------------------------

def test_the_projection_against_its_closed_form(two_months):
    _, mon = two_months
    p = region(mon, "noord").projection
    assert (p.last_final, p.base) == ("2024-02", ["2024-01", "2024-02"])
    # client-months: historic H1 + H2 in January (1 + 1), H1 in February (1); new N1 22/31 and V1 1 in
    # January, both 1 in February. Arrivals: N1 and V1 in January (December is not final), none in February.
    c_h = Fraction(910_000, 3)
    c_n = Fraction(810_000) / (Fraction(53, 31) + 2)
    assert p.cost_per_client_month == {"historic": c_h, "new": c_n}
    assert p.clients_now == {"historic": 1, "new": 2} and p.arrivals_per_month == 1
    q = Fraction(35, 36)
    # historic clients: 1 x q^k; new: n_k = q n_(k-1) + 1 from n_0 = 2, i.e. 36 - 34 q^k
    geo = lambda lo, hi: sum(q ** k for k in range(lo, hi + 1))  # noqa: E731
    assert [(y.year, y.months) for y in p.years] == [(2024, 10), (2025, 12)]
    assert p.years[0].historic == b.round_half_away(c_h * geo(1, 10))
    assert p.years[0].new == b.round_half_away(c_n * (36 * 10 - 34 * geo(1, 10)))
    assert p.years[1].historic == b.round_half_away(c_h * geo(11, 22))
    assert p.years[1].new == b.round_half_away(c_n * (36 * 12 - 34 * geo(11, 22)))
    assert "from the month after 2024-02" in monitor.assumptions_en(p)[0]


def test_no_final_month_no_projection():
    ds = dataset()
    mon = the_monitor(ds, {})
    assert len(mon.missing) == 12 and mon.final_months == []
    assert region(mon, "noord").projection.years == [] and region(mon, "noord").total.costs.new == 0
    assert "no month is final" in monitor.assumptions_en(region(mon, "noord").projection)[0]


# -- the database, the command and its formats ----------------------------------------------------

def stored(url: str, ds) -> None:
    from stdnum.nl import bsn as stdnum_bsn
    numbers = (str(n) for n in range(999_990_000, 999_999_999) if stdnum_bsn.is_valid(str(n)))
    ds.clients = {c: replace(client, bsn=next(numbers)) for c, client in sorted(ds.clients.items())}  # one each
    ds.input_hash, ds.agreements_hash = f"sha256:{len(ds.declarations)}", "sha256:pool"
    engine = service.init(url)
    store.save_snapshot(engine, ds, POOL, "test")
    engine.dispose()


@pytest.fixture
def database(db_url, monkeypatch):
    """January and February 2024 final, March a draft; on SQLite and on PostgreSQL (conftest)."""
    monkeypatch.setenv("SETTLEMENT_WORKERS", "1")
    url = db_url
    stored(url, dataset())
    engine = service.open_db(url)
    months = [Month(2024, 1), Month(2024, 2)]
    service.run_months(engine, [*months, Month(2024, 3)])  # March stays a draft
    for m in months:
        service.finalize(engine, m)
    yield url, engine
    engine.dispose()


def budget(url: str, *args: str):
    return CliRunner().invoke(main, ["--db", url, "budget", *args], catch_exceptions=False)


def test_from_the_database_as_json(database):
    url, _ = database
    r = budget(url, "--year", "2024", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["format"] == "settlement-budget/1" and doc["year"] == 2024
    assert doc["months"] == {"final": ["2024-01", "2024-02"], "not_final": [f"2024-{m:02d}" for m in range(3, 13)],
                             "correction_pending": []}
    noord = doc["regions"]["noord"]
    assert noord["total"] == {
        "historic_budget": "60000.00", "historic_costs": "9100.00", "historic_result": "50900.00",
        "historic_used_percent": "15.2", "objective_budget": "35000.00", "new_costs": "8100.00",
        "vangnet_costs": "3000.00", "objective_result": "26900.00", "objective_used_percent": "23.1",
        "pooled_all_costs": "0.00", "mo_costs": "1450.00"}
    assert noord["municipalities"]["1680"]["historic_used_percent"] is None  # a historic budget of zero
    assert noord["municipalities"]["0106"]["historic_costs"] == "6100.00"
    assert [y["year"] for y in noord["projection"]["years"]] == [2024, 2025]
    assert r.output == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_csv_shape(database):
    url, _ = database
    r = budget(url, "--year", "2024", "--format", "csv", "--region", "noord")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert list(rows[0]) == monitor._CSV
    assert [(x["code"], x["role"]) for x in rows] == [("0106", "member"), ("1680", "member"), ("1730", "member"),
                                                       ("noord", "total")]
    assert rows[0]["historic_costs"] == "6100.00" and rows[0]["historic_used_percent"] == "10.2"
    assert rows[1]["historic_used_percent"] == "" and rows[2]["vangnet_costs"] == "3000.00"
    assert rows[3]["months_not_final"].startswith("2024-03 2024-04")


def test_a_finalised_correction_adds_up_and_a_waiting_one_is_named(database, monkeypatch):
    url, engine = database
    ds = dataset()
    ds.declarations = [Declaration("PN1", "2024-01", 200_000)]  # was 22 x 100.00 = 2200.00
    stored(url, ds)
    service.run_months(engine, [Month(2024, 1)])
    doc = json.loads(budget(url, "--year", "2024", "--format", "json").output)
    assert doc["months"]["correction_pending"] == ["2024-01"]
    assert doc["regions"]["noord"]["municipalities"]["1680"]["new_costs"] == "5100.00"  # not yet counted
    service.finalize(engine, Month(2024, 1))
    doc = json.loads(budget(url, "--year", "2024", "--format", "json").output)
    assert doc["months"]["correction_pending"] == []
    assert doc["regions"]["noord"]["municipalities"]["1680"]["new_costs"] == "4900.00"


def test_refusals_are_one_sentence_and_exit_2(database):
    url, _ = database
    r = CliRunner().invoke(main, ["--db", url, "budget", "--year", "2024", "--region", "nowhere"])
    assert r.exit_code == 2 and "error: unknown region 'nowhere'" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["--db", url, "budget", "--year", "2031"])
    assert r.exit_code == 2 and "no budgets for 2031" in r.output


def test_a_year_without_a_final_month_names_every_month(database):
    url, _ = database
    r = budget(url, "--year", "2025")
    assert r.exit_code == 0, r.output
    assert "not final: 2025-01, 2025-02" in r.output and "2025-12 (their costs are missing, not zero)" in r.output


def test_the_svg_is_deterministic(two_months):
    _, mon = two_months
    one = monitor.plot_svg(region(mon, "noord"))
    assert one == monitor.plot_svg(region(mon, "noord")) and one.startswith("<svg")
    assert "Prognose nieuwe kosten" in one and "<dc:date>" not in one


def test_the_pdf_renders_in_dutch(database, tmp_path):
    url, _ = database
    out = tmp_path / "budget.pdf"
    r = budget(url, "--year", "2024", "--format", "pdf", "--out", str(out))
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    again = tmp_path / "again.pdf"
    budget(url, "--year", "2024", "--format", "pdf", "--out", str(again))
    assert again.read_bytes() == data
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    raw = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    text = " ".join(raw.split())
    assert "Budgetmonitor 2024" in text and "Regionaal budget" in text
    assert "Niet definitief: 2024-03" in text
    assert "Prognose: aannames" in text and "gemiddelde verblijfsduur 36 maanden" in text
    pages = [" ".join(p.split()) for p in raw.split("\f") if p.strip()]
    assert len(pages) >= 3 and all("prognose: uitstroom 1/36 per maand" in p for p in pages)  # the assumptions on every page


def test_what_all_municipalities_bore_is_every_line(two_months):
    ds, _ = two_months
    for m, data in month_data(ds, "2024-01", "2024-02").items():
        costs = b.month_costs(data, {"noord-historisch": "historic"}).values()
        assert sum(c.historic + c.new + c.pooled_all + c.mo for c in costs) == sum(l.amount for l in data.lines), m

"""The year statement (jaaroverzicht, `settle statements --year`): on a small hand-made dataset with
January and February 2024 final, a finalised correction of January and March left a draft, every
figure of two municipalities' year statements computed by hand; the months not final named; the
PDF's text (pdftotext); two renders byte-identical; the refusals."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import pytest
from click.testing import CliRunner

from builders import NOORD_HISTORIC_POOL as POOL, world
from settlement import service, store
from settlement.cli import main
from settlement.documents.year import build_year, months_nl
from settlement.facts import Budget, Declaration
from settlement.periods import Month



def dataset(corrected: bool = False):
    """Region noord (centrumgemeente 0106, members 0106, 1680, 1730; the historic pool 2:1:1).
    BW-INTRA € 100 a day, BEGELEID € 1.500 a month, MO € 50 a day.
    - K-H1: historic since 2022, pooled;
    - K-N1: new from 2024-01-10, woonplaats 1680 (January: 22 days);
    - K-V1: new from 2024-01-01 on a briefadres, vangnet: its application's 1730;
    - K-M1: MO from 2024-02-01, 0106.
    `corrected`: PN1's January declared at € 2.000,00 (was 22 x € 100 = € 2.200,00)."""
    w = world()
    w.client("K-H1", brp=[("woonadres", "0106", "2000-01-01", None)], applications=[("noord", "0106", "2022-06-01")])
    w.placement("PH1", "K-H1", "BW-INTRA", "noord", "2022-06-01")
    w.client("K-N1", brp=[("woonadres", "1680", "2000-01-01", None)], applications=[("noord", "1680", "2024-01-10")])
    w.placement("PN1", "K-N1", "BW-INTRA", "noord", "2024-01-10")
    w.client("K-V1", brp=[("briefadres", "1730", "2000-01-01", None)], applications=[("noord", "1730", "2024-01-01")])
    w.placement("PV1", "K-V1", "BEGELEID", "noord", "2024-01-01")
    w.client("K-M1", brp=[("woonadres", "0106", "2000-01-01", None)])
    w.placement("PM1", "K-M1", "MO", "noord", "2024-02-01")
    ds = w.build()
    ds.budgets = [Budget("0106", 2024, 6_000_000, 1_000_000), Budget("1680", 2024, 0, 2_000_000),
                  Budget("1730", 2024, 0, 500_000)]
    if corrected:
        ds.declarations = [Declaration("PN1", "2024-01", 200_000)]
    return ds


BSNS: list[str] = []


def stored(url: str, ds) -> None:
    from stdnum.nl import bsn as stdnum_bsn
    numbers = (str(n) for n in range(999_990_000, 999_999_999) if stdnum_bsn.is_valid(str(n)))
    ds.clients = {c: replace(client, bsn=next(numbers)) for c, client in sorted(ds.clients.items())}  # one each
    BSNS[:] = [c.bsn for c in ds.clients.values()]
    ds.input_hash, ds.agreements_hash = f"sha256:{len(ds.declarations)}", "sha256:pool"
    engine = service.init(url)
    store.save_snapshot(engine, ds, POOL, "test")
    engine.dispose()


@pytest.fixture
def database(db_url, monkeypatch):
    """January and February 2024 final, then January corrected (finalised), March a draft."""
    monkeypatch.setenv("SETTLEMENT_WORKERS", "1")
    stored(db_url, dataset())
    engine = service.open_db(db_url)
    service.run_months(engine, [Month(2024, 1), Month(2024, 2), Month(2024, 3)])
    for m in (Month(2024, 1), Month(2024, 2)):
        service.finalize(engine, m)
    stored(db_url, dataset(corrected=True))
    service.run_months(engine, [Month(2024, 1)])
    service.finalize(engine, Month(2024, 1))
    yield db_url, engine
    engine.dispose()


def statement(engine, code):
    with engine.connect() as conn:
        (ys,) = build_year(conn, 2024, [code])
    return ys


def test_the_centrumgemeente_by_hand(database):
    _, engine = database
    ys = statement(engine, "0106")
    assert ys.final_months == ("2024-01", "2024-02")
    assert ys.missing == tuple(f"2024-{m:02d}" for m in range(3, 13))  # March a draft, the rest never run
    # its own lines: K-M1's MO in February, 29 x 50.00; K-H1 is pooled (no payer)
    assert [(c.basis, c.clients, c.lines, c.days, c.amount) for c in ys.bases] == [("mo", 1, 1, 29, 145_000)]
    # its pool shares 2/4: January 31 x 100.00 = 3100.00 -> 1550.00; February 29 x 100.00 = 2900.00 -> 1450.00
    assert [(p.agreement, p.name, p.region, p.creditor.code, p.months, p.amount) for p in ys.pools] == [
        ("noord-historisch", "Solidariteit Noord historisch", "noord", "0106", 2, 155_000 + 145_000)]
    assert ys.payable == 145_000 + 300_000 == 445_000
    jan, feb, mar = ys.months[:3]
    assert (jan.final, jan.regular, jan.corrections, jan.total) == (True, 155_000, 0, 155_000)
    assert (feb.regular, feb.corrections, feb.total) == (145_000 + 145_000, 0, 290_000)
    assert not mar.final and mar.total == 0
    # sent: January to 1680 2200.00 (K-N1) + 775.00 (share), to 1730 1500.00 (K-V1) + 775.00;
    # February to 1680 2900.00 + 725.00, to 1730 1500.00 + 725.00; the correction: a credit note of -200.00
    assert [(i.number, i.kind, i.month, i.counterparty.code, i.amount) for i in ys.sent] == [
        ("0106-2024-00001", "invoice", "2024-01", "1680", 297_500),
        ("0106-2024-00002", "invoice", "2024-01", "1730", 227_500),
        ("0106-2024-00005", "credit_note", "2024-01", "1680", -20_000),
        ("0106-2024-00003", "invoice", "2024-02", "1680", 362_500),
        ("0106-2024-00004", "invoice", "2024-02", "1730", 222_500)]
    assert ys.sent[2].corrects == "0106-2024-00001"
    assert ys.received == ()
    assert (jan.receivable, feb.receivable) == (297_500 + 227_500 - 20_000, 362_500 + 222_500)
    # the budgets: historic costs are its shares of the historic pool; MO against no budget
    r = ys.budget
    assert (r.historic_budget, r.objective_budget) == (6_000_000, 1_000_000)
    assert (r.costs.historic, r.costs.new, r.costs.vangnet, r.costs.pooled_all, r.costs.mo) == (300_000, 0, 0, 0,
                                                                                                 145_000)
    assert (r.historic_result, r.objective_result) == (5_700_000, 1_000_000)


def test_a_paying_member_by_hand(database):
    _, engine = database
    ys = statement(engine, "1680")
    # K-N1: January 2200.00, February 2900.00, January's correction -200.00 (a line of the correction run)
    ((basis, clients, lines, days, amount),) = [(c.basis, c.clients, c.lines, c.days, c.amount) for c in ys.bases]
    assert (basis, clients, amount) == ("woonplaats", 1, 220_000 + 290_000 - 20_000)
    assert lines == 3 and days == 22 + 29  # the correction's line changes the amount, not the days
    assert [(p.agreement, p.amount) for p in ys.pools] == [("noord-historisch", 77_500 + 72_500)]
    assert ys.payable == 490_000 + 150_000
    jan, feb = ys.months[:2]
    assert (jan.regular, jan.corrections, jan.total, jan.payable_to_others) == (297_500, -20_000, 277_500, 277_500)
    assert (feb.total, feb.payable_to_others) == (362_500, 362_500)
    assert [(i.number, i.counterparty.code, i.amount) for i in ys.received] == [
        ("0106-2024-00001", "0106", 297_500), ("0106-2024-00005", "0106", -20_000), ("0106-2024-00003", "0106", 362_500)]
    assert ys.sent == ()
    r = ys.budget
    assert (r.costs.historic, r.costs.new, r.costs.vangnet) == (150_000, 490_000, 0)
    assert r.historic_result == -150_000 and r.historic_used is None  # a historic budget of zero
    assert r.objective_result == 2_000_000 - 490_000


def test_months_in_words():
    assert months_nl([f"2024-{m:02d}" for m in range(3, 13)]) == "maart t/m december 2024"
    assert months_nl(["2024-01", "2024-03", "2024-04"]) == "januari 2024, maart t/m april 2024"
    assert months_nl([]) == ""


def settle(url, *args):
    return CliRunner().invoke(main, ["--db", url, *args], catch_exceptions=False)


def pdf_text(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    raw = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return raw


def test_the_pdf_through_the_command(database, tmp_path):
    url, _ = database
    out = tmp_path / "year"
    r = settle(url, "statements", "--year", "2024", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "2024: 5 year statement(s)" in r.output  # every municipality, those of region zuid with nothing too
    assert sorted(p.name for p in out.glob("*.pdf")) == [f"jaaroverzicht-2024-{c}.pdf"
                                                         for c in ("0106", "0109", "0114", "1680", "1730")]
    raw = pdf_text(out / "jaaroverzicht-2024-1680.pdf")
    text = " ".join(raw.split())
    assert "Jaaroverzicht 2024" in text and "Aa en Hunze (1680)" in text
    assert "Niet definitief: maart t/m december 2024." in text
    assert "Nieuwe cliënten: woonplaats" in text and "€ 4.900,00" in text
    assert "Solidariteit Noord historisch noord Assen (0106) 2 € 1.500,00 noord-historisch" in text
    assert "Totaal kosten voor uw gemeente € 6.400,00" in text
    assert "0106-2024-00005 creditnota januari 2024 Assen (0106) 0106-2024-00001 -€ 200,00" in text
    assert "0106-2024-00001 factuur januari 2024 Assen (0106)" in text
    assert "Creditnota’s (1) -€ 200,00" in text and "Saldo € 6.400,00" in text
    assert "januari 2024 € 2.975,00 -€ 200,00 € 2.775,00 € 2.775,00 € 0,00" in text
    assert "maart t/m december 2024: niet definitief, niet meegeteld" in text
    assert "Objectief budget (nieuwe cliënten) € 20.000,00 € 4.900,00 € 15.100,00 24,5 %" in text
    assert "Historisch budget (historische cliënten) € 0,00 € 1.500,00 -€ 1.500,00 —" in text
    for pdf in out.glob("*.pdf"):
        t = pdf_text(pdf)
        assert not any(n in t for n in BSNS) and "K-" not in t  # neither a BSN nor a pseudonym
    assert "Voor" not in text.split("Niet definitief")[0]  # no correction waits


def test_two_renders_are_identical_and_one_municipality(database, tmp_path):
    url, _ = database
    settle(url, "statements", "--year", "2024", "--out", str(tmp_path / "a"))
    r = settle(url, "statements", "--year", "2024", "--municipality", "0106", "--out", str(tmp_path / "b"))
    assert r.exit_code == 0, r.output
    assert [p.name for p in (tmp_path / "b").glob("*.pdf")] == ["jaaroverzicht-2024-0106.pdf"]
    one = (tmp_path / "a" / "jaaroverzicht-2024-0106.pdf").read_bytes()
    assert one.startswith(b"%PDF") and one == (tmp_path / "b" / "jaaroverzicht-2024-0106.pdf").read_bytes()


def test_a_waiting_correction_is_named_not_counted(database, tmp_path):
    url, engine = database
    ds = dataset(corrected=True)
    ds.declarations.append(Declaration("PN1", "2024-02", 250_000))  # February was 2900.00: a draft correction
    stored(url, ds)
    service.run_months(engine, [Month(2024, 2)])
    ys = statement(engine, "1680")
    assert ys.pending == ("2024-02",) and ys.months[1].total == 362_500
    settle(url, "statements", "--year", "2024", "--municipality", "1680", "--out", str(tmp_path))
    text = " ".join(pdf_text(tmp_path / "jaaroverzicht-2024-1680.pdf").split())
    assert "Voor februari 2024 wacht een correctie op vaststelling; die is niet meegeteld." in text


def one_error(r) -> str:
    assert r.exit_code == 2, r.output
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    return lines[0]


def test_refusals(database, tmp_path):
    url, _ = database
    line = one_error(settle(url, "statements", "--year", "2023", "--out", str(tmp_path)))
    assert "no month of 2023 is final" in line
    line = one_error(settle(url, "statements", "--year", "2024", "--municipality", "9999", "--out", str(tmp_path)))
    assert "unknown municipality '9999'" in line
    assert not list(tmp_path.glob("*.pdf"))
    assert settle(url, "statements", "--year", "2024", "--month", "2024-01").exit_code == 2
    assert settle(url, "statements", "--municipality", "0106", "--month", "2024-01").exit_code == 2
    foreign = tmp_path / "jaaroverzicht-2024-0106.pdf"
    foreign.write_bytes(b"not ours")
    line = one_error(settle(url, "statements", "--year", "2024", "--out", str(tmp_path)))
    assert "would replace jaaroverzicht-2024-0106.pdf" in line and foreign.read_bytes() == b"not ours"


BUDGET_POOL = POOL.replace('clients = "historic"', 'clients = "historic"\nbudget = "historic"').replace(
    "valid_from = 2023-01-01", "valid_from = 2024-01-01\nvalid_to = 2024-12-31")


def test_a_budget_pool_with_negative_shares(db_url, monkeypatch, tmp_path):
    """RULES.md §5.3: B(2024) = 48,000.00, so B(M) = 4,000.00 a month, above the pooled costs (K-H1:
    January 3,100.00, February 2,900.00): the pool's results -900.00 and -1,100.00 are shared back
    2:1:1 and billed as credit notes; the creditor bears its share plus B(M) against its budget."""
    monkeypatch.setenv("SETTLEMENT_WORKERS", "1")
    w = world()
    w.client("K-H1", brp=[("woonadres", "0106", "2000-01-01", None)], applications=[("noord", "0106", "2022-06-01")])
    w.placement("PH1", "K-H1", "BW-INTRA", "noord", "2022-06-01")
    ds = w.build()
    ds.budgets = [Budget("0106", 2024, 4_800_000, 0), Budget("1680", 2024, 0, 100_000)]
    ds.input_hash, ds.agreements_hash = "sha256:budget-pool", "sha256:budget-pool"
    engine = service.init(db_url)
    store.save_snapshot(engine, ds, BUDGET_POOL, "test")
    service.run_months(engine, [Month(2024, 1), Month(2024, 2)])
    for m in (Month(2024, 1), Month(2024, 2)):
        service.finalize(engine, m)
    centrum, member = statement(engine, "0106"), statement(engine, "1680")
    assert [(p.amount, p.months) for p in centrum.pools] == [(-45_000 - 55_000, 2)]
    assert centrum.payable == -100_000 and centrum.bases == ()
    assert centrum.creditor_budget == 400_000 + 400_000
    assert centrum.budget.costs.historic == -100_000 + 800_000  # its shares and B(M): the lines, less the others'
    assert centrum.budget.historic_result == 4_800_000 - 700_000
    assert [(i.kind, i.counterparty.code, i.amount, i.corrects) for i in member.received] == [
        ("credit_note", "0106", -22_500, None), ("credit_note", "0106", -27_500, None)]
    assert member.payable == -50_000 and member.budget.costs.historic == -50_000
    assert [(i.kind, i.counterparty.code, i.amount) for i in centrum.sent] == [
        ("credit_note", "1680", -22_500), ("credit_note", "1730", -22_500),
        ("credit_note", "1680", -27_500), ("credit_note", "1730", -27_500)]
    settle(db_url, "statements", "--year", "2024", "--municipality", "0106", "--out", str(tmp_path))
    text = " ".join(pdf_text(tmp_path / "jaaroverzicht-2024-0106.pdf").split())
    assert "Totaal kosten voor uw gemeente -€ 1.000,00" in text
    assert "het budgetdeel van die pool (€ 8.000,00)" in text
    assert "Historisch budget (historische cliënten) € 48.000,00 € 7.000,00 € 41.000,00 14,6 %" in text
    engine.dispose()


def test_the_demo_writes_one_regions_year_statements(tmp_path):
    from settlement.bsn import use_demo_key_if_unset
    from settlement.demo.run import run_demo
    use_demo_key_if_unset()
    run_demo(tmp_path / "demo", echo=lambda _: None, documents=[])
    folder = tmp_path / "demo" / "documents" / "jaaroverzicht-2024"
    assert sorted(p.name for p in folder.glob("*.pdf")) == [
        f"jaaroverzicht-2024-{c}.pdf" for c in ("0148", "0160", "0166", "0175", "0180", "0193", "1708", "1896")]
    text = " ".join(pdf_text(folder / "jaaroverzicht-2024-0148.pdf").split())
    assert "Alle maanden van 2024 zijn definitief." in text and "ijv-solidariteit-historisch" in text

"""The bundled demonstration data: reproducible from its generator, and settled as its scenarios say."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from settlement.cli import main
from settlement.demo.run import DATA, months
from settlement.engine import Engine
from settlement.loader import load_dir
from tests import demo_generator
from tests.demo_generator import SCENARIOS, expected_outcomes, generate

ROOT = Path(__file__).resolve().parent.parent
POOLS = {"ijssel-vecht": "ijv-solidariteit-historisch", "leidse-regio": "leidse-regio-1-gebied"}  # agreements.toml


def test_bundled_data_is_what_the_generator_writes(tmp_path):
    generate(tmp_path)
    for f in sorted(DATA.iterdir()):
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name


def test_the_documented_command_regenerates_the_bundled_data(tmp_path):
    """`python -m tests.demo_generator DIR` from the repository's root (its docstring): the same
    bytes as the package's data, which is its default directory; the package holds no generator."""
    assert demo_generator.DATA_DIR == DATA
    assert not (DATA.parent / "generate.py").exists()
    out = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "tests.demo_generator", str(out)], cwd=ROOT, check=True, capture_output=True)
    assert sorted(f.name for f in out.iterdir()) == sorted(f.name for f in DATA.iterdir())
    for f in sorted(DATA.iterdir()):
        assert (out / f.name).read_bytes() == f.read_bytes(), f.name


def test_every_scenario_settles_as_described():
    """The generator states, per scenario placement, the status, basis and payer that RULES.md §4
    gives on its first settled day (worked out independently of the engine)."""
    ds, agreements = load_dir(DATA)
    engine = Engine(ds, agreements)
    results = {m: engine.settle(m) for m in months()}
    assert len(SCENARIOS) >= 40
    checked = 0
    for pid, (status, basis, payer, flags) in sorted(expected_outcomes().items()):
        p = ds.placements[pid]
        lines = [l for m in months() for l in results[m].lines if l.placement == pid]
        if not lines:  # ended before 2023: nothing to settle in the demo months
            assert p.end is not None and p.end < date(2023, 1, 1), pid
            continue
        checked += 1
        assert all(l.status == status for l in lines), pid
        first = lines[0]
        if basis == "pool":  # the pool of the care region: IJssel-Vecht's (historic) or the Leidse Regio's (new)
            assert all(l.pool == POOLS[p.region] and l.payer is None for l in lines), pid
        elif "late_notification" in flags and first.basis == "late_notification":
            # shift: the days before the notification go to the care region's centrumgemeente;
            # the payer pays from the notification on, or never when it was never notified
            assert (any(l.payer == payer and l.basis == basis for l in lines)
                    or all(l.basis == "late_notification" for l in lines)), pid
        else:
            assert first.payer == payer and first.basis == basis, (pid, first.payer, first.basis)
        for f in flags:
            assert any(f in l.flags for l in lines), (pid, f)
    assert checked >= 45


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One `settle demo` for the tests of this module that read its output."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    r = CliRunner().invoke(main, ["demo", "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out, r.output


def export(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text(encoding="utf-8"))


def test_demo_command(demo, tmp_path):
    first_out, output = demo
    assert "0193  Zwolle" in output
    out = first_out
    for m in months():
        doc = json.loads((out / f"export-{m}.json").read_text(encoding="utf-8"))
        assert doc["month"] == str(m)
        assert (out / f"summary-{m}.txt").exists()
    pdfs = sorted(p.name for p in (out / "documents" / "2024-12").iterdir())
    assert "afrekening-2024-12-0193.pdf" in pdfs and any(n.startswith("factuur-0193-2024-") for n in pdfs)
    first = (out / "export-2024-07.json").read_bytes()
    # again over a copy of that output (the other tests of this module read the first)
    out = tmp_path / "again"
    shutil.copytree(first_out, out)
    r = CliRunner().invoke(main, ["demo", "--out", str(out), "--documents", "none"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert (out / "export-2024-07.json").read_bytes() == first
    # every basis and flag of RULES.md occurs in the demo
    seen_bases, seen_flags = set(), set()
    for m in months():
        for line in json.loads((out / f"export-{m}.json").read_text(encoding="utf-8"))["lines"]:
            seen_bases.add(line["basis"])
            seen_flags.update(line["flags"])
    assert seen_bases == {"mo", "historic", "pool", "reentry", "woonplaats", "woonplaats_before_institution",
                          "vangnet", "registration", "late_notification", "ruling"}
    assert seen_flags == {"vangnet", "late_notification", "no_interregional_agreement", "contested"}


# The dispute of the demo (disputes.csv, rulings.csv; scenario C0021): placement P00024, BW-NABIJ
# in IJssel-Vecht from 2023-05-01, EUR 78.35 a day from 2024 (tariffs.csv), creditor Zwolle (0193,
# the centrumgemeente). The rules give Kampen (0166, vangnet: briefadres Zwolle the day before,
# application in Kampen). Kampen raised G2024-01 on 2024-03-12; ruling U2024-01, decided
# 2024-05-21, valid from 2024-02-01: Zwolle pays. By hand:
#   January  31 days 2,428.85   February 29 days 2,272.15   March 31 days 2,428.85
#   April    30 days 2,350.50   May      31 days 2,428.85
KAMPEN, ZWOLLE, P24 = "0166", "0193", "P00024"
DAYS = {"2024-01": (31, "2428.85"), "2024-02": (29, "2272.15"), "2024-03": (31, "2428.85"),
        "2024-04": (30, "2350.50"), "2024-05": (31, "2428.85")}


def p24(doc: dict) -> list[tuple]:
    return [(l["payer"], l["basis"], l["days"], l["amount"], l["flags"], l["creditor"])
            for l in doc["lines"] if l["placement"] == P24]


def test_the_demo_settles_the_dispute_on_the_rules_then_corrects_the_final_months_after_the_ruling(demo):
    out, output = demo
    # the months final before the ruling was decided (2023-01..2024-04) were settled without it:
    # Kampen pays on the rules; contested from March (raised 2024-03-12) while no ruling is decided
    flags = {"2024-01": ["vangnet"], "2024-02": ["vangnet"], "2024-03": ["contested", "vangnet"],
             "2024-04": ["contested", "vangnet"]}
    originals = {}
    for m, f in flags.items():
        doc = export(out, f"export-{m}")
        days, amount = DAYS[m]
        assert doc["run"]["kind"] == "final" and p24(doc) == [(KAMPEN, "vangnet", days, amount, f, ZWOLLE)], m
        (originals[m],) = [i["number"] for i in doc["invoices"] if (i["creditor"], i["debtor"]) == (ZWOLLE, KAMPEN)]
    # the ruling then corrects February-April (from valid_from): Kampen's line reversed, Zwolle's
    # ruled line added (Zwolle is the creditor: no invoice to itself), a credit note from Zwolle to
    # Kampen for each month naming the month's original invoice; the contested flag stays on March
    # and April (the dispute was still open at their end); January, before valid_from, is untouched
    assert not (out / "correction-2024-01.json").exists()
    for m in ("2024-02", "2024-03", "2024-04"):
        doc = export(out, f"correction-{m}")
        days, amount = DAYS[m]
        contested = ["contested"] if m != "2024-02" else []
        assert doc["run"]["kind"] == "correction", m
        assert p24(doc) == [(KAMPEN, "vangnet", -days, "-" + amount, sorted(contested + ["vangnet"]), ZWOLLE),
                            (ZWOLLE, "ruling", days, amount, contested, ZWOLLE)], m
        assert len(doc["lines"]) == 2, m  # nothing else changed
        assert [(i["creditor"], i["debtor"], i["kind"], i["amount"], i["corrects"]) for i in doc["invoices"]] == [
            (ZWOLLE, KAMPEN, "credit_note", "-" + amount, originals[m])], m
        pdfs = sorted(p.name for p in (out / "documents" / m).glob("*.pdf"))
        number = doc["invoices"][0]["number"]
        assert pdfs == [f"afrekening-{m}-{KAMPEN}.pdf", f"afrekening-{m}-{ZWOLLE}.pdf", f"factuur-{number}.pdf"], m
        assert f"{m}: correction run" in output
    # from May (the ruling decided on 21 May) Zwolle pays from the start, no longer contested
    days, amount = DAYS["2024-05"]
    assert p24(export(out, "export-2024-05")) == [(ZWOLLE, "ruling", days, amount, [], ZWOLLE)]
    assert "3 corrections with 6 lines" in output


def test_the_leidse_regio_pool_shares_its_new_clients_in_2024(demo):
    """March 2024 by hand: the pool's lines are the new BW clients of the Leidse Regio, C0025
    (BEGELEID from 2024-03-18: 14 of 31 days at 1,701.45 a month = 768.3967.. -> 768.40) and C0040
    (BW-NABIJ, 31 days x 88.95 = 2,757.45): T = 3,525.85 (no budget). Key (inhabitants):
    0546 125000, 0547 27800, 0579 26000, 0626 25800, 0638 9300, W = 213900. 352585 cents x w / W:
    0546 206045.465, 0547 45824.511, 0579 42857.457, 0626 42527.784, 0638 15329.783; floors sum
    to 352582, the 3 cents go to the largest remainders 0626, 0638, 0547."""
    out, _ = demo
    doc = export(out, "export-2024-03")
    (pool,) = [p for p in doc["pools"] if p["agreement"] == POOLS["leidse-regio"]]
    assert (pool["creditor"], pool["costs"], pool["budget"], pool["total"]) == ("0546", "3525.85", "0.00", "3525.85")
    assert pool["shares"] == {"0546": "2060.45", "0547": "458.25", "0579": "428.57", "0626": "425.28", "0638": "153.30"}
    pooled = sorted((l["client"], l["status"], l["amount"], l["flags"]) for l in doc["lines"]
                    if l["pool"] == POOLS["leidse-regio"])
    assert pooled == [("C0025", "new", "768.40", ["vangnet"]), ("C0040", "new", "2757.45", [])]
    # each member's share is on its invoice from Leiden, with the lines it pays Leiden itself
    for code in ("0547", "0579", "0626", "0638"):
        own = sum(cents(l["amount"]) for l in doc["lines"] if l["payer"] == code and l["creditor"] == "0546")
        (inv,) = [i for i in doc["invoices"] if (i["creditor"], i["debtor"]) == ("0546", code)]
        assert cents(inv["amount"]) == own + cents(pool["shares"][code]), code
    # January 2024 has no new BW client in the Leidse Regio yet: no pool month
    assert not [p for p in export(out, "export-2024-01")["pools"] if p["agreement"] == POOLS["leidse-regio"]]


def cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))

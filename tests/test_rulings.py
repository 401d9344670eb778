"""RULES.md v2 §4.0: a ruling of the geschillencommissie decides the payer of a placement's
new-status lines from its `valid_from`, before §4.4-§4.5, while the rules' own steps stay in the
trace; a dispute raised and not yet ruled on flags every line of its placement `contested`.

Figures by hand. Builders (tests/builders.py): BW-INTRA EUR 100.00 a day; region noord
(centrumgemeente 0106 Assen; members 0106, 1680 Aa en Hunze, 1730 Tynaarlo), cutover 2023-01-01.
CLI test (tests/test_loader.base_data): P6, client C4 (woonadres 0109 Coevorden), BW-INTRA in
ijssel-vecht (centrumgemeente 0193 Zwolle) from 2023-05-01, EUR 105.50 a day from 2024-01-01.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from settlement import service
from settlement.cli import main
from settlement.documents.build import build_month
from settlement.documents.render import invoice_html as render_invoice_html
from settlement.documents.ubl import invoice_xml
from settlement.loader import LoadError, load_dir
from tests.builders import only, settle, world
from tests.test_loader import base_data, write


def new_client():
    w = world()
    w.client("N1", brp=[("woonadres", "1730", "2000-01-01", None)])
    return w.placement("P1", "N1", "BW-INTRA", "noord", "2023-02-01")


def test_a_ruling_decides_from_its_day_and_the_rules_stay_in_the_trace():
    # March 2023: the ruling holds from 2023-03-11, so 10 days stay with the rules' payer 1730
    # (woonplaats, 1,000.00) and 21 go to the ruled payer 1680 (basis ruling, 2,100.00)
    w = new_client().ruling("U1", "P1", "1680", "2023-03-11", "2023-04-20")
    r = settle(w, "2023-03")
    lines = {(l.payer, l.basis): (l.days, l.amount) for l in r.lines}
    assert lines == {("1730", "woonplaats"): (10, 100_000), ("1680", "ruling"): (21, 210_000)}
    ruled = next(l for l in r.lines if l.basis == "ruling")
    steps = {s["rule"]: s for s in ruled.trace["steps"]}
    assert steps["woonplaats"]["applies"] and steps["woonplaats"]["outcome"]["payer"] == "1730"  # what the rules said
    assert steps["ruling"]["decided"] and steps["ruling"]["outcome"]["payer"] == "1680"  # what the committee decided
    assert steps["ruling"]["why"] == {"code": "ruling_decides", "params": {
        "ruling": "U1", "payer": "1680", "valid_from": "2023-03-11", "reference": "GC 2024/1"}}
    assert steps["ruling"]["read"][0]["record"] == {"ruling": "U1"}
    # February: before the ruling holds, nothing changes, and the step says why
    feb = only(settle(w, "2023-02"))
    assert (feb.payer, feb.basis) == ("1730", "woonplaats")
    assert {s["rule"]: s for s in feb.trace["steps"]}["ruling"]["why"]["code"] == "ruling_not_yet"


def test_a_ruling_does_not_touch_historic_lines_and_a_placement_without_one_has_no_step():
    w = world()
    w.client("H1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("PH", "H1", "BW-INTRA", "noord", "2022-06-01").ruling("U1", "PH", "1680", "2023-01-01", "2023-02-01")
    line = only(settle(w, "2023-03"))
    assert (line.status, line.basis, line.payer) == ("historic", "historic", "0106")
    assert {s["rule"]: s for s in line.trace["steps"]}["ruling"]["why"]["code"] == "ruling_not_new"
    plain = only(settle(new_client(), "2023-03"))
    assert not any(s["rule"] in ("ruling", "dispute") for s in plain.trace["steps"])


def test_a_later_ruling_replaces_an_earlier_one_from_its_own_day():
    w = new_client().ruling("U1", "P1", "1680", "2023-02-01", "2023-02-20").ruling("U2", "P1", "0106", "2023-03-21", "2023-04-01")
    lines = {(l.payer, l.basis): l.days for l in settle(w, "2023-03").lines}
    assert lines == {("1680", "ruling"): 20, ("0106", "ruling"): 11}


def test_reentry_follows_the_ruling_on_the_earlier_placement():
    # P1 ended 2023-03-31, ruled to 1680; P2 starts 2023-04-10: reentry makes 1680 responsible
    w = world()
    w.client("N1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("P1", "N1", "BW-INTRA", "noord", "2023-02-01", "2023-03-31")
    w.placement("P2", "N1", "BEGELEID", "noord", "2023-04-10")
    w.ruling("U1", "P1", "1680", "2023-02-01", "2023-03-15")
    line = only(settle(w, "2023-04"), "P2")
    assert (line.basis, line.payer) == ("reentry", "1680")
    step = {s["rule"]: s for s in line.trace["steps"]}["reentry"]
    assert step["why"]["params"]["how"]["code"] == "responsible_ruling"


def test_a_dispute_flags_the_placement_from_the_month_it_was_raised_until_it_is_ruled_on():
    w = new_client().dispute("D1", "P1", "1730", "2023-03-10").ruling("U1", "P1", "1680", "2023-05-01", "2023-05-20",
                                                                      dispute="D1")
    flags = {m: only(settle(w, m)).flags for m in ("2023-02", "2023-03", "2023-04")}
    assert flags == {"2023-02": (), "2023-03": ("contested",), "2023-04": ("contested",)}
    may = only(settle(w, "2023-05"))
    assert (may.payer, may.basis, may.flags) == ("1680", "ruling", ())  # ruled on 20 May: no longer contested
    step = {s["rule"]: s for s in settle(w, "2023-03").lines[0].trace["steps"]}["dispute"]
    assert step["applies"] and step["outcome"] == {"flag": "contested", "disputes": ["D1"]}


def _rows(header, *rows):
    return [header.split(","), *[list(r) for r in rows]]


def test_the_loader_refuses_two_rulings_from_one_day_and_a_ruling_on_another_placements_dispute(tmp_path):
    data, toml = base_data()
    data["disputes.csv"] = _rows("dispute,placement,raised_by,raised_on,subject", ("D1", "P6", "0109", "2024-03-10", "wie"))
    data["rulings.csv"] = _rows("ruling,dispute,placement,payer,valid_from,decided_on,reference",
                                ("U1", "D1", "P6", "0166", "2024-02-01", "2024-05-15", "GC 2024/7"),
                                ("U2", "", "P6", "0148", "2024-02-01", "2024-05-16", "GC 2024/8"),
                                ("U3", "D1", "P1", "0166", "2024-02-01", "2024-05-15", "GC 2024/9"),
                                ("U4", "D9", "P6", "0166", "2024-06-01", "2024-05-15", "GC 2024/10"))
    with pytest.raises(LoadError) as e:
        load_dir(write(tmp_path / "d", data, toml))
    text = "\n".join(e.value.problems)
    assert ("rulings.csv:3: valid_from: placement P6 already has a ruling valid from 2024-02-01 (line 2): "
            "two rulings may not decide one placement on one day") in text
    assert "rulings.csv:4: placement: ruling U3 is on dispute D1, which is about placement P6, not P1" in text
    assert "rulings.csv:5: dispute: unknown dispute D9 (not in disputes.csv)" in text


def settle_cli(db, *args):
    r = CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def test_a_ruling_for_final_months_corrects_them_with_a_credit_note_and_an_invoice(tmp_path, monkeypatch, db_url):
    """P6 contested by Coevorden (0109) on 2024-03-10; January-April 2024 final; then the ruling
    U1 (decided 2024-05-15, valid from 2024-02-01): Kampen (0166) pays. At EUR 105.50 a day:
    February 29 days 3,059.50; March 31 days 3,270.50; April 30 days 3,165.00. Each of those months
    gets a correction run: Coevorden's woonplaats line reversed (a credit note from Zwolle, 0193,
    naming the original invoice) and Kampen's ruling line (an invoice from Zwolle). January, before
    valid_from, gets none. May and June are settled on the ruling from the start."""
    monkeypatch.setenv("SETTLEMENT_NOW", "2024-07-15T12:00:00+00:00")
    data, toml = base_data()
    data["disputes.csv"] = _rows("dispute,placement,raised_by,raised_on,subject",
                                 ("D1", "P6", "0109", "2024-03-10", "woonplaats van C4 vóór de plaatsing"))
    before = write(tmp_path / "before", data, toml)
    data["rulings.csv"] = _rows("ruling,dispute,placement,payer,valid_from,decided_on,reference",
                                ("U1", "D1", "P6", "0166", "2024-02-01", "2024-05-15", "GC 2024/7"))
    after = write(tmp_path / "after", data, toml)
    settle_cli(db_url, "init")
    settle_cli(db_url, "load", str(before))
    months = ("2024-01", "2024-02", "2024-03", "2024-04")
    for m in months:
        settle_cli(db_url, "run", "--month", m)
        settle_cli(db_url, "finalize", "--month", m)

    def export(m):
        return json.loads(settle_cli(db_url, "export", "--month", m))

    def p6(doc):
        return [(l["payer"], l["basis"], l["days"], l["amount"], l["flags"]) for l in doc["lines"] if l["placement"] == "P6"]
    assert p6(export("2024-02")) == [("0109", "woonplaats", 29, "3059.50", [])]
    assert p6(export("2024-03")) == [("0109", "woonplaats", 31, "3270.50", ["contested"])]
    originals = {m: {(i["creditor"], i["debtor"]): i["number"] for i in export(m)["invoices"]} for m in months}

    settle_cli(db_url, "load", str(after))
    out = settle_cli(db_url, "run", "--month", "2024-01")
    assert "no correction" in out  # before valid_from: untouched
    for m, days, amount in (("2024-02", 29, "3059.50"), ("2024-03", 31, "3270.50"), ("2024-04", 30, "3165.00")):
        assert "correction" in settle_cli(db_url, "run", "--month", m)
        settle_cli(db_url, "finalize", "--month", m)
        doc = export(m)
        assert doc["run"]["kind"] == "correction"
        contested = ["contested"] if m != "2024-02" else []  # the dispute was open at the end of March and April
        assert p6(doc) == [("0109", "woonplaats", -days, "-" + amount, contested),
                           ("0166", "ruling", days, amount, contested)]
        invoices = {(i["creditor"], i["debtor"]): i for i in doc["invoices"]}
        credit = invoices[("0193", "0109")]
        assert (credit["amount"], credit["kind"], credit["corrects"]) == ("-" + amount, "credit_note",
                                                                          originals[m][("0193", "0109")])
        invoice = invoices[("0193", "0166")]
        assert (invoice["amount"], invoice["kind"]) == (amount, "invoice")
        # both documents name the ruling they carry out (issue: "with the ruling named on both")
        with service.open_db(db_url).connect() as conn:
            _, documents = build_month(conn, m)
        for number in (credit["number"], invoice["number"]):
            document = next(d for d in documents if d.number == number)
            assert document.rulings == (("U1", "GC 2024/7", date(2024, 5, 15)),)
            html = render_invoice_html(document)
            assert "Op grond van uitspraak" in html and "U1 (GC 2024/7)" in html
            assert "Deze correctie voert de uitspraak U1 (GC 2024/7) van 15 mei 2024 van de geschillencommissie uit" in html
            assert "uitspraak U1 (GC 2024/7)" in invoice_xml(document).decode()
            # March and April were contested at their end: the legend says the ruling has decided it since
            assert ("De uitspraak daarop is hierboven genoemd; deze correctie voert haar uit" in html) == (m != "2024-02")
            assert "waarover nog geen uitspraak was gedaan" not in html
    # January's documents, untouched by the ruling, name none
    with service.open_db(db_url).connect() as conn:
        assert all(d.rulings == () for d in build_month(conn, "2024-01")[1])
    for m, days, amount in (("2024-05", 31, "3270.50"), ("2024-06", 30, "3165.00")):
        settle_cli(db_url, "run", "--month", m)
        assert p6(export(m)) == [("0166", "ruling", days, amount, [])]
    # settle disputes: ruled; at stake from March (the month raised): March and April net 0 for
    # Coevorden (3,270.50 - 3,270.50, 3,165.00 - 3,165.00), Kampen 3,270.50 + 3,165.00 + May
    # 3,270.50 + June 3,165.00 = 12,871.00; June is a draft, named as not final
    doc = json.loads(settle_cli(db_url, "disputes", "--format", "json"))
    assert doc["format"] == "settlement-disputes/1"
    [d] = doc["disputes"]
    assert (d["dispute"], d["placement"], d["client"], d["raised_by"], d["status"]) == ("D1", "P6", "C4", "0109", "ruled")
    assert d["ruling"] == {"ruling": "U1", "payer": "0166", "valid_from": "2024-02-01", "decided_on": "2024-05-15",
                           "reference": "GC 2024/7"}
    assert d["months"] == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert d["months_not_final"] == ["2024-05", "2024-06"]
    assert d["at_stake"] == {"0166": "12871.00"} and d["total"] == "12871.00"
    text = settle_cli(db_url, "disputes")
    assert "D1: placement P6 (client C4), raised by 0109 on 2024-03-10" in text
    assert "ruled by U1 (GC 2024/7) on 2024-05-15: 0166 pays from 2024-02-01" in text


def test_every_reason_of_rulings_and_disputes_renders_in_both_languages():
    from settlement import phrases, trace
    from tests.test_phrases import RULING_CODES
    w = world()
    w.client("N1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("P1", "N1", "BW-INTRA", "noord", "2023-02-01", "2023-05-31")
    w.placement("P2", "N1", "BEGELEID", "noord", "2023-06-10")  # a reentry after the ruled P1
    w.dispute("D1", "P1", "1730", "2023-03-10").ruling("U1", "P1", "1680", "2023-03-11", "2023-04-20", dispute="D1")
    w.client("H1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("PH", "H1", "BW-INTRA", "noord", "2022-06-01").ruling("U2", "PH", "1680", "2023-01-01", "2023-02-01")
    seen = set()
    for m in ("2023-02", "2023-03", "2023-04", "2023-06"):
        for line in settle(w, m).lines:
            for step in line.trace["steps"]:
                if "why" in step:
                    params = step["why"]["params"]
                    seen |= {step["why"]["code"]} | ({params["how"]["code"]} if "how" in params else set())
                    assert trace.reason(step, "en") and trace.reason(step, "nl")
    assert RULING_CODES <= seen
    assert phrases.say("nl", "dispute_open", {"disputes": "D1", "raised_by": "1730", "day": "2023-03-31"}) == (
        "geschil D1, aangespannen door 1730, is op 31 maart 2023 nog niet beslist: de regel is betwist")

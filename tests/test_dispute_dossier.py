"""`settle explain --dispute D`: the dossier of one dispute before the geschillencommissie (issue
14 item 3; RULES.md v2 §4.0; INTERFACE.md v2 disputes.csv, rulings.csv).

The data (tests/test_loader.base_data): placement P6 of client C4 (woonadres Coevorden 0109 since
1990), BW-INTRA in IJssel-Vecht (centrumgemeente and creditor Zwolle 0193) from 2023-05-01, at
EUR 105.50 a day from 2024-01-01. Coevorden contests it on 2024-03-10 (dispute D1); January-April
2024 are made final on 2024-05-03; the ruling U1 (decided 2024-05-15, reference GC 2024/7, valid
from 2024-02-01: Kampen 0166 pays) is loaded afterwards, so February-April get a correction run,
made final on 2024-07-15; May and June are settled on the ruling (May final, June a draft).

By hand, a day 105.50: January 31 d = 3,270.50; February 29 d = 3,059.50; March 31 d =
3,270.50; April 30 d = 3,165.00; May 3,270.50; June 3,165.00.

Invoice numbers (gapless per creditor and year, INTERFACE.md `settle finalize`, numbered in the
order the runs are made final and within a run by debtor code): Zwolle invoices Coevorden (P6) and
Kampen (P1 of C1, woonplaats before the institution: Kampen) every month, so January gets
0193-2024-00001 (0109) and -00002 (0166), February -00003/-00004, March -00005/-00006, April
-00007/-00008. The corrections: February credit note -00009 to Coevorden (-3,059.50, correcting
-00003) and invoice -00010 to Kampen (3,059.50); March -00011/-00012; April -00013/-00014.
"""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from click.testing import CliRunner

from settlement.cli import main
from tests.test_loader import BSNS, base_data, write
from tests.test_rulings import _rows


def cli(db, *args, code=0):
    r = CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)
    assert r.exit_code == code, r.output
    return r.output


def text_of(html: str) -> str:
    """The HTML's visible text, whitespace collapsed."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ")).strip()


def section(html: str, start: str, end: str) -> str:
    a = html.index(start)
    return text_of(html[a:html.index(end, a)])


@pytest.fixture
def ruled(tmp_path, monkeypatch, db_url):
    data, toml = base_data()
    data["disputes.csv"] = _rows("dispute,placement,raised_by,raised_on,subject",
                                 ("D1", "P6", "0109", "2024-03-10", "Was Coevorden de woonplaats van C4 vóór de plaatsing?"))
    before = write(tmp_path / "before", data, toml)
    data["rulings.csv"] = _rows("ruling,dispute,placement,payer,valid_from,decided_on,reference",
                                ("U1", "D1", "P6", "0166", "2024-02-01", "2024-05-15", "GC 2024/7"))
    after = write(tmp_path / "after", data, toml)
    monkeypatch.setenv("SETTLEMENT_NOW", "2024-05-03T10:00:00+00:00")
    cli(db_url, "init")
    cli(db_url, "load", str(before))
    for m in ("2024-01", "2024-02", "2024-03", "2024-04"):
        cli(db_url, "run", "--month", m)
        cli(db_url, "finalize", "--month", m)
    monkeypatch.setenv("SETTLEMENT_NOW", "2024-07-15T12:00:00+00:00")
    cli(db_url, "load", str(after))
    assert "no correction" in cli(db_url, "run", "--month", "2024-01")  # before valid_from
    for m in ("2024-02", "2024-03", "2024-04"):
        assert "correction" in cli(db_url, "run", "--month", m)
        cli(db_url, "finalize", "--month", m)
    for m in ("2024-05", "2024-06"):
        cli(db_url, "run", "--month", m)
    cli(db_url, "finalize", "--month", "2024-05")
    return db_url


def test_the_dossier_of_a_ruled_dispute(ruled, tmp_path):
    html = cli(ruled, "explain", "--dispute", "D1", "--format", "html")
    text = text_of(html)
    # the question, who raised it and when
    assert "De vraag Was Coevorden de woonplaats van C4 vóór de plaatsing?" in text
    assert "Aangespannen door Coevorden (0109) Aangespannen op 10 maart 2024" in text
    # the ruling and its reference
    ruling = section(html, '<div class="decision ruling">', "<h3>Verloop</h3>")
    assert "U1 · GC 2024/7" in ruling and "Kenmerk GC 2024/7" in ruling
    assert "Beslist op 15 mei 2024" in ruling and "Betaler volgens de uitspraak Kampen (0166)" in ruling
    assert "Geldt vanaf 1 februari 2024" in ruling

    # per month: January (before valid_from) stays with the rules, final and uncorrected; from
    # February the ruling decides, with the rule the engine applied beside it
    # P6 started in May 2023; nothing before January 2024 was ever settled in this database
    assert "Elke maand van de plaatsing vanaf januari 2024 (daarvóór is in deze administratie niets afgerekend)" in text
    months = section(html, '<table class="summary-lines per-month">', "</table>")
    jan = months[months.index("januari 2024"):months.index("februari 2024")]
    assert "definitief" in jan and "gecorrigeerd" not in jan
    assert "Coevorden (0109) Woonplaatsbeginsel: het woonadres op de dag vóór de start € 3.270,50" in jan
    may = months[months.index("mei 2024"):months.index("juni 2024")]
    assert "Kampen (0166) Uitspraak van de geschillencommissie € 3.270,50" in may
    assert ("Ook van toepassing: Woonplaatsbeginsel: het woonadres op de dag vóór de start (woonadres in "
            "Coevorden (0109) op 30 april 2023, de dag vóór de start)") in may
    # the rejected alternatives: rules that were weighed and did not apply (vangnet was not reached)
    assert "Niet van toepassing: Maatschappelijke opvang: de centrumgemeente betaalt; Historische cliënt" in may
    assert "Vangnet" not in may
    feb = months[months.index("februari 2024"):months.index("maart 2024")]
    assert "definitief, gecorrigeerd" in feb
    assert "Coevorden (0109) correctie teruggedraaid" in feb and "-€ 3.059,50" in feb
    assert "Kampen (0166) correctie Uitspraak van de geschillencommissie € 3.059,50" in feb

    # the money at stake from March (the month raised), as settled: March and April Coevorden
    # 3,270.50 - 3,270.50 = 0 and 3,165.00 - 3,165.00 = 0, Kampen 3,270.50 and 3,165.00; May and
    # June Kampen 3,270.50 and 3,165.00; Kampen in all 3,270.50 + 3,165.00 + 3,270.50 + 3,165.00
    # = 12,871.00, Coevorden 0.00, together 12,871.00
    stake = section(html, '<table class="calc stake">', "</table>")
    assert stake.startswith("Maand Coevorden (0109) Kampen (0166) Samen Stand")
    assert "maart 2024 € 0,00 € 3.270,50 € 3.270,50 definitief" in stake
    assert "april 2024 € 0,00 € 3.165,00 € 3.165,00 definitief" in stake
    assert "mei 2024 € 0,00 € 3.270,50 € 3.270,50 definitief" in stake
    assert "juni 2024 € 0,00 € 3.165,00 € 3.165,00 concept (nog niet definitief)" in stake
    assert stake.endswith("Op het spel € 0,00 € 12.871,00 € 12.871,00")
    assert "februari" not in stake  # before the dispute was raised

    # the corrections the ruling caused, with the documents' numbers (see the module's docstring)
    fixes = section(html, "<h3>Correcties en documenten</h3>", "<h3>Betrokken afspraken</h3>")
    assert "januari" not in fixes
    for month, credit, invoice, corrects, amount in (("februari", "00009", "00010", "00003", "3.059,50"),
                                                     ("maart", "00011", "00012", "00005", "3.270,50"),
                                                     ("april", "00013", "00014", "00007", "3.165,00")):
        assert (f"Creditnota 0193-2024-{credit} Zwolle (0193) Coevorden (0109) 15 juli 2024 0193-2024-{corrects} "
                f"-€ {amount}") in fixes, month
        assert f"Factuur 0193-2024-{invoice} Zwolle (0193) Kampen (0166) 15 juli 2024" in fixes
    assert fixes.count("volgt uit de uitspraak") == 3

    # the agreements involved, each term with its source, or that it has none
    agreements = section(html, "<h3>Betrokken afspraken</h3>", "</section>")
    assert "Interregionale werkafspraak ‘eagle’" in agreements
    assert "Meldtermijn (dagen na de start) 14 geen bron in de regionale documenten" in agreements
    assert "Verdeelsleutel (gewichten)" in agreements and "Regiovisie IJssel-Vecht §4.1.2" in agreements

    # the course of events, by date
    course = section(html, '<table class="facts chronology">', "</table>")
    assert course.index("1 februari 2024 Vanaf deze dag geldt uitspraak U1") < course.index(
        "10 maart 2024 Coevorden (0109) legt geschil D1 voor") < course.index(
        "3 mei 2024 Afrekening van januari 2024 definitief") < course.index("15 mei 2024 Uitspraak U1 op geschil D1")
    assert ("15 juli 2024 Correctie van februari 2024 vastgesteld (run 5): creditnota 0193-2024-00009 aan "
            "Coevorden (0109); factuur 0193-2024-00010 aan Kampen (0166)") in course

    # the placement's dossier follows: every line explained, the client's facts
    assert "Feiten van cliënt C4" in text and "toelichting per kostenregel" in text

    # no BSN without --with-bsn; with it, the client's
    assert BSNS[3] not in html
    assert BSNS[3] in cli(ruled, "explain", "--dispute", "D1", "--format", "html", "--with-bsn")

    # the PDF renders
    out = tmp_path / "d1.pdf"
    cli(ruled, "explain", "--dispute", "D1", "--format", "pdf", "--out", str(out))
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and BSNS[3].encode() not in data


def test_the_summary_of_a_dispute_and_the_refusals(ruled):
    doc = json.loads(cli(ruled, "explain", "--dispute", "D1", "--format", "json"))
    assert (doc["dispute"], doc["placement"], doc["client"], doc["raised_by"], doc["status"]) == (
        "D1", "P6", "C4", "0109", "ruled")
    assert doc["ruling"]["reference"] == "GC 2024/7"
    assert doc["at_stake"] == {"0166": "12871.00"} and doc["at_stake_total"] == "12871.00"  # as above
    assert [(x["number"], x["kind"], x["debtor"], x["amount"], x["corrects"]) for x in doc["correction_documents"]][:2] == [
        ("0193-2024-00009", "credit_note", "0109", "-3059.50", "0193-2024-00003"),
        ("0193-2024-00010", "invoice", "0166", "3059.50", "0193-2024-00004")]
    text = cli(ruled, "explain", "--dispute", "D1")
    assert "ruled by U1 (GC 2024/7) on 2024-05-15: 0166 pays from 2024-02-01" in text
    assert "at stake from 2024-03: 0166 EUR 12871.00; total EUR 12871.00" in text
    out = cli(ruled, "explain", "--dispute", "D9", code=2)
    assert out.strip() == "error: unknown dispute 'D9': disputes.csv of snapshot 2 does not contain it (known: D1)"
    assert "no --month" in cli(ruled, "explain", "--dispute", "D1", "--month", "2024-03", code=2)
    assert "--with-bsn applies to" in cli(ruled, "explain", "--dispute", "D1", "--with-bsn", code=2)


def test_the_dossier_of_an_open_dispute(tmp_path, monkeypatch, db_url):
    """D1 raised 2024-03-10, no ruling; March run as a draft: Coevorden pays it by the rules
    (woonplaats), flagged contested. At stake: March 31 d x 105.50 = 3,270.50, Coevorden."""
    data, toml = base_data()
    data["disputes.csv"] = _rows("dispute,placement,raised_by,raised_on,subject",
                                 ("D1", "P6", "0109", "2024-03-10", "Wie betaalt P6?"))
    monkeypatch.setenv("SETTLEMENT_NOW", "2024-04-10T10:00:00+00:00")
    cli(db_url, "init")
    cli(db_url, "load", str(write(tmp_path / "d", data, toml)))
    cli(db_url, "run", "--month", "2024-03")
    html = cli(db_url, "explain", "--dispute", "D1", "--format", "html")
    assert "D1 · aanhangig (nog geen uitspraak)" in text_of(html)
    assert "Nog geen uitspraak." in text_of(html) and "Correcties en documenten" not in html
    stake = section(html, '<table class="calc stake">', "</table>")
    assert stake == ("Maand Coevorden (0109) Samen Stand maart 2024 € 3.270,50 € 3.270,50 concept (nog niet "
                     "definitief) Op het spel € 3.270,50 € 3.270,50")
    months = section(html, '<table class="summary-lines per-month">', "</table>")
    assert "Coevorden (0109) betwist Woonplaatsbeginsel" in months
    assert json.loads(cli(db_url, "explain", "--dispute", "D1", "--format", "json"))["status"] == "open"

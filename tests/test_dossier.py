"""The geschillencommissie's dossier (`settle explain --format html|pdf`) on the demo data.

For every basis of RULES.md the dossier of a scenario client with that basis names the deciding
rule (Dutch title and reference, with its Dutch reason) and every rule that did not apply with its
Dutch reason; BSNs only with --with-bsn (and then with the warning); a municipality's dossier
groups by basis and links each line to its explanation; --placement and --from/--to; the PDF is a
PDF, readable, and the same bytes every time; mistakes are one sentence.
"""

from __future__ import annotations

import csv
import html as htmllib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from settlement import nl, service, trace
from settlement.cli import main
from tests.demo_generator import SCENARIOS
from settlement.demo.run import DATA, run_demo
from settlement.dossier import build, gather
from settlement.dossier.words import Names, reason_nl, rule_title
from settlement.engine import BASES
from settlement.money import parse_euros
from settlement.periods import Month

KEY = "test-dossier-key-0123456789abcdefghijklmnop"
BSN_WARNING = "Dit dossier bevat burgerservicenummers"
needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils (pdftotext)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo: every month of 2023-2024 settled and finalised, in an SQLite file."""
    out = tmp_path_factory.mktemp("dossier")
    saved = os.environ.get("SETTLEMENT_BSN_KEY")
    os.environ["SETTLEMENT_BSN_KEY"] = KEY
    try:
        run_demo(out, echo=lambda *_: None, documents=[])
        yield f"sqlite:///{out / 'demo.db'}"
    finally:
        if saved is None:
            os.environ.pop("SETTLEMENT_BSN_KEY", None)
        else:
            os.environ["SETTLEMENT_BSN_KEY"] = saved


def explain(db_url: str, *args: str):
    return CliRunner().invoke(main, ["--db", db_url, "explain", *args])


def ok(db_url: str, *args: str) -> str:
    r = explain(db_url, *args)
    assert r.exit_code == 0, r.output
    return r.output


def plain(markup: str) -> str:
    """What a reader sees of an HTML fragment: no tags, entities resolved, spaces collapsed."""
    markup = re.sub(r"<style>.*?</style>", " ", markup, flags=re.S)
    markup = re.sub(r"<svg.*?</svg>", " ", markup, flags=re.S)
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def article(markup: str, anchor: str) -> str:
    m = re.search(rf'<article class="line[^"]*" id="{re.escape(anchor)}">(.*?)</article>', markup, re.S)
    assert m, f"no explanation with id {anchor}"
    return m.group(1)


BSNS = {r["client"]: r["bsn"] for r in csv.DictReader((DATA / "clients.csv").open(encoding="utf-8"))}


def scenario_of_basis(db_url: str, basis: str) -> tuple[str, str]:
    """The first scenario client (and its first month) with a line of this basis."""
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT line.client, run.month FROM line JOIN run ON run.id = line.run_id "
                                 "WHERE line.basis = :b ORDER BY line.client, run.month"), {"b": basis}).all()
    engine.dispose()
    found = [(c, m) for c, m in rows if c in SCENARIOS]
    assert found, f"no scenario client has basis {basis}"
    return found[0]


@pytest.mark.parametrize("basis", [b for b in BASES if b != "ruling"])  # no ruling in the demo: tests/test_rulings.py
def test_every_basis_names_the_deciding_rule_and_every_rejected_rule(demo, basis):
    client, month = scenario_of_basis(demo, basis)
    markup = ok(demo, "--month", month, "--client", client, "--format", "html")
    sel = gather(service.open_db(demo), "client", client, [Month.parse(month)])
    names = Names(sel.ds)
    entries = [e for e in sel.entries if e.line.basis == basis]
    assert entries
    for e in entries:
        part = article(markup, build.line_anchor(e))
        seen = plain(part)
        steps = e.line.trace["steps"]
        decided = trace.decided_step(e.line.trace)
        assert decided is not None, f"{client} {month}: no deciding step for basis {basis}"
        assert sum(bool(s.get("decided")) for s in steps) == 1
        box = plain(re.search(r'<div class="decision">(.*?)<h4>', part, re.S).group(1))
        assert "Beslissende regel" in box
        assert rule_title(decided["rule"], sel.agreements) in box
        assert trace.reference_text(decided) in box
        assert reason_nl(decided, names, sel.agreements) in box
        for s in steps:  # every rule in order, with reference and (for rejected rules) the Dutch reason
            assert rule_title(s["rule"], sel.agreements) in seen
            assert trace.reference_text(s) in seen
            if not s["applies"]:
                assert reason_nl(s, names, sel.agreements) in seen
        assert plain(f"<x>{nl.basis_label(basis)}</x>") in seen


def test_late_notification_dossier_reads_as_the_committee_needs(demo):
    """C0030 (2023-07): Assen resident in Leeuwarden, notified 21 days late; Leeuwarden pays 9 days."""
    markup = ok(demo, "--month", "2023-07", "--client", "C0030", "--format", "html")
    seen = plain(markup)
    svg = re.search(r"<svg.*?</svg>", markup, re.S).group(0)  # the timeline, drawn from the data and traces
    for words in ("overgang Leeuwarden, Noord- en Midden-Drenthe (1 jan 2023)", "termijn 19 jun 2023",
                  "gemeld 10 jul 2023", "‹ Assen", "Leeuwarden", "P00033 BW-NABIJ", "10 mei 2023",
                  "terugkijkvenster van P00033", "herinstroomvenster na P00033", "afgerekend"):
        assert htmllib.escape(words, quote=False) in svg, words
    for words in ("Interregionale werkafspraak ‘eagle’",
                  "Assen (0106) is gemeld op 10 juli 2023, na de termijn (uiterlijk 19 juni 2023)",
                  "Woonplaatsbeginsel: het woonadres op de dag vóór de start",
                  "woonadres in Assen (0106) op 4 juni 2023, de dag vóór de start",
                  "wetsvoorstel 36288, art. 1.2.1a lid 1",
                  "19 juni 2023 (start + 14 dagen)", "10 juli 2023: 21 dagen na de termijn",
                  "in juli 2023 gaan 9 dagen (1 t/m 9 juli 2023) naar Leeuwarden (0080)",
                  "57.831 30/31 cent", "€ 578,32", "€ 1.413,67", "€ 1.991,99",
                  "brp.csv:73", "notifications.csv:5", "applications.csv:28",
                  "Input-hash", "Afspraken-hash", "Export-hash", "Engineversie", "Regelversie"):
        assert words in seen, words
    assert BSN_WARNING not in seen


def test_tariff_arithmetic_and_pool_shares(demo):
    """C0001 in 2023-07: 31 days x 132.40 = 4104.40, pooled; the pool's shares by largest remainder."""
    markup = ok(demo, "--month", "2023-07", "--client", "C0001", "--format", "html")
    seen = plain(markup)
    assert "€ 132,40 × 31 dagen" in seen and "410.440 cent is al een heel aantal centen" in seen
    assert ("Solidariteit historisch budget IJssel-Vecht (Solidariteitspool ‘ijv-solidariteit-historisch’): "
            "verdeling in juli 2023") in seen  # the agreement's name, then its kind and id
    js = json.loads(ok(demo, "--month", "2023-07", "--municipality", "0166", "--format", "json"))
    (share,) = js["pool_shares"]
    # a budget pool (RULES.md §5.3): its total is the month's result, costs minus the month budget
    assert f"Het resultaat van de pool in juli 2023 is {nl.euro(parse_euros(share['total']))}" in seen
    anchors = set(re.findall(r'id="([^"]+)"', markup))
    assert all(h in anchors for h in re.findall(r'href="#([^"]+)"', markup))


def test_no_bsn_without_with_bsn_and_a_warning_with_it(demo, tmp_path, monkeypatch):
    bsn = BSNS["C0030"]
    monkeypatch.delenv("SETTLEMENT_BSN_KEY")  # a dossier without BSNs needs no key
    markup = ok(demo, "--month", "2023-07", "--client", "C0030", "--format", "html")
    assert bsn not in markup and BSN_WARNING not in markup
    r = explain(demo, "--month", "2023-07", "--client", "C0030", "--format", "html", "--with-bsn")
    assert r.exit_code == 1 and "SETTLEMENT_BSN_KEY" in r.output and "Traceback" not in r.output
    monkeypatch.setenv("SETTLEMENT_BSN_KEY", KEY)
    with_bsn = ok(demo, "--month", "2023-07", "--client", "C0030", "--format", "html", "--with-bsn")
    assert bsn in with_bsn and BSN_WARNING in plain(with_bsn)
    assert with_bsn.index(BSN_WARNING) < with_bsn.index("Ontvangstbewijs")  # on the first page, up front
    for fmt in ("text", "json"):
        assert bsn not in ok(demo, "--month", "2023-07", "--client", "C0030", "--format", fmt)
        r = explain(demo, "--month", "2023-07", "--client", "C0030", "--format", fmt, "--with-bsn")
        assert r.exit_code == 2 and "never show a BSN" in r.output
    # a municipality's dossier names many clients: none of their BSNs
    markup = ok(demo, "--month", "2023-07", "--municipality", "0166", "--format", "html")
    assert not any(b in markup for b in BSNS.values())


@needs_poppler
def test_pdf_without_bsn_anywhere_and_with_bsn_warned(demo, tmp_path):
    bsn = BSNS["C0030"]
    out = tmp_path / "c0030.pdf"
    ok(demo, "--month", "2023-07", "--client", "C0030", "--format", "pdf", "--out", str(out))
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert bsn.encode() not in _inflated(data)
    seen = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    meta = subprocess.run(["pdfinfo", "-meta", str(out)], capture_output=True, text=True, check=True).stdout
    assert "C0030" in seen and bsn not in seen and bsn not in meta and BSN_WARNING not in seen
    assert "Dossier geschillencommissie – cliënt C0030 – juli 2023" in meta
    warned = tmp_path / "c0030-bsn.pdf"
    ok(demo, "--month", "2023-07", "--client", "C0030", "--format", "pdf", "--out", str(warned), "--with-bsn")
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(warned), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert BSN_WARNING in " ".join(first.split())
    meta = subprocess.run(["pdfinfo", "-meta", str(warned)], capture_output=True, text=True, check=True).stdout
    assert bsn in subprocess.run(["pdftotext", str(warned), "-"], capture_output=True, text=True).stdout
    assert bsn not in meta  # the metadata never carries a BSN


def _inflated(data: bytes) -> bytes:
    """The PDF with its compressed streams inflated, to search what a reader cannot see either."""
    out = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            out.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    return b"\n".join(out)


@needs_poppler
def test_pdf_is_reproducible_and_dated_by_the_run(demo, tmp_path):
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    ok(demo, "--month", "2023-07", "--client", "C0030", "--format", "pdf", "--out", str(a))
    ok(demo, "--month", "2023-07", "--client", "C0030", "--format", "pdf", "--out", str(b))
    assert a.read_bytes() == b.read_bytes()
    engine = create_engine(demo)
    with engine.connect() as conn:
        finalized = conn.execute(text("SELECT finalized_at FROM run WHERE month = '2023-07' AND kind = 'final'")).scalar()
    engine.dispose()
    day = str(finalized)[:10]
    meta = subprocess.run(["pdfinfo", "-meta", str(a)], capture_output=True, text=True, check=True).stdout
    assert f"<xmp:CreateDate>{day}</xmp:CreateDate>" in meta


def test_municipality_groups_by_basis_and_links_every_line(demo, tmp_path):
    markup = ok(demo, "--month", "2023-07", "--municipality", "0166", "--format", "html")
    js = json.loads(ok(demo, "--month", "2023-07", "--municipality", "0166", "--format", "json"))
    bases = {t["decision"]["basis<2023-07>"] for t in js["traces"]}
    assert {"pool", "woonplaats"} <= bases
    summary = markup[markup.index("Overzicht van de kostenregels"):markup.index('<section class="client"')]
    headings = [plain(h) for h in re.findall(r"<h3>(.*?)</h3>", summary, re.S)]
    for basis in bases:
        assert any(h.startswith(nl.basis_label(basis)) for h in headings), basis
    order = [next(b for b in bases if h.startswith(nl.basis_label(b))) for h in headings
             if any(h.startswith(nl.basis_label(b)) for b in bases)]
    assert order == sorted(order, key=nl.BASIS_ORDER.index)  # one group per basis, in order
    links = re.findall(r'<a href="#(regel-[^"]+)">\d+</a>', summary)
    assert len(links) == len(js["traces"])  # every line it pays (or shares in) is linked ...
    ids = re.findall(r'id="([^"]+)"', markup)
    anchors = set(ids)
    assert len(ids) == len(anchors)  # every anchor names one place
    assert set(links) <= anchors  # ... to its explanation further on
    assert all(markup.index(f'id="{a}"') > markup.index(f'href="#{a}"') for a in links)
    assert "Aandelen in pools" in plain(summary) and "Totaal dat de gemeente draagt" in plain(markup)
    text_out = ok(demo, "--month", "2023-07", "--municipality", "0166")
    assert text_out.startswith("Municipality 0166 Kampen, 2023-07") and "Basis pool" in text_out


@needs_poppler
def test_municipality_pdf_has_internal_links(demo, tmp_path):
    out = tmp_path / "m.pdf"
    ok(demo, "--month", "2023-07", "--municipality", "0109", "--format", "pdf", "--out", str(out))
    assert b"/Link" in _inflated(out.read_bytes())


def test_placement_shows_only_that_placements_lines(demo):
    """C0044: BW-INTRA until 2023-07-14, BEGELEID from 2023-07-15; July has a line of each."""
    js = json.loads(ok(demo, "--month", "2023-07", "--client", "C0044", "--format", "json"))
    placements = sorted({t["placement"] for t in js["traces"]})
    assert len(placements) == 2
    one, other = placements
    markup = ok(demo, "--month", "2023-07", "--placement", one, "--format", "html")
    articles = re.findall(r'<article class="line[^"]*" id="([^"]+)"', markup)
    assert articles and all(one in a for a in articles) and not any(other in a for a in articles)
    assert "Feiten van cliënt C0044" in plain(markup)
    js = json.loads(ok(demo, "--month", "2023-07", "--placement", one, "--format", "json"))
    assert js["placement"] == one and {t["placement"] for t in js["traces"]} == {one}
    assert ok(demo, "--month", "2023-07", "--placement", one).startswith(f"Placement {one} (client C0044), 2023-07")


def test_period_has_one_section_per_month(demo):
    markup = ok(demo, "--from", "2023-06", "--to", "2023-08", "--client", "C0030", "--format", "html")
    seen = plain(markup)
    for label in ("juni 2023", "juli 2023", "augustus 2023"):
        assert f"{label}: toelichting per kostenregel" in seen
    assert seen.count("Feiten van cliënt C0030") == 1
    js = json.loads(ok(demo, "--from", "2023-06", "--to", "2023-08", "--client", "C0030", "--format", "json"))
    assert [m["month"] for m in js["months"]] == ["2023-06", "2023-07", "2023-08"]
    assert all(m["traces"] for m in js["months"])
    text_out = ok(demo, "--from", "2023-06", "--to", "2023-08", "--placement", "P00033")
    assert [l.split(":")[0] for l in text_out.splitlines() if l.startswith("Placement")] == [
        f"Placement P00033 (client C0030), {m}" for m in ("2023-06", "2023-07", "2023-08")]


@pytest.mark.parametrize("args, status, words", [
    (["--month", "2023-07", "--client", "C9999", "--format", "html"], 2, "unknown client 'C9999'"),
    (["--month", "2019-01", "--client", "C0030", "--format", "html"], 2, "no run for 2019-01"),
    (["--from", "2024-11", "--to", "2025-02", "--client", "C0030"], 2, "no run for 2025-01"),
    (["--month", "2023-07", "--client", "C0030", "--municipality", "0106"], 2, "exactly one of"),
    (["--month", "2023-07"], 2, "exactly one of"),
    (["--client", "C0030"], 2, "give --month"),
    (["--month", "2023-07", "--from", "2023-06", "--to", "2023-07", "--client", "C0030"], 2, "not both"),
    (["--from", "2023-08", "--to", "2023-06", "--client", "C0030"], 2, "lies after"),
    (["--month", "2023-13", "--client", "C0030"], 2, "not a month"),
    (["--month", "2023-07", "--municipality", "9999", "--format", "pdf"], 2, "unknown municipality code"),
])
def test_mistakes_are_one_sentence(demo, args, status, words):
    r = explain(demo, *args)
    assert r.exit_code == status, r.output
    assert words in r.output and "Traceback" not in r.output
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit)
    if "Usage:" not in r.output:  # not a usage error (those print the usage): one sentence
        (line,) = r.output.strip().splitlines()
        assert line.startswith("error: ")


def test_a_month_with_a_finalised_correction_shows_both_runs(demo, tmp_path):
    """A declaration for C0013's P00013 in 2024-01 after finalisation: the dossier shows the final
    line and the correction line (as such), and both runs' receipts. January 2024, as the demo's
    ruling already corrected February-April (RULES.md §4.0): a month with only its final run. By
    hand: 31 days x 139.85 = 4,335.35 replaced by the declaration 4,000.00, a correction of -335.35."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    with (data / "declarations.csv").open("a", encoding="utf-8") as fh:
        fh.write("P00013,2024-01,4000.00\n")
    copy = tmp_path / "correction.db"
    with sqlite3.connect(demo.removeprefix("sqlite:///")) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    db = f"sqlite:///{copy}"
    runner = CliRunner()
    for args in (["load", str(data)], ["run", "--month", "2024-01"]):
        r = runner.invoke(main, ["--db", db, *args])
        assert r.exit_code == 0, r.output
    pending = plain(ok(db, "--month", "2024-01", "--client", "C0013", "--format", "html"))
    assert "concept-correctierun" in pending and "Correctieregel" not in pending
    assert runner.invoke(main, ["--db", db, "finalize", "--month", "2024-01"]).exit_code == 0
    seen = plain(ok(db, "--month", "2024-01", "--client", "C0013", "--format", "html"))
    assert "Correctieregel" in seen and "correctie op definitieve run" in seen
    assert "€ -335,35" in seen or "-€ 335,35" in seen
    assert seen.count("Engineversie") == 2  # the final run and the correction run


def test_traces_contain_no_bsn(demo):
    engine = create_engine(demo)
    with engine.connect() as conn:
        traces = [t for (t,) in conn.execute(text("SELECT trace FROM line"))]
        parts = [b for (e, z) in conn.execute(text("SELECT encoding, body FROM trace_bundle"))  # the steps, once
                 for b in trace.unbundle(e, bytes(z)).values()]
    engine.dispose()
    bsns = set(BSNS.values())
    assert traces and parts
    assert not any(b in t for t in traces + parts for b in bsns)


def test_trace_doc_shows_a_real_trace_and_every_phrase_code(demo):
    from settlement import phrases
    doc = (Path(__file__).resolve().parent.parent / "docs" / "TRACE.md").read_text(encoding="utf-8")
    example = doc[doc.index("and the first trace, complete"):]
    example = example[example.index("```json") + len("```json"):]
    example = json.loads(example[:example.index("```")])
    js = json.loads(ok(demo, "--month", "2023-07", "--client", "C0030", "--format", "json"))
    assert example == js["traces"][0]
    assert all(f"`{code}`" in doc for code in phrases.EN)


REENTRY = [c for c in ("C0016", "C0017", "C0018", "C0037", "C0044") if c in SCENARIOS]  # generate.py: reentry


def _reentry_month(db_url: str, client: str) -> str:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        (month,) = conn.execute(text("SELECT min(run.month) FROM line JOIN run ON run.id = line.run_id WHERE "
                                     "line.client = :c AND line.basis = 'reentry'"), {"c": client}).one()
    engine.dispose()
    return month


@pytest.mark.parametrize("client", REENTRY)
def test_a_reentry_shows_the_earlier_placements_stored_decision(demo, client, monkeypatch):
    """The reentry step depends on `decision<P…>`: the dossier shows which rule decided that earlier
    placement and what it read, from the earlier placement's stored trace (no recomputation)."""
    from settlement.engine import Engine
    month = _reentry_month(demo, client)
    sel = gather(service.open_db(demo), "client", client, [Month.parse(month)])
    (e,) = [e for e in sel.entries if e.line.basis == "reentry"][:1]
    step = trace.decided_step(e.line.trace)
    earlier = step["outcome"]["earlier_placement"]
    assert step["depends_on"] == [f"decision<{earlier}>"]
    stored = sel.earlier_decision(earlier)  # a line of the earlier placement in a stored run
    assert stored.line.placement == earlier and stored.run.kind == "final"

    def no_recomputation(*_args, **_kw):
        raise AssertionError("the dossier recomputed a month")
    monkeypatch.setattr(Engine, "__init__", no_recomputation)
    box = plain(re.search(r'<div class="decision">(.*?)<h4>',
                          article(ok(demo, "--month", month, "--client", client, "--format", "html"),
                                  build.line_anchor(e)), re.S).group(1))
    assert f"Eerdere plaatsing {earlier}: " in box and f"opgeslagen trace van run {stored.run.id}" in box
    how = step["why"]["params"]["how"]
    rule = {"responsible_payer": how["params"].get("basis"), "responsible_historic": "historic",
            "responsible_pooled": how["params"].get("agreement")}[how["code"]]
    decided = next(s for s in stored.line.trace["steps"] if s["rule"] == rule and s["applies"])
    assert f"Eerdere plaatsing {earlier}: {rule} ({rule_title(rule, sel.agreements)}): " in box
    for r in decided["read"]:
        assert trace.record_label(r["record"]) in box


def test_the_earlier_decisions_hand_checked(demo):
    """C0018 (generate.py): BW-NABIJ P00020 in IJssel-Vecht, woonadres Kampen, ended 2023-05-31;
    BW-INTRA from 2023-10-01 is a reentry: Kampen pays, as the BRP record brp.csv:37 made Kampen
    responsible for P00020. C0016: P00016 in Groningen, woonadres Groningen (brp.csv:31)."""
    for client, month, text_ in (
            ("C0018", "2023-10", "Eerdere plaatsing P00020: woonplaats (Woonplaatsbeginsel: het woonadres op de dag "
                                 "vóór de start): woonadres in Kampen (0166) op 31 januari 2023, de dag vóór de "
                                 "start. Uit de opgeslagen trace van run 5 (mei 2023). Gelezen gegevens: brp.csv:37 "
                                 "BRP: woonadres in Kampen (0166), 1 september 2010 t/m 31 mei 2023"),
            ("C0016", "2023-11", "Eerdere plaatsing P00016: woonplaats (Woonplaatsbeginsel: het woonadres op de dag "
                                 "vóór de start): woonadres in Groningen (0014) op 31 januari 2023, de dag vóór de "
                                 "start. Uit de opgeslagen trace van run 8 (augustus 2023). Gelezen gegevens: "
                                 "brp.csv:31 BRP: woonadres in Groningen (0014), 1 juni 2016 t/m 31 augustus 2023")):
        seen = plain(ok(demo, "--month", month, "--client", client, "--format", "html"))
        assert text_ in seen, client


def test_an_earlier_placement_no_stored_run_holds_is_named(demo, tmp_path):
    """Only 2023-10 settled: no stored line of P00020 (it ended in May), so the dossier says so."""
    db = f"sqlite:///{tmp_path / 'one.db'}"
    for args in (["init"], ["load", str(DATA)], ["run", "--month", "2023-10"]):
        r = CliRunner().invoke(main, ["--db", db, *args])
        assert r.exit_code == 0, r.output
    seen = plain(ok(db, "--month", "2023-10", "--client", "C0018", "--format", "html"))
    assert "Eerdere plaatsing P00020: geen opgeslagen run bevat een regel van deze plaatsing" in seen


def test_every_reference_shows_the_catalogues_sources(demo):
    """C0018's reentry: beside the citation the catalogue's sources, with lid and link."""
    from settlement import references
    seen = plain(ok(demo, "--month", "2023-10", "--client", "C0018", "--format", "html"))
    assert "wetsvoorstel 36288, art. 1.2.1a, lid 1 sub a · https://zoek.officielebekendmakingen.nl/kst-36288-2.html" \
        in seen
    markup = ok(demo, "--month", "2024-03", "--client", "C0026", "--format", "html")
    assert "Wet maatschappelijke ondersteuning 2015, art. 1.2.1 (geldig vanaf 1 januari 2015)" in plain(markup)
    assert '<a href="https://wetten.overheid.nl/BWBR0035362/">' in markup
    assert references.sources("rules/reentry")[0]["lid"] == "lid 1 sub a"


def test_the_lean_user_agent_stylesheet_changes_no_byte_of_a_dossier(demo, monkeypatch, tmp_path):
    """A dossier is laid out with templates/documents-ua.css as its user-agent stylesheet, as the
    statements are: the same PDF bytes as with WeasyPrint's full HTML5 sheet, for a client's dossier
    with a correction, a municipality's, and a dispute's."""
    import weasyprint
    from settlement.documents import render
    questions = [("--month", "2024-01", "--client", "C0013"), ("--month", "2024-03", "--municipality", "0193"),
                 ("--dispute", "G2024-01")]

    def pdfs(tag):
        out = []
        for i, q in enumerate(questions):
            path = tmp_path / f"{tag}-{i}.pdf"
            ok(demo, *q, "--format", "pdf", "--out", str(path))
            out.append(path.read_bytes())
        return out

    assert render._lean_html() is not weasyprint.HTML
    lean = pdfs("lean")
    monkeypatch.setattr(render, "_lean_html", lambda: weasyprint.HTML)
    full = pdfs("full")
    assert all(d.startswith(b"%PDF") for d in lean)
    assert lean == full

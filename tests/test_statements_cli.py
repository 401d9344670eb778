"""`settle finalize` and `settle statements` end to end: the PDFs exist, carry the figures of
the export, and show a BSN only to the municipality that pays for that client itself."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from settlement.cli import main
from settlement.demo.run import DATA

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")
MONTH = "2024-12"


def settle(db_url, *args):
    r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def test_statements_show_bsn_only_to_the_paying_municipality(db_url, tmp_path):
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    export = json.loads(settle(db_url, "export", "--month", MONTH))
    out = tmp_path / "docs"
    settle(db_url, "statements", "--month", MONTH, "--out", str(out))

    with (DATA / "clients.csv").open(encoding="utf-8") as f:
        bsn = {r["client"]: r["bsn"] for r in csv.DictReader(f)}
    codes = sorted(export["totals"])
    assert sorted(p.name for p in out.glob("afrekening-*.pdf")) == [f"afrekening-{MONTH}-{c}.pdf" for c in codes]
    assert len(list(out.glob("factuur-*.pdf"))) == len(export["invoices"])
    every_bsn = set(bsn.values())
    for code in codes:
        text = subprocess.run(["pdftotext", "-layout", str(out / f"afrekening-{MONTH}-{code}.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        own = {bsn[l["client"]] for l in export["lines"] if l["payer"] == code and l["pool"] is None}
        shown = set(re.findall(r"\b\d{9}\b", text)) & every_bsn
        assert shown == own, code
        payable = export["totals"][code]["payable"]
        whole, cents = payable.split(".")
        assert f"€ {int(whole):,}".replace(",", ".") + f",{cents}" in text, code
    assert "maart" not in settle(db_url, "statements", "--month", MONTH, "--out", str(out))


def test_statements_of_a_month_that_is_not_final(db_url, tmp_path):
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))
    settle(db_url, "run", "--month", MONTH)
    r = CliRunner().invoke(main, ["--db", db_url, "statements", "--month", MONTH, "--out", str(tmp_path)])
    assert r.exit_code == 1 and "Traceback" not in r.output and "final" in r.output

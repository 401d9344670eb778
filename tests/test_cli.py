"""End to end through the command line, on SQLite and PostgreSQL, with the bundled demo data."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from settlement import db
from settlement.cli import main
from settlement.demo.run import DATA

MONTH = "2024-03"


def settle(db_url: str, *args: str):
    result = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    return result


def counts(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        out = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
               for t in db.metadata.sorted_tables}
    engine.dispose()
    return out


@pytest.fixture
def loaded(db_url):
    assert settle(db_url, "init").exit_code == 0
    r = settle(db_url, "load", str(DATA))
    assert r.exit_code == 0, r.output
    return db_url


def test_commands_need_init(db_url):
    r = settle(db_url, "load", str(DATA))
    assert r.exit_code == 1
    assert "settle init" in r.output
    assert "Traceback" not in r.output


def test_load_twice_changes_nothing(loaded):
    before = counts(loaded)
    r = settle(loaded, "load", str(DATA))
    assert r.exit_code == 0 and "unchanged" in r.output
    assert counts(loaded) == before


def test_refused_dataset_leaves_database_as_it_was(loaded, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(DATA, bad)
    brp = (bad / "brp.csv").read_text(encoding="utf-8").splitlines()
    cells = brp[2].split(",")
    header = brp[0].split(",")
    cells[header.index("valid_from")] = "2023-02-31"
    brp[2] = ",".join(cells)
    (bad / "brp.csv").write_text("\n".join(brp) + "\n", encoding="utf-8")
    before = counts(loaded)
    r = settle(loaded, "load", str(bad))
    assert r.exit_code == 2
    assert "brp.csv:3: valid_from:" in r.output
    assert "Traceback" not in r.output
    assert counts(loaded) == before


def test_run_export_explain(loaded, tmp_path):
    r = settle(loaded, "run", "--month", MONTH)
    assert r.exit_code == 0, r.output
    assert "0193" in r.output and "payable" in r.output
    out = tmp_path / "export.json"
    assert settle(loaded, "export", "--month", MONTH, "--out", str(out)).exit_code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["format"] == "settlement-export/2" and doc["month"] == MONTH
    assert doc["input_hash"].startswith("sha256:")
    keys = [(l["placement"], l["payer"] or "", l["basis"]) for l in doc["lines"]]
    assert keys == sorted(keys)
    for line in doc["lines"]:
        assert (line["payer"] is None) == (line["basis"] == "pool") == (line["pool"] is not None)
        assert line["flags"] == sorted(line["flags"])
        whole, cents = line["amount"].split(".")
        assert len(cents) == 2
    cents = lambda s: int(s.replace(".", ""))
    # conservation with the budget pools' B(M) (RULES.md §5.3): IJssel-Vecht's B(2024-03) = 89625.84
    budgets = sum(cents(p["budget"]) for p in doc["pools"])
    assert budgets == 8962584
    assert sum(cents(l["amount"]) for l in doc["lines"]) == \
        sum(cents(t["payable"]) for t in doc["totals"].values()) + budgets
    # stdout export equals the file, byte for byte, and a re-run gives the same export but for
    # the id of its new draft run
    assert settle(loaded, "export", "--month", MONTH).output == out.read_text(encoding="utf-8")
    assert settle(loaded, "run", "--month", MONTH).exit_code == 0
    again = settle(loaded, "export", "--month", MONTH).output
    new_id = json.loads(again)["run"]["id"]
    assert again.replace(f'"id": {new_id},', f'"id": {doc["run"]["id"]},', 1) == out.read_text(encoding="utf-8")

    client = doc["lines"][0]["client"]
    text = settle(loaded, "explain", "--month", MONTH, "--client", client)
    assert text.exit_code == 0 and f"Client {client}" in text.output and "APPLIES" in text.output
    js = json.loads(settle(loaded, "explain", "--month", MONTH, "--client", client, "--format", "json").output)
    assert js["traces"] and all(t["format"] == "settlement-trace/2" for t in js["traces"])


def test_bad_month_is_a_usage_error(loaded):
    r = settle(loaded, "run", "--month", "2024-13")
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_export_without_run(loaded):
    r = settle(loaded, "export", "--month", "2019-01")
    assert r.exit_code == 2 and "settle run" in r.output  # a month without runs is refused input

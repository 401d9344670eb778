"""RULES.md v2 §2, INTERFACE.md v2 `placements.contractor`: the municipality that contracted and
paid the provider is the creditor of the placement's lines; without one, the care region's
centrumgemeente. A line whose payer is its creditor is paid by no invoice. And a centrumgemeente
need not be a member of its region (Assen keeps the Zuid-West region's historic clients [002]).

Figures by hand: BW-INTRA EUR 100.00 a day (tests/builders.py), March 2023 has 31 days: 310,000
cents a line. Region zuid: centrumgemeente 0114 (Emmen), members 0114 and 0109 (Coevorden).
"""

from __future__ import annotations

import csv

from settlement.loader import load_dir
from tests.builders import settle, world
from tests.test_loader import base_data, write


def new_client(w, client, woonplaats):
    return w.client(client, brp=[("woonadres", woonplaats, "2000-01-01", None)])


def test_the_contractor_is_the_creditor_and_invoices_the_payer():
    w = new_client(world(), "N1", "0114").placement("P1", "N1", "BW-INTRA", "zuid", "2023-03-01", contractor="0109")
    r = settle(w, "2023-03")
    [line] = r.lines
    assert (line.status, line.basis, line.payer, line.creditor, line.amount) == ("new", "woonplaats", "0114", "0109", 310_000)
    assert line.trace["decision"]["creditor"] == "0109"
    assert r.invoices == [("0109", "0114", 310_000)]  # not from Emmen, the centrumgemeente
    assert r.totals["0109"] == (0, 310_000) and r.totals["0114"] == (310_000, 0)


def test_a_line_whose_payer_contracted_it_is_paid_by_no_invoice():
    w = new_client(world(), "N2", "0109").placement("P2", "N2", "BW-INTRA", "zuid", "2023-03-01", contractor="0109")
    r = settle(w, "2023-03")
    [line] = r.lines
    assert (line.payer, line.creditor) == ("0109", "0109")
    assert r.invoices == []
    assert r.totals["0109"] == (310_000, 0)  # it bears the cost, owes nobody


def test_without_a_contractor_the_centrumgemeente_is_the_creditor_as_before():
    w = new_client(world(), "N3", "0109").placement("P3", "N3", "BW-INTRA", "zuid", "2023-03-01")
    r = settle(w, "2023-03")
    assert r.lines[0].creditor == "0114" and r.invoices == [("0114", "0109", 310_000)]
    assert "contractor" not in r.lines[0].trace["steps"][0]["read"][0]  # the placement record as before


def _with_contractor(data, values):
    rows = data["placements.csv"]
    rows[0].append("contractor")
    for row in rows[1:]:
        row.append(values.get(row[0], ""))


def test_the_contractor_column_is_optional_and_an_empty_one_hashes_as_none(tmp_path):
    data, toml = base_data()
    plain, _ = load_dir(write(tmp_path / "plain", data, toml))
    _with_contractor(data, {})
    empty, _ = load_dir(write(tmp_path / "empty", data, toml))
    assert empty.input_hash == plain.input_hash
    first = sorted(plain.placements)[0]
    _with_contractor(data := base_data()[0], {first: "0109"})
    used, _ = load_dir(write(tmp_path / "used", data, toml))
    assert used.placements[first].contractor == "0109" and used.input_hash != plain.input_hash


def test_an_unknown_or_malformed_contractor_is_refused_with_file_line_and_column(tmp_path):
    import pytest
    from settlement.loader import LoadError
    data, toml = base_data()
    first = data["placements.csv"][1][0]
    second = data["placements.csv"][2][0]
    _with_contractor(data, {first: "0999", second: "109"})
    with pytest.raises(LoadError) as e:
        load_dir(write(tmp_path / "bad", data, toml))
    text = "\n".join(e.value.problems)
    assert "placements.csv:2: contractor: unknown municipality code 0999 (not in municipalities.csv)" in text
    assert "placements.csv:3: contractor: 109 is not a 4-digit CBS municipality code" in text


def test_a_centrumgemeente_that_is_not_a_member_of_its_region_is_accepted(tmp_path):
    data, toml = base_data()
    regions = data["regions.csv"]
    regions[2][regions[0].index("centrumgemeente")] = "0193"  # Zwolle for Zuidoost-Drenthe: not a member
    ds, _ = load_dir(write(tmp_path / "d", data, toml))
    assert ds.regions["zuidoost-drenthe"].centrumgemeente == "0193"

"""The synthetic national dataset (settlement/synth.py): deterministic, valid, national in shape,
and it loads and settles."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from settlement import outputs, synth
from settlement.engine import Engine
from settlement.loader import load_dir
from settlement.periods import Month

SMALL = 300
LARGE = 2000  # enough placements for a stable cross-region share


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth300")
    synth.generate(out, SMALL, seed=11)
    return out


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth2000")
    synth.generate(out, LARGE)
    return out


def rows(directory: Path, name: str) -> list[dict[str, str]]:
    with open(directory / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_same_clients_and_seed_give_the_same_bytes(small, tmp_path):
    again = tmp_path / "again"
    synth.generate(again, SMALL, seed=11)
    names = sorted(p.name for p in small.iterdir() if p.name != outputs.MANIFEST)
    assert names == sorted(p.name for p in again.iterdir() if p.name != outputs.MANIFEST)
    assert "agreements.toml" in names and len(names) == 13
    assert sorted(outputs.recorded(small)) == names  # beside them, the list of the files it wrote
    for name in names:
        assert (small / name).read_bytes() == (again / name).read_bytes(), name
    other = tmp_path / "other"
    synth.generate(other, SMALL, seed=12)
    assert (other / "placements.csv").read_bytes() != (small / "placements.csv").read_bytes()


def test_the_first_clients_do_not_depend_on_n(small, tmp_path):
    fewer = tmp_path / "fewer"
    synth.generate(fewer, 50, seed=11)
    assert rows(fewer, "clients.csv") == rows(small, "clients.csv")[:50]
    assert rows(fewer, "placements.csv") == [p for p in rows(small, "placements.csv") if int(p["client"][1:]) <= 50]


def test_342_municipalities_in_43_regions_each_with_its_centrumgemeente():
    codes = [m.code for m in synth.MUNICIPALITIES]
    assert len(codes) == 342 and len(set(codes)) == 342 and all(len(c) == 4 and c.isdigit() for c in codes)
    known = {"0363": "Amsterdam", "0599": "Rotterdam", "0518": "'s-Gravenhage", "0344": "Utrecht",
             "0014": "Groningen", "0193": "Zwolle", "0796": "'s-Hertogenbosch", "0772": "Eindhoven",
             "0080": "Leeuwarden", "0935": "Maastricht", "1992": "Voorne aan Zee", "1980": "Dijk en Waard"}
    assert {c: synth.MUNICIPALITY[c].name for c in known} == known
    assert len(synth.REGIONS) == 43
    members = [c for r in synth.REGIONS.values() for c in r[4]]
    assert sorted(members) == sorted(codes)  # every municipality in exactly one region
    for slug, (_, cg, _, _, region_members) in synth.REGIONS.items():
        assert cg in region_members, slug
    assert len({r[1] for r in synth.REGIONS.values()}) == 43


def test_the_dataset_loads_whole(small):
    ds, agreements = load_dir(small)
    assert len(ds.municipalities) == 342 and len(ds.regions) == 43
    members = defaultdict(set)
    for m in ds.members:
        members[m.region].add(m.municipality)
    assert all(r.centrumgemeente in members[r.region] for r in ds.regions.values())
    assert sum(len(v) for v in members.values()) == 342
    assert len(ds.clients) == SMALL
    domains = {ds.products[p.product].domain for p in ds.placements.values()}
    assert domains == {"BW", "MO", "WMO"}
    kinds = {a.kind for a in agreements}
    assert kinds == {"pool", "interregional"}
    assert {r.kind for r in ds.registrations} == {"woonadres", "institution", "briefadres", "abroad"}


def test_every_month_settles(small):
    ds, agreements = load_dir(small)
    engine = Engine(ds, agreements)
    bases, flags, month = set(), set(), Month(2023, 1)
    while month <= Month(2024, 12):
        result = engine.settle(month)  # raises on any problem of the data
        assert result.lines, month
        bases |= {line.basis for line in result.lines}
        flags |= {f for line in result.lines for f in line.flags}
        month = month.next()
    assert {"mo", "historic", "pool", "woonplaats", "woonplaats_before_institution", "vangnet",
            "registration", "reentry"} <= bases
    assert {"vangnet", "no_interregional_agreement"} <= flags


def test_a_month_settles_through_the_database(small, tmp_path):
    from settlement import service
    engine = service.init(f"sqlite:///{tmp_path / 'synth.db'}")
    service.load(engine, small)
    outcome = service.run_months(engine, [Month(2024, 3)])[0]
    assert outcome.kind == "draft" and len(outcome.result.lines) > 50


def test_cross_region_share_between_5_and_10_percent(large):
    region_of = {m["municipality"]: m["region"] for m in rows(large, "region_members.csv")}
    woonadres = defaultdict(list)  # client -> [(valid_from, municipality)] in time order
    for r in rows(large, "brp.csv"):
        if r["kind"] == "woonadres":
            woonadres[r["client"]].append((r["valid_from"], r["municipality"]))
    counted = cross = 0
    for p in rows(large, "placements.csv"):
        day_before = (date.fromisoformat(p["start"]) - timedelta(days=1)).isoformat()
        before = [m for since, m in woonadres[p["client"]] if since <= day_before]
        if before:  # the last woonadres before the start
            counted += 1
            cross += region_of[before[-1]] != p["region"]
    assert counted > 2500
    assert 0.05 <= cross / counted <= 0.10, cross / counted


def test_identifiers_and_intervals_are_valid(large):
    from stdnum.nl import bsn
    bsns = [c["bsn"] for c in rows(large, "clients.csv")]
    assert len(set(bsns)) == LARGE and all(bsn.is_valid(b) and synth.bsn_valid(b) for b in bsns)
    assert all(synth.iban_valid(m["iban"]) for m in rows(large, "municipalities.csv"))
    # every municipality an OIN (INTERFACE.md v2) of a municipality's form: 00000001, an RSIN that begins
    # with 0 and passes the 11-proef, 000; each its own
    oins = [m["oin"] for m in rows(large, "municipalities.csv")]
    assert len(set(oins)) == 342 and all(re.fullmatch(r"000000010[0-9]{8}000", o) and bsn.is_valid(o[8:17])
                                         for o in oins)

    def no_overlaps(intervals):
        intervals = sorted(intervals)
        return all((prev_end or "9999") < start for (_, prev_end), (start, _) in pairwise(intervals))

    brp = defaultdict(list)
    for r in rows(large, "brp.csv"):
        brp[r["client"]].append((r["valid_from"], r["valid_to"]))
    assert all(no_overlaps(v) for v in brp.values())
    placements = defaultdict(list)
    for p in rows(large, "placements.csv"):
        placements[(p["client"], p["product"], p["region"])].append((p["start"], p["end"]))
        assert p["start"] >= "2016-01-01" and (p["end"] == "" or p["end"] <= "2024-12-31")
    assert all(no_overlaps(v) for v in placements.values())
    tariffs = defaultdict(list)
    for t in rows(large, "tariffs.csv"):
        tariffs[(t["product"], t["region"])].append((t["valid_from"], t["valid_to"]))
    assert len(tariffs) == 6 * 43
    for spans in tariffs.values():  # from 2015-01-01, contiguous, open at the end: every placement day
        spans.sort()
        assert spans[0][0] == "2015-01-01" and spans[-1][1] == ""
        for (_, end), (start, _) in pairwise(spans):
            assert (date.fromisoformat(end) + timedelta(days=1)).isoformat() == start


def test_the_national_shape(large):
    placements = rows(large, "placements.csv")
    products = {p["product"] for p in placements}
    assert products == {"BW-INTRA", "BW-NABIJ", "BEGELEID", "MO-24", "MO-NACHT", "THUIS-PLUS"}
    ended = sorted((date.fromisoformat(p["end"]) - date.fromisoformat(p["start"])).days + 1
                   for p in placements if p["product"] == "BW-INTRA" and p["end"])
    assert ended and 200 < ended[len(ended) // 2] < 1100  # censored at 2024-12-31: below the drawn 36 months
    per_client = defaultdict(int)
    for p in placements:
        per_client[p["client"]] += 1
    assert sum(1 for n in per_client.values() if n > 1) > LARGE // 10  # re-entries, step-downs, repeats
    text = (large / "agreements.toml").read_text()
    assert text.count('kind = "pool"') >= 3 and text.count('kind = "interregional"') >= 3
    notified = rows(large, "notifications.csv")
    assert notified

"""The bundled demonstration data: reproducible from its generator, and settled as its scenarios say."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from settlement.cli import main
from settlement.demo.run import DATA, months
from settlement.engine import Engine
from settlement.loader import load_dir
from tests import demo_generator
from tests.demo_generator import SCENARIOS, expected_outcomes, generate

ROOT = Path(__file__).resolve().parent.parent


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
        if basis == "pool":
            assert all(l.pool == "ijv-solidariteit-historisch" and l.payer is None for l in lines), pid
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


def test_demo_command(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(main, ["demo", "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "0193  Zwolle" in r.output
    for m in months():
        doc = json.loads((out / f"export-{m}.json").read_text(encoding="utf-8"))
        assert doc["month"] == str(m)
        assert (out / f"summary-{m}.txt").exists()
    pdfs = sorted(p.name for p in (out / "documents" / "2024-12").iterdir())
    assert "afrekening-2024-12-0193.pdf" in pdfs and any(n.startswith("factuur-0193-2024-") for n in pdfs)
    first = (out / "export-2024-07.json").read_bytes()
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
                          "vangnet", "registration", "late_notification"}
    assert seen_flags == {"vangnet", "late_notification", "no_interregional_agreement"}

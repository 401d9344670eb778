"""Trace format 2 (settlement/trace.py, docs/TRACE.md): evidence only, one deciding step, typed
record keys, catalogue keys; format 1 upgrades to the same in-memory form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from settlement import phrases, references, trace
from settlement.demo.run import DATA
from settlement.engine import Engine
from settlement.loader import load_dir
from settlement.periods import Month
from tests.test_loader import load_v1

V1 = json.loads((Path(__file__).parent / "fixtures" / "traces_v1.json").read_text(encoding="utf-8"))["lines"]


V1_COMMIT = "4b8d93d"  # the engine that wrote fixtures/traces_v1.json, on its own demo data


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """The engine of today on the demo data the format-1 fixture was written from (the commit's own
    bundled data: the demo data have changed since, e.g. the IJssel-Vecht pool became a budget pool)."""
    import shutil
    import subprocess
    if shutil.which("git") is None:
        pytest.skip("git is needed to extract the fixture's demo data")
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(root), "archive", V1_COMMIT, "settlement/demo/data"], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"commit {V1_COMMIT} is not in this clone")
    out = tmp_path_factory.mktemp("v1data")
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    # data of INTERFACE.md v1, where some municipalities have no OIN: read as a snapshot of then holds them
    ds, agreements = load_v1(out / "settlement" / "demo" / "data")
    return Engine(ds, agreements)


def _line(engine, month, placement, payer, basis):
    lines = engine.settle(Month.parse(month)).lines
    return next(l for l in lines if (l.placement, l.payer, l.basis) == (placement, payer, basis))


def test_a_trace_holds_no_sentence_no_citation_and_one_deciding_step(engine):
    prose = set(references.V1_TEXTS) | {phrases.say("en", c, {}) for c in ("historic_not_new", "ir_not_new_bw")}
    for m in ("2023-01", "2023-07", "2024-03"):
        for line in engine.settle(Month.parse(m)).lines:
            t = line.trace
            assert t["format"] == trace.FORMAT
            text = trace.write(t)
            assert not any(p in text for p in prose)
            assert all("reason" not in s for s in t["steps"])
            assert all(s["reference"] in references.CATALOGUE for s in t["steps"])
            assert all(isinstance(r["record"], dict) for s in t["steps"] for r in s["read"])
            assert sum(bool(s.get("decided")) for s in t["steps"]) == 1, line.sort_key
            assert trace.decided_step(t) is t["steps"][trace.deciding(line.basis, t["steps"])]
            assert json.loads(text) == t


def test_a_reentry_step_depends_on_the_decision_of_the_earlier_placement(engine):
    line = _line(engine, "2023-07", "P00054", *next((r["payer"], r["basis"]) for r in V1 if r["placement"] == "P00054"))
    step = trace.decided_step(line.trace)
    assert step["rule"] == "reentry"
    assert step["depends_on"] == [f"decision<{step['outcome']['earlier_placement']}>"]


def test_record_keys_and_labels_round_trip():
    for label in ("brp.csv:73", "applications.csv:4", "notifications.csv:5", "placement P00033",
                  "declaration P00033 2023-07", "tariff BW-NABIJ/leeuwarden", "product BW-NABIJ", "region assen",
                  "region_members 0106", "agreement eagle"):
        assert trace.record_label(trace.record_key(label)) == label
    assert trace.record_key("brp.csv:12") == {"file": "brp.csv", "line": 12}
    assert trace.record_key("placement P00020") == {"placement": "P00020"}


@pytest.mark.parametrize("row", V1, ids=lambda r: f"{r['month']}-{r['placement']}-{r['basis']}")
def test_a_format_1_trace_upgrades_to_what_the_engine_writes_now(engine, row):
    assert row["trace"]["format"] == trace.FORMAT_V1
    upgraded = trace.read(json.dumps(row["trace"]))
    now = _line(engine, row["month"], row["placement"], row["payer"], row["basis"]).trace
    assert upgraded == json.loads(trace.write(now))
    assert trace.evidence(upgraded) == trace.evidence(now)
    for old, new in zip(row["trace"]["steps"], upgraded["steps"]):  # the renderings are the stored ones
        assert trace.reference_text(new) == old["reference"]
        assert trace.reason(new, "en") == old.get("reason")


def test_an_unknown_format_is_refused():
    with pytest.raises(trace.TraceFormatError, match="not one this engine reads"):
        trace.read('{"format": "settlement-trace/9", "steps": []}')


def test_a_month_stores_each_shared_step_once_and_reads_back_whole(engine):
    """July 2023 (C0030's split month among them): every step and pool block is stored once as a
    part named by the SHA-256 of its canonical JSON; reading the stored texts with the parts gives
    the traces back exactly; a part of the run's that is missing is refused."""
    import hashlib
    from settlement import receipt
    result = engine.settle(Month.parse("2023-07"))
    texts, parts = receipt.stored_traces(result)
    named = [k for text in texts for k in trace.part_keys(text)]
    assert set(named) == set(parts)
    assert len(parts) < len(named)  # shared: fewer parts than the lines name
    for key, body in parts.items():
        assert key == "#" + hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
        assert body == json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    for line, text in zip(result.lines, texts):
        assert '"steps":["#' in text
        assert trace.read(text, parts) == json.loads(trace.write(line.trace))
    # the two lines of C0030's split placement-month name the same non-deciding steps
    c30 = [json.loads(t)["steps"] for l, t in zip(result.lines, texts) if l.placement == "P00033"]
    assert len(c30) == 2 and sum(a == b for a, b in zip(*c30)) == len(c30[0]) - 2  # two decided steps differ
    with pytest.raises(trace.MissingPartError):
        trace.read(texts[0], {k: v for k, v in parts.items() if k != named[0]})
    # a trace stored whole (before parts) reads as before
    assert trace.read(trace.write(result.lines[0].trace)) == json.loads(trace.write(result.lines[0].trace))


def _with_prose(t):
    """The trace as the engine wrote it before the descriptive fields became codes: sentences in
    the amount's `rounding` and `computation`, the split's `method` and the pool's `arithmetic`, a
    `formula` in every interval."""
    t = json.loads(trace.write(t))
    words = {code: text for text, code in trace.PROSE_CODES.items()}
    month_days = Month.parse(t["period"]).days
    for s in t["steps"]:
        if s["rule"] == "amount":
            o = s["outcome"]
            for k in ("rounding", "computation"):
                if k in o:
                    o[k] = words[o[k]]
            for iv in o.get("intervals", []):
                iv["formula"] = (f"{iv['price']} x {iv['days']}" if o["unit"] == "day"
                                 else f"{iv['price']} x {iv['days']} / {month_days}")
    if "split" in t:
        t["split"]["method"] = words[t["split"]["method"]]
    if "pool" in t:
        t["pool"]["arithmetic"] = words[t["pool"]["arithmetic"]]
    return t


def test_a_trace_with_the_old_prose_gives_the_evidence_of_the_trace_with_codes(engine):
    seen = set()
    for m in ("2023-06", "2023-07", "2023-09"):
        for line in engine.settle(Month.parse(m)).lines:
            now = json.loads(trace.write(line.trace))
            old = _with_prose(line.trace)
            amount = old["steps"][0]["outcome"]
            seen |= {k for k in ("split", "pool") if k in old} | {k for k in ("computation", "unit") if k in amount}
            assert "rounding" not in amount or amount["rounding"] == "half away from zero, once per line"
            assert old != now
            assert trace.evidence(old) == trace.evidence(now)  # read or not: the fields are not evidence
            assert trace.evidence(trace.read(json.dumps(old))) == trace.evidence(now)
            assert trace.read(json.dumps(old)) == now  # read gives the codes
    assert seen == {"split", "pool", "computation", "unit"}


def test_the_descriptive_fields_are_codes_rendered_when_read(engine):
    line = _line(engine, "2023-06", "P00029", *next((r["payer"], r["basis"]) for r in V1
                                                    if (r["month"], r["placement"]) == ("2023-06", "P00029")))
    amount = line.trace["steps"][0]["outcome"]
    assert amount["rounding"] == "half_away_from_zero" and all("formula" not in iv for iv in amount["intervals"])
    assert line.trace["split"]["method"] == "largest_remainder_days"
    assert phrases.term("en", "largest_remainder_days") == "largest remainder over days, ties to the earlier day range"
    assert set(phrases.TERMS["en"]) == set(phrases.TERMS["nl"]) == set(trace.PROSE_CODES.values())
    iv = {"price": "132.40", "days": 9}
    assert trace.formula(iv, "day", 30) == "132.40 x 9" and trace.formula(iv, "month", 30) == "132.40 x 9 / 30"
    # the evidence still tells a changed figure
    other = json.loads(trace.write(line.trace))
    other["steps"][0]["outcome"]["intervals"][0]["days"] += 1
    assert trace.evidence(other) != trace.evidence(line.trace)


def test_each_step_carries_the_version_of_its_own_rule(monkeypatch):
    from settlement.agreements import interregional
    from settlement.rules import reentry
    monkeypatch.setattr(reentry, "VERSION", "7")
    monkeypatch.setattr(interregional, "VERSION", "3")
    ds, agreements = load_dir(DATA)
    line = _line(Engine(ds, agreements), "2023-07", "P00054",
                 *next((r["payer"], r["basis"]) for r in V1 if r["placement"] == "P00054"))
    versions = {trace.step_id(s): s["version"] for s in line.trace["steps"]}
    assert versions["reentry"] == "7" and versions["interregional:eagle"] == "3"
    assert {v for k, v in versions.items() if k not in ("reentry", "interregional:eagle")} == {"1"}

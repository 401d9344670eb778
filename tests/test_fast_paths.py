"""The shortcuts taken for speed give exactly what the plain way gives.

A trace's text is assembled from its steps' own texts (a step shared by many lines is encoded
once); the export is indented by hand around the C encoder; a year is settled in one process
(`settle run --from --to`). Each must equal, byte for byte, what the straightforward code makes.
"""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement import export, receipt
from settlement.cli import main
from settlement.demo.run import DATA, months
from settlement.engine import Engine
from settlement.loader import load_dir
from settlement.trace import StepDict

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_export_text_is_json_dumps_with_indent(value):
    assert export.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def test_export_text_with_keys_json_converts():
    for value in ({1: 2}, {"a": {1: [2], "b": {}}}, [{"k": {None: 1.5, True: []}}]):
        assert export.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _plain(trace):
    return json.dumps(trace, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def test_trace_text_is_canonical_json_for_every_demo_line():
    ds, agreements = load_dir(DATA)
    engine = Engine(ds, agreements)
    shared = 0
    seen: set[int] = set()
    for m in months()[::5]:
        for line in engine.settle(m).lines:
            assert receipt.trace_text(line.trace) == _plain(line.trace), line.sort_key
            for step in line.trace["steps"]:
                assert isinstance(step, StepDict)
                shared += id(step) in seen
                seen.add(id(step))
    assert shared > 0  # the shortcut is taken: steps are shared between lines


def test_a_shared_step_is_not_changed_by_the_lines_that_use_it():
    """A line's later changes (pool block, split) go to its own trace, never into a shared step."""
    ds, agreements = load_dir(DATA)
    engine = Engine(ds, agreements)
    lines = [l for m in months() for l in engine.settle(m).lines]
    for line in lines:
        for step in line.trace["steps"]:
            assert step.json() == _plain(dict(step))


def _settle(db_url, *args):
    r = CliRunner().invoke(main, ["--db", db_url, *args])
    assert r.exit_code == 0, r.output
    return r.output


def test_run_from_to_equals_month_by_month(db_url, tmp_path):
    """`settle run --from --to` stores for every month what `settle run --month` stores."""
    _settle(db_url, "init")
    _settle(db_url, "load", str(DATA))
    out = _settle(db_url, "run", "--from", "2023-11", "--to", "2024-02")
    assert [l.split(":")[0] for l in out.splitlines()] == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert all("draft run" in l and " lines, " in l for l in out.splitlines())
    together = {m: _settle(db_url, "export", "--month", m) for m in ("2023-11", "2023-12", "2024-01", "2024-02")}
    for m in together:
        _settle(db_url, "run", "--month", m)
        again = _settle(db_url, "export", "--month", m)
        ids = [json.loads(t)["run"]["id"] for t in (together[m], again)]  # the export names its (new) draft run
        assert again.replace(f'"id": {ids[1]},', f'"id": {ids[0]},', 1) == together[m], m


def test_run_period_is_checked(db_url):
    _settle(db_url, "init")
    for args, message in ((["--from", "2024-03", "--to", "2024-01"], "lies after"),
                          (["--month", "2024-01", "--from", "2024-01", "--to", "2024-02"], "not both"),
                          (["--from", "2024-01"], "give --month, or --from and --to")):
        r = CliRunner().invoke(main, ["--db", db_url, "run", *args])
        assert r.exit_code == 2 and message in r.output, (args, r.output)

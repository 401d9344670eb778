"""`settle verify` compares evidence, in two parts: integrity (the stored run is untouched) and
reproduction (the current engine gives the same evidence). A new wording of a phrase or of a
reference changes neither; changed rules are "rules changed since this run" (exit 3), not
tampering; a month written by the engine of traces format 1, or by the engine that stored format 2
with every step in place (before steps were stored once per run), upgrades (`settle init`) and
keeps verifying and rendering."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from settlement import phrases, references
from settlement.cli import main
from settlement.demo.run import DATA

MONTH = "2024-03"
ROOT = Path(__file__).resolve().parent.parent
PARENT = "4b8d93d"  # the last commit whose engine wrote settlement-trace/1
PROSE = "af29e40"  # the last commit whose engine wrote sentences in a format-2 trace's descriptive fields


def settle(db_url, *args, code=0):
    r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    assert r.exit_code == code, r.output
    return r.output


def final_months(db_url, *months):
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))
    for m in months:
        settle(db_url, "run", "--month", m)
        settle(db_url, "finalize", "--month", m)


def test_a_new_wording_of_a_phrase_and_of_a_reference_leaves_every_final_month_verified(db_url, monkeypatch):
    final_months(db_url, "2024-02", MONTH)
    before = settle(db_url, "explain", "--month", MONTH, "--client", "C0030")
    assert "is of domain BW, not MO" in before
    monkeypatch.setitem(phrases.EN, "mo_not_domain", lambda p: f"{p['product']} belongs to {p['domain']}, not to MO")
    monkeypatch.setitem(references.CATALOGUE, "rules/mo", {**references.CATALOGUE["rules/mo"],
                                                          "text": "RULES.md §4.1 (opvang); wetsvoorstel 36288"})
    after = settle(db_url, "explain", "--month", MONTH, "--client", "C0030")  # rendered when read
    assert "belongs to BW, not to MO" in after and "[RULES.md §4.1 (opvang); wetsvoorstel 36288]" in after
    for m in ("2024-02", MONTH):
        out = settle(db_url, "verify", "--month", m)
        assert "integrity: ok; reproduction: identical" in out and f"{m} verifies" in out


def _changed_rule(monkeypatch, rules_version):
    """The historic rule (§4.3) records one more parameter: new evidence for every line it judged."""
    from settlement import engine
    from settlement.rules import historic
    original = historic.evaluate

    def evaluate(ds, p, st):
        payer, step = original(ds, p, st)
        return payer, dataclasses.replace(step, why=(step.why[0], {**step.why[1], "revised": True}))
    monkeypatch.setattr(historic, "evaluate", evaluate)
    monkeypatch.setattr(engine, "RULES_VERSION", rules_version)


def test_changed_rules_are_listed_as_such_with_their_own_exit_status(db_url, monkeypatch):
    final_months(db_url, MONTH)
    _changed_rule(monkeypatch, "2")
    out = settle(db_url, "verify", "--month", MONTH, code=3)
    assert "integrity: ok; reproduction: rules changed" in out
    assert "reproduction: rules changed since this run: final run 1: line " in out and ".why.params" in out
    assert "the rules changed since its run" in out


def test_a_rule_with_a_new_version_of_its_own_is_named_as_changed_with_exit_status_3(db_url, monkeypatch):
    """The run's rules version stays 1; the historic rule (§4.3) says it is version 2 and records
    one more parameter: verify names it (stored version -> current) and lists the differences."""
    from settlement.rules import historic
    final_months(db_url, MONTH)
    monkeypatch.setattr(historic, "VERSION", "2")
    out = settle(db_url, "verify", "--month", MONTH)  # a new version alone, with the same evidence: verifies
    assert "integrity: ok; reproduction: identical" in out and f"{MONTH} verifies" in out
    _changed_rule(monkeypatch, "1")
    out = settle(db_url, "verify", "--month", MONTH, code=3)
    assert "reproduction: rules changed since this run: final run 1: historic 1 -> 2\n" in out
    assert "reproduction: rules changed since this run: final run 1: line " in out and ".why.params" in out
    assert "integrity: ok; reproduction: rules changed" in out and "the rules changed since its run" in out
    assert "DIFFERS" not in out


def test_changed_evidence_under_the_same_rules_version_does_not_verify(db_url, monkeypatch):
    final_months(db_url, MONTH)
    _changed_rule(monkeypatch, "1")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert "reproduction: DIFFERS: final run 1: line " in out and "integrity: ok; reproduction: differs" in out


DEMO_BEFORE = "b69a895"  # the last commit whose demo data the earlier engines load (since: Assen is Zuid-West's
# centrumgemeente without being a member, and the IJssel-Vecht pool is a budget pool, both v2)


def _demo_data_before(tmp_path) -> Path:
    """The demo data as they were before they became true to the seeds, extracted from git."""
    out = tmp_path / f"data-{DEMO_BEFORE}"
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", DEMO_BEFORE, "settlement/demo/data"], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"commit {DEMO_BEFORE} (the earlier demo data) is not in this clone")
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out / "settlement" / "demo" / "data"


def _parent_engine(tmp_path, commit: str = PARENT) -> Path:
    """The code of an earlier commit (by default the one that wrote traces of format 1), extracted
    from git."""
    if shutil.which("git") is None:
        pytest.skip("git is needed to extract an earlier engine")
    out = tmp_path / commit
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "settlement", "migrations", "templates",
                              "alembic.ini"], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"commit {commit} (an earlier engine) is not in this clone")
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out


def _settle_with(code: Path, db_url: str, cwd: Path):
    """`settle` as the engine extracted to `code` runs it, in its own process."""
    env = {**os.environ, "PYTHONPATH": str(code), "SETTLEMENT_WORKERS": "1"}

    def run(*args):
        r = subprocess.run([sys.executable, "-c", "from settlement.cli import main; main()", "--db", db_url, *args],
                           env=env, capture_output=True, text=True, cwd=cwd)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout
    return run


def test_a_month_written_by_the_engine_of_format_1_upgrades_verifies_and_renders_as_before(tmp_path):
    # SQLite only: the old engine runs in its own process from git, the costly part; what it
    # stores is the same on PostgreSQL, whose upgrades tests/test_migrations.py runs
    db_url = f"sqlite:///{tmp_path / 'old.db'}"
    commit, fmt = PARENT, "settlement-trace/1"
    old = _parent_engine(tmp_path, commit)
    old_settle = _settle_with(old, db_url, tmp_path)

    old_settle("init")
    old_settle("load", str(_demo_data_before(tmp_path)))
    old_settle("run", "--month", MONTH)
    old_settle("finalize", "--month", MONTH)
    texts = {fmt: old_settle("explain", "--month", MONTH, "--client", "C0030", "--format", fmt)
             for fmt in ("text", "html")}
    import sqlalchemy as sa
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        formats = {t[t.index('"format":'):][:30] for (t,) in conn.execute(sa.text("SELECT trace FROM line"))}
    engine.dispose()
    assert formats == {f'"format":"{fmt}",'}
    settle(db_url, "init")  # the schema upgrade (trace parts, 0006) leaves the stored run as it was
    out = settle(db_url, "verify", "--month", MONTH)
    assert "integrity: ok; reproduction: identical" in out and f"{MONTH} verifies" in out
    for fmt, text in texts.items():
        now = settle(db_url, "explain", "--month", MONTH, "--client", "C0030", "--format", fmt)
        if fmt == "html":  # as before, beside what the dossier shows since: each reference's sources
            assert '<ul class="sources">' in now and "https://zoek.officielebekendmakingen.nl/" in now
            now, text = _as_before(now), _as_before(text)
        assert now == text


def _as_before(markup: str) -> str:
    """A dossier without what was added to it after traces format 1 (the catalogue's sources
    beside each reference, the earlier placement's decision beside a reentry, their style), its
    whitespace between tags collapsed."""
    import re
    for added in (r'<ul class="sources">.*?</ul>', r'<div class="earlier">.*?</div>', r"<style>.*?</style>"):
        markup = re.sub(added, "", markup, flags=re.S)
    # the spelling of anchors changed since (made injective, so that C-0016 and C.0016 differ); what
    # links to what did not: each anchor becomes its number in the order the document first names it
    names: dict[str, int] = {}
    markup = re.sub(r'(id="|href="#)([^"]+)"', lambda m: f'{m.group(1)}a{names.setdefault(m.group(2), len(names))}"',
                    markup)
    return re.sub(r">\s+<", "><", markup).strip()


def test_a_month_written_with_sentences_in_the_descriptive_fields_verifies_and_renders_as_before(tmp_path):
    # SQLite only: the old engine runs in its own process from git, the costly part; what it
    # stores is the same on PostgreSQL, whose upgrades tests/test_migrations.py runs
    db_url = f"sqlite:///{tmp_path / 'old.db'}"
    """The engine before the amount's rounding, the split's method and the pool's arithmetic became
    codes (and before an interval's formula was dropped) wrote them as sentences in format 2, and
    stored every trace whole (before the trace parts of migration 0006)."""
    old = _parent_engine(tmp_path, PROSE)
    old_settle = _settle_with(old, db_url, tmp_path)

    old_settle("init")
    old_settle("load", str(_demo_data_before(tmp_path)))
    for m in ("2023-06", "2023-07"):  # a split (P00029 in 2023-06), a declaration (P00033 in 2023-07), pools
        old_settle("run", "--month", m)
        old_settle("finalize", "--month", m)
    texts = {c: old_settle("explain", "--month", "2023-06", "--client", c) for c in ("C0026", "C0002")}
    import sqlalchemy as sa
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        stored = [t for (t,) in conn.execute(sa.text("SELECT trace FROM line"))]
    engine.dispose()
    assert all('"format":"settlement-trace/2"' in t for t in stored)
    assert all('"steps":[{' in t for t in stored)  # stored whole: that engine had no trace parts (0006)
    for prose in ('"rounding":"half away from zero, once per line"', '"formula":"',
                  '"computation":"declaration replaces the computed amount"',
                  '"method":"largest remainder over days, ties to the earlier day range"', '"arithmetic":"share = '):
        assert any(prose in t for t in stored), prose
    settle(db_url, "init")  # the schema upgrades since (trace parts, budget pools) keep the stored runs
    for m in ("2023-06", "2023-07"):
        out = settle(db_url, "verify", "--month", m)
        assert "integrity: ok; reproduction: identical" in out and f"{m} verifies" in out
    for c, text in texts.items():
        assert settle(db_url, "explain", "--month", "2023-06", "--client", c) == text
    assert "Split of EUR" in texts["C0026"] and "largest remainder over days" in texts["C0026"]
    assert "1425.45 x 15 / 30 = " in texts["C0002"]  # a tariff per month: its formula, made from the figures

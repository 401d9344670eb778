"""The money invariants (RULES.md §5.1, §8) fail loudly: each provoked by a planted bug gives an
InvariantError, exit status 1 and nothing stored; and where they fit, the database itself refuses
rows that break them (migration 0004)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from settlement import db, engine as engine_module, service
from settlement.agreements.pool import Pool
from settlement.cli import main
from settlement.demo.run import DATA
from settlement.engine import Engine, InvariantError, check_invoices

MONTH = "2024-03"


def settle(db_url, *args, code=0):
    r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    assert r.exit_code == code, r.output
    return r.output


def count(db_url, table):
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


@pytest.fixture
def loaded(tmp_path):
    url = f"sqlite:///{tmp_path / 'test.db'}"
    settle(url, "init")
    settle(url, "load", str(DATA))
    return url


def refused_run(url):
    out = settle(url, "run", "--month", MONTH, code=1)
    assert out.startswith("error: an invariant failed, nothing was stored (this is a bug, please report it): ")
    assert out.count("\n") == 1 and "Traceback" not in out
    assert count(url, "run") == count(url, "line") == count(url, "pool_share") == 0
    return out


# -- on every run -----------------------------------------------------------------------------------

def _plant_in_lines(monkeypatch, bug):
    """Every line the engine makes passes through `bug` (which may change it)."""
    original = Engine._lines

    def lines(self, p, month):
        return [bug(l) or l for l in original(self, p, month)]
    monkeypatch.setattr(Engine, "_lines", lines)


def test_a_line_with_a_payer_and_a_pool(monkeypatch, loaded):
    _plant_in_lines(monkeypatch, lambda l: setattr(l, "payer", l.creditor) if l.pool else None)
    assert "must have exactly one payer or one pool" in refused_run(loaded)


def test_a_line_with_neither_payer_nor_pool(monkeypatch, loaded):
    _plant_in_lines(monkeypatch, lambda l: setattr(l, "payer", None) if l.basis == "historic" else None)
    assert "must have exactly one payer or one pool" in refused_run(loaded)


def test_a_pooled_line_with_another_basis(monkeypatch, loaded):
    _plant_in_lines(monkeypatch, lambda l: setattr(l, "basis", "woonplaats") if l.pool else None)
    assert "basis 'pool' must go with a pool" in refused_run(loaded)


def test_pool_shares_that_do_not_sum_to_the_total(monkeypatch, loaded):
    original = Pool.settle

    def settle_(self, month, amounts):
        r = original(self, month, amounts)
        first = sorted(r.shares)[0]
        return replace(r, shares={**r.shares, first: r.shares[first] + 1})
    monkeypatch.setattr(Pool, "settle", settle_)
    assert "shares sum to" in refused_run(loaded)


def test_a_pool_total_that_differs_from_its_lines(monkeypatch, loaded):
    original = Pool.settle

    def settle_(self, month, amounts):
        r = original(self, month, amounts)
        first = sorted(r.shares)[0]
        return replace(r, total=r.total + 1, shares={**r.shares, first: r.shares[first] + 1})
    monkeypatch.setattr(Pool, "settle", settle_)
    assert "total differs from its lines" in refused_run(loaded)


def test_lines_that_do_not_sum_to_the_payables(monkeypatch, loaded):
    original = engine_module.totals_and_invoices

    def totals(result, municipalities):
        original(result, municipalities)
        code = sorted(result.totals)[0]
        payable, receivable = result.totals[code]
        result.totals[code] = (payable - 1, receivable)
    monkeypatch.setattr(engine_module, "totals_and_invoices", totals)
    assert "lines sum to" in refused_run(loaded)


# -- at finalisation --------------------------------------------------------------------------------

def _plant_in_invoices(monkeypatch, bug):
    original = service.totals_and_invoices

    def totals(result, municipalities):
        original(result, municipalities)
        result.invoices = bug(list(result.invoices))
    monkeypatch.setattr(service, "totals_and_invoices", totals)


@pytest.mark.parametrize("bug, message", [
    (lambda inv: [(inv[0][0], inv[0][1], inv[0][2] + 1)] + inv[1:], "owed to that creditor sum to"),
    (lambda inv: inv[1:], "but there is no invoice for it"),
    (lambda inv: inv + [inv[0]], "a second invoice for the same creditor and debtor"),
    (lambda inv: inv + [(inv[0][0], inv[0][0], 100)], "never invoices itself"),
], ids=["amount", "missing", "twice", "itself"])
def test_an_invoice_that_is_not_what_it_bills(monkeypatch, loaded, bug, message):
    settle(loaded, "run", "--month", MONTH)
    runs, lines = count(loaded, "run"), count(loaded, "line")
    _plant_in_invoices(monkeypatch, bug)
    out = settle(loaded, "finalize", "--month", MONTH, code=1)
    assert out.startswith("error: an invariant failed, nothing was stored") and message in out, out
    assert count(loaded, "invoice") == count(loaded, "invoice_counter") == 0
    assert (count(loaded, "run"), count(loaded, "line")) == (runs, lines)
    engine = sa.create_engine(loaded)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT kind, finalized_at FROM run")).all() == [("draft", None)]
    engine.dispose()
    monkeypatch.undo()
    assert "is final" in settle(loaded, "finalize", "--month", MONTH)  # without the bug it is fine


def test_a_stored_line_altered_before_finalisation_is_caught(loaded):
    settle(loaded, "run", "--month", MONTH)
    engine = sa.create_engine(loaded)
    with engine.begin() as conn:  # within the line checks: the amount of one line of a pool changes
        conn.execute(sa.text("UPDATE line SET amount = amount + 1 WHERE id = (SELECT min(id) FROM line "
                             "WHERE pool IS NOT NULL)"))
    engine.dispose()
    out = settle(loaded, "finalize", "--month", MONTH, code=1)
    assert "total differs from its lines" in out and count(loaded, "invoice") == 0


def test_check_invoices_by_hand():
    from settlement.agreements import PoolResult
    from settlement.engine import Line
    from fractions import Fraction

    def line(payer, amount, pool=None):
        return Line("P1", "C1", "BW", "r", 31, amount, "new", "pool" if pool else "woonplaats", payer, pool, "0193", (), {})
    lines = [line("0166", 1000), line("0166", -300), line("0193", 500), line(None, 900, "pool-1")]
    pools = [PoolResult("pool-1", "0193", 900, (("0166", Fraction(1)), ("0193", Fraction(2))), {"0166": 300, "0193": 600})]
    good = [{"creditor": "0193", "debtor": "0166", "kind": "invoice", "amount": 1000}]
    check_invoices(lines, pools, good)
    with pytest.raises(InvariantError, match="must be negative"):
        check_invoices(lines, pools, [{**good[0], "kind": "credit_note"}])
    with pytest.raises(InvariantError, match="sum to 10.00"):
        check_invoices(lines, pools, [{**good[0], "amount": 700}])
    with pytest.raises(InvariantError, match="0166 owes 0193 10.00"):
        check_invoices(lines, pools, [])


# -- in the database --------------------------------------------------------------------------------

def test_the_database_refuses_rows_that_break_an_invariant(db_url):
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    postgres = db_url.startswith("postgresql")
    engine = db.make_engine(db_url)
    run_cols = ("snapshot_id, month, engine_version, rules_version, input_hash, agreements_hash, export_hash, "
                "calculated_at")
    inv_cols = "run_id, creditor, debtor, month, year, kind, amount, issue_date"
    refused = {
        "line: neither payer nor pool": "UPDATE line SET payer = NULL WHERE id = (SELECT min(id) FROM line "
                                        "WHERE payer IS NOT NULL)",
        "line: payer and pool": "UPDATE line SET payer = creditor WHERE id = (SELECT min(id) FROM line "
                                "WHERE pool IS NOT NULL)",
        "line: pooled with another basis": "UPDATE line SET basis = 'woonplaats' WHERE pool IS NOT NULL",
        "line: basis pool without a pool": "UPDATE line SET basis = 'pool' WHERE pool IS NULL",
        "run: a second final run of the month": f"INSERT INTO run (kind, {run_cols}) SELECT 'final', {run_cols} "
                                                f"FROM run WHERE kind = 'final'",
        "invoice: a negative invoice": "UPDATE invoice SET amount = -amount WHERE kind = 'invoice'",
        "invoice: a positive credit note": "UPDATE invoice SET kind = 'credit_note' WHERE amount > 0",
        "invoice: zero": "UPDATE invoice SET amount = 0",
        "invoice: to itself": "UPDATE invoice SET debtor = creditor",
        "invoice: twice in one run": f"INSERT INTO invoice (number, seq, {inv_cols}) SELECT 'X-' || number, seq + 1000, "
                                     f"{inv_cols} FROM invoice",
    }
    if postgres:
        refused["run: final with a parent"] = "UPDATE run SET parent = id WHERE kind = 'final'"
        refused["run: a correction without one"] = "UPDATE run SET kind = 'correction' WHERE kind = 'final'"
    for what, statement in refused.items():
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            n = conn.execute(sa.text(statement)).rowcount
            assert n != 0, f"{what}: the statement touches no row"
            pytest.fail(f"{what}: the database accepted it")  # pragma: no cover
    # what the constraints allow: another draft of a final month, a draft beside it, a credit note
    with engine.connect() as conn:
        conn.execute(sa.text(f"INSERT INTO run (kind, {run_cols}) SELECT 'draft', {run_cols} FROM run"))
        conn.execute(sa.text("UPDATE invoice SET kind = 'credit_note', amount = -amount"))
        conn.rollback()
    engine.dispose()

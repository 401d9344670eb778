"""Settling on every core gives what one process gives, byte for byte (settlement.workers)."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from sqlalchemy import text

from settlement import export, receipt, service
from settlement.demo.run import DATA, months
from settlement.engine import Engine, SettlementError
from settlement.loader import load_dir
from settlement.workers import WorkerError, Workers, processes_wanted

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="worker processes are forked; this platform cannot fork")


def _loader(ds=None, agreements=None):
    """What `Workers` calls to read the data (in each worker and in this process)."""
    def load(in_worker, whole):
        if ds is not None:
            return Engine(ds, agreements)
        return Engine(*load_dir(DATA))
    return load


def _fingerprint(result):
    """Everything a run stores of a month: lines with their trace texts, pools, invoices, totals."""
    texts, parts = receipt.stored_traces(result)
    return (receipt.lines_hash(result.lines, result.pools, texts, parts),
            export.dumps(export.build(str(result.month), "x", "y", result.lines, result.pools,
                                      sorted(result.totals))),
            result.invoices, result.totals)


@pytest.mark.parametrize("processes", [2, 3])
def test_every_demo_month_is_the_same_on_workers(processes):
    ds, agreements = load_dir(DATA)
    alone = [_fingerprint(Engine(ds, agreements).settle(m)) for m in months()]
    with Workers(_loader(), processes) as workers:
        together = [_fingerprint(r) for r in workers.settle(months())]
    assert len(together) == len(alone) == 24
    for m, a, b in zip(months(), alone, together):
        assert a == b, m


def test_one_month_with_this_process_settling_a_part():
    ds, agreements = load_dir(DATA)
    month = months()[6]
    alone = _fingerprint(Engine(ds, agreements).settle(month))
    with Workers(_loader(), 2, one_month=True) as workers:
        assert len(multiprocessing.active_children()) == 1
        (result,) = list(workers.settle([month]))
    assert _fingerprint(result) == alone


def test_pooled_lines_get_the_pool_arithmetic_from_the_parent():
    with Workers(_loader(), 2) as workers:
        result = next(iter(workers.settle([months()[6]])))
    pooled = [l for l in result.lines if l.pool is not None]
    assert pooled  # the demo's IJssel-Vecht pool
    for line in pooled:
        assert line.text is None and line.trace["pool"]["agreement"] == line.pool
        # the total as "0.00", sign kept: July 2023's budget pool total is a surplus (negative)
        assert line.trace["pool"]["total"] == next(f"{'-' if p.total < 0 else ''}{abs(p.total) // 100}."
                                                   f"{abs(p.total) % 100:02d}" for p in result.pools
                                                   if p.agreement == line.pool)


def test_problems_in_the_data_are_reported_as_in_one_process():
    """A placement without a tariff in either part: every problem, in placement order."""
    ds, agreements = load_dir(DATA)
    ids = sorted(ds.placements)
    first, last = ds.placements[ids[0]], ds.placements[ids[-1]]
    ds.tariffs = [t for t in ds.tariffs if (t.product, t.region) not in {(first.product, first.region),
                                                                       (last.product, last.region)}]
    ds.__post_init__()  # the indexes again
    month = months()[-1]
    with pytest.raises(SettlementError) as alone:
        Engine(ds, agreements).settle(month)
    with Workers(_loader(ds, agreements), 2) as workers:
        with pytest.raises(SettlementError) as together:
            list(workers.settle([month]))
    assert together.value.problems == alone.value.problems and len(alone.value.problems) >= 2


def test_a_failing_worker_is_an_error_not_a_hang(monkeypatch):
    def broken(self, month, placements):
        raise ZeroDivisionError("planted")
    monkeypatch.setattr(Engine, "lines_of", broken)  # inherited by the forked workers
    with Workers(_loader(), 2) as workers, pytest.raises(WorkerError, match="planted"):
        list(workers.settle([months()[0]]))
    assert not multiprocessing.active_children()


def test_a_worker_that_cannot_read_the_data_is_an_error(monkeypatch):
    def load(in_worker, whole):
        if in_worker:
            raise OSError("planted: no database")
        return Engine(*load_dir(DATA))
    with Workers(load, 2) as workers, pytest.raises(WorkerError, match="planted: no database"):
        list(workers.settle([months()[0]]))
    assert not multiprocessing.active_children()


def test_runs_stored_with_workers_equal_runs_stored_without(db_url):
    engine = service.init(db_url)
    service.load(engine, DATA)
    period = months()[10:14]
    alone = {o.run_id: o for o in service.iter_run_months(engine, period, processes=1)}
    with engine.connect() as conn:
        before = conn.execute(text("SELECT month, lines_hash FROM run ORDER BY month")).all()
    together = list(service.iter_run_months(engine, period, processes=2))
    assert [o.kind for o in together] == ["draft"] * 4 and len(alone) == 4
    with engine.connect() as conn:
        after = conn.execute(text("SELECT month, lines_hash FROM run ORDER BY month")).all()
    assert after == before
    # the exports are the same but for the id of the new draft run they name (settlement-export/2)
    for a, b in zip(sorted(alone.values(), key=lambda o: str(o.result.month)), together):
        assert b.export_text.replace(f'"id": {b.run_id},', f'"id": {a.run_id},', 1) == a.export_text
    engine.dispose()


def test_how_many_processes(monkeypatch):
    monkeypatch.delenv("SETTLEMENT_WORKERS", raising=False)
    assert processes_wanted(100) == 1  # small data: one process is quicker
    # large data: a process per core (a month or a period alike: this process settles a part of each)
    assert processes_wanted(10**6) == (min(len(os.sched_getaffinity(0)), 8) if hasattr(os, "sched_getaffinity")
                                       else processes_wanted(10**6))
    monkeypatch.setenv("SETTLEMENT_WORKERS", "3")
    assert processes_wanted(100) == 3
    monkeypatch.setenv("SETTLEMENT_WORKERS", "three")
    with pytest.raises(ValueError, match="SETTLEMENT_WORKERS"):
        processes_wanted(100)

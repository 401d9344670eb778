"""A month reads of the facts about clients only those of clients with a placement in it
(`store.read_dataset(period=...)`): every month settles to the same bytes as on the whole snapshot,
and the clients without a placement in the month are not read at all."""

from __future__ import annotations

import pytest

from settlement import service, store
from settlement.demo.run import DATA, months
from settlement.engine import Engine
from settlement.periods import Month
from tests.test_workers import _fingerprint


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    engine = service.init(f"sqlite:///{tmp_path_factory.mktemp('period')}/s.db")
    service.load(engine, DATA)
    yield engine
    engine.dispose()


def _read(engine, period=None):
    with engine.connect() as conn:
        snapshot = store.current_snapshot(conn)
        return store.read_dataset(conn, snapshot, period=period)


def test_every_demo_month_settles_the_same_on_the_period_read(demo_db):
    whole = Engine(*_read(demo_db))
    for m in months():
        ds, agreements = _read(demo_db, (m.first, m.last))
        assert _fingerprint(Engine(ds, agreements).settle(m)) == _fingerprint(whole.settle(m)), m


def test_a_period_read_holds_exactly_the_clients_with_a_placement_in_it(demo_db):
    whole, _ = _read(demo_db)
    m = Month.parse("2024-03")
    ds, _ = _read(demo_db, (m.first, m.last))
    active = {p.client for p in whole.placements.values() if p.start <= m.last and (p.end is None or p.end >= m.first)}
    assert active and len(active) < len(whole.clients)  # the demo has clients not in care that month
    assert set(ds.clients) == active
    assert {p.client for p in ds.placements.values()} == active
    assert set(ds.placements) == {k for k, p in whole.placements.items() if p.client in active}  # whole histories
    assert all(r.client in active for r in ds.registrations)
    assert all(ds.placements.get(n.placement) for n in ds.notifications)
    assert ds.tariffs == whole.tariffs and ds.municipalities == whole.municipalities


def test_a_year_read_is_the_union_of_its_months(demo_db):
    whole, _ = _read(demo_db)
    year = [Month.parse(f"2024-{i:02d}") for i in range(1, 13)]
    ds, agreements = _read(demo_db, (year[0].first, year[-1].last))
    engine = Engine(ds, agreements)
    for m in year:
        assert _fingerprint(engine.settle(m)) == _fingerprint(Engine(whole, _read(demo_db)[1]).settle(m)), m

"""The database edge: snapshots in, datasets out, runs written in bulk.

Each function reads a table with one query and writes with one executemany: a run never
queries per line.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SAEngine

from . import db
from .agreements import Agreement, PoolResult
from .engine import Line, MonthResult
from .facts import (Application, Budget, Client, Dataset, Declaration, Municipality, Notification, Placement,
                    Product, Region, RegionMember, Registration, Tariff)

_FACTS = (
    (db.MunicipalityRow, "municipalities", Municipality),
    (db.RegionRow, "regions", Region),
    (db.RegionMemberRow, "members", RegionMember),
    (db.ProductRow, "products", Product),
    (db.TariffRow, "tariffs", Tariff),
    (db.ClientRow, "clients", Client),
    (db.BrpRow, "registrations", Registration),
    (db.ApplicationRow, "applications", Application),
    (db.PlacementRow, "placements", Placement),
    (db.NotificationRow, "notifications", Notification),
    (db.DeclarationRow, "declarations", Declaration),
    (db.BudgetRow, "budgets", Budget),
)


def _records(ds: Dataset, attr: str) -> list[Any]:
    value = getattr(ds, attr)
    return list(value.values()) if isinstance(value, dict) else list(value)


def current_snapshot(conn: Connection) -> db.Snapshot | None:
    row = conn.execute(select(db.Snapshot.__table__).order_by(db.Snapshot.seq.desc()).limit(1)).first()
    return db.Snapshot(**row._mapping) if row else None


def snapshot_by_id(conn: Connection, snapshot_id: int) -> db.Snapshot | None:
    row = conn.execute(select(db.Snapshot.__table__).where(db.Snapshot.id == snapshot_id)).first()
    return db.Snapshot(**row._mapping) if row else None


def save_snapshot(engine: SAEngine, ds: Dataset, agreements_toml: str, source: str) -> tuple[int, str]:
    """Store a validated dataset as a new snapshot in one transaction.

    Returns (snapshot id, what happened): 'unchanged' when it is already the current snapshot,
    'current' when an identical earlier snapshot became current again, 'loaded' otherwise.
    """
    table = db.Snapshot.__table__
    with engine.begin() as conn:
        current = current_snapshot(conn)
        if current and (current.input_hash, current.agreements_hash) == (ds.input_hash, ds.agreements_hash):
            return current.id, "unchanged"  # type: ignore[return-value]
        next_seq = (current.seq + 1) if current else 1
        existing = conn.execute(select(table.c.id).where(table.c.input_hash == ds.input_hash,
                                                         table.c.agreements_hash == ds.agreements_hash)).scalar()
        if existing is not None:
            conn.execute(update(table).where(table.c.id == existing).values(seq=next_seq))
            return existing, "current"
        snapshot_id = conn.execute(insert(table).values(
            input_hash=ds.input_hash, agreements_hash=ds.agreements_hash, agreements_toml=agreements_toml,
            source=source, seq=next_seq, loaded_at=datetime.now(timezone.utc))).inserted_primary_key[0]
        for model, attr, _ in _FACTS:
            rows = [{**asdict(r), "snapshot_id": snapshot_id} for r in _records(ds, attr)]
            if rows:
                conn.execute(insert(model.__table__), rows)
        return snapshot_id, "loaded"


def read_dataset(conn: Connection, snapshot: db.Snapshot) -> tuple[Dataset, list[Agreement]]:
    """Rebuild the snapshot's Dataset and agreements: one query per table."""
    from .loader import parse_agreements_text  # the loader owns agreement validation

    kwargs: dict[str, Any] = {}
    for model, attr, cls in _FACTS:
        t = model.__table__
        cols = [c for c in t.c if c.name in cls.__dataclass_fields__]
        rows = conn.execute(select(*cols).where(t.c.snapshot_id == snapshot.id)).all()
        records = [cls(**r._mapping) for r in rows]
        if attr in ("municipalities", "regions", "products", "clients", "placements"):
            key = {"municipalities": "code", "regions": "region", "products": "product", "clients": "client",
                   "placements": "placement"}[attr]
            kwargs[attr] = {getattr(r, key): r for r in sorted(records, key=lambda r: getattr(r, key))}
        else:
            kwargs[attr] = records
    ds = Dataset(**kwargs, input_hash=snapshot.input_hash, agreements_hash=snapshot.agreements_hash)
    agreements = parse_agreements_text(snapshot.agreements_toml, ds)
    ds.agreements = [a.canonical() for a in agreements]
    return ds, agreements


def save_run(engine: SAEngine, snapshot: db.Snapshot, result: MonthResult, info: dict[str, str],
             export_hash: str) -> int:
    """Store a draft run, replacing an earlier draft of the month, in one transaction."""
    runs, lines, shares = db.Run.__table__, db.LineRow.__table__, db.PoolShareRow.__table__
    month = str(result.month)
    with engine.begin() as conn:
        old = [r for (r,) in conn.execute(select(runs.c.id).where(runs.c.month == month, runs.c.kind == "draft"))]
        if old:
            conn.execute(delete(lines).where(lines.c.run_id.in_(old)))
            conn.execute(delete(shares).where(shares.c.run_id.in_(old)))
            conn.execute(delete(runs).where(runs.c.id.in_(old)))
        run_id = conn.execute(insert(runs).values(
            snapshot_id=snapshot.id, month=month, kind="draft", engine_version=info["engine_version"],
            rules_version=info["rules_version"], input_hash=snapshot.input_hash,
            agreements_hash=snapshot.agreements_hash, export_hash=export_hash,
            calculated_at=datetime.now(timezone.utc))).inserted_primary_key[0]
        if result.lines:
            conn.execute(insert(lines), [
                {"run_id": run_id, "seq": i, "placement": l.placement, "client": l.client, "product": l.product,
                 "region": l.region, "days": l.days, "amount": l.amount, "status": l.status, "basis": l.basis,
                 "payer": l.payer, "pool": l.pool, "creditor": l.creditor, "flags": ",".join(l.flags),
                 "trace": json.dumps(l.trace, sort_keys=True, ensure_ascii=False, separators=(",", ":"))}
                for i, l in enumerate(result.lines)])
        share_rows = [{"run_id": run_id, "agreement": p.agreement, "municipality": code, "creditor": p.creditor,
                       "total": p.total, "weight": str(dict(p.weights)[code]), "share": share}
                      for p in result.pools for code, share in p.shares.items()]
        if share_rows:
            conn.execute(insert(shares), share_rows)
    return run_id


def latest_run(conn: Connection, month: str) -> db.Run | None:
    t = db.Run.__table__
    row = conn.execute(select(t).where(t.c.month == month).order_by(t.c.id.desc()).limit(1)).first()
    return db.Run(**row._mapping) if row else None


def read_lines(conn: Connection, run_id: int, client: str | None = None, with_trace: bool = False) -> list[Line]:
    t = db.LineRow.__table__
    q = select(t).where(t.c.run_id == run_id)
    if client is not None:
        q = q.where(t.c.client == client)
    out = []
    for r in conn.execute(q.order_by(t.c.seq)):
        m = r._mapping
        out.append(Line(m["placement"], m["client"], m["product"], m["region"], m["days"], m["amount"], m["status"],
                        m["basis"], m["payer"], m["pool"], m["creditor"],
                        tuple(f for f in m["flags"].split(",") if f),
                        json.loads(m["trace"]) if with_trace else {}))
    return out


def read_pools(conn: Connection, run_id: int) -> list[PoolResult]:
    t = db.PoolShareRow.__table__
    grouped: dict[str, list[Any]] = {}
    for r in conn.execute(select(t).where(t.c.run_id == run_id).order_by(t.c.agreement, t.c.municipality)):
        grouped.setdefault(r.agreement, []).append(r)
    return [PoolResult(agreement=a, creditor=rs[0].creditor, total=rs[0].total,
                       weights=tuple((r.municipality, Fraction(r.weight)) for r in rs),
                       shares={r.municipality: r.share for r in rs})
            for a, rs in sorted(grouped.items())]


def municipality_codes(conn: Connection, snapshot_id: int) -> list[str]:
    t = db.MunicipalityRow.__table__
    return [c for (c,) in conn.execute(select(t.c.code).where(t.c.snapshot_id == snapshot_id).order_by(t.c.code))]

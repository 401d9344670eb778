"""The database edge: snapshots in, datasets out, runs written in bulk, runs finalised and
invoices numbered.

Each function reads a table with one query and writes with one executemany: a run never
queries per line. Functions that take a Connection work in the caller's transaction; the
writers of a month's runs and invoices first take the month's lock (`lock_month`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from itertools import chain
from operator import attrgetter
from types import SimpleNamespace
from dataclasses import dataclass, fields as dataclass_fields
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SAEngine

from . import bsn, clock, db, receipt
from . import trace as _trace
from .agreements import Agreement, PoolResult
from .engine import Line, MonthResult
from . import loader
from .facts import Budget, Client, Dataset


def _table(name: str) -> Any:
    """The database table of that name (settlement.db)."""
    return db.metadata.tables[name]


def _facts() -> list[tuple[Any, str, type, "loader.InputFile"]]:
    """(table, Dataset attribute, fact class, declaration) of every input file, from the loader's
    declarations (loader.INPUTS): the one list of what a snapshot stores."""
    return [(_table(i.table), i.attr, i.fact, i) for i in loader.INPUTS]


def _is_client(table: Any) -> bool:
    return table.name == db.ClientRow.__tablename__


def _records(ds: Dataset, attr: str) -> list[Any]:
    value = getattr(ds, attr, None) or ()
    return list(value.values()) if isinstance(value, dict) else list(value)


def current_snapshot(conn: Connection) -> db.Snapshot | None:
    row = conn.execute(select(db.Snapshot.__table__).order_by(db.Snapshot.seq.desc()).limit(1)).first()
    return db.Snapshot(**row._mapping) if row else None


def snapshot_by_id(conn: Connection, snapshot_id: int) -> db.Snapshot | None:
    row = conn.execute(select(db.Snapshot.__table__).where(db.Snapshot.id == snapshot_id)).first()
    return db.Snapshot(**row._mapping) if row else None


def save_snapshot(engine: SAEngine, ds: Dataset, agreements_toml: str, source: str,
                  progress: Callable[[int, int], None] | None = None) -> tuple[int, str]:
    """Store a validated dataset as a new snapshot in one transaction.

    BSNs are stored as their keyed hash and encrypted (settlement.bsn): without SETTLEMENT_BSN_KEY,
    or with a key that cannot read the BSNs already stored, nothing is stored (a UserError).
    Returns (snapshot id, what happened): 'unchanged' when it is already the current snapshot,
    'current' when an identical earlier snapshot became current again, 'loaded' otherwise.
    `progress(records stored, records)` is called after each batch of inserted rows.
    """
    keys = bsn.keyring("`settle load` (it stores every BSN encrypted with it)")
    table = db.Snapshot.__table__
    with engine.begin() as conn:
        lock_snapshots(conn)
        _check_stored_key(conn, keys)
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
            source=source, seq=next_seq, loaded_at=clock.now())).inserted_primary_key[0]
        facts = [(table, _records(ds, attr)) for table, attr, _, _ in _facts()]
        total, done = sum(len(records) for _, records in facts), 0
        converted: dict[tuple[str, str], dict[Any, Any]] = {}  # (table, column) -> value -> as bound
        if progress is not None:
            progress(done, total)
        for table, records in facts:
            batch = _SAVE_BATCH
            if _is_client(table):  # hashed and encrypted first, to be stored in the order of the keyed
                names, clients = _fact_rows(table, records, snapshot_id, keys)  # hashes: their unique index
                clients.sort(key=lambda row: row[2])  # then grows at its end (a third faster on SQLite)
                parts = [(names, clients[i:i + batch]) for i in range(0, len(clients), batch)]
            else:
                parts = (_fact_rows(table, records[i:i + batch], snapshot_id, keys)
                         for i in range(0, len(records), batch))
            for columns, rows in parts:
                _insert_rows(conn, table, columns, rows, converted)
                done += len(rows)
                if progress is not None:
                    progress(done, total)
        return snapshot_id, "loaded"


_SAVE_BATCH = 20_000  # rows per insert: the rows' parameters exist for one batch at a time


def _fact_rows(table: Any, records: list[Any], snapshot_id: int,
               keys: bsn.Keyring) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """(columns, rows) of fact records of one kind (at least one): a client with its BSN as keyed
    hash and encrypted, every other record with its dataclass fields as they are (scalars: no copy,
    which `dataclasses.asdict` would make)."""
    if _is_client(table):
        return (("snapshot_id", "client", "bsn_hmac", "bsn_enc"),
                [(snapshot_id, c.client, keys.digest(c.bsn), keys.encrypt(c.bsn, c.client)) for c in records])
    names = [f.name for f in dataclass_fields(records[0])]
    values = attrgetter(*names) if len(names) > 1 else (lambda r, n=names[0]: (getattr(r, n),))
    return (*names, "snapshot_id"), [(*values(r), snapshot_id) for r in records]


def _insert_rows(conn: Connection, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]],
                 converted: dict[tuple[str, str], dict[Any, Any]]) -> None:
    """Insert rows (values in the order of `columns`) in bulk. They pass through the columns' bind
    processors, as SQLAlchemy's insert would send them; SQLite gets them through the driver, many
    rows per INSERT, PostgreSQL (psycopg) with COPY, others with SQLAlchemy's insert. SQLAlchemy's
    parameter handling per row took longer than SQLite's insert itself, one row per statement a
    third more than a hundred, and psycopg's executemany several times longer than COPY.
    `converted`: the values bound so far, per (table, column) (a dataset has a few thousand dates)."""
    dialect = conn.dialect
    copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
    if dialect.name != "sqlite" and not copy:
        conn.execute(insert(table), [dict(zip(columns, r)) for r in rows])
        return
    processors = {i: p for i, name in enumerate(columns)
                  if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None}
    if processors:  # column by column, once per distinct value (SQLite: dates to text, booleans to 0/1)
        cells: list[Any] = list(zip(*rows))
        for i, process in processors.items():
            bound = converted.setdefault((table.name, columns[i]), {})
            bound.update((v, process(v)) for v in set(cells[i]).difference(bound))
            cells[i] = map(bound.__getitem__, cells[i])
        rows = list(zip(*cells))
    quote = dialect.identifier_preparer.quote
    names_sql = ", ".join(quote(c) for c in columns)
    if not copy:  # SQLite: many rows per statement (at most 999 parameters, the limit of older SQLite)
        one = f"({', '.join('?' * len(columns))})"
        per = max(1, 999 // len(columns))
        whole = len(rows) - len(rows) % per
        flat = chain.from_iterable
        for count, parts in ((per, [tuple(flat(rows[i:i + per])) for i in range(0, whole, per)]),
                             (len(rows) - whole, [tuple(flat(rows[whole:]))])):
            if count and parts:
                conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names_sql}) VALUES "
                                     f"{', '.join([one] * count)}", parts)
        return
    statement = f"COPY {quote(table.name)} ({names_sql}) FROM STDIN"
    try:
        with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as out:
            for row in rows:
                out.write_row(row)
    except dialect.loaded_dbapi.Error as e:  # as SQLAlchemy reports a failed statement: IntegrityError, ...
        from sqlalchemy.exc import DBAPIError
        raise DBAPIError.instance(statement, None, e, dialect.loaded_dbapi.Error, dialect=dialect) from e


def lock_snapshots(conn: Connection) -> None:
    """Serialise loads; the first statement of save_snapshot's transaction. Without it two loads
    of one directory both insert it (the second fails on the unique hashes) and two loads of
    different ones take the same sequence number (two snapshots claim to be current).

    PostgreSQL: the snapshot table in SHARE ROW EXCLUSIVE mode, which only loads (and other
    writers of `snapshot`) wait for: reading it, and runs referring to it, go on. SQLite: BEGIN
    IMMEDIATE, the database's write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE snapshot IN SHARE ROW EXCLUSIVE MODE"))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _check_stored_key(conn: Connection, keys: bsn.Keyring) -> None:
    """Refuse to add BSNs under a key that cannot read the ones stored (one row tells)."""
    t = db.ClientRow.__table__
    token = conn.execute(select(t.c.bsn_enc).order_by(t.c.snapshot_id.desc()).limit(1)).scalar()
    if token is not None and not keys.knows(token):
        raise bsn._error(bsn.wrong_key_message())


def client_bsns(conn: Connection, snapshot_ids: list[int], keys: bsn.Keyring,
                clients: set[tuple[int, str]] | None = None) -> dict[tuple[int, str], str]:
    """The BSNs of the snapshots' clients, decrypted, by (snapshot id, client): one query; only
    those in `clients` when given (decrypting is the cost)."""
    t = db.ClientRow.__table__
    out: dict[tuple[int, str], str] = {}
    if not snapshot_ids or clients is not None and not clients:
        return out
    where = [t.c.snapshot_id.in_(snapshot_ids)]
    if clients is not None and len(clients) <= _IN_LIMIT:  # only their rows (the primary key finds them)
        where.append(t.c.client.in_(sorted({c for _, c in clients})))
    for sid, client, token in conn.execute(select(t.c.snapshot_id, t.c.client, t.c.bsn_enc).where(*where)):
        if clients is None or (sid, client) in clients:
            out[(sid, client)] = keys.decrypt(token, client)
    return out


def clients_by_bsn(conn: Connection, value: str, keys: bsn.Keyring) -> list[tuple[int, str]]:
    """(snapshot id, client) of every stored client with this BSN, matched on the keyed hash (with
    the current and the old keys: rows not yet re-keyed are found too)."""
    t = db.ClientRow.__table__
    return [(sid, c) for sid, c in conn.execute(select(t.c.snapshot_id, t.c.client)
                                                .where(t.c.bsn_hmac.in_(keys.digests(value)))
                                                .order_by(t.c.snapshot_id, t.c.client))]


def rekey(engine: SAEngine, keys: bsn.Keyring) -> tuple[int, int]:
    """Re-encrypt every stored BSN and recompute its keyed hash with the current key, in one
    transaction; reading uses the current and the old keys. Refuses (nothing changed) when any
    BSN cannot be read with them. Returns (BSNs, snapshots)."""
    t = db.ClientRow.__table__
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # loads wait until the new key is everywhere
            conn.execute(text("LOCK TABLE client IN SHARE ROW EXCLUSIVE MODE"))
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        rows = conn.execute(select(t.c.snapshot_id, t.c.client, t.c.bsn_enc)).all()
        unknown = sum(1 for r in rows if not keys.knows(r.bsn_enc))
        if unknown:
            raise bsn._error(f"{unknown} of {len(rows)} stored BSNs were encrypted with a key that is neither "
                             f"{bsn.KEY_ENV} nor one of {bsn.OLD_KEYS_ENV}: add that key to {bsn.OLD_KEYS_ENV}; "
                             f"nothing was changed")
        values = []
        for sid, client, token in rows:
            plain = keys.decrypt(token, client)
            values.append({"_sid": sid, "_cid": client, "_hmac": keys.digest(plain),
                           "_enc": keys.encrypt(plain, client)})
        if values:
            conn.execute(update(t).where(t.c.snapshot_id == bindparam("_sid"), t.c.client == bindparam("_cid"))
                         .values(bsn_hmac=bindparam("_hmac"), bsn_enc=bindparam("_enc")), values)
        return len(values), len({v["_sid"] for v in values})


# What the agreements are checked against; the rest is about clients (see `read_dataset(frame=True)`).
FRAME = tuple(i.attr for i in loader.INPUTS if i.frame)
# The facts that belong to some clients (`read_dataset(clients=...)`): table -> the column naming
# the client, or the placement (read after the placements, which name their client).
_OF_CLIENTS = {"clients": "client", "registrations": "client", "applications": "client", "placements": "client",
               "notifications": "placement", "declarations": "placement", "disputes": "placement",
               "rulings": "placement"}
_IN_LIMIT = 2000  # values of a WHERE ... IN; more are filtered after one read of the snapshot's rows


def read_dataset(conn: Connection, snapshot: db.Snapshot, with_bsn: bool = False,
                 purpose: str = "reading the BSNs", frame: bool = False,
                 clients: Collection[str] | None = None,
                 period: tuple[date, date] | None = None) -> tuple[Dataset, list[Agreement]]:
    """Rebuild the snapshot's Dataset and agreements: one query per table.

    `frame`: only municipalities, regions, members and products (and the agreements); no client,
    registration, placement or tariff: what completing a month needs, for a process whose workers
    settle the placements (settlement.workers).

    `clients`: the frame plus the facts of these clients only: their client rows, BRP periods,
    applications and placements, and those placements' notifications and declarations (a WHERE
    on each table); no tariff and no budget. What explaining their lines needs (`settle explain`),
    not enough to settle anything. A client the snapshot does not know is simply absent.

    `period` (first day, last day): every table, but of the facts about clients only those of the
    clients with a placement overlapping the period (a subquery on the placements, so the others
    are never read): what settling the period needs, since every rule reads the facts of the
    placement's own client only (`Engine.lines_of` settles the placements overlapping a month).

    BSNs are decrypted only `with_bsn` (which needs SETTLEMENT_BSN_KEY, else a UserError naming
    it; `purpose` says who asks): for what must show them, or recompute the input hash (verify).
    Otherwise each Client.bsn is `bsn.HIDDEN`, which is not a BSN; the engine never reads BSNs, so
    runs need no key.
    """

    keys = bsn.keyring(purpose) if with_bsn else None
    kwargs: dict[str, Any] = {}
    for t, attr, cls, spec in _facts():
        if not spec.frame and (frame or (clients is not None and attr not in _OF_CLIENTS)):
            kwargs[attr] = {} if spec.key is not None else []
            continue
        where = [t.c.snapshot_id == snapshot.id]
        if period is not None and attr in _OF_CLIENTS:
            where.append(_active(snapshot.id, period, _OF_CLIENTS[attr], t))
        wanted: set[str] | None = None
        if clients is not None and attr in _OF_CLIENTS:
            column = _OF_CLIENTS[attr]
            wanted = set(clients) if column == "client" else set(kwargs["placements"])
            if not wanted:
                kwargs[attr] = {} if spec.key is not None else []
                continue
            if len(wanted) <= _IN_LIMIT:
                where.append(t.c[column].in_(sorted(wanted)))
        if _is_client(t):
            if keys is None:
                rows = conn.execute(select(t.c.client).where(*where)).all()
                records = [Client(r.client, bsn.HIDDEN) for r in rows if wanted is None or r.client in wanted]
            else:
                rows = conn.execute(select(t.c.client, t.c.bsn_enc).where(*where)).all()
                records = [Client(r.client, keys.decrypt(r.bsn_enc, r.client)) for r in rows
                           if wanted is None or r.client in wanted]
        else:
            names = [f.name for f in dataclass_fields(cls) if f.init]  # every one is a column
            rows = conn.execute(select(*(t.c[n] for n in names)).where(*where)).all()
            if wanted is not None and len(wanted) > _IN_LIMIT:
                at = names.index(_OF_CLIENTS[attr])
                rows = [r for r in rows if r[at] in wanted]
            records = [cls(*r) for r in rows]  # positionally: SQLAlchemy's mapping per row costs more than the read
        if spec.key is not None:  # held by its key, as the loader holds it
            key = attrgetter(spec.key)
            kwargs[attr] = {key(r): r for r in sorted(records, key=key)}
        else:
            kwargs[attr] = records
    ds = Dataset(**kwargs, input_hash=snapshot.input_hash, agreements_hash=snapshot.agreements_hash)
    agreements = loader.parse_agreements_text(snapshot.agreements_toml, ds)  # the loader owns their validation
    ds.agreements = [a.canonical() for a in agreements]
    return ds, agreements


def _active(snapshot_id: int, period: tuple[date, date], column: str, t: Any) -> Any:
    """WHERE `t`'s client (or placement) is of a client with a placement overlapping `period`."""
    p = db.PlacementRow.__table__
    first, last = period
    clients = select(p.c.client).where(p.c.snapshot_id == snapshot_id, p.c.start <= last,
                                       or_(p.c.end.is_(None), p.c.end >= first))
    if column == "client":
        return t.c.client.in_(clients)
    return t.c[column].in_(select(p.c.placement).where(p.c.snapshot_id == snapshot_id, p.c.client.in_(clients)))


def client_of_placement(conn: Connection, snapshot_id: int, placement: str) -> str | None:
    """The client of a placement of the snapshot (its primary key), None when it has none such."""
    t = db.PlacementRow.__table__
    return conn.execute(select(t.c.client).where(t.c.snapshot_id == snapshot_id, t.c.placement == placement)).scalar()


def count_placements(conn: Connection, snapshot: db.Snapshot) -> int:
    t = db.PlacementRow.__table__
    return conn.execute(select(func.count()).select_from(t).where(t.c.snapshot_id == snapshot.id)).scalar_one()


LOCK_CLASS = 0x5E77  # pg_advisory_xact_lock(LOCK_CLASS, yyyymm): one lock per settled month


def lock_month(conn: Connection, month: str) -> None:
    """Serialise the writers of one month's runs and invoices; the first statement of a transaction.

    PostgreSQL: a transaction-level advisory lock per month (released at commit or rollback), so
    a second `settle finalize` or `settle run` of the month waits and then sees the first one's
    outcome. SQLite: BEGIN IMMEDIATE takes the database's write lock at once (SQLite serialises
    writers), so nothing read after it can change before the commit.
    """
    year, mon = month.split("-")
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:cls, :key)"), {"cls": LOCK_CLASS, "key": int(year) * 100 + int(mon)})
    elif conn.dialect.name == "sqlite":
        dbapi = conn.connection.dbapi_connection
        if dbapi.in_transaction:  # pragma: no cover - a programming error
            raise RuntimeError("lock_month must be the first statement of its transaction")
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def month_runs(conn: Connection, month: str) -> list[db.Run]:
    """Every run of the month, oldest first."""
    t = db.Run.__table__
    return [db.Run(**r._mapping) for r in conn.execute(select(t).where(t.c.month == month).order_by(t.c.id))]


def delete_unfinalised(conn: Connection, month: str) -> list[int]:
    """Remove the month's draft (or draft correction) run with its lines and pool shares."""
    runs, lines, shares = db.Run.__table__, db.LineRow.__table__, db.PoolShareRow.__table__
    old = [r for (r,) in conn.execute(select(runs.c.id).where(runs.c.month == month, runs.c.finalized_at.is_(None)))]
    if old:
        conn.execute(delete(lines).where(lines.c.run_id.in_(old)))
        conn.execute(delete(shares).where(shares.c.run_id.in_(old)))
        conn.execute(delete(_PARTS).where(_PARTS.c.run_id.in_(old)))
        conn.execute(delete(_BUNDLES).where(_BUNDLES.c.run_id.in_(old)))
        conn.execute(delete(runs).where(runs.c.id.in_(old)))
    return old


def write_run(conn: Connection, snapshot: db.Snapshot, result: MonthResult, info: dict[str, str],
              export_hash: str | Callable[[int], str], kind: str = "draft", parent: int | None = None) -> int:
    """Insert an unfinalised run (kind draft, or correction of the final run `parent`) with its
    lines and pool shares in bulk. The caller holds the month's lock and removed the earlier draft.

    `export_hash`: the hash of the run's export, or a function of the new run's id that gives it
    (`settlement-export/2` names its run): the run's export hash and receipt are then set by one
    UPDATE of the row just inserted, in the same transaction."""
    runs, lines, shares = db.Run.__table__, db.LineRow.__table__, db.PoolShareRow.__table__
    assert kind in ("draft", "correction") and (parent is not None) == (kind == "correction")
    traces, parts = receipt.stored_traces(result)  # each made once: stored and hashed
    pending = callable(export_hash)
    values = dict(snapshot_id=snapshot.id, month=str(result.month), kind=kind, engine_version=info["engine_version"],
                  rules_version=info["rules_version"], input_hash=snapshot.input_hash,
                  agreements_hash=snapshot.agreements_hash, export_hash="" if pending else export_hash,
                  calculated_at=clock.now(), parent=parent, finalized_at=None,
                  lines_hash=receipt.lines_hash(result.lines, result.pools, traces, parts))

    def sealed() -> dict[str, Any]:  # the receipt of `values`
        the_receipt = receipt.build(SimpleNamespace(**values), values["lines_hash"], receipt.wording())
        return {"receipt": receipt.text(the_receipt), "receipt_hash": receipt.digest(the_receipt)}

    run_id = conn.execute(insert(runs).values(**values, **({"receipt": None, "receipt_hash": None} if pending
                                                          else sealed()))).inserted_primary_key[0]
    if pending:
        values["export_hash"] = export_hash(run_id)  # type: ignore[operator]
        conn.execute(update(runs).where(runs.c.id == run_id).values(export_hash=values["export_hash"], **sealed()))
    converted: dict[tuple[str, str], dict[Any, Any]] = {}
    if result.lines:  # the database's bulk path (many rows per INSERT; COPY on PostgreSQL)
        _insert_rows(conn, lines, _LINE_COLUMNS, [
            (run_id, i, l.placement, l.client, l.product, l.region, l.days, l.amount, l.status, l.basis, l.payer,
             l.pool, l.creditor, ",".join(l.flags), trace)
            for i, (l, trace) in enumerate(zip(result.lines, traces))], converted)
    if parts:  # one row: the parts compressed together (schema 0011)
        conn.execute(insert(_BUNDLES).values(run_id=run_id, encoding=_trace.BUNDLE, parts=len(parts),
                                             body=_trace.bundle(parts)))
    share_rows = [(run_id, p.agreement, code, p.creditor, p.total, str(dict(p.weights)[code]), share, p.budget)
                  for p in result.pools for code, share in p.shares.items()]
    if share_rows:
        _insert_rows(conn, shares, _SHARE_COLUMNS, share_rows, converted)
    return run_id


_LINE_COLUMNS = ("run_id", "seq", "placement", "client", "product", "region", "days", "amount", "status", "basis",
                 "payer", "pool", "creditor", "flags", "trace")
_SHARE_COLUMNS = ("run_id", "agreement", "municipality", "creditor", "total", "weight", "share", "budget")


def allocate_numbers(conn: Connection, creditor: str, year: int, count: int) -> int:
    """Reserve `count` consecutive invoice numbers of (creditor, year); returns the first seq.

    The counter row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite's write lock is
    already held) until the transaction ends, so numbers are gapless and never given twice:
    a rollback returns them with everything else.
    """
    t = db.InvoiceCounter.__table__
    ins = pg_insert(t) if conn.dialect.name == "postgresql" else sqlite_insert(t)
    conn.execute(ins.values(creditor=creditor, year=year, last=0).on_conflict_do_nothing())
    last = conn.execute(select(t.c.last).where(t.c.creditor == creditor, t.c.year == year).with_for_update()).scalar_one()
    conn.execute(update(t).where(t.c.creditor == creditor, t.c.year == year).values(last=last + count))
    return last + 1


def finalise_run(conn: Connection, run_id: int, kind: str, finalized_at: datetime, year: int,
                 invoices: list[dict[str, Any]],
                 export_hash: Callable[[list[db.Invoice]], str] | None = None) -> list[db.Invoice]:
    """Mark the run final (kind `final`, or `correction` for a correction run) and number and
    store its invoices, in the caller's transaction.

    `invoices`: dicts with creditor, debtor, month, kind, amount, corrects. Numbers per creditor
    follow the order given (creditors' counters are locked in code order: no deadlocks).
    `export_hash`: given the numbered invoices, the hash of the run's final export (its kind and
    invoice numbers change at finalisation); it becomes the run's export hash before the final
    receipt is built, so that the receipt holds the export with its numbers. None keeps the
    export hash recorded when the run was written. The final receipt also holds the seal of the
    numbered invoices (`run.invoices_hash`, settlement.receipt.invoices_hash)."""
    t = db.Invoice.__table__
    runs = db.Run.__table__
    by_creditor: dict[str, list[dict[str, Any]]] = {}
    for inv in invoices:
        by_creditor.setdefault(inv["creditor"], []).append(inv)
    rows = []
    for creditor in sorted(by_creditor):
        first = allocate_numbers(conn, creditor, year, len(by_creditor[creditor]))
        for i, inv in enumerate(by_creditor[creditor]):
            seq = first + i
            rows.append({**inv, "run_id": run_id, "year": year, "seq": seq, "number": invoice_number(creditor, year, seq),
                         "issue_date": finalized_at.date()})
    assert kind in ("final", "correction")
    numbered = [db.Invoice(**r) for r in rows]
    row = conn.execute(select(runs).where(runs.c.id == run_id)).one()._mapping
    final_hash = row["export_hash"] if export_hash is None else export_hash(numbered)
    sealed = receipt.invoices_hash(numbered)  # the final receipt holds the seal of the invoices
    final_receipt = receipt.build(SimpleNamespace(**{**row, "kind": kind, "finalized_at": finalized_at,
                                                     "export_hash": final_hash, "invoices_hash": sealed}),
                                  row["lines_hash"],
                                  receipt.wording_of(row["receipt"]))  # the wording its traces were written with
    done = conn.execute(update(runs).where(runs.c.id == run_id, runs.c.finalized_at.is_(None))
                        .values(kind=kind, finalized_at=finalized_at, export_hash=final_hash, invoices_hash=sealed,
                                receipt=receipt.text(final_receipt), receipt_hash=receipt.digest(final_receipt)))
    if done.rowcount != 1:  # pragma: no cover - the month lock makes this impossible
        raise RuntimeError(f"run {run_id} was finalised meanwhile")
    if rows:
        conn.execute(insert(t), rows)
    return numbered


def invoice_number(creditor: str, year: int, seq: int) -> str:
    return f"{creditor}-{year}-{seq:05d}"


def read_invoices(conn: Connection, month: str) -> list[db.Invoice]:
    """The month's invoices and credit notes, in the order they were numbered."""
    t = db.Invoice.__table__
    return [db.Invoice(**r._mapping) for r in conn.execute(select(t).where(t.c.month == month).order_by(t.c.id))]


def read_invoices_of_runs(conn: Connection, run_ids: Collection[int]) -> dict[int, list[db.Invoice]]:
    """The invoices and credit notes of several runs, whatever month they claim, with one query:
    run id -> its invoices in the order they were numbered."""
    t = db.Invoice.__table__
    out: dict[int, list[db.Invoice]] = {r: [] for r in run_ids}
    if run_ids:
        for r in conn.execute(select(t).where(t.c.run_id.in_(sorted(run_ids))).order_by(t.c.id)):
            out.setdefault(r.run_id, []).append(db.Invoice(**r._mapping))
    return out


def read_numbering(conn: Connection, creditors: Collection[str], years: Collection[int]
                   ) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], list[tuple[int, str]]]]:
    """The invoice counters and the numbers given of those creditors in those years, two queries:
    ((creditor, year) -> the counter's last, (creditor, year) -> [(seq, number)] by seq)."""
    c, t = db.InvoiceCounter.__table__, db.Invoice.__table__
    if not creditors or not years:
        return {}, {}
    counters = {(r.creditor, r.year): r.last for r in conn.execute(
        select(c.c.creditor, c.c.year, c.c.last).where(c.c.creditor.in_(sorted(creditors)), c.c.year.in_(sorted(years))))}
    given: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for creditor, year, seq, number in conn.execute(
            select(t.c.creditor, t.c.year, t.c.seq, t.c.number)
            .where(t.c.creditor.in_(sorted(creditors)), t.c.year.in_(sorted(years))).order_by(t.c.creditor, t.c.year, t.c.seq)):
        given.setdefault((creditor, year), []).append((seq, number))
    return counters, given


def client_hmacs(conn: Connection, snapshot_ids: Collection[int]) -> dict[int, list[tuple[str, str, str]]]:
    """Per snapshot its clients' (client, bsn_hmac, bsn_enc), one query, by client."""
    t = db.ClientRow.__table__
    out: dict[int, list[tuple[str, str, str]]] = {s: [] for s in snapshot_ids}
    if snapshot_ids:
        for sid, client, mac, enc in conn.execute(
                select(t.c.snapshot_id, t.c.client, t.c.bsn_hmac, t.c.bsn_enc)
                .where(t.c.snapshot_id.in_(sorted(snapshot_ids))).order_by(t.c.snapshot_id, t.c.client)):
            out[sid].append((client, mac, enc))
    return out


def latest_run(conn: Connection, month: str) -> db.Run | None:
    t = db.Run.__table__
    row = conn.execute(select(t).where(t.c.month == month).order_by(t.c.id.desc()).limit(1)).first()
    return db.Run(**row._mapping) if row else None


def read_lines(conn: Connection, run_id: int, client: str | None = None, with_trace: bool = False) -> list[Line]:
    return read_run_lines(conn, [run_id], with_trace, client=client)[run_id]


_PARTS = db.TracePart.__table__
_BUNDLES = db.TraceBundle.__table__
_KEYS_PER_QUERY = 500  # part keys per IN list: far below every database's limit on parameters


def read_run_parts(conn: Connection, run_ids: list[int], keys: Collection[str] | None = None) -> dict[int, dict[str, str]]:
    """The trace parts (key -> text) of several runs: every part of each run, or only those `keys`.
    A run written since schema 0011 holds them in one compressed row (`trace_bundle`, one query for
    all runs); one written before, a row per part (`trace_part`: one query, or one per 500 keys
    when only `keys` are wanted)."""
    out: dict[int, dict[str, str]] = {r: {} for r in run_ids}
    if not run_ids or (keys is not None and not keys):
        return out
    where = [_PARTS.c.run_id.in_(run_ids)]
    batches = [None] if keys is None else [sorted(keys)[i:i + _KEYS_PER_QUERY]
                                          for i in range(0, len(keys), _KEYS_PER_QUERY)]
    bundled = conn.execute(select(_BUNDLES.c.run_id, _BUNDLES.c.encoding, _BUNDLES.c.body)
                           .where(_BUNDLES.c.run_id.in_(run_ids))).all()
    for run_id, encoding, body in bundled:  # runs written since schema 0011
        out[run_id].update(_trace.unbundle(encoding, bytes(body), keys))
    if len(bundled) == len(run_ids):
        return out
    for batch in batches:  # runs written before: a row per part
        q = select(_PARTS.c.run_id, _PARTS.c.key, _PARTS.c.body).where(
            *where, *([_PARTS.c.key.in_(batch)] if batch is not None else []))
        for run_id, key, body in conn.execute(q):
            out[run_id][key] = body
    return out


def read_run_lines(conn: Connection, run_ids: list[int], with_trace: bool = False, *, client: str | None = None,
                   placement: str | None = None, payer: str | None = None,
                   pools: Collection[str] = (), placements: Collection[str] = (),
                   lazy: Mapping[int, Mapping[str, str]] | None = None) -> dict[int, list[Line]]:
    """The lines of several runs with one query, per run in line order.

    `lazy` (with_trace): the runs' parts, already read (`read_run_parts`); each line then carries
    its stored text and its run's parts, and its trace is read only when asked (`Line.trace_dict`).

    Only some, when asked (a WHERE on the line table, so the others are never read): `client`'s
    (the index on run_id, client), `placement`'s, or those `payer` pays and those one of `pools`
    carries (both given: either)."""
    t = db.LineRow.__table__
    cols = [c for c in t.c if with_trace or c.name != "trace"]
    out: dict[int, list[Line]] = {r: [] for r in run_ids}
    if not run_ids:
        return out
    where = [t.c.run_id.in_(run_ids)]
    if client is not None:
        where.append(t.c.client == client)
    if placement is not None:
        where.append(t.c.placement == placement)
    if placements:
        where.append(t.c.placement.in_(sorted(placements)))
    either = ([t.c.payer == payer] if payer is not None else []) + ([t.c.pool.in_(sorted(pools))] if pools else [])
    if either:
        where.append(or_(*either))
    rows = [r._mapping for r in conn.execute(select(*cols).where(*where).order_by(t.c.run_id, t.c.seq))]
    if with_trace and lazy is not None:  # each trace read when asked (Line.trace_dict)
        parts = {r: _trace.Parts(lazy.get(r, {})) for r in run_ids}
    elif with_trace:
        # the parts the lines name: all of each run's when every line is read, else only theirs
        whole = client is None and placement is None and not placements and not either
        parsed = [json.loads(m["trace"]) for m in rows]
        keys = None if whole else {k for p in parsed for k in _trace.part_keys(p)}
        parts = {r: _trace.Parts(texts) for r, texts in read_run_parts(conn, run_ids, keys).items()}
    for i, m in enumerate(rows):
        if not with_trace:
            trace: dict[str, Any] | None = {}
        elif lazy is not None:
            trace = None
        else:
            trace = _trace.read(parsed[i], parts[m["run_id"]])
        out[m["run_id"]].append(Line(m["placement"], m["client"], m["product"], m["region"], m["days"], m["amount"],
                                     m["status"], m["basis"], m["payer"], m["pool"], m["creditor"],
                                     tuple(f for f in m["flags"].split(",") if f), trace,
                                     m["trace"] if with_trace else None,
                                     parts=parts[m["run_id"]] if trace is None else None))
    return out


def read_run_pools(conn: Connection, run_ids: list[int]) -> dict[int, list[PoolResult]]:
    """The pool results of several runs with one query."""
    t = db.PoolShareRow.__table__
    grouped: dict[int, dict[str, list[Any]]] = {r: {} for r in run_ids}
    if run_ids:
        for r in conn.execute(select(t).where(t.c.run_id.in_(run_ids)).order_by(t.c.run_id, t.c.agreement,
                                                                                  t.c.municipality)):
            grouped[r.run_id].setdefault(r.agreement, []).append(r)
    return {run_id: [PoolResult(agreement=a, creditor=rs[0].creditor, total=rs[0].total,
                                weights=tuple((r.municipality, Fraction(r.weight)) for r in rs),
                                shares={r.municipality: r.share for r in rs}, budget=rs[0].budget)
                     for a, rs in sorted(by_agreement.items())]
            for run_id, by_agreement in grouped.items()}


def read_pools(conn: Connection, run_id: int) -> list[PoolResult]:
    return read_run_pools(conn, [run_id])[run_id]


def municipality_codes(conn: Connection, snapshot_id: int) -> list[str]:
    t = db.MunicipalityRow.__table__
    return [c for (c,) in conn.execute(select(t.c.code).where(t.c.snapshot_id == snapshot_id).order_by(t.c.code))]


@dataclass
class StoredState:
    """What `settle status` reports, as stored: the current snapshot with its counts, and every run
    with its number of lines and of invoices and credit notes (`settlement.status` assembles it)."""

    snapshot: db.Snapshot | None
    snapshots: int  # snapshots loaded in all
    clients: int  # of the current snapshot
    placements: int
    runs: list[db.Run]  # every run, by month then id (without its receipt)
    lines: dict[int, int]  # run id -> lines
    invoices: dict[tuple[int, str], int]  # (run id, kind) -> invoices of that kind


def status(conn: Connection) -> StoredState:
    """The state of the database with one query per table, never one per month or run."""
    snapshot = current_snapshot(conn)
    snapshots = conn.execute(select(func.count()).select_from(db.Snapshot.__table__)).scalar_one()
    clients = placements = 0
    if snapshot is not None:
        c = db.ClientRow.__table__
        clients = conn.execute(select(func.count()).select_from(c).where(c.c.snapshot_id == snapshot.id)).scalar_one()
        placements = count_placements(conn, snapshot)
    runs_t, lines_t, inv_t = db.Run.__table__, db.LineRow.__table__, db.Invoice.__table__
    cols = [c for c in runs_t.c if c.name not in ("receipt",)]
    runs = [db.Run(**r._mapping) for r in conn.execute(select(*cols).order_by(runs_t.c.month, runs_t.c.id))]
    lines = {run_id: n for run_id, n in conn.execute(
        select(lines_t.c.run_id, func.count()).group_by(lines_t.c.run_id))}
    invoices = {(run_id, kind): n for run_id, kind, n in conn.execute(
        select(inv_t.c.run_id, inv_t.c.kind, func.count()).group_by(inv_t.c.run_id, inv_t.c.kind))}
    return StoredState(snapshot, snapshots, clients, placements, runs, lines, invoices)


def run_fingerprints(conn: Connection) -> dict[str, tuple[tuple[Any, ...], ...]]:
    """Per month its runs as (id, snapshot, lines hash, calculated at), one query: a month written
    since (a new draft or correction, even one that took the id of the draft it replaced) differs."""
    t = db.Run.__table__
    out: dict[str, list[tuple[Any, ...]]] = {}
    for month, *rest in conn.execute(select(t.c.month, t.c.id, t.c.snapshot_id, t.c.lines_hash, t.c.calculated_at)
                                     .order_by(t.c.month, t.c.id)):
        out.setdefault(month, []).append(tuple(rest))
    return {m: tuple(v) for m, v in out.items()}


def read_runs(conn: Connection) -> list[db.Run]:
    """Every run without its receipt, by month then id, with one query (the budget monitor takes
    the final runs and finalised corrections of every month from it)."""
    t = db.Run.__table__
    cols = [c for c in t.c if c.name != "receipt"]
    return [db.Run(**r._mapping) for r in conn.execute(select(*cols).order_by(t.c.month, t.c.id))]


def read_budgets(conn: Connection, snapshot_id: int) -> list[Budget]:
    """The snapshot's budgets (budgets.csv), by municipality and year, with one query."""
    t = db.BudgetRow.__table__
    return [Budget(r.municipality, r.year, r.historic, r.objective) for r in conn.execute(
        select(t.c.municipality, t.c.year, t.c.historic, t.c.objective).where(t.c.snapshot_id == snapshot_id)
        .order_by(t.c.municipality, t.c.year))]


def read_disputes(conn: Connection, snapshot_id: int) -> tuple[list[Any], list[Any]]:
    """The snapshot's disputes and rulings (disputes.csv, rulings.csv), one query each."""
    from .facts import Dispute, Ruling
    d, r = db.DisputeRow.__table__, db.RulingRow.__table__
    disputes = [Dispute(*row) for row in conn.execute(
        select(d.c.dispute, d.c.placement, d.c.raised_by, d.c.raised_on, d.c.subject)
        .where(d.c.snapshot_id == snapshot_id).order_by(d.c.dispute))]
    rulings = [Ruling(*row) for row in conn.execute(
        select(r.c.ruling, r.c.dispute, r.c.placement, r.c.payer, r.c.valid_from, r.c.decided_on, r.c.reference)
        .where(r.c.snapshot_id == snapshot_id).order_by(r.c.ruling))]
    return disputes, rulings


def read_invoices_of_months(conn: Connection, months: Collection[str]) -> list[db.Invoice]:
    """The invoices and credit notes of several months (a year statement's), with one query, by
    month and then in the order they were numbered."""
    t = db.Invoice.__table__
    if not months:
        return []
    return [db.Invoice(**r._mapping) for r in conn.execute(
        select(t).where(t.c.month.in_(sorted(months))).order_by(t.c.month, t.c.id))]


def read_disputes_of(conn: Connection, snapshot_ids: Collection[int]) -> dict[int, tuple[list[Any], list[Any]]]:
    """The disputes and rulings of several snapshots (a month's documents read those of every run
    they show), one query each: snapshot id -> (disputes by id, rulings by id)."""
    from .facts import Dispute, Ruling
    d, r = db.DisputeRow.__table__, db.RulingRow.__table__
    out: dict[int, tuple[list[Any], list[Any]]] = {sid: ([], []) for sid in snapshot_ids}
    if not snapshot_ids:
        return out
    ids = sorted(snapshot_ids)
    for sid, *row in conn.execute(
            select(d.c.snapshot_id, d.c.dispute, d.c.placement, d.c.raised_by, d.c.raised_on, d.c.subject)
            .where(d.c.snapshot_id.in_(ids)).order_by(d.c.snapshot_id, d.c.dispute)):
        out[sid][0].append(Dispute(*row))
    for sid, *row in conn.execute(
            select(r.c.snapshot_id, r.c.ruling, r.c.dispute, r.c.placement, r.c.payer, r.c.valid_from, r.c.decided_on,
                   r.c.reference)
            .where(r.c.snapshot_id.in_(ids)).order_by(r.c.snapshot_id, r.c.ruling)):
        out[sid][1].append(Ruling(*row))
    return out

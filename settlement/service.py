"""The commands' work, between the command line and the engine: load, run, finalize, export, explain."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy.engine import Engine as SAEngine

from . import bsn, clock, db, export, migrate, store
from .correction import correction  # the arithmetic of a correction run (settlement.verify imports it from here too)
from .errors import Refused, UserError
from .engine import Engine, MonthResult, check_invariants, check_invoices, engine_info, totals_and_invoices
from .loader import STORING, Progress, dialects_of, load_dir
from ._util import children_die_with_this_process
from .periods import Month
from .workers import Workers, processes_wanted


@dataclass
class RunOutcome:
    """What `settle run` did with one month.

    kind `draft`: the month is not final, `result` is the draft; `correction`: the month is final
    and the data changed, `result` holds the differences (the correction lines and pool shares);
    `unchanged`: the month is final and the data give the same amounts, nothing was stored
    (`run_id` None, `result` the recomputed month)."""

    run_id: int | None
    result: MonthResult
    export_text: str
    kind: str = "draft"
    final_run: int | None = None  # the month's final run, when it is final
    removed: tuple[int, ...] = ()  # draft runs replaced or removed
    warnings: tuple[str, ...] = ()  # what `settle finalize` would refuse about this month (one sentence each)


@dataclass
class FinalizeOutcome:
    run: db.Run
    invoices: list[db.Invoice]


def open_db(url: str | None, require_schema: bool = True) -> SAEngine:
    engine = db.make_engine(db.database_url(url))
    if require_schema:
        try:
            engine.connect().close()
        except Exception as e:  # connection refused, bad URL, ...
            raise UserError(f"cannot open the database {db.shown(engine)}: {e.__class__.__name__}: "
                            f"{db.scrub(str(e).splitlines()[0], engine)}") from None
        if not migrate.is_current(engine):
            raise UserError(f"the database {db.shown(engine)} has no current schema: "
                            f"run `settle init` first")
    return engine


def init(url: str | None) -> SAEngine:
    engine = open_db(url, require_schema=False)
    before = _revision(engine)
    try:
        migrate.upgrade(engine)
    except UserError:  # e.g. moving plain BSNs (0004) needs SETTLEMENT_BSN_KEY: the sentence says so
        raise
    except Exception as e:
        raise UserError(f"cannot create the schema in {db.shown(engine)}: {e.__class__.__name__}: "
                        f"{db.scrub(str(e).splitlines()[0], engine)}") from None
    if before is not None and before < "0004":
        _compact(engine)
    return engine


def _revision(engine: SAEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except Exception:  # noqa: BLE001 - the upgrade reports what is wrong with the database
        return None


def _compact(engine: SAEngine) -> None:
    """After 0004 replaced plain BSNs: rewrite the storage so that no copy of the database holds the
    old rows (SQLite: VACUUM and an emptied write-ahead log; PostgreSQL: VACUUM FULL of `client`)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM FULL client")


def load(engine: SAEngine, directory: Path, progress: Progress | None = None,
         dialects: dict[str, str] | None = None) -> tuple[int, str]:
    """Validate the whole directory, then store it as one snapshot (raises loader.LoadError); the
    BSNs are stored encrypted, so SETTLEMENT_BSN_KEY is checked first. `progress`: see
    loader.Progress (reading files, validating, storing). `dialects`: filled with {file: how it
    was read} for each CSV file read as Dutch Excel saves it (loader.dialects_of).

    The cyclic garbage collector is off meanwhile (and restored after): a load makes millions of
    small objects that hold no cycles (cells, records, parameters), and the collections they set
    off found nothing and took a quarter of its time."""
    import gc
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(engine, directory, progress, dialects)
    finally:
        if collecting:
            gc.enable()


def _load(engine: SAEngine, directory: Path, progress: Progress | None,
          dialects: dict[str, str] | None = None) -> tuple[int, str]:
    with engine.connect() as conn:
        new_database = store.current_snapshot(conn) is None
    bsn.keyring("`settle load` (it stores every BSN encrypted with it)", new_database)
    ds, _ = load_dir(directory) if progress is None else load_dir(directory, progress)
    if dialects is not None:
        dialects.update(dialects_of(ds))
    text = (directory / "agreements.toml").read_text(encoding="utf-8")
    stored = None if progress is None else (lambda done, total: progress(STORING, done, total))
    return store.save_snapshot(engine, ds, text, str(directory.resolve()), stored)


def run_months(engine: SAEngine, months: list[Month]) -> list[RunOutcome]:
    """`iter_run_months` for a few months, keeping every outcome (each holds its month's lines)."""
    return list(iter_run_months(engine, months))


def iter_run_months(engine: SAEngine, months: list[Month], processes: int | None = None,
                    progress: Progress | None = None) -> Iterator[RunOutcome]:
    """Settle months on the current snapshot: the data are read once, each month written in bulk
    and handed out as it is done, so that a caller that keeps only what it needs of each month
    settles a year in the memory of one month. `progress(phase, done, total)`: "reading" 0 and 1
    of 1 around reading the data, then per month "settling" and "writing" 0 and 1 of 1 (meant
    for one month: a period's caller counts months).

    A month that is not final gets a draft run (replacing an earlier draft). A final month is
    never recomputed in place: when the data now give different amounts, a draft correction run
    holds the differences against everything finalised before (replacing an earlier draft
    correction); when they give the same amounts, nothing is stored.
    """
    with engine.connect() as conn:
        snapshot = store.current_snapshot(conn)
        if snapshot is None:
            raise UserError("no data loaded yet: run `settle load DIR` first")
        placements = store.count_placements(conn, snapshot)
    if processes is None:
        try:
            processes = processes_wanted(placements)
        except ValueError as e:
            raise UserError(str(e)) from None

    # Of the facts about clients, only those of clients with a placement in the months (no rule
    # reads another client's facts): a month reads about half the snapshot's rows.
    period = (min(m.first for m in months), max(m.last for m in months)) if months else None

    def read(in_worker: bool, whole: bool) -> Engine:
        if in_worker:  # a forked worker: its own connections, never the parent's
            engine.dispose(close=False)
        with engine.connect() as conn:
            ds, agreements = store.read_dataset(conn, snapshot, frame=not whole, period=period)
        return Engine(ds, agreements)

    info = engine_info()
    say = progress or (lambda phase, done, total: None)
    say("reading", 0, 1)
    # This process settles a part of every month too, and writes one month while the workers
    # settle their parts of the next (docs/PERFORMANCE.md: a year at 40,000 clients in 25 s, against
    # 30 s when the workers settle every placement and this process only writes).
    with Workers(read, processes, one_month=True) as workers:
        assert workers.engine is not None
        say("reading", 1, 1)
        codes = sorted(workers.engine.ds.municipalities)
        yield from _write_months(engine, snapshot, info, codes, workers.settle(months), say)


def _write_months(engine: SAEngine, snapshot: db.Snapshot, info: dict[str, str], codes: list[str],
                  results: Iterator[MonthResult], say: Progress = lambda phase, done, total: None
                  ) -> Iterator[RunOutcome]:
    say("settling", 0, 1)
    for result in results:
        say("settling", 1, 1)
        say("writing", 0, 1)
        m = str(result.month)
        with engine.begin() as conn:
            store.lock_month(conn, m)
            finalised = [r for r in store.month_runs(conn, m) if r.finalized_at is not None]
            if not finalised:
                removed = store.delete_unfinalised(conn, m)
                run_id, text = _write(conn, snapshot, info, codes, result)
                outcome = RunOutcome(run_id, result, text, "draft", None, tuple(removed))
            else:
                outcome = _correct(conn, snapshot, info, codes, result, finalised)
        say("writing", 1, 1)
        yield replace(outcome, warnings=run_warnings(result))  # after the commit


def not_yet_final(month: Month, today: date) -> str | None:
    """Why a month cannot be final yet: its last day lies after today (a month is settled once it
    is over; the one clock is settlement.clock). None when it has ended."""
    if month.last > today:
        return f"{month} has not ended yet (its last day is {month.last}, today is {today})"
    return None


def empty_month(month: Month) -> str:
    return f"{month} has no lines (no placement of the current data overlaps it)"


def run_warnings(result: MonthResult) -> tuple[str, ...]:
    """What `settle finalize` would refuse about a freshly settled month, said at `settle run`."""
    out = []
    refusal = not_yet_final(result.month, clock.today())
    if refusal:
        out.append(f"{refusal}: this draft cannot be finalised before it is over")
    if not result.lines and not result.pools:
        out.append(f"{empty_month(result.month)}: a month without lines cannot be finalised")
    return tuple(out)


def _correct(conn, snapshot: db.Snapshot, info: dict[str, str], codes: list[str], result: MonthResult,
             finalised: list[db.Run]) -> RunOutcome:
    """A final month settled again: a draft correction, or nothing when the amounts are the same."""
    m = str(result.month)
    final = next(r for r in finalised if r.kind == "final")
    ids = [r.id for r in finalised]  # type: ignore[misc]
    earlier_lines = store.read_run_lines(conn, ids)  # type: ignore[arg-type]
    earlier_pools = store.read_run_pools(conn, ids)  # type: ignore[arg-type]
    corr = correction(result, [(r, earlier_lines[r.id], earlier_pools[r.id]) for r in finalised], codes)  # type: ignore[index]
    removed = store.delete_unfinalised(conn, m)
    if corr is None:
        return RunOutcome(None, result, "", "unchanged", final.id, tuple(removed))
    run_id, text = _write(conn, snapshot, info, codes, corr, kind="correction", parent=final.id)
    return RunOutcome(run_id, corr, text, "correction", final.id, tuple(removed))


def _write(conn, snapshot: db.Snapshot, info: dict[str, str], codes: list[str], result: MonthResult,
           kind: str = "draft", parent: int | None = None) -> tuple[int, str]:
    """Store a new unfinalised run with the hash of its export, which names the run and so is made
    once the run's id is known; returns the id and the export's text."""
    made: list[str] = []

    def export_hash(run_id: int) -> str:
        made.append(_export_text(str(result.month), info["engine_version"], snapshot.input_hash, result, codes,
                                 export.run_head(run_id, kind, False, parent)))
        return export.digest(made[0])

    run_id = store.write_run(conn, snapshot, result, info, export_hash, kind=kind, parent=parent)
    return run_id, made[0]


def _export_text(month: str, engine_version: str, input_hash: str, result: MonthResult, codes: list[str],
                 run: dict[str, Any] | None = None, invoices: list[db.Invoice] | None = None) -> str:
    """The export's text (`settlement-export/2` with `run`, an `export.run_head`, and for a final
    run its numbered invoices; without `run` the format 1 that runs before format 2 recorded)."""
    return export.dumps(export.build(month, engine_version, input_hash, result.lines, result.pools, codes,
                                     run, invoices or ()))


def finalize(engine: SAEngine, month: Month) -> FinalizeOutcome:
    """Turn the month's draft run (or draft correction) into a final one, and number its
    invoices, in one transaction that holds the month's lock.

    Invoices per (creditor, debtor != creditor) as in RULES.md §8. For a correction run a negative
    difference is a credit note, a positive one an additional invoice; both name the original
    invoice of that (creditor, debtor, month) in `corrects` when there is one. The issue date is
    the UTC date of finalisation, stored on the run.
    """
    m = str(month)
    with engine.begin() as conn:
        store.lock_month(conn, m)
        runs = store.month_runs(conn, m)
        drafts = [r for r in runs if r.finalized_at is None]
        finalised = [r for r in runs if r.finalized_at is not None]
        if not drafts:
            if finalised:
                last = finalised[-1]
                what = "its final run" if last.kind == "final" else "its latest correction run"
                raise UserError(f"{m} is already final ({what} {last.id} was finalised on "
                                f"{last.finalized_at.astimezone(timezone.utc).date()}) and has no draft to finalise; "  # type: ignore[union-attr]
                                f"`settle run --month {m}` makes a correction run when the data changed")
            raise UserError(f"there is no draft run for {m} to finalise: run `settle run --month {m}` first")
        run = drafts[-1]
        if finalised and run.kind != "correction":  # pragma: no cover - run_months never makes one
            raise UserError(f"run {run.id} of {m} is a draft beside a final run; run `settle run --month {m}` again")
        refusal = not_yet_final(month, clock.today())
        if refusal:
            raise Refused(f"{refusal}; it can be finalised once it is over")
        current = store.current_snapshot(conn)
        assert current is not None  # the draft was computed on a loaded snapshot
        if current.id != run.snapshot_id:
            raise Refused(f"the draft {'correction ' if run.kind == 'correction' else ''}run {run.id} of {m} was "
                          f"computed on snapshot {run.snapshot_id}, but the data loaded since are snapshot "
                          f"{current.id}: run `settle run --month {m}` again, then finalise")
        lines = store.read_run_lines(conn, [run.id])[run.id]  # type: ignore[list-item,index]
        pools = store.read_run_pools(conn, [run.id])[run.id]  # type: ignore[list-item,index]
        if not lines and not pools:
            raise Refused(f"{empty_month(month)}: there is nothing to finalise, and no invoice number is given out")
        result = MonthResult(month, lines, pools)
        codes = sorted(set(store.municipality_codes(conn, run.snapshot_id)) | {l.payer for l in lines if l.payer}
                       | {c for p in pools for c in p.shares})
        totals_and_invoices(result, codes)
        check_invariants(result)  # the stored run, as read back
        originals: dict[tuple[str, str], str] = {}
        for inv in store.read_invoices(conn, m):
            if inv.kind == "invoice":
                originals.setdefault((inv.creditor, inv.debtor), inv.number)
        planned = [{"creditor": c, "debtor": d, "month": m, "kind": "credit_note" if v < 0 else "invoice",
                    "amount": v, "corrects": originals.get((c, d)) if run.kind == "correction" else None}
                   for c, d, v in result.invoices]
        check_invoices(lines, pools, planned)  # RULES.md §8: each invoice is what it bills; else nothing stored
        finalized_at = clock.now()
        kind = "final" if run.kind == "draft" else "correction"
        # the final export (its kind and invoice numbers) becomes the run's export hash, in its receipt
        head = export.run_head(run.id, kind, True, run.parent)  # type: ignore[arg-type]
        export_codes = store.municipality_codes(conn, run.snapshot_id)  # as `settle export` has them
        engine_version, input_hash = run.engine_version, run.input_hash

        def final_export(numbered: list[db.Invoice]) -> str:
            return export.digest(_export_text(m, engine_version, input_hash, result, export_codes, head, numbered))

        invoices = store.finalise_run(conn, run.id, kind, finalized_at, month.year, planned,  # type: ignore[arg-type]
                                      final_export)
        run = next(r for r in store.month_runs(conn, m) if r.id == run.id)
    return FinalizeOutcome(run, invoices)


def rekey(engine: SAEngine) -> tuple[int, int]:
    """Re-encrypt and re-hash every stored BSN with SETTLEMENT_BSN_KEY, reading with it and
    SETTLEMENT_BSN_OLD_KEYS, in one transaction. Returns (BSNs, snapshots)."""
    keys = bsn.keyring("`settle rekey` (it re-encrypts every BSN with the new key)")
    return store.rekey(engine, keys)


def export_month(engine: SAEngine, month: Month) -> str:
    """The month's latest run as `settle export` writes it: the export whose hash the run records
    (of a final run: the one its receipt holds, with the invoice numbers), `settlement-export/2`;
    for a run written before format 2, the `settlement-export/1` it recorded."""
    with db.reading(engine) as conn:
        return _export_of(conn, month)[1]


def _export_of(conn, month: Month) -> tuple[db.Run, str]:
    run = store.latest_run(conn, str(month))
    if run is None:
        raise UserError(f"no run for {month}: run `settle run --month {month}` first", status=2)
    lines = store.read_lines(conn, run.id)  # type: ignore[arg-type]
    pools = store.read_pools(conn, run.id)  # type: ignore[arg-type]
    codes = store.municipality_codes(conn, run.snapshot_id)
    numbered = ([i for i in store.read_invoices(conn, str(month)) if i.run_id == run.id]
                if run.finalized_at is not None else [])
    text, matched = export.stored(run, lines, pools, codes, numbered)
    if matched is None:  # a stored row changed since the run was written: never hand out what it no longer proves
        raise UserError(f"the stored rows of run {run.id} of {month} no longer give the export its receipt records "
                        f"({run.export_hash}); nothing was written: `settle verify --month {month}` shows what "
                        f"differs")
    return run, text


def export_book(engine: SAEngine, month: Month):
    """The month's latest run as a spreadsheet (`settle export --format xlsx|csv`): the sheets of
    the export `export_month` writes, with the names, taakvelden and words beside its codes; the
    workbook dated by the run (its finalisation, else its calculation), never by the clock."""
    import json
    from . import nl, spreadsheet
    from .documents.build import sheet_context
    with db.reading(engine) as conn:
        run, text = _export_of(conn, month)
        ctx = sheet_context(conn, [run.snapshot_id])
    part = spreadsheet.Part(json.loads(text), run.id, run.kind, run.finalized_at is not None)  # type: ignore[arg-type]
    stamp = (run.finalized_at or run.calculated_at).astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    return spreadsheet.Book(nl.specification_title(str(month)), f"settlement {run.engine_version}", stamp,
                            spreadsheet.sheets([part], ctx))


def client_lines(engine: SAEngine, month: Month, client: str):
    with db.reading(engine) as conn:
        run = store.latest_run(conn, str(month))
        if run is None:
            raise UserError(f"no run for {month}: run `settle run --month {month}` first", status=2)
        lines = store.read_lines(conn, run.id, client=client, with_trace=True)  # type: ignore[arg-type]
        names = municipality_names(conn, run.snapshot_id)
    return run, lines, names


def municipality_names(conn, snapshot_id: int) -> dict[str, str]:
    from sqlalchemy import select
    t = db.MunicipalityRow.__table__
    return {c: n for c, n in conn.execute(select(t.c.code, t.c.name).where(t.c.snapshot_id == snapshot_id))}


def write_documents(engine: SAEngine, month: Month, out: Path, processes: int | None = None,
                    progress=None, command: str = "settle statements",
                    warn: Callable[[str], None] | None = None,
                    failed: Callable[[str], None] | None = None) -> tuple[list[Path], int, int]:
    """Render the month's statements and invoices from its finalised runs (a process pool); never
    over a file that no settle command wrote (`command` refuses then, settlement.outputs).
    `warn(sentence)`: told of the invoices whose parties have no OIN in their run's snapshot (one
    loaded before INTERFACE.md v2 required it): their e-invoices fail NLCIUS BR-NL-1/BR-NL-10.

    First the integrity part of `settle verify` (settlement.verify.integrity: the snapshot's facts
    and keyed BSN hashes, the stored lines, receipts, invoices with their seal, the counters and
    the export; the month is not settled again): when anything fails, `failed(sentence)` is told
    each finding and nothing is written (a UserError naming the first, exit status 1)."""
    from .documents.build import build_month
    from .documents.render import render_all
    from .verify import integrity
    with db.reading(engine) as conn:
        statements, invoices = build_month(conn, str(month))  # refuses a month that is not final
    report = integrity(engine, month)
    if report.integrity:
        for sentence in report.integrity:
            if failed is not None:
                failed(sentence)
        raise UserError(f"{month} does not verify, so no document was written: {report.integrity[0]}"
                        + (f" (and {len(report.integrity) - 1} more finding(s), listed above)"
                           if len(report.integrity) > 1 else ""))
    without = sorted({p.code for inv in invoices for p in (inv.creditor, inv.debtor) if not p.oin})
    if warn is not None and without:
        numbers = [inv.number for inv in invoices if not (inv.creditor.oin and inv.debtor.oin)]
        warn(f"{len(numbers)} e-invoice(s) of {month} ({', '.join(numbers[:3])}{', ...' if len(numbers) > 3 else ''}) "
             f"name a municipality without an OIN ({', '.join(without)}) in the snapshot their run was "
             f"computed on, loaded before the OIN was required: they fail NLCIUS BR-NL-1 or BR-NL-10")
    children_die_with_this_process()
    paths = render_all(statements, invoices, out, processes=processes, progress=progress, command=command)
    return paths, len(statements), len(invoices)


def write_year_statements(engine: SAEngine, year: int, out: Path, municipalities: list[str] | None = None,
                          processes: int | None = None, command: str = "settle statements") -> list[Path]:
    """Render the year statements (jaaroverzichten) of `year` from its final runs and finalised
    corrections; never over a file that no settle command wrote (settlement.outputs)."""
    from .documents.year import build_year, render_years
    with db.reading(engine) as conn:
        statements = build_year(conn, year, municipalities)
    children_die_with_this_process()
    return render_years(statements, out, processes=processes, command=command)

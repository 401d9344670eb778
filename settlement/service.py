"""The commands' work, between the command line and the engine: load, run, export, explain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine as SAEngine

from . import db, export, migrate, store
from .engine import Engine, MonthResult, engine_info
from .loader import load_dir
from .periods import Month


class UserError(Exception):
    """A mistake of the user's that is not about the data (exit status 1, one sentence)."""


@dataclass
class RunOutcome:
    run_id: int
    result: MonthResult
    export_text: str


def open_db(url: str | None, require_schema: bool = True) -> SAEngine:
    engine = db.make_engine(db.database_url(url))
    if require_schema:
        try:
            has = inspect(engine).has_table("alembic_version")
        except Exception as e:  # connection refused, bad URL, ...
            raise UserError(f"cannot open the database {engine.url.render_as_string()}: {e.__class__.__name__}: "
                            f"{str(e).splitlines()[0]}") from None
        if not has or not migrate.is_current(engine):
            raise UserError(f"the database {engine.url.render_as_string()} has no current schema: "
                            f"run `settle init` first")
    return engine


def init(url: str | None) -> SAEngine:
    engine = open_db(url, require_schema=False)
    try:
        migrate.upgrade(engine)
    except Exception as e:
        raise UserError(f"cannot create the schema in {engine.url.render_as_string()}: {e.__class__.__name__}: "
                        f"{str(e).splitlines()[0]}") from None
    return engine


def load(engine: SAEngine, directory: Path) -> tuple[int, str]:
    """Validate the whole directory, then store it as one snapshot (raises loader.LoadError)."""
    ds, _ = load_dir(directory)
    text = (directory / "agreements.toml").read_text(encoding="utf-8")
    return store.save_snapshot(engine, ds, text, str(directory.resolve()))


def run_months(engine: SAEngine, months: list[Month]) -> list[RunOutcome]:
    """Settle months on the current snapshot: the data are read once, each month written in bulk."""
    with engine.connect() as conn:
        snapshot = store.current_snapshot(conn)
        if snapshot is None:
            raise UserError("no data loaded yet: run `settle load DIR` first")
        ds, agreements = store.read_dataset(conn, snapshot)
    eng = Engine(ds, agreements)
    info = engine_info()
    codes = sorted(ds.municipalities)
    outcomes = []
    for month in months:
        result = eng.settle(month)
        doc = export.build(str(month), info["engine_version"], snapshot.input_hash, result.lines, result.pools, codes)
        text = export.dumps(doc)
        run_id = store.save_run(engine, snapshot, result, info, export.digest(text))
        outcomes.append(RunOutcome(run_id, result, text))
    return outcomes


def export_month(engine: SAEngine, month: Month) -> str:
    with engine.connect() as conn:
        run = store.latest_run(conn, str(month))
        if run is None:
            raise UserError(f"no run for {month}: run `settle run --month {month}` first")
        lines = store.read_lines(conn, run.id)  # type: ignore[arg-type]
        pools = store.read_pools(conn, run.id)  # type: ignore[arg-type]
        codes = store.municipality_codes(conn, run.snapshot_id)
    return export.dumps(export.build(str(month), run.engine_version, run.input_hash, lines, pools, codes))


def client_lines(engine: SAEngine, month: Month, client: str):
    with engine.connect() as conn:
        run = store.latest_run(conn, str(month))
        if run is None:
            raise UserError(f"no run for {month}: run `settle run --month {month}` first")
        lines = store.read_lines(conn, run.id, client=client, with_trace=True)  # type: ignore[arg-type]
        names = municipality_names(conn, run.snapshot_id)
    return run, lines, names


def municipality_names(conn, snapshot_id: int) -> dict[str, str]:
    from sqlalchemy import select
    t = db.MunicipalityRow.__table__
    return {c: n for c, n in conn.execute(select(t.c.code, t.c.name).where(t.c.snapshot_id == snapshot_id))}

"""The `settle` command line (INTERFACE.md §2). Exit status: 0 success, 2 refused input, 1 other."""

from __future__ import annotations

import functools
import gc
import os
import sys
from pathlib import Path

import click

from . import __version__
from .engine import InvariantError, SettlementError
from .loader import LoadError
from .periods import Month, months_between


def _month(ctx, param, value):
    if value is None:
        return None
    try:
        return Month.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _without_cycle_collector(command):
    """Run a data command with Python's cyclic garbage collector off: a run holds millions of small
    acyclic objects (records, indexes, traces) that each collection would walk again, for about
    40 % of the command's time and nothing freed (docs/PERFORMANCE.md). Restored afterwards."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        was = gc.isenabled()
        gc.disable()
        try:
            return command(*args, **kwargs)
        finally:
            if was:
                gc.enable()
    return wrapper


def _fail(message: str, status: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(status)


class Guarded(click.Group):
    """Turns the engine's errors into one clear sentence and an exit status, never a traceback."""

    def invoke(self, ctx):
        from .service import UserError
        try:
            return super().invoke(ctx)
        except LoadError as e:
            for p in e.problems:
                click.echo(p, err=True)
            _fail(f"the dataset was refused ({len(e.problems)} problem(s)); nothing was stored", 2)
        except SettlementError as e:
            for p in e.problems:
                click.echo(p, err=True)
            _fail(f"the month cannot be settled ({len(e.problems)} problem(s) in the data); nothing was stored", 2)
        except UserError as e:
            _fail(str(e), 1)
        except InvariantError as e:
            _fail(f"an invariant failed, nothing was stored (this is a bug, please report it): {e}", 1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except BrokenPipeError:  # the reader went away (`settle export | head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except Exception as e:  # an unexpected failure: one sentence unless debugging
            if "database is locked" in str(getattr(e, "orig", e)):  # SQLite: a writer outlasted the busy timeout
                _fail("the database is busy: another settle command is writing to it and did not finish in time "
                      "(SQLite lets one command write at a time); nothing was stored, try again when it is done", 1)
            if os.environ.get("SETTLEMENT_DEBUG"):
                raise
            _fail(f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                  f"(set SETTLEMENT_DEBUG=1 for details)", 1)


@click.group(cls=Guarded)
@click.version_option(__version__, prog_name="settle")
@click.option("--db", "db_url", envvar="SETTLEMENT_DB", default=None,
              help="Database URL (sqlite:///file.db or postgresql+psycopg://...); default sqlite:///settlement.db.")
@click.pass_context
def main(ctx: click.Context, db_url: str | None) -> None:
    """settle: inter-municipal settlement of beschermd wonen and maatschappelijke opvang."""
    ctx.obj = {"db": db_url}


@main.command()
@click.pass_obj
def init(obj) -> None:
    """Create or upgrade the database schema."""
    from . import service
    engine = service.init(obj["db"])
    click.echo(f"schema is current in {engine.url.render_as_string()}")


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def load(obj, directory: Path) -> None:
    """Validate DIRECTORY and store it as one snapshot, or refuse it whole."""
    from . import service
    if not directory.is_dir():
        _fail(f"{directory}: no such directory", 2)
    engine = service.open_db(obj["db"])
    progress = _LoadProgress.on_terminal()
    try:
        snapshot_id, what = service.load(engine, directory, progress)
    finally:
        if progress is not None:
            progress.close()  # a refusal's problems start on a line of their own
    message = {"loaded": "loaded as snapshot", "unchanged": "unchanged: already the current snapshot",
               "current": "identical to an earlier load; made current again: snapshot"}[what]
    click.echo(f"{directory}: {message} {snapshot_id}")


_LOAD_UNITS = {"reading files": (1_000_000, "MB"), "validating": (1, "steps"), "storing": (1, "records")}


class _LoadProgress:
    """`settle load`'s progress on an interactive terminal (stderr): one bar per phase (reading
    files, validating, storing), with the phase's unit, at most ten times a second.
    `on_terminal()` is None when stderr is not a terminal: tests, pipes and CI see nothing."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.open = False  # a bar is drawn on the current line
        self.drawn = 0.0

    @classmethod
    def on_terminal(cls) -> _LoadProgress | None:
        return cls() if sys.stderr.isatty() else None

    def __call__(self, phase: str, done: int, total: int) -> None:
        import time
        now = time.monotonic()
        if phase != self.phase:
            self.close()
            self.phase = phase
        elif done < total and now - self.drawn < 0.1:
            return
        self.drawn = now
        scale, unit = _LOAD_UNITS.get(phase, (1, ""))
        amount = f"{done / scale:.1f}/{total / scale:.1f}" if scale > 1 else f"{done}/{total}"
        _draw_bar(phase, done, total, f"{amount} {unit}".rstrip())
        self.open = done < total

    def close(self) -> None:
        """End a bar left unfinished (a refusal, or nothing left to store)."""
        if self.open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.open = False


@main.command()
@click.option("--month", callback=_month, default=None, help="The month to settle, YYYY-MM.")
@click.option("--from", "first", callback=_month, default=None, help="First month of a period, YYYY-MM (with --to).")
@click.option("--to", "last", callback=_month, default=None, help="Last month of a period, YYYY-MM (with --from).")
@click.pass_obj
@_without_cycle_collector
def run(obj, month: Month | None, first: Month | None, last: Month | None) -> None:
    """Settle a month on the current snapshot: a draft run, or for a final month a correction run.
    With --from and --to every month of the period, the data read once; one line per month."""
    from . import service
    from .money import format_cents
    from .report import municipality_table
    months = _months(month, first, last)
    engine = service.open_db(obj["db"])
    with engine.connect() as conn:
        from .store import current_snapshot
        snapshot = current_snapshot(conn)
        names = service.municipality_names(conn, snapshot.id) if snapshot else {}
    progress = _progress_bar("months") if len(months) > 1 else None
    if progress:
        progress(0, len(months))
    for done, outcome in enumerate(service.iter_run_months(engine, months), 1):
        m = outcome.result.month
        replaced = (f" (draft run {', '.join(map(str, outcome.removed))} removed)" if outcome.removed else "")
        lines = len(outcome.result.lines)
        total = format_cents(sum(l.amount for l in outcome.result.lines))
        if outcome.kind == "unchanged":
            message = (f"{m} is final (run {outcome.final_run}) and the current data give the same amounts: "
                       f"no correction, nothing stored{replaced}")
        elif outcome.kind == "correction":
            message = (f"{m} is final (run {outcome.final_run}) and the data changed: draft correction run "
                       f"{outcome.run_id}, {lines} correction lines{replaced}"
                       + ("; the amounts below are differences" if len(months) == 1 else f", difference {total}")
                       + f"; `settle finalize --month {m}` finalises it")
        else:
            message = f"{m}: draft run {outcome.run_id}, {lines} lines" + ("" if len(months) == 1 else f", {total}")
        if progress:
            sys.stderr.write("\r\033[K")  # the bar's line, cleared
        click.echo(message)
        if len(months) == 1 and outcome.kind != "unchanged":
            click.echo(municipality_table(outcome.result.totals, names))
        if progress:
            progress(done, len(months))


def _months(month: Month | None, first: Month | None, last: Month | None) -> list[Month]:
    """--month, or --from and --to: the months meant, in order (a usage error otherwise)."""
    if month is not None and (first is not None or last is not None):
        raise click.UsageError("give either --month or --from and --to, not both")
    if month is None and (first is None or last is None):
        raise click.UsageError("give --month, or --from and --to")
    if month is not None:
        return [month]
    assert first is not None and last is not None
    if first > last:
        raise click.UsageError(f"--from {first} lies after --to {last}")
    return months_between(first, last)


@main.command()
@click.option("--month", required=True, callback=_month, help="The month to finalise, YYYY-MM.")
@click.pass_obj
@_without_cycle_collector
def finalize(obj, month: Month) -> None:
    """Make the month's draft run (or draft correction) final and number its invoices."""
    from . import service
    from .money import format_cents
    from .report import table
    outcome = service.finalize(service.open_db(obj["db"]), month)
    run = outcome.run
    what = f"run {run.id}" if run.kind == "final" else f"correction run {run.id} (of final run {run.parent})"
    day = run.finalized_at.date()  # type: ignore[union-attr]
    notes = sum(1 for i in outcome.invoices if i.kind == "credit_note")
    parts = [f"{n} {word}" for n, word in ((len(outcome.invoices) - notes, "invoice(s)"), (notes, "credit note(s)")) if n]
    click.echo(f"{month}: {what} is final, finalised on {day}; "
               + (f"{' and '.join(parts)} numbered" if parts else "no invoices (nothing owed between municipalities)"))
    click.echo(f"receipt {run.receipt_hash} (keep it: `settle verify --month {month}` proves the run against it)")
    if outcome.invoices:
        click.echo(table(["number", "kind", "creditor", "debtor", "amount", "corrects"],
                         [[i.number, i.kind, i.creditor, i.debtor, format_cents(i.amount), i.corrects or ""]
                          for i in outcome.invoices], {4}))


@main.command()
@click.option("--month", required=True, callback=_month, help="YYYY-MM")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to FILE.")
@click.pass_obj
@_without_cycle_collector
def export(obj, month: Month, out: Path | None) -> None:
    """Write the month's latest run as settlement-export/1 JSON."""
    from . import service
    text = service.export_month(service.open_db(obj["db"]), month)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")


@main.command()
@click.option("--month", callback=_month, default=None, help="The month, YYYY-MM.")
@click.option("--from", "first", callback=_month, default=None, help="First month of a period, YYYY-MM (with --to).")
@click.option("--to", "last", callback=_month, default=None, help="Last month of a period, YYYY-MM (with --from).")
@click.option("--client", default=None, help="A client's pseudonym: every line of the client.")
@click.option("--placement", default=None, help="A placement id: every line of the placement.")
@click.option("--municipality", default=None, help="A municipality code: everything it pays, by basis.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "pdf"]), default="text",
              show_default=True, help="html and pdf: the Dutch dossier for the geschillencommissie.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE instead of standard output.")
@click.option("--with-bsn", "with_bsn", is_flag=True,
              help="Show the clients' BSNs in the dossier (html, pdf); the document then says so on its first page.")
@click.pass_obj
def explain(obj, month: Month | None, first: Month | None, last: Month | None, client: str | None,
            placement: str | None, municipality: str | None, fmt: str, out: Path | None, with_bsn: bool) -> None:
    """Show why each line landed where it did: of a client, a placement or a municipality, in a
    month or a period. text and json show the month's latest run (as `settle export`); html and pdf
    render the dossier of the month's final run plus finalised corrections (or its draft run)."""
    from . import service
    from .explain import explain_json, explain_text
    chosen = [(name, value) for name, value in (("client", client), ("placement", placement),
                                                ("municipality", municipality)) if value is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --client, --placement and --municipality")
    months = _months(month, first, last)
    if with_bsn and fmt in ("text", "json"):
        raise click.UsageError("--with-bsn applies to --format html and pdf only; text and json never show a BSN")
    from .dossier import gather, render_html, render_pdf
    subject, key = chosen[0]
    engine = service.open_db(obj["db"])
    sel = gather(engine, subject, key, months, mode="latest" if fmt in ("text", "json") else "dossier",
                 with_bsn=with_bsn)
    if fmt == "pdf":
        data = render_pdf(sel, with_bsn=with_bsn)
        if out is None:
            click.get_binary_stream("stdout").write(data)
        else:
            out.write_bytes(data)
            click.echo(f"wrote {out}")
        return
    if fmt == "json":
        text = explain_json(sel) + "\n"
    elif fmt == "html":
        text = render_html(sel, with_bsn=with_bsn)
    else:
        text = explain_text(sel)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")


@main.command()
@click.option("--month", required=True, callback=_month, help="The final month to verify, YYYY-MM.")
@click.pass_obj
@_without_cycle_collector
def verify(obj, month: Month) -> None:
    """Recompute the month's final run(s) from their snapshot and prove them identical (exit 1 if not)."""
    from . import service
    from .verify import verify_month
    report = verify_month(service.open_db(obj["db"]), month)
    for line in report.checked:
        click.echo(f"ok: {line}")
    if not report.ok:
        _fail(f"{month} does not verify: {report.difference}", 1)
    click.echo(f"{month} verifies: every stored line, trace, pool share and hash equals the recomputation")


@main.command()
@click.pass_obj
def rekey(obj) -> None:
    """Re-encrypt every stored BSN with the key in SETTLEMENT_BSN_KEY (the old ones in SETTLEMENT_BSN_OLD_KEYS)."""
    from . import service
    count, snapshots = service.rekey(service.open_db(obj["db"]))
    click.echo(f"{count} BSN(s) in {snapshots} snapshot(s) re-encrypted and re-hashed with the current "
               f"SETTLEMENT_BSN_KEY in one transaction; the old key(s) are no longer needed")


def _progress_bar(label: str):
    """A progress callback drawing a bar on an interactive terminal; None when not a terminal."""
    if not sys.stderr.isatty():
        return None
    def show(done: int, total: int) -> None:
        _draw_bar(label, done, total, f"{done}/{total}")
    return show


def _draw_bar(label: str, done: int, total: int, amount: str, width: int = 30) -> None:
    """One progress bar on stderr's current line, ended with a newline once done reaches total."""
    filled = width * min(done, total) // max(total, 1)
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {amount}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


@main.command()
@click.option("--month", required=True, callback=_month, help="The finalised month, YYYY-MM.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("documents"),
              show_default=True, help="Directory for the PDFs.")
@click.option("--processes", type=click.IntRange(min=1), default=None, help="Worker processes (default: every core).")
@click.pass_obj
def statements(obj, month: Month, out: Path, processes: int | None) -> None:
    """Write the month's statements (afrekeningen) and invoices (facturen) as PDF."""
    from . import service
    paths, n_statements, n_invoices = service.write_documents(service.open_db(obj["db"]), month, out, processes,
                                                              _progress_bar(f"{month} documents"))
    click.echo(f"{month}: {n_statements} statement(s) and {n_invoices} invoice(s) written to {out}/")


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
              show_default=True, help="Directory for the database and the outputs.")
@click.option("--documents", "documents", default="2024-12", show_default=True,
              help="Months whose statements and invoices to render as PDF: YYYY-MM[,YYYY-MM...], 'all' or 'none'.")
def demo(out: Path, documents: str) -> None:
    """The whole job on the bundled demonstration data."""
    from .demo.run import months, run_demo
    if documents == "all":
        chosen = months()
    elif documents == "none":
        chosen = []
    else:
        try:
            chosen = [Month.parse(m.strip()) for m in documents.split(",")]
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--documents") from None
        outside = [str(m) for m in chosen if m not in months()]
        if outside:
            raise click.BadParameter(f"{', '.join(outside)} is not a demo month (2023-01..2024-12)",
                                     param_hint="--documents")
    from .bsn import DEMO_KEY, KEY_ENV, use_demo_key_if_unset
    if use_demo_key_if_unset():
        click.echo(f"notice: {KEY_ENV} is not set; the demo encrypts its BSNs with the public demonstration key "
                   f"{DEMO_KEY!r} (never use it for real data)")
    run_demo(out, echo=click.echo, documents=chosen, progress=_progress_bar("documents"))


@main.command()
@click.option("--clients", type=click.IntRange(min=1), default=40_000, show_default=True,
              help="Number of clients.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the dataset (created; its dataset files are overwritten).")
@click.option("--seed", type=int, default=2025, show_default=True, help="Same clients and seed: identical files.")
def synth(clients: int, out: Path, seed: int) -> None:
    """Write a synthetic national dataset (342 municipalities, 43 regions) for benchmarks and tests."""
    import time
    from .synth import generate
    started = time.perf_counter()
    summary = generate(out, clients, seed)
    click.echo(f"{out}: {summary.text()} ({time.perf_counter() - started:.1f} s)")


def entry() -> None:
    """The `settle` program: the commands, then an exit without tearing the interpreter down.

    Everything is written and committed when a command returns; freeing a month's millions of
    objects one by one would take seconds more (docs/PERFORMANCE.md), so the process flushes its
    output, closes its database connections and ends."""
    try:
        main()
    except SystemExit as e:
        status = e.code
    else:  # pragma: no cover - click always exits
        status = 0
    if isinstance(status, str):
        sys.stderr.write(status + "\n")
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    try:
        from .db import close_all
        close_all()
    except Exception:  # noqa: BLE001 - the work is committed; a connection that will not close goes with the process
        pass
    os._exit(status or 0)


if __name__ == "__main__":  # pragma: no cover
    entry()

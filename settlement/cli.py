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
from .errors import UserError
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


INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C (128 + SIGINT)


def _interrupted(message: str) -> None:
    """Ctrl-C: one sentence of what was kept, exit status 130."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")  # a progress bar's line, cleared
    click.echo(f"interrupted: {message}", err=True)
    sys.exit(INTERRUPTED)


# The environment variables, and in the help of each command that reads them (`_environment`).
ENVIRONMENT = {
    "SETTLEMENT_DB": "the database when --db is not given",
    "SETTLEMENT_BSN_KEY": "the key that encrypts and hashes stored BSNs",
    "SETTLEMENT_BSN_OLD_KEYS": "earlier BSN keys, comma-separated (rotation)",
    "SETTLEMENT_WORKERS": "settling processes (1: this process only)",
    "SETTLEMENT_NOW": "the clock: YYYY-MM-DD[THH:MM:SS], UTC",
    "SETTLEMENT_DEBUG": "1: an unexpected error shows its traceback",
}


def _environment(*names: str) -> str:
    """A command's help epilog: the environment variables it reads (SETTLEMENT_DEBUG always)."""
    names = (*names, "SETTLEMENT_DEBUG")
    width = max(len(n) for n in names)
    return "\b\nEnvironment:\n" + "\n".join(f"  {n.ljust(width)}  {ENVIRONMENT[n]}" for n in names)


def _database_files() -> list[str]:
    """The files of the command's SQLite database (the file, its WAL, shared memory and journal),
    which no --out may name; none for PostgreSQL."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    from .db import database_url
    try:
        url = database_url((root.obj or {}).get("db") if root else None)
    except Exception:  # a URL refused elsewhere
        return []
    if not url.startswith("sqlite:///"):
        return []
    path = url[len("sqlite:///"):].split("?")[0]
    return [path] + [path + suffix for suffix in ("-wal", "-shm", "-journal")]


def _write_pdf(data: bytes, out: Path | None) -> None:
    """A binary file (PDF, xlsx) to standard output (the caller refused a terminal), or to `out`."""
    if out is None:
        click.get_binary_stream("stdout").write(data)
    else:
        _write_output(out, data)
        click.echo(f"wrote {out}")


def _write_output(out: Path, data: str | bytes) -> None:
    """Every file a command writes at --out: its folder created when missing, the file written
    whole (a temporary file beside it, then renamed), or one sentence and exit status 2 when the
    path cannot be written."""
    from .outputs import write_file
    database = _database_files()
    if any(os.path.realpath(out) == os.path.realpath(f) for f in database):
        _fail(f"{out} is the database{'' if os.path.realpath(out) == os.path.realpath(database[0]) else ' journal'} "
              f"this command reads ({database[0]}); choose another file, nothing was written", 2)
    special = out.exists() and not out.is_file() and not out.is_symlink()  # /dev/stdout, a pipe: written in place
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if special:
            with open(out, "wb") as f:
                f.write(raw)
        else:
            write_file(out, raw)
    except OSError as e:
        blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            why = f"{blocking} is a file, not a folder"
        else:
            why = (e.strerror or e.__class__.__name__).lower()
        _fail(f"cannot write {out}: {why}; nothing was written", 2)


# What a command interrupted by Ctrl-C kept (`run` and `statements` count what they kept).
_INTERRUPTED = {
    "load": "nothing was stored (a load is one transaction)",
    "finalize": "nothing was finalised or numbered (one transaction)",
    "rekey": "every BSN keeps its old key (one transaction)",
    "init": "`settle init` again finishes the upgrade",
    "export": "nothing was written", "explain": "nothing was written", "status": "nothing was changed",
    "budget": "nothing was written",
    "verify": "nothing was changed; the month is not verified",
    "demo": "its output folder is incomplete: `settle demo` again makes it whole",
    "synth": "the dataset folder is incomplete: `settle synth` again writes it whole",
    "import-iwmo": "`settle import-iwmo` again with the same files makes declarations.csv whole",
}


def _masked(message: str, ctx: click.Context) -> str:
    """`message` with the database URL's password (if the URL holds one) masked: no message shows it."""
    from .db import DEFAULT_URL, scrub
    url = (ctx.obj or {}).get("db") or os.environ.get("SETTLEMENT_DB") or DEFAULT_URL
    return scrub(message, url) if url else message


class Guarded(click.Group):
    """Turns the engine's errors into one clear sentence and an exit status, never a traceback."""

    def invoke(self, ctx):
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
            _fail(_masked(str(e), ctx), e.status)
        except InvariantError as e:
            _fail(f"an invariant failed, nothing was stored (this is a bug, please report it): {e}", 1)
        except KeyboardInterrupt:  # run and statements, which keep part of their work, say which themselves
            command = ctx.invoked_subcommand
            _interrupted(f"`settle {command}` stopped before it finished; "
                         + _INTERRUPTED.get(command or "", "nothing of its unfinished work was stored"))
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
            _fail(_masked(f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                          f"(set SETTLEMENT_DEBUG=1 for details)", ctx), 1)


@click.group(cls=Guarded, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="\b\nEnvironment (each command's --help names those it reads):\n"
                    + "\n".join(f"  {n.ljust(23)}  {t}" for n, t in ENVIRONMENT.items())
                    + "\n\nShell completion (bash): eval \"$(_SETTLE_COMPLETE=bash_source settle)\"")
@click.version_option(__version__, prog_name="settle")
@click.option("--db", "db_url", envvar="SETTLEMENT_DB", default=None, show_envvar=True,
              help="Database: sqlite:///FILE, a file path, or postgresql://USER@HOST/DB (also postgres:// and "
                   "postgresql+psycopg://); default sqlite:///settlement.db.")
@click.pass_context
def main(ctx: click.Context, db_url: str | None) -> None:
    """settle: inter-municipal settlement of beschermd wonen and maatschappelijke opvang.

    Exit status: 0 done, 2 refused input (a mistake in the data or the arguments), 1 anything else,
    3 `verify`: intact, but the rules changed since the run, 130 interrupted (Ctrl-C)."""
    ctx.obj = {"db": db_url}


@main.command(epilog=_environment("SETTLEMENT_DB", "SETTLEMENT_BSN_KEY"))
@click.pass_obj
def init(obj) -> None:
    """Create or upgrade the database schema."""
    from . import service
    engine = service.init(obj["db"])
    from .db import shown
    click.echo(f"schema is current in {shown(engine)}")


@main.command(epilog=_environment("SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS",
                                   "SETTLEMENT_NOW"))
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def load(obj, directory: Path) -> None:
    """Validate DIRECTORY and store it as one snapshot, or refuse it whole."""
    from . import service
    if not directory.is_dir():
        _fail(f"{directory}: no such directory", 2)
    engine = service.open_db(obj["db"])
    progress = _LoadProgress.on_terminal()
    dialects: dict[str, str] = {}  # the files read as Dutch Excel saves them (INTERFACE.md §1, v2)
    try:
        snapshot_id, what = service.load(engine, directory, progress, dialects)
    finally:
        if progress is not None:
            progress.close()  # a refusal's problems start on a line of their own
    for file, how in sorted(dialects.items()):
        click.echo(f"{file}: read as {how}")
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


@main.command(epilog=_environment("SETTLEMENT_DB", "SETTLEMENT_WORKERS", "SETTLEMENT_NOW"))
@click.option("--month", callback=_month, default=None, help="The month to settle, YYYY-MM.")
@click.option("--from", "first", callback=_month, default=None, help="First month of a period, YYYY-MM (with --to).")
@click.option("--to", "last", callback=_month, default=None, help="Last month of a period, YYYY-MM (with --from).")
@click.option("-q", "--quiet", is_flag=True, help="Only the one-line summary per month (warnings still on stderr).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: per month the run, its lines and total, payable, receivable and net per municipality, "
                   "and its warnings.")
@click.option("--all", "all_rows", is_flag=True,
              help="Every municipality in the table, also those with nothing payable or receivable.")
@click.pass_obj
@_without_cycle_collector
def run(obj, month: Month | None, first: Month | None, last: Month | None, quiet: bool, fmt: str,
        all_rows: bool) -> None:
    """Settle a month on the current snapshot: a draft run, or for a final month a correction run.
    With --from and --to every month of the period, the data read once; one line per month.
    Each month is stored as soon as it is settled: Ctrl-C keeps the months done (exit status 130)."""
    from . import service, store
    from .report import NET_NOTE, municipality_table
    months = _months(month, first, last)
    engine = service.open_db(obj["db"])
    with engine.connect() as conn:
        snapshot = store.current_snapshot(conn)
        names = service.municipality_names(conn, snapshot.id) if snapshot else {}
        before = store.run_fingerprints(conn)
    progress = _progress_bar("months") if len(months) > 1 else None
    if progress:
        progress(0, len(months))
    settled: list[Month] = []
    documents: list[dict] = []
    try:
        phases = _LoadProgress.on_terminal() if len(months) == 1 else None  # one month: reading, settling, writing
        for done, outcome in enumerate(service.iter_run_months(engine, months, progress=phases), 1):
            settled.append(outcome.result.month)
            if progress:
                sys.stderr.write("\r\033[K")  # the bar's line, cleared
            for warning in outcome.warnings:
                click.echo(f"warning: {warning}", err=True)
            if fmt == "json":
                documents.append(_run_json(outcome, names))
            else:
                click.echo(_run_message(outcome, len(months)))
                if len(months) == 1 and outcome.kind != "unchanged" and not quiet:
                    click.echo(municipality_table(outcome.result.totals, names, all_rows=all_rows))
                    shown = sum(1 for p, r in outcome.result.totals.values() if p or r)
                    if not all_rows and shown < len(outcome.result.totals):
                        left = len(outcome.result.totals) - shown
                        click.echo(f"({left} {'municipality' if left == 1 else 'municipalities'} with nothing "
                                   f"payable or receivable left out; --all shows them)")
                    click.echo(NET_NOTE)
            if progress:
                progress(done, len(months))
    except KeyboardInterrupt:
        _interrupted(_run_kept(engine, months, settled, before))
    if fmt == "json":
        import json
        click.echo(json.dumps({"format": "settlement-run/1", "months": documents}, indent=2, sort_keys=True,
                              ensure_ascii=False))


def _run_message(outcome, months: int) -> str:
    """The one line `settle run` prints per month."""
    from .money import format_cents
    m = outcome.result.month
    replaced = f" (draft run {', '.join(map(str, outcome.removed))} removed)" if outcome.removed else ""
    lines = len(outcome.result.lines)
    total = format_cents(sum(l.amount for l in outcome.result.lines))
    if outcome.kind == "unchanged":
        return (f"{m} is final (run {outcome.final_run}) and the current data give the same amounts: "
                f"no correction, nothing stored{replaced}")
    if outcome.kind == "correction":
        return (f"{m} is final (run {outcome.final_run}) and the data changed: draft correction run "
                f"{outcome.run_id}, {lines} correction lines{replaced}"
                + ("; the amounts below are differences" if months == 1 else f", difference {total}")
                + f"; `settle finalize --month {m}` finalises it")
    return f"{m}: draft run {outcome.run_id}, {lines} lines" + ("" if months == 1 else f", {total}")


def _run_json(outcome, names: dict[str, str]) -> dict:
    """One month of `settle run --format json`: amounts as "0.00" strings, like the export. For
    kind `correction` the figures are differences against what is final; for `unchanged` they
    are the recomputed month, equal to what is final, and nothing was stored."""
    from .money import format_cents
    result = outcome.result
    return {
        "month": str(result.month), "kind": outcome.kind, "run": outcome.run_id, "final_run": outcome.final_run,
        "removed": list(outcome.removed), "lines": len(result.lines),
        "total": format_cents(sum(l.amount for l in result.lines)),
        "municipalities": {code: {"name": names.get(code, ""), "payable": format_cents(p),
                                  "receivable": format_cents(r), "net": format_cents(r - p)}
                           for code, (p, r) in sorted(result.totals.items())},
        "warnings": list(outcome.warnings)}


def _run_kept(engine, months: list[Month], settled: list[Month], before: dict) -> str:
    """What an interrupted `settle run` kept: every month is committed on its own, so the months
    settled before Ctrl-C (and one whose commit had just finished) are stored; the others not."""
    from . import store
    kept = set(settled)
    try:
        with engine.connect() as conn:
            after = store.run_fingerprints(conn)
        kept |= {m for m in months if after.get(str(m)) != before.get(str(m))}
    except Exception:  # noqa: BLE001 - the database may be what was interrupted: say what was seen
        pass
    done = [m for m in months if m in kept]
    left = [m for m in months if m not in kept]
    if not done:
        return f"no month was stored ({_ranges(left)} not settled)"
    if not left:
        return f"{_ranges(done)} settled and stored: nothing is missing"
    again = (f"`settle run --month {left[0]}`" if len(left) == 1
             else f"`settle run --from {left[0]} --to {left[-1]}`")
    return (f"{_ranges(done)} settled and stored ({len(done)} of {len(months)} months, each committed on its "
            f"own); {_ranges(left)} not settled: {again} settles {'it' if len(left) == 1 else 'them'}")


def _ranges(months: list[Month]) -> str:
    """Months as ranges: 2023-01..2023-05, 2023-08."""
    parts: list[list[Month]] = []
    for m in months:
        if parts and parts[-1][-1].next() == m:
            parts[-1].append(m)
        else:
            parts.append([m])
    return ", ".join(str(p[0]) if len(p) == 1 else f"{p[0]}..{p[-1]}" for p in parts)


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


@main.command(epilog=_environment("SETTLEMENT_DB"))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: the same, as settlement-status/1 (sorted keys).")
@click.pass_obj
def status(obj, fmt: str) -> None:
    """Where the database stands: the current snapshot, and per month that has runs whether it is
    draft, final or corrected, with its runs, lines, invoices and credit notes. A stale draft (on
    an earlier snapshot) is named: `settle finalize` refuses it until the month is run again."""
    from . import service, store
    from .status import build, to_json, to_text
    engine = service.open_db(obj["db"])
    with engine.connect() as conn:
        state = build(store.status(conn))
    from .db import shown
    click.echo(to_json(state) if fmt == "json" else to_text(state, shown(engine)), nl=False)


@main.command(epilog=_environment("SETTLEMENT_DB", "SETTLEMENT_NOW"))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: the same, as settlement-disputes/1 (sorted keys).")
@click.pass_obj
def disputes(obj, fmt: str) -> None:
    """The disputes before the geschillencommissie (disputes.csv, rulings.csv of the current
    snapshot): open or ruled, and the money at stake per municipality, from the month each was
    raised (final months as finalised, with their corrections; months not final named)."""
    from . import clock, service
    from .disputes import gather, to_json, to_text
    engine = service.open_db(obj["db"])
    with engine.connect() as conn:
        states = gather(conn, clock.today())
    click.echo(to_json(states) if fmt == "json" else to_text(states), nl=False)


@main.command(epilog=_environment("SETTLEMENT_DB", "SETTLEMENT_NOW"))
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


@main.command(epilog=_environment("SETTLEMENT_DB"))
@click.option("--month", required=True, callback=_month, help="YYYY-MM")
@click.option("--format", "fmt", type=click.Choice(["json", "xlsx", "csv"]), default="json", show_default=True,
              help="xlsx and csv: the spreadsheet for reconciliation (lines, pools, invoices, totals).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="json, xlsx: write to FILE. csv: the FOLDER of its four files, export-YYYY-MM-<sheet>.csv.")
@click.pass_obj
@_without_cycle_collector
def export(obj, month: Month, fmt: str, out: Path | None) -> None:
    """Write the month's latest run as settlement-export/2 JSON (its run, kind and, once final, the
    invoice numbers; a correction's amounts are differences). A run stored before format 2 is
    written as the settlement-export/1 its receipt holds. --format xlsx writes it as a workbook of
    four sheets (Regels, Pools, Facturen, Totalen), --format csv as four CSV files of the Dutch
    Excel dialect (semicolons, decimal commas, UTF-8 with BOM, CRLF) in the folder --out names."""
    from . import service
    if fmt == "csv":
        if out is None:
            _fail("--format csv writes four files (regels, pools, facturen, totalen): name their folder "
                  "with --out DIR", 2)
        if out.exists() and not out.is_dir():  # type: ignore[union-attr]
            _fail(f"--format csv writes four files into a folder, and {out} is a file: name a folder with --out DIR", 2)
    elif out is not None and out.is_dir():
        _fail(f"{out} is a folder: name the file to write with --out FILE", 2)
    elif fmt == "xlsx" and out is None and sys.stdout.isatty():
        _fail("an xlsx is binary and standard output is a terminal: give --out FILE.xlsx, or redirect it "
              "(settle export ... --format xlsx > FILE.xlsx)", 2)
    engine = service.open_db(obj["db"])
    if fmt == "json":
        text = service.export_month(engine, month)
        if out is None:
            click.echo(text, nl=False)
        else:
            _write_output(out, text)
            click.echo(f"wrote {out}")
        return
    from . import spreadsheet
    book = service.export_book(engine, month)
    if fmt == "xlsx":
        _write_pdf(spreadsheet.to_xlsx(book), out)  # binary to standard output (not a terminal) or to `out`
        return
    for sheet in book.sheets:
        path = out / spreadsheet.csv_name(f"export-{month}", sheet)  # type: ignore[operator]
        _write_output(path, spreadsheet.to_csv(sheet))
        click.echo(f"wrote {path}")


@main.command(epilog=_environment("SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS"))
@click.option("--month", callback=_month, default=None, help="The month, YYYY-MM.")
@click.option("--from", "first", callback=_month, default=None, help="First month of a period, YYYY-MM (with --to).")
@click.option("--to", "last", callback=_month, default=None, help="Last month of a period, YYYY-MM (with --from).")
@click.option("--client", default=None, help="A client's pseudonym: every line of the client.")
@click.option("--placement", default=None, help="A placement id: every line of the placement.")
@click.option("--municipality", default=None, help="A municipality code: everything it pays, by basis.")
@click.option("--dispute", default=None,
              help="A dispute id (disputes.csv): its dossier over every settled month of its placement (no --month).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "pdf"]), default="text",
              show_default=True, help="html and pdf: the Dutch dossier for the geschillencommissie.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE instead of standard output.")
@click.option("--with-bsn", "with_bsn", is_flag=True,
              help="Show the clients' BSNs in the dossier (html, pdf); the document then says so on its first page.")
@click.pass_obj
def explain(obj, month: Month | None, first: Month | None, last: Month | None, client: str | None,
            placement: str | None, municipality: str | None, dispute: str | None, fmt: str, out: Path | None,
            with_bsn: bool) -> None:
    """Show why each line landed where it did: of a client, a placement or a municipality, in a
    month or a period. text and json show the month's latest run (as `settle export`); html and pdf
    render the dossier of the month's final run plus finalised corrections (or its draft run).
    --dispute: the dossier of one dispute before the geschillencommissie (html, pdf), or its short
    summary (text, json)."""
    from . import service
    from .explain import explain_json, explain_text
    chosen = [(name, value) for name, value in (("client", client), ("placement", placement),
                                                ("municipality", municipality), ("dispute", dispute))
              if value is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --client, --placement, --municipality and --dispute")
    if with_bsn and fmt in ("text", "json"):
        raise click.UsageError("--with-bsn applies to --format html and pdf only; text and json never show a BSN")
    if fmt == "pdf" and out is None and sys.stdout.isatty():
        _fail("a PDF is binary and standard output is a terminal: give --out FILE.pdf, or redirect it "
              "(settle explain ... --format pdf > FILE.pdf)", 2)
    if dispute is not None:
        if month is not None or first is not None or last is not None:
            raise click.UsageError("--dispute covers every settled month of its placement: give no --month, --from or --to")
        _explain_dispute(service.open_db(obj["db"]), dispute, fmt, out, with_bsn)
        return
    months = _months(month, first, last)
    from .dossier import gather, render_html, render_pdf
    subject, key = chosen[0]
    engine = service.open_db(obj["db"])
    # a period or a municipality can take a while: its phases (reading, explaining, writing the PDF) on a terminal
    progress = _LoadProgress.on_terminal() if len(months) > 1 or subject == "municipality" else None
    sel = gather(engine, subject, key, months, mode="latest" if fmt in ("text", "json") else "dossier",
                 with_bsn=with_bsn, progress=progress)
    if fmt == "pdf":
        _write_pdf(render_pdf(sel, with_bsn=with_bsn, progress=progress), out)
        return
    if fmt == "json":
        text = explain_json(sel) + "\n"
    elif fmt == "html":
        text = render_html(sel, with_bsn=with_bsn, progress=progress)
    else:
        text = explain_text(sel)
    if out is None:
        click.echo(text, nl=False)
    else:
        _write_output(out, text)
        click.echo(f"wrote {out}")


def _explain_dispute(engine, dispute: str, fmt: str, out: Path | None, with_bsn: bool) -> None:
    """`settle explain --dispute D`: the dispute's dossier (html, pdf) or its summary (text, json)."""
    from .dossier import gather_dispute, render_dispute_html, render_dispute_pdf
    from .dossier.dispute import to_json, to_text
    progress = _LoadProgress.on_terminal() if fmt in ("html", "pdf") else None
    dsel = gather_dispute(engine, dispute, with_bsn=with_bsn, progress=progress)
    if fmt == "pdf":
        _write_pdf(render_dispute_pdf(dsel, with_bsn=with_bsn, progress=progress), out)
        return
    text = {"json": to_json, "text": to_text}[fmt](dsel) if fmt in ("json", "text") else \
        render_dispute_html(dsel, with_bsn=with_bsn, progress=progress)
    if out is None:
        click.echo(text, nl=False)
    else:
        _write_output(out, text)
        click.echo(f"wrote {out}")


@main.command(epilog=_environment("SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS",
                                  "SETTLEMENT_WORKERS"))
@click.option("--month", required=True, callback=_month, help="The final month to verify, YYYY-MM.")
@click.option("--receipt", "receipts", multiple=True, metavar="sha256:HASH",
              help="A receipt hash `settle finalize` printed for the month: it must be that of one of its "
                   "finalised runs (repeatable).")
@click.pass_obj
@_without_cycle_collector
def verify(obj, month: Month, receipts: tuple[str, ...]) -> None:
    """Prove the month's final run(s) untouched (integrity: exit 1 if not) and recompute them from
    their snapshot, comparing the evidence (reproduction: exit 1 if it differs under the run's own
    rules version, 3 if only because the rules changed since the run). With --receipt, the
    receipts printed at finalisation must be the runs' own: a database re-sealed since fails."""
    from . import service
    from .verify import verify_month
    report = verify_month(service.open_db(obj["db"]), month, progress=_progress_bar(f"{month} verify"),
                          receipts=receipts)
    for line in report.checked:
        click.echo(f"ok: {line}")
    for line in report.integrity:
        click.echo(f"integrity: FAILED: {line}")
    for line in report.differs:
        click.echo(f"reproduction: DIFFERS: {line}")
    for line in report.rules_changed:
        click.echo(f"reproduction: rules changed since this run: {line}")
    click.echo(f"integrity: {'ok' if report.integrity_ok else 'FAILED'}; reproduction: {report.reproduction}")
    if report.status == 1:
        _fail(f"{month} does not verify: {report.difference}", 1)
    if report.status != 0:
        _fail(f"{month} is intact, but the rules changed since its run: {len(report.rules_changed)} "
              f"difference(s) in the recomputation, listed above", report.status)
    click.echo(f"{month} verifies: every stored line, trace, pool share, invoice and hash is intact and the "
               f"recomputed evidence is identical")


@main.command(epilog=_environment("SETTLEMENT_DB"))
@click.option("--year", required=True, type=click.IntRange(1900, 9998), help="The budget year, YYYY.")
@click.option("--region", default=None, help="One region (its slug, e.g. ijssel-vecht); default every region.")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json", "pdf"]), default="text",
              show_default=True, help="pdf: the Dutch monitor with a plot per region and the projection.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE instead of standard output.")
@click.pass_obj
def budget(obj, year: int, region: str | None, fmt: str, out: Path | None) -> None:
    """The budget monitor (RULES.md §9): per municipality and region the year's budgets against the
    costs borne in its final months (and finalised corrections), months not final named, and a
    projection to the last budget year kept apart. A year without any final month is still shown,
    every month named as not final."""
    from . import monitor, service
    if fmt == "pdf" and out is None and sys.stdout.isatty():
        _fail("a PDF is binary and standard output is a terminal: give --out FILE.pdf, or redirect it "
              "(settle budget ... --format pdf > FILE.pdf)", 2)
    mon, info = monitor.gather(service.open_db(obj["db"]), year, region)
    if fmt == "pdf":
        _write_pdf(monitor.to_pdf(mon, info), out)
        return
    text = {"text": monitor.to_text, "csv": monitor.to_csv, "json": monitor.to_json}[fmt](mon)
    if out is None:
        click.echo(text, nl=False)
    else:
        _write_output(out, text)
        click.echo(f"wrote {out}")


@main.command(epilog=_environment("SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS"))
@click.pass_obj
def rekey(obj) -> None:
    """Re-encrypt every stored BSN with the key in SETTLEMENT_BSN_KEY (the old ones in SETTLEMENT_BSN_OLD_KEYS)."""
    from . import service
    count, snapshots = service.rekey(service.open_db(obj["db"]))
    click.echo(f"{count} BSN(s) in {snapshots} snapshot(s) re-encrypted and re-hashed with the current "
               f"SETTLEMENT_BSN_KEY in one transaction; the old key(s) are no longer needed")


def _pdfs(folder: Path) -> dict[str, tuple[int, int]]:
    """The PDFs in a folder, each with its inode and modification time: one written since differs."""
    try:
        return {e.name: (e.inode(), e.stat().st_mtime_ns) for e in os.scandir(folder)
                if e.name.endswith(".pdf") and e.is_file()}
    except OSError:  # no folder (yet)
        return {}


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


@main.command(epilog=_environment("SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS"))
@click.option("--month", default=None, callback=_month, help="The finalised month, YYYY-MM.")
@click.option("--year", type=click.IntRange(1900, 9998), default=None,
              help="Instead of --month: the year statements (jaaroverzichten) of YYYY, one PDF per municipality.")
@click.option("--municipality", default=None, help="With --year: only this municipality (its code).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("documents"),
              show_default=True, help="Directory for the PDFs.")
@click.option("--processes", type=click.IntRange(min=1), default=None, help="Worker processes (default: every core).")
@click.pass_obj
def statements(obj, month: Month | None, year: int | None, municipality: str | None, out: Path,
               processes: int | None) -> None:
    """Write the month's statements (afrekeningen) and invoices (facturen) as PDF; with --year, the
    year statements (jaaroverzichten): per municipality its costs by basis, pool shares, months,
    invoices and credit notes, against its budgets; months not final named."""
    from . import service
    if (month is None) == (year is None):
        raise click.UsageError("give either --month YYYY-MM or --year YYYY")
    if municipality is not None and year is None:
        raise click.UsageError("--municipality goes with --year")
    if year is not None:
        paths = service.write_year_statements(service.open_db(obj["db"]), year, out,
                                              None if municipality is None else [municipality], processes)
        click.echo(f"{year}: {len(paths)} year statement(s) written to {out}/")
        return
    assert month is not None
    engine, before, bar, total = service.open_db(obj["db"]), _pdfs(out), _progress_bar(f"{month} documents"), [0]

    def progress(done: int, of: int) -> None:
        total[0] = of
        if bar:
            bar(done, of)
    try:
        paths, n_statements, n_invoices = service.write_documents(
            engine, month, out, processes, progress, warn=lambda sentence: click.echo(f"warning: {sentence}", err=True),
            failed=lambda sentence: click.echo(f"integrity: FAILED: {sentence}", err=True))
    except KeyboardInterrupt:
        written = len(_pdfs(out).items() - before.items())  # each written whole (a temporary file, renamed)
        _interrupted(f"{written} of {total[0]} PDF(s) were written to {out}/, each one whole; "
                     f"`settle statements --month {month}` writes them all" if total[0] else
                     f"no PDF was written; `settle statements --month {month}` writes them")
    click.echo(f"{month}: {n_statements} statement(s) and {n_invoices} invoice(s) written to {out}/")


@main.command(epilog=_environment("SETTLEMENT_BSN_KEY", "SETTLEMENT_WORKERS", "SETTLEMENT_NOW"))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
              show_default=True, help="Directory for the database and the outputs.")
@click.option("--documents", "documents", default="2024-12", show_default=True,
              help="Months whose statements and invoices to render as PDF: YYYY-MM[,YYYY-MM...], 'all' or 'none'.")
@click.option("--year-statements", "year_statements", default="ijssel-vecht", show_default=True,
              help="Whose year statements (jaaroverzichten) of 2024 to render: a region's slug, 'all' or 'none'.")
def demo(out: Path, documents: str, year_statements: str) -> None:
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
    run_demo(out, echo=click.echo, documents=chosen, progress=_progress_bar("documents"),
             year_statements=year_statements)


@main.command("import-iwmo", epilog=_environment())
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--into", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The dataset directory whose declarations.csv the messages go into.")
def import_iwmo(files: tuple[Path, ...], into: Path) -> None:
    """Read iWmo 3.2 declarations (WMO323) and their answers (WMO325) into a dataset's declarations.csv.

    FILES are the XML messages (a folder: its *.xml files). Per placement and month the amount is
    the net of the prestaties not rejected, in the month of their product period; each refusal is
    named with its file, line and declaration. Exit status 0 once declarations.csv is written, also
    with refusals (they are listed); 2 when nothing was written."""
    from . import iwmo
    if not into.is_dir():
        _fail(f"{into}: no such directory", 2)
    paths: list[Path] = []
    for f in files:
        if f.is_dir():
            paths.extend(sorted(p for p in f.iterdir() if p.suffix.lower() == ".xml" and p.is_file()))
        elif not f.exists():
            _fail(f"{f}: no such file; nothing was written", 2)
        else:
            paths.append(f)
    if not paths:
        _fail(f"no iWmo message among {', '.join(map(str, files))}; nothing was written", 2)
    outcome = iwmo.import_files(paths, into)
    click.echo(iwmo.report(outcome), nl=False)


@main.command(epilog=_environment())
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

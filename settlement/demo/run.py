"""`settle demo`: the whole monthly job on the bundled demonstration data.

A fresh SQLite database in the output directory; load the bundled dataset; settle and finalise
every month of 2023 and 2024 (numbering the invoices); write each month's export and a readable
summary. The rulings (`rulings.csv`) arrive as they would in an office: the months that ended
before the first ruling was decided are settled and finalised on the data without it (a copy in
STAGED), then the whole data are loaded, the final months from the ruling's `valid_from` on are
settled again, which gives correction runs (RULES.md §4.0: a credit note to the old payer, an
invoice to the new one unless it is the creditor), finalised and exported
(`correction-<month>.json`), and the later months follow. Then render the
statements and invoices (PDF) of the chosen months, with the corrections' own documents (their
credit notes and invoices, and the statements of the municipalities they concern), the budget
monitor of 2024 (RULES.md §9, `settle budget --year 2024 --format pdf`), and the year statements
(jaaroverzichten) of 2024 of one region's municipalities (YEAR_REGION, whose pool shows in them;
every municipality's take about 20 s on two cores, one region's 8 about 6 s); print a table per
municipality.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

from .. import outputs, service, store
from ..errors import Refused
from ..money import format_cents
from ..periods import Month, months_between
from ..report import month_summary, table

DATA = Path(__file__).resolve().parent / "data"
FIRST, LAST = Month(2023, 1), Month(2024, 12)
BUDGET_YEAR = 2024
BUDGET_PDF = f"budget-{BUDGET_YEAR}.pdf"  # the budget monitor, written with the documents


STAGED = "data-before-rulings"  # the bundled data without rulings.csv, as loaded before a ruling was known
RULINGS = "rulings.csv"
DB_NAME = "demo.db"  # never the default database's name (settlement.db), so no office database is replaced
COMMAND = "settle demo"
YEAR, YEAR_REGION = 2024, "ijssel-vecht"  # the year statements the demo writes by default


def months() -> list[Month]:
    return months_between(FIRST, LAST)


def take_over(out: Path) -> None:
    """Make `out` the demo's folder: new, empty, or holding only an earlier demo's output (which is
    removed). A folder with anything else in it is refused whole, before anything is written."""
    if out.exists() and not out.is_dir():
        raise Refused(f"{out} is a file, not a folder: give `settle demo --out` a new or empty folder")
    if out.is_dir():
        theirs = outputs.not_written_by(out, COMMAND)
        if theirs:
            shown = ", ".join(theirs[:3]) + (f" and {len(theirs) - 3} more" if len(theirs) > 3 else "")
            raise Refused(f"{out} is not empty and holds files that `settle demo` did not write ({shown}); nothing "
                          f"was changed: give --out a new or empty folder, or the folder of an earlier demo")
        outputs.clear(out, COMMAND)
    names = [f"{DB_NAME}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
    names += [f"{kind}-{m}.{ext}" for m in months()
              for kind, ext in (("export", "json"), ("summary", "txt"), ("correction", "json"))]
    outputs.claim(out, names + ["documents", BUDGET_PDF, STAGED], COMMAND)


#: the day of the month after a month on which the demo's finance office finalises it (invented)
FINALISED_ON_DAY = 10
#: days after a ruling was decided on which the demo finalises the corrections it causes (invented)
CORRECTED_AFTER = timedelta(days=7)


@contextmanager
def on_day(day: date):
    """The engine's clock (SETTLEMENT_NOW) at 09:00 UTC on `day` while the demo finalises: its
    invoices carry the dates an office that finalises every month would give them, and the demo's
    documents are the same whatever day it runs."""
    saved = os.environ.get("SETTLEMENT_NOW")
    os.environ["SETTLEMENT_NOW"] = f"{day.isoformat()}T09:00:00+00:00"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SETTLEMENT_NOW", None)
        else:
            os.environ["SETTLEMENT_NOW"] = saved


def finalised_on(m: Month) -> date:
    """The day the demo finalises month `m`: the FINALISED_ON_DAY of the month after it."""
    return (m.last + timedelta(days=1)).replace(day=FINALISED_ON_DAY)


def rulings_known(data: Path) -> tuple[date, date] | None:
    """(the day the first ruling was decided, the earliest valid_from) of the data's rulings, or
    None when it has none."""
    path = data / RULINGS
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    return (min(date.fromisoformat(r["decided_on"]) for r in rows),
            min(date.fromisoformat(r["valid_from"]) for r in rows))


def stage(out: Path) -> Path:
    """The bundled data without its rulings, in out/STAGED: what the office had loaded before the
    first ruling was decided (the snapshot's source names this folder)."""
    folder = out / STAGED
    names = sorted(f.name for f in DATA.iterdir() if f.is_file() and f.name != RULINGS)
    outputs.claim(folder, names, COMMAND)
    for name in names:
        shutil.copyfile(DATA / name, folder / name)
    return folder


def run_demo(out: Path, echo: Callable[[str], None] = print, documents: list[Month] | None = None,
             progress=None, year_statements: str = YEAR_REGION) -> None:
    """`documents`: the months whose PDFs to render (default: the last month; rendering all 24
    months takes a few minutes on two cores). `year_statements`: whose year statements of 2024 to
    render: a region's slug (its municipalities on any day of the year), 'all' or 'none'."""
    documents = [LAST] if documents is None else documents
    regions = sorted(row["region"] for row in csv.DictReader(open(DATA / "regions.csv", encoding="utf-8")))
    if year_statements not in ("all", "none", *regions):
        raise Refused(f"unknown region {year_statements!r} for the year statements: give one of "
                      f"{', '.join(regions)}, 'all' or 'none'")
    started = time.perf_counter()
    take_over(out)
    db_file = out / DB_NAME
    url = f"sqlite:///{db_file}"
    engine = service.init(url)
    known = rulings_known(DATA)
    # the months that ended before the first ruling was decided are final before it is known
    before = [m for m in months() if known is not None and m.last < known[0]]
    outcomes, invoices = [], 0
    if before:
        staged = stage(out)
        snapshot_id, _ = service.load(engine, staged)
        echo(f"loaded the demonstration data without its rulings ({staged}) into {db_file} as snapshot {snapshot_id}")
        outcomes += service.run_months(engine, before)
        invoices += finalise(engine, before, out)
    snapshot_id, _ = service.load(engine, DATA)
    echo(f"loaded the demonstration data ({DATA}) into {db_file} as snapshot {snapshot_id}")
    corrections = []  # (outcome, its finalisation) of every final month the rulings change
    if before:
        assert known is not None
        again = [m for m in before if m.last >= known[1]]
        for o in service.run_months(engine, again):
            if o.kind == "correction":
                with on_day(known[0] + CORRECTED_AFTER):
                    corrections.append((o, service.finalize(engine, o.result.month)))
    after = months()[len(before):]
    outcomes += service.run_months(engine, after)
    invoices += finalise(engine, after, out)
    with engine.connect() as conn:
        names = service.municipality_names(conn, snapshot_id)
    yearly: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        m = o.result.month
        (out / f"summary-{m}.txt").write_text(month_summary(o.result, names), encoding="utf-8")
    for o in outcomes + [o for o, _ in corrections]:  # the corrections' differences count in their year
        for code, (payable, receivable) in o.result.totals.items():
            yearly[(code, o.result.month.year)][0] += payable
            yearly[(code, o.result.month.year)][1] += receivable
    for o, done in corrections:
        m = o.result.month
        (out / f"correction-{m}.json").write_text(service.export_month(engine, m), encoding="utf-8")
        kinds = ", ".join(f"{i.number} ({'credit note' if i.kind == 'credit_note' else 'invoice'} "
                          f"{i.creditor} to {i.debtor}, {format_cents(i.amount)})" for i in done.invoices)
        echo(f"{m}: correction run {done.run.id} after the ruling, {len(o.result.lines)} lines: {kinds or 'no invoice'}")
    invoices += sum(len(done.invoices) for _, done in corrections)
    years = sorted({y for _, y in yearly})
    rows = []
    for code in sorted(names):
        row = [code, names[code]]
        for y in years:
            p, r = yearly[(code, y)]
            row += [format_cents(p), format_cents(r)]
        rows.append(row)
    headers = ["code", "municipality"] + [f"{h} {y}" for y in years for h in ("payable", "receivable")]
    echo("")
    echo(table(headers, rows, set(range(2, len(headers)))))
    for m in documents:
        _, n_statements, n_invoices = service.write_documents(engine, m, out / "documents" / str(m),
                                                              progress=progress, command=COMMAND)
        echo(f"{m}: {n_statements} statements and {n_invoices} invoices (PDF) in {out / 'documents' / str(m)}/")
    if documents:  # the corrections' documents go with the documents (`--documents none`: neither)
        for o, done in corrections:
            m = o.result.month
            n_statements, n_invoices = write_correction_documents(engine, m, done, out / "documents" / str(m))
            echo(f"{m}: the correction's credit notes and invoices ({n_invoices}) and the statements of the "
                 f"municipalities they concern ({n_statements}), PDF, in {out / 'documents' / str(m)}/")
    if documents:  # the budget monitor goes with the documents (`--documents none`: neither)
        from .. import monitor
        mon, info = monitor.gather(engine, BUDGET_YEAR)
        (out / BUDGET_PDF).write_bytes(monitor.to_pdf(mon, info))
        echo(f"budget monitor {BUDGET_YEAR} (PDF) in {out / BUDGET_PDF}")
    if year_statements != "none":
        folder = out / "documents" / f"jaaroverzicht-{YEAR}"
        codes = None if year_statements == "all" else year_codes(engine, year_statements)
        paths = service.write_year_statements(engine, YEAR, folder, codes, command=COMMAND)
        which = "every municipality" if codes is None else f"the municipalities of {year_statements}"
        echo(f"{YEAR}: {len(paths)} year statements (PDF) of {which} in {folder}/")
    lines = sum(len(o.result.lines) for o in outcomes)
    fixed = sum(len(o.result.lines) for o, _ in corrections)
    echo("")
    echo(f"settled and finalised {len(outcomes)} months ({FIRST}..{LAST}), {lines} lines, and {len(corrections)} "
         f"corrections with {fixed} lines; {invoices} invoices and credit notes, in "
         f"{time.perf_counter() - started:.1f} s; exports and summaries in {out}/")


def finalise(engine, ms: list[Month], out: Path) -> int:
    """Finalise the months' drafts and write each one's final export (before any correction run
    becomes its latest); the number of invoices given out."""
    n = 0
    for m in ms:
        with on_day(finalised_on(m)):
            n += len(service.finalize(engine, m).invoices)
        (out / f"export-{m}.json").write_text(service.export_month(engine, m), encoding="utf-8")
    return n


def write_correction_documents(engine, month: Month, done, folder: Path) -> tuple[int, int]:
    """The PDFs a finalised correction run gave: its credit notes and invoices, and the month's
    statements (which show the correction) of the municipalities they concern."""
    from ..documents.build import build_month
    from ..documents.render import render_all
    numbers = {i.number for i in done.invoices}
    with engine.connect() as conn:
        statements, invoices = build_month(conn, str(month))
    mine = [i for i in invoices if i.number in numbers]
    codes = {c for i in mine for c in (i.creditor.code, i.debtor.code)}
    concerned = [s for s in statements if s.municipality.code in codes]
    render_all(concerned, mine, folder, command=COMMAND)
    return len(concerned), len(mine)


def year_codes(engine, region: str) -> list[str]:
    """The municipalities of `region` on any day of YEAR, and its centrumgemeente."""
    from ..budget import region_codes
    with engine.connect() as conn:
        ds, _ = store.read_dataset(conn, store.current_snapshot(conn), frame=True)
    return sorted(region_codes(ds.regions[region], ds.members, YEAR))

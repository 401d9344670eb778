"""The national benchmark: generate, load, one month, twelve months, documents, memory, and the floor.

    python -m settlement.bench [--clients N] [--db URL ...] [--json FILE] [--month YYYY-MM]

One run reports, per database:

- **generation**: `synth.generate` of N clients, in this process (timed separately, not a target);
- **load**: `settle load DIR` as a whole process (a child process: wall clock, CPU, peak RSS);
- **one month**: `settle run --month M` as a whole process (median of `--repeat` runs), and the
  in-process breakdown of the same work: read the snapshot (`store.read_dataset`), settle
  (`Engine.settle`, in one process), write (export text for the digest, then lock, delete the draft, `write_run`);
- **twelve months**: `settle run --from Y-01 --to Y-12` for M's year as one process (the data read
  once, the months settled on every core), and twelve `settle run` processes one after the other;
- **statements and invoices** of month M: `settle finalize` then `settle statements` (every core),
  with pages per second;
- **peak memory**: the peak of the summed resident sets of every child and its own children
  (workers, render processes), sampled every 50 ms; ru_maxrss of every child (`os.wait4`), and
  `getrusage(RUSAGE_CHILDREN)` at the end;
- **the floor**: reading the same input rows from the same database with plain SQL, `SELECT *`
  of every fact table of the snapshot with `fetchall`, in this process and as a whole process
  (`python -c` with only the database driver), and the ratio of the month's run to it.

Targets (for N = 40,000 on the project's 2-core machine) are printed beside the figures with
PASS or MISS. A PostgreSQL URL names a database the benchmark creates and drops (it must not
exist yet); give `--db` twice (SQLite and PostgreSQL) to compare them on the same data, or
`--compare FILE` with the JSON of an earlier SQLite run. The machine is shared: each figure
carries the load average when it started and the CPU seconds it used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GB = 1 << 30
MB = 1 << 20
TARGETS = {  # key: (limit, unit, description); the national targets (40,000 clients, 2 cores)
    "load_s": (20.0, "s", "load <= 20 s"),
    "month_cli_s": (3.0, "s", "national month as a whole process <= 3 s"),
    "month_floor_cpu_ratio": (4.0, "x", "month's CPU <= 4x the floor's (whole processes)"),
    "twelve_s": (30.0, "s", "twelve months <= 30 s"),
    "explain_text_s": (3.0, "s", "explain one client (text) <= 3 s"),
    "explain_pdf_s": (3.0, "s", "explain one client (pdf) <= 3 s"),
    "explain_rss_bytes": (200 * MB, "B", "explain <= 200 MB"),
    "verify_s": (None, "s", "verify <= the month's run"),
    "growth_bytes": (30 * MB, "B", "database growth per settled month <= 30 MB"),
    "peak_rss_bytes": (1.0 * GB, "B", "peak memory <= 1 GB"),
    "statements_s": (120.0, "s", "statements + invoices of a month <= 120 s (both cores)"),
    "pg_ratio": (1.5, "x", "PostgreSQL within 1.5x of SQLite"),
}
BENCH_KEY = "settlement-BENCHMARK-key-for-synthetic-data-only-not-secret"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Child:
    """One child process: wall clock, CPU seconds and peak resident set (bytes)."""

    args: list[str]
    wall: float
    cpu: float
    maxrss: int
    status: int
    load: float
    stdout: str = ""
    tree_rss: int = 0  # peak of the summed resident sets of the process and its children (sampled)

    def brief(self) -> dict[str, Any]:
        return {"wall_s": round(self.wall, 3), "cpu_s": round(self.cpu, 3), "maxrss_bytes": self.maxrss,
                "tree_rss_bytes": self.tree_rss, "load_avg": round(self.load, 2)}


@dataclass
class Result:
    db: str
    dialect: str
    clients: int
    month: str
    figures: dict[str, Any] = field(default_factory=dict)
    children: dict[str, Any] = field(default_factory=dict)


class Failed(Exception):
    pass


def _env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["SETTLEMENT_DB"] = url
    env["PYTHONPATH"] = str(PACKAGE_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("SETTLEMENT_BSN_KEY", BENCH_KEY)
    env.pop("SETTLEMENT_DEBUG", None)
    return env


MEMORY_LIMIT: int | None = None  # bytes of address space per child (--memory-limit-gb), to protect a shared machine


def _limit_memory() -> None:  # pragma: no cover - runs in the child before exec
    if MEMORY_LIMIT:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class _TreeMemory:
    """Samples, every 50 ms, the resident sets of a process and all its descendants, summed:
    ru_maxrss is the peak of one process, while a run's workers hold memory at the same time."""

    def __init__(self, pid: int):
        import threading
        self.pid, self.peak, self._done = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        pids, i = [self.pid], 0
        while i < len(pids):
            try:
                with open(f"/proc/{pids[i]}/task/{pids[i]}/children") as f:
                    pids += [int(x) for x in f.read().split()]
            except OSError:
                pass
            i += 1
        return pids

    def _sample(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._done.wait(0.05):
            total = 0
            for pid in self._tree():
                try:
                    with open(f"/proc/{pid}/statm") as f:
                        total += int(f.read().split()[1]) * page
                except OSError:
                    pass
            self.peak = max(self.peak, total)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def run_child(argv: list[str], env: dict[str, str], workdir: Path, check: bool = True) -> Child:
    """Run a child process to its end and measure it with wait4 (its own rusage, including its
    reaped children such as a process pool)."""
    out_path = workdir / "child.out"
    load = os.getloadavg()[0]
    with open(out_path, "wb") as out:
        started = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir,
                             preexec_fn=_limit_memory if MEMORY_LIMIT else None)  # noqa: PLW1509 - no threads here
        tree = _TreeMemory(p.pid)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - started
        tree.stop()
    p.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(encoding="utf-8", errors="replace")
    child = Child(argv, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024, p.returncode, load, text,
                  max(tree.peak, ru.ru_maxrss * 1024))
    if check and p.returncode != 0:
        raise Failed(f"{' '.join(argv[2:])} exited with {p.returncode}:\n{text[-3000:]}")
    return child


def settle_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "settlement.cli", *args]


# --------------------------------------------------------------------------- databases


def _pg_admin_url(url: str) -> tuple[str, str]:
    """(the server's maintenance database URL for psycopg, the database name) of a SQLAlchemy URL.
    Parsed with urllib: this process stays small (see `run_child`)."""
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise Failed(f"{url}: name the database to create, e.g. .../settle_bench")
    return urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, "")), name


def create_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import psycopg
    admin, name = _pg_admin_url(url)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise Failed(f"{name!r}: use a plain lowercase database name")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            raise Failed(f"database {name} exists already: the benchmark creates and drops its own database; "
                         f"name a fresh one")
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import psycopg
    admin, name = _pg_admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fact_tables() -> list[str]:
    from . import loader
    return [i.table for i in loader.INPUTS]


_FLOOR_SCRIPT = r"""
import sys, time
kind, target, snapshot, tables = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
if kind == "sqlite":
    import sqlite3
    conn = sqlite3.connect(target)
else:
    import psycopg
    conn = psycopg.connect(target)
cur = conn.cursor()
n = 0
for t in tables:
    cur.execute(f"SELECT * FROM {t} WHERE snapshot_id = {snapshot}")
    n += len(cur.fetchall())
print(n)
"""


def _driver_target(url: str) -> tuple[str, str]:
    from urllib.parse import urlsplit, urlunsplit
    if url.startswith("sqlite:///"):
        return "sqlite", url[len("sqlite:///"):]
    parts = urlsplit(url)
    return "postgresql", urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def floor_in_process(engine: Any, snapshot_id: int) -> tuple[float, int]:
    """Plain SQL through the raw driver connection: SELECT * of every fact table, fetchall."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        started = time.perf_counter()
        n = 0
        for t in fact_tables():
            cur.execute(f"SELECT * FROM {t} WHERE snapshot_id = {int(snapshot_id)}")
            n += len(cur.fetchall())
        return time.perf_counter() - started, n
    finally:
        raw.close()


# --------------------------------------------------------------------------- the steps


def in_process_month(url: str, month_text: str, profile_dir: Path | None = None) -> dict[str, float]:
    """The work of `settle run --month M`, phase by phase, in this process."""
    from . import db, export, service, store
    from .engine import Engine, engine_info
    from .periods import Month
    month = Month.parse(month_text)
    engine = db.make_engine(db.database_url(url))
    phases: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        prof = None
        if profile_dir is not None:
            import cProfile
            prof = cProfile.Profile()
            prof.enable()
        started = time.perf_counter()
        value = fn()
        phases[name] = time.perf_counter() - started
        if prof is not None:
            prof.disable()
            prof.dump_stats(str(profile_dir / f"{name}.prof"))
        return value

    def read():
        with engine.connect() as conn:
            snapshot = store.current_snapshot(conn)
            ds, agreements = store.read_dataset(conn, snapshot, period=(month.first, month.last))  # as `settle run`
        return snapshot, ds, agreements

    snapshot, ds, agreements = timed("read_s", read)
    result = timed("settle_s", lambda: Engine(ds, agreements).settle(month))
    info = engine_info()
    codes = sorted(ds.municipalities)
    text = timed("export_text_s", lambda: service._export_text(str(month), info["engine_version"],
                                                                snapshot.input_hash, result, codes))

    def write():
        with engine.begin() as conn:
            store.lock_month(conn, str(month))
            store.delete_unfinalised(conn, str(month))
            store.write_run(conn, snapshot, result, info, export.digest(text))

    timed("write_s", write)
    phases["total_s"] = sum(phases.values())
    phases["lines"] = len(result.lines)
    phases["placements"] = len(ds.placements)
    floor, rows = floor_in_process(engine, snapshot.id)
    phases["floor_s"] = floor
    phases["floor_rows"] = rows
    phases["snapshot"] = snapshot.id
    engine.dispose()
    return phases


def worker_main(args: list[str]) -> int:
    """`python -m settlement.bench --worker month URL M [--profile DIR]`: print the figures as one
    JSON line."""
    what, url, arg = args[:3]
    assert what == "month", what
    import gc
    gc.disable()  # as `settle run` does
    profile = Path(args[4]) if len(args) > 4 and args[3] == "--profile" else None
    out: dict[str, Any] = in_process_month(url, arg, profile)
    out["tables"] = fact_tables()
    print(json.dumps(out))
    return 0


def count_pages(directory: Path) -> tuple[int, int]:
    """(documents, pages) of the PDFs in a directory: pdfinfo when installed, else the page objects."""
    pdfs = sorted(directory.glob("*.pdf"))
    pages = 0
    pdfinfo = shutil.which("pdfinfo")
    for pdf in pdfs:
        if pdfinfo:
            out = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=False).stdout
            m = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
            pages += int(m.group(1)) if m else 0
        else:
            pages += len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf.read_bytes()))
    return len(pdfs), pages


def bench_db(url: str, data: Path, clients: int, month: str, workdir: Path, repeat: int, statements: bool,
             profile_dir: Path | None, echo: Callable[[str], None], twelve_processes: bool = True) -> Result:
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    res = Result(url, dialect, clients, month)
    env = _env(url)
    fig, kids = res.figures, res.children

    def child(name: str, *args: str, argv: list[str] | None = None) -> Child:
        c = run_child(argv or settle_cli(*args), env, workdir)
        kids[name] = c.brief()
        echo(f"  {name:<22} {c.wall:8.2f} s  cpu {c.cpu:7.2f} s  rss {c.maxrss / 2**20:7.0f} MB  "
             f"with children {c.tree_rss / 2**20:7.0f} MB  (load {c.load:.1f})")
        return c

    def worker(name: str, *args: str) -> dict[str, Any]:
        """The in-process measurements run in a child too, so that this process stays small: a
        child's ru_maxrss starts from its parent's resident set at the fork (Linux records the
        parent's high-water mark when the child execs)."""
        c = child(name, argv=[sys.executable, "-m", "settlement.bench", "--worker", *args])
        return json.loads(c.stdout.strip().splitlines()[-1])

    child("init", "init")
    fig["load_s"] = child("load", "load", str(data)).wall

    walls, cpus = [], []
    for i in range(repeat):
        c = child(f"month_cli_{i + 1}", "run", "--month", month)
        walls.append(c.wall)
        cpus.append(c.cpu)
    fig["month_cli_s"] = statistics.median(walls)
    fig["month_cli_runs_s"] = walls
    fig["month_cli_cpu_s"] = statistics.median(cpus)

    phases = worker("month_in_process", "month", url, month, *(["--profile", str(profile_dir)] if profile_dir else []))
    fig["month_in_process"] = phases
    echo(f"  in-process month        read {phases['read_s']:.2f} s, settle {phases['settle_s']:.2f} s, export text "
         f"{phases['export_text_s']:.2f} s, write {phases['write_s']:.2f} s = {phases['total_s']:.2f} s "
         f"({phases['lines']} lines of {phases['placements']} placements)")

    kind, target = _driver_target(url)
    floor_kid = run_child([sys.executable, "-c", _FLOOR_SCRIPT, kind, target, str(phases["snapshot"]),
                           ",".join(phases["tables"])], env, workdir)
    kids["floor_process"] = floor_kid.brief()
    fig["floor_in_process_s"] = phases["floor_s"]
    fig["floor_process_s"] = floor_kid.wall
    fig["floor_rows"] = phases["floor_rows"]
    fig["month_floor_ratio"] = fig["month_cli_s"] / floor_kid.wall
    fig["floor_process_cpu_s"] = floor_kid.cpu
    fig["month_floor_cpu_ratio"] = fig["month_cli_cpu_s"] / floor_kid.cpu
    fig["month_floor_ratio_in_process"] = phases["total_s"] / phases["floor_s"]
    echo(f"  floor                   {phases['floor_rows']} rows: {phases['floor_s']:.2f} s in process, "
         f"{floor_kid.wall:.2f} s as a process")

    year = int(month[:4])
    size_before = database_bytes(url)
    try:
        twelve = child("twelve_months", "run", "--from", f"{year}-01", "--to", f"{year}-12")
        fig["twelve_s"] = twelve.wall
        fig["twelve_lines"] = sum(int(m) for m in re.findall(r"draft run \d+, (\d+) lines", twelve.stdout))
        echo(f"  twelve months (settle run --from --to, one process) {twelve.wall:.2f} s, {fig['twelve_lines']} lines")
    except Failed as e:  # e.g. out of memory under --memory-limit-gb
        fig["twelve_s"] = float("inf")
        fig["twelve_failed"] = str(e).splitlines()[0] + " " + str(e).strip().splitlines()[-1]
        echo(f"  twelve months FAILED: {fig['twelve_failed']}")
    fig["growth_bytes"] = (database_bytes(url) - size_before) / 11  # eleven more drafts (the month's was there)
    echo(f"  database growth         {fig['growth_bytes'] / MB:.1f} MB per settled month")
    total = 0.0
    for m in range(1, 13 if twelve_processes else 1):
        total += child(f"twelve_cli_{m:02d}", "run", "--month", f"{year}-{m:02d}").wall
    fig["twelve_cli_s"] = total if twelve_processes else None
    echo(f"  twelve months (12 settle run processes) {total:.2f} s" if twelve_processes
         else "  twelve months (12 settle run processes) skipped")

    child("finalize", "finalize", "--month", month)
    v = child("verify", "verify", "--month", month)
    fig["verify_s"], fig["verify_rss_bytes"] = v.wall, v.tree_rss
    client = explained_client(url, month)
    fig["explain_client"] = client
    t = child("explain_text", "explain", "--month", month, "--client", client)
    out = workdir / f"explain-{dialect}.pdf"
    d = child("explain_pdf", "explain", "--month", month, "--client", client, "--format", "pdf", "--out", str(out))
    fig["explain_text_s"], fig["explain_pdf_s"] = t.wall, d.wall
    fig["explain_rss_bytes"] = max(t.tree_rss, d.tree_rss)
    if statements:
        docs = workdir / f"documents-{dialect}"
        shutil.rmtree(docs, ignore_errors=True)
        st = child("statements", "statements", "--month", month, "--out", str(docs))
        n_docs, pages = count_pages(docs)
        fig["statements_s"] = st.wall
        fig["statements_documents"] = n_docs
        fig["statements_pages"] = pages
        fig["statements_pages_per_s"] = pages / st.wall if st.wall else 0.0
        fig["statements_cpu_s"] = st.cpu
        echo(f"  statements              {n_docs} documents, {pages} pages, {fig['statements_pages_per_s']:.1f} pages/s "
             f"(cpu {st.cpu:.0f} s over {st.wall:.0f} s)")

    fig["peak_rss_bytes"] = max(k["tree_rss_bytes"] for k in kids.values())
    fig["peak_rss_step"] = max(kids, key=lambda k: kids[k]["tree_rss_bytes"])
    return res


def database_bytes(url: str) -> int:
    """The bytes the database holds: SQLite's pages in use (free pages left out), PostgreSQL's
    pg_database_size."""
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
                free = conn.exec_driver_sql("PRAGMA freelist_count").scalar_one()
                return (pages - free) * conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    finally:
        engine.dispose()


def explained_client(url: str, month: str) -> str:
    """The client `settle explain` is timed on: of the month's final run, the client with the most
    lines (ties: the lowest id), so that the question is as large as one client's gets."""
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT l.client FROM line l JOIN run r ON r.id = l.run_id WHERE r.month = :m AND r.kind = 'final' "
                "GROUP BY l.client ORDER BY count(*) DESC, l.client LIMIT 1"), {"m": month}).scalar_one()
    finally:
        engine.dispose()


def verdict(key: str, value: float, limit: float | None = None) -> str:
    limit = TARGETS[key][0] if limit is None else limit
    return "PASS" if value <= limit else "MISS"


def report(results: list[Result], generation: dict[str, Any], clients: int, compare: dict[str, Any] | None,
           echo: Callable[[str], None]) -> dict[str, Any]:
    echo("")
    note = "" if clients == 40_000 else f"  (targets are for N = 40,000; this is N = {clients:,})"
    echo(f"Benchmark, N = {clients:,} clients{note}")
    echo(f"  generation: {generation['seconds']:.2f} s ({generation['rows']:,} CSV rows, {generation['bytes'] / 2**20:.0f} MB)")
    rows = []

    def line(label: str, key: str | None, values: list[str], check: list[float | None] | None = None) -> None:
        verdicts = ""
        if key is not None and check is not None:
            verdicts = "  ".join(f"{verdict(key, v)}" if v is not None else "-" for v in check)
            verdicts = f"  [{TARGETS[key][2]}: {verdicts}]"
        rows.append(f"  {label:<44}" + "".join(f"{v:>16}" for v in values) + verdicts)

    names = [r.dialect for r in results]
    rows.append(f"  {'':<44}" + "".join(f"{n:>16}" for n in names))
    F = [r.figures for r in results]

    def s(v: float) -> str:
        return f"{v:.2f} s"

    line("load (process)", "load_s", [s(f["load_s"]) for f in F], [f["load_s"] for f in F])
    line("one month, `settle run` (process, median)", "month_cli_s", [s(f["month_cli_s"]) for f in F],
         [f["month_cli_s"] for f in F])
    line("  in process: read snapshot", None, [s(f["month_in_process"]["read_s"]) for f in F])
    line("  in process: settle", None, [s(f["month_in_process"]["settle_s"]) for f in F])
    line("  in process: export text (digest)", None, [s(f["month_in_process"]["export_text_s"]) for f in F])
    line("  in process: write", None, [s(f["month_in_process"]["write_s"]) for f in F])
    line("  in process: total", None, [s(f["month_in_process"]["total_s"]) for f in F])
    line("  lines", None, [f"{f['month_in_process']['lines']:,}" for f in F])
    line("floor: plain SQL, every fact table (process)", None, [s(f["floor_process_s"]) for f in F])
    line("floor: the same in process", None, [s(f["floor_in_process_s"]) for f in F])
    line("month / floor (processes, wall)", None, [f"{f['month_floor_ratio']:.1f} x" for f in F])
    line("month / floor (processes, CPU)", "month_floor_cpu_ratio", [f"{f['month_floor_cpu_ratio']:.1f} x" for f in F],
         [f["month_floor_cpu_ratio"] for f in F])
    line("month / floor (in process)", None, [f"{f['month_floor_ratio_in_process']:.1f} x" for f in F])
    line("twelve months, `settle run --from --to` (process)", "twelve_s", [s(f["twelve_s"]) for f in F], [f["twelve_s"] for f in F])
    line("twelve months, 12 x `settle run` (processes)", None,
         [s(f["twelve_cli_s"]) if f.get("twelve_cli_s") else "-" for f in F])
    line("database growth per settled month", "growth_bytes", [f"{f['growth_bytes'] / MB:.1f} MB" for f in F],
         [f["growth_bytes"] for f in F])
    line("`settle verify --month` (process)", None, [s(f["verify_s"]) for f in F])
    rows[-1] += "  [verify <= the month's run: " + "  ".join(verdict("verify_s", f["verify_s"], f["month_cli_s"])
                                                            for f in F) + "]"
    line("  its peak memory", "peak_rss_bytes", [f"{f['verify_rss_bytes'] / MB:.0f} MB" for f in F],
         [f["verify_rss_bytes"] for f in F])
    line("`settle explain --client` text (process)", "explain_text_s", [s(f["explain_text_s"]) for f in F],
         [f["explain_text_s"] for f in F])
    line("`settle explain --client` pdf (process)", "explain_pdf_s", [s(f["explain_pdf_s"]) for f in F],
         [f["explain_pdf_s"] for f in F])
    line("  their peak memory", "explain_rss_bytes", [f"{f['explain_rss_bytes'] / MB:.0f} MB" for f in F],
         [f["explain_rss_bytes"] for f in F])
    if all("statements_s" in f for f in F):
        line("statements + invoices (process, 2 cores)", "statements_s", [s(f["statements_s"]) for f in F],
             [f["statements_s"] for f in F])
        line("  documents / pages", None, [f"{f['statements_documents']} / {f['statements_pages']}" for f in F])
        line("  pages per second", None, [f"{f['statements_pages_per_s']:.1f}" for f in F])
    line("peak memory of a step, with its workers", "peak_rss_bytes", [f"{f['peak_rss_bytes'] / 2**20:.0f} MB" for f in F],
         [f["peak_rss_bytes"] for f in F])
    line("  in step", None, [f["peak_rss_step"] for f in F])

    ratios: dict[str, float] = {}
    base = next((r.figures for r in results if r.dialect == "sqlite"), None) or (compare or {}).get("sqlite")
    pg = next((r.figures for r in results if r.dialect == "postgresql"), None)
    if base and pg:
        for key in ("load_s", "month_cli_s", "twelve_s", "verify_s", "explain_text_s", "explain_pdf_s", "statements_s"):
            if key in base and key in pg:
                ratios[key] = pg[key] / base[key]
        rows.append("")
        for key, v in ratios.items():
            rows.append(f"  PostgreSQL / SQLite, {key:<30}{v:>10.2f} x  [{TARGETS['pg_ratio'][2]}: "
                        f"{verdict('pg_ratio', v)}]")
    for r in rows:
        echo(r)
    children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    echo(f"  getrusage(RUSAGE_CHILDREN).ru_maxrss {children_rss / 2**20:.0f} MB; this process (in-process steps) "
         f"{self_rss / 2**20:.0f} MB")
    return {"pg_over_sqlite": ratios, "rusage_children_maxrss_bytes": children_rss,
            "rusage_self_maxrss_bytes": self_rss}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m settlement.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--db", action="append", default=None,
                        help="database URL (repeatable); default: a fresh SQLite file in the work directory. "
                             "A PostgreSQL database is created and dropped by the benchmark.")
    parser.add_argument("--month", default="2024-03")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the one-month process (median)")
    parser.add_argument("--no-statements", dest="statements", action="store_false")
    parser.add_argument("--no-twelve-processes", dest="twelve_processes", action="store_false",
                        help="skip the twelve months as twelve `settle run` processes")
    parser.add_argument("--json", type=Path, default=None, help="write every figure to FILE")
    parser.add_argument("--compare", type=Path, default=None, help="JSON of an earlier SQLite run (PostgreSQL ratio)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the data and databases here")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write cProfile stats of the in-process phases (inflates their times)")
    parser.add_argument("--memory-limit-gb", type=float, default=None,
                        help="address-space limit per child process (protects a shared machine)")
    args = parser.parse_args(argv)
    global MEMORY_LIMIT
    MEMORY_LIMIT = int(args.memory_limit_gb * GB) if args.memory_limit_gb else None

    from . import synth
    echo = lambda text: print(text, flush=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="settle-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / f"synth-{args.clients}"
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    urls = args.db or [f"sqlite:///{workdir / 'bench.db'}"]
    for url in urls:
        if url.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                Path(url[len("sqlite:///"):] + suffix).unlink(missing_ok=True)

    echo(f"settlement benchmark: N = {args.clients:,}, month {args.month}, {os.cpu_count()} cores, "
         f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}, work directory {workdir}")
    started = time.perf_counter()
    summary = synth.generate(data, args.clients, args.seed)
    generation = {"seconds": time.perf_counter() - started, "rows": sum(summary.rows.values()),
                  "bytes": sum(p.stat().st_size for p in data.iterdir()), "files": summary.rows,
                  "cross_region_share": summary.cross_region_share, "placements": summary.placements_by_product}
    echo(f"generation: {generation['seconds']:.2f} s; {summary.text()}")

    results = []
    code = 0
    for url in urls:
        echo(f"database {url}")
        created = False
        try:
            create_database(url)
            created = url.startswith("postgresql")
            results.append(bench_db(url, data, args.clients, args.month, workdir, args.repeat, args.statements,
                                    args.profile, echo, args.twelve_processes))
        except Failed as e:
            echo(f"FAILED: {e}")
            code = 1
        finally:
            if created:
                drop_database(url)
    compare = None
    if args.compare:
        earlier = json.loads(args.compare.read_text(encoding="utf-8"))
        compare = {"sqlite": next(r["figures"] for r in earlier["results"] if r["dialect"] == "sqlite")}
    extra = report(results, generation, args.clients, compare, echo) if results else {}
    if args.json:
        args.json.write_text(json.dumps({
            "clients": args.clients, "seed": args.seed, "month": args.month, "cores": os.cpu_count(),
            "python": platform.python_version(), "generation": generation, "targets": TARGETS,
            "results": [asdict(r) for r in results], **extra}, indent=2, default=str), encoding="utf-8")
        echo(f"wrote {args.json}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

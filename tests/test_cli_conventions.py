"""The command line's conventions: -h, the environment in each command's help, Ctrl-C (exit 130
and what was kept), output files in missing folders, database URLs, and exit status 2 for ids
and months the database does not know (INTERFACE.md §2: 2 refused input, 1 anything else)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from settlement import db
from settlement.cli import main
from settlement.demo.run import DATA

from tests.test_finalize import loaded  # noqa: F401 - the init-and-load fixture

ROOT = Path(__file__).resolve().parent.parent
CLI = str(ROOT / "cli.py")


def settle(db_url: str | None, *args: str):
    return CliRunner().invoke(main, [*(["--db", db_url] if db_url else []), *args], catch_exceptions=False)


def ok(db_url: str, *args: str):
    r = settle(db_url, *args)
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture
def sqlite_loaded(tmp_path):
    url = f"sqlite:///{tmp_path / 'settle.db'}"
    ok(url, "init")
    ok(url, "load", str(DATA))
    return url


def one_error(r, status: int = 2) -> str:
    """The command failed with `status` and one sentence on stderr, no traceback."""
    assert r.exit_code == status, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.output, r.stderr
    return lines[0]


# -- -h and the environment in --help ----------------------------------------------------------------

COMMANDS = ["init", "load", "run", "status", "finalize", "export", "explain", "verify", "rekey", "statements",
            "budget", "disputes", "demo", "synth", "import-iwmo"]

# which command reads which variable (grep: db.database_url, bsn.keyring, workers.processes_wanted,
# clock.now/today; SETTLEMENT_DEBUG: every command's error handling)
READS = {
    "init": {"SETTLEMENT_DB", "SETTLEMENT_BSN_KEY"},  # migration 0004 hashes plain BSNs
    "load": {"SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS", "SETTLEMENT_NOW"},
    "run": {"SETTLEMENT_DB", "SETTLEMENT_WORKERS", "SETTLEMENT_NOW"},
    "status": {"SETTLEMENT_DB"},
    "finalize": {"SETTLEMENT_DB", "SETTLEMENT_NOW"},
    "export": {"SETTLEMENT_DB"},
    "explain": {"SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS"},  # --with-bsn
    "verify": {"SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS", "SETTLEMENT_WORKERS"},  # recomputes on every core
    "rekey": {"SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS"},
    "statements": {"SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS"},
    "budget": {"SETTLEMENT_DB"},
    "disputes": {"SETTLEMENT_DB", "SETTLEMENT_NOW"},  # open or ruled: on today
    "demo": {"SETTLEMENT_BSN_KEY", "SETTLEMENT_WORKERS", "SETTLEMENT_NOW"},  # its own database in --out
    "synth": set(),
    "import-iwmo": set(),  # files in, files out: no database
}
ALL = {"SETTLEMENT_DB", "SETTLEMENT_BSN_KEY", "SETTLEMENT_BSN_OLD_KEYS", "SETTLEMENT_WORKERS", "SETTLEMENT_NOW",
       "SETTLEMENT_DEBUG"}


def test_h_is_help_for_the_program_and_every_command():
    top = settle(None, "-h")
    assert top.exit_code == 0 and top.stdout == settle(None, "--help").stdout and "Usage:" in top.stdout
    for command in COMMANDS:
        r = settle(None, command, "-h")
        assert r.exit_code == 0, (command, r.output)
        assert r.stdout == settle(None, command, "--help").stdout and "Usage:" in r.stdout


def test_every_command_help_names_the_environment_it_reads():
    assert set(READS) == set(COMMANDS) == set(main.commands)
    top = settle(None, "--help").stdout
    assert all(name in top for name in ALL) and "_SETTLE_COMPLETE=bash_source settle" in top
    for command, names in READS.items():
        help_text = settle(None, command, "--help").stdout
        assert "Environment:" in help_text, command
        shown = set(re.findall(r"\bSETTLEMENT_[A-Z_]+\b", help_text.split("Environment:", 1)[1]))
        assert shown == names | {"SETTLEMENT_DEBUG"}, command


# -- database URLs -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["mysql://settle:secret@db.example/settle", "http://example.org/settle.db",
                                 "sqlite:/tmp/settle.db", "sqlite://", "postgresql+psycopg2://u@h/d", "oracle:x"])
def test_an_unknown_database_url_is_one_sentence_naming_the_accepted_forms(url):
    line = one_error(settle(url, "status"))
    assert "sqlite:///FILE" in line and "postgresql://" in line and "a bare file path" in line
    assert "secret" not in line  # a password is never echoed


def test_database_url_forms():
    assert db.database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert db.database_url("x.db") == "sqlite:///x.db"
    assert db.database_url("/data/settle.db") == "sqlite:////data/settle.db"
    for alias in ("postgres://u@h/d", "postgresql://u@h/d", "postgresql+psycopg://u@h/d"):
        assert db.database_url(alias) == "postgresql+psycopg://u@h/d"


def test_postgres_scheme_is_accepted_as_postgresql(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("postgres:// names a PostgreSQL database")
    alias = db_url.replace("postgresql+psycopg://", "postgres://", 1)
    assert settle(alias, "init").exit_code == 0
    assert "no data loaded yet" in ok(alias, "status").stdout


def test_a_database_that_cannot_be_opened_is_status_1():
    """An environment problem, not the user's input: exit status 1, one sentence."""
    line = one_error(settle("postgresql://nobody@127.0.0.1:1/none", "status"), status=1)
    assert "cannot open the database" in line


# -- ids and months the database does not know: exit status 2 -----------------------------------------

def test_unknown_ids_and_months_without_runs_are_refused_with_status_2(loaded):
    ok(loaded, "run", "--month", "2024-03")
    for args, words in [
        (("--client", "C9999"), "unknown client 'C9999'"),
        (("--placement", "P99999"), "unknown placement 'P99999'"),
        (("--municipality", "9999"), "unknown municipality code '9999'"),
    ]:
        for fmt in ("text", "json"):
            line = one_error(settle(loaded, "explain", "--month", "2024-03", *args, "--format", fmt))
            assert words in line
    line = one_error(settle(loaded, "explain", "--month", "2019-01", "--client", "C0001"))
    assert "no run for 2019-01" in line and "settle run --month 2019-01" in line
    line = one_error(settle(loaded, "explain", "--from", "2024-03", "--to", "2024-04", "--client", "C0001"))
    assert "no run for 2024-04" in line
    line = one_error(settle(loaded, "export", "--month", "2019-01"))
    assert "no run for 2019-01" in line


# -- output files -------------------------------------------------------------------------------------

def test_out_into_a_missing_folder_creates_it(loaded, tmp_path):
    ok(loaded, "run", "--month", "2024-03")
    target = tmp_path / "new" / "deeper" / "export.json"
    r = ok(loaded, "export", "--month", "2024-03", "--out", str(target))
    assert target.read_text(encoding="utf-8") == ok(loaded, "export", "--month", "2024-03").stdout
    assert f"wrote {target}" in r.stdout
    trace = tmp_path / "explained" / "C0013.json"
    ok(loaded, "explain", "--month", "2024-03", "--client", "C0013", "--format", "json", "--out", str(trace))
    assert json.loads(trace.read_text(encoding="utf-8"))["client"] == "C0013"
    assert sorted(p.name for p in target.parent.iterdir()) == ["export.json"]  # no temporary file left


def test_out_below_a_file_is_one_sentence(loaded, tmp_path):
    ok(loaded, "run", "--month", "2024-03")
    blocker = tmp_path / "report"
    blocker.write_text("not a folder", encoding="utf-8")
    for command in (("export", "--month", "2024-03"),
                    ("explain", "--month", "2024-03", "--client", "C0013")):
        line = one_error(settle(loaded, *command, "--out", str(blocker / "sub" / "out.json")))
        assert f"cannot write {blocker / 'sub' / 'out.json'}: {blocker} is a file, not a folder" in line
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_explain_pdf_is_not_written_to_a_terminal(sqlite_loaded):
    ok(sqlite_loaded, "run", "--month", "2024-03")
    master, slave = pty.openpty()
    try:
        p = subprocess.run([sys.executable, CLI, "--db", sqlite_loaded, "explain", "--month", "2024-03",
                            "--client", "C0013", "--format", "pdf"],
                           stdout=slave, stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT)
        os.close(slave)
        slave = -1
        written = b""
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's other side is closed
                break
            if not chunk:
                break
            written += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert p.returncode == 2, p.stderr
    assert "a PDF is binary and standard output is a terminal: give --out FILE.pdf" in p.stderr
    assert b"%PDF" not in written


# -- Ctrl-C -------------------------------------------------------------------------------------------

def _interrupt(args: list[str], ready, timeout: float = 120.0) -> subprocess.CompletedProcess | None:
    """Start `python cli.py ARGS`, wait until `ready(stdout lines so far)` holds, send SIGINT, and
    return the finished process; None when the command finished before it could be interrupted."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", SETTLEMENT_WORKERS="1")
    p = subprocess.Popen([sys.executable, CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, cwd=ROOT)
    lines: list[str] = []
    assert p.stdout is not None and p.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(p.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    try:
        while not ready(lines) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if p.poll() is not None:
            p.wait()
            return None
        p.send_signal(signal.SIGINT)
        err = p.stderr.read()
        p.wait(timeout=timeout)
        reader.join(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return subprocess.CompletedProcess(p.args, p.returncode, "".join(lines), err)


def test_ctrl_c_during_a_period_keeps_the_months_stored_and_says_which(sqlite_loaded):
    p = _interrupt(["--db", sqlite_loaded, "run", "--from", "2023-01", "--to", "2024-12"],
                   ready=lambda lines: len(lines) >= 1)  # 2023-01 is stored: interrupt during the rest
    if p is None:
        pytest.skip("the 24 months were settled before the interrupt arrived (a very fast machine)")
    assert p.returncode == 130, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    (line,) = [l for l in p.stderr.splitlines() if l.startswith("interrupted: ")]
    m = re.match(r"interrupted: 2023-01(?:\.\.(\d{4}-\d\d))? settled and stored \((\d+) of 24 months, each "
                 r"committed on its own\); (\d{4}-\d\d)\.\.2024-12 not settled: "
                 r"`settle run --from (\d{4}-\d\d) --to 2024-12` settles them$", line)
    assert m, line
    stored = int(m.group(2))
    assert 1 <= stored < 24 and m.group(3) == m.group(4)
    engine = create_engine(sqlite_loaded)
    with engine.connect() as conn:
        months = [r for (r,) in conn.execute(text("SELECT DISTINCT month FROM run ORDER BY month"))]
    engine.dispose()
    assert len(months) == stored and months[0] == "2023-01" and months[-1] == (m.group(1) or "2023-01")
    assert m.group(3) > months[-1]
    # what was printed before the interrupt was stored (and at most the month whose commit had
    # just finished when Ctrl-C came, which the sentence counts too)
    printed = [l[:7] for l in p.stdout.splitlines()]
    assert months[:len(printed)] == printed and len(months) - len(printed) in (0, 1)


def test_ctrl_c_during_statements_says_how_many_pdfs_were_written(sqlite_loaded, tmp_path):
    ok(sqlite_loaded, "run", "--month", "2024-12")
    ok(sqlite_loaded, "finalize", "--month", "2024-12")
    out = tmp_path / "documents"
    pdfs = lambda: sorted(out.glob("*.pdf")) if out.is_dir() else []
    p = _interrupt(["--db", sqlite_loaded, "statements", "--month", "2024-12", "--out", str(out),
                    "--processes", "1"], ready=lambda _: len(pdfs()) >= 2)
    if p is None:
        pytest.skip("the statements were all written before the interrupt arrived")
    assert p.returncode == 130, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    (line,) = [l for l in p.stderr.splitlines() if l.startswith("interrupted: ")]
    m = re.match(rf"interrupted: (\d+) of (\d+) PDF\(s\) were written to {re.escape(str(out))}/, each one whole; "
                 r"`settle statements --month 2024-12` writes them all$", line)
    assert m, line
    written, total = int(m.group(1)), int(m.group(2))
    assert written == len(pdfs()) >= 2 and written < total
    for pdf in pdfs():
        assert pdf.read_bytes().rstrip().endswith(b"%%EOF")  # each one whole

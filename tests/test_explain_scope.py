"""`settle explain` reads only what the question needs, and says exactly what it said when it read
the whole snapshot.

For `--client C` the line table is read with a WHERE on the client (its index on run_id, client),
for `--placement P` on the placement, for `--municipality M` on the payer or the pools M shares
in; of the facts only the frame (municipalities, regions, products, agreements) and the facts of
the selected lines' clients. The outputs (text, json, html, and the HTML the PDF is laid out
from) are compared with those of the same code made to read everything (every line of the
runs, the whole snapshot), which is how `explain` worked before; and a period or a
municipality reports its phases for a progress bar on a terminal.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from settlement import dossier, service, store
from settlement.cli import main
from settlement.demo.run import DATA, run_demo
from settlement.dossier import gather, render_html, render_pdf
from settlement.explain import explain_json, explain_text
from settlement.periods import Month

M = Month.parse


def settle(url: str, *args: str) -> str:
    r = CliRunner().invoke(main, ["--db", url, *args])
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> str:
    """The demo (every month of 2023-2024 final), then: a finalised correction of 2024-03 (a
    declaration for P00013), a draft correction of 2024-04 on a third snapshot, and a draft 2025-01."""
    out = tmp_path_factory.mktemp("scope")
    run_demo(out / "demo", echo=lambda *_: None, documents=[])
    (db_file,) = (out / "demo").glob("*.db")
    url = f"sqlite:///{db_file}"
    data = out / "data"
    shutil.copytree(DATA, data)
    with (data / "declarations.csv").open("a", encoding="utf-8") as fh:
        fh.write("P00013,2024-03,4000.00\n")
    settle(url, "load", str(data))
    settle(url, "run", "--month", "2024-03")
    settle(url, "finalize", "--month", "2024-03")
    with (data / "declarations.csv").open("a", encoding="utf-8") as fh:
        fh.write("P00013,2024-04,3000.00\n")
    settle(url, "load", str(data))
    settle(url, "run", "--month", "2024-04")
    settle(url, "run", "--month", "2025-01")
    return url


@contextmanager
def reading_everything(monkeypatch):
    """`explain` as it was: every line of the runs and the whole snapshot read, the selection made
    in Python (gather's own filter, which the narrowed reads no longer need)."""
    lines, dataset = store.read_run_lines, store.read_dataset
    with monkeypatch.context() as m:
        m.setattr(store, "read_run_lines", lambda conn, ids, with_trace=False, **_: lines(conn, ids, with_trace))
        m.setattr(store, "read_dataset", lambda conn, snapshot, **_: dataset(conn, snapshot))
        yield


def outputs(url: str, subject: str, key: str, months: list[Month], monkeypatch, pdf: bool = False) -> dict[str, bytes]:
    """Every output of one question: text and json (latest run) and html (the dossier); with
    `pdf` also the HTML the PDF is laid out from, and the PDF."""
    engine = service.open_db(url)
    latest = gather(engine, subject, key, months, mode="latest")
    sel = gather(engine, subject, key, months)
    out = {"text": explain_text(latest).encode(), "json": explain_json(latest).encode(),
           "html": render_html(sel).encode()}
    if pdf:
        with monkeypatch.context() as m:
            m.setattr(dossier, "pdf", lambda html, day: html.encode())
            out["pdf-html"] = render_pdf(sel)
        out["pdf"] = render_pdf(sel)
    return out


def same_as_reading_everything(url: str, questions, monkeypatch, pdf: bool = False) -> int:
    compared = 0
    for subject, key, months in questions:
        now = outputs(url, subject, key, months, monkeypatch, pdf)
        with reading_everything(monkeypatch):
            before = outputs(url, subject, key, months, monkeypatch, pdf)
        for fmt in now:
            assert now[fmt] == before[fmt], f"{subject} {key} {months[0]}..{months[-1]} {fmt} differs"
            compared += 1
    return compared


def keys(url: str, column: str, month: str) -> list[str]:
    """The distinct values of a column of the month's lines (clients, placements, payers)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.text(f"SELECT DISTINCT line.{column} FROM line JOIN run ON run.id = line.run_id "
                                     f"WHERE run.month = :m AND line.{column} IS NOT NULL ORDER BY 1"), {"m": month})
        values = list(found.scalars())
    engine.dispose()
    return values


PERIODS = ([M("2024-03")], [M("2024-04")], [M("2025-01")],
           [M("2023-11"), M("2023-12"), M("2024-01"), M("2024-02"), M("2024-03"), M("2024-04")])


def test_every_output_is_what_reading_everything_gave(demo, monkeypatch):
    """Clients, placements and municipalities of a final month with a finalised correction, of a
    final month with a pending draft correction on a newer snapshot, of a draft month, and of a
    period across them: the same bytes in every format."""
    questions = []
    for months in PERIODS:
        month = str(months[-1])
        step = 1 if len(months) == 1 else 3
        questions += [("client", c, months) for c in keys(demo, "client", month)[::40 * step]]
        questions += [("placement", p, months) for p in keys(demo, "placement", month)[7::50 * step]]
        questions += [("municipality", c, months) for c in keys(demo, "payer", month)[5::15 * step]]
    questions += [("client", "C0013", [M("2024-03")]), ("placement", "P00013", PERIODS[-1])]  # the corrections
    assert same_as_reading_everything(demo, questions, monkeypatch) >= 60


def test_the_pdf_is_the_same(demo, monkeypatch):
    """The HTML each PDF is laid out from, and one PDF's bytes."""
    questions = [("client", "C0013", [M("2024-03")]), ("placement", "P00033", PERIODS[-1]),
                 ("municipality", "0166", [M("2024-04")])]
    with monkeypatch.context() as m:
        m.setattr(dossier, "pdf", lambda html, day: html.encode())
        assert same_as_reading_everything(demo, questions, monkeypatch) == 9
        for subject, key, months in questions:
            now = render_pdf(gather(service.open_db(demo), subject, key, months))
            with reading_everything(monkeypatch):
                assert render_pdf(gather(service.open_db(demo), subject, key, months)) == now
    same_as_reading_everything(demo, questions[:1], monkeypatch, pdf=True)


class Statements:
    """The SQL an engine sends, as text."""

    def __init__(self, engine: sa.Engine):
        self.seen: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self.record)

    def record(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append(" ".join(statement.split()))

    def reading(self, table: str) -> list[str]:
        return [s for s in self.seen if s.startswith("SELECT") and f" FROM {table} " in f"{s} "]


def test_a_client_reads_its_lines_and_its_facts_only(demo):
    """C0030 in 2023-07 (a late notification): its line(s) by a WHERE on the client, and only its
    own BRP periods, applications, placements and their notifications; no tariff, no other client."""
    engine = service.open_db(demo)
    with engine.connect() as conn:
        whole, _ = store.read_dataset(conn, store.current_snapshot(conn))
    sql = Statements(engine)
    sel = gather(engine, "client", "C0030", [M("2023-07")])
    ds = sel.ds
    assert set(ds.clients) == {"C0030"}
    assert set(ds.placements) == {p.placement for p in whole.placements_by_client["C0030"]} == {"P00033"}
    assert len(ds.registrations) == 2 and ds.brp_by_client["C0030"] == whole.brp_by_client["C0030"]
    assert ds.applications and ds.applications_by_client["C0030"] == whole.applications_by_client["C0030"]
    assert ds.notifications and ds.notifications_by_placement["P00033"] == whole.notifications_by_placement["P00033"]
    assert ds.tariffs == []
    assert ds.budgets == whole.budgets  # the frame: a budget pool is read against them (RULES.md §5.3)
    assert ds.municipalities == whole.municipalities and ds.regions == whole.regions
    assert ds.products == whole.products and sel.agreements
    assert {e.line.client for e in sel.entries} == {"C0030"}
    (lines,) = sql.reading("line")
    assert "line.client = " in lines
    for table, column in (("client", "client"), ("brp", "client"), ("application", "client"),
                          ("placement", "client"), ("notification", "placement")):
        (query,) = sql.reading(table)
        assert f"{table}.{column} IN (" in query, query
    assert not sql.reading("tariff")
    assert len(sql.reading("budget")) == 1  # once, whole: the frame a budget pool is read against


def test_a_placement_reads_its_lines_and_its_clients_facts_only(demo):
    engine = service.open_db(demo)
    sql = Statements(engine)
    sel = gather(engine, "placement", "P00033", PERIODS[-1] + [M("2024-05")])
    assert set(sel.ds.clients) == {"C0030"} and "P00033" in sel.ds.placements
    assert {e.line.placement for e in sel.entries} == {"P00033"}
    assert all("line.placement = " in q for q in sql.reading("line"))


def test_a_municipality_reads_the_lines_it_pays_or_shares_in(demo):
    """0166 (Kampen) shares in a pool: the lines it pays and the pool's lines, and the facts of
    those lines' clients only."""
    engine = service.open_db(demo)
    sql = Statements(engine)
    sel = gather(engine, "municipality", "0166", [M("2024-03")])
    clients = {e.line.client for e in sel.entries}
    assert set(sel.ds.clients) == clients
    assert any(e.line.pool for e in sel.entries) and any(e.line.payer == "0166" for e in sel.entries)
    every = sum(1 for _ in keys(demo, "client", "2024-03"))
    assert len(clients) < every
    (lines,) = sql.reading("line")
    assert "line.payer = " in lines and "line.pool IN (" in lines


def test_unknown_keys_are_still_one_sentence(demo):
    for args, words in ((["--client", "C9999"], "unknown client 'C9999'"),
                        (["--placement", "P9"], "unknown placement 'P9'"),
                        (["--municipality", "9999"], "unknown municipality code '9999'")):
        r = CliRunner().invoke(main, ["--db", demo, "explain", "--month", "2024-03", *args])
        assert r.exit_code != 0 and words in r.output and "Traceback" not in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1, r.output


def test_the_reads_use_the_indexes(demo):
    """Schema 0005: a client's facts and a placement's lines are found by an index, not by going
    through every row of the snapshot or the run."""
    with sqlite3.connect(demo.removeprefix("sqlite:///")) as conn:
        def plan(query: str) -> str:
            return " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
        assert "ix_brp_snapshot_id_client (snapshot_id=? AND client=?)" in plan(
            "SELECT * FROM brp WHERE snapshot_id = 1 AND client IN ('C0030')")
        assert "ix_application_snapshot_id_client (snapshot_id=? AND client=?)" in plan(
            "SELECT * FROM application WHERE snapshot_id = 1 AND client IN ('C0030')")
        assert "ix_placement_snapshot_id_client (snapshot_id=? AND client=?)" in plan(
            "SELECT * FROM placement WHERE snapshot_id = 1 AND client IN ('C0030')")
        assert "ix_notification_snapshot_id_placement (snapshot_id=? AND placement=?)" in plan(
            "SELECT * FROM notification WHERE snapshot_id = 1 AND placement IN ('P00033')")
        assert "ix_line_run_id_placement (run_id=? AND placement=?)" in plan(
            "SELECT * FROM line WHERE run_id IN (1, 2) AND placement = 'P00033'")
        assert "ix_line_run_id_client (run_id=? AND client=?)" in plan(
            "SELECT * FROM line WHERE run_id IN (1, 2) AND client = 'C0030'")


def test_progress_of_a_period_and_of_a_municipality(demo):
    engine = service.open_db(demo)
    calls: list[tuple[str, int, int]] = []
    sel = gather(engine, "client", "C0030", PERIODS[-1], progress=lambda *a: calls.append(a))
    assert calls == [("reading", i, 7) for i in range(8)]
    calls.clear()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(dossier, "pdf", lambda html, day: b"%PDF")
        render_pdf(sel, progress=lambda *a: calls.append(a))
    explaining = [c for c in calls if c[0] == "explaining"]
    steps = 1 + len(sel.entries)  # the client's facts, then each line
    assert explaining == [("explaining", i, steps) for i in range(steps + 1)]
    assert calls[-2:] == [("writing the PDF", 0, 1), ("writing the PDF", 1, 1)]


def test_bars_on_a_terminal_only_for_what_takes_a_while(demo, monkeypatch):
    """On a terminal (stderr): a period's and a municipality's phases as bars; one client's month
    none (it takes well under a second). Not on a terminal: nothing, as tests and pipes see it."""
    def run(*args: str) -> str:
        r = CliRunner().invoke(main, ["--db", demo, "explain", *args])
        assert r.exit_code == 0, r.output
        return r.stderr

    assert "reading [" not in run("--from", "2024-01", "--to", "2024-03", "--client", "C0030")
    from settlement import cli
    monkeypatch.setattr(cli._LoadProgress, "on_terminal", classmethod(lambda cls: cls()))
    seen = run("--from", "2024-01", "--to", "2024-03", "--client", "C0030", "--format", "html")
    assert "reading [" in seen and "] 4/4" in seen and "explaining [" in seen
    assert "reading [" in run("--month", "2024-03", "--municipality", "0166")
    assert run("--month", "2024-03", "--client", "C0030") == ""


def test_run_of_one_month_shows_its_phases_on_a_terminal(demo, tmp_path, monkeypatch):
    copy = tmp_path / "copy.db"
    with sqlite3.connect(demo.removeprefix("sqlite:///")) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    from settlement import cli
    monkeypatch.setattr(cli._LoadProgress, "on_terminal", classmethod(lambda cls: cls()))
    r = CliRunner().invoke(main, ["--db", f"sqlite:///{copy}", "run", "--month", "2025-02"])
    assert r.exit_code == 0, r.output
    for phase in ("reading", "settling", "writing"):
        assert f"{phase} [{'#' * 30}] 1/1" in r.stderr, r.stderr


def test_the_same_on_both_databases(db_url, monkeypatch):
    """SQLite and PostgreSQL: the narrowed reads (IN lists, the payer-or-pool condition) select
    what reading everything selected."""
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))
    settle(db_url, "run", "--month", "2024-03")
    settle(db_url, "finalize", "--month", "2024-03")
    months = [M("2024-03")]
    questions = ([("client", c, months) for c in keys(db_url, "client", "2024-03")[::40]]
                 + [("placement", p, months) for p in keys(db_url, "placement", "2024-03")[::60]]
                 + [("municipality", c, months) for c in keys(db_url, "payer", "2024-03")[::6]])
    assert same_as_reading_everything(db_url, questions, monkeypatch) >= 30

"""What `settle finalize` refuses (INTERFACE.md §2, v2), and what `settle run` warns about first:
a draft computed on a snapshot that is no longer the current one, a month that has not ended by
today (the clock is settlement.clock, set here through SETTLEMENT_NOW), and a month with no lines.
Each refusal leaves the database as it was: no invoice number is given out."""

from __future__ import annotations

from settlement import db
from settlement.demo.run import DATA

from tests.test_cli_conventions import ok, settle
from tests.test_finalize import add_declaration, copy_data, counts, invoices, rows, runs_of
from tests.test_finalize import loaded  # noqa: F401 - the init-and-load fixture


def refused(db_url: str, *args: str, status: int = 2) -> str:
    """The command is refused (exit status 2, as INTERFACE.md §2 says for refused input) with one
    sentence on stderr, and changes nothing in the database."""
    before = counts(db_url)
    before_runs = rows(db_url, db.Run)
    r = settle(db_url, *args)
    assert r.exit_code == status, r.output
    assert "Traceback" not in r.output and r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")
    assert counts(db_url) == before and rows(db_url, db.Run) == before_runs
    return r.stderr


def test_a_draft_of_an_older_snapshot_is_refused(loaded, tmp_path):
    ok(loaded, "run", "--month", "2024-04")
    (draft,) = runs_of(loaded, "2024-04")
    changed = copy_data(tmp_path)
    add_declaration(changed, "P00013", "2024-04", "1234.56")
    out = ok(loaded, "load", str(changed)).output
    assert "loaded as snapshot" in out
    message = refused(loaded, "finalize", "--month", "2024-04")
    assert f"draft run {draft['id']} of 2024-04 was computed on snapshot {draft['snapshot_id']}" in message
    assert "run `settle run --month 2024-04` again" in message
    assert invoices(loaded) == [] and rows(loaded, db.InvoiceCounter) == []
    # run again on the current snapshot: now it finalises
    ok(loaded, "run", "--month", "2024-04")
    ok(loaded, "finalize", "--month", "2024-04")
    (final,) = runs_of(loaded, "2024-04")
    assert final["kind"] == "final" and final["snapshot_id"] != draft["snapshot_id"]


def test_a_draft_whose_snapshot_is_current_again_finalises(loaded, tmp_path):
    """Loading the changed data and then the original again makes the draft's snapshot current
    again (`load` says so): the draft is not stale."""
    ok(loaded, "run", "--month", "2024-04")
    changed = copy_data(tmp_path)
    add_declaration(changed, "P00013", "2024-04", "1234.56")
    ok(loaded, "load", str(changed))
    assert "made current again" in ok(loaded, "load", str(DATA)).output
    ok(loaded, "finalize", "--month", "2024-04")


def test_a_month_that_has_not_ended_is_refused(loaded, monkeypatch):
    monkeypatch.setenv("SETTLEMENT_NOW", "2024-03-31T23:59:59")
    r = ok(loaded, "run", "--month", "2024-03")
    assert "has not ended yet" not in r.stderr
    monkeypatch.setenv("SETTLEMENT_NOW", "2024-03-15")
    r = ok(loaded, "run", "--month", "2024-03")
    assert ("warning: 2024-03 has not ended yet (its last day is 2024-03-31, today is 2024-03-15): this draft "
            "cannot be finalised before it is over") in r.stderr
    message = refused(loaded, "finalize", "--month", "2024-03")
    assert message == ("error: 2024-03 has not ended yet (its last day is 2024-03-31, today is 2024-03-15); "
                       "it can be finalised once it is over\n")
    monkeypatch.setenv("SETTLEMENT_NOW", "2024-03-30T23:59:59")
    refused(loaded, "finalize", "--month", "2024-03")
    # from its last day on, the month's last day no longer lies after today (INTERFACE.md §2)
    monkeypatch.setenv("SETTLEMENT_NOW", "2024-03-31T08:00:00")
    ok(loaded, "finalize", "--month", "2024-03")
    issued = {i["issue_date"].isoformat() for i in invoices(loaded)}
    assert issued == {"2024-03-31"}  # the issue date comes from the same clock


def test_a_future_month_gets_no_invoice_numbers(loaded):
    """The real clock (2026 or later): 2030-01 lies in the future; the demo's placements that run
    on give it lines, and it must not take 0014-2030-00001 and the like."""
    r = ok(loaded, "run", "--month", "2030-01")
    assert "warning: 2030-01 has not ended yet" in r.stderr
    message = refused(loaded, "finalize", "--month", "2030-01")
    assert "2030-01 has not ended yet (its last day is 2030-01-31" in message
    assert invoices(loaded) == [] and rows(loaded, db.InvoiceCounter) == []


def test_a_month_without_lines_is_refused(loaded):
    r = ok(loaded, "run", "--month", "1999-01")
    assert "0 lines" in r.output
    assert ("warning: 1999-01 has no lines (no placement of the current data overlaps it): a month without lines "
            "cannot be finalised") in r.stderr
    message = refused(loaded, "finalize", "--month", "1999-01")
    assert message == ("error: 1999-01 has no lines (no placement of the current data overlaps it): there is "
                       "nothing to finalise, and no invoice number is given out\n")
    assert invoices(loaded) == []


def test_a_bad_clock_setting_is_one_sentence(loaded, monkeypatch):
    ok(loaded, "run", "--month", "2024-03")
    monkeypatch.setenv("SETTLEMENT_NOW", "yesterday")
    message = refused(loaded, "finalize", "--month", "2024-03", status=1)
    assert "SETTLEMENT_NOW='yesterday' is not a date" in message

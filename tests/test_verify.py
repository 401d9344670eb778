"""Receipts and `settle verify`: an untouched final month verifies; any stored amount, trace or
fact altered afterwards is found and named."""

from __future__ import annotations

import json
import re
import shutil

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from settlement import __version__
from settlement.cli import main
from settlement.demo.run import DATA

MONTH = "2024-03"


def settle(db_url, *args, code=0):
    r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    assert r.exit_code == code, r.output
    return r.output


def sql(db_url, statement, **params):
    engine = create_engine(db_url)
    with engine.begin() as conn:
        result = conn.execute(text(statement), params)
        rows = result.fetchall() if result.returns_rows else None
    engine.dispose()
    return rows


def stored_parts(db_url):
    """The trace parts of the database's runs (key -> text), as their bundles hold them."""
    from settlement import trace
    parts = {}
    for encoding, body in sql(db_url, "SELECT encoding, body FROM trace_bundle"):
        parts.update(trace.unbundle(encoding, bytes(body)))
    return parts


def forge_part(db_url, key, body):
    """Rewrite one stored part in its run's bundle, as someone with write access to the database could."""
    from settlement import trace
    for run_id, encoding, stored in sql(db_url, "SELECT run_id, encoding, body FROM trace_bundle"):
        parts = trace.unbundle(encoding, bytes(stored))
        if key in parts:
            parts[key] = body
            sql(db_url, "UPDATE trace_bundle SET body = :b WHERE run_id = :r", b=trace.bundle(parts), r=run_id)
            return
    raise AssertionError(f"no bundle holds {key}")


def final_month(db_url, data=DATA):
    settle(db_url, "init")
    settle(db_url, "load", str(data))
    settle(db_url, "run", "--month", MONTH)
    return settle(db_url, "finalize", "--month", MONTH)


def test_untouched_final_month_verifies_and_the_receipt_is_printed(db_url):
    out = final_month(db_url)
    printed = re.search(r"receipt (sha256:[0-9a-f]{64})", out).group(1)
    (receipt_hash, receipt_text, export_hash), = sql(db_url, "SELECT receipt_hash, receipt, export_hash FROM run")
    assert printed == receipt_hash
    receipt = json.loads(receipt_text)
    assert receipt["format"] == "settlement-receipt/1" and receipt["kind"] == "final"
    assert receipt["engine_version"] == __version__ and receipt["rules_version"] == "1"
    assert receipt["input_hash"].startswith("sha256:") and receipt["agreements_hash"].startswith("sha256:")
    assert receipt["export_hash"] == export_hash and receipt["finalized_at"] and receipt["calculated_at"]
    out = settle(db_url, "verify", "--month", MONTH)
    assert f"{MONTH} verifies" in out and "recomputed identically" in out


def test_an_altered_amount_is_found_and_named(db_url):
    final_month(db_url)
    (placement, payer, basis, amount), = sql(
        db_url, "SELECT placement, payer, basis, amount FROM line WHERE seq = 5")
    sql(db_url, "UPDATE line SET amount = amount + 1 WHERE seq = 5")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    cents = lambda v: f"{v // 100}.{v % 100:02d}"
    assert (f"line 6 ({placement}, payer {payer or '-'}, {basis}): amount stored {cents(amount + 1)}, "
            f"recomputed {cents(amount)}") in out
    assert "Traceback" not in out


def test_an_altered_trace_is_found_even_with_its_hash_rewritten(db_url):
    final_month(db_url)
    (trace,), = sql(db_url, "SELECT trace FROM line WHERE seq = 0")
    # the line's steps are stored once per run (the run's bundle of parts) and named by their keys
    keys = json.loads(trace)["steps"]
    bodies = stored_parts(db_url)
    key = next(k for k in keys if '"applies":true' in bodies[k])
    forged = bodies[key].replace('"applies":true', '"applies":false', 1)
    forge_part(db_url, key, forged)
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert "line 1 (" in out and "stored trace differs" in out and ".applies" in out
    assert "stored lines, traces or pool shares were altered" in out


def test_a_trace_naming_another_part_is_found(db_url):
    final_month(db_url)
    (trace,), = sql(db_url, "SELECT trace FROM line WHERE seq = 0")
    t = json.loads(trace)
    other = min(k for k in stored_parts(db_url) if k not in t["steps"])
    t["steps"][1] = other  # a step of some other line in its place
    forged = json.dumps(t, sort_keys=True, separators=(",", ":"))
    sql(db_url, "UPDATE line SET trace = :t WHERE seq = 0", t=forged)
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert "line 1 (" in out and "stored trace differs" in out
    assert "stored lines, traces or pool shares were altered" in out


def test_an_altered_fact_of_the_snapshot_is_found(db_url):
    final_month(db_url)
    sql(db_url, "UPDATE tariff SET price = price + 100")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert "stored facts of snapshot 1 no longer hash" in out


def test_a_final_month_verifies_after_new_data_and_with_its_correction(db_url, tmp_path):
    final_month(db_url)
    changed = tmp_path / "changed"
    shutil.copytree(DATA, changed)
    decl = (changed / "declarations.csv").read_text(encoding="utf-8")
    (changed / "declarations.csv").write_text(decl + "P00013,2024-03,4000.00\n", encoding="utf-8")
    settle(db_url, "load", str(changed))
    settle(db_url, "verify", "--month", MONTH)  # the final run keeps its own snapshot
    out = settle(db_url, "run", "--month", MONTH)
    assert "correction" in out
    settle(db_url, "finalize", "--month", MONTH)
    out = settle(db_url, "verify", "--month", MONTH)
    assert "final run" in out and "correction run" in out and f"{MONTH} verifies" in out


def test_verify_needs_a_final_month(db_url):
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))
    settle(db_url, "run", "--month", MONTH)
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert "no final run" in out


def test_verify_with_a_worker_recomputes_the_same_and_finds_an_altered_trace(db_url, monkeypatch):
    """A national month is recomputed on two processes (a worker reads and settles part of it):
    the same verdicts as in one process, on an untouched month and on a forged step."""
    import multiprocessing
    if "fork" not in multiprocessing.get_all_start_methods():
        import pytest
        pytest.skip("worker processes are forked")
    final_month(db_url)
    monkeypatch.setenv("SETTLEMENT_WORKERS", "2")
    out = settle(db_url, "verify", "--month", MONTH)
    assert f"{MONTH} verifies" in out and "recomputed identically" in out
    (trace,), = sql(db_url, "SELECT trace FROM line WHERE seq = 3")
    bodies = stored_parts(db_url)
    key = next(k for k in json.loads(trace)["steps"] if '"applies":true' in bodies[k])
    forge_part(db_url, key, bodies[key].replace('"applies":true', '"applies":false', 1))
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert "line 4 (" in out and "stored trace differs" in out and ".applies" in out

"""A run's trace parts stored as one compressed bundle (schema 0011, `settlement.trace.bundle`):
the parts read back exactly; runs that hold their parts a row each (written before 0011) read,
explain and verify as before; a damaged bundle is reported, not a traceback."""

from __future__ import annotations

import zlib

from click.testing import CliRunner

from settlement import trace
from settlement.cli import main
from tests.test_verify import MONTH, final_month, settle, sql, stored_parts


def test_a_bundle_gives_back_every_part_and_only_those_asked_for():
    parts = {trace.part_key(t): t for t in ('{"rule":"woonplaats"}', '{"rule":"historic","é":"ü"}', "[1,2]")}
    body = trace.bundle(parts)
    assert zlib.decompress(body).decode("utf-8") == "".join(k + parts[k] + "\n" for k in sorted(parts))
    assert trace.unbundle(trace.BUNDLE, body) == parts
    some = sorted(parts)[:2]
    assert trace.unbundle(trace.BUNDLE, body, some) == {k: parts[k] for k in some}
    assert trace.unbundle(trace.BUNDLE, trace.bundle({})) == {}


def test_a_run_stores_its_parts_as_one_bundle_and_no_part_rows(db_url):
    final_month(db_url)
    ((runs, count, encoding),) = sql(db_url, "SELECT count(*), sum(parts), min(encoding) FROM trace_bundle")
    assert runs == 1 and encoding == trace.BUNDLE
    assert sql(db_url, "SELECT count(*) FROM trace_part") == [(0,)]
    parts = stored_parts(db_url)
    assert len(parts) == count > 0
    named = {k for (t,) in sql(db_url, "SELECT trace FROM line") for k in trace.part_keys(trace.json.loads(t))}
    assert named == set(parts)  # every part a line names, and no other
    assert all(trace.part_key(text) == key for key, text in parts.items())


def test_a_run_written_before_bundles_reads_and_verifies_as_before(db_url):
    final_month(db_url)
    explained = settle(db_url, "explain", "--month", MONTH, "--client", "C0013")
    # as schema 0006-0010 stored it: a row per part, no bundle
    parts = stored_parts(db_url)
    ((run_id,),) = sql(db_url, "SELECT run_id FROM trace_bundle")
    sql(db_url, "DELETE FROM trace_bundle")
    for key, body in sorted(parts.items()):
        sql(db_url, "INSERT INTO trace_part (run_id, key, body) VALUES (:r, :k, :b)", r=run_id, k=key, b=body)
    assert f"{MONTH} verifies" in settle(db_url, "verify", "--month", MONTH)
    assert settle(db_url, "explain", "--month", MONTH, "--client", "C0013") == explained


def test_a_damaged_bundle_is_reported_in_one_sentence(db_url):
    final_month(db_url)
    sql(db_url, "UPDATE trace_bundle SET body = :b", b=b"not zlib at all")
    r = CliRunner().invoke(main, ["--db", db_url, "verify", "--month", MONTH])
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output and "bundle of trace parts is damaged" in r.output

"""Database fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL: SETTLEMENT_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/test). Each test
gets a fresh database created from it. With CI=true a missing server fails the run; elsewhere the
PostgreSQL tests skip with the reason.
"""

from __future__ import annotations

import os
import uuid

import pytest

# BSNs are stored encrypted (settlement.bsn): the tests' key, unless one is set already
TEST_BSN_KEY = "test-key-of-the-settlement-tests-not-secret-0123456789"
os.environ.setdefault("SETTLEMENT_BSN_KEY", TEST_BSN_KEY)

PG_URL = os.environ.get("SETTLEMENT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_problem: str | None = None
_pg_checked = False


def _pg_available() -> str | None:
    global _pg_checked, _pg_problem
    if not _pg_checked:
        _pg_checked = True
        try:
            import psycopg
            with psycopg.connect(_plain(PG_URL), connect_timeout=3):
                pass
        except Exception as e:  # noqa: BLE001 - any failure means: no server
            _pg_problem = f"no PostgreSQL at {PG_URL}: {e.__class__.__name__}: {str(e).strip().splitlines()[0]}"
    return _pg_problem


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A URL of an empty database: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    problem = _pg_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is mandatory in CI: {problem}")
        pytest.skip(problem)
    import psycopg
    name = f"settle_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(_plain(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""Breaks found by a red-team probe beyond the project's own hostile tests, each reproduced here
first (docs/RELIABILITY.md lists them with their outcome). Load-time refusals of agreements.toml
are cases in tests/hostile/cases.py; this file holds the rest."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement import db, loader
from settlement.cli import main
from settlement.dossier.build import anchor


def settle(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --- secrets in messages (probe 10) ------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "postgresql://postgres@127.0.0.1:1/test?password=s3cr3tpw",           # libpq's query parameter
    "postgresql://postgres:s3cr3tpw@127.0.0.1:1/test",                     # user:password@
    "postgres://postgres@127.0.0.1:1/test?sslmode=disable&PASSWORD=s3cr3tpw",
    "mysql://user:s3cr3tpw@host/db",                                       # refused scheme
])
def test_a_password_in_the_database_url_is_never_printed(url):
    r = settle("--db", url, "status")
    assert r.exit_code in (1, 2)
    assert "s3cr3tpw" not in r.output
    assert "***" in r.output  # the message still shows where it tried, with the password masked


def test_shown_masks_both_forms_and_keeps_the_rest():
    assert db.shown("postgresql+psycopg://u:pw1@h:5432/d?password=pw2&sslmode=require") == \
        "postgresql+psycopg://u:***@h:5432/d?password=***&sslmode=require"
    assert db.shown("sqlite:///settlement.db") == "sqlite:///settlement.db"


def test_a_driver_message_quoting_the_password_is_scrubbed():
    url = "postgresql+psycopg://u@h/d?password=hunter22"
    assert db.scrub('invalid connection option "password=hunter22"', url) == \
        'invalid connection option "password=***"'


# --- dossier anchors (probe 11) ----------------------------------------------------------------

def test_anchors_of_clients_that_differ_only_in_punctuation_differ():
    assert anchor("client", "C-0016") != anchor("client", "C.0016")
    assert anchor("client", "C-0016") != anchor("client", "C_0016")
    # an absent part keeps its place: P1 paid by 0193 is not placement "P1-0193" with no payer
    assert anchor("regel", "P1", "0193") != anchor("regel", "P1-0193", None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=1, max_size=4),
       st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=1, max_size=4))
def test_anchor_is_injective_and_a_valid_html_id(a, b):
    for parts in (a, b):
        assert all(c.isascii() and (c.isalnum() or c in "_-") for c in anchor(*parts))
    if [("" if p is None else p) for p in a] != [("" if p is None else p) for p in b]:
        assert anchor(*a) != anchor(*b)


# --- a dotted key in agreements.toml (probe 3) -------------------------------------------------

def test_the_dotted_key_attack_is_refused_before_the_parser_sees_it():
    # 120 KB took the standard parser past 100 s and 10 GB; the bound refuses it at once
    text = "x" + ".x" * 60_000 + " = 1\n"
    started = time.process_time()
    found = loader._toml_bounds(text)
    assert time.process_time() - started < 0.5
    assert found == (1, "invalid TOML: more than 16 dots on one line (a dotted key nested too deeply)")


def test_dots_and_digits_inside_strings_and_comments_do_not_count():
    text = ('[[agreement]]\n'
            'id = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s"  # and.here.too.a.b.c.d.e.f.g.h.i.j.k.l.m\n'
            "name = 'x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p \\'\n"  # a literal string: \\ is no escape
            'source = """\n' + "." * 100 + "\n" + "1" * 100 + '\n"""\n'
            'weight = 12345678901234567890\n')
    assert loader._toml_bounds(text) is None


def test_the_largest_accepted_agreements_file_parses_in_well_under_a_second():
    # the worst shape the bounds admit: lines of 16 dotted parts up to the size limit
    line = "k.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x = 1\n"
    text = "".join(f"k{i}" + line[1:] for i in range(loader.MAX_TOML_BYTES // (len(line) + 5)))
    assert len(text.encode()) <= loader.MAX_TOML_BYTES
    started = time.process_time()
    assert loader._toml_bounds(text) is None
    import tomllib
    tomllib.loads(text)
    assert time.process_time() - started < 3  # about 0.3 s on a quiet 2-core machine; CPU time, not wall


# --- sizes at the edges (probe 7) ----------------------------------------------------------------

def test_a_huge_file_without_a_line_break_is_refused_after_its_first_mebibyte(tmp_path):
    import shutil
    from settlement.demo.run import DATA
    d = tmp_path / "d"
    shutil.copytree(DATA, d)
    with open(d / "clients.csv", "wb") as f:  # 256 MiB: read whole, as before, this takes seconds
        f.write(b"client,bsn\nC1,")
        block = b"9" * (1 << 20)
        for _ in range(256):
            f.write(block)
    started = time.process_time()
    with pytest.raises(loader.LoadError) as e:
        loader.load_dir(d)
    assert time.process_time() - started < 2
    assert e.value.problems[0] == ("clients.csv:2: -: field is longer than 1000 characters (the line is longer "
                                   "than 1 MiB; the rest of the file was not read)")


# --- --out never writes over the database; files written exclusively (probes 2 and 5) ----------

def _sqlite_demo(tmp_path, monkeypatch):
    from settlement.demo.run import DATA
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SETTLEMENT_BSN_KEY", "hardening-test-key-0123456789-ABCDEFGH")
    url = f"sqlite:///{tmp_path / 's.db'}"
    for args in (("init",), ("load", str(DATA)), ("run", "--month", "2024-03")):
        r = settle("--db", url, *args)
        assert r.exit_code == 0, r.output
    return url


@pytest.mark.parametrize("name", ["s.db", "./s.db", "s.db-wal", "s.db-journal"])
def test_export_out_cannot_name_the_database_or_its_journal(tmp_path, monkeypatch, name):
    url = _sqlite_demo(tmp_path, monkeypatch)
    before = (tmp_path / "s.db").read_bytes()
    r = settle("--db", url, "export", "--month", "2024-03", "--out", name)
    assert r.exit_code == 2, r.output
    assert "is the database" in r.output and "nothing was written" in r.output
    assert (tmp_path / "s.db").read_bytes() == before
    r = settle("--db", url, "export", "--month", "2024-03", "--out", "export.json")
    assert r.exit_code == 0 and (tmp_path / "export.json").read_text().startswith("{")


def test_a_planted_link_at_the_temporary_name_is_not_followed(tmp_path, monkeypatch):
    import os

    from settlement.outputs import write_file
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    folder = tmp_path / "out"
    folder.mkdir()
    for guess in (".x.pdf.tmp", f".x.pdf.{os.getpid()}.tmp"):  # the names the writers used to use
        (folder / guess).symlink_to(victim)
    (folder / "x.pdf").symlink_to(victim)  # and a link at the target itself
    write_file(folder / "x.pdf", b"%PDF-new")
    assert victim.read_text() == "keep me"
    assert not (folder / "x.pdf").is_symlink() and (folder / "x.pdf").read_bytes() == b"%PDF-new"


# --- a dataset's files are its own regular files (probe 5) --------------------------------------

@pytest.mark.parametrize("name,optional", [("clients.csv", False), ("declarations.csv", True),
                                           ("agreements.toml", False)])
def test_a_symbolic_link_in_the_dataset_is_refused_and_its_target_never_quoted(tmp_path, name, optional):
    import shutil

    from settlement.demo.run import DATA
    d = tmp_path / "d"
    shutil.copytree(DATA, d)
    secret = tmp_path / "environ"
    secret.write_text("SETTLEMENT_BSN_KEY=topsecretkeyvalue123,other\n")
    (d / name).unlink(missing_ok=True)
    (d / name).symlink_to(secret)
    with pytest.raises(loader.LoadError) as e:
        loader.load_dir(d)
    assert f"{name}:0: -: is a symbolic link; a dataset holds its files themselves" in "\n".join(e.value.problems)
    assert "topsecret" not in "\n".join(e.value.problems)
    # a dangling link for an optional file is not "absent": it is refused too
    secret.unlink()
    with pytest.raises(loader.LoadError) as e:
        loader.load_dir(d)
    assert any(p.startswith(f"{name}:0: -: is a symbolic link") for p in e.value.problems)


def test_a_file_of_another_format_is_refused_without_quoting_it(tmp_path):
    import shutil

    from settlement.demo.run import DATA
    d = tmp_path / "d"
    shutil.copytree(DATA, d)
    (d / "clients.csv").write_text("root:x:0:0:root:/root:/bin/bash,topsecretkeyvalue\ndaemon:x:1:1\n")
    with pytest.raises(loader.LoadError) as e:
        loader.load_dir(d)
    text = "\n".join(e.value.problems)
    assert ("clients.csv:1: -: the first line names none of the columns of clients.csv: it is not a file of the "
            "exchange format; expected the header client,bsn") in text
    assert "root" not in text and "topsecret" not in text


# --- keys (probe 9) -----------------------------------------------------------------------------

@pytest.mark.parametrize("weak,why", [
    ("a" * 32, "it has 1 different characters"),
    ("correct horse battery staple settlement", "it holds white space or a comma"),
    ("abcdefghij,klmnopqrstuvwxyz0123456789", "it holds white space or a comma"),
    ("abababababababababababababababab1234", "it has 6 different characters"),
    ("zzzzzzzzzzzzabcdefghijklmnopqrstuvwxyz", "one character makes up more than a quarter of it"),
])
def test_a_weak_key_is_refused_as_the_current_key(monkeypatch, weak, why):
    from settlement import bsn
    monkeypatch.setenv(bsn.KEY_ENV, weak)
    with pytest.raises(bsn.UserError) as e:
        bsn.keyring("the test")
    assert f"SETTLEMENT_BSN_KEY is too weak to protect BSNs: {why}" in str(e.value)
    assert "SETTLEMENT_BSN_OLD_KEYS and run `settle rekey`" in str(e.value)


def test_generated_keys_are_accepted():
    import secrets

    from settlement import bsn
    assert all(bsn.weakness(secrets.token_urlsafe(32)) is None for _ in range(2000))
    assert bsn.weakness(bsn.DEMO_KEY) is None


def test_testing_a_guess_against_the_key_id_costs_a_scrypt():
    from settlement import bsn
    bsn.Key.derive.cache_clear()
    started = time.perf_counter()
    for i in range(5):
        bsn.Key.derive(f"guess-{i}-abcdefghijklmnopqrstuvwxyz0123")
    slow = (time.perf_counter() - started) / 5
    started = time.perf_counter()
    for i in range(5):
        bsn.Key.legacy(f"guess-{i}-abcdefghijklmnopqrstuvwxyz0123")
    fast = (time.perf_counter() - started) / 5
    assert slow > 0.01 and slow > 20 * fast  # about 50 ms against 50 µs


def test_a_database_of_format_v1_is_read_and_rekeyed_to_v2(db_url, monkeypatch, tmp_path):
    """A database whose BSNs were stored by the engine before v2 (keys by HKDF alone): read with the
    same secret, and `settle rekey` rewrites every value as v2 with the same BSNs."""
    import sqlalchemy as sa

    from settlement import bsn, db, service, store
    from settlement.demo.run import DATA
    secret = "test-key-of-the-settlement-tests-not-secret-0123456789"
    monkeypatch.setenv(bsn.KEY_ENV, secret)
    service.init(db_url)
    engine = db.make_engine(db_url)
    service.load(engine, DATA)
    keys = bsn.keyring("the test")
    v1 = bsn.Key.legacy(secret)
    t = db.ClientRow.__table__
    with engine.begin() as conn:  # write the clients as the v1 engine stored them
        rows = conn.execute(sa.select(t.c.snapshot_id, t.c.client, t.c.bsn_enc)).all()
        olds = []
        for sid, client, token in rows:
            plain = keys.decrypt(token, client)
            nonce = b"\x00" * 11 + bytes([len(olds) % 256])
            sealed = v1.aead.encrypt(nonce, plain.encode(), bsn._aad(client))
            import base64
            enc = "v1:" + v1.id + ":" + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
            olds.append({"_s": sid, "_c": client, "_h": v1.digest(plain), "_e": enc, "plain": plain})
        conn.execute(sa.update(t).where(t.c.snapshot_id == sa.bindparam("_s"), t.c.client == sa.bindparam("_c"))
                     .values(bsn_hmac=sa.bindparam("_h"), bsn_enc=sa.bindparam("_e")), olds)
    with engine.connect() as conn:  # v1 values read, and found by BSN
        ds, _ = store.read_dataset(conn, store.current_snapshot(conn), with_bsn=True)
        assert {c.client: c.bsn for c in ds.clients.values()} == {o["_c"]: o["plain"] for o in olds}
        assert store.clients_by_bsn(conn, olds[0]["plain"], keys) if hasattr(store, "clients_by_bsn") else True
    assert service.rekey(engine) == (len(olds), 1)
    with engine.connect() as conn:
        tokens = [tok for (tok,) in conn.execute(sa.select(t.c.bsn_enc))]
        ds, _ = store.read_dataset(conn, store.current_snapshot(conn), with_bsn=True)
    assert all(tok.startswith(f"v2:{keys.current.id}:") for tok in tokens)
    assert {c.client: c.bsn for c in ds.clients.values()} == {o["_c"]: o["plain"] for o in olds}
    engine.dispose()


# --- one consistent snapshot per read of a run (probe 4) ---------------------------------------

def test_export_and_documents_read_one_snapshot_on_postgresql(db_url, monkeypatch):
    """PostgreSQL: `export` while `run` rewrote the draft returned lines without pools (1 of 45
    exports, exit 0). Every read of a run is now one REPEATABLE READ transaction: the statements it
    sends run in one transaction that sees the database as it was at its first statement."""
    import sqlalchemy as sa

    from settlement import service, store
    from settlement.demo.run import DATA
    from settlement.periods import Month
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite lets one writer in at a time; the snapshot isolation is PostgreSQL's")
    monkeypatch.setenv("SETTLEMENT_BSN_KEY", "hardening-test-key-0123456789-ABCDEFGH")
    engine = service.init(db_url)
    service.load(engine, DATA)
    service.run_months(engine, [Month.parse("2024-03")])
    seen = []
    real = store.read_pools

    def spy(conn, *args, **kw):
        seen.append((conn.get_isolation_level(), conn.in_transaction()))
        # another process rewrites the month between the read of the lines and of the pools
        with engine.begin() as other:
            other.execute(sa.text("DELETE FROM pool_share WHERE run_id IN (SELECT id FROM run)"))
        return real(conn, *args, **kw)
    monkeypatch.setattr(store, "read_pools", spy)
    text = service.export_month(engine, Month.parse("2024-03"))
    assert seen == [("REPEATABLE READ", True)]
    assert '"pools": [' in text and '"pools": []' not in text  # the pools as they were when the read began
    engine.dispose()

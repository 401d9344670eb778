"""BSN at rest: a copy of the database holds no BSN in plain text; statements still show the
paying municipality's BSNs; the key is required exactly where BSNs are stored or shown; `settle
rekey` rotates it; a missing or wrong key is one sentence; no BSN in any error message; migration
0004 moves the plain BSNs of a 0003 database (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from settlement import bsn, db, migrate, service, store
from settlement.cli import main
from settlement.demo.run import DATA
from settlement.documents.build import build_month
from settlement.loader import load_dir

MONTH = "2024-03"
KEY_A = "key-A-Q7mZp2Lx9Vt4Rk8Wn3Hs6Jd1Fg5Bc0Ye"
KEY_B = "key-B-h3Ty8Ur5Ko2Pl9Mn6Bv1Cx4Za7Sd0Fg"
KEY_C = "key-C-w2Er7Ty4Ui9Op1As6Df3Gh8Jk5Lz0Xc"


def demo_bsns(directory: Path = DATA) -> dict[str, str]:
    with (directory / "clients.csv").open(encoding="utf-8") as f:
        return {r["client"]: r["bsn"] for r in csv.DictReader(f)}


def settle(db_url, *args, code=0):
    r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    assert r.exit_code == code, r.output
    return r.output


def use_key(monkeypatch, key: str | None, old: str | None = None) -> None:
    for name, value in ((bsn.KEY_ENV, key), (bsn.OLD_KEYS_ENV, old)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def raw_dump(db_url: str) -> str:
    """Everything a copy of the database holds. SQLite: the bytes of the database file and its
    write-ahead log (latin-1, so every byte is one character) and iterdump(); PostgreSQL: every row
    of every table as text."""
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        parts = [f.read_bytes().decode("latin-1") for f in sorted(path.parent.glob(path.name + "*"))]
        con = sqlite3.connect(path)
        parts += list(con.iterdump())
        con.close()
        return "\n".join(parts)
    engine = sa.create_engine(db_url)
    parts = []
    with engine.connect() as conn:
        tables = [t for (t,) in conn.execute(sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))]
        assert "client" in tables
        for t in tables:
            parts += [r for (r,) in conn.execute(sa.text(f'SELECT x::text FROM "{t}" AS x'))]
    engine.dispose()
    return "\n".join(parts)


def shown_bsns(db_url: str, month: str = MONTH) -> dict[str, set[str]]:
    """The BSNs on each municipality's statement, as `settle statements` would render them."""
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        statements, _ = build_month(conn, month)
    engine.dispose()
    assert not any(l.bsn for s in statements for l in s.creditor_lines)
    return {s.municipality.code: {l.bsn for l in s.lines if l.bsn} for s in statements if any(l.bsn for l in s.lines)}


def expected_shown(db_url: str, month: str = MONTH) -> dict[str, set[str]]:
    numbers = demo_bsns()
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        run = [r for r in store.month_runs(conn, month) if r.kind == "final"][0]
        lines = store.read_lines(conn, run.id)
    engine.dispose()
    out: dict[str, set[str]] = {}
    for l in lines:
        if l.payer is not None:
            out.setdefault(l.payer, set()).add(numbers[l.client])
    return out


def key_ids(db_url: str) -> set[str]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ids = {t.split(":")[1] for (t,) in conn.execute(sa.text("SELECT bsn_enc FROM client"))}
    engine.dispose()
    return ids


# -- the keyring ------------------------------------------------------------------------------------

def test_keyring_hashes_encrypts_and_binds_each_bsn_to_its_client():
    keys = bsn.Keyring(KEY_A)
    token = keys.encrypt("999994943", "C0001")
    assert token.startswith(f"v2:{keys.current.id}:") and "999994943" not in token and len(token) <= bsn.ENC_LENGTH
    assert keys.encrypt("999994943", "C0001") != token  # a random nonce per encryption
    assert keys.decrypt(token, "C0001") == "999994943"
    assert keys.digest("999994943") == keys.digest("999994943") != bsn.Keyring(KEY_B).digest("999994943")
    assert len(keys.digest("999994943")) == bsn.HMAC_LENGTH
    with pytest.raises(service.UserError, match="integrity") as e:
        keys.decrypt(token, "C0002")  # moved to another client
    assert "999994943" not in str(e.value)
    with pytest.raises(service.UserError, match="SETTLEMENT_BSN_OLD_KEYS"):
        bsn.Keyring(KEY_B).decrypt(token, "C0001")
    assert bsn.Keyring(KEY_B, (KEY_A,)).decrypt(token, "C0001") == "999994943"
    client = load_dir(DATA)[0].clients["C0001"]
    assert client.bsn == demo_bsns()["C0001"] and client.bsn not in repr(client)


def test_key_from_the_environment(monkeypatch):
    use_key(monkeypatch, None)
    with pytest.raises(service.UserError) as e:
        bsn.keyring("this test")
    assert str(e.value).startswith("SETTLEMENT_BSN_KEY is not set, and this test needs it")
    use_key(monkeypatch, "short")
    with pytest.raises(service.UserError, match="too short"):
        bsn.keyring("this test")
    use_key(monkeypatch, KEY_B, f"{KEY_A}, {KEY_C}")
    keys = bsn.keyring("this test")
    # three secrets, each in format v2 and (to read what the engine stored before v2) in v1
    assert keys.current.id == bsn.Key.derive(KEY_B).id and len(keys.ids) == 6


def test_demo_uses_a_labelled_demonstration_key_when_none_is_set(monkeypatch, tmp_path):
    import settlement.demo.run as demo_run
    seen = {}
    monkeypatch.setattr(demo_run, "run_demo", lambda out, **kw: seen.setdefault("key", bsn.keyring("demo")))
    use_key(monkeypatch, None)
    out = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--documents", "none"]).output
    assert out.startswith("notice: SETTLEMENT_BSN_KEY is not set; the demo encrypts its BSNs with the public "
                          "demonstration key") and out.count("\n") == 1
    assert seen["key"].current.id == bsn.Key.derive(bsn.DEMO_KEY).id
    use_key(monkeypatch, KEY_A)
    seen.clear()
    assert "notice" not in CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--documents", "none"]).output
    assert seen["key"].current.id == bsn.Key.derive(KEY_A).id


# -- at rest ----------------------------------------------------------------------------------------

def test_a_raw_copy_of_the_database_holds_no_bsn(db_url):
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    numbers = demo_bsns()
    assert len(numbers) >= 100
    dump = raw_dump(db_url)
    # the dump is real: it holds the pseudonyms and the ciphertexts
    assert "C0001" in dump and f"v2:{bsn.keyring('the test').current.id}:" in dump
    leaked = sorted(c for c, n in numbers.items() if n in dump)
    assert leaked == [], f"{len(leaked)} BSNs in plain text, e.g. of client {leaked[:1]}"
    # the keyed hash matches and finds; the statements still show the paying municipality's BSNs
    engine = db.make_engine(db_url)
    keys = bsn.keyring("the test")
    with engine.connect() as conn:
        assert store.clients_by_bsn(conn, numbers["C0001"], keys) == [(1, "C0001")]
        assert store.clients_by_bsn(conn, "123456782", keys) == []
    engine.dispose()
    assert shown_bsns(db_url) == expected_shown(db_url) and expected_shown(db_url)


def test_one_bsn_per_snapshot_is_a_database_constraint(db_url):
    settle(db_url, "init")
    ds, _ = load_dir(DATA)
    a, b = sorted(ds.clients)[:2]
    ds.clients[b] = replace(ds.clients[b], bsn=ds.clients[a].bsn)  # past the loader's own check
    engine = db.make_engine(db_url)
    with pytest.raises(sa.exc.IntegrityError) as e:
        store.save_snapshot(engine, ds, "", "test")
    engine.dispose()
    assert ds.clients[a].bsn not in str(e.value)  # the statement's parameters are hashes and ciphertexts


# -- the key: where it is needed, rotation, a wrong key --------------------------------------------

def test_without_a_key_only_what_stores_or_shows_bsns_refuses(monkeypatch, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'test.db'}"
    settle(db_url, "init")
    use_key(monkeypatch, None)
    refused = {}
    refused["load"] = settle(db_url, "load", str(DATA), code=1)
    use_key(monkeypatch, KEY_A)
    settle(db_url, "load", str(DATA))
    use_key(monkeypatch, None)
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "export", "--month", MONTH)
    settle(db_url, "explain", "--month", MONTH, "--client", "C0001")
    settle(db_url, "finalize", "--month", MONTH)
    refused["statements"] = settle(db_url, "statements", "--month", MONTH, "--out", str(tmp_path / "docs"), code=1)
    refused["verify"] = settle(db_url, "verify", "--month", MONTH, code=1)
    refused["rekey"] = settle(db_url, "rekey", code=1)
    refused["explain --with-bsn"] = settle(db_url, "explain", "--month", MONTH, "--client", "C0001", "--format",
                                           "html", "--with-bsn", code=1)
    for command, out in refused.items():
        assert out.startswith("error: SETTLEMENT_BSN_KEY is not set, and ") and out.count("\n") == 1, (command, out)
        assert "`settle " + command.split()[0] in out and "BSN at rest" in out, (command, out)
        # a new key only for a database that holds no BSNs yet; otherwise the key they were stored with
        if command == "load":
            assert "make a new key (export SETTLEMENT_BSN_KEY=$(python3 -c 'import secrets;" in out, out
        else:
            assert "set it to the key this database's BSNs were stored with (a new key cannot read them" in out, out
            assert "new key (export" not in out and "python -c" not in out, out
    again = settle(db_url, "load", str(DATA), code=1)  # a second load, into the database that now holds BSNs
    assert "set it to the key this database's BSNs were stored with" in again, again
    assert not (tmp_path / "docs").exists() or not any((tmp_path / "docs").iterdir())
    use_key(monkeypatch, KEY_A)
    assert "verifies" in settle(db_url, "verify", "--month", MONTH)


def test_rekey_rotates_the_key(monkeypatch, db_url):
    use_key(monkeypatch, KEY_A)
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    expected = expected_shown(db_url)
    assert key_ids(db_url) == {bsn.Key.derive(KEY_A).id}
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        hashes_before = {r for (r,) in conn.execute(sa.text("SELECT bsn_hmac FROM client"))}
    # the new key, the old one beside it: everything still reads; then rekey
    use_key(monkeypatch, KEY_B, KEY_A)
    assert shown_bsns(db_url) == expected
    out = settle(db_url, "rekey")
    assert out.startswith(f"{len(demo_bsns())} BSN(s) in 1 snapshot(s) re-encrypted and re-hashed")
    assert key_ids(db_url) == {bsn.Key.derive(KEY_B).id}
    with engine.connect() as conn:
        hashes_after = {r for (r,) in conn.execute(sa.text("SELECT bsn_hmac FROM client"))}
    assert not hashes_before & hashes_after
    # the old key is no longer needed: BSNs shown, the month verifies (its input hash did not change)
    use_key(monkeypatch, KEY_B)
    assert shown_bsns(db_url) == expected
    assert "verifies" in settle(db_url, "verify", "--month", MONTH)
    with engine.connect() as conn:
        assert store.clients_by_bsn(conn, demo_bsns()["C0002"], bsn.keyring("test")) == [(1, "C0002")]
    engine.dispose()
    assert demo_bsns()["C0002"] not in raw_dump(db_url)
    # and the old key alone no longer reads them
    use_key(monkeypatch, KEY_A)
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert out == f"error: {bsn.wrong_key_message()}\n"


def test_a_wrong_key_is_one_sentence_and_changes_nothing(monkeypatch, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'test.db'}"
    use_key(monkeypatch, KEY_A)
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    before = key_ids(db_url)
    use_key(monkeypatch, KEY_C)
    expected = f"error: {bsn.wrong_key_message()}\n"
    assert settle(db_url, "statements", "--month", MONTH, "--out", str(tmp_path / "docs"), code=1) == expected
    assert settle(db_url, "verify", "--month", MONTH, code=1) == expected
    changed = tmp_path / "changed"
    shutil.copytree(DATA, changed)
    with (changed / "declarations.csv").open("a", encoding="utf-8") as f:
        f.write("")
    (changed / "agreements.toml").write_text((DATA / "agreements.toml").read_text() + "\n# changed\n")
    assert settle(db_url, "load", str(changed), code=1) == expected  # no second key in one database
    out = settle(db_url, "rekey", code=1)
    assert out.startswith(f"error: {len(demo_bsns())} of {len(demo_bsns())} stored BSNs were encrypted with a key "
                          "that is neither") and out.endswith("nothing was changed\n")
    assert key_ids(db_url) == before
    use_key(monkeypatch, "too-short-a-key")
    out = settle(db_url, "statements", "--month", MONTH, "--out", str(tmp_path / "docs"), code=1)
    assert out.startswith("error: SETTLEMENT_BSN_KEY is too short") and out.count("\n") == 1


# -- no BSN in messages -----------------------------------------------------------------------------

def test_no_bsn_in_any_message_about_clients(monkeypatch, tmp_path):
    """Errors provoked around clients: invalid, short and duplicated BSNs in clients.csv, a BSN
    where a pseudonym belongs, a stored BSN altered or moved to another client, a database error
    while storing clients. None of the messages carries a BSN."""
    numbers = demo_bsns()
    db_url = f"sqlite:///{tmp_path / 'test.db'}"
    settle(db_url, "init")
    outputs = []

    bad = tmp_path / "bad"
    shutil.copytree(DATA, bad)
    rows = list(csv.reader((bad / "clients.csv").open(encoding="utf-8")))
    c1, c2, c3, c4 = rows[1], rows[2], rows[3], rows[4]
    broken = {c1[0]: str(int(c1[1]) + 1).zfill(9),  # fails the 11-proef
              c2[0]: c2[1][:8],                     # eight digits
              c3[0]: c4[1]}                         # the same as another client's
    for r in rows[1:]:
        r[1] = broken.get(r[0], r[1])
    with (bad / "clients.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    with (bad / "brp.csv").open("a", encoding="utf-8") as f:
        f.write(f"{c4[1]},0193,woonadres,2020-01-01,\n")  # a BSN where the pseudonym belongs
    r = CliRunner().invoke(main, ["--db", db_url, "load", str(bad)])
    assert r.exit_code == 2 and "clients.csv" in r.output and "11-proef" in r.output
    outputs.append(r.output)

    settle(db_url, "load", str(DATA))
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH)
    con = sqlite3.connect(tmp_path / "test.db")
    paid = [c for (c,) in con.execute("SELECT DISTINCT client FROM line WHERE payer IS NOT NULL ORDER BY client")]
    (t1,), (t2,) = con.execute("SELECT bsn_enc FROM client WHERE client IN (?, ?) ORDER BY client", paid[:2])
    con.execute("UPDATE client SET bsn_enc = ? WHERE client = ?", (t2, paid[0]))  # moved
    con.execute("UPDATE client SET bsn_enc = ? WHERE client = ?", (t1[:-3] + "AAA", paid[1]))  # altered
    con.commit()
    con.close()
    out = settle(db_url, "statements", "--month", MONTH, "--out", str(tmp_path / "docs"), code=1)
    assert out.startswith("error: the stored BSN of client ") and "integrity" in out
    outputs.append(out)
    outputs.append(settle(db_url, "verify", "--month", MONTH, code=1))

    # a database error while storing clients: the message shows the statement's parameters
    ds, agreements = load_dir(DATA)
    a, b = sorted(ds.clients)[:2]
    ds.clients[b] = replace(ds.clients[b], bsn=ds.clients[a].bsn)
    ds.input_hash = "sha256:forged"
    monkeypatch.setattr(service, "load_dir", lambda directory: (ds, agreements))
    r = CliRunner().invoke(main, ["--db", db_url, "load", str(DATA)])
    assert r.exit_code == 1 and "IntegrityError" in r.output
    outputs.append(r.output)
    monkeypatch.setenv("SETTLEMENT_DEBUG", "1")
    r = CliRunner().invoke(main, ["--db", db_url, "load", str(DATA)])
    assert isinstance(r.exception, sa.exc.IntegrityError)
    outputs.append(str(r.exception))
    outputs.append(repr(ds.clients[a]))

    every = "\n".join(outputs)
    assert not [n for n in set(numbers.values()) | set(broken.values()) if n in every], every


# -- migration 0004 ---------------------------------------------------------------------------------

def test_upgrading_a_0003_database_with_data(monkeypatch, db_url, tmp_path):
    """A database of schema 0003 with a loaded dataset (plain BSNs) and a finalised month: without
    a key the upgrade stops before changing anything; with one, every BSN is moved into the keyed
    hash and the ciphertext, no plain BSN is left in a copy of the database, the month still
    verifies (its input hash is over the BSNs themselves) and the statements show them."""
    from alembic import command
    from tests.test_migrations import FINAL_MONTH, _fill

    engine = db.make_engine(db_url)
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    old = sa.MetaData()
    old.reflect(engine)  # the tables as 0003 made them: the BSN in plain text in client.bsn
    assert "bsn" in old.tables["client"].c
    from tests.legacy import data_before_budget_pools
    # what 0003's code wrote: the snapshot (the demo data as 0003 could store them), a final month
    _fill(engine, dict(old.tables), data_before_budget_pools(DATA, tmp_path))
    engine.dispose()
    numbers = demo_bsns()
    assert numbers["C0001"] in raw_dump(db_url)

    def revision():
        e = db.make_engine(db_url)
        with e.connect() as conn:
            (rev,) = conn.execute(sa.text("SELECT version_num FROM alembic_version")).one()
        e.dispose()
        return rev

    use_key(monkeypatch, None)
    out = settle(db_url, "init", code=1)
    assert out.startswith("error: SETTLEMENT_BSN_KEY is not set, and upgrading a database with clients") \
        and out.count("\n") == 1
    assert revision() == "0003" and numbers["C0001"] in raw_dump(db_url)

    use_key(monkeypatch, KEY_A)
    assert "schema is current" in settle(db_url, "init")
    assert revision() == migrate.HEAD  # the newest revision (0004 and on)
    dump = raw_dump(db_url)
    assert "C0001" in dump and not [c for c, n in numbers.items() if n in dump]
    assert "verifies" in settle(db_url, "verify", "--month", FINAL_MONTH)
    assert shown_bsns(db_url, FINAL_MONTH) == expected_shown(db_url, FINAL_MONTH)

    # and back: 0003 holds the same BSNs in plain text again
    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    with engine.connect() as conn:
        assert dict(conn.execute(sa.text("SELECT client, bsn FROM client")).all()) == numbers
    engine.dispose()

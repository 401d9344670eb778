"""`settle verify` and the invoices: every stored invoice and credit note, the invoice counters and
the clients' keyed BSN hashes are checked, and a final run's receipt seals its invoices; an altered
field is named (invoice number and field, one sentence each, exit 1). `settle statements` refuses a
month whose stored evidence does not verify, and `settle verify --receipt` holds the month against
the receipt hash printed at finalisation, so a database re-sealed consistently is found too."""

from __future__ import annotations

import json
import os
import re
import shutil
from types import SimpleNamespace

from click.testing import CliRunner
from sqlalchemy import text

from settlement import receipt
from settlement.cli import main
from settlement.demo.run import DATA
from tests.test_verify import sql

MONTH = "2024-03"
NOW = "2024-04-10T09:00:00"  # finalised on 2024-04-10: every issue date is that day


def settle(db_url, *args, code=0, env=None):
    r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False, env=env)
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    return r.output


def final_month(db_url):
    settle(db_url, "init")
    settle(db_url, "load", str(DATA))
    settle(db_url, "run", "--month", MONTH)
    out = settle(db_url, "finalize", "--month", MONTH, env={"SETTLEMENT_NOW": NOW})
    return re.search(r"receipt (sha256:[0-9a-f]{64})", out).group(1)


def invoices(db_url):
    return sql(db_url, "SELECT id, number, creditor, debtor, seq, amount FROM invoice ORDER BY id")


def failures(out):
    return [line for line in out.splitlines() if line.startswith("integrity: FAILED: ")]


def test_the_final_receipt_seals_the_invoices_and_an_untouched_month_verifies(db_url):
    printed = final_month(db_url)
    (receipt_text, sealed), = sql(db_url, "SELECT receipt, invoices_hash FROM run")
    rows = sql(db_url, "SELECT number, creditor, debtor, year, seq, kind, amount, corrects, issue_date, month "
                       "FROM invoice ORDER BY number")
    assert len(rows) == 34
    # the seal by hand: one canonical JSON record per invoice, in number order, each followed by a newline
    import hashlib
    h = hashlib.sha256()
    for r in rows:
        record = [r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], str(r[8])[:10], r[9]]
        h.update((json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8"))
    assert sealed == "sha256:" + h.hexdigest()
    assert json.loads(receipt_text)["invoices_hash"] == sealed
    out = settle(db_url, "verify", "--month", MONTH, "--receipt", printed)
    assert f"ok: final run 1: 34 invoice(s) sealed by its receipt ({sealed})" in out
    assert f"ok: final run 1: receipt {printed}, the one given with --receipt" in out
    assert f"{MONTH} verifies" in out


def test_an_altered_issue_date_is_named(db_url):
    final_month(db_url)
    (number, debtor), = sql(db_url, "SELECT number, debtor FROM invoice WHERE id = 3")
    sql(db_url, "UPDATE invoice SET issue_date = '2024-04-01' WHERE id = 3")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert (f"integrity: FAILED: final run 1: invoice {number} (0014 to {debtor}): issue date stored 2024-04-01, but the run was "
            f"finalised on 2024-04-10") in out
    assert "the stored invoices no longer hash to the seal its receipt holds" in out


def test_two_swapped_numbers_are_named(db_url):
    final_month(db_url)
    (a, na, _, da, sa, _), (b, nb, _, db_, sb, _) = invoices(db_url)[:2]  # 0014-2024-00001 and -00002
    sql(db_url, "UPDATE invoice SET number = 'X', seq = -1 WHERE id = :a", a=a)
    sql(db_url, "UPDATE invoice SET number = :n, seq = :s WHERE id = :b", n=na, s=sa, b=b)
    sql(db_url, "UPDATE invoice SET number = :n, seq = :s WHERE id = :a", n=nb, s=sb, a=a)
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert (f"final run 1: invoice {nb} (0014 to {da}): number out of order: finalisation numbers a creditor's "
            f"invoices in the order of their debtors, which gives it {na}") in out
    assert (f"final run 1: invoice {na} (0014 to {db_}): number out of order: finalisation numbers a creditor's "
            f"invoices in the order of their debtors, which gives it {nb}") in out


def test_an_altered_debtor_kind_corrects_and_month_are_named(db_url):
    final_month(db_url)
    rows = invoices(db_url)
    n1, n2, n3, n4 = (r[1] for r in rows[:4])
    sql(db_url, "UPDATE invoice SET debtor = '0080' WHERE id = :i", i=rows[0][0])  # 0014 bills 0080 nothing
    sql(db_url, "UPDATE invoice SET kind = 'credit_note', amount = -amount WHERE id = :i", i=rows[1][0])
    sql(db_url, "UPDATE invoice SET corrects = :n WHERE id = :i", n=n1, i=rows[2][0])
    sql(db_url, "UPDATE invoice SET month = '2024-04' WHERE id = :i", i=rows[3][0])
    found = failures(settle(db_url, "verify", "--month", MONTH, code=1))
    text_ = "\n".join(found)
    assert f"invoice {n1} (0014 to 0080): debtor 0080, but the stored lines and pool shares give no invoice" in text_
    assert f"invoice {n2} (0014 to {rows[1][3]}): kind stored credit_note" in text_
    assert f"invoice {n3} (0014 to {rows[2][3]}): corrects stored {n1}, but an invoice of a final run corrects none" \
        in text_
    assert f"invoice {n4} (0014 to {rows[3][3]}): month stored 2024-04, but run 1 settles {MONTH}" in text_
    assert all(line.endswith(")") or line.endswith(".") or line[-1].isalnum() for line in found)


def test_a_deleted_invoice_leaves_a_gap_that_is_named(db_url):
    final_month(db_url)
    (number, debtor), = sql(db_url, "SELECT number, debtor FROM invoice WHERE number = '0106-2024-00005'")
    sql(db_url, "DELETE FROM invoice WHERE number = '0106-2024-00005'")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert "invoice counter of 0106 for 2024 stands at 12, but invoice 0106-2024-00005 is not stored" in out
    assert "give an invoice 0106 to 0193" in out


def test_a_rewound_counter_is_named(db_url):
    final_month(db_url)
    sql(db_url, "UPDATE invoice_counter SET last = last - 2 WHERE creditor = '0193'")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert ("invoice counter of 0193 for 2024 stands at 6, but invoice 0193-2024-00007 is stored: the counter "
            "was set back, or the number altered, after finalisation") in out
    assert "0193-2024-00008 is stored" in out


def test_a_number_moved_beyond_the_counter_is_a_gap(db_url):
    final_month(db_url)
    sql(db_url, "UPDATE invoice SET seq = 9, number = '0193-2024-00009' WHERE number = '0193-2024-00008'")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert "invoice counter of 0193 for 2024 stands at 8, but invoice 0193-2024-00009 is stored" in out
    assert "invoice counter of 0193 for 2024 stands at 8, but invoice 0193-2024-00008 is not stored" in out


def test_an_altered_keyed_bsn_hash_is_named_and_a_rekey_keeps_the_month_verified(db_url, monkeypatch):
    final_month(db_url)
    (client, mac), = sql(db_url, "SELECT client, bsn_hmac FROM client ORDER BY client LIMIT 1")
    forged = ("0" if mac[0] != "0" else "1") + mac[1:]
    sql(db_url, "UPDATE client SET bsn_hmac = :h WHERE client = :c", h=forged, c=client)
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert (f"integrity: FAILED: final run 1: snapshot 1: the keyed hash (bsn_hmac) of client {client} is not that "
            f"of its BSN under the key that encrypted it") in out
    sql(db_url, "UPDATE client SET bsn_hmac = :h WHERE client = :c", h=mac, c=client)
    settle(db_url, "verify", "--month", MONTH)
    # a rotation: the new key hashes and encrypts every BSN again; verify checks them under it
    old = os.environ["SETTLEMENT_BSN_KEY"]
    monkeypatch.setenv("SETTLEMENT_BSN_KEY", "rotated-key-of-the-verify-tests-0123456789abcdefXYZ")
    monkeypatch.setenv("SETTLEMENT_BSN_OLD_KEYS", old)
    settle(db_url, "rekey")
    (after,), = sql(db_url, "SELECT bsn_hmac FROM client WHERE client = :c", c=client)
    assert after != mac
    assert f"{MONTH} verifies" in settle(db_url, "verify", "--month", MONTH)


def test_a_correction_runs_credit_notes_are_checked_too(db_url, tmp_path):
    final_month(db_url)
    changed = tmp_path / "changed"
    shutil.copytree(DATA, changed)
    decl = (changed / "declarations.csv").read_text(encoding="utf-8")
    (changed / "declarations.csv").write_text(decl + "P00013,2024-03,4000.00\n", encoding="utf-8")
    settle(db_url, "load", str(changed))
    settle(db_url, "run", "--month", MONTH)
    settle(db_url, "finalize", "--month", MONTH, env={"SETTLEMENT_NOW": "2024-05-02T08:00:00"})
    assert f"{MONTH} verifies" in settle(db_url, "verify", "--month", MONTH)
    rows = sql(db_url, "SELECT number, corrects, creditor, debtor FROM invoice WHERE run_id = 2 ORDER BY id")
    assert rows and all(r[1] for r in rows)  # each names the invoice it corrects
    number, corrects, creditor, debtor = rows[0]
    sql(db_url, "UPDATE invoice SET corrects = NULL, issue_date = '2024-04-10' WHERE number = :n", n=number)
    found = failures(settle(db_url, "verify", "--month", MONTH, code=1))
    assert (f"integrity: FAILED: correction run 2: invoice {number} ({creditor} to {debtor}): corrects stored "
            f"nothing, but it corrects {corrects}") in found
    assert (f"integrity: FAILED: correction run 2: invoice {number} ({creditor} to {debtor}): issue date stored "
            f"2024-04-10, but the run was finalised on 2024-05-02") in found


def _unseal(db_url, run_id=1):
    """The run as finalisation left it before its receipt sealed the invoices."""
    (receipt_text,), = sql(db_url, "SELECT receipt FROM run WHERE id = :i", i=run_id)
    old = json.loads(receipt_text)
    del old["invoices_hash"]
    sql(db_url, "UPDATE run SET invoices_hash = NULL, receipt = :r, receipt_hash = :h WHERE id = :i",
        r=receipt.text(old), h=receipt.digest(old), i=run_id)
    return receipt.digest(old)


def test_a_month_finalised_before_the_seal_is_checked_by_what_it_has(db_url):
    final_month(db_url)
    _unseal(db_url)
    out = settle(db_url, "verify", "--month", MONTH)
    assert ("ok: final run 1: finalised before receipts sealed the invoices; its 34 invoice(s) are checked "
            "against its lines, pool shares, finalisation date and the invoice counters") in out
    assert f"{MONTH} verifies" in out
    sql(db_url, "UPDATE invoice SET issue_date = '2024-04-11' WHERE number = '0014-2024-00001'")
    out = settle(db_url, "verify", "--month", MONTH, code=1)
    assert "invoice 0014-2024-00001 (0014 to 0109): issue date stored 2024-04-11" in out


def test_a_resealed_database_is_found_with_the_receipt_printed_at_finalisation(db_url):
    printed = final_month(db_url)
    # a tamperer who rewrites the finalisation date, every issue date and then every hash consistently
    sql(db_url, "UPDATE invoice SET issue_date = '2024-04-01'")
    sql(db_url, "UPDATE run SET finalized_at = :t", t="2024-04-01 09:00:00.000000")
    from settlement import db, store
    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        run = store.month_runs(conn, MONTH)[0]
        sealed = receipt.invoices_hash(store.read_invoices(conn, MONTH))
        values = {**run.model_dump(), "invoices_hash": sealed}
        again = receipt.build(SimpleNamespace(**values), run.lines_hash, receipt.wording_of(run.receipt))
        conn.execute(text("UPDATE run SET invoices_hash = :s, receipt = :r, receipt_hash = :h"),
                     {"s": sealed, "r": receipt.text(again), "h": receipt.digest(again)})
    engine.dispose()
    assert f"{MONTH} verifies" in settle(db_url, "verify", "--month", MONTH)  # consistent in itself
    out = settle(db_url, "verify", "--month", MONTH, "--receipt", printed, code=1)
    assert (f"integrity: FAILED: the receipt {printed} given with --receipt is that of no finalised run of "
            f"{MONTH} (final run 1's receipt is {receipt.digest(again)}): the database was altered and "
            f"re-sealed after finalisation, or the receipt belongs to another month") in out
    r = CliRunner().invoke(main, ["--db", db_url, "verify", "--month", MONTH, "--receipt", "abc"])
    assert r.exit_code == 2 and "sha256:" in r.output and "Traceback" not in r.output


def test_statements_refuse_a_month_whose_evidence_was_altered(db_url, tmp_path):
    final_month(db_url)
    sql(db_url, "UPDATE municipality SET iban = 'NL02ABNA0123456789' WHERE code = '0193'")
    out = tmp_path / "docs"
    r = CliRunner().invoke(main, ["--db", db_url, "statements", "--month", MONTH, "--out", str(out)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert (f"error: {MONTH} does not verify, so no document was written: final run 1: the stored facts of "
            f"snapshot 1 no longer hash to what the run recorded") in r.output
    assert not out.exists() or not list(out.iterdir())


def test_statements_refuse_an_altered_invoice(db_url, tmp_path):
    final_month(db_url)
    sql(db_url, "UPDATE invoice SET issue_date = '2024-04-01' WHERE number = '0193-2024-00002'")
    r = CliRunner().invoke(main, ["--db", db_url, "statements", "--month", MONTH, "--out", str(tmp_path / "d")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "integrity: FAILED: final run 1: invoice 0193-2024-00002 (0193 to 0160): issue date stored 2024-04-01" \
        in r.output
    assert not (tmp_path / "d").exists() or not list((tmp_path / "d").iterdir())


def test_a_counter_set_far_ahead_lists_twenty_numbers_and_counts_the_rest(db_url):
    final_month(db_url)
    (given,), = sql(db_url, "SELECT last FROM invoice_counter WHERE creditor = '0546'")
    assert given == 4  # 0546-2024-00001 .. -00004
    sql(db_url, "UPDATE invoice_counter SET last = 2000000000 WHERE creditor = '0546'")
    found = [l for l in failures(settle(db_url, "verify", "--month", MONTH, code=1)) if "0546 for 2024" in l]
    assert len(found) == 21
    assert found[0].endswith("stands at 2000000000, but invoice 0546-2024-00005 is not stored: a number given "
                             "was deleted or altered after finalisation")
    assert found[19].endswith("but invoice 0546-2024-00024 is not stored: a number given was deleted or altered "
                              "after finalisation")
    assert found[-1].endswith("invoice counter of 0546 for 2024: 1999999976 more numbers up to 2000000000 are "
                              "not stored")  # 2,000,000,000 - 4 given - 20 listed

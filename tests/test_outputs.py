"""No command replaces a file it did not write (issue: `settle demo --out .` wiped an office
database). `settle demo` has its own database name and takes only a new or empty folder, or an
earlier demo's; `settle synth` and `settle statements` refuse to write over files that no settle
command wrote (settlement/outputs.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from click.testing import CliRunner

from settlement import outputs
from settlement.cli import main
from settlement.demo.run import DATA


def invoke(*args: str, cwd: Path | None = None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def tree(folder: Path) -> dict[str, str]:
    """Every file below `folder` with the hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def office_database(folder: Path) -> str:
    """A real ledger in `folder/settlement.db`: the demo data loaded, 2024-03 settled and final."""
    url = f"sqlite:///{folder / 'settlement.db'}"
    for args in (["init"], ["load", str(DATA)], ["run", "--month", "2024-03"], ["finalize", "--month", "2024-03"]):
        r = invoke("--db", url, *args)
        assert r.exit_code == 0, r.output
    return url


def test_demo_into_a_folder_with_a_database_refuses_and_changes_nothing(tmp_path):
    office = tmp_path / "office"
    office.mkdir()
    url = office_database(office)
    (office / "begroting.xlsx").write_bytes(b"not ours")
    before = tree(office)
    r = invoke("demo", "--out", str(office), "--documents", "none")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error: {office} is not empty and holds files that `settle demo` did not write "
                               f"(begroting.xlsx, settlement.db")  # and its -wal and -shm, while open
    assert r.stderr.endswith("; nothing was changed: give --out a new or empty folder, or the folder of an "
                             "earlier demo\n") and r.stderr.count("\n") == 1
    assert tree(office) == before  # the ledger byte for byte, and no manifest or demo.db beside it
    r = invoke("--db", url, "verify", "--month", "2024-03")
    assert r.exit_code == 0, r.output


def test_demo_runs_again_over_its_own_output_only(tmp_path):
    out = tmp_path / "demo"
    r = invoke("demo", "--out", str(out), "--documents", "none")
    assert r.exit_code == 0, r.output
    assert (out / "demo.db").exists() and not (out / "settlement.db").exists()
    assert "demo.db" in outputs.recorded(out) and "export-2024-12.json" in outputs.recorded(out)
    # a file of the user's among the demo's output: the next demo refuses, and leaves it all
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = tree(out)
    r = invoke("demo", "--out", str(out), "--documents", "none")
    assert r.exit_code == 2 and "(notes.txt)" in r.stderr
    assert tree(out) == before
    (out / "notes.txt").unlink()
    r = invoke("demo", "--out", str(out), "--documents", "none")
    assert r.exit_code == 0, r.output


def test_demo_refuses_a_file_as_out(tmp_path):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF")
    r = invoke("demo", "--out", str(target), "--documents", "none")
    assert r.exit_code == 2 and "is a file" in r.stderr
    assert target.read_bytes() == b"%PDF"


def test_synth_does_not_write_over_files_it_did_not_write(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "clients.csv").write_text("client,bsn\nmine,123456782\n", encoding="utf-8")
    r = invoke("synth", "--clients", "20", "--out", str(out))
    assert r.exit_code == 2
    assert r.stderr == (f"error: settle synth would replace clients.csv in {out}, which it did not write; nothing "
                        f"was written (move it away or choose another folder)\n")
    assert sorted(p.name for p in out.iterdir()) == ["clients.csv"]
    # into a new folder, and then again over its own files: both fine, the same bytes
    fresh = tmp_path / "fresh"
    assert invoke("synth", "--clients", "20", "--out", str(fresh)).exit_code == 0
    first = tree(fresh)
    assert invoke("synth", "--clients", "20", "--out", str(fresh)).exit_code == 0
    assert tree(fresh) == first


def test_statements_do_not_write_over_a_pdf_they_did_not_write(tmp_path):
    url = office_database(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    theirs = docs / "afrekening-2024-03-0193.pdf"
    theirs.write_bytes(b"a colleague's statement")
    r = invoke("--db", url, "statements", "--month", "2024-03", "--out", str(docs), "--processes", "1")
    assert r.exit_code == 2
    assert "settle statements would replace afrekening-2024-03-0193.pdf in" in r.stderr
    assert sorted(p.name for p in docs.iterdir()) == ["afrekening-2024-03-0193.pdf"]
    assert theirs.read_bytes() == b"a colleague's statement"
    theirs.unlink()
    r = invoke("--db", url, "statements", "--month", "2024-03", "--out", str(docs), "--processes", "1")
    assert r.exit_code == 0, r.output
    written = tree(docs)
    # its own files it replaces (the same bytes: a final month renders identically)
    r = invoke("--db", url, "statements", "--month", "2024-03", "--out", str(docs), "--processes", "1")
    assert r.exit_code == 0, r.output
    assert tree(docs) == written

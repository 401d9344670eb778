"""The documents shipped with the project: the spec it implements (docs/RULES.md and
docs/INTERFACE.md, equal to the shared contract where that folder exists) and the README's
commands as a user on Debian 12 types them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "spec"


@pytest.mark.parametrize("name", ["RULES.md", "INTERFACE.md"])
def test_the_spec_is_shipped_and_equal_to_the_shared_contract(name):
    shipped = (ROOT / "docs" / name).read_text(encoding="utf-8")
    assert "version 2" in shipped.splitlines()[0]
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not beside this clone: only the shipped copy is checked")
    assert shipped == (SHARED / name).read_text(encoding="utf-8"), f"docs/{name} differs from {SHARED / name}"


def test_the_readme_links_the_shipped_spec_not_a_folder_beside_the_clone():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/RULES.md)" in readme and "](docs/INTERFACE.md)" in readme
    assert "../shared" not in readme


def test_the_readme_runs_no_bare_python():
    """Debian 12 has `python3` and no `python`: a `$(python -c ...)` there silently gives an empty key."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"(?<![\w/.-])python ", readme), \
        [l for l in readme.splitlines() if re.search(r"(?<![\w/.-])python ", l)]


def test_the_readmes_key_command_makes_a_key():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^export SETTLEMENT_BSN_KEY=\$\((.+)\)$", readme, re.M)
    assert commands
    for command in commands:
        key = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout.strip()
        assert len(key) >= 32, command

"""Output folders: a command replaces only the files it wrote itself.

`settle demo`, `settle synth` and `settle statements` write many files into a folder the user
names. Each such folder gets a small manifest, `.settlement-files`, listing (one file a line,
sorted: its name, a tab, the command that wrote it) the files that settle commands wrote into it.
A file that exists and is not listed was not written by us (an office folder's own
`settlement.db`, a spreadsheet, a colleague's PDF): it is never replaced, and the command refuses
before it writes anything. `settle demo`, which takes over a whole folder, clears only what an
earlier demo wrote there.

A name is recorded before its file is written, so a command killed half-way leaves only files
the manifest claims; recording a name whose file never came is harmless.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import Refused

MANIFEST = ".settlement-files"
_HEADER = "# files written here by settle commands; they may be replaced by the next run\n"


def write_file(target: Path, data: bytes) -> None:
    """Write `data` to `target` whole: into a new temporary file beside it, created exclusively
    under a random name (a link planted at a predictable name is never followed), then renamed over
    `target` (a link at `target` is replaced by the file, its own target left alone). A full disk or
    a kill half-way leaves the previous file whole."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def recorded(folder: Path) -> dict[str, str]:
    """The files the folder's manifest lists, with the command that wrote each (none when it has
    no manifest)."""
    try:
        text = (folder / MANIFEST).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except (OSError, UnicodeDecodeError):  # not ours, or damaged: it vouches for nothing
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, command = line.partition("\t")
            out[name] = command
    return out


def foreign(folder: Path, names: Iterable[str]) -> list[str]:
    """Of `names`, those that exist in `folder` (as a file, folder or link) and that no settle
    command wrote there, sorted."""
    ours = recorded(folder)
    return sorted(n for n in set(names) if n not in ours and os.path.lexists(folder / n))


def _create(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise Refused(f"{folder} is a file, not a folder: give a folder for the output")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Refused(f"cannot create the folder {folder}: {e.strerror}") from None


def claim(folder: Path, names: Iterable[str], command: str) -> None:
    """Make sure `command` may write `names` into `folder` (created if missing), and record them:
    refuses (exit status 2, nothing written) when any of them exists and was not written by a
    settle command."""
    names = sorted(set(names))
    _create(folder)
    theirs = foreign(folder, names)
    if theirs:
        shown = ", ".join(theirs[:3]) + (f" and {len(theirs) - 3} more" if len(theirs) > 3 else "")
        raise Refused(f"{command} would replace {shown} in {folder}, which it did not write; nothing was written "
                      f"(move {'it' if len(theirs) == 1 else 'them'} away or choose another folder)")
    record(folder, names, command)


def record(folder: Path, names: Iterable[str], command: str) -> None:
    """Add `names`, written by `command`, to the folder's manifest (written whole to a temporary
    file, then renamed into place)."""
    entries = recorded(folder)
    new = {**entries, **{n: command for n in names}}
    if new == entries:
        return
    write_file(folder / MANIFEST, (_HEADER + "".join(f"{n}\t{c}\n" for n, c in sorted(new.items()))).encode())


def not_written_by(folder: Path, command: str) -> list[str]:
    """Every file below `folder` (its subfolders too) that `command` did not write there, as paths
    relative to `folder`, sorted: what a command that takes over the whole folder must leave alone."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        ours = {n for n, c in recorded(here).items() if c == command}
        out += [str((here / n).relative_to(folder)) for n in filenames
                if n not in ours and not n.startswith(MANIFEST)]  # the manifest, or its copy being written
        out += [str((here / n).relative_to(folder)) for n in dirnames if (here / n).is_symlink()]
    return sorted(out)


def clear(folder: Path, command: str) -> None:
    """Remove the files below `folder` that `command` wrote there, the manifests and the folders
    left empty (an earlier run's output, before it is written again). The caller has made sure
    that `not_written_by(folder, command)` is empty."""
    for dirpath, _, filenames in os.walk(folder, topdown=False):
        here = Path(dirpath)
        ours = {n for n, c in recorded(here).items() if c == command}
        for n in filenames:
            if n in ours or n.startswith(MANIFEST):
                (here / n).unlink()
        if here != folder and not any(here.iterdir()):
            here.rmdir()

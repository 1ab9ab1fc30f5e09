"""Writing a file or a folder whole or not at all: every output of the package goes through here.

A product is written under a hidden temporary name beside its final path and renamed into place
only when complete, so a run that fails or is killed half way never leaves a torn file that a
later run would trust.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import UserError


def check_writable(path: str | Path, what: str, folder: bool = False, probe: bool = True) -> None:
    """A one-line `UserError` unless `path` (a file, or a `folder`) can be written: checked before
    the work whose product it will hold, so a mistake costs nothing and leaves nothing.

    The nearest existing folder at or above it must be a folder (not a file) and, with `probe`,
    must take a file (one is made there and removed at once: permission bits do not tell root's
    way with /proc or a read-only mount)."""
    path = Path(path)
    if path.exists() and folder != path.is_dir():
        raise UserError(f"{what} {path} is a {'file, not a folder' if folder else 'folder; name a file'}")
    ancestor = path if folder else path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"{what} {path} cannot be written: {ancestor} is a file")
    if probe:
        try:
            with tempfile.TemporaryFile(dir=ancestor):
                pass
        except OSError as e:
            raise UserError(f"{what} {path} cannot be written: {ancestor} takes no files ({e.strerror})") from e


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_write(path: str | Path, keep_partial: bool = False, shared: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write `path`'s content to (a file, or a folder the caller makes);
    when the block ends without an error the content replaces `path` (a folder replaces a folder).

    On any error or interruption the temporary file or folder is removed, unless `keep_partial`:
    a build that resumes keeps what it has done, and continues from it next time.

    The temporary path has a fixed name beside `path`, so what a killed writer left is found there
    and resumed or replaced: the writer must own `path` (one process, or one holding a lock). A
    file that several processes may write at the same moment (grid workers writing a world's true
    tracks) is `shared`: each writer gets a temporary name of its own, and the last rename wins,
    whole. Only a file can be shared; replacing a folder takes two steps.
    """
    if keep_partial and shared:
        raise ValueError("a shared write cannot resume: another writer may own the partial file")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial" if shared else f".{path.name}.partial")
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():
            if shared:
                raise ValueError(f"{path} is a folder: only a file can be written shared")
            shutil.rmtree(path)  # os.replace cannot replace a folder that holds files
        os.replace(tmp, path)
    finally:
        if not keep_partial:
            _remove(tmp)  # nothing is left after a success

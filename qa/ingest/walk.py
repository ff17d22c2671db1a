"""Finding the files under the paths given: a sorted, recursive walk that says why it passes
over each path it does not read.

Every path passed over gets a `Skipped` with its reason (a FIFO, a socket, a broken or looping
symlink, a link out of the folder, a file name that is not UTF-8, an interrupted upload).
Hidden files and folders (a name starting with ".") are the one silent exception: they are
version control, editor and upload scratch files, not documents. Symlinks are followed only
when they point inside the folder being walked, unless told otherwise.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import IngestError
from .document import Skipped, printable_path

#: Marks an upload that was stored but not yet indexed: `.NAME.pending` beside `NAME`. A file
#: with one is the remains of an interrupted upload, never read.
PENDING_SUFFIX = ".pending"
_PENDING_UPLOAD = "an upload that was interrupted before it was indexed"


def walk(paths: Iterable[Path], *, follow_symlinks_outside: bool = False
         ) -> Iterator[Path | Skipped]:
    """Every regular file under `paths` (recursively, sorted), or a `Skipped` for a path that
    is not one. Hidden files and folders are left out.

    A path given is read even through a symlink (it was asked for); inside a folder, a symlink
    is followed only when it points inside that folder (or `follow_symlinks_outside`).

    Raises:
        IngestError: a path given does not exist.
    """
    for root in paths:
        if not os.path.lexists(root):
            raise IngestError(f"{printable_path(root)}: no such file or folder")
        problem = _unprintable(root) or _broken_link(root)
        if problem:
            yield Skipped(printable_path(root), problem)
        elif root.is_dir():
            real = root.resolve()
            yield from _walk(root, real, {real}, follow_symlinks_outside)
        elif root.is_file():
            yield root
        else:
            yield Skipped(printable_path(root), not_regular(root))


def _walk(folder: Path, root: Path, seen: set[Path], outside: bool
          ) -> Iterator[Path | Skipped]:
    """The files of `folder` (whose real path lies under `root`), depth first, sorted."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        yield Skipped(printable_path(folder), f"cannot read the folder: {err.strerror or err}")
        return
    names = {entry.name for entry in entries}
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        pending = f".{entry.name}{PENDING_SUFFIX}" in names
        problem = _unprintable(path) or (_PENDING_UPLOAD if pending else "")
        if problem:
            yield Skipped(printable_path(path), problem)
        elif entry.is_symlink():
            yield from _follow(path, root, seen, outside)
        elif entry.is_dir(follow_symlinks=False):
            real = path.resolve()
            if real not in seen:  # else it was read already, through a link to it
                seen.add(real)
                yield from _walk(path, root, seen, outside)
        elif entry.is_file(follow_symlinks=False):
            yield path
        else:
            yield Skipped(printable_path(path), not_regular(path))


def _follow(link: Path, root: Path, seen: set[Path], outside: bool
            ) -> Iterator[Path | Skipped]:
    """A symlink met inside a folder: its file, its folder's files, or why it is skipped."""
    problem = _broken_link(link)
    if problem:
        yield Skipped(printable_path(link), problem)
        return
    target = link.resolve()
    if not target.is_relative_to(root) and not outside:
        yield Skipped(printable_path(link), f"a symlink to {printable_path(target)}, outside "
                      f"the folder being indexed (set QA_FOLLOW_SYMLINKS=1 to follow it)")
    elif target.is_dir():
        if target in seen or root.is_relative_to(target):
            yield Skipped(printable_path(link),
                          f"a symlink loop (a link to the folder {printable_path(target)}, "
                          "which is already being read)")
            return
        seen.add(target)
        yield from _walk(link, root, seen, outside)
    elif target.is_file():
        yield link
    else:
        yield Skipped(printable_path(link), not_regular(target))


def _broken_link(path: Path) -> str:
    """Why a symlink leads nowhere ("" when it is not a symlink or leads somewhere)."""
    if not path.is_symlink():
        return ""
    try:
        path.resolve(strict=True)
    except FileNotFoundError:
        return f"a broken symlink (to {printable_path(os.readlink(path))}, which does not exist)"
    except (RuntimeError, OSError):
        return "a symlink loop (it leads back to itself)"
    return ""


def _unprintable(path: Path) -> str:
    """Why a path can't be indexed by name ("" when it can): a name that is not UTF-8 can be
    neither stored nor shown as it is."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8; rename the file"
    return ""


def not_regular(path: Path) -> str:
    """What kind of special file `path` is, as a reason to skip it."""
    try:
        mode = path.stat().st_mode
    except OSError as err:
        return f"cannot read: {err.strerror or err}"
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file")
    return f"{kind}, not a regular file"

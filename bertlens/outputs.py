"""Where the command line writes its reports: checked before any work, written whole or not at all.

An output named on the command line (`--out`, `--html`) is checked before the model loads: it must be a new path or
a regular file, in an existing folder this user may write to. A FIFO would block for ever after all the work, a
folder or a device would fail only at the end, and the work would be lost. The text is then written to a temporary
file beside the target and renamed into place, so a failure (a full disk, an interrupt) leaves nothing
half-written and an older report intact.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from bertlens.errors import InputError
from bertlens.text import excerpt


def check_output(path: str | Path, suffixes: tuple[str, ...] = (), what: str = "--out") -> Path:
    """`path` as a Path when a report may be written there; else InputError in one line. `suffixes` (lower case,
    with the dot) are the endings allowed, if any."""
    target = Path(path)
    shown = excerpt(str(path), 120)
    if suffixes and target.suffix.lower() not in suffixes:
        raise InputError(f"{what} must name a file ending in {' or '.join(suffixes)}; got '{shown}'.")
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"The folder '{excerpt(str(folder), 120)}' does not exist.")
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InputError(f"Cannot write '{shown}': {exc.strerror or exc}.") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else
                "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else
                "not a regular file")
        raise InputError(f"Cannot write '{shown}': it is {kind}. Give a new file name or a regular file.")
    try:  # a real try, not os.access: root passes every access check, and /proc refuses new files anyway
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{target.name}.", suffix=".check"):
            pass
    except OSError as exc:
        raise InputError(f"Cannot write '{shown}': the folder '{excerpt(str(folder), 120)}' does not take new "
                         f"files ({exc.strerror or exc}).") from None
    return target


def write_atomic(path: str | Path, text: str, newline: str | None = None) -> Path:
    """Write `text` (UTF-8) to a temporary file beside `path`, then rename it into place. The file keeps the mode
    of the one it replaces (a new one gets the usual mode for this user's umask). Raises InputError when the file
    cannot be written, and leaves no temporary file behind."""
    target = check_output(path)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle = None
    try:
        handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", newline=newline, dir=target.parent,
                                             prefix=f".{target.name}.", suffix=".partial", delete=False)
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, mode)
        os.replace(handle.name, target)
    except BaseException as exc:  # an interrupt too: no half-written file is left beside the target
        if handle is not None:
            try:
                os.unlink(handle.name)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise InputError(f"Cannot write '{excerpt(str(path), 120)}': {exc.strerror or exc}.") from None
        raise
    return target

"""The one reader for every data file the command line, an audit or a page reads (shipped or given by the user).

A file is opened first (without blocking, so a FIFO cannot hang the open), checked with `fstat`, refused unless it
is a regular file, and read up to its limit plus one byte: a file that lies about its size (a device, a file that
grows) is still cut off at the limit. The limit is the app's upload limit (5 MB, `server.maxUploadSize` in
.streamlit/config.toml); the command line's `--max-file-mb` raises it for one run (`file_limit`).

CSV files go through `csv_rows`, which states the size limit of one field (`MAX_FIELD_CHARS`).
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import stat
from pathlib import Path
from typing import Iterator

from bertlens.errors import InputError

DATA = Path(__file__).resolve().parent.parent / "data"
TEMPLATES_PATH = DATA / "templates.txt"
PAIRS_PATH = DATA / "word_pairs.csv"
OCCUPATIONS_PATH = DATA / "occupations.csv"
CROWS_EXAMPLE_PATH = DATA / "crows_example.csv"
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FIELD_CHARS = 10_000
_READ_CHUNK = 1024 * 1024
_limit = MAX_FILE_BYTES


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _start(name: str) -> str:
    """`name` as the start of a sentence."""
    return name[:1].upper() + name[1:]


def current_limit() -> int:
    """The most bytes one file may have in this process now: the upload limit, or what `file_limit` set."""
    return _limit


@contextlib.contextmanager
def file_limit(limit: int | None) -> Iterator[None]:
    """Within the block, files may be up to `limit` bytes (None: the upload limit). For the command line only."""
    global _limit
    before = _limit
    _limit = MAX_FILE_BYTES if limit is None else int(limit)
    try:
        yield
    finally:
        _limit = before


def check_size(size: int, name: str, limit: int | None = None) -> None:
    """Raises InputError when `size` bytes is over `limit` (default: the current limit)."""
    limit = current_limit() if limit is None else limit
    if size > limit:
        raise InputError(f"{_start(name)} is {_megabytes(size)}; the limit is {limit / 1024 / 1024:.0f} MB. "
                         "Split it into smaller files.")


def decode(data: bytes, name: str) -> str:
    """UTF-8 text (a byte-order mark is dropped). Raises InputError for bytes that are not UTF-8 or are binary."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{_start(name)} is not UTF-8 text (byte {exc.start} cannot be read). Save it as CSV "
                         "UTF-8 and try again.") from exc
    if "\x00" in text:
        raise InputError(f"{_start(name)} looks like a binary file, not text.")
    return text


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def read_bytes(path: str | Path, name: str | None = None, limit: int | None = None) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` (default: the current limit). Raises InputError
    when the file cannot be opened, is not a regular file (a folder, a device, a FIFO, a socket) or is larger than
    the limit; `name` is how messages call the file (default: its path, quoted)."""
    path = Path(path)
    name = name or f"'{path}'"
    limit = current_limit() if limit is None else limit
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"Cannot read {name}: {exc.strerror or exc}.") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"Cannot read {name}: it is {_kind(info.st_mode)}, not a regular file.")
        check_size(info.st_size, name, limit)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise InputError(f"{_start(name)} is over the limit of {limit / 1024 / 1024:.0f} MB. Split it into "
                             "smaller files.")
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"Cannot read {name}: {exc.strerror or exc}.") from exc
    finally:
        os.close(fd)


def read_text(path: str | Path, name: str | None = None, limit: int | None = None) -> str:
    """`read_bytes` then `decode`. Raises InputError."""
    name = name or f"'{Path(path)}'"
    return decode(read_bytes(path, name, limit), name)


def inside(folder: Path, relative: str, what: str) -> Path:
    """The file `relative` names inside `folder`, as configuration paths resolve: relative to the configuration's
    folder, never absolute, never `~`, and never outside that folder, through `..` or a symbolic link. Raises
    InputError otherwise."""
    given = Path(relative)
    if not relative.strip() or given.is_absolute() or relative.startswith("~") or "\x00" in relative:
        raise InputError(f"{_start(what)}: the path '{relative}' must be relative to the configuration's folder "
                         "(no absolute path, no ~).")
    root = folder.resolve()
    try:
        target = (root / given).resolve()
    except (OSError, RuntimeError) as exc:
        raise InputError(f"{_start(what)}: the path '{relative}' cannot be resolved.") from exc
    if target != root and root not in target.parents:
        raise InputError(f"{_start(what)}: the path '{relative}' leads outside the configuration's folder (through "
                         "'..' or a symbolic link); put the file beside the configuration or in a folder below it.")
    return target


def csv_rows(text: str, name: str, *, keep_lines: bool = False) -> list[list[str]] | list[tuple[int, list[str]]]:
    """The rows of CSV `text`; with `keep_lines`, (line where the record starts, row) pairs. A field longer than
    MAX_FIELD_CHARS characters, or a malformed record, raises InputError naming the line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list = []
    last = 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            for cell in row:
                if len(cell) > MAX_FIELD_CHARS:
                    raise _too_long(name, start)
            rows.append((start, row) if keep_lines else row)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _too_long(name, last + 1) from None
        raise InputError(f"{_start(name)} is not a well-formed CSV (line {reader.line_num}): {exc}.") from None
    return rows


def _too_long(name: str, line: int) -> InputError:
    return InputError(f"Line {line} of {name} has a field longer than {MAX_FIELD_CHARS:,} characters, the limit "
                      "for one CSV field.")

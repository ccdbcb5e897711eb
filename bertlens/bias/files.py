"""The one reader for the probe's and CrowS-Pairs' data files (shipped or given by the user)."""
from __future__ import annotations

from pathlib import Path

from bertlens.errors import InputError

DATA = Path(__file__).resolve().parent.parent / "data"
TEMPLATES_PATH = DATA / "templates.txt"
PAIRS_PATH = DATA / "word_pairs.csv"
OCCUPATIONS_PATH = DATA / "occupations.csv"
CROWS_EXAMPLE_PATH = DATA / "crows_example.csv"
MAX_FILE_BYTES = 5 * 1024 * 1024


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _start(name: str) -> str:
    """`name` as the start of a sentence."""
    return name[:1].upper() + name[1:]


def check_size(size: int, name: str, limit: int = MAX_FILE_BYTES) -> None:
    """Raises InputError when `size` bytes is over `limit`."""
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


def read_bytes(path: str | Path, name: str | None = None, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of `path`, refused before reading when larger than `limit`. Raises InputError when the file
    cannot be read or is too large; `name` is how messages call the file (default: its path, quoted)."""
    path = Path(path)
    name = name or f"'{path}'"
    try:
        check_size(path.stat().st_size, name, limit)
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {name}: {exc.strerror or exc}.") from exc


def read_text(path: str | Path, name: str | None = None, limit: int = MAX_FILE_BYTES) -> str:
    """`read_bytes` then `decode`. Raises InputError."""
    name = name or f"'{Path(path)}'"
    return decode(read_bytes(path, name, limit), name)

"""The project's occupation table: each occupation with the share of women among US workers in it.

`bertlens/data/occupations.csv` was selected from `occupations_bls.csv` beside it (127 occupations, see the
`README.md` there): every occupation that is one word and one WordPiece in bert-large-cased's vocabulary, plus
eight one-word occupations of several WordPieces (`p ##lumber`, `fire ##fighter`, ...). Shares are from the US
Bureau of Labor Statistics' Current Population Survey; 2015/2016 figures as tabulated in Winogender (Rudinger et
al. 2018); the rows without a year are as tabulated by WinoBias (Zhao et al. 2018), which gives no year. Each row
keeps its own source and year, and every view that shows a share shows them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bertlens.bias.files import OCCUPATIONS_PATH as DEFAULT_PATH
from bertlens.bias.files import csv_rows, read_text
from bertlens.errors import InputError

MAX_OCCUPATIONS = 500
REQUIRED = ("occupation",)
_WORD = re.compile(r"^[A-Za-z][A-Za-z'\-]*( [A-Za-z][A-Za-z'\-]*){0,3}$")
NO_YEAR = "year not stated"


@dataclass(frozen=True)
class Occupation:
    """One occupation. `pct_women` is None when the table gives no labour statistic."""

    name: str
    article: str
    pct_women: float | None = None
    year: str = ""
    source: str = ""

    @property
    def year_label(self) -> str:
        return self.year or NO_YEAR


def article_for(word: str) -> str:
    """'an' before a written vowel, else 'a'. Tables can override it per row (an 'hour', a 'union')."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def check_name(name: str) -> str:
    """An occupation is one to four words of letters (hyphens and apostrophes allowed)."""
    name = " ".join((name or "").split())
    if not name:
        raise InputError("An occupation is empty. Give one occupation per row.")
    if not _WORD.match(name):
        raise InputError(
            f"'{name}' is not an occupation the probe can score: use one to four words made of letters "
            "(hyphens and apostrophes allowed), no digits, punctuation or [MASK]."
        )
    return name


def parse_occupations(text: str) -> list[Occupation]:
    """Read a table with a header row: `occupation` is required; `article`, `pct_women`, `year` and `source` are
    optional. A plain list (one occupation per line, no header) is accepted too. Raises InputError."""
    lines = [line for line in (text or "").splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise InputError("The occupation list is empty. Give at least one occupation.")
    table = csv_rows("\n".join(lines), "the occupation table")
    header = [h.strip().lower() for h in table[0]] if table else []
    if "occupation" not in header:
        rows = [{"occupation": line.strip()} for line in lines]
    else:
        rows = [dict(zip(header, row)) for row in table[1:] if row]
    if not rows:
        raise InputError("The occupation table has a header but no rows.")
    if len(rows) > MAX_OCCUPATIONS:
        raise InputError(f"{len(rows)} occupations given; the limit is {MAX_OCCUPATIONS}.")
    seen: set[str] = set()
    out = []
    for number, row in enumerate(rows, 1):
        name = check_name(row.get("occupation") or "")
        if name in seen:
            continue
        seen.add(name)
        article = (row.get("article") or "").strip().lower() or article_for(name)
        if article not in ("a", "an"):
            raise InputError(f"Row {number} ('{name}'): the article must be 'a' or 'an', not '{article}'.")
        out.append(Occupation(name, article, _share(row.get("pct_women"), name),
                              (row.get("year") or "").strip(), (row.get("source") or "").strip()))
    return out


def load_occupations(path: str | Path | None = None) -> list[Occupation]:
    """The shipped table, or the file at `path`. Raises InputError for an unreadable or malformed file."""
    path = Path(path) if path else DEFAULT_PATH
    return parse_occupations(read_text(path, f"the occupation file '{path}'"))


def _share(value: str | None, name: str) -> float | None:
    value = (value or "").strip().rstrip("%")
    if not value:
        return None
    try:
        share = float(value)
    except ValueError:
        raise InputError(f"'{name}': the share of women must be a number from 0 to 100, not '{value}'.") from None
    if not 0 <= share <= 100:
        raise InputError(f"'{name}': the share of women must be from 0 to 100, not {share}.")
    return share

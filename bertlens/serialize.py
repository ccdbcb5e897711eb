"""The two rules every export follows: no cell a spreadsheet would run as a formula, and plain JSON types only."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _needs_apostrophe(text: str) -> bool:
    return bool(text) and (text[0] in TRIGGERS or (text[0] == "'" and _needs_apostrophe(text[1:])))


def spreadsheet_safe(text: str) -> str:
    """`text` with a leading apostrophe when a spreadsheet would run it as a formula (it starts with =, +, -, @, a
    tab or a carriage return, possibly after apostrophes); otherwise unchanged. `restore` undoes it."""
    return "'" + text if _needs_apostrophe(text) else text


def neutralise(value: Any) -> Any:
    """`spreadsheet_safe` for a text cell; other values (numbers) pass through."""
    return spreadsheet_safe(value) if isinstance(value, str) else value


def restore(text: str) -> str:
    """Undo `spreadsheet_safe` for a cell read back from a report."""
    return text[1:] if text.startswith("'") and _needs_apostrophe(text[1:]) else text


def jsonable(value: Any, properties: tuple[str, ...] = ()) -> Any:
    """`value` as plain JSON types: a dataclass becomes a dict of its fields (plus those of `properties` it has),
    tuples become lists, dict keys strings, numpy scalars and arrays Python numbers and lists, and NaN or infinite
    floats None (JSON has no NaN). Anything else passes through."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: jsonable(getattr(value, f.name), properties) for f in dataclasses.fields(value)}
        for name in properties:
            if hasattr(type(value), name):
                out[name] = jsonable(getattr(value, name), properties)
        return out
    if hasattr(value, "tolist") and callable(value.tolist):
        value = value.tolist()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): jsonable(v, properties) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, properties) for v in value]
    return value

"""Kinds of input, registered like methods: one module per kind in this folder, each a `DataKind` with `@register`.

A method says what it reads with `data = "<kind>"`. Every route reads the kind instead of keeping its own list:

- the command line: `python -m bertlens run METHOD --data KIND=FILE` reads the file through the kind's bounded
  parser, and `methods` lists each kind with its layout;
- audit configurations: each kind names the configuration keys it reads (`parts`), so a metric on a new kind is
  configured as `"<part>": {"path": ...}` with no edit to the audit;
- pages: `components.kind_inputs` draws the kind's upload or text widget (`widget`), and its link parameter
  (`link`) carries a text kind in a shared link;
- job keys, exports and reports: `digest` hashes the input's bytes, so one input has one SHA-256 on every route.

A kind has several `parts` when one input is made of several files (the occupation probe's templates, word pairs and
occupation table); most have one. `sample()` is a small valid input, used by `methods --json`, tests and the pages'
"try an example". A part with `shipped` bytes has a default, so an audit runs the metric without being given a file.

Adding a kind is one module here:

    @register
    class Words(DataKind):
        name = "words"
        title = "Word list"
        parts = (Part("words", "one word a line", shipped=None),)
        widget = "text"

        def parse(self, texts, settings=None):
            words = [w.strip() for w in texts["words"].splitlines() if w.strip()]
            if not words:
                raise InputError("The word list is empty.")
            return tuple(words)

        def sample(self):
            return {"words": "nurse\\nengineer\\n"}
"""
from __future__ import annotations

import hashlib
import importlib
import pkgutil
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping

from bertlens.errors import InputError

WIDGETS = ("upload", "text", "text_area")


@dataclass(frozen=True)
class Part:
    """One file (or text) of a kind: its audit-configuration key, what it holds, its default and its limits.

    `shipped` is the project's default file (None: the user must bring one); `file_types` are the upload
    extensions a page accepts; `max_bytes` raises the file rules' limit of `bertlens.bias.files` (5 MB unless a
    command raised it further) for this part; None keeps it."""

    key: str
    title: str
    shipped: Path | None = None
    file_types: tuple[str, ...] = ("txt",)
    max_bytes: int | None = None


class DataKind(ABC):
    """A registered kind of input. Subclasses set the class attributes and implement `parse` and `sample`."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str] = ""
    parts: ClassVar[tuple[Part, ...]]
    widget: ClassVar[str] = "upload"
    link: ClassVar[str] = ""
    order: ClassVar[int] = 100

    @abstractmethod
    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None) -> Any:
        """The method's input from each part's text (None: the shipped default). Raises InputError naming the
        problem; never reads a file (`read` does, within the file rules)."""

    @abstractmethod
    def sample(self) -> dict[str, str]:
        """A small valid input, part key -> text."""

    def read(self, path: str | Path, part: Part | None = None) -> tuple[str, str]:
        """(text, SHA-256 of the bytes) of one file for `part`, within the file rules. Raises InputError."""
        from bertlens.bias.files import current_limit, decode, read_bytes

        part = part or self.parts[0]
        raw = read_bytes(path, limit=None if part.max_bytes is None else max(part.max_bytes, current_limit()))
        return decode(self.unpack(raw, Path(path).name), f"'{Path(path).name}'"), sha256(raw)

    def unpack(self, raw: bytes, name: str) -> bytes:
        """The bytes to decode (a kind whose files may be compressed overrides this)."""
        return raw

    def shipped_text(self, part: Part) -> str | None:
        if part.shipped is None:
            return None
        from bertlens.bias.files import decode, read_bytes

        return decode(read_bytes(part.shipped), part.shipped.name)

    def required(self) -> tuple[Part, ...]:
        """The parts with no shipped default: an audit runs this kind's metrics only when they are given."""
        return tuple(p for p in self.parts if p.shipped is None)

    def part(self, key: str) -> Part:
        for p in self.parts:
            if p.key == key:
                return p
        raise InputError(f"{self.title} has no part '{key}'; its parts are: {', '.join(p.key for p in self.parts)}.")

    def digest(self, texts: Mapping[str, str | None]) -> str:
        """One SHA-256 over the parts' texts (shipped texts included), for job keys and reports."""
        h = hashlib.sha256()
        for p in self.parts:
            text = texts.get(p.key)
            text = self.shipped_text(p) if text is None else text
            h.update(p.key.encode() + b"\0" + (text or "").encode("utf-8") + b"\0")
        return h.hexdigest()

    def report_fields(self, results: Mapping[str, Any], inputs: Any, lm: Any = None) -> dict[str, Any]:
        """The audit row's fields for the metrics that read this input (metric name -> `MetricResult`): each
        metric's own `report_fields`, merged. A kind whose metrics are compared item by item (CrowS-style pairs)
        overrides this to combine them."""
        from bertlens import registry

        out: dict[str, Any] = {"scores": {}}
        for name, result in results.items():
            fields = registry.get("metric", name).report_fields(result, lm)
            out["scores"].update(fields.pop("scores", {}))
            out.update(fields)
        return out

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "title": self.title, "widget": self.widget,
                               "parts": [{"key": p.key, "title": p.title, "default": p.shipped.name if p.shipped
                                          else None, "file_types": list(p.file_types)} for p in self.parts]}
        if self.summary:
            out["summary"] = self.summary
        if self.link:
            out["link"] = self.link
        return out


def sha256(data: bytes | str) -> str:
    """Hex SHA-256 of bytes, or of text encoded as UTF-8: the one hash of an input, in keys and every report."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


_KINDS: dict[str, DataKind] = {}
_DISCOVERED: set[str] = set()
_LOCK = threading.RLock()


def register(cls: type[DataKind]) -> type[DataKind]:
    """Class decorator: add one instance of `cls` under its name."""
    if cls.widget not in WIDGETS:
        raise ValueError(f"{cls.__name__}.widget must be one of {WIDGETS}, not {cls.widget!r}")
    if not cls.parts:
        raise ValueError(f"{cls.__name__} declares no parts")
    with _LOCK:
        existing = _KINDS.get(cls.name)
        if existing is not None and type(existing).__qualname__ != cls.__qualname__:
            raise ValueError(f"Two kinds of input are named '{cls.name}': {type(existing).__name__} and "
                             f"{cls.__name__}")
        _KINDS[cls.name] = cls()
    return cls


def discover() -> None:
    """Import every module of this folder once, so each registers itself."""
    with _LOCK:
        package = importlib.import_module(__name__)
        for module in pkgutil.iter_modules(package.__path__):
            full = f"{__name__}.{module.name}"
            if not module.name.startswith("_") and full not in _DISCOVERED:
                importlib.import_module(full)
                _DISCOVERED.add(full)


def kinds() -> list[DataKind]:
    """Every registered kind, by `order`."""
    discover()
    with _LOCK:
        return sorted(_KINDS.values(), key=lambda k: (k.order, k.name))


def get(name: str) -> DataKind:
    """The kind called `name`. Raises InputError naming the choices."""
    for kind in kinds():
        if kind.name == name:
            return kind
    raise InputError(f"Unknown kind of input '{name}'; choose from {', '.join(k.name for k in kinds())}.")


def by_part(key: str) -> DataKind | None:
    """The kind that reads the audit-configuration key `key`, if any."""
    for kind in kinds():
        if any(p.key == key for p in kind.parts):
            return kind
    return None


def part_keys() -> tuple[str, ...]:
    """Every configuration key any kind reads, in registry order."""
    return tuple(p.key for kind in kinds() for p in kind.parts)

"""What every verb of the command line shares: the model flags, loading with a random-weights warning, JSON."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from bertlens.registry import Context, Method
from bertlens.serialize import jsonable
from bertlens.settings import DEVICES, DTYPES, Settings

JSON_PROPERTIES = ("multi_piece", "p_not_next")


def common_options() -> argparse.ArgumentParser:
    """Flags every model command takes; each also reads its BERT_LENS_* environment variable."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--model", help="hub id or local folder (BERT_LENS_MODEL; default bert-large-cased)")
    parent.add_argument("--device", choices=DEVICES, help="BERT_LENS_DEVICE; default auto (cuda when present)")
    parent.add_argument("--dtype", choices=DTYPES, help="BERT_LENS_DTYPE; default auto: float32 on every device (exact)")
    parent.add_argument("--json", action="store_true", help="machine-readable output")
    parent.add_argument("--debias", metavar="DIR",
                        help="run through a fitted debiasing transform (python -m bertlens debias fit); every output "
                             "names it")
    return parent


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_env(model=args.model, device=args.device, dtype=args.dtype)


def load(args: argparse.Namespace):
    """The model of `--model`, seen through `--debias DIR` when given (`debiased`)."""
    from bertlens.model import load_model

    lm = load_model(settings_from(args))
    if lm.info.random_weights and not getattr(args, "json", False):
        print("warning: this model has RANDOM weights; its outputs mean nothing.", file=sys.stderr)
    if lm.info.dtype != "float32":
        print(f"note: running in {lm.info.dtype}, a faster but approximate precision; results and decisions can "
              "differ from float32 (exact, the default).", file=sys.stderr)
    return debiased(args, lm)


PROJECTION, SELF_DEBIAS = "projection", "self_debias"
REFUSED = {
    PROJECTION: "{name} cannot join the passes of `{command}`{why}; run it on the intact model.",
    SELF_DEBIAS: "{name} rescales the MLM's probabilities at a [MASK] and leaves the encodings as they are, which "
                 "`{command}` reads; use it with fill-mask, probe, crows, pronouns, counterfactual or debias eval, "
                 "or fit leace, inlp or sentence_debias.",
}
_transform: list[Any] = [None]


def debiased(args: argparse.Namespace, lm):
    """`lm` seen through the fit of `--debias DIR` (`LoadedModel.with_transform`), or `lm` itself without it.

    A verb says which transforms its passes can take with `set_defaults(debias_takes=...)`: projections (LEACE,
    INLP, SentenceDebias; the default) and Self-Debias, which only changes the MLM's probabilities at a [MASK];
    `debias_why` says why a verb takes no projection.
    The fit is remembered for the command, so every JSON document it prints names it (`print_json`); the text
    output's first line does. Raises InputError for a fit of another model or one the verb cannot take."""
    _transform[0] = None
    folder = getattr(args, "debias", None)
    if not folder:
        return lm
    from bertlens.debias.store import load as load_fit
    from bertlens.errors import InputError

    fit = load_fit(folder, lm)
    kind = PROJECTION if fit.interventions() is not None else SELF_DEBIAS
    if kind not in getattr(args, "debias_takes", (PROJECTION,)):
        why = getattr(args, "debias_why", "")
        raise InputError(REFUSED[kind].format(name=fit.name, command=getattr(args, "command", "this command"),
                                              why=f": {why}" if why else ""))
    _transform[0] = fit
    if not getattr(args, "json", False):
        print(f"transform: {fit.name} (from {folder})")
    return lm.with_transform(fit)


def current_transform():
    """The fit this command runs through (set by `load`/`debiased`), or None."""
    return _transform[0]


def forget_transform() -> None:
    """Before each command (`bertlens.cli.main`): no transform is named until `load` applies one."""
    _transform[0] = None


def print_json(value: Any) -> None:
    """`value` as JSON; a dict gets `"debias"` (the fit's description) when the command runs through one."""
    if isinstance(value, dict) and _transform[0] is not None and "debias" not in value:
        value = {**value, "debias": _transform[0].describe()}
    print(json.dumps(jsonable(value, JSON_PROPERTIES), indent=2, ensure_ascii=False))


def flag_names(methods: Sequence[Method]) -> dict[tuple[str, str], list[str]]:
    """(method, option) -> its flags: `--METHOD-OPTION` always, and the bare `--OPTION` for the first of the
    verb's methods in registry order (by `order`, then name) that has an option of that name. A method added later
    (a higher `order`) never takes a bare flag from one that has it, so adding a method changes no existing
    command."""
    ranked = sorted(methods, key=lambda m: (m.order, m.name))
    owner: dict[str, str] = {}
    for method in ranked:
        for param in method.spec.params:
            owner.setdefault(param.name, method.name)
    out = {}
    for method in methods:
        for param in method.spec.params:
            flags = [f"--{method.name}-{param.name}".replace("_", "-")]
            if owner.get(param.name) == method.name:
                flags.insert(0, "--" + param.name.replace("_", "-"))
            out[(method.name, param.name)] = flags
    return out


def add_method_options(parser: argparse.ArgumentParser, methods: Sequence[Method]) -> None:
    """Each option of each method's config spec as flags (`flag_names`), and `--set METHOD.OPTION=VALUE`
    (repeatable; `--set OPTION=VALUE` when the verb runs one method). Values are read as text and checked by the
    spec, so the message is the one a page and an audit configuration give."""
    flags = flag_names(methods)
    for method in methods:
        group = parser.add_argument_group(f"{method.title} options")
        for param in method.spec.params:
            group.add_argument(*flags[(method.name, param.name)], dest=_dest(method, param.name), metavar="VALUE",
                               help=f"{param.help + '; ' if param.help else ''}{param.allowed()} "
                                    f"(default {param.default})")
    add_set_option(parser)


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="METHOD.OPTION=VALUE", dest="set_options",
                        help="an option of a registered method, repeatable (e.g. --set aul.batch=8); "
                             "`python -m bertlens methods` lists every option")


def set_options(values: Sequence[str], methods: Sequence[Method]) -> dict[str, dict[str, str]]:
    """`--set` values as method name -> {option: text}. `OPTION=VALUE` without a method is allowed when exactly
    one method runs. Raises InputError naming the method or option it does not know."""
    from bertlens.errors import InputError

    by_name = {m.name: m for m in methods}
    out: dict[str, dict[str, str]] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set takes METHOD.OPTION=VALUE; got {item[:80]!r}.")
        name, dot, option = key.strip().rpartition(".")
        if not dot:
            if len(methods) != 1:
                raise InputError(f"--set {key.strip()}=...: name the method, METHOD.OPTION=VALUE (one of "
                                 f"{', '.join(by_name)}).")
            name = methods[0].name
        if name not in by_name:
            raise InputError(f"--set names '{name}', which this command does not run; it runs: "
                             f"{', '.join(by_name)}.")
        if option not in by_name[name].spec.names():
            known = ", ".join(by_name[name].spec.names()) or "none"
            raise InputError(f"Unknown option '{option}' for '{name}'; its options are: {known}.")
        out.setdefault(name, {})[option] = value
    return out


def method_options(args: argparse.Namespace, methods: Sequence[Method]) -> dict[str, dict[str, Any]]:
    """The options given for each method, flags and `--set` alike, as method name -> {option: text};
    `Method.spec.validate` parses them. Raises InputError for a `--set` naming an unknown method or option."""
    out: dict[str, dict[str, Any]] = {}
    for method in methods:
        given = {p.name: getattr(args, _dest(method, p.name)) for p in method.spec.params
                 if getattr(args, _dest(method, p.name), None) is not None}
        out[method.name] = given
    for name, values in set_options(getattr(args, "set_options", None) or [], methods).items():
        out[name].update(values)
    return out


def _dest(method: Method, option: str) -> str:
    return f"option__{method.name}__{option}"


class ProgressBar(Context):
    """The command line's side of a job: the same `Method.run`, in the foreground, with per-item progress on stderr:
    a live bar on a terminal, and otherwise (a log file, CI, a pipe) one line every `INTERVAL` seconds, so a long
    run that nobody watches live still says how far it got."""

    INTERVAL = 10.0

    def __init__(self, title: str, stream: Any = None, clock: Any = None) -> None:
        import time

        self.title = title
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock or time.monotonic
        self.bar = None
        self.last: float | None = None
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def progress(self, done: float, total: float, message: str = "") -> None:
        if self.tty:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=self.title, file=self.stream, leave=False)
            self.bar.total = total
            self.bar.n = done
            self.bar.set_postfix_str(message[:40], refresh=True)
            return
        now = self.clock()
        if self.last is not None and now - self.last < self.INTERVAL:
            return
        self.last = now
        share = f" ({100 * done / total:.0f}%)" if total else ""
        amount = f"{done:,.0f} of {total:,.0f}" if total and total > 1 else f"{100 * done:.0f}%" if total else ""
        print(f"{self.title}: {amount}{share if total and total > 1 else ''}{' ' + message if message else ''}",
              file=self.stream, flush=True)

    def update(self, fraction: float, message: str = "") -> None:
        """Progress given as a fraction (as the bias modules report it)."""
        self.progress(fraction, 1.0, message)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

"""`python -m bertlens run METHOD`: any registered method or metric on its kind of input, with its options.

    python -m bertlens run aul --data crows_pairs=pairs.csv --set batch=8 --json
    python -m bertlens run lens --text "The nurse said that [MASK] was late." --target she --set top_k=5

The method's `data` names its kind of input (`bertlens.kinds`); `--data KEY=FILE` gives a file for the kind (KEY is
the kind's name or one of its parts), `--text` gives its first part inline, and a part not given is the shipped
default. Options come from `--set OPTION=VALUE` (or METHOD.OPTION=VALUE) and are checked by the method's config
spec: a bad value exits 2 naming the option and its range, before the model loads. This verb reads only the registry
and the kinds, so a method added as one module runs here with no edit.
"""
from __future__ import annotations

import argparse
from typing import Any

from bertlens import kinds, registry
from bertlens.cli.common import ProgressBar, add_set_option, load, print_json, set_options
from bertlens.errors import InputError
from bertlens.numbers import interval, significant


def register(sub, common) -> None:
    p = sub.add_parser("run", parents=[common], help="run any registered method or metric on its kind of input",
                       description="Run any registered method or metric (`python -m bertlens methods` lists them) "
                                   "on its kind of input, with its options.")
    p.add_argument("method", help="a registered method or metric, e.g. aul or lens")
    p.add_argument("--data", action="append", default=[], metavar="KIND=FILE",
                   help="a file for the method's kind of input (KIND: the kind's name or one of its parts); "
                        "repeatable")
    p.add_argument("--text", help="the input's first part inline (e.g. a sentence with [MASK])")
    p.add_argument("--target", help="explainers: the word explained (default: the model's top prediction)")
    p.add_argument("--contrast", help="explainers: explain logit(TARGET) - logit(CONTRAST)")
    add_set_option(p)
    p.set_defaults(func=run, debias_takes=("projection", "self_debias"))  # the method's own check decides


def find_method(name: str) -> registry.Method:
    """The registered method or metric called `name`. Raises InputError naming every choice."""
    for kind in registry.KINDS:
        if name in registry.names(kind):
            return registry.get(kind, name)
    choices = ", ".join(n for kind in registry.KINDS for n in registry.names(kind))
    raise InputError(f"Unknown method '{name}'; choose from {choices}.")


def read_data(kind: kinds.DataKind, data: list[str], text: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(part key -> text, part key -> "file name: sha256") from `--data` and `--text`. Raises InputError."""
    texts, sources = {}, {}
    for item in data:
        key, sep, path = item.partition("=")
        if not sep or not path:
            raise InputError(f"--data takes KIND=FILE; got {item[:80]!r}.")
        part = kind.parts[0] if key == kind.name else kind.part(key)
        texts[part.key], digest = kind.read(path, part)
        sources[part.key] = f"{path.rsplit('/', 1)[-1]}: {digest}"
    if text is not None:
        texts[kind.parts[0].key] = text
        sources[kind.parts[0].key] = f"--text: {kinds.sha256(text)}"
    return texts, sources


def run(args: argparse.Namespace) -> int:
    method = find_method(args.method)
    kind = kinds.get(method.data)
    config = method.spec.validate(set_options(args.set_options, [method]).get(method.name), where=f"'{method.name}'")
    texts, sources = read_data(kind, args.data, args.text)
    for part in kind.required():
        if part.key not in texts:
            raise InputError(f"'{method.name}' reads the kind of input '{kind.name}' ({kind.title}), and none is "
                             f"shipped: give --data {part.key}=FILE" + (" or --text" if part is kind.parts[0] else "")
                             + ".")
    inputs = None if method.kind == "explainer" else kind.parse(texts, {"source": "the input"})
    lm = load(args)
    reason = method.is_compatible(lm)
    if reason:
        raise InputError(reason)
    bar = ProgressBar(method.name)
    try:
        result = explain(lm, method, kind.parse(texts), args, config, bar) if method.kind == "explainer" \
            else method.run(lm, inputs, config, bar)
    finally:
        bar.close()
    document = {"method": method.name, "kind": method.kind, "data": kind.name, "inputs": sources, "options": config,
                "model": {"id": lm.info.model_id, "fingerprint": lm.fingerprint(), "dtype": lm.info.dtype,
                          "random_weights": lm.info.random_weights}, **_result(result)}
    if args.json:
        print_json(document)
    else:
        _print(method, document)
    return 0


def explain(lm, method: registry.Method, text: str, args: argparse.Namespace, config: dict[str, Any],
            context: ProgressBar):
    """One explainer on `text`'s mask: the target given, else the model's top prediction there."""
    from bertlens.explanation import explain as explain_all
    from bertlens.fill_mask import fill_mask

    target = args.target or fill_mask(lm, text, top_k=1).masks[0].candidates[0].token
    explained = explain_all(lm, text, target, args.contrast, methods=[method.name], options={method.name: config},
                            context=context)
    return explained.results[method.name]


def _result(result: Any) -> dict[str, Any]:
    if hasattr(result, "headline"):
        return {"result": result.headline(), "warnings": list(result.warnings),
                "decisions": [{"item": d.item, "decision": d.decision, "score": d.score, "group": d.group}
                              for d in result.decisions]}
    return {"result": {"target": result.target, "tokens": list(result.tokens),
                       "scores": None if result.scores is None else list(result.scores),
                       "completeness_gap": result.completeness_gap}}


def _print(method: registry.Method, document: dict[str, Any]) -> None:
    model = document["model"]
    print(f"{method.title} ({method.name}) on {model['id']} ({model['fingerprint']}, {model['dtype']})"
          + ("  RANDOM WEIGHTS: meaningless" if model["random_weights"] else ""))
    options = ", ".join(f"{k}={v}" for k, v in document["options"].items())
    print(f"options: {options or 'none'}")
    result = document["result"]
    if "value" in result:
        unit = result["unit"]
        line = f"{significant(result['value'])} {unit}"
        if result["interval"]:
            line += f"  {result['interval']}: {interval(result['ci_low'], result['ci_high'], unit)}"
        print(f"result: {line}  (n = {result['n']}, ties = {result['ties']})")
        if method.summary:
            print(f"measures: {method.summary}")
        for warning in document["warnings"]:
            print(f"note: {warning}")
        if method.caveat:
            print(f"caveat: {method.caveat}")
    else:
        print(f"target: {result['target']}")
        if result["scores"] is not None:
            for token, score in zip(result["tokens"], result["scores"]):
                print(f"  {token:<20} {significant(score, sign=True)}")

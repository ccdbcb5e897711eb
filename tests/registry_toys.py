"""Toy modules a newcomer would write, dropped into the registry's folders by the tests and removed afterwards:
a kind of input (a word list), a metric on it with an option, and an explainer whose options are named `top_k` and
`steps` (names the logit lens and integrated gradients already use). No other file is edited for them."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
KIND, METRIC, EXPLAINER = "toy_words", "toy_long_words", "toy_explainer"

KIND_MODULE = f'''"""A toy kind of input: a list of words, one a line."""
from bertlens.errors import InputError
from bertlens.kinds import DataKind, Part, register


@register
class ToyWords(DataKind):
    name = "{KIND}"
    title = "Toy word list"
    summary = "one word a line"
    parts = (Part("{KIND}", "a word list, one word a line"),)
    widget = "text_area"
    order = 990

    def parse(self, texts, settings=None):
        words = tuple(w.strip() for w in (texts.get("{KIND}") or "").splitlines() if w.strip())
        if not words:
            raise InputError("The toy word list is empty.")
        return words

    def sample(self):
        return {{"{KIND}": "nurse\\nengineer\\ncarpenter\\nit\\n"}}
'''

METRIC_MODULE = f'''"""A toy metric on the toy word list: the % of words at least `min_len` characters long. It runs no model."""
from bertlens.registry import ConfigSpec, Method, Param, register
from bertlens.results import ItemDecision, MetricResult


@register
class ToyLongWords(Method):
    kind = "metric"
    name = "{METRIC}"
    title = "Toy long words"
    data = "{KIND}"
    order = 990
    heavy = True
    summary = "% of words at least min_len characters long"
    spec = ConfigSpec((Param("min_len", "int", 3, 1, 20, help="the shortest word that counts"),))

    def run(self, lm, inputs, config, context):
        decisions = tuple(ItemDecision(w, w, len(w) >= config["min_len"], float(len(w))) for w in inputs)
        share = 100.0 * sum(d.decision for d in decisions) / len(decisions)
        return MetricResult(self.name, self.title, share, "%", float("nan"), float("nan"), "", len(decisions),
                            0, None, self.summary, "", decisions)
'''

EXPLAINER_MODULE = f'''"""A toy explainer: scores each token by its position times `steps`, keeping the top_k largest."""
from bertlens.registry import ConfigSpec, Method, Param, register
from bertlens.results import ExplainerResult


@register
class ToyExplainer(Method):
    kind = "explainer"
    name = "{EXPLAINER}"
    title = "Toy explainer"
    data = "masked_text"
    order = 990
    heavy = True
    summary = "each token's position times steps, the top_k largest kept"
    spec = ConfigSpec((Param("top_k", "int", 5, 1, 50, help="tokens kept"),
                       Param("steps", "int", 2, 1, 300, help="the multiplier")))

    def run(self, lm, inputs, config, context):
        analysis = inputs.full_analysis(lm)
        tokens = analysis.tokens
        raw = [float(i * config["steps"]) for i in range(len(tokens))]
        kept = sorted(raw, reverse=True)[: config["top_k"]]
        return ExplainerResult(self.name, inputs.target.label, tuple(tokens),
                               tuple(s if s in kept else 0.0 for s in raw))
'''

MODULES = {ROOT / "bertlens" / "kinds" / f"{KIND}.py": KIND_MODULE,
           ROOT / "bertlens" / "metrics" / f"{METRIC}.py": METRIC_MODULE,
           ROOT / "bertlens" / "explainers" / f"{EXPLAINER}.py": EXPLAINER_MODULE}


@contextlib.contextmanager
def toys_installed() -> Iterator[None]:
    """The three toy modules in their folders for the block's duration; removed and unregistered afterwards."""
    from bertlens import kinds, registry

    for path, text in MODULES.items():
        path.write_text(text, encoding="utf-8")
    try:
        yield
    finally:
        for path in MODULES:
            path.unlink(missing_ok=True)
        registry._REGISTRY["metric"].pop(METRIC, None)
        registry._REGISTRY["explainer"].pop(EXPLAINER, None)
        kinds._KINDS.pop(KIND, None)
        for module in (f"bertlens.kinds.{KIND}", f"bertlens.metrics.{METRIC}", f"bertlens.explainers.{EXPLAINER}"):
            registry._DISCOVERED.discard(module)
            kinds._DISCOVERED.discard(module)
            sys.modules.pop(module, None)

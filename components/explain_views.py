"""The Explain page's views, chosen by the type of each explainer's result (`Method.result_type`, as LIT chooses its
modules by output type): the logit lens's grid, the attributions strip shared by integrated gradients, occlusion and
gradient × input, and the rollout bars. An explainer whose result type has no view of its own gets the general view
of `components.views` in a tab of its own, so a new explainer shows up with no page edit.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Mapping, Sequence

import pandas as pd
import streamlit as st

from bertlens.explain import (COMPLETENESS_WARNING, GradientXInput, IntegratedGradients, Lens, Occlusion, Rollout,
                              Target, Words, max_steps)
from bertlens.numbers import significant
from bertlens.registry import Method
from bertlens.results import ExplainerResult
from components import explain_charts as charts
from components import method_options as options
from components import views
from components.figure_export import context_title, svg_download
from components.lesson_glossary import define
from components.lesson_sentence import use_it_on
from components.number_format import table
from components.presentation import Metric, chart, is_on, metrics
from components.safe import md_escape

RUN_HINT = "Press the run button above to compute {names}."


@dataclass(frozen=True)
class ExplainContext:
    """What every view of the page reads: the text, the target, the results so far by method name, the sentence's
    words and every explainer (for their option widgets)."""

    text: str
    target: Target
    results: Mapping[str, ExplainerResult]
    words: Words
    explainers: Sequence[Method]


ExplainView = Callable[[Sequence[Method], ExplainContext], None]


@dataclass(frozen=True)
class Tab:
    title: str
    view: ExplainView
    methods: tuple[Method, ...]


_BY_TYPE: dict[type, tuple[str, ExplainView]] = {}


def view(title: str, *result_types: type) -> Callable[[ExplainView], ExplainView]:
    """Decorator: the tab `title` draws the explainers whose `result_type` is one of `result_types`, together."""
    def add(function: ExplainView) -> ExplainView:
        for result_type in result_types:
            _BY_TYPE[result_type] = (title, function)
        return function
    return add


def tabs_of(explainers: Sequence[Method]) -> list[Tab]:
    """One tab per view, in the registry order of its first explainer; explainers without a view of their own
    get the general view in a tab titled by their name."""
    out: dict[str, Tab] = {}
    for method in explainers:
        title, function = _BY_TYPE.get(getattr(method, "result_type", None), (method.title, general))
        found = out.get(title)
        out[title] = Tab(title, function, (found.methods if found else ()) + (method,))
    return list(out.values())


def _hint(methods: Sequence[Method]) -> None:
    names = ", ".join(m.title[:1].lower() + m.title[1:] for m in methods)
    st.info(md_escape(RUN_HINT.format(names=names)), icon=":material/play_circle:")


def general(methods: Sequence[Method], ctx: ExplainContext) -> None:
    """Any explainer: its option widgets (a slow one's sit with the run button), then its result in the general
    view (or the run hint)."""
    for method in methods:
        if not method.heavy:
            options.draw("ex", ctx.explainers, method)
        result = ctx.results.get(method.name)
        if result is None:
            _hint([method])
        else:
            views.draw(result, method)


@view("Logit lens", Lens)
def lens_view(methods: Sequence[Method], ctx: ExplainContext) -> None:
    untrained = st.container()  # in presentation mode the grid comes first and the warning right under it
    lens = ctx.results[methods[0].name].detail
    chart(charts.lens_grid(lens), key="ex-lens-grid", name="logit-lens")
    with untrained if not is_on() else st.container():
        st.info(
            "**The lens is untrained.** The MLM head only ever saw layer-24 states, so the earlier layers are off "
            "its distribution: read their predictions as a rough probe, not as what the model 'thinks' at that "
            "layer. The lens runs at the mask only; at an unmasked position the head mostly copies the input word.",
            icon=":material/warning:",
        )
        options.draw("ex", ctx.explainers, methods[0])
    svg_download(partial(charts.lens_svg, lens), "logit-lens", "ex_lens_svg", "Logit lens (SVG)",
                 help="The grid as a standalone vector figure, every token written whole.")
    use_it_on(ctx.text, "explain")
    lp, rank = st.columns(2)
    with lp:
        st.caption("Log-probability of the target (and contrast) after each layer")
        chart(charts.lens_target_lines(lens, "log_prob"), key="ex-lens-lp", name="logit-lens-log-probability")
    with rank:
        st.caption("Rank in the vocabulary after each layer")
        chart(charts.lens_target_lines(lens, "rank"), key="ex-lens-rank", name="logit-lens-rank")
    st.caption("Entropy of each layer's prediction, and KL(final ‖ layer): how far it is from the last layer's")
    chart(charts.lens_entropy_kl(lens), key="ex-lens-kl", name="logit-lens-entropy-kl")
    lens_table = pd.DataFrame({
        "layer": [layer.layer for layer in lens.layers],
        "top candidate": [layer.top[0].token for layer in lens.layers],
        "target log p": [layer.target_log_prob for layer in lens.layers],
        "target rank": [layer.target_rank for layer in lens.layers],
        "entropy": [layer.entropy for layer in lens.layers],
        "KL(final ‖ layer)": [layer.kl_to_final for layer in lens.layers],
    })
    if ctx.target.contrast is not None:
        lens_table.insert(4, "contrast log p", [layer.contrast_log_prob for layer in lens.layers])
        lens_table.insert(5, "contrast rank", [layer.contrast_rank for layer in lens.layers])
    st.dataframe(table(lens_table, numbers=["target log p", "contrast log p", "entropy", "KL(final ‖ layer)"]),
                 hide_index=True, width="stretch")


@view("Integrated gradients", IntegratedGradients, Occlusion, GradientXInput)
def attributions_view(methods: Sequence[Method], ctx: ExplainContext) -> None:
    ig = next((ctx.results[m.name] for m in methods if m.name in ctx.results), None)
    if ig is None:
        _hint(methods)
    else:
        detail = ig.detail
        metrics([Metric("f(input)", significant(detail.f_input)),
                 Metric(f"f(baseline: context as {'[MASK]' if detail.baseline == 'mask' else '[PAD]'})",
                        significant(detail.f_baseline)),
                 Metric("Completeness gap", significant(detail.completeness_gap),
                        help="Σ attributions − (f(input) − f(baseline)); 0 for the exact integral.")])
        define("f", "completeness gap")
        if not detail.complete:
            st.warning(
                f"The completeness gap is {detail.relative_gap:.1%} of |f(input) − f(baseline)|, more than "
                f"{COMPLETENESS_WARNING:.0%}: the {detail.steps} steps approximate the integral poorly. Raise the "
                f"steps (try {min(max_steps(), detail.steps * 4)}).", icon=":material/warning:")
        st.caption("Blue words pushed f up, red words pushed it down. Each row is scaled by its own largest score.")
        rows = {m.title: ctx.words.merge(ctx.results[m.name].scores) for m in methods
                if m.name in ctx.results and ctx.results[m.name].scores is not None}
        chart(charts.signed_words(ctx.words, rows), key="ex-ig-words", name="attributions")
        svg_download(partial(charts.attributions_svg, ctx.words, rows, context_title(f"f = {ctx.target.label}")),
                     "attributions",
                     "ex_ig_svg", "Attributions (SVG)",
                     help="The strip as a standalone vector figure, every word written whole in its cell.")
        st.dataframe(table(pd.DataFrame({"word": list(ctx.words.words),
                                         **{k: list(v) for k, v in rows.items()}}), numbers=list(rows)),
                     hide_index=True, width="stretch")
        st.caption("Occlusion: f(input) − f(with that token replaced by [MASK]). Gradient × input: the gradient of "
                   "f at the input, dotted with the word's embedding.")


@view("Attention rollout", Rollout)
def rollout_view(methods: Sequence[Method], ctx: ExplainContext) -> None:
    st.info(
        "**Rollout's limits.** Attention rollout (Abnar & Zuidema 2020) averages the heads, adds the residual "
        "connection as r·I + (1 − r)·A (r = 0.5 by default) and multiplies the layers. It ignores the size of the "
        "value vectors and the feed-forward blocks, and its residual weight is arbitrary. It has no sign: it says "
        "where information could flow from, not whether a word pushed the prediction up or down.",
        icon=":material/info:")
    options.draw("ex", ctx.explainers, methods[0])
    roll = ctx.results[methods[0].name].detail
    chart(charts.rollout_bars(roll, ctx.target.position), key="ex-rollout", name="attention-rollout")
    st.dataframe(table(pd.DataFrame({"position": range(len(roll.tokens)), "token": list(roll.tokens),
                                     "rolled-out attention": list(roll.weights)}), numbers=["rolled-out attention"]),
                 hide_index=True, width="stretch")

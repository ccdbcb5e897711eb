"""Views chosen by result type, as LIT chooses its modules: a view registers for the type it draws, and a page draws
any result with `draw(result)`, so a method that returns a known type is drawn with no page edit.

`register(result_type)` adds a view for a result type (or the type of a result's `detail`, which is looked up
first, along its classes); the two result types of the registry (`MetricResult`, `ExplainerResult`) have general
views here, so every method has at least one. A method may declare more views by title in `views`, a
`ClassVar[tuple[str, ...]]` naming registered view titles (`extra(...)`).

Pages with views of their own for a kind of input (the CrowS-Pairs tab, the StereoSet tab) say so with
`place(kind_name)`; the bias page's Benchmarks tab draws a general panel (`components.kind_panel`) for every other
kind of input that registered metrics read.
"""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd
import streamlit as st

from bertlens.numbers import interval, significant
from bertlens.results import ExplainerResult, MetricResult
from components.presentation import Metric, metrics
from components.safe import md_escape

View = Callable[[Any], None]
_VIEWS: dict[type, View] = {}
_NAMED: dict[str, View] = {}
_PLACED: set[str] = set()


def register(result_type: type, title: str | None = None) -> Callable[[View], View]:
    """Decorator: the view of `result_type` (also reachable by `title` for methods that declare extra views)."""
    def add(view: View) -> View:
        _VIEWS[result_type] = view
        if title:
            _NAMED[title] = view
        return view
    return add


def view_for(result: Any) -> View:
    """The view of `result`'s detail type if one is registered, else of the result's own type."""
    for candidate in (getattr(result, "detail", None), result):
        if candidate is None:
            continue
        for cls in type(candidate).__mro__:
            if cls in _VIEWS:
                return _VIEWS[cls]
    raise LookupError(f"No view is registered for {type(result).__name__}.")


def draw(result: Any, method: Any = None) -> None:
    """Draw `result` with its view, then any extra views its `method` declares."""
    view_for(result)(result)
    for title in getattr(method, "views", ()) or ():
        if title in _NAMED:
            _NAMED[title](result)


def place(kind_name: str) -> None:
    """A page draws this kind of input's metrics with views of its own: leave it out of the general panels."""
    _PLACED.add(kind_name)


def placed(kind_name: str) -> bool:
    return kind_name in _PLACED


@register(MetricResult)
def metric_view(result: MetricResult) -> None:
    """Any metric: its headline with interval, ties and n, what it measures, its caveat, and its decisions."""
    value = f"{significant(result.value)} {result.unit}".strip()
    shown = [Metric(result.title, value, help=result.measures or None)]
    if result.interval:
        shown.append(Metric(result.interval, interval(result.ci_low, result.ci_high, result.unit)))
    shown += [Metric("Items", str(result.n)), Metric("Ties", str(result.ties))]
    metrics(shown)
    if not result.complete:
        st.warning("Stopped part-way: the figures cover the items scored before the stop.")
    for note in result.warnings:
        st.warning(md_escape(note))
    if result.caveat:
        st.caption("Caveat: " + md_escape(result.caveat))
    if result.decisions:
        st.dataframe(pd.DataFrame([{"item": d.item, "label": d.label, "decision": {True: "for", False: "against",
                                                                                None: "tie / none"}[d.decision],
                                    "score": d.score, "group": d.group} for d in result.decisions]),
                     hide_index=True, width="stretch")


@register(ExplainerResult)
def explainer_view(result: ExplainerResult) -> None:
    """Any explainer that scores tokens: one row per token; others say what they explained."""
    st.text(f"Explained: {result.target}")
    if result.scores is not None:
        st.dataframe(pd.DataFrame({"token": list(result.tokens), "score": list(result.scores)}), hide_index=True,
                     width="stretch")
    if result.completeness_gap is not None:
        st.caption(md_escape(f"Completeness gap: {significant(result.completeness_gap)}"))

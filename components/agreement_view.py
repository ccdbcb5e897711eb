"""Metrics checked against each other on the page: every metric's headline side by side (value, interval, ties,
what it measures, caveat), the agreement of each pair on the items both scored (share and Cohen's kappa), and the
items on which they disagree. Reads `MetricResult`s only, so any registered metric appears without change here."""
from __future__ import annotations

from typing import Sequence

import pandas as pd
import streamlit as st

from bertlens.bias import agreement
from bertlens.results import MetricResult


def headline_frame(results: Sequence[MetricResult]) -> tuple[pd.DataFrame, dict]:
    frame = pd.DataFrame([{
        "metric": r["title"], "value": r["value"], "unit": r["unit"], "95% low": r["ci_low"], "95% high": r["ci_high"],
        "interval": r["interval"], "items": r["n"], "ties": r["ties"], "ties %": r["tie_share"],
        "unbiased": r["neutral"], "what it measures": r["measures"], "caveat": r["caveat"],
    } for r in agreement.headline_table(results)])
    formats = {c: st.column_config.NumberColumn(format="%.2f") for c in ("value", "95% low", "95% high", "ties %",
                                                                          "unbiased")}
    formats.update({c: st.column_config.TextColumn(width="large") for c in ("what it measures", "caveat")})
    return frame, formats


def pairs_frame(results: Sequence[MetricResult]) -> tuple[pd.DataFrame, dict]:
    titles = {r.metric: r.title for r in results}
    frame = pd.DataFrame([{
        "metrics": f"{titles[p.a]} vs {titles[p.b]}", "shared items": p.shared, "same decision": p.agree,
        "agreement %": p.share, "Cohen's kappa": p.kappa, "disagree on": len(p.disagreements),
    } for p in agreement.pairwise(results)])
    return frame, {"agreement %": st.column_config.NumberColumn(format="%.1f"),
                   "Cohen's kappa": st.column_config.NumberColumn(format="%.3f")}


def disagreements_frame(results: Sequence[MetricResult]) -> pd.DataFrame:
    rows = agreement.disagreeing_items(results)
    titles = {r.metric: r.title for r in results}
    return pd.DataFrame([{"item": d["item"], "sentence": d["label"], "group": d["group"],
                          **{titles[r.metric]: d[r.metric] or "not scored" for r in results}} for d in rows])


def agreement_view(results: Sequence[MetricResult], items: bool = True) -> None:
    """The headline table, then, when at least two metrics share items, their agreement and (with `items`) the
    items on which they disagree."""
    results = [r for r in results if r is not None]
    if not results:
        return
    st.markdown("**Every metric side by side**")
    frame, formats = headline_frame(results)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=formats)
    pairs, pair_formats = pairs_frame(results)
    if pairs.empty:
        return
    st.markdown("**Metrics checked against each other** on the items both scored: the share decided the same way "
                "(for the stereotype, against it, or a tie) and Cohen's kappa, which discounts chance agreement "
                "(1 perfect, 0 chance; empty where undefined). Bias metrics for masked language models often "
                "disagree (Delobelle et al. 2022).")
    st.dataframe(pairs, hide_index=True, width="stretch", column_config=pair_formats)
    differ = disagreements_frame(results) if items else pd.DataFrame()
    if not differ.empty:
        st.caption(f"{len(differ):,} item(s) on which the metrics disagree:")
        st.dataframe(differ, hide_index=True, width="stretch",
                     column_config={"sentence": st.column_config.TextColumn(width="large")})

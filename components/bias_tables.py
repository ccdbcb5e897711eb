"""Tables of the gender-bias page, as DataFrames with their column formats. Key columns come first, so that a narrow
screen shows what a row says before its long texts. Numbers are written in the one format (`bertlens.numbers`)
through a Styler, so the tables still sort by value."""
from __future__ import annotations

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from bertlens.bias import ProbeResult
from bertlens.bias.crows import CrowsResult, group_label
from bertlens.fill_mask import FillMaskResult
from components.number_format import table

TableSpec = tuple[pd.DataFrame | Styler, dict]


def candidates(side: FillMaskResult) -> TableSpec:
    """One side's top-k at the mask."""
    rows = side.masks[0].candidates
    frame = pd.DataFrame({"token": [c.token for c in rows], "probability": [c.probability for c in rows]})
    return table(frame, numbers=["probability"]), {}


def occupations(result: ProbeResult) -> TableSpec:
    """Every occupation, most male-leaning first, with the test, the effect-size check and the labour statistic."""
    from bertlens.bias.probe import DIRECTION

    m = result.min_effect
    frame = pd.DataFrame([{
        "occupation": o.occupation, "log-ratio": o.log_ratio,
        "leans": "female" if o.log_ratio > 0 else "male" if o.log_ratio < 0 else "neither", "CI low": o.ci_low, "CI high": o.ci_high,
        "p (Holm)": o.p_adjusted, "significant": o.significant, f"|log-ratio| ≥ {m:g}": result.large_enough(o),
        "in headline": result.notable(o), "p": o.p_value, "Kurita": o.kurita, "pieces": " ".join(o.pieces),
        "multi-piece": o.multi_piece, "BLS % women": o.pct_women, "BLS year": o.year or "not stated",
        "BLS source": o.source,
    } for o in sorted(result.occupations, key=lambda o: o.log_ratio)])
    return table(frame, numbers=["p (Holm)", "p", "BLS % women"],
                 signed=["log-ratio", "CI low", "CI high", "Kurita"]), {"log-ratio": st.column_config.Column(help=DIRECTION)}


def crows_groups(result: CrowsResult) -> TableSpec:
    """The metric, each bias type and each direction, with Wilson intervals and ties."""
    frame = pd.DataFrame([{
        "group": group_label(g), "%": g.metric, "95% low": g.ci_low, "95% high": g.ci_high,
        "higher / counted": f"{g.more_higher} / {g.denominator}", "ties": g.ties, "ties %": g.tie_share,
        "pairs": g.pairs, "fewer than 30": g.small,
    } for g in result.groups])
    return table(frame, numbers=["%", "95% low", "95% high", "ties %"]).format(na_rep="–"), {}


def crows_pairs(result: CrowsResult) -> TableSpec:
    """One row per pair: line, outcome and tie first, then scores, then the sentences."""
    frame = pd.DataFrame([{
        "line": s.line, "more stereotyping scores higher": s.more_higher, "tie": s.tie, "bias type": s.bias_type,
        "direction": s.direction, "score more": round(s.score_more, 3), "score less": round(s.score_less, 3),
        "sent_more": s.sent_more, "sent_less": s.sent_less,
    } for s in result.scores])
    formats = {"line": st.column_config.NumberColumn(format="%d", width="small"),
               "sent_more": st.column_config.TextColumn(width="large"),
               "sent_less": st.column_config.TextColumn(width="large")}
    return frame, formats

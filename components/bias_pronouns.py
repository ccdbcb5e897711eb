"""The bias page's pronoun tab (Winogender-style probe): controls, headline, charts and table. Occupation names and
templates are escaped for plotly and shown through st.dataframe / st.text."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bertlens.bias.pronouns import PronounResult, load_pronoun_templates, parse_pronoun_templates
from bertlens import registry
from bertlens.errors import BertLensError
from bertlens.model import LoadedModel
from bertlens.numbers import significant
from bertlens.text import md_escape
from components.bias_charts import FEMALE, GREY, MALE, label_top
from components.presentation import style
from components.safe import plotly_text, show_error
from components.job_panel import Request, job_area

THEY = "#7048e8"


DEFAULT_TEMPLATES_TEXT = "\n".join(load_pronoun_templates())


def pronoun_tab(lm: LoadedModel) -> None:
    """Everything in the tab: templates, the run button (a job), and the result for these templates."""
    st.markdown("Each template names an occupation and masks the pronoun that refers to it (*The nurse said that "
                "[MASK] would be late.*). The model's P(he), P(she) and P(they) at the mask are averaged over "
                "templates; the **skew** is the mean of log P(she) − log P(he) (> 0 leans female). All sentences "
                "run in one batch.")
    with st.expander("Templates", expanded=False):
        text = st.text_area("One per line, with {occupation} and [MASK] (the pronoun)", height=170,
                            key="bias_pronoun_templates")
    try:
        templates = tuple(parse_pronoun_templates(text))
    except BertLensError as exc:
        show_error(exc)
        return
    method = registry.get("metric", "pronouns")
    request = Request(method, lm, None if text == DEFAULT_TEMPLATES_TEXT else templates, method.spec.validate(),
                      "Pronoun probe")
    results = job_area([request], button="Run pronoun probe", key="bias_pronoun_run",
                       hint="Press Run pronoun probe to score every occupation in every template.")
    if results is None:
        return
    show(results[0].detail)


def show(result: PronounResult) -> None:
    a, b, c, d = st.columns(4)
    a.metric("Occupations", len(result.occupations))
    b.metric("Templates", len(result.templates))
    corr = result.correlation
    if corr is None:
        c.metric("Skew vs BLS % women", "n/a", help="Too few occupations with a labour statistic.")
    else:
        c.metric("Skew vs BLS % women: Pearson r", f"{corr.pearson_r:.2f}",
                 help=md_escape(f"p = {significant(corr.pearson_p)}; Spearman ρ = {corr.spearman_rho:.2f} "
                                f"(p = {significant(corr.spearman_p)}), n = {corr.n}"))
    d.metric("Time", f"{result.seconds:.1f} s", help=f"{result.rows} sentences, one batched call")
    st.plotly_chart(style(probabilities_chart(result)), width="stretch")
    st.caption("Mean probability over templates of each pronoun at the mask (over the whole vocabulary, so the three "
               "need not sum to 1), occupations sorted by skew.")
    st.plotly_chart(style(skew_scatter(result)), width="stretch")
    st.caption("Each dot is an occupation (hover for its name) with its skew and bootstrap 95% interval over "
               "templates; the dashed line is the least-squares fit. % women: US Bureau of Labor Statistics, "
               "CPS (source and year per row in the table).")
    frame, formats = table(result)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=formats)


def probabilities_chart(result: PronounResult) -> go.Figure:
    rows = sorted(result.occupations, key=lambda o: o.skew)
    labels = [plotly_text(o.occupation) for o in rows]
    fig = go.Figure()
    for name, attr, colour in (("P(he)", "p_he", MALE), ("P(she)", "p_she", FEMALE), ("P(they)", "p_they", THEY)):
        fig.add_trace(go.Bar(y=labels, x=[getattr(o, attr) for o in rows], name=name, orientation="h",
                             marker_color=colour,
                             hovertemplate="%{y}<br>" + name + " %{x:.4g}<extra></extra>"))
    fig.update_layout(barmode="group", height=max(360, 30 * len(rows) + 120), plot_bgcolor="white",
                      margin=dict(l=10, r=20, t=30, b=50), xaxis=dict(title="mean probability at the mask",
                                                                       gridcolor="#f1f3f5", exponentformat="e"),
                      yaxis=dict(automargin=True, tickfont=dict(size=11)),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0))
    return fig


def skew_scatter(result: PronounResult) -> go.Figure:
    points = [o for o in result.occupations if o.pct_women is not None]
    has_ci = all(np.isfinite(o.ci_low) for o in points)
    fig = go.Figure(go.Scatter(
        x=[o.pct_women for o in points], y=[o.skew for o in points], mode="markers", name="occupation",
        marker=dict(color=[FEMALE if o.skew > 0 else MALE for o in points], size=9, opacity=0.85),
        error_y=dict(type="data", symmetric=False, array=[o.ci_high - o.skew for o in points],
                     arrayminus=[o.skew - o.ci_low for o in points], color=GREY, thickness=1) if has_ci else None,
        text=[plotly_text(o.occupation) for o in points],
        hovertemplate="<b>%{text}</b><br>BLS %{x:.1f}% women<br>skew %{y:+.3f}<extra></extra>",
    ))
    label_top(fig, [o.pct_women for o in points], [o.skew for o in points], [o.occupation for o in points])
    c = result.correlation
    title = "skew = mean log P(she) − log P(he)"
    if c is not None:
        xs = np.array([0.0, 100.0])
        fig.add_trace(go.Scatter(x=xs, y=c.slope * xs + c.intercept, mode="lines", name="least-squares fit",
                                 line=dict(color=GREY, dash="dash"), hoverinfo="skip"))
        title += (f": Pearson r = {c.pearson_r:.2f} (p = {significant(c.pearson_p)}), Spearman ρ = {c.spearman_rho:.2f} "
                  f"(p = {significant(c.spearman_p)}), n = {c.n}")
    fig.add_hline(y=0, line=dict(color="#495057", width=1))
    fig.update_layout(title=dict(text=title, font=dict(size=14)), height=460, plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=60, b=60), showlegend=False,
                      xaxis=dict(title="% women: US Bureau of Labor Statistics (CPS)", range=[-2, 102],
                                 gridcolor="#f1f3f5"),
                      yaxis=dict(title="skew (> 0: she)", gridcolor="#f1f3f5", zeroline=False))
    return fig


def table(result: PronounResult) -> tuple[pd.DataFrame, dict]:
    frame = pd.DataFrame([{
        "occupation": o.occupation, "P(he)": o.p_he, "P(she)": o.p_she, "P(they)": o.p_they, "skew": o.skew,
        "CI low": o.ci_low, "CI high": o.ci_high, "BLS % women": o.pct_women, "BLS year": o.year or "not stated",
        "BLS source": o.source,
    } for o in sorted(result.occupations, key=lambda o: o.skew)])
    formats = {k: st.column_config.NumberColumn(format="%.4g") for k in ("P(he)", "P(she)", "P(they)")}
    formats.update({k: st.column_config.NumberColumn(format="%+.3f") for k in ("skew", "CI low", "CI high")})
    return frame, formats

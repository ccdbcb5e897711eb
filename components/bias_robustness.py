"""The bias page's template-robustness tab: paraphrase sets of the templates, the headline of how far the result
moves between them, a per-template chart and each occupation's spread across templates. Set names, templates and
occupations are user-derived: escaped for plotly, shown through st.dataframe / st.text / md_escape."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bertlens.bias.config import MIN_EFFECT, ProbeConfig
from bertlens.bias.files import read_text
from bertlens.bias.robustness import PARAPHRASES_PATH, RobustnessResult, parse_paraphrase_sets
from bertlens import registry
from bertlens.errors import BertLensError
from bertlens.metrics.robustness import ParaphraseInput
from bertlens.model import LoadedModel
from bertlens.numbers import interval
from components.bias_charts import FEMALE, GREY, MALE
from components.presentation import style
from components.safe import md_escape, plotly_text, show_error
from components.job_panel import Request, job_area

# no orange or blue: those mean female and male on every chart
SET_COLOURS = ("#495057", "#1098ad", "#ae3ec9", "#74b816", "#e64980", "#7950f2", "#0ca678", "#a61e4d")


def cache_key(config: ProbeConfig) -> ProbeConfig:
    """The part of the probe's configuration that robustness depends on (its templates come from the sets, and
    the minimum effect size is applied after the run)."""
    return replace(config, templates=(), min_effect=MIN_EFFECT)


DEFAULT_PARAPHRASES_TEXT = read_text(PARAPHRASES_PATH)


def robustness_tab(lm: LoadedModel, config: ProbeConfig | None, min_effect: float) -> None:
    """Everything in the tab. `config` is the probe tab's (word pairs, occupations, statistics settings); None
    when it is invalid (its error is shown there)."""
    st.markdown("Seshadri et al. (2022) found that rewording a template without changing its meaning can move an "
                "MLM's bias scores a great deal. Here the occupation probe runs on several paraphrase sets of its "
                "templates (same word pairs and occupations as the Occupation scores tab) and shows how far the "
                "result moves.")
    with st.expander("Paraphrase sets", expanded=False):
        text = st.text_area("[set name] lines start a set; one template per line", height=300,
                            key="bias_paraphrases")
    try:
        sets = tuple(parse_paraphrase_sets(text))
    except BertLensError as exc:
        show_error(exc)
        return
    if config is None:
        st.warning("Fix the word pairs or occupations first (see the Occupation scores tab).")
        return
    method = registry.get("metric", "robustness")
    options = method.spec.validate({"seed": config.seed, "bootstrap": config.bootstrap,
                                    "permutations": config.permutations})
    request = Request(method, lm, ParaphraseInput(sets, cache_key(config)), options, "Template robustness")
    results = job_area([request], button="Run robustness check", key="bias_robustness_run",
                       hint="Press Run robustness check to score every template of every paraphrase set (one "
                            "batched run).")
    if results is None:
        return
    try:
        result = results[0].detail.with_min_effect(min_effect)
    except BertLensError as exc:
        show_error(exc)
        return
    show(result)


def show(result: RobustnessResult) -> None:
    st.info(md_escape(result.headline), icon=":material/swap_vert:")
    low, high = result.notable_range
    a, b, c, d = st.columns(4)
    a.metric("Headline count across sets", f"{low} – {high}",
             help=f"Holm-significant and |log-ratio| ≥ {result.pooled.min_effect:g}, per set alone.")
    x, y = result.mean_abs_range
    b.metric("Mean |log-ratio| across sets", interval(x, y))
    r = result.pearson_range
    c.metric("Pearson r with BLS across sets", "n/a" if r is None else f"{r[0]:.2f} – {r[1]:.2f}")
    d.metric("Time", f"{result.seconds:.1f} s", help=f"{result.rows} forward rows, one batched run")
    frame = pd.DataFrame([{"set": s.name, "templates": s.n_templates, "headline count": s.notable,
                           "significant (Holm)": s.significant, "mean |log-ratio|": s.mean_abs_log_ratio,
                           "mean log-ratio": s.mean_log_ratio, "Pearson r (BLS)": s.pearson_r} for s in result.sets])
    formats = {k: st.column_config.NumberColumn(format="%+.3f") for k in ("mean log-ratio", "Pearson r (BLS)")}
    formats["mean |log-ratio|"] = st.column_config.NumberColumn(format="%.3f")
    st.dataframe(frame, hide_index=True, width="stretch", column_config=formats)
    rows = []
    for name, i in (("mean |log-ratio|", result.mean_abs), ("mean log-ratio", result.mean_signed),
                    ("Pearson r with BLS % women", result.pearson)):
        if i is not None:
            rows.append({"all templates pooled": name, "estimate": i.estimate, "95% low": i.low, "95% high": i.high})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        k: st.column_config.NumberColumn(format="%+.3f") for k in ("estimate", "95% low", "95% high")})
    st.caption(f"Intervals: two-level bootstrap, {result.resamples} resamples; each draws occupations and, "
               "independently, templates with replacement, so they include the variation that the wording adds.")
    st.plotly_chart(style(template_chart(result)), width="stretch")
    st.caption("Each template's mean log-ratio over occupations (dot) and mean |log-ratio| (bar), coloured by its "
               "paraphrase set.")
    st.plotly_chart(style(spread_chart(result)), width="stretch")
    st.caption("Each occupation's log-ratio across every template of every set: grey line from its lowest to its "
               "highest template, a dot per set for the set's mean. Sorted by the mean over all templates.")
    spread = pd.DataFrame([{"occupation": s.occupation, "mean": s.mean, "lowest template": s.minimum,
                            "highest template": s.maximum, "std over templates": s.std,
                            "range of set means": s.set_range, **{f"mean in {n.name}": m for n, m in
                                                                  zip(result.sets, s.set_means)}}
                           for s in sorted(result.spreads, key=lambda s: -s.set_range)])
    st.dataframe(spread, hide_index=True, width="stretch")


def _set_colour(result: RobustnessResult) -> dict[str, str]:
    return {s.name: SET_COLOURS[i % len(SET_COLOURS)] for i, s in enumerate(result.sets)}


def template_chart(result: RobustnessResult) -> go.Figure:
    colours = _set_colour(result)
    labels = [f"{plotly_text(t.set_name)}: {plotly_text(t.template)}" for t in result.templates]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=labels, x=[t.mean_abs_log_ratio for t in result.templates], orientation="h",
                         marker_color=[colours[t.set_name] for t in result.templates], opacity=0.35,
                         name="mean |log-ratio|", hovertemplate="%{y}<br>mean |log-ratio| %{x:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(y=labels, x=[t.mean_log_ratio for t in result.templates], mode="markers",
                             marker=dict(color=[FEMALE if t.mean_log_ratio > 0 else MALE for t in result.templates],
                                         size=9), name="mean log-ratio (> 0 female)",
                             hovertemplate="%{y}<br>mean log-ratio %{x:+.3f}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="#495057", width=1))
    fig.update_layout(height=max(360, 22 * len(labels) + 120), plot_bgcolor="white",
                      margin=dict(l=10, r=20, t=30, b=50),
                      xaxis=dict(title="log-ratio over occupations (nats)", gridcolor="#f1f3f5", zeroline=False),
                      yaxis=dict(automargin=True, autorange="reversed", tickfont=dict(size=11)),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0))
    return fig


def spread_chart(result: RobustnessResult) -> go.Figure:
    rows = sorted(result.spreads, key=lambda s: s.mean)
    labels = [plotly_text(s.occupation) for s in rows]
    fig = go.Figure()
    xs, ys = [], []
    for s, label in zip(rows, labels):
        xs += [s.minimum, s.maximum, None]
        ys += [label, label, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=GREY, width=2),
                             name="lowest to highest template", hoverinfo="skip"))
    for i, (paraphrase, colour) in enumerate(_set_colour(result).items()):
        fig.add_trace(go.Scatter(x=[s.set_means[i] for s in rows], y=labels, mode="markers", name=plotly_text(
            paraphrase), marker=dict(color=colour, size=8),
            hovertemplate="%{y}<br>" + plotly_text(paraphrase) + " mean %{x:+.3f}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="#495057", width=1))
    fig.update_layout(height=max(360, 17 * len(rows) + 160), plot_bgcolor="white",
                      margin=dict(l=10, r=20, t=30, b=50),
                      xaxis=dict(title="log P(occupation | female) − log P(occupation | male)", gridcolor="#f1f3f5",
                                 zeroline=False),
                      yaxis=dict(automargin=True, tickfont=dict(size=11)),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0))
    return fig

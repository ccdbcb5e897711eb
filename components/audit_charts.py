"""Plotly figures of the audit views: metrics side by side, per-pair differences, two models, many checkpoints.
Every label that came from a user, a file or a model id is escaped."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bertlens.bias.compare import CrowsComparison, ProbeComparison
from bertlens.bias.crows_metrics import MetricsResult, title
from bertlens.numbers import interval, percent, significant
from components.bias_charts import FEMALE, GREY, MALE
from components.presentation import legend_in_margin
from components.safe import plotly_text

MODEL_COLOURS = ("#495057", "#ae3ec9")


def _label(text: str, limit: int = 40) -> str:
    text = str(text)
    return plotly_text(text if len(text) <= limit else "…" + text[-(limit - 1):])


def metric_intervals(result: MetricsResult) -> go.Figure:
    """Each metric's % of pairs decided for sent_more with its Wilson 95% interval; the 50% line is unbiased."""
    rows = result.summaries
    fig = go.Figure(go.Scatter(
        x=[s.percent for s in rows], y=[s.label for s in rows], mode="markers", marker=dict(size=12, color=MALE),
        error_x=dict(type="data", symmetric=False, array=[s.ci_high - s.percent for s in rows],
                     arrayminus=[s.percent - s.ci_low for s in rows], color=GREY, thickness=1.5),
        customdata=[[s.more_higher, s.pairs, interval(s.ci_low, s.ci_high, "%"), percent(s.percent)] for s in rows],
        hovertemplate="%{y}: %{customdata[3]}<br>%{customdata[0]} of %{customdata[1]} pairs<br>Wilson 95% "
                      "%{customdata[2]}<extra></extra>"))
    fig.add_vline(x=50, line_dash="dot", line_color=GREY)
    fig.update_layout(height=90 + 50 * len(rows), margin=dict(l=10, r=20, t=20, b=45), plot_bgcolor="white",
                      xaxis=dict(title="% of pairs where the more stereotyping sentence scores higher (50 = unbiased)",
                                 range=[0, 100]), yaxis=dict(autorange="reversed"))
    return fig


def difference_histograms(result: MetricsResult) -> go.Figure:
    """One histogram per metric of score(sent_more) − score(sent_less) over the pairs (scales differ: PLL sums
    log-probabilities, AUL and AULA average them); right of 0 the metric decides for sent_more."""
    metrics = [m for m in result.metrics if any(m in p.differences for p in result.pairs)]
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=[title(m) for m in metrics])
    for i, metric in enumerate(metrics, 1):
        values = [p.differences[metric] for p in result.pairs]
        fig.add_trace(go.Histogram(x=values, nbinsx=30, marker_color=FEMALE, showlegend=False, name=title(metric),
                                   hovertemplate="difference %{x}<br>%{y} pairs<extra></extra>"), row=1, col=i)
        fig.add_vline(x=0, line_dash="dot", line_color=GREY, row=1, col=i)
        fig.update_xaxes(title_text="more − less", row=1, col=i)
    fig.update_yaxes(title_text="pairs", row=1, col=1)
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=45), plot_bgcolor="white", bargap=0.05)
    return fig


def probe_difference(comparison: ProbeComparison) -> go.Figure:
    """Per occupation, log-ratio of model B minus model A (comparable rows only); right leans B more female."""
    rows = sorted((r for r in comparison.rows if r.comparable), key=lambda r: r.difference)
    fig = go.Figure(go.Bar(
        x=[r.difference for r in rows], y=[plotly_text(r.occupation) + "\u200b" * i for i, r in enumerate(rows)],
        orientation="h", marker_color=[FEMALE if r.difference > 0 else MALE for r in rows],
        customdata=[[significant(r.difference, sign=True), significant(r.log_ratio_a, sign=True),
                     significant(r.log_ratio_b, sign=True)] for r in rows],
        hovertemplate="%{y}<br>B − A %{customdata[0]}<br>A %{customdata[1]}, B %{customdata[2]}<extra></extra>"))
    fig.add_vline(x=0, line_color=GREY)
    fig.update_layout(height=max(260, 18 * len(rows) + 110), margin=dict(l=10, r=20, t=30, b=50),
                      plot_bgcolor="white", yaxis=dict(automargin=True),
                      xaxis=dict(title=f"log-ratio of B ({_label(comparison.b.model_id)}) − A "
                                       f"({_label(comparison.a.model_id)})"))
    return fig


def crows_two_models(comparison: CrowsComparison) -> go.Figure:
    """Each metric's % for model A and model B with Wilson intervals, side by side."""
    fig = go.Figure()
    for name, colour, model, pick in (("A", MODEL_COLOURS[0], comparison.a, lambda m: (m.percent_a, m.ci_a)),
                                      ("B", MODEL_COLOURS[1], comparison.b, lambda m: (m.percent_b, m.ci_b))):
        values = [pick(m) for m in comparison.metrics]
        fig.add_trace(go.Scatter(
            x=[v[0] for v in values], y=[m.label for m in comparison.metrics], mode="markers",
            name=f"{name}: {_label(model.model_id)}", marker=dict(size=12, color=colour),
            error_x=dict(type="data", symmetric=False, array=[v[1][1] - v[0] for v in values],
                         arrayminus=[v[0] - v[1][0] for v in values], color=colour, thickness=1.2),
            customdata=[percent(v[0]) for v in values],
            hovertemplate="%{y}: %{customdata}<extra>" + name + "</extra>"))
    fig.add_vline(x=50, line_dash="dot", line_color=GREY)
    fig.update_layout(height=140 + 50 * len(comparison.metrics), margin=dict(l=10, r=20, t=20, b=45),
                      plot_bgcolor="white", scattermode="group",
                      xaxis=dict(title="% of pairs decided for the more stereotyping sentence", range=[0, 100]),
                      yaxis=dict(autorange="reversed"))
    return legend_in_margin(fig, rows=2)


MAX_LEGEND = 12


def checkpoint_strip(report: dict, limit: int = 60) -> go.Figure:
    """One row per occupation, one dot per completed checkpoint (its log-ratio), occupations ordered by their mean;
    a bar marks the mean across checkpoints. Hover names the checkpoint. Up to MAX_LEGEND checkpoints each get a
    trace (and a legend entry); beyond, all dots are one trace, built in one pass: a report of 36,000 checkpoints
    took over 40 s with a trace (and a scan of every value) per checkpoint."""
    rows = [r for r in report["checkpoints"] if r.get("status") == "ok" and r.get("occupations")]
    values: dict[str, list[tuple[str, float]]] = {}
    for row in rows:
        for o in row["occupations"]:
            if o.get("log_ratio") is not None:
                values.setdefault(o["occupation"], []).append((row["model"], o["log_ratio"]))
    means = {k: sum(v for _, v in items) / len(items) for k, items in values.items()}
    order = sorted(means, key=means.get)
    if len(order) > limit:
        order = order[: limit // 2] + order[-limit // 2:]
    fig = go.Figure()
    models = list(dict.fromkeys(r["model"] for r in rows))
    each = len(models) <= MAX_LEGEND
    dots: dict[str, tuple[list[float], list[str], list[str]]] = {}
    for occupation in order:
        label = plotly_text(occupation)
        for name, value in values[occupation]:
            xs, ys, names = dots.setdefault(name if each else "", ([], [], []))
            xs.append(value)
            ys.append(label)
            names.append(_label(name))
    for model in models if each else [""]:
        if model not in dots:
            continue
        xs, ys, names = dots[model]
        fig.add_trace(go.Scatter(x=xs, y=ys, customdata=names, mode="markers",
                                 name=_label(model) if each else f"{len(models):,} checkpoints", showlegend=True,
                                 marker=dict(size=8, opacity=0.75 if each else 0.3),
                                 hovertemplate="%{y}: %{x:+.3f}<extra>%{customdata}</extra>"))
    fig.add_trace(go.Scatter(x=[means[o] for o in order], y=[plotly_text(o) for o in order], mode="markers",
                             name="mean across checkpoints", marker=dict(symbol="line-ns-open", size=16, color="black",
                                                                         line=dict(width=2)),
                             hovertemplate="%{y}: mean %{x:+.3f}<extra></extra>"))
    fig.add_vline(x=0, line_color=GREY)
    fig.update_layout(height=max(320, 20 * len(order) + 170), margin=dict(l=10, r=20, t=20, b=100),
                      plot_bgcolor="white", yaxis=dict(automargin=True, categoryorder="array",
                                                       categoryarray=[plotly_text(o) for o in order]),
                      xaxis=dict(title="log-ratio: > 0 leans female, < 0 male; one dot per checkpoint"),
                      )
    return legend_in_margin(fig, rows=3)

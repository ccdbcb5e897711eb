"""The views of "What if we remove it?": the gender direction per layer, the intact model beside the debiased one
(probe, SEAT, CrowS), the language model's cost, and the published figures beside ours.

Every comparison runs as jobs (`services.jobs`): a registered metric on the intact model and on the model seen
through the fit (`LoadedModel.with_transform`, another key), or the page's own steps (`services.debias`).
Charts put one unit on an axis, name every dot on the axis (no hover needed) and follow the app's convention:
female-leaning orange on the right, male-leaning blue on the left.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from bertlens import bias, registry
from bertlens.bias.crows import EXAMPLE_PATH, parse_crows
from bertlens.debias.direction import LayerDirection
from bertlens.debias.evaluate import LmCost
from bertlens.debias.store import Fit
from bertlens.model import LoadedModel
from bertlens.numbers import significant
from components import lesson_glossary
from components.bias_charts import FEMALE, GREY, MALE
from components.job_panel import Request, job_area
from components.presentation import Metric, chart, is_on, legend_in_margin, metrics
from components.safe import md_escape, plotly_text
from services import debias as service

INTACT = "#495057"
DEBIASED = "#7048e8"
PRESENT_TOP = 10
NORMAL_TOP = 20
COLLAPSED = 1e-3
"""A gap below this share of the intact gap is shown as collapsed to 0 (LEACE's is 0 up to rounding)."""

PUBLISHED = [
    {"model": "bert-base-uncased", "method": "intact", "SEAT mean |effect|": 0.620, "StereoSet SS": 60.28,
     "StereoSet LMS": 84.17},
    {"model": "bert-base-uncased", "method": "SentenceDebias", "SEAT mean |effect|": 0.434, "StereoSet SS": 59.37,
     "StereoSet LMS": 84.20},
    {"model": "bert-base-uncased", "method": "INLP", "SEAT mean |effect|": 0.204, "StereoSet SS": 57.25,
     "StereoSet LMS": 80.63},
]
PUBLISHED_SOURCE = ("Meade, Poole-Dayan and Reddy (2022), An Empirical Survey of the Effectiveness of Debiasing "
                    "Techniques for Pre-trained Language Models, ACL 2022 (bias-bench), gender bias of "
                    "bert-base-uncased: SEAT as the mean |effect size| over its gender tests, StereoSet's "
                    "stereotype score SS (50 = unbiased) and language-modelling score LMS (100 = best).")
NONE_PUBLISHED = ("None of these figures is published for bert-large-cased, the model BERT Lens looks into: the "
                  "rows above are another, smaller and uncased model, so they show the size of the changes to "
                  "expect, not numbers ours should equal.")


def debiased_model(lm: LoadedModel, fit: Fit) -> LoadedModel:
    return lm.with_transform(fit)


# ---- charts --------------------------------------------------------------------------------------------------

def layer_axis(count: int) -> dict:
    """Layers 1..count, every one labelled up to 12, every other one above (24 labels do not fit 564 px)."""
    return dict(title="layer", range=[0.5, count + 0.5], tick0=0 if count > 12 else 1, dtick=1 if count <= 12 else 2,
                gridcolor="#f1f3f5")


def share_chart(directions: Sequence[LayerDirection]) -> go.Figure:
    """Per layer, the share of the pair differences' variance along the first principal direction (%)."""
    layers = [d.layer for d in directions]
    shares = [100 * d.share for d in directions]
    fig = go.Figure(go.Scatter(x=layers, y=shares, mode="lines+markers", line=dict(color=INTACT),
                               marker=dict(size=8), showlegend=False,
                               hovertemplate="layer %{x}: %{y:.1f}%<extra></extra>"))
    fig.update_layout(height=300, margin=dict(l=10, r=20, t=40, b=50), plot_bgcolor="white",
                      title="How much of the male/female difference lies on one direction",
                      xaxis=layer_axis(len(layers)),
                      yaxis=dict(title="share of variance (%)", range=[0, max(shares + [1.0]) * 1.15],
                                 gridcolor="#f1f3f5"))
    return fig


def gap_chart(intact: Sequence[LayerDirection], after: Sequence[LayerDirection] | None, name: str | None
              ) -> go.Figure:
    """Per layer, the male sentences' mean position on the direction minus the female ones', intact and debiased."""
    fig = go.Figure(go.Scatter(x=[d.layer for d in intact], y=[d.gap for d in intact], mode="lines+markers",
                               name="intact model", line=dict(color=INTACT), marker=dict(size=8),
                               hovertemplate="layer %{x}: %{y:.3f}<extra></extra>"))
    if after is not None:
        fig.add_trace(go.Scatter(x=[d.layer for d in after], y=[d.gap for d in after], mode="lines+markers",
                                 name=plotly_text(name or "debiased"), line=dict(color=DEBIASED, dash="dash"),
                                 marker=dict(size=9, symbol="diamond"),
                                 hovertemplate="layer %{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(height=340, margin=dict(l=10, r=20, t=10, b=50), plot_bgcolor="white",
                      xaxis=layer_axis(len(intact)),
                      yaxis=dict(title="male − female gap on the direction", rangemode="tozero",
                                 zeroline=True, zerolinecolor=GREY, gridcolor="#f1f3f5"))
    return legend_in_margin(fig, "top", room=10)


def leaning(values: dict[str, float], top: int) -> list[str]:
    """The `top` names that lean most, half each way, ordered from the most male to the most female."""
    ordered = sorted(values, key=lambda name: values[name])
    if len(ordered) <= top:
        return ordered
    half = top // 2
    return ordered[:top - half] + ordered[-half:]


def occupation_chart(intact: LayerDirection, after: LayerDirection | None, name: str | None,
                     top: int | None = None) -> go.Figure:
    """A labelled dot plot: occupations on the direction at one layer (right leans female), intact as open dots and
    debiased as filled ones, joined by a line. The occupations that lean most in the intact model, half each way."""
    top = top or (PRESENT_TOP if is_on() else NORMAL_TOP)
    before = {o: -p for o, p in intact.occupations}
    moved = {o: -p for o, p in after.occupations} if after is not None else {}
    rows = leaning(before, top)
    labels = [plotly_text(o) for o in rows]
    fig = go.Figure()
    if after is not None:
        xs, ys = [], []
        for o, label in zip(rows, labels):
            xs += [before[o], moved[o], None]
            ys += [label, label, None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#ced4da", width=2), showlegend=False,
                                 hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[before[o] for o in rows], y=labels, mode="markers", name="intact model",
                             marker=dict(size=10, symbol="circle-open", line=dict(width=2),
                                         color=[FEMALE if before[o] > 0 else MALE for o in rows]),
                             hovertemplate="%{y}: %{x:.3f}<extra>intact</extra>"))
    if after is not None:
        fig.add_trace(go.Scatter(x=[moved[o] for o in rows], y=labels, mode="markers",
                                 name=plotly_text(name or "debiased"),
                                 marker=dict(size=10, symbol="circle", color=DEBIASED),
                                 hovertemplate="%{y}: %{x:.3f}<extra>debiased</extra>"))
    shown = f"the {len(rows)} of {len(before)} occupations leaning most" if len(rows) < len(before) else \
        f"{len(rows)} occupations"
    fig.update_layout(height=max(320, 20 * len(rows) + 160), margin=dict(l=10, r=20, t=10, b=50),
                      plot_bgcolor="white",
                      xaxis=dict(title=f"position on the direction at layer {intact.layer} (← male, female →)",
                                 zeroline=True, zerolinecolor=GREY, gridcolor="#f1f3f5"),
                      yaxis=dict(title=shown, automargin=True))
    return legend_in_margin(fig, "top", room=10)


def probe_chart(intact: Any, after: Any, name: str, top: int | None = None) -> go.Figure:
    """Each occupation's mean log-ratio (the probe's score, nats; right leans female), intact and debiased."""
    top = top or (PRESENT_TOP if is_on() else NORMAL_TOP)
    before = {o.occupation: o.log_ratio for o in intact.occupations}
    moved = {o.occupation: o.log_ratio for o in after.occupations}
    rows = [o for o in leaning(before, top) if o in moved]
    labels = [plotly_text(o) for o in rows]
    xs, ys = [], []
    for o, label in zip(rows, labels):
        xs += [before[o], moved[o], None]
        ys += [label, label, None]
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#ced4da", width=2), showlegend=False,
                               hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[before[o] for o in rows], y=labels, mode="markers", name="intact model",
                             marker=dict(size=10, symbol="circle-open", line=dict(width=2),
                                         color=[FEMALE if before[o] > 0 else MALE for o in rows]),
                             hovertemplate="%{y}: %{x:.3f}<extra>intact</extra>"))
    fig.add_trace(go.Scatter(x=[moved[o] for o in rows], y=labels, mode="markers", name=plotly_text(name),
                             marker=dict(size=10, color=DEBIASED),
                             hovertemplate="%{y}: %{x:.3f}<extra>debiased</extra>"))
    fig.update_layout(height=max(320, 20 * len(rows) + 160), margin=dict(l=10, r=20, t=10, b=50),
                      plot_bgcolor="white",
                      xaxis=dict(title="log P(female) − log P(male), nats (← male, female →)", zeroline=True,
                                 zerolinecolor=GREY, gridcolor="#f1f3f5"),
                      yaxis=dict(title=f"the {len(rows)} occupations leaning most (intact)", automargin=True))
    return legend_in_margin(fig, "top", room=10)


def seat_chart(before: Any, after: Any, name: str) -> go.Figure:
    """Each SEAT test's effect size, intact and debiased (0 = no association)."""
    tests = [plotly_text(r.test) for r in before]
    fig = go.Figure([
        go.Bar(y=tests, x=[r.effect_size for r in before], orientation="h", name="intact model",
               marker_color=INTACT, text=[f"{r.effect_size:+.2f}" for r in before], textposition="outside"),
        go.Bar(y=tests, x=[r.effect_size for r in after], orientation="h", name=plotly_text(name),
               marker_color=DEBIASED, text=[f"{r.effect_size:+.2f}" for r in after], textposition="outside"),
    ])
    values = [r.effect_size for r in (*before, *after)]
    reach = max([abs(v) for v in values] + [0.5]) * 1.35
    fig.update_layout(barmode="group", height=max(320, 46 * len(tests) + 150), margin=dict(l=10, r=20, t=10, b=50),
                      plot_bgcolor="white",
                      xaxis=dict(title="effect size (0 = no association)", range=[-reach, reach], zeroline=True,
                                 zerolinecolor=GREY, gridcolor="#f1f3f5"),
                      yaxis=dict(title="SEAT test", automargin=True, autorange="reversed"))
    return legend_in_margin(fig, "top", room=10)


# ---- sections ---------------------------------------------------------------------------------------------------

def transform_note(fit: Fit | None) -> str | None:
    """Why the encodings' comparisons do not apply to `fit` (Self-Debias), else None."""
    if fit is not None and fit.interventions() is None:
        return (f"{fit.name} rescales the masked LM's probabilities at each [MASK] and leaves the hidden states "
                "alone: the gender direction and SEAT read hidden states, so they are the intact model's. Its cost "
                "is on the Language-model cost tab.")
    return None


def collapse_sentence(intact: Sequence[LayerDirection], after: Sequence[LayerDirection], fit: Fit) -> str:
    """The plain-words reading of the gap at each layer the transform works at, with the measured numbers."""
    what = fit.name.removeprefix("Debiased: ")
    pairs = [(intact[layer - 1], after[layer - 1]) for layer in fit.layers]
    where = f"layer {fit.layers[0]}" if len(fit.layers) == 1 else "layers " + ", ".join(map(str, fit.layers))
    moves = "; ".join(f"{b.gap:.3f} to {abs(a.gap) if abs(a.gap) < 5e-4 else a.gap:.3f}"
                      + (f" at layer {b.layer}" if len(pairs) > 1 else "") for b, a in pairs)
    if all(abs(a.gap) <= COLLAPSED * max(abs(b.gap), 1e-12) for b, a in pairs):
        head = (f"After {what}, the gender direction collapses at {where}: the male and female sentences now sit at "
                f"the same average place on it (the gap went from {moves}), so a straight line can no longer tell "
                "them apart there.")
    else:
        removed = [100 * (1 - abs(a.gap) / abs(b.gap)) if b.gap else 0.0 for b, a in pairs]
        head = (f"After {what}, the gap between male and female sentences went from {moves} "
                f"({min(removed):.0f}% or more of it removed).")
    before, now = pairs[0]
    spread_before = float(np.std([p for _, p in before.occupations]))
    spread_after = float(np.std([p for _, p in now.occupations]))
    return head + (f" The occupations' spread along the direction at layer {before.layer} went from "
                   f"{spread_before:.3f} to {spread_after:.3f}.")


def direction_section(lm: LoadedModel, fit: Fit | None, layer_key: str) -> dict[str, Any] | None:
    """The gender direction per layer (share of variance), the male-female gap intact and debiased, and the
    occupations on it at one layer; returns what it showed, for the download."""
    note = transform_note(fit)
    through = fit is not None and note is None
    requests = [Request(service.DIRECTIONS, lm, "default", {}, "The gender direction (intact)")]
    if through:
        requests.append(Request(service.DIRECTIONS, debiased_model(lm, fit), "default", {},
                                f"The gender direction ({fit.name})"))
    done = job_area(requests, button="Find the gender direction", key="db_direction_run",
                    hint="Press Find the gender direction to encode the gendered pairs and the occupations at every "
                         "layer" + (", intact and debiased." if through else "."))
    if note:
        st.info(md_escape(note), icon=":material/info:")
    if not done:
        return None
    intact = done[0]
    after = done[1] if through else None
    name = fit.name if through else None
    if after is not None:
        with st.container(key="db-collapse"):
            st.success(md_escape(collapse_sentence(intact, after, fit)), icon=":material/compress:")
    chart(share_chart(intact), key="db-share", name="gender-direction-share")
    lesson_glossary.define("share of variance")
    if not is_on():
        st.caption("The direction at each layer is the first principal direction of the differences between each "
                   "sentence and its gender-swapped twin (\"He is a nurse.\" / \"She is a nurse.\"): the higher its "
                   "share, the more of what changes with gender lies along one line.")
    chart(gap_chart(intact, after, name), key="db-gap", name="gender-direction-gap")
    st.caption("The gap: the male sentences' average position on that layer's direction minus the female ones' "
               "(hidden states, mean over tokens). The direction is always the intact model's, so the two lines are "
               "measured on the same ruler.")
    layers = [d.layer for d in intact]
    chosen = st.select_slider("Layer of the occupations", layers, key=layer_key)
    chart(occupation_chart(intact[chosen - 1], after[chosen - 1] if after else None, name),
          key="db-occupations", name=f"gender-direction-occupations-layer{chosen}")
    st.caption("Each occupation in \"This is a/an <occupation>.\", placed on the direction (centred on the "
               "occupations' mean): right of 0 it sits closer to the female sentences, left closer to the male "
               "ones. Open dots: the intact model; filled: debiased. This is the model's encoding, not the world.")
    return {"layers": [{"layer": d.layer, "share_of_variance": d.share, "gap_intact": d.gap,
                        **({"gap_debiased": a.gap} if after else {}),
                        "occupations_intact": dict(d.occupations),
                        **({"occupations_debiased": dict(a.occupations)} if after else {})}
                       for d, a in zip(intact, after or intact)],
            "sign": "positive leans male (the direction points from the female to the male sentences)"}


def probe_section(lm: LoadedModel, fit: Fit | None) -> dict[str, Any] | None:
    """The occupation probe (the Gender-bias probe page's default settings), intact and debiased."""
    method = registry.get("metric", "probe")
    config = bias.default_config()
    options = method.spec.validate({"seed": config.seed, "bootstrap": config.bootstrap,
                                    "permutations": config.permutations})
    if fit is None:
        st.info("Fit a transform above to compare the probe intact and debiased.")
        return None
    debiased = debiased_model(lm, fit)
    problem = method.is_compatible(debiased)
    if problem:
        st.info(md_escape(problem), icon=":material/info:")
        return None
    done = job_area([Request(method, lm, config, options, "Occupation probe (intact)"),
                     Request(method, debiased, config, options, f"Occupation probe ({fit.name})")],
                    button="Run the probe on both", key="db_probe_run",
                    hint="Press Run the probe on both to score every occupation for both genders, intact and "
                         "debiased (the Gender-bias probe page's default templates and pairs).")
    if not done:
        return None
    before, after = done[0].detail, done[1].detail
    metrics([Metric("Notable occupations, intact", f"{before.notable_count:d}"),
             Metric("Notable occupations, debiased", f"{after.notable_count:d}"),
             Metric("Mean |log-ratio|, intact", f"{np.mean([abs(o.log_ratio) for o in before.occupations]):.3f}"),
             Metric("Mean |log-ratio|, debiased",
                    f"{np.mean([abs(o.log_ratio) for o in after.occupations]):.3f}")])
    chart(probe_chart(before, after, fit.name), key="db-probe", name="probe-intact-debiased")
    st.caption("Notable: significant after Holm's correction and at least 0.1 nats from 0, as on the Gender-bias "
               "probe page. Open dots: the intact model; filled: " + md_escape(fit.name) + ".")
    return {"notable_intact": before.notable_count, "notable_debiased": after.notable_count,
            "log_ratio": {o.occupation: {"intact": o.log_ratio, "debiased": a.log_ratio}
                          for o, a in zip(before.occupations, after.occupations)}}


def seat_crows_section(lm: LoadedModel, fit: Fit | None) -> dict[str, Any]:
    """SEAT's six gender tests and CrowS on the shipped example rows, intact and debiased; returns each metric's
    (intact, debiased) results by title (SEAT's also go beside the published figures)."""
    if fit is None:
        st.info("Fit a transform above to compare SEAT and CrowS intact and debiased.")
        return {}
    seat_method, crows_method = registry.get("metric", "seat"), registry.get("metric", "crows")
    debiased = debiased_model(lm, fit)
    pairs = tuple(parse_crows(EXAMPLE_PATH.read_bytes(), f"'{EXAMPLE_PATH.name}'"))
    requests, titles = [], []
    for method, inputs, title in ((seat_method, None, "SEAT"), (crows_method, pairs, "CrowS")):
        problem = method.is_compatible(debiased) or (transform_note(fit) if method is seat_method else None)
        if problem:
            st.info(md_escape(problem), icon=":material/info:")
            continue
        requests += [Request(method, lm, inputs, method.spec.validate(), f"{title} (intact)"),
                     Request(method, debiased, inputs, method.spec.validate(), f"{title} ({fit.name})")]
        titles.append(title)
    if not requests:
        return {}
    done = job_area(requests, button=md_escape("Run " + " and ".join(titles) + " on both"), key="db_seat_run",
                    hint="Press the button to run SEAT's six gender tests and CrowS on the project's example rows, "
                         "intact and debiased.")
    if not done:
        return {}
    results = dict(zip(titles, zip(done[0::2], done[1::2])))
    rows = []
    for title, (before, after) in results.items():
        unit = "mean |effect size|" if title == "SEAT" else "% of pairs, stereotype scores higher (50 = unbiased)"
        rows.append({"metric": title, "unit": unit, "intact": before.value, "debiased": after.value,
                     "difference": after.value - before.value})
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.3f")
                                for k in ("intact", "debiased", "difference")})
    if "SEAT" in results:
        before, after = results["SEAT"]
        chart(seat_chart(before.detail, after.detail, fit.name), key="db-seat", name="seat-intact-debiased")
        st.caption("SEAT (May et al. 2019) as bias-bench computes it: mean-pooled last-layer encodings, effect size "
                   "as Cohen's d over the test's sentences.")
    if "CrowS" in results:
        st.caption(f"CrowS here runs on the project's {len(pairs)} hand-written example rows, not the dataset: "
                   "enough to see the two models differ, far too few for a finding (upload the dataset on the "
                   "Gender-bias probe page).")
    return results


def cost_section(lm: LoadedModel, fit: Fit | None) -> LmCost | None:
    """What the transform costs the masked language model on the shipped held-out sample."""
    if fit is None:
        st.info("Fit a transform above to measure what it costs the language model.")
        return None
    done = job_area([Request(service.COST, debiased_model(lm, fit), "heldout", {}, f"Language-model cost "
                                                                                 f"({fit.name})")],
                    button="Measure the cost", key="db_cost_run",
                    hint="Press Measure the cost to mask every word of the held-out sentences in turn, intact and "
                         "debiased.")
    if not done:
        return None
    cost: LmCost = done[0]
    metrics([Metric("Pseudo-perplexity, intact", significant(cost.pppl_before)),
             Metric("Pseudo-perplexity, debiased", significant(cost.pppl_after)),
             Metric("Ratio (debiased / intact)", f"{cost.ratio:.3f}",
                    help=f"95% bootstrap interval over sentences: {cost.ratio_low:.3f} to {cost.ratio_high:.3f}"),
             Metric("Top-1 agreement", f"{100 * cost.agreement:.1f}%",
                    help=f"95% bootstrap interval: {100 * cost.agreement_low:.1f}% to "
                         f"{100 * cost.agreement_high:.1f}%")])
    lesson_glossary.define("pseudo-perplexity", "top-1 agreement")
    st.caption(f"On {cost.sentences:d} held-out sentences ({cost.tokens:d} masked words): pseudo-perplexity (Salazar "
               "et al. 2020) masks each word in turn, lower is better; a ratio above 1 is what the transform costs. "
               "Top-1 agreement: how often the debiased model's first guess at a mask is the intact one's. The "
               f"ratio's 95% interval is {cost.ratio_low:.3f} to {cost.ratio_high:.3f}; the agreement's "
               f"{100 * cost.agreement_low:.1f}% to {100 * cost.agreement_high:.1f}%.")
    return cost


def published_section(lm: LoadedModel, fit: Fit | None, seat_results: Any) -> None:
    """Meade et al. (2022)'s figures for bert-base-uncased beside this session's, with their source."""
    st.markdown("**Published** (Meade et al. 2022, bias-bench), gender bias:")
    st.dataframe(PUBLISHED, hide_index=True, width="stretch",
                 column_config={"SEAT mean |effect|": st.column_config.NumberColumn(format="%.3f"),
                                "StereoSet SS": st.column_config.NumberColumn(format="%.2f"),
                                "StereoSet LMS": st.column_config.NumberColumn(format="%.2f")})
    st.caption("Source: " + PUBLISHED_SOURCE)
    st.warning(NONE_PUBLISHED, icon=":material/menu_book:")
    if not seat_results or fit is None:
        st.info("Ours: run SEAT on the SEAT and CrowS tab to set this model's figures beside them.")
        return
    before, after = seat_results
    ours = [{"model": lm.info.model_id, "method": "intact", "SEAT mean |effect|": before.value},
            {"model": lm.info.model_id, "method": fit.name.removeprefix("Debiased: "),
             "SEAT mean |effect|": after.value}]
    st.markdown("**Ours, on " + md_escape(lm.info.model_id) + "** (SEAT on the same six gender tests; StereoSet "
                "runs on the Gender-bias probe page with your file):")
    st.dataframe(ours, hide_index=True, width="stretch",
                 column_config={"SEAT mean |effect|": st.column_config.NumberColumn(format="%.3f")})
    if lm.info.random_weights:
        st.warning("These are a random-weights model's figures: they mean nothing about bert-large-cased.",
                   icon=":material/casino:")


def fitted_note(fit: Fit) -> str:
    what = "nothing is fitted" if not fit.layers else f"fitted on {fit.sentences:d} sentences"
    return (f"{fit.name}: {what}. Turn on the switch in the sidebar to see Fill-mask, the probe, Explain and every "
            "other page through it.")


def comparison_json(lm: LoadedModel, fit: Fit, shown: dict[str, Any]) -> str:
    """Everything the page showed for `fit`, with the model, the fit (its name, method, layers, data hash) and
    what ran it (`bertlens.export.metadata`), so a saved comparison says it was computed through the transform."""
    import dataclasses
    import json

    from bertlens.export import metadata

    metrics_ = {title: {"intact": b.value, "debiased": a.value, "difference": a.value - b.value,
                        "unit": b.unit, "n": b.n,
                        **({"tests": {r.test: {"intact": r.effect_size, "debiased": q.effect_size,
                                               "p_intact": r.p_value, "p_debiased": q.p_value}
                                      for r, q in zip(b.detail, a.detail)}} if title == "SEAT" else {})}
                for title, (b, a) in (shown.get("metrics") or {}).items()}
    cost = shown.get("cost")
    document = {
        "meta": metadata(debiased_model(lm, fit), page="What if we remove it?"),
        "transform": fit.name,
        "gender_direction": shown.get("direction"),
        "probe": shown.get("probe"),
        "metrics": metrics_,
        "language_model_cost": dataclasses.asdict(cost) if cost is not None else None,
        "published": {"figures": PUBLISHED, "source": PUBLISHED_SOURCE, "note": NONE_PUBLISHED},
    }
    return json.dumps(document, indent=1, ensure_ascii=False, default=str)


def download(lm: LoadedModel, fit: Fit | None, shown: dict[str, Any]) -> None:
    """The comparison as JSON, once a fit exists; it names the transform and holds what has been computed."""
    if fit is None:
        return
    from functools import partial

    st.download_button("Download this comparison (JSON)", partial(comparison_json, lm, fit, shown),
                       "bertlens_debias_comparison.json", "application/json", key="db_download", on_click="ignore")
    st.caption(md_escape(fit.name) + ": the download names the transform and holds every comparison computed above "
               "(run a tab's jobs to add its figures).")


"""The StereoSet view of the bias page: the file, the run, the per-domain chart, the examples table with the three
sentences, their scores and the decision, the steps stated in words, and the published bert-large-cased figures
(only for bert-large-cased with real weights in float32; otherwise a sentence says why they are absent).

Every text from the file is shown as plain text: in dataframes, with `st.text`, or escaped (`components.safe`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bertlens import registry
from bertlens.bias import stereoset as ss
from bertlens.errors import BertLensError
from bertlens.model import ModelInfo
from bertlens.results import MetricResult
from components.presentation import chart, is_on
from components.safe import md_escape, plotly_text, show_error
from components.uploads import kept_upload
from components.job_panel import Request, job_area
from services.jobs import cached

UPLOAD_TYPES = ["json", "gz"]
SS_COLOUR = "#3b5bdb"
PUBLISHED_COLOUR = "#868e96"
SPLIT_NAMES = {"both": "both splits", "intrasentence": "intrasentence (MLM head)",
               "intersentence": "intersentence (NSP head)"}
TableSpec = tuple[pd.DataFrame, dict]


def intro() -> None:
    if not is_on():
        st.markdown(
            "StereoSet (Nadeem et al. 2021) gives each target term a context and three sentences: a stereotype, an "
            "anti-stereotype and an unrelated one. **Intrasentence** items fill a BLANK and are scored with the "
            "masked-language-model head; **intersentence** items follow the context and are scored with the "
            "**next-sentence head**. SS is the share of examples whose stereotype scores above its anti-stereotype "
            "(50 = unbiased); LMS the share where a meaningful sentence beats the unrelated one (100 = always); "
            "ICAT combines them. Scoring follows the authors' code step by step (below the results).")
    st.caption("The dataset is CC BY-SA 4.0 and is not shipped: download data/dev.json from the authors' "
               "repository (moinnadeem/StereoSet) and upload it here. Uploads are limited to 5 MB: a larger file "
               "can be uploaded gzip-compressed (dev.json.gz).")


def file_summary(data: ss.StereoSetData) -> None:
    st.caption(md_escape(f"{len(data.intrasentence):,} intrasentence and {len(data.intersentence):,} intersentence "
                         f"examples (version {data.version or 'not stated'}; SHA-256 {data.sha256[:16]}…)."))
    for note in data.warnings[:5]:
        st.warning(md_escape(note))
    if len(data.warnings) > 5:
        st.caption(f"…and {len(data.warnings) - 5} more notes of the same kind.")


def domain_chart(result: ss.StereoSetResult, info: ModelInfo | None = None) -> go.Figure:
    """SS per split and domain with its bootstrap 95% interval; a dashed line at 50 (unbiased). With the published
    figures allowed for this model, their SS appears as grey diamonds."""
    rows = [(split, domain, f) for split, groups in result.figures.items() for domain, f in groups.items()]
    if result.overall is not None and len(result.figures) == 2:
        rows.append(("both", "overall", result.overall))
    labels = [plotly_text(f"{SPLIT_NAMES.get(s, s).split(' (')[0]} · {d}") for s, d, _ in rows]
    ci = [f.ss_ci for _, _, f in rows]
    has_ci = [all(math.isfinite(v) for v in c) for c in ci]
    fig = go.Figure(go.Scatter(
        x=[f.ss for _, _, f in rows], y=labels, mode="markers", name="this model",
        marker=dict(size=11, color=SS_COLOUR),
        error_x=dict(type="data", symmetric=False, color=SS_COLOUR, thickness=1.5,
                     array=[c[1] - f.ss if ok else 0 for c, ok, (_, _, f) in zip(ci, has_ci, rows)],
                     arrayminus=[f.ss - c[0] if ok else 0 for c, ok, (_, _, f) in zip(ci, has_ci, rows)]),
        customdata=[[f.count, f.terms, f.lms, f.icat] for _, _, f in rows],
        hovertemplate="%{y}<br>SS %{x:.2f}<br>LMS %{customdata[2]:.2f}, ICAT %{customdata[3]:.2f}"
                      "<br>%{customdata[0]} examples, %{customdata[1]} terms<extra></extra>"))
    if info is not None and ss.published_absent(info, result) is None:
        published = [ss.PUBLISHED[s][d][1] if s != "both" else ss.PUBLISHED["overall"][1] for s, d, _ in rows]
        fig.add_trace(go.Scatter(x=published, y=labels, mode="markers", name="published (authors)",
                                 marker=dict(size=10, symbol="diamond-open", color=PUBLISHED_COLOUR, line_width=2)))
    fig.add_vline(x=50, line_dash="dash", line_color="#a61e4d", annotation_text="50 = unbiased",
                  annotation_position="top")
    fig.update_layout(height=max(260, 34 * len(rows) + 120), margin=dict(l=10, r=20, t=40, b=50),
                      plot_bgcolor="white", xaxis=dict(title="stereotype score SS (%) with 95% interval",
                                                       range=[-3, 103], gridcolor="#eceff4",
                                                       tickvals=[0, 20, 40, 50, 60, 80, 100]),
                      yaxis=dict(automargin=True, autorange="reversed"),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def figures_table(result: ss.StereoSetResult) -> TableSpec:
    """SS, LMS and ICAT per split and domain with their intervals; a group of fewer than 30 examples is marked a
    small sample, and an interval that cannot be computed (fewer than two target terms) reads "–", never None."""
    from bertlens.bias.statistics import small_sample

    rows = [(s, d, f) for s, groups in result.figures.items() for d, f in groups.items()]
    if result.overall is not None and len(result.figures) == 2:
        rows.append(("both", "overall", result.overall))
    frame = pd.DataFrame([{
        "split": s, "domain": d, "small sample (< 30)": small_sample(f.count), "SS": f.ss,
        "SS 95% low": f.ss_ci[0], "SS 95% high": f.ss_ci[1], "LMS": f.lms, "LMS 95% low": f.lms_ci[0],
        "LMS 95% high": f.lms_ci[1], "ICAT": f.icat, "ICAT 95% low": f.icat_ci[0], "ICAT 95% high": f.icat_ci[1],
        "examples": f.count, "terms": f.terms, "ties": f.ties,
    } for s, d, f in rows])
    figures = [c for c in frame.columns if c.startswith(("SS", "LMS", "ICAT"))]
    return frame.style.format({c: "{:.2f}" for c in figures}, na_rep="–"), {}


def examples_table(result: ss.StereoSetResult) -> TableSpec:
    """One row per example: the decision first, then the three sentences with their scores."""
    frame = pd.DataFrame([{
        "decision": r["decision"], "split": r["split"], "domain": r["domain"], "target": r["target"],
        "stereotype": r["stereotype"], "score (stereotype)": r["score_stereotype"],
        "anti-stereotype": r["anti_stereotype"], "score (anti)": r["score_anti_stereotype"],
        "unrelated": r["unrelated"], "score (unrelated)": r["score_unrelated"],
        "meaningful above unrelated": f"{r['related']} of 2", "context": r["context"], "id": r["id"],
    } for r in ss.example_records(result)])
    formats = {c: st.column_config.NumberColumn(format="%.4g") for c in frame.columns if c.startswith("score")}
    formats.update({c: st.column_config.TextColumn(width="medium")
                    for c in ("stereotype", "anti-stereotype", "unrelated", "context")})
    return frame, formats


def steps() -> None:
    """The scoring, step by step, as the authors' code does it."""
    for i, step in enumerate(ss.STEPS, 1):
        st.markdown(md_escape(f"{i}. {step}"))
    st.caption(f"Source: {ss.REFERENCE}. Counts are numbers of examples; the authors' printed per-domain counts are "
               "three times as many (their evaluator lists each example once per sentence), which changes no score.")


def published(info: ModelInfo, result: ss.StereoSetResult) -> None:
    """The authors' bert-large-cased figures beside ours, or the sentence saying why they are absent."""
    reason = ss.published_absent(info, result)
    if reason is not None:
        st.info(md_escape(reason), icon=":material/info:")
        return
    frame = pd.DataFrame(ss.published_rows(result))
    frame["difference"] = frame["ours"] - frame["published"]
    st.markdown(f"**Beside the published figures** ({md_escape(ss.PUBLISHED_SOURCE)}).")
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.2f")
                                for c in ("ours", "published", "difference")})


def show_result(info: ModelInfo, result: ss.StereoSetResult) -> None:
    """Headline, chart, tables, the published comparison and the steps."""
    if info.random_weights:
        st.error("This model has RANDOM weights: these figures mean nothing about bert-large-cased.",
                 icon=":material/warning:")
    if not result.complete:
        st.warning(f"Stopped after {len(result.examples):,} of {result.total:,} examples; the figures cover those "
                   "only.")
    overall = result.overall
    if overall is None:
        st.info("No example was scored.")
        return
    a, b, c, d = st.columns(4)
    a.metric("SS", f"{overall.ss:.2f}", help=md_escape(f"Stereotype score; 50 = unbiased. 95% interval "
                                                       f"{_ci(overall.ss_ci)}"))
    b.metric("LMS", f"{overall.lms:.2f}", help=md_escape(f"Language modelling score; 100 = a meaningful sentence always "
                                                         f"beats the unrelated one. 95% interval {_ci(overall.lms_ci)}"))
    c.metric("ICAT", f"{overall.icat:.2f}", help=md_escape(f"LMS x min(SS, 100 - SS) / 50; 100 = unbiased and a "
                                                           f"perfect language model. 95% interval "
                                                           f"{_ci(overall.icat_ci)}"))
    d.metric("Examples", f"{overall.count:,}", help=md_escape(f"{overall.terms} target terms; {overall.ties} ties (a "
                                                              "tie counts as not preferring the stereotype)"))
    st.caption(md_escape(f"{SPLIT_NAMES.get(result.split, result.split)}; intervals: {result.interval_label()}. "
                         f"{result.rows:,} masked rows and {result.pairs:,} NSP pairs in {result.seconds:.1f} s."))
    st.warning(md_escape(ss.CAVEAT), icon=":material/report:")
    chart(domain_chart(result, info), width="stretch")
    frame, formats = figures_table(result)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=formats)
    published(info, result)
    st.markdown("**Every example**: the decision, the three sentences and their scores (intrasentence: the mean "
                "probability of the word's pieces; intersentence: P(IsNext)).")
    frame, formats = examples_table(result)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=formats, height=360)
    with st.expander("How StereoSet is scored, step by step", expanded=False):
        steps()


def _ci(ci: tuple[float, float]) -> str:
    return f"{ci[0]:.2f} – {ci[1]:.2f}" if all(math.isfinite(v) for v in ci) else "not available (fewer than 2 terms)"


@dataclass(frozen=True)
class StereoSetRun:
    """What the page keeps of a finished run for its exports: the metric's result and the file it scored."""

    result: MetricResult
    name: str
    data: bytes


def _parse(lm, name: str, raw: bytes) -> ss.StereoSetData:
    """The parsed file, from the one result store (a dev-sized file takes a noticeable moment to read)."""
    return cached("stereoset-file", lm, {"name": name}, raw, lambda: ss.parse_stereoset(raw, f"'{name}'"))


def stereoset_inputs(lm, run: StereoSetRun) -> tuple[ss.StereoSetData, dict]:
    """The parsed file and the validated options of `run` (from the one store), for running the same request on
    another model: equal inputs give equal keys, so this model's run is read back, not run again."""
    method = registry.get("metric", "stereoset")
    return _parse(lm, run.name, run.data), method.spec.validate({"split": run.result.detail.split})


def stereoset_tab(lm) -> StereoSetRun | None:
    """The whole view: the file, the split, the run as a job (progress, queue place and Stop in the job panel),
    then the result. Returns the finished run (or a stopped run's partial result)."""
    intro()
    upload = kept_upload("StereoSet file (dev.json layout; .json or .json.gz)", "bias_stereoset_file", UPLOAD_TYPES)
    if upload is None:
        st.info("Upload a StereoSet file to score it.")
        return None
    raw = upload.getvalue()
    try:
        data = _parse(lm, upload.name, raw)
    except BertLensError as exc:
        show_error(exc)
        return None
    file_summary(data)
    split = st.radio("Items to score", list(SPLIT_NAMES), format_func=SPLIT_NAMES.get, horizontal=True,
                     key="bias_stereoset_split")
    if not data.examples(split):
        st.info(md_escape(f"This file has no {split} examples."))
        return None
    method = registry.get("metric", "stereoset")
    reason = method.is_compatible(lm)
    if reason:
        st.warning(md_escape(reason), icon=":material/extension_off:")
        return None
    request = Request(method, lm, data, method.spec.validate({"split": split}), "StereoSet")
    done = job_area([request], button="Score StereoSet", key="bias_stereoset_run",
                    hint="Press Score StereoSet to score every example of this split.")
    if not done:
        return None
    show_result(lm.info, done[0].detail)
    return StereoSetRun(done[0], upload.name, raw)

"""The bias page's audit views: CrowS PLL / AUL / AULA on the same pairs, a second model side by side, a saved audit
configuration, and a many-checkpoint audit report. The page calls one function per view; the work is in
`bertlens.bias` (aul, crows_metrics, compare, audit)."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from bertlens.bias import audit
from bertlens.bias.compare import compare_crows, compare_probe
from bertlens.bias.crows import CrowsPair
from bertlens.bias.crows_metrics import MetricsResult, combine, pair_metrics, title
from bertlens.bias.files import decode
from bertlens.bias.reports import metric_key, metrics_document, provenance, sha256, stamp_metrics_document
from bertlens.errors import BertLensError
from bertlens.model import LoadedModel
from bertlens.serialize import jsonable
from bertlens.settings import allowed_models, check_allowed
from components import audit_charts, method_options
from components.figure_export import context_name
from components.presentation import style
from components.safe import md_escape, show_error
from bertlens.registry import get
from components.job_panel import Request, job_area
from components.weights_panel import SECOND_MODEL_NOTE, get_second_model, random_weights_banner

METRICS_NOTE = (
    "**AUL** (All Unmasked Likelihood, Kaneko & Bollegala 2022) scores a sentence by the mean log-probability the model "
    "gives each of its own tokens with nothing masked: one forward pass per sentence instead of one per shared token. "
    "**AULA** weights each token by the attention it receives (averaged over layers, heads and positions). Both follow "
    "the authors' evaluate.py; a pair counts for the stereotype when sent_more scores strictly higher. **CrowS PLL** is "
    "the score above. Each figure is the % of all pairs decided for the more stereotyping sentence, with a Wilson 95% "
    "interval; 50 is unbiased.")
MAX_CHECKPOINT_NAME = 500


def _metrics_chosen() -> tuple[str, ...]:
    known = pair_metrics()
    return tuple(m for m in known if m in st.session_state.get("bias_metrics", list(known))) or known


def metric_requests(lm: LoadedModel, pairs: list[CrowsPair], metrics: tuple[str, ...]) -> list[Request]:
    """One job per metric on `pairs`, each with its options from the page's widgets: a metric already run on these
    pairs (CrowS PLL from its own tab) is read from the store, not run again."""
    methods = [get("metric", m) for m in pair_metrics()]
    return [Request(get("metric", m), lm, tuple(pairs), method_options.config(OPTIONS, methods, get("metric", m)),
                    f"{get('metric', m).title} ({lm.info.model_id})") for m in metrics]


OPTIONS = "bias_pm"
"""The widget prefix of the pair metrics' options (`components.method_options`)."""


def option_fields() -> list:
    """The pair metrics' options as link fields of the bias page."""
    return method_options.fields(OPTIONS, [get("metric", m) for m in pair_metrics()])


def metrics_section(lm: LoadedModel, pairs: list[CrowsPair], source: str) -> MetricsResult | None:
    """Every registered pair metric side by side on `pairs`; returns the result for these pairs once scored."""
    st.subheader("Pair metrics on the same pairs: " + ", ".join(md_escape(title(m)) for m in pair_metrics()))
    st.markdown(METRICS_NOTE)
    known = pair_metrics()
    if any(m not in known for m in st.session_state.get("bias_metrics", [])):
        st.session_state["bias_metrics"] = [m for m in st.session_state["bias_metrics"] if m in known]
    chosen = st.multiselect("Metrics", list(known), format_func=title, key="bias_metrics")
    if not chosen:
        st.info("Choose at least one metric.")
        return None
    methods = [get("metric", m) for m in pair_metrics()]
    for method in (m for m in methods if m.name in chosen and m.spec.params):
        st.caption(md_escape(f"{method.title} options"))
        method_options.draw(OPTIONS, methods, method)
    results = job_area(metric_requests(lm, pairs, tuple(chosen)), button="Compare metrics", key="bias_metrics_run",
                       hint="Press Compare metrics to score these pairs with each chosen metric.")
    if results is None:
        return None
    result = combine({r.metric: r for r in results}, pairs)
    st.caption(f"Scored: {md_escape(source)}")
    show_metrics(result)
    return result


def show_metrics(result: MetricsResult) -> None:
    frame = pd.DataFrame([{"metric": s.label, "%": s.percent, "95% low": s.ci_low, "95% high": s.ci_high,
                           "higher / pairs": f"{s.more_higher} / {s.pairs}", "ties": s.ties}
                          for s in result.summaries])
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.1f") for k in ("%", "95% low", "95% high")})
    st.plotly_chart(style(audit_charts.metric_intervals(result)), width="stretch")
    st.plotly_chart(style(audit_charts.difference_histograms(result)), width="stretch")
    st.caption("Per-pair score(sent_more) − score(sent_less) under each metric; right of 0 the metric decides for "
               "the more stereotyping sentence. PLL sums log-probabilities over shared tokens, AUL and AULA average "
               "them, so the scales differ.")
    if len(result.metrics) < 2:
        return
    disagree = result.disagreements
    st.markdown(f"**Metrics disagree** on {len(disagree)} of {len(result.pairs)} pairs.")
    if disagree:
        st.dataframe(pd.DataFrame([{
            "line": p.line, **{f"{title(m)}: more higher": p.decisions[m] for m in result.metrics},
            **{f"{title(m)}: more − less": p.differences[m] for m in result.metrics},
            "bias type": p.bias_type, "sent_more": p.sent_more, "sent_less": p.sent_less} for p in disagree]),
            hide_index=True, width="stretch",
            column_config={"line": st.column_config.NumberColumn(format="%d", width="small")})


def metrics_document_json(lm: LoadedModel, result: MetricsResult, source: str, data: bytes | None,
                          inputs: dict[str, Any] | None = None) -> str:
    """The pair metrics' report, stamped as the command line stamps it (configuration and input hashes, what ran
    it, each metric's key) when the page's inputs are valid."""
    document = metrics_document(lm, result, source, sha256(data) if data else None)
    if inputs is not None:
        try:
            config = page_config(lm, inputs)
            stamp_metrics_document(document, config, lm, audit.stamp(config, result.metrics[0]))
        except BertLensError:
            pass
    return json.dumps(jsonable(document), indent=2, ensure_ascii=False)


def metrics_download(lm: LoadedModel, result: MetricsResult, source: str, data: bytes | None,
                     inputs: dict[str, Any] | None = None) -> None:
    st.download_button("CrowS metrics report (JSON)", metrics_document_json(lm, result, source, data, inputs),
                       f"{context_name('crows-metrics')}.json", "application/json", key="bias_dl_metrics_json",
                       on_click="ignore")


# ---------------------------------------------------------------- two models

def two_models_tab(lm: LoadedModel, probe_config: Any, pairs: list[CrowsPair] | None, stereoset: Any = None) -> None:
    """`stereoset`: the StereoSet tab's finished run of this model (`components.stereoset_view.StereoSetRun`), whose
    file and split the second model is scored on; None: not run there."""
    st.markdown("Compare this model with a second checkpoint. Both are compared on words: each model scores every "
                "occupation and sentence with its own vocabulary. The second model is loaded only when you press the "
                "button. " + SECOND_MODEL_NOTE)
    name = second_model_box(lm)
    if name is None:
        return
    if len(name) > MAX_CHECKPOINT_NAME:
        st.error(f"A hub id or folder path is at most {MAX_CHECKPOINT_NAME} characters; this one has "
                 f"{len(name):,}. Type the model's id (e.g. bert-base-cased) or its folder.", icon=":material/warning:")
        return
    if st.button("Load second model", key="bias_second_load", disabled=not name.strip()):
        st.session_state["bias_second_name"] = name.strip()
    chosen = st.session_state.get("bias_second_name")
    if not chosen:
        st.info("Type a checkpoint and press **Load second model**.")
        return
    loaded = get_second_model(chosen, lm.info.dtype)
    if loaded is None:
        return
    second, added = loaded
    try:
        second.require("mlm")
    except BertLensError as exc:
        show_error(exc)
        return
    random_weights_banner(second)
    a, b = st.columns(2)
    a.caption("Model A (this page's model) and model B (the second)")
    a.text(f"A: {lm.info.model_id}\nB: {second.info.model_id}")
    b.metric("Memory it added", f"{added / 2**20:,.0f} MiB", help="Resident memory (RSS) after loading it and one "
                                                                  "tiny pass, minus before.")
    probe_col, crows_col = st.columns(2)
    done = crows_done = None
    with probe_col:
        if probe_config is None:
            st.info("Fix the probe's inputs (Occupation scores) to compare the probe.")
        else:
            probe = get("metric", "probe")
            options = probe.spec.validate({"seed": probe_config.seed, "bootstrap": probe_config.bootstrap,
                                           "permutations": probe_config.permutations})
            done = job_area([Request(probe, model, probe_config, options, f"Probe ({model.info.model_id})")
                             for model in (lm, second)], button="Compare occupation probe", key="bias_two_probe_run")
    with crows_col:
        if pairs:
            metrics = _metrics_chosen()
            crows_done = job_area(metric_requests(lm, pairs, metrics) + metric_requests(second, pairs, metrics),
                                  button="Compare CrowS-Pairs metrics", key="bias_two_crows_run")
    stereoset_done = stereoset_requests = None
    if stereoset is None:
        st.info("Score a StereoSet file on the StereoSet tab to compare the two models on its examples here.")
    else:
        from components.stereoset_view import stereoset_inputs

        data, config = stereoset_inputs(lm, stereoset)
        method = get("metric", "stereoset")
        if method.is_compatible(second):
            st.info(md_escape(method.is_compatible(second)))
        else:
            stereoset_requests = [Request(method, model, data, config, f"StereoSet ({model.info.model_id})")
                                  for model in (lm, second)]
            stereoset_done = job_area(stereoset_requests, button="Compare StereoSet", key="bias_two_stereoset_run")
    if done is not None:
        first, other = (r.detail for r in done)
        show_probe_comparison(compare_probe(lm, first, second, other))
    if crows_done is not None:
        n = len(crows_done) // 2
        ra = combine({r.metric: r for r in crows_done[:n]}, pairs)
        rb = combine({r.metric: r for r in crows_done[n:]}, pairs)
        show_crows_comparison(compare_crows(lm, ra, second, rb))
    if stereoset_done is not None:
        from bertlens.bias.compare import compare_stereoset

        a_run, b_run = (r.detail for r in stereoset_done)
        show_stereoset_comparison(compare_stereoset(lm, a_run, second, b_run))


def second_model_box(lm: LoadedModel) -> str | None:
    """The second checkpoint's name: a choice among the models the operator allows (BERT_LENS_ALLOWED_MODELS), or a
    free hub id or folder when the operator allows any. None when no other model is allowed."""
    allowed = allowed_models()
    if allowed is None:
        return st.text_input("Second checkpoint: hub id or folder", key="bias_second_model",
                             placeholder="bert-base-cased")
    options = [m for m in allowed if m not in (lm.info.model_id, lm.key)]
    if not options:
        st.info("This server offers no second model. Its operator can list some in BERT_LENS_ALLOWED_MODELS.",
                icon=":material/lock:")
        return None
    if st.session_state.get("bias_second_model") not in options:
        st.session_state.pop("bias_second_model", None)
    return st.selectbox("Second checkpoint", options, key="bias_second_model") or ""


def show_probe_comparison(comparison) -> None:
    st.subheader("Occupation probe: B − A")
    a, b = st.columns(2)
    a.metric("Headline, model A", comparison.notable_a)
    b.metric("Headline, model B", comparison.notable_b)
    for note in comparison.notes:
        st.info(md_escape(note))
    if comparison.paired is not None:
        st.caption(md_escape(f"Occupations in the headline, {comparison.paired.summary}. "
                             f"{comparison.paired.test}."))
    st.plotly_chart(style(audit_charts.probe_difference(comparison)), width="stretch")
    st.dataframe(pd.DataFrame([{"occupation": r.occupation, "A": r.log_ratio_a, "B": r.log_ratio_b,
                                "B − A": r.difference, "pieces A": " ".join(r.pieces_a),
                                "pieces B": " ".join(r.pieces_b), "not compared because": r.reason}
                               for r in comparison.rows]), hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.3f") for k in ("A", "B", "B − A")})


def show_crows_comparison(comparison) -> None:
    st.subheader("CrowS-Pairs metrics: A and B")
    for note in comparison.notes:
        st.info(md_escape(note))
    st.plotly_chart(style(audit_charts.crows_two_models(comparison)), width="stretch")
    st.dataframe(pd.DataFrame([{"metric": m.label, "A %": m.percent_a, "B %": m.percent_b, "B − A": m.difference,
                                "B − A 95% low": m.paired.ci_low if m.paired else None,
                                "B − A 95% high": m.paired.ci_high if m.paired else None,
                                "McNemar exact p": m.paired.p_value if m.paired else None,
                                "pairs decided differently": f"{m.decided_differently} / {m.pairs}"}
                               for m in comparison.metrics]), hide_index=True, width="stretch",
                 column_config={**{k: st.column_config.NumberColumn(format="%.1f")
                                   for k in ("A %", "B %", "B − A", "B − A 95% low", "B − A 95% high")},
                                "McNemar exact p": st.column_config.NumberColumn(format="%.4g")})
    if comparison.metrics and comparison.metrics[0].paired is not None:
        st.caption(md_escape(comparison.metrics[0].paired.test + "."))


def show_stereoset_comparison(comparison) -> None:
    st.subheader("StereoSet: A and B on the same examples")
    for note in comparison.notes:
        st.info(md_escape(note))
    a, b = st.columns(2)
    a.metric("SS, model A", f"{comparison.ss_a:.2f}")
    b.metric("SS, model B", f"{comparison.ss_b:.2f}")
    paired = comparison.paired
    st.dataframe(pd.DataFrame([{"examples": comparison.examples,
                                "A only / B only": f"{paired.a_only} / {paired.b_only}",
                                "B − A (points)": paired.difference, "95% low": paired.ci_low,
                                "95% high": paired.ci_high, "McNemar exact p": paired.p_value}]),
                 hide_index=True, width="stretch",
                 column_config={**{k: st.column_config.NumberColumn(format="%.1f")
                                   for k in ("B − A (points)", "95% low", "95% high")},
                                "McNemar exact p": st.column_config.NumberColumn(format="%.4g")})
    st.caption(md_escape(f"Examples both models scored, and those whose stereotype sentence scores above the "
                         f"anti-stereotype one under one model only (a tie counts as not above): {paired.summary}. "
                         f"{paired.test}. SS averages over target terms, so B − A here is in points of examples, not "
                         "of SS."))


# ---------------------------------------------------------------- saved audits

def page_config(lm: LoadedModel, inputs: dict[str, Any]) -> audit.AuditConfig:
    """The page's whole audit: `inputs` holds templates, pairs, chosen_pairs, occupations (None: shipped), crows_file
    ((name, bytes) of the upload; None: the shipped example), min_effect, and stereoset ((name, bytes, options) of
    the StereoSet file the page scored; absent or None: not run), so the configuration holds everything the page ran.
    Raises InputError for a bad input."""
    from bertlens.bias.stereoset import unpack

    second = st.session_state.get("bias_second_name")
    if second:
        check_allowed([second])
    upload = inputs["crows_file"]
    stereoset = inputs.get("stereoset")
    files = {"crows_pairs": upload} if upload is not None else {}
    texts = {"crows_pairs": decode(upload[1], f"'{upload[0]}'")} if upload is not None else {}
    metrics, options = ("probe",) + _metrics_chosen(), {}
    if stereoset is not None:
        name, raw, chosen = stereoset
        files["stereoset"] = (name, raw)
        texts["stereoset"] = decode(unpack(raw, f"'{name}'"), f"'{name}'")
        metrics += ("stereoset",)
        options["stereoset"] = dict(chosen)
    config = audit.AuditConfig(
        models=audit.check_models([lm.info.model_id] + ([second] if second else [])),
        metrics=metrics, options=options,
        texts={**{key: text for key, text in (("templates", inputs["templates"]), ("pairs", inputs["pairs"]),
                                              ("occupations", inputs["occupations"])) if text is not None}, **texts},
        chosen_pairs=inputs["chosen_pairs"],
        min_effect=inputs["min_effect"], precision=lm.info.dtype, device=lm.device.type,
        sources={key: name for key, (name, _) in files.items()},
        digests={key: sha256(raw) for key, (_, raw) in files.items()})
    audit.check_inputs(config)
    return config


def export_stamp(lm: LoadedModel, inputs: dict[str, Any], part: str) -> dict[str, Any]:
    """SHA-256 of the inputs and configuration for an export of `part` ('probe' or 'crows'); {} when the inputs
    are not valid (the Export tab says why)."""
    try:
        config = page_config(lm, inputs)
        return {**audit.stamp(config, part), "key": metric_key(config, part, lm),
                "provenance": provenance(lm.device.type, lm.info.dtype)}
    except BertLensError:
        return {}


def audit_config_download(lm: LoadedModel, inputs: dict[str, Any]) -> None:
    """A download of the whole audit as JSON (see `page_config` for `inputs`)."""
    try:
        config = page_config(lm, inputs)
    except BertLensError as exc:
        show_error(exc)
        return
    st.download_button("Audit configuration (JSON)", audit.config_json(config), f"{context_name('audit')}.json",
                       "application/json", key="bias_dl_audit_config", on_click="ignore")
    st.caption("The whole audit: templates, word pairs, occupations, CrowS-Pairs file, metrics, models, seed, "
               "precision and the minimum effect size. Re-run it with `python -m bertlens audit bertlens_audit.json "
               "--out report.json` (add `--models A,B,C --ray` to spread many checkpoints over a Ray cluster).")
    st.text(f"configuration SHA-256: {config.sha256()}")


def checkpoints_tab() -> None:
    st.markdown("Load the report of an audit over many checkpoints (`python -m bertlens audit CONFIG.json --models "
                "… --out report.json`), e.g. the 25 MultiBERTs seeds. Each dot is one checkpoint: a score that moves "
                "across seeds of the same recipe is not a finding about the recipe.")
    upload = st.file_uploader("Audit report (JSON)", type=["json"], key="bias_audit_upload")
    if upload is None:
        st.info("Upload an audit report to see it here.")
        return
    try:
        report = audit.parse_report(upload.getvalue(), f"'{upload.name}'")
    except BertLensError as exc:
        show_error(exc)
        return
    show_report(upload.name, report)


def show_report(name: str, report: dict) -> None:
    a, b, c = st.columns(3)
    a.metric("Checkpoints completed", report.get("completed", 0))
    b.metric("Failed", report.get("failed", 0))
    c.metric("Configuration", str(report.get("configuration_sha256", ""))[:12],
             help="SHA-256 of the configuration")
    st.text(f"{name}: ran on {report['ran_on']}, {report['date']}")
    if report.get("random_weights"):
        st.warning("At least one checkpoint in this report has **random weights**: its scores mean nothing.",
                   icon=":material/casino:")
    failed = [r for r in report["checkpoints"] if r.get("status") != "ok"]
    if failed:
        st.dataframe(pd.DataFrame([{"checkpoint": r.get("model"), "reason": r.get("reason")} for r in failed]),
                     hide_index=True, width="stretch")
    if any(r.get("occupations") for r in report["checkpoints"] if r.get("status") == "ok"):
        st.plotly_chart(style(audit_charts.checkpoint_strip(report)), width="stretch")
    if report.get("spread"):
        st.markdown("**Spread across checkpoints**")
        st.dataframe(pd.DataFrame(report["spread"]), hide_index=True, width="stretch")
    ok = [r for r in report["checkpoints"] if r.get("status") == "ok"]
    if ok:
        st.dataframe(pd.DataFrame([{"checkpoint": r["model"], **r.get("scores", {})} for r in ok]), hide_index=True,
                     width="stretch")
    headlines = [{"checkpoint": r["model"], "metric": m["title"] or m["metric"], "value": m["value"],
                  "unit": m["unit"], "interval": m["interval"], "low": m["ci_low"], "high": m["ci_high"],
                  "n": m["n"], "ties": m["ties"], "complete": m["complete"], "caveat": m["caveat"]}
                 for r in ok for m in r.get("metrics") or []]
    if headlines:
        st.markdown("**Every metric's headline**")
        st.dataframe(pd.DataFrame(headlines), hide_index=True, width="stretch")
    agreement = [{"checkpoint": r["model"], "metrics": f"{p['a']} / {p['b']}", "items both scored": p["shared"],
                  "same decision": p["agree"], "share": p["share"], "Cohen's kappa": p["kappa"],
                  "items they disagree on": len(p["disagreements"])}
                 for r in ok for p in (r.get("agreement") or {}).get("agreement") or []]
    if agreement:
        st.markdown("**Metrics checked against each other**")
        st.dataframe(pd.DataFrame(agreement), hide_index=True, width="stretch")
    if report.get("inputs"):
        st.dataframe(pd.DataFrame(report["inputs"]), hide_index=True, width="stretch")

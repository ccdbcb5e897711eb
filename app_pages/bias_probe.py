import dataclasses
import math
from functools import partial

import streamlit as st

from bertlens import bias, kinds, registry
from bertlens.bias.crows import CAVEAT, EXAMPLE_PATH, MAX_UPLOAD_BYTES, parse_crows
from bertlens.bias.files import decode
from bertlens.bias.probe import DIRECTION
from bertlens.bias.reports import sha256
from bertlens.errors import BertLensError
from bertlens.metrics.probe import MIN_EFFECT_PARAM
from bertlens.export import crows_csv, crows_json, probe_csv, probe_json
from components import (agreement_view, audit_views, bias_charts, bias_pronouns, bias_robustness, bias_tables,
                        kind_panel, report_download, stereoset_view, views)
from services import cache
from components.figure_export import context_name, set_context
from components.job_panel import Request, job_area
from components.weights_panel import get_model
from bertlens.numbers import interval, percent, significant
from components.presentation import Metric, chart, is_on, metrics, output_share, side_by_side
from components.query_state import (Field, PageState, bounded_int, bounded_text, dump_bool, dump_list, parse_bool,
                                    parse_list)
from components.safe import md_escape, show_error
from components.uploads import kept_upload
from components import lesson_glossary, lesson_sentence

st.title("Gender-bias probe")
st.caption(":material/school: **What to notice:** the same sentence with *the man* and with *the woman* gets "
           "different occupations; check whether a finding survives another template wording, another metric and "
           "another checkpoint before calling it a bias of the model.")
if not is_on():
    st.markdown(
        "The model fills the blank in the same sentence twice, once about a woman and once about a man, and we "
        "compare the probabilities it gives each occupation. Bars and dots to the right (orange) mean the model finds "
        "the word more likely for the woman, to the left (blue) for the man; 0 means no difference."
    )
with st.expander("Go deeper: how the scores are computed"):
    st.markdown(
        "**Log-ratio.** For an occupation *o* and a template such as *{person} worked as a [MASK].*, the score is "
        "log P(*o* | *The woman worked as a [MASK].*) − log P(*o* | *The man worked as a [MASK].*). "
        "+0.69 means the model finds *o* twice as likely for the woman. The article follows the occupation "
        "(*an engineer*). An occupation the vocabulary splits into several WordPieces (*plumber* = *p ##lumber*) "
        "gets one mask per piece and its probability is chained left to right: P(p | [MASK] [MASK]) × "
        "P(##lumber | p [MASK]); the first piece is never used alone.\n\n"
        "**Uncertainty.** Each occupation's score is the mean over templates. The 95% interval is a percentile "
        "bootstrap over templates (templates resampled with replacement). The p-value is an exact sign-flip "
        "permutation test over templates (is the mean log-ratio different from 0?), and p-values are "
        "**Holm**-corrected across occupations, so *significant* controls the chance of any false alarm at 5%. "
        "The test measures how consistent the sign is across templates, not how large the effect is: a tiny but "
        "steady difference passes it. So the headline counts only occupations that pass the test **and** whose "
        "mean log-ratio is at least the *minimum effect size* away from 0 (default 0.1 nats, about 10% more likely "
        "for one side).\n\n"
        "**Kurita et al. (2019).** The other direction: how much more likely the model finds *she* than *he* in "
        "*[MASK] is a nurse.*, each against its prior in *[MASK] is a [MASK].* (the occupation masked too, one "
        "mask per piece): log(P(she)/P_prior(she)) − log(P(he)/P_prior(he)).\n\n"
        "**Real-world reference.** The share of women in each occupation among US workers (US Bureau of Labor "
        "Statistics, Current Population Survey; the year and the table it was taken from are given per "
        "occupation). If the model's scores rise faster than the labour statistics, it exaggerates them.\n\n"
        "**CrowS-Pairs** (Nangia et al. 2020), as the authors' `metric.py` computes it: each sentence of a pair is "
        "scored by masking, one at a time, the tokens both sentences share, and summing their log-probabilities "
        "(rounded to 3 decimals). The metric is the % of all pairs in which the more stereotyping sentence scores "
        "higher, a tie counting as not higher; 50 is unbiased. The stereotype and anti-stereotype scores leave "
        "ties out. Intervals are Wilson 95% intervals."
    )

lm = get_model(require="mlm")
for drawn_here in ("occupation_templates", "pronoun_templates", "paraphrases", "crows_pairs", "stereoset_file",
                   "masked_text"):
    views.place(drawn_here)
GENERAL_KINDS = [k.name for k in kinds.kinds() if registry.methods("metric", k.name) and not views.placed(k.name)]

DEFAULT_PAIRS_TEXT = bias.pairs_text()
DEFAULT_TEMPLATES_TEXT = bias.templates_text()
DEFAULT_PAIRS = bias.parse_pairs(DEFAULT_PAIRS_TEXT)
DEFAULT_SIDE_TEMPLATE = "{person} worked as a [MASK]."
STATE = PageState("bias_probe", [
    Field("bias_pairs", "pairs", DEFAULT_PAIRS_TEXT, label="the word pairs"),
    Field("bias_templates", "templates", DEFAULT_TEMPLATES_TEXT, label="the templates"),
    Field("bias_probe_pairs", "probe_pairs", [p.label for p in bias.probe_pairs(DEFAULT_PAIRS)],
          parse=parse_list(bounded_text(100)), dump=dump_list),
    Field("bias_side_template", "side_template", DEFAULT_SIDE_TEMPLATE, label="the side-by-side template"),
    Field("bias_side_pair", "side_pair", DEFAULT_PAIRS[0].label, parse=bounded_text(100)),
    Field("bias_side_k", "side_k", 10, parse=bounded_int(3, 30)),
    Field("bias_side_union", "side_union", False, parse=parse_bool, dump=dump_bool),
    Field("bias_min_effect", "min_effect", bias.MIN_EFFECT, parse=MIN_EFFECT_PARAM.parse),
    Field("bias_pronoun_templates", "pronoun_templates", bias_pronouns.DEFAULT_TEMPLATES_TEXT,
          label="the pronoun templates"),
    Field("bias_paraphrases", "paraphrases", bias_robustness.DEFAULT_PARAPHRASES_TEXT, label="the paraphrase sets"),
    *audit_views.option_fields(),
    Field("bias_metrics", "metrics", list(audit_views.pair_metrics()), parse=parse_list(bounded_text(100)),
          dump=dump_list, label="the pair metrics"),
    Field("bias_second_model", "second", "", parse=bounded_text(audit_views.MAX_CHECKPOINT_NAME),
          label="the second checkpoint"),
    *kind_panel.state_fields(GENERAL_KINDS, lambda name: registry.methods("metric", name)),
])
STATE.restore()

with st.sidebar:
    st.subheader("Gendered word pairs")
    pairs_text = st.text_area("male,female,role,probe — one pair per line", height=160, key="bias_pairs", help="role: person fills {person}, possessive fills {possessive}. "
                                                     "probe: yes to use the pair in the occupation probe.")
try:
    pairs = bias.parse_pairs(pairs_text)
except BertLensError as exc:
    show_error(exc)
    pairs = []
labels = [p.label for p in pairs]
if STATE.get("bias_side_pair") not in labels:
    STATE.set("bias_side_pair", labels[0] if labels else None)
STATE.set("bias_probe_pairs", [label for label in STATE.get("bias_probe_pairs") or [] if label in labels])

probe_main, pronoun_tab, benchmarks_tab, compare_tab, export_tab = st.tabs(
    ["Probe", "Pronouns", "Benchmarks", "Compare", "Export"])
with probe_main:
    side_tab, probe_tab, reference_tab, robustness_tab = st.tabs(
        ["Side by side", "Occupation scores", "Real-world reference", "Template robustness"])
with benchmarks_tab:
    crows_tab, metrics_tab, stereoset_tab, *general_tabs = st.tabs(
        ["CrowS-Pairs", "Pair metrics", "StereoSet"] + [md_escape(kinds.get(name).title) for name in GENERAL_KINDS])
with compare_tab:
    two_tab, many_tab = st.tabs(["Two models", "Many checkpoints"])

with side_tab:
    # Presentation mode: the inputs on the left and the chart on the right, the two lists under them.
    inputs, output = side_by_side()
    with inputs:
        lesson_sentence.template_offer("bias_side_template")
        left, middle, right = (st.container(),) * 3 if is_on() else st.columns([3, 2, 1])
        template = left.text_input("Template ({person} or {possessive} and one [MASK])", key="bias_side_template")
        chosen = middle.selectbox("Word pair", labels, key="bias_side_pair") if labels else None
        top_k = right.number_input("top-k", 3, 30, key="bias_side_k")
    set_context(lm.info.model_id, template)
    if chosen is None:
        st.info("Add at least one word pair in the sidebar.")
    else:
        pair = pairs[labels.index(chosen)]
        try:
            view = cache.side_by_side(lm, template, pair, int(top_k))
        except BertLensError as exc:
            show_error(exc)
        else:
            lists = st.container()
            with inputs if is_on() else st.container():
                either = st.checkbox("Also show candidates in only one side's top-k", key="bias_side_union")
            with output if is_on() else lists:
                cols = st.columns(2)
                for col, side, text, heading in ((cols[0], view.male, view.male_text, f"← {pair.male}"),
                                                 (cols[1], view.female, view.female_text, f"{pair.female} →")):
                    col.markdown(f"**{md_escape(heading)}**")
                    col.text(text)
            shown = view.candidates if either else view.shared
            with output if is_on() else st.container():
                if shown:
                    chart(bias_charts.diverging_candidates(shown, pair.female, pair.male), key="bias-side-chart",
                          name="bias-side-by-side")
                else:
                    st.info("The two top-k lists have no candidate in common; tick the box to see all candidates.")
            cols = (lists if not is_on() else st.container()).columns(2)
            for col, side in ((cols[0], view.male), (cols[1], view.female)):
                frame, formats = bias_tables.candidates(side)
                col.dataframe(frame, hide_index=True, width="stretch", column_config=formats)
            st.caption("The male sentence is on the left and the female one on the right, as in the chart (bars to "
                       "the right lean female). Punctuation and ##-pieces are hidden from the lists; probabilities "
                       "are over the whole vocabulary. With 'a [MASK]' the model rarely proposes words that need "
                       "'an'.")

set_context(lm.info.model_id)  # the probe, its reference and the benchmarks run the page's own templates and files
with probe_tab:
    # Presentation mode: the settings and the run button on the left, the result on the right.
    probe_inputs, probe_output = side_by_side()
    with probe_inputs.expander("Templates and occupations", expanded=False):
        templates_text = st.text_area("Templates, one per line", height=260, key="bias_templates")
        probe_labels = st.multiselect("Word pairs used by the probe", labels, key="bias_probe_pairs")
        upload = kept_upload("Your own occupation table (CSV: occupation, article, pct_women, year, source)",
                             "bias_occupations_file", ["csv"])
        st.caption(f"Default: the project's table of {len(bias.load_occupations())} occupations (US BLS, CPS; "
                   "source and year per row).")
    effect_col, run_col = (probe_inputs, probe_inputs) if is_on() else st.columns([2, 1])
    min_effect = effect_col.number_input(
        "Minimum effect size: |mean log-ratio| in nats", 0.0, 5.0, step=0.05, format="%.2f",
        key="bias_min_effect", help="The headline counts an occupation only if it passes Holm's test and its mean "
                                    "log-ratio is at least this far from 0. 0.1 nats ≈ 10% more likely for one side. "
                                    "Changing it re-reads the last run; it does not rerun the model.")
    STATE.publish()
    if upload is not None:
        probe_inputs.caption(":material/link: An uploaded occupation table cannot travel in a link; a shared link "
                             "uses the project's table.")
    config, occupations_text = None, None
    if pairs:
        try:
            occupations_text = decode(upload.getvalue(), f"'{upload.name}'") if upload is not None else None
            config = bias.build_config(templates_text, pairs_text, occupations_text, probe_labels,
                                       min_effect=float(min_effect))
        except BertLensError as exc:
            show_error(exc)
    probe_request = None
    if config is not None:
        probe_method = registry.get("metric", "probe")
        probe_request = Request(probe_method, lm, dataclasses.replace(config, min_effect=bias.MIN_EFFECT),
                                probe_method.spec.validate({"seed": config.seed, "bootstrap": config.bootstrap,
                                                            "permutations": config.permutations}), "Occupation probe")
    with run_col:
        done = job_area([probe_request], button="Run probe", key="bias_run", hint_area=probe_output,
                        hint="Press Run probe to score every occupation in every template for both genders.") \
            if probe_request else None
    probe_result = done[0].detail.with_min_effect(float(min_effect)) if done else None
    probe_metric = dataclasses.replace(done[0], value=float(probe_result.notable_count), detail=probe_result) \
        if done else None
    if probe_result is not None:
        for note in probe_result.warnings:
            probe_output.warning(md_escape(note))
        n_significant = sum(o.significant for o in probe_result.occupations)
        with probe_output:
            metrics([Metric("Occupations", str(len(probe_result.occupations))),
                     Metric("Templates", str(len(config.templates))),
                     Metric(f"Significant (Holm) and |log-ratio| ≥ {probe_result.min_effect:g}",
                            str(probe_result.notable_count),
                            help=f"{n_significant} of {len(probe_result.occupations)} pass Holm's test alone."),
                     Metric("Time", f"{significant(probe_result.seconds)} s",
                            help=f"{probe_result.rows} forward rows, batched")], fraction=output_share())
            lesson_glossary.define("Holm", "log-ratio")
            m = probe_result.min_effect
            st.caption(f"The headline counts occupations that pass both Holm's test (p < 0.05) and the minimum "
                       f"effect size (|mean log-ratio| ≥ {m:g} nats, ×{math.exp(m):.2f} in probability); "
                       f"{n_significant} pass the test alone.")
            chart(bias_charts.occupation_ratios(probe_result), key="bias-occupations", name="bias-occupations")
        st.caption("● significant after Holm correction and at least the minimum effect size, ○ not both; † "
                   "several WordPieces (chained). Grey lines: bootstrap 95% CI over templates; dotted lines: ± the "
                   f"minimum effect size. Orange leans female, blue male. {md_escape(DIRECTION)} "
                   f"Test: {md_escape(probe_result.permutation)}.")
        frame, formats = bias_tables.occupations(probe_result)
        st.dataframe(frame, hide_index=True, width="stretch", column_config=formats)

with reference_tab:
    if probe_result is None:
        st.info("Run the probe (Occupation scores tab) to compare it with the labour statistics.")
    else:
        score = st.radio("Model score", ["log_ratio", "kurita"], horizontal=True, key="bias_reference_score",
                         format_func={"log_ratio": "Log-ratio over templates", "kurita": "Kurita et al. 2019"}.get)
        chart(bias_charts.bls_scatter(probe_result, score), key="bias-reference", name=f"bias-reference-{score}")
        st.caption("Each dot is an occupation (hover for its name): a circle is one WordPiece, a diamond several "
                   "(chained); orange above 0 leans female, blue below leans male; the dashed line is the "
                   "least-squares fit.")
        corr = probe_result.correlations.get(score)
        if corr is None:
            st.info("Too few occupations with a labour statistic to correlate.")
        else:
            metrics([Metric("Pearson r", significant(corr.pearson_r), help=f"p = {significant(corr.pearson_p)}"),
                     Metric("Spearman ρ", significant(corr.spearman_rho), help=f"p = {significant(corr.spearman_p)}"),
                     Metric("Fitted slope per 10 points of % women", significant(corr.slope * 10, sign=True))])
        sources = [{"source of % women": src, "year": year} for src, year in
                   sorted({(o.source or "none", o.year or "not stated") for o in probe_result.occupations})]
        st.caption("Share of women: US Bureau of Labor Statistics, Current Population Survey. Sources and years:")
        st.dataframe(sources, hide_index=True, width="stretch")

with pronoun_tab:
    bias_pronouns.pronoun_tab(lm)

with robustness_tab:
    bias_robustness.robustness_tab(lm, config, float(min_effect))

with crows_tab:
    st.markdown("Upload a file in the CrowS-Pairs format (columns `sent_more`, `sent_less`, `stereo_antistereo`, "
                f"`bias_type`; at most {MAX_UPLOAD_BYTES // 1024 // 1024} MB), or use the project's hand-written "
                "example rows (not the dataset).")
    crows_file = kept_upload("CrowS-Pairs CSV", "bias_crows_file", ["csv"])
    crows_pairs = None
    source = crows_file.name if crows_file is not None else EXAMPLE_PATH.name
    crows_bytes = crows_file.getvalue() if crows_file is not None else EXAMPLE_PATH.read_bytes()
    try:
        crows_pairs = parse_crows(crows_bytes, f"'{source}'")
    except BertLensError as exc:
        show_error(exc)
    crows_result = crows_metric = None
    if crows_pairs is not None:
        st.caption(f"{len(crows_pairs)} pairs in this file (SHA-256 {sha256(crows_bytes)[:12]}):")
        st.text(source)
        crows_method = registry.get("metric", "crows")
        done = job_area([Request(crows_method, lm, tuple(crows_pairs), crows_method.spec.validate(), "CrowS PLL")],
                        button="Score pairs", key="bias_crows_run",
                        hint="Press Score pairs to score every pair of this file.")
        crows_result = done[0].detail if done else None
        crows_metric = done[0] if done else None
        if crows_result is not None:
            if not crows_result.complete:
                st.warning(f"Stopped after {len(crows_result.scores)} of {crows_result.total_pairs} pairs; the "
                           "figures below cover those only.")
            if crows_result.scores:
                overall = crows_result.overall
                metrics([Metric("Metric (all pairs)", percent(overall.metric),
                                help="% of pairs where the more stereotyping sentence scores higher; a tie counts "
                                     "as not higher; 50 = unbiased."),
                         Metric("Wilson 95% interval", interval(overall.ci_low, overall.ci_high, "%")),
                         Metric("Ties", f"{overall.ties} ({percent(overall.tie_share)})",
                                help="Pairs whose two sentences score the same to 3 decimals."),
                         Metric("Pairs", str(overall.pairs))])
                lesson_glossary.define("ties")
                st.warning(md_escape(CAVEAT), icon=":material/report:")
                for note in crows_result.warnings:
                    st.warning(md_escape(note))
                chart(bias_charts.crows_metrics(crows_result), key="bias-crows", name="crows-pairs")
                frame, formats = bias_tables.crows_groups(crows_result)
                st.dataframe(frame, hide_index=True, width="stretch", column_config=formats)
                st.caption("The metric and each bias type count a tie as not higher; the stereotype and "
                           "anti-stereotype scores leave ties out (as the authors' metric.py does). line: the line of "
                           "the file where the pair starts.")
                frame, formats = bias_tables.crows_pairs(crows_result)
                st.dataframe(frame, hide_index=True, width="stretch", column_config=formats)

with metrics_tab:
    metrics_result = None
    if crows_pairs is None:
        st.info("Choose a valid pairs file on the CrowS-Pairs tab.")
    else:
        metrics_result = audit_views.metrics_section(lm, crows_pairs, source)
        if metrics_result is not None:
            agreement_view.agreement_view(list(metrics_result.results.values()), items=False)

with stereoset_tab:
    stereoset_run = stereoset_view.stereoset_tab(lm)

general_results = []
for name, tab in zip(GENERAL_KINDS, general_tabs):
    with tab:
        general_results += kind_panel.panel(lm, kinds.get(name), registry.methods("metric", name))

with two_tab:
    audit_views.two_models_tab(lm, config, crows_pairs, stereoset_run)

with many_tab:
    audit_views.checkpoints_tab()

with export_tab:
    st.markdown("Every score with the model id, its weights' hash or revision, the templates, the word pairs and "
                "the date. Text cells that a spreadsheet would run as a formula are prefixed with an apostrophe. "
                "Each export holds the results for the inputs as they are now; a result for other inputs is never "
                "exported.")
    audit_inputs = dict(
        templates=templates_text, pairs=pairs_text, chosen_pairs=tuple(probe_labels), occupations=occupations_text,
        crows_file=(crows_file.name, crows_bytes) if crows_file is not None else None,
        min_effect=float(min_effect),
        stereoset=(stereoset_run.name, stereoset_run.data, {"split": stereoset_run.result.detail.split})
        if stereoset_run is not None else None)
    if probe_result is not None:
        stamp = audit_views.export_stamp(lm, audit_inputs, "probe")
        a, b = st.columns(2)
        a.download_button("Probe report (CSV)", partial(probe_csv, lm, probe_result, stamp),
                          f"{context_name('bias-probe')}.csv",
                          "text/csv", key="bias_dl_probe_csv", on_click="ignore")
        b.download_button("Probe report (JSON)", partial(probe_json, lm, probe_result, stamp),
                          f"{context_name('bias-probe')}.json",
                          "application/json", key="bias_dl_probe_json", on_click="ignore")
    else:
        st.info("Run the probe to export its scores.")
    if crows_result is not None:
        stamp = audit_views.export_stamp(lm, audit_inputs, "crows")
        a, b = st.columns(2)
        a.download_button("CrowS-Pairs report (CSV)", partial(crows_csv, lm, crows_result, source, stamp),
                          f"{context_name('crows-pairs')}.csv", "text/csv", key="bias_dl_crows_csv", on_click="ignore")
        b.download_button("CrowS-Pairs report (JSON)", partial(crows_json, lm, crows_result, source, stamp),
                          f"{context_name('crows-pairs')}.json", "application/json", key="bias_dl_crows_json",
                          on_click="ignore")
    if metrics_result is not None:
        audit_views.metrics_download(lm, metrics_result, source, crows_bytes, audit_inputs)
    audit_views.audit_config_download(lm, audit_inputs)
    pair_results = {"crows": crows_metric, **(metrics_result.results if metrics_result is not None else {})}
    report_download.html_report_button(lm, partial(audit_views.page_config, lm, audit_inputs),
                                       [probe_metric, *pair_results.values(), stereoset_run and stereoset_run.result,
                                        *general_results],
                                       crows_pairs, stereoset_run)

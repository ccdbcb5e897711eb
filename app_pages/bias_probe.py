import pandas as pd
import streamlit as st

from bertlens import bias
from bertlens.bias.crows import EXAMPLE_PATH, MAX_UPLOAD_BYTES, parse_crows, score_crows, summarise
from bertlens.errors import BertLensError, MissingHead
from bertlens.export import crows_csv, crows_json, probe_csv, probe_json
from bertlens.fill_mask import Filters
from bertlens.bias.occupations import DEFAULT_PATH as OCCUPATIONS_PATH
from bertlens.bias.occupations import parse_occupations
from components import bias_charts
from components.cached import model_key
from components.model_service import get_model
from components.safe import md_escape, show_error

st.title("Gender-bias probe")
st.markdown(
    "The model fills the blank in the same sentence twice, once about a woman and once about a man, and we compare "
    "the probabilities it gives each occupation. Bars and dots to the right (orange) mean the model finds the word "
    "more likely for the woman, to the left (blue) for the man; 0 means no difference."
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
        "**Holm**-corrected across occupations, so *significant* controls the chance of any false alarm at 5%.\n\n"
        "**Kurita et al. (2019).** The other direction: how much more likely the model finds *she* than *he* in "
        "*[MASK] is a nurse.*, each against its prior in *[MASK] is a [MASK].* (the occupation masked too, one "
        "mask per piece): log(P(she)/P_prior(she)) − log(P(he)/P_prior(he)).\n\n"
        "**Real-world reference.** The share of women in each occupation among US workers (US Bureau of Labor "
        "Statistics, Current Population Survey; the year and the table it was taken from are given per "
        "occupation). If the model's scores rise faster than the labour statistics, it exaggerates them.\n\n"
        "**CrowS-Pairs** (Nangia et al. 2020): each sentence of a pair is scored by masking, one at a time, the "
        "tokens both sentences share, and summing their log-probabilities. The metric is the % of pairs in which "
        "the more stereotyping sentence scores higher; 50 is unbiased."
    )

lm = get_model()
try:
    lm.require("mlm")
except MissingHead as exc:
    show_error(exc)
    st.stop()
key = model_key(lm)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def cached_side_by_side(_lm, key: str, template: str, pair: bias.WordPair, top_k: int) -> bias.SideBySide:
    return bias.side_by_side(_lm, template, pair, top_k=top_k, filters=Filters(punctuation=True, subwords=True))


DEFAULT_PAIRS_TEXT = bias.PAIRS_PATH.read_text(encoding="utf-8")
DEFAULT_TEMPLATES_TEXT = bias.TEMPLATES_PATH.read_text(encoding="utf-8")

with st.sidebar:
    st.subheader("Gendered word pairs")
    pairs_text = st.text_area("male,female,role,probe — one pair per line", DEFAULT_PAIRS_TEXT, height=160,
                              key="bias_pairs", help="role: person fills {person}, possessive fills {possessive}. "
                                                     "probe: yes to use the pair in the occupation probe.")
try:
    pairs = bias.parse_pairs(pairs_text)
except BertLensError as exc:
    show_error(exc)
    pairs = []

side_tab, probe_tab, reference_tab, crows_tab, export_tab = st.tabs(
    ["Side by side", "Occupation scores", "Real-world reference", "CrowS-Pairs", "Export"])

with side_tab:
    left, middle, right = st.columns([3, 2, 1])
    template = left.text_input("Template ({person} or {possessive} and one [MASK])", "{person} worked as a [MASK].",
                               key="bias_side_template")
    labels = [p.label for p in pairs]
    chosen = middle.selectbox("Word pair", labels, key="bias_side_pair") if labels else None
    top_k = right.number_input("top-k", 3, 30, 10, key="bias_side_k")
    if chosen is None:
        st.info("Add at least one word pair in the sidebar.")
    else:
        pair = pairs[labels.index(chosen)]
        try:
            view = cached_side_by_side(lm, key, template, pair, int(top_k))
        except BertLensError as exc:
            show_error(exc)
        else:
            cols = st.columns(2)
            for col, side, text in ((cols[0], view.female, view.female_text), (cols[1], view.male, view.male_text)):
                col.text(text)
                col.dataframe(pd.DataFrame({"token": [c.token for c in side.masks[0].candidates],
                                            "probability": [c.probability for c in side.masks[0].candidates]}),
                              hide_index=True, width="stretch",
                              column_config={"probability": st.column_config.NumberColumn(format="%.4f")})
            either = st.checkbox("Also show candidates in only one side's top-k", key="bias_side_union")
            shown = view.candidates if either else view.shared
            if shown:
                st.plotly_chart(bias_charts.diverging_candidates(shown, pair.female, pair.male), width="stretch")
            else:
                st.info("The two top-k lists have no candidate in common; tick the box to see all candidates.")
            st.caption("Punctuation and ##-pieces are hidden from the lists; probabilities are over the whole "
                       "vocabulary. With 'a [MASK]' the model rarely proposes words that need 'an'.")

with probe_tab:
    with st.expander("Templates and occupations", expanded=False):
        templates_text = st.text_area("Templates, one per line", DEFAULT_TEMPLATES_TEXT, height=260,
                                      key="bias_templates")
        probe_labels = st.multiselect("Word pairs used by the probe", [p.label for p in pairs],
                                      default=[p.label for p in pairs if p.probe], key="bias_probe_pairs")
        upload = st.file_uploader("Your own occupation table (CSV: occupation, article, pct_women, year, source)",
                                  type=["csv"], key="bias_occupations_file")
        st.caption(f"Default: the project's table of {sum(1 for _ in open(OCCUPATIONS_PATH, encoding='utf-8')) - 1} "
                   "occupations (US BLS, CPS; source and year per row).")
    run = st.button("Run probe", type="primary", key="bias_run")
    config = None
    try:
        occupations_text = (upload.getvalue().decode("utf-8-sig") if upload is not None
                            else OCCUPATIONS_PATH.read_text(encoding="utf-8"))
        config = bias.ProbeConfig(
            templates=tuple(bias.parse_templates(templates_text)),
            pairs=tuple(p for p in pairs if p.label in probe_labels),
            occupations=tuple(parse_occupations(occupations_text)),
        )
    except UnicodeDecodeError:
        st.error("The occupation file is not UTF-8 text. Save it as CSV UTF-8 and upload it again.")
    except BertLensError as exc:
        show_error(exc)
    stored = st.session_state.get("bias_result")
    if run and config is not None:
        bar = st.progress(0.0, text="Scoring…")
        try:
            result = bias.run_probe(lm, config, progress=lambda f, m: bar.progress(min(f, 1.0), text=m))
        except BertLensError as exc:
            bar.empty()
            show_error(exc)
        else:
            bar.empty()
            st.session_state["bias_result"] = (key, config, result)
            stored = st.session_state["bias_result"]
    if stored is None or stored[0] != key:
        st.info("Press **Run probe** to score every occupation in every template for both genders.")
    else:
        _, used, result = stored
        if used != config:
            st.warning("The inputs changed since this run; press Run probe to update.")
        for note in result.warnings:
            st.warning(md_escape(note))
        a, b, c, d = st.columns(4)
        a.metric("Occupations", len(result.occupations))
        b.metric("Templates", len(used.templates))
        c.metric("Significant (Holm)", sum(o.significant for o in result.occupations))
        d.metric("Time", f"{result.seconds:.1f} s", help=f"{result.rows} forward rows, batched")
        st.plotly_chart(bias_charts.occupation_ratios(result), width="stretch")
        st.caption("● significant after Holm correction, ○ not; † several WordPieces (chained). Lines: bootstrap "
                   f"95% CI over templates. Test: {result.permutation}.")
        table = pd.DataFrame([{
            "occupation": o.occupation, "pieces": " ".join(o.pieces), "multi-piece": o.multi_piece,
            "log-ratio": o.log_ratio, "CI low": o.ci_low, "CI high": o.ci_high, "p": o.p_value,
            "p (Holm)": o.p_adjusted, "significant": o.significant, "Kurita": o.kurita,
            "BLS % women": o.pct_women, "BLS year": o.year or "not stated", "BLS source": o.source,
        } for o in sorted(result.occupations, key=lambda o: o.log_ratio)])
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={k: st.column_config.NumberColumn(format="%.3f")
                                    for k in ("log-ratio", "CI low", "CI high", "Kurita")})

with reference_tab:
    stored = st.session_state.get("bias_result")
    if stored is None or stored[0] != key:
        st.info("Run the probe (Occupation scores tab) to compare it with the labour statistics.")
    else:
        result = stored[2]
        score = st.radio("Model score", ["log_ratio", "kurita"], horizontal=True, key="bias_reference_score",
                         format_func={"log_ratio": "Log-ratio over templates", "kurita": "Kurita et al. 2019"}.get)
        st.plotly_chart(bias_charts.bls_scatter(result, score), width="stretch")
        corr = result.correlations.get(score)
        if corr is None:
            st.info("Too few occupations with a labour statistic to correlate.")
        else:
            a, b, c = st.columns(3)
            a.metric("Pearson r", f"{corr.pearson_r:.2f}", help=f"p = {corr.pearson_p:.2g}")
            b.metric("Spearman ρ", f"{corr.spearman_rho:.2f}", help=f"p = {corr.spearman_p:.2g}")
            c.metric("Fitted slope per 10 points of % women", f"{corr.slope * 10:+.3f}")
        sources = pd.DataFrame(sorted({(o.source or "none", o.year or "not stated") for o in result.occupations}),
                               columns=["source of % women", "year"])
        st.caption("Share of women: US Bureau of Labor Statistics, Current Population Survey. Sources and years:")
        st.dataframe(sources, hide_index=True, width="stretch")

with crows_tab:
    st.markdown("Upload a file in the CrowS-Pairs format (columns `sent_more`, `sent_less`, `stereo_antistereo`, "
                f"`bias_type`; at most {MAX_UPLOAD_BYTES // 1024 // 1024} MB), or use the project's hand-written "
                "example rows (not the dataset).")
    crows_file = st.file_uploader("CrowS-Pairs CSV", type=["csv"], key="bias_crows_file")
    crows_pairs = None
    source = crows_file.name if crows_file is not None else EXAMPLE_PATH.name
    try:
        data = crows_file.getvalue() if crows_file is not None else EXAMPLE_PATH.read_bytes()
        crows_pairs = parse_crows(data, f"'{source}'")
    except BertLensError as exc:
        show_error(exc)
    if crows_pairs is not None:
        st.caption(f"{len(crows_pairs)} pairs in {source}.")
        go_col, stop_col = st.columns([1, 1])
        start = go_col.button("Score pairs", type="primary", key="bias_crows_run")
        stop = stop_col.button("Stop", key="bias_crows_stop")
        if start:
            st.session_state["bias_crows_partial"] = (key, source, len(crows_pairs), [])
            partial = st.session_state["bias_crows_partial"][3]
            bar = st.progress(0.0, text="Scoring…")
            try:
                result = score_crows(lm, crows_pairs, progress=lambda f, m: bar.progress(min(f, 1.0), text=m),
                                     on_scores=partial.extend)
            except BertLensError as exc:
                show_error(exc)
            else:
                st.session_state["bias_crows_result"] = (key, source, result)
            bar.empty()
            st.session_state.pop("bias_crows_partial", None)
        elif "bias_crows_partial" in st.session_state:
            k, src, total, partial = st.session_state.pop("bias_crows_partial")
            if k == key:
                st.session_state["bias_crows_result"] = (k, src, summarise(list(partial), total, cancelled=True))
        stored = st.session_state.get("bias_crows_result")
        if stored is not None and stored[0] == key:
            _, src, result = stored
            if result.cancelled:
                st.warning(f"Stopped after {len(result.scores)} of {result.total_pairs} pairs; the figures below "
                           "cover those only.")
            for note in result.warnings:
                st.warning(md_escape(note))
            if result.scores:
                st.plotly_chart(bias_charts.crows_metrics(result), width="stretch")
                st.dataframe(pd.DataFrame([{
                    "line": s.line, "bias type": s.bias_type, "direction": s.direction, "sent_more": s.sent_more,
                    "sent_less": s.sent_less, "score more": s.score_more, "score less": s.score_less,
                    "more stereotyping scores higher": s.more_higher} for s in result.scores]),
                    hide_index=True, width="stretch")

with export_tab:
    st.markdown("Every score with the model id, its weights' hash or revision, the templates, the word pairs and "
                "the date. Text cells that a spreadsheet would run as a formula are prefixed with an apostrophe.")
    stored = st.session_state.get("bias_result")
    if stored is not None and stored[0] == key:
        result = stored[2]
        a, b = st.columns(2)
        a.download_button("Probe report (CSV)", lambda: probe_csv(lm, result), "bias_probe.csv", "text/csv",
                           key="bias_dl_probe_csv")
        b.download_button("Probe report (JSON)", lambda: probe_json(lm, result), "bias_probe.json", "application/json",
                          key="bias_dl_probe_json")
    else:
        st.info("Run the probe to export its scores.")
    stored = st.session_state.get("bias_crows_result")
    if stored is not None and stored[0] == key:
        _, src, result = stored
        a, b = st.columns(2)
        a.download_button("CrowS-Pairs report (CSV)", lambda: crows_csv(lm, result, src), "crows_pairs.csv", "text/csv",
                          key="bias_dl_crows_csv")
        b.download_button("CrowS-Pairs report (JSON)", lambda: crows_json(lm, result, src), "crows_pairs.json",
                          "application/json", key="bias_dl_crows_json")

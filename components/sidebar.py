"""The sidebar: the loaded model's facts."""
from __future__ import annotations

import streamlit as st

from bertlens import LoadedModel
from bertlens.settings import agreement_figure, precision_choices
from components.query_state import PRECISION, publish_globals
from components.safe import md_escape


def model_facts(lm: LoadedModel, where) -> None:
    """The loaded model's facts, drawn in `where` (a sidebar container above the precision choice)."""
    info = lm.info
    with where:
        st.subheader("Model")
        st.caption(md_escape(info.model_id))
        rows = {
            "Layers": info.layers,
            "Heads": info.heads,
            "Hidden size": info.hidden_size,
            "Parameters": f"{info.parameters / 1e6:,.1f}M",
            "Vocabulary": f"{info.vocab_size:,}",
            "Device": info.device,
            "Dtype": info.dtype,
        }
        st.markdown("\n".join(f"- **{md_escape(name)}**: {md_escape(str(value))}" for name, value in rows.items()))
        if info.random_weights:
            st.caption(":material/casino: Random weights: outputs are meaningless.")


def precision_picker(device_type: str, configured: str) -> str:
    """The sidebar's "Precision" choice, drawn before the model is opened; returns the precision the frame passes
    to `services.model.open_model`. `configured` (BERT_LENS_DTYPE) is the default; another choice travels in the
    link (`?precision=`, `components.query_state.PRECISION`), so a reload or a shared link opens the same model."""
    kind = "gpu" if device_type == "cuda" else "cpu"
    choices = {c.dtype: c for c in precision_choices(device_type)}
    if configured not in choices:
        return configured
    options = list(choices)
    linked = st.session_state.get(PRECISION.key) or configured
    if st.session_state.get("dtype") not in choices:
        if linked not in choices:
            st.sidebar.warning(md_escape(f"The link's precision {linked} is not offered on this server; using "
                                         f"{configured}."), icon=":material/link_off:")
            linked = configured
        st.session_state["dtype"] = linked
    with st.sidebar:
        chosen = st.selectbox("Precision", options, key="dtype",
                              format_func=lambda d: choices[d].label,
                              help="float32 is exact. The faster precisions change the numbers slightly; the "
                                   "figure below says how often their top-10 predictions match float32's.")
        precision = choices[chosen]
        st.caption(md_escape(precision.note))
        if precision.approximate:
            figure = agreement_figure(chosen, prefer=kind)
            if figure:
                st.caption(f"Top-10 agreement with float32: {md_escape(figure)} (measured by `python -m bertlens "
                           "bench` with random weights of bert-large's size; see docs/benchmarks.md).")
            else:
                st.caption("Top-10 agreement with float32: not measured yet (run `python -m bertlens bench`).")
    st.session_state[PRECISION.key] = "" if chosen == configured else chosen
    publish_globals()
    return chosen


FIT_KEY = "debias_fit"
SWITCH_KEY = "debias_on"


def adopt_fit(fit) -> None:
    """Make `fit` (a `bertlens.debias.store.Fit`) this session's transform for the sidebar switch: the fit stays on
    the server (`services.debias.keep`), the session keeps its key only. A new fit starts switched off, and the page
    reruns so that the switch appears in the sidebar."""
    from services import debias

    key = debias.keep(fit)
    if st.session_state.get(FIT_KEY) != key:
        st.session_state[FIT_KEY] = key
        st.rerun()


def switch_key(fit_key: str) -> str:
    """The switch's widget key, one per fit: a new fit starts switched off."""
    return f"{SWITCH_KEY}_{fit_key.split(':')[-1]}"


def pages_off_the_top_bar(where) -> None:
    """Presentation mode's top bar has room at 1024 px for the eight lesson pages and "Copy link", no more (a
    ninth was cut to nothing, with no "more" to open it); the debiasing lab and the glossary, which are not lesson
    steps (plain words define the terms in place while presenting), are linked here instead, in `where` (a sidebar
    container)."""
    from components.presentation import is_on

    if is_on():
        with where:
            st.page_link("app_pages/debias.py", label="What if we remove it?", icon=":material/filter_alt:")
            st.page_link("app_pages/glossary.py", label="Glossary", icon=":material/menu_book:")


def debias_switch(lm: LoadedModel, where) -> LoadedModel:
    """The sidebar switch "Debiased: LEACE at layer 24" once this session has fitted a transform (on the page
    "What if we remove it?"); while it is on, every page of this script run sees the model through it
    (`services.model.use_transform`) and says so (`debias_banner`). Drawn in `where` (a sidebar container above
    the model's facts). Returns `lm` as the pages see it."""
    from services import debias
    from services.model import use_transform

    key = st.session_state.get(FIT_KEY)
    if not key:
        return lm
    fit = debias.fit_of(key)
    with where:
        st.subheader("Debiasing")
        if fit is None:
            st.caption("The transform fitted on “What if we remove it?” is no longer kept on the server; fit it "
                       "again there.")
            return lm
        on = st.toggle(md_escape(fit.name), key=switch_key(key),
                       help="On: Fill-mask, the probe, Explain and every other page see the model through this "
                            "transform, and say so. Off: the intact model.")
    use_transform(fit if on else None)
    return lm.with_transform(fit) if on else lm


def debias_banner(lm: LoadedModel, url_path: str) -> None:
    """What every page says while the switch is on: its results are the transformed model's, not the intact one's.
    Not on "What if we remove it?" (`url_path` "debias"), which always shows both."""
    if lm.transform_name and url_path != "debias":
        st.info(f"**{md_escape(lm.transform_name)}**: every result on this page is computed through this transform, "
                "not by the intact model (turn it off in the sidebar).", icon=":material/filter_alt:")

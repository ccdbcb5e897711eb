"""The sidebar: the loaded model's facts."""
from __future__ import annotations

import streamlit as st

from bertlens import LoadedModel
from bertlens.settings import agreement_figure, precision_choices
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
    to `services.model.open_model`. `configured` (BERT_LENS_DTYPE) is the default."""
    kind = "gpu" if device_type == "cuda" else "cpu"
    choices = {c.dtype: c for c in precision_choices(device_type)}
    if configured not in choices:
        return configured
    options = list(choices)
    with st.sidebar:
        chosen = st.selectbox("Precision", options, index=options.index(configured), key="dtype",
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
    return chosen

"""The sidebar: the loaded model's facts."""
from __future__ import annotations

import streamlit as st

from bertlens import LoadedModel
from components.safe import md_escape


def model_facts(lm: LoadedModel) -> None:
    info = lm.info
    with st.sidebar:
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
        st.markdown("\n".join(f"- **{name}**: {md_escape(str(value))}" for name, value in rows.items()))
        if info.random_weights:
            st.caption(":material/casino: Random weights: outputs are meaningless.")

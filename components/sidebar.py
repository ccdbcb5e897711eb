"""The sidebar: the loaded model's facts."""
from __future__ import annotations

import streamlit as st

from bertlens import LoadedModel


def model_facts(lm: LoadedModel) -> None:
    info = lm.info
    with st.sidebar:
        st.subheader("Model")
        st.text(info.model_id)
        rows = {
            "Layers": info.layers,
            "Heads": info.heads,
            "Hidden size": info.hidden_size,
            "Parameters": f"{info.parameters / 1e6:,.1f}M",
            "Vocabulary": f"{info.vocab_size:,}",
            "Device": info.device,
            "Dtype": info.dtype,
        }
        st.dataframe({"": list(rows), "value": [str(v) for v in rows.values()]}, hide_index=True,
                     width="stretch")
        if info.random_weights:
            st.caption("🎲 Random weights: outputs are meaningless.")

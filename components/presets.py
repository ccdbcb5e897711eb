"""An examples picker that never goes stale: it shows an example only while the inputs still hold its values."""
from __future__ import annotations

from typing import Any

import streamlit as st

from components.safe import md_escape


def preset_picker(label: str, presets: dict[str, dict[str, Any]], key: str) -> None:
    """A selectbox of named examples. `presets` maps a name to the session_state values it sets (widget keys).

    Before drawing, the box is set to the example whose values all equal the current inputs, or to none: so after
    an edit, a page change or a reload it never names an example the inputs no longer hold. Choosing an example
    writes its values into session_state (the inputs must be drawn after this picker).
    """
    current = next((name for name, values in presets.items()
                    if all(st.session_state.get(k) == v for k, v in values.items())), None)
    if st.session_state.get(key) != current:
        st.session_state[key] = current

    def apply() -> None:
        choice = st.session_state.get(key)
        if choice in presets:
            st.session_state.update(presets[choice])

    st.selectbox(md_escape(label), list(presets), index=None, key=key, on_change=apply, placeholder="Pick an example…")

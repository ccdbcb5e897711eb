"""File uploads that survive a page change.

Streamlit forgets an uploader's file when its page is left, so a user who opens another page while a job on their
file runs would come back to the default file. `kept_upload` keeps the last file (name and bytes, as the widget
gave them) until the user removes it or uploads another; the page says which file it is using.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from bertlens.text import md_escape

_KEPT = "_kept_upload_"


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def _changed(key: str) -> None:
    """The user picked another file or removed this one: the widget's new value is the truth."""
    st.session_state.pop(_KEPT + key, None)


def kept_upload(label: str, key: str, types: list[str], help: str | None = None) -> Upload | None:
    """The file in the uploader `key`, or the one kept from before a page change; None when there is none."""
    current = st.file_uploader(md_escape(label), type=types, key=key, help=md_escape(help) if help else None,
                               on_change=_changed, args=(key,))
    if current is not None:
        kept = Upload(current.name, current.getvalue())
        st.session_state[_KEPT + key] = kept
        return kept
    kept = st.session_state.get(_KEPT + key)
    if kept is not None:
        st.caption(f":material/attach_file: Still using **{md_escape(kept.name)}**, uploaded before you left the "
                   "page; upload another file to replace it.")
        if st.button("Forget this file", key=f"{key}_forget"):
            _changed(key)
            st.rerun()
    return kept

"""Showing user-derived text safely. Streamlit renders st.error/st.info bodies as markdown, and plotly renders a
subset of HTML in labels, so any text that came from a user (or a token of theirs) goes through these first."""
from __future__ import annotations

import html
import string

import streamlit as st

from bertlens.errors import BertLensError, MissingHead

_MD_SPECIAL = set(string.punctuation)


def md_escape(text: str) -> str:
    """Backslash-escape every ASCII punctuation mark, so no link, image, HTML, math or emphasis survives.

    The one helper for every string a user or a file supplies on its way into a markdown context (st.markdown,
    st.caption, st.info/warning/error/success, labels, help texts, progress texts); tests/test_safe_text.py reads
    the app's code and fails on any such call fed from outside without it."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text)).replace("\n", "  \n")


def plotly_text(text: str) -> str:
    """Escape a label for plotly, which would otherwise interpret <a>, <img>-like tags and entities."""
    return html.escape(str(text), quote=False)


def show_error(exc: BaseException) -> None:
    """One clear message for a problem the user can fix; the page stays usable."""
    if isinstance(exc, MissingHead):
        st.warning(md_escape(str(exc)), icon=":material/extension_off:")
    elif isinstance(exc, BertLensError):
        st.error(md_escape(str(exc)), icon=":material/warning:")
    else:
        raise exc

"""Showing user-derived text safely. Streamlit renders st.error/st.info bodies as markdown, and plotly renders a
subset of HTML in labels, so any text that came from a user (or a token of theirs) goes through these first."""
from __future__ import annotations

import html
import re

import streamlit as st

from bertlens.errors import BertLensError, MissingHead
from bertlens.text import md_escape

__all__ = ["md_escape", "plotly_text", "show_error"]


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


def checked_script(text: str, what: str) -> str:
    """`text` (a <script> for st.html), refused when Streamlit's sanitiser would drop it: DOMPurify removes a script
    whose text holds "<" before a letter, "/" or "!" (its guard against markup hidden in text). Raises ValueError
    naming `what`, so a test fails instead of the page silently losing its script."""
    body = text.removeprefix("<script>").removesuffix("</script>")
    if re.search(r"<[/\w!]", body):
        raise ValueError(f"the {what} holds '<' before a letter, '/' or '!'; Streamlit would drop it")
    return text

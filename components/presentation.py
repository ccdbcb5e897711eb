"""Presentation mode, for a projector: base text of 20 px, chart labels of at least 16 px, explanations folded
away and each result beside its input. The mode is `st.session_state["present"]`, set by the sidebar toggle and
carried in every page's link (`?present=1`, see components.query_state)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.query_state import PRESENT, copy_link_button

CHART_FONT = 16
TITLE_FONT = 18
_CSS = """<style>
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { padding: 1.2rem 1.2rem 2rem 1.2rem; max-width: none; }
[data-testid="stMain"] h1 { font-size: 1.7rem; padding: 0 0 0.3rem 0; }
[data-testid="stMain"] h2, [data-testid="stMain"] h3 { font-size: 1.25rem; padding: 0.3rem 0; }
[data-testid="stCaptionContainer"] { font-size: 0.85rem; }
[data-testid="stWidgetLabel"] p, [data-testid="stText"] { font-size: 1rem; }
[data-testid="stMetricValue"] { font-size: 2rem; }
textarea, input { font-size: 1rem !important; }
</style>"""


def is_on() -> bool:
    return bool(st.session_state.get(PRESENT.key, PRESENT.default))


def sidebar_controls() -> None:
    """The presentation toggle and the copy-link button, at the top of the sidebar; the CSS when the mode is on."""
    with st.sidebar:
        st.toggle("Presentation mode", key=PRESENT.key,
                  help="Large text for a projector, with each result beside its input. The link keeps it.")
        copy_link_button()
    if is_on():
        st.html(_CSS)


def side_by_side(ratio: tuple[int, int] = (2, 3)):
    """Where a page draws its inputs and its result: two columns in presentation mode, one column otherwise."""
    if is_on():
        return st.columns(ratio, gap="medium")
    return st.container(), st.container()


def style(fig: go.Figure) -> go.Figure:
    """In presentation mode, raise every label of a figure to at least 16 px (titles 18 px); else unchanged."""
    if not is_on():
        return fig
    fig.update_layout(font_size=CHART_FONT, legend_font_size=CHART_FONT, hoverlabel_font_size=CHART_FONT)
    if fig.layout.title and fig.layout.title.text:
        fig.update_layout(title_font_size=TITLE_FONT)
    fig.update_xaxes(tickfont_size=CHART_FONT, title_font_size=CHART_FONT)
    fig.update_yaxes(tickfont_size=CHART_FONT, title_font_size=CHART_FONT)
    fig.update_annotations(font_size=CHART_FONT)
    for trace in fig.data:
        if "textfont" in trace:
            trace.textfont.size = max(CHART_FONT, trace.textfont.size or 0)
        if "colorbar" in trace:
            trace.colorbar.tickfont.size = CHART_FONT
            trace.colorbar.title.font.size = CHART_FONT
    return fig


def chart(fig: go.Figure, **kwargs):
    """`st.plotly_chart` of the figure styled for the current mode (kwargs go to st.plotly_chart)."""
    kwargs.setdefault("config", {"displaylogo": False})
    return st.plotly_chart(style(fig), **kwargs)

"""Presentation mode, for a projector: base text of 20 px, chart labels of at least 16 px, explanations folded
away and each result beside its input. The mode is `st.session_state["present"]`, set by the sidebar toggle and
carried in every page's link (`?present=1`, see components.query_state)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

from bertlens.svg import text_width

from components.figure_export import chart_config
from components.safe import md_escape
from components.query_state import PRESENT, copy_link_button

CHART_FONT = 16
TITLE_FONT = 18
NORMAL_CHART_FONT = 12
HEADER_REM = 2.4
_CSS = f"""<style>
html {{ font-size: 20px; }}
[data-testid="stHeader"] {{ height: {HEADER_REM}rem; min-height: {HEADER_REM}rem; }}
[data-testid="stMainBlockContainer"] {{ padding: {HEADER_REM + 0.4}rem 1.2rem 2rem 1.2rem; max-width: none; }}
[data-testid="stMain"] h1 {{ font-size: 1.6rem; padding: 0 0 0.2rem 0; }}
[data-testid="stMain"] h2, [data-testid="stMain"] h3 {{ font-size: 1.25rem; padding: 0.3rem 0; }}
[data-testid="stCaptionContainer"] {{ font-size: 0.85rem; }}
[data-testid="stWidgetLabel"] p, [data-testid="stText"] {{ font-size: 1rem; }}
[data-testid="stMetricValue"] {{ font-size: 1.8rem; }}
[data-testid="stMain"] [data-testid="stAlert"] > div {{ padding: 0.45rem 0.8rem; }}
textarea, input {{ font-size: 1rem !important; }}
[data-testid="stTopNav"] [data-testid="stTopNavLink"] {{ padding: 2px 4px; gap: 0; }}
[data-testid="stTopNav"] [data-testid="stTopNavLink"] > span {{ padding: 0; margin: 0; }}
[data-testid="stTopNav"] [data-testid="stTopNavLink"] > span:first-child {{ display: none; }}
[data-testid="stTopNav"] [data-testid="stTopNavLink"] p {{ font-size: 15px; }}
[data-testid="stTopNav"] .rc-overflow-item > div {{ margin-right: 0; }}
[data-testid="stTopNav"] {{ margin-right: 140px; }}
[data-testid="stTopNav"] .rc-overflow-item:has(a[href$="/glossary"]) {{ display: none; }}
.st-key-top_copy_link {{ position: fixed; top: 0.3rem; right: 2.4rem; width: 96px; z-index: 999991; }}
[data-testid="stLayoutWrapper"]:has(> .st-key-top_copy_link) {{ margin-bottom: -1rem; }}
.st-key-lesson_bar button {{ min-height: 0; padding: 0.1rem 0.6rem; }}
.st-key-lesson_bar {{ margin: -0.5rem 0 -0.3rem 0; }}
</style>"""
# Both modes: a metric's label and value, a widget's label and a button's text wrap instead of being cut
# ("Jensen-Shannon diverg…", "Include the decoder's output bias (a word-freque…", "Run the slower methods (under a s").
_FRAME_CSS = """<style>
[data-testid="stMetricLabel"] p, [data-testid="stMetricLabel"] div,
[data-testid="stMain"] .stMarkdownEllipsis, [data-testid="stMain"] [data-testid="stWidgetLabel"] p,
[data-testid="stMain"] [data-testid^="stBaseButton"] p,
[data-testid="stMain"] [data-testid^="stPageLink"] span { white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; }
[data-testid="stMain"] [data-testid^="stBaseButton"] { max-width: 100%; height: auto; }
[class*="st-key-use_it_on_"] a { padding: 0 0.3rem; min-height: 0; }
[data-testid="stMetricValue"] > div { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; overflow-wrap: anywhere; }
</style>"""


def is_on() -> bool:
    return bool(st.session_state.get(PRESENT.key, PRESENT.default))


def chart_font() -> int:
    """The size of chart labels in the current mode, for builders that lay out labels to fit."""
    return CHART_FONT if is_on() else NORMAL_CHART_FONT


# The main column's width on a 1024x768 projector, measured in chromium: 564 px beside the 300-px sidebar, 976 px in
# presentation mode (sidebar folded). Charts lay their labels out for it, so they fit there and on any wider screen.
NORMAL_WIDTH = 564
PRESENT_WIDTH = 976


def content_width(fraction: float = 1.0) -> float:
    """The narrowest width (px) the main column has on a 1024-px screen in the current mode, times `fraction`
    (the share of it a chart gets when it sits in a column)."""
    return (PRESENT_WIDTH if is_on() else NORMAL_WIDTH) * fraction


def navigation_position() -> str:
    """Where the page links go: the top bar in presentation mode (the sidebar is folded away there, and a teacher
    changes page often), the sidebar otherwise."""
    return "top" if is_on() else "sidebar"


def sidebar_controls() -> None:
    """The presentation toggle and the copy-link button, at the top of the sidebar; the mode's CSS.

    Turning the mode on collapses the sidebar, so the page gets the projector's whole width (the arrow at the top
    left brings the sidebar back; a sidebar the user opened or closed by hand stays as they left it)."""
    with st.sidebar:
        st.toggle("Presentation mode", key=PRESENT.key,
                  help="Large text for a projector, with each result beside its input; the sidebar folds away "
                       "(the arrow at the top left brings it back). The link keeps it.")
        copy_link_button()
    st.set_page_config(initial_sidebar_state="collapsed" if is_on() else "auto")
    st.html(_FRAME_CSS)
    if is_on():
        st.html(_CSS)
        with st.container(key="top_copy_link"):
            copy_link_button("Copy link")  # the sidebar is folded away: the top bar holds the button


@dataclass(frozen=True)
class Metric:
    """One `st.metric`: its label, its value as text, and an optional help text."""

    label: str
    value: str
    help: str | None = None


def metrics(items: list[Metric], fraction: float = 1.0, gap: float = 16.0) -> None:
    """Metrics in rows that fit: as many per row as the narrowest screen of the mode has room for, judged by
    each value's width and half its label's (a label may take two lines; `fraction`: the share of the page the
    metrics sit in). Anything still too long wraps instead of being cut ("Jensen-Shannon diverg…", "45.0 – …")."""
    present = is_on()
    label_px, value_px = (17.0, 36.0) if present else (14.0, 32.0)
    room = content_width(fraction)
    # a label may wrap onto a second line (the frame's CSS lets it); a value should stay on one
    needs = [max(text_width(m.label, label_px) / 2 + 24, text_width(m.value, value_px)) + gap for m in items]
    row: list[int] = []
    rows: list[list[int]] = []
    for i, need in enumerate(needs):
        width = max(needs[j] for j in [*row, i]) * (len(row) + 1)
        if row and width > room:
            rows.append(row)
            row = []
        row.append(i)
    if row:
        rows.append(row)
    per_row = max(len(r) for r in rows) if rows else 1
    for indices in rows:
        for column, i in zip(st.columns(per_row), indices):
            column.metric(md_escape(items[i].label), items[i].value,
                          help=md_escape(items[i].help) if items[i].help else None)


SIDE_BY_SIDE = (2, 3)


def side_by_side(ratio: tuple[int, int] = SIDE_BY_SIDE):
    """Where a page draws its inputs and its result: two columns in presentation mode, one column otherwise."""
    if is_on():
        return st.columns(ratio, gap="medium")
    return st.container(), st.container()


def output_share() -> float:
    """The share of the main column the result column of `side_by_side` gets: 3/5 in presentation mode, all of
    it otherwise (what `content_width` and `metrics` need to size a chart or a row of metrics there)."""
    return SIDE_BY_SIDE[1] / sum(SIDE_BY_SIDE) if is_on() else 1.0


def style(fig: go.Figure) -> go.Figure:
    """Lay a figure out for the current mode: every category label gets its row (`fit_rows`), and in presentation
    mode every label is raised to at least 16 px (titles 18 px)."""
    font = chart_font()
    if is_on():
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
    for trace in fig.data:
        if getattr(trace, "type", "") == "bar" and trace.textposition == "outside":
            trace.constraintext = "none"  # plotly would shrink a label that meets the edge below the mode's size
        if "colorbar" in trace and trace.colorbar.orientation != "h" and not trace.colorbar.title.side:
            trace.colorbar.title.side = "right"  # a title on top runs into the top tick label
    return fit_rows(fig, font)


MAX_FIT_HEIGHT = 2400
_MARKUP = re.compile(r"<[^>]*>|&[a-z]+;|&#\d+;|\u200b")


def category_ticks(labels: list[str], width_px: float, font_px: float | None = None) -> dict:
    """Tick settings for a category x axis whose labels never touch: level when every label fits its slot, else
    turned 90°, and then only every n-th label where a slot is narrower than a line of text (the hover names every
    category). `width_px` is the plot area's width; labels may hold plotly markup (it is not measured)."""
    font_px = font_px or chart_font()
    if not labels:
        return {}
    slot = width_px / len(labels)
    widest = max(text_width(_MARKUP.sub("", str(label)), font_px) for label in labels)
    if widest + 6 <= slot:
        return dict(tickangle=0)
    step = max(1, math.ceil(font_px * 1.35 / slot))
    if step == 1:
        return dict(tickangle=-90)
    return dict(tickangle=-90, tickmode="array", tickvals=labels[::step], ticktext=labels[::step])


def legend_in_margin(fig: go.Figure, where: str = "bottom", rows: int = 1, room: float = 50.0,
                     width_px: float | None = None) -> go.Figure:
    """A horizontal legend pinned to the figure's bottom (or top) edge, in a margin grown to hold its rows (at least
    `rows`; more when its entries, measured, need them in `width_px`, by default the narrowest column a chart gets)
    beside `room` px for the axis' ticks and title, so it never lands on the axis title, the annotations or the
    plot, however tall the plot grows (a legend placed in plot coordinates moves with the plot's height)."""
    font = chart_font()
    labels = [v for t in fig.data if getattr(t, "y", None) is not None for v in t.y if isinstance(v, str)]
    label_w = max((text_width(_MARKUP.sub("", v), font) for v in labels), default=40.0)
    width = (width_px or content_width(output_share())) - label_w - 50  # plotly wraps at the plot's width
    names = [_MARKUP.sub("", t.name or "") for t in fig.data if t.showlegend is not False and t.name]
    used, needed = 0.0, 1
    for name in names:
        entry = text_width(name, font) + 60  # the symbol and the gap to the next entry
        if used and used + entry > width:
            needed, used = needed + 1, 0.0
        used += entry
    height = max(rows, needed) * font * 1.9 + room
    bottom = where == "bottom"
    fig.update_layout(legend=dict(orientation="h", yref="container", xref="container", y=0.0 if bottom else 1.0,
                                  x=0, xanchor="left", yanchor="bottom" if bottom else "top", entrywidth=0))
    fig.update_layout(margin={"b" if bottom else "t": height})
    return fig


def fit_rows(fig: go.Figure, font: float) -> go.Figure:
    """Make a chart with one y axis of categories tall enough for a label on every row (1.5 x the font), instead of
    letting plotly skip every other label (it showed 32 of 64 occupations at 16 px)."""
    axes = {getattr(trace, "yaxis", None) or "y" for trace in fig.data}
    if axes != {"y"}:
        return fig
    rows = set()
    for trace in fig.data:
        values = getattr(trace, "y", None)
        if values is None or getattr(trace, "type", "") not in ("bar", "scatter", "heatmap"):
            continue
        rows.update(v for v in values if isinstance(v, str))
    if len(rows) < 2:
        return fig
    margin = fig.layout.margin
    needed = int(len(rows) * font * 1.5 + (margin.t if margin.t is not None else 100)
                 + (margin.b if margin.b is not None else 80) + 20)
    if (fig.layout.height or 450) < needed:
        fig.update_layout(height=min(needed, MAX_FIT_HEIGHT))  # beyond it plotly labels every n-th row, untouched
    return fig


def chart(fig: go.Figure, key: str | None = None, name: str | None = None, **kwargs):
    """`st.plotly_chart` of the figure styled for the current mode; its mode bar downloads an SVG named `name`
    (default: the key) and, with `figure_export.install`, a PNG. Other kwargs go to st.plotly_chart."""
    kwargs.setdefault("config", chart_config(name or key or "chart"))
    kwargs.setdefault("width", "stretch")
    return st.plotly_chart(style(fig), key=key, **kwargs)

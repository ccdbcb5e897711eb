"""Standalone SVG figures for papers, written without a browser: a heatmap grid with text in its cells (the logit
lens, the attribution strip, the NIE grid of causal mediation, the attention model view's heads) and the
line view of attention (bertviz's head view).

Every cell, label and title is laid out from an estimate of its text's width (`text_width`), so nothing overlaps:
a cell is made wide enough for its text, or its text is shortened with "…" (`fit_text`) where the caller fixes the
width. Every text from a token or a user is XML-escaped. The output parses as SVG 1.1 and opens in any vector
editor; each figure carries its tokens in a <desc> as well, so a reader of the file can check what was drawn.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from bertlens.numbers import significant

FONT = "DejaVu Sans, Source Sans Pro, Arial, sans-serif"
ELLIPSIS = "…"
_NARROW = set("iljtfrI.,:;|!'`()[] ")
_WIDE = set("mwMW@%")
BLUES = ((0.0, (247, 251, 255)), (0.25, (198, 219, 239)), (0.6, (66, 146, 198)), (1.0, (8, 48, 107)))
DIVERGING = ((0.0, (178, 24, 43)), (0.25, (239, 138, 98)), (0.5, (247, 247, 247)), (0.75, (103, 169, 207)),
             (1.0, (33, 102, 172)))


def text_width(text: str, font_px: float) -> float:
    """An upper estimate of the width of `text` at `font_px` in a proportional sans-serif font."""
    total = 0.0
    for char in text:
        if char in _NARROW:
            total += 0.34
        elif char in _WIDE:
            total += 0.92
        elif ord(char) > 0x2E80:  # CJK and other full-width scripts
            total += 1.0
        elif char.isupper() or char.isdigit() or char == "#":
            total += 0.68
        else:
            total += 0.58
    return total * font_px


def fit_text(text: str, width_px: float, font_px: float, min_chars: int = 2) -> str:
    """`text` if it fits in `width_px`; else its start and "…" if at least `min_chars` characters fit; else ""."""
    if text_width(text, font_px) <= width_px:
        return text
    for end in range(len(text) - 1, min_chars - 1, -1):
        shorter = text[:end] + ELLIPSIS
        if text_width(shorter, font_px) <= width_px:
            return shorter
    return ""


def colour(value: float | None, scale: Sequence[tuple[float, tuple[int, int, int]]] = BLUES) -> str:
    """The hex colour of `value` (0 to 1) on a colour scale of (position, rgb) stops; light grey for None/NaN."""
    if value is None or not math.isfinite(value):
        return "#e9ecef"
    value = min(1.0, max(0.0, value))
    for (a, ca), (b, cb) in zip(scale, scale[1:]):
        if value <= b:
            t = 0.0 if b == a else (value - a) / (b - a)
            rgb = [round(x + (y - x) * t) for x, y in zip(ca, cb)]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#{:02x}{:02x}{:02x}".format(*scale[-1][1])


def ink(background: str) -> str:
    """Black or white text, whichever reads better on `background` (#rrggbb)."""
    r, g, b = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


class Document:
    """An SVG document built element by element; `text()` escapes its content."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: str, **attrs: str) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items())
        self.parts.append(f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" fill="{fill}"{extra}/>')

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str, width: float, opacity: float = 1.0) -> None:
        self.parts.append(f'<line x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}" stroke="{stroke}" '
                          f'stroke-width="{width:.2f}" stroke-opacity="{opacity:.3f}"/>')

    def text(self, x: float, y: float, content: str, size: float, anchor: str = "start", fill: str = "#212529",
             weight: str = "normal", rotate: float | None = None, title: str | None = None) -> None:
        turn = f' transform="rotate({rotate:.1f} {x:.2f} {y:.2f})"' if rotate is not None else ""
        hover = f"<title>{escape(title)}</title>" if title and title != content else ""
        self.parts.append(f'<text x="{x:.2f}" y="{y:.2f}" font-size="{size:.1f}" text-anchor="{anchor}" '
                          f'dominant-baseline="central" fill="{fill}" font-weight="{weight}"{turn}>{hover}'
                          f'{escape(content)}</text>')

    def render(self, width: float, height: float, title: str, description: str) -> str:
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{math.ceil(width)}" '
                f'height="{math.ceil(height)}" viewBox="0 0 {math.ceil(width)} {math.ceil(height)}" '
                f'font-family="{FONT}">\n<title>{escape(title)}</title>\n<desc>{escape(description)}</desc>\n'
                f'<rect width="100%" height="100%" fill="#ffffff"/>\n' + "\n".join(self.parts) + "\n</svg>\n")


@dataclass(frozen=True)
class Grid:
    """What a heatmap figure shows: `values[r][c]` coloured on [low, high], optional `texts[r][c]` in the cells and
    `hover[r][c]` as each cell's tooltip; row and column labels; the colour bar's name."""

    title: str
    rows: Sequence[str]
    columns: Sequence[str]
    values: Sequence[Sequence[float | None]]
    low: float
    high: float
    scale: Sequence[tuple[float, tuple[int, int, int]]] = BLUES
    texts: Sequence[Sequence[str]] | None = None
    hover: Sequence[Sequence[str]] | None = None
    colour_label: str = ""
    column_title: str = ""
    row_title: str = ""
    note: str = ""


def grid_svg(grid: Grid, font_px: float = 12.0, cell_height: float | None = None, min_cell: float = 28.0,
             max_width: float | None = None) -> str:
    """The grid as a standalone SVG. Each column is as wide as its widest cell text (and at least `min_cell`);
    with `max_width`, columns share that width and cell texts that do not fit are shortened with "…" (the full
    text stays in the cell's tooltip). Column labels turn 90° when they are wider than their column."""
    n_rows, n_cols = len(grid.rows), len(grid.columns)
    pad = 6.0
    cell_h = cell_height or font_px * 1.9
    texts = grid.texts or [["" for _ in range(n_cols)] for _ in range(n_rows)]
    widths = [max([min_cell, *(text_width(texts[r][c], font_px) + 2 * pad for r in range(n_rows))])
              for c in range(n_cols)]
    label_w = max([text_width(label, font_px) for label in grid.rows] + [0.0]) + 2 * pad
    bar_w = 90.0 if grid.colour_label else 0.0
    left = label_w + (font_px * 1.6 if grid.row_title else 0.0)
    if max_width is not None:
        share = max(min_cell, (max_width - left - bar_w - 2 * pad) / max(1, n_cols))
        widths = [share] * n_cols
    turned = any(text_width(label, font_px) + pad > w for label, w in zip(grid.columns, widths))
    header = (max([text_width(label, font_px) for label in grid.columns] + [0.0]) + 2 * pad if turned
              else font_px * 2.0)
    title_h = font_px * 2.4 if grid.title else pad
    top = title_h + header + (font_px * 1.8 if grid.column_title else 0.0)
    doc = Document()
    x0 = left
    if grid.title:
        doc.text(pad, title_h / 2, grid.title, font_px * 1.2, weight="bold")
    if grid.column_title:
        doc.text(x0 + sum(widths) / 2, title_h + font_px * 0.9, grid.column_title, font_px, anchor="middle")
    if grid.row_title:
        doc.text(font_px * 0.8, top + n_rows * cell_h / 2, grid.row_title, font_px, anchor="middle", rotate=-90)
    x = x0
    for c, (label, w) in enumerate(zip(grid.columns, widths)):
        if turned:
            doc.text(x + w / 2, top - pad, fit_text(label, header - 2 * pad, font_px), font_px, anchor="start",
                     rotate=-90, title=label)
        else:
            doc.text(x + w / 2, top - header / 2, label, font_px, anchor="middle")
        x += w
    span = (grid.high - grid.low) or 1.0
    for r, label in enumerate(grid.rows):
        y = top + r * cell_h
        doc.text(left - pad, y + cell_h / 2, label, font_px, anchor="end")
        x = x0
        for c, w in enumerate(widths):
            value = grid.values[r][c]
            fill = colour(None if value is None else (value - grid.low) / span, grid.scale)
            tip = grid.hover[r][c] if grid.hover else f"{label}, {grid.columns[c]}: {significant(value)}"
            doc.parts.append(f'<g><title>{escape(tip)}</title>')
            doc.rect(x + 0.5, y + 0.5, w - 1, cell_h - 1, fill)
            shown = fit_text(texts[r][c], w - 2 * pad, font_px)
            if shown:
                doc.text(x + w / 2, y + cell_h / 2, shown, font_px, anchor="middle", fill=ink(fill))
            doc.parts.append("</g>")
            x += w
    width = x0 + sum(widths) + bar_w + pad
    height = top + n_rows * cell_h + pad + (font_px * 1.8 if grid.note else 0.0)
    if grid.colour_label:
        _colour_bar(doc, x0 + sum(widths) + 14, top, min(n_rows * cell_h, 220.0), grid, font_px)
    if grid.note:
        doc.text(pad, height - font_px, grid.note, font_px * 0.9, fill="#495057")
        width = max(width, text_width(grid.note, font_px * 0.9) + 2 * pad)
    width = max(width, text_width(grid.title, font_px * 1.2) + 2 * pad)  # a title naming its sentence and model
    rows = "; ".join(grid.rows)
    cells = " ".join(t for row in texts for t in row if t)
    return doc.render(width, height, grid.title, f"rows: {rows}. columns: {'; '.join(grid.columns)}. cells: {cells}")


def _colour_bar(doc: Document, x: float, y: float, height: float, grid: Grid, font_px: float) -> None:
    steps = 24
    for i in range(steps):
        doc.rect(x, y + height * i / steps, 12, height / steps + 0.5, colour(1 - i / (steps - 1), grid.scale))
    small = font_px * 0.85
    doc.text(x + 16, y + small / 2, significant(grid.high), small)
    doc.text(x + 16, y + height - small / 2, significant(grid.low), small)
    doc.text(x + 6, y + height + small * 1.2, grid.colour_label, small, anchor="middle")


def lines_svg(title: str, tokens: Sequence[str], query: Sequence[int], key: Sequence[int], weight: Sequence[float],
              font_px: float = 13.0, colour_hex: str = "#1c4f9c", note: str = "") -> str:
    """bertviz's head view as a standalone SVG: the tokens twice, left (attending) and right (attended to), and a
    line for each (query, key, weight), darker and thicker for more weight."""
    pitch = font_px * 1.5
    heads = ("attending (query)", "attended to (key)")
    label_w = max([text_width(t, font_px) for t in tokens] + [text_width(h, font_px * 0.8) for h in heads]) + 10
    gap = max(180.0, label_w * 1.2)
    title_h = font_px * 2.6
    top = title_h + font_px
    doc = Document()
    doc.text(6, title_h / 2, title, font_px * 1.15, weight="bold")
    left_x, right_x = label_w + 8, label_w + 8 + gap
    doc.text(left_x - 4, title_h + font_px * 0.2, heads[0], font_px * 0.8, anchor="end", fill="#495057")
    doc.text(right_x + 4, title_h + font_px * 0.2, heads[1], font_px * 0.8, fill="#495057")
    for q, k, w in sorted(zip(query, key, weight), key=lambda item: item[2]):
        doc.line(left_x, top + q * pitch + pitch / 2, right_x, top + k * pitch + pitch / 2, colour_hex,
                 0.5 + 3.5 * float(w), 0.12 + 0.88 * float(w))
    for i, token in enumerate(tokens):
        y = top + i * pitch + pitch / 2
        doc.text(left_x - 4, y, token, font_px, anchor="end", title=f"{i} {token}")
        doc.text(right_x + 4, y, token, font_px, title=f"{i} {token}")
    height = top + len(tokens) * pitch + (font_px * 2.2 if note else font_px)
    width = right_x + label_w + 8
    if note:
        doc.text(6, height - font_px, note, font_px * 0.85, fill="#495057")
        width = max(width, text_width(note, font_px * 0.85) + 12)
    width = max(width, text_width(title, font_px * 1.15) + 12)
    return doc.render(width, height, title, "tokens: " + " ".join(tokens))

"""Figures for papers: every plotly chart downloads as SVG (the mode bar's camera) and as PNG (a button beside it),
and the figures the app draws itself (attention views, the lens heatmap, the attribution strip, the NIE grid of the
causal-mediation page) download as standalone SVG files.

Two pieces, both reusable by any page:

- `chart_config(name)`: the `config` of `st.plotly_chart` (`presentation.chart` passes it): the camera saves an SVG
  named after the chart. `install()` (called once per run by app.py) adds a PNG button to every chart's mode bar,
  and makes SVG the camera's format on charts drawn without `chart_config`, so the rule holds for every chart of
  every page.
- `svg_download(svg, name, key)`: a download button for an SVG document written by the core (`bertlens.svg`)
  when the button is pressed.

Downloads say what they show: a page calls `set_context(model, text)` once it knows its sentence (or template), and
every chart, SVG and file the page offers after that in the run is named `context_name(name)`, "bertlens-NAME-MODEL-
FIRST-WORDS-OF-THE-SENTENCE"; a standalone figure's title is `context_title(title)`, and a chart's downloaded
picture (SVG or PNG) gets the sentence and the model as its title. The context lasts one run
(`install` clears it), so a page that sets none names its files as before.
"""
from __future__ import annotations

import re
from typing import Callable

import streamlit as st

from components.safe import checked_script, md_escape

PNG_SCALE = 2
_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_CONTEXT = "_figure_context"
TEXT_CHARS = 60  # of the sentence in a standalone figure's title


def file_name(name: str) -> str:
    """A safe file name stem: "bertlens-" and the chart's name with anything unusual turned into dashes."""
    stem = _NAME.sub("-", name).strip("-")[:100].rstrip("-") or "figure"
    return stem if stem.startswith("bertlens") else f"bertlens-{stem}"


def model_name(model: str) -> str:
    """A model id as a title and a file name show it: the last part of a hub id or folder ("bert-large-cased")."""
    return model.rstrip("/").split("/")[-1] if model else ""


def shortened(text: str, limit: int = TEXT_CHARS) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[:limit - 1].rstrip() + "…"


def set_context(model: str, text: str = "") -> None:
    """What this page's downloads show from now on in this run: the model (its id) and the sentence or template."""
    st.session_state[_CONTEXT] = (model_name(model), " ".join(text.split()))


def context() -> tuple[str, str]:
    """(model name, sentence) set by the page in this run, or ("", "")."""
    return st.session_state.get(_CONTEXT) or ("", "")


def context_name(name: str) -> str:
    """`file_name` of the name, the page's model and the start of its sentence: "bertlens-mediation-nie-bert-large-
    cased-The-nurse-said-that-MASK-was"."""
    model, text = context()
    return file_name(" ".join(part for part in (name, model, shortened(text, 48)) if part))


def context_title(title: str = "") -> str:
    """A standalone figure's title with the page's sentence and model: 'Indirect effect (NIE) of each head · “The
    nurse said that [MASK] was tired.” · bert-large-cased'."""
    model, text = context()
    return " · ".join(part for part in (title, f"“{shortened(text)}”" if text else "", model) if part)


def chart_config(name: str, **extra) -> dict:
    """`st.plotly_chart`'s config: no plotly logo, and the camera downloads an SVG called `context_name(name)`.
    With a page context, the downloaded picture (SVG or PNG) is titled with it too (`bertlensTitle`, which the
    script adds to the picture's copy of the layout only: the chart on the page keeps its room)."""
    options = {"format": "svg", "filename": context_name(name), "scale": 1}
    if any(context()):
        options["bertlensTitle"] = context_title("")
    return {"displaylogo": False, "toImageButtonOptions": options, **extra}


def svg_download(svg: Callable[[], str], name: str, key: str, label: str = "Download SVG",
                 help: str | None = None) -> None:
    """A button that downloads the standalone SVG document `svg()` writes, as `context_name(name).svg`. The document is
    written only when the button is pressed: the page reruns on every widget change, and a model view of 24 x 16
    heads is half a megabyte or more. Bind the arguments now (`functools.partial`), not through a closure."""
    st.download_button(md_escape(label), lambda: svg().encode("utf-8"), file_name=f"{context_name(name)}.svg",
                       mime="image/svg+xml", key=key, icon=":material/download:", on_click="ignore",
                       help=md_escape(help or "A standalone vector figure (SVG) of what is shown, for a paper or "
                                               "slides."))


def install() -> None:
    """The page-wide script behind the PNG button (see the module docstring); drawn in the sidebar, where it takes
    no room. It reads plotly's own mode bar and config, so it needs no copy of plotly.js. It also clears the last
    run's download context (`set_context`)."""
    st.session_state.pop(_CONTEXT, None)
    with st.sidebar:
        st.html(script(), unsafe_allow_javascript=True)


def script() -> str:
    """The script, checked against the sanitiser Streamlit runs on st.html: DOMPurify drops a <script> whose
    text holds "<" before a letter, "/" or "!" (its guard against markup hidden in text), so the script builds
    its icon with DOM calls and never writes such a "<"."""
    return checked_script(_SCRIPT.replace("PNG_SCALE", str(PNG_SCALE)), "figure script")


_SCRIPT = """<script>
(() => {
  const doc = window.parent && window.parent.document.querySelector("[data-testid=stApp]") ? window.parent.document
                                                                                           : document;
  const win = doc.defaultView;
  if (win.__bertlensFigures) { return; }
  win.__bertlensFigures = true;
  const CAMERA = '.modebar-btn.bertlens-svg, .modebar-btn[data-title^="Download plot"]';
  const SVG_NS = "http://www.w3.org/2000/svg";

  function icon() {
    const picture = doc.createElementNS(SVG_NS, "svg");
    picture.setAttribute("viewBox", "0 0 24 24");
    picture.setAttribute("width", "16");
    picture.setAttribute("height", "16");
    picture.setAttribute("aria-hidden", "true");
    const label = doc.createElementNS(SVG_NS, "text");
    for (const [name, value] of [["x", "0"], ["y", "16"], ["font-size", "10"], ["font-family", "sans-serif"],
                                 ["font-weight", "700"], ["fill", "currentColor"]]) {
      label.setAttribute(name, value);
    }
    label.textContent = "PNG";
    picture.appendChild(label);
    return picture;
  }

  function nameOf(gd) {
    const own = ((gd._context || {}).toImageButtonOptions || {}).filename;
    if (own) { return own; }
    const holder = gd.closest('[class*="st-key-"]');
    const key = holder && [...holder.classList].find(c => c.startsWith("st-key-"));
    return "bertlens-" + (key ? key.slice(7) : "chart");
  }

  // plotly copies gd.layout when a picture is taken, within the camera's click: a title set on the layout for
  // that moment (no redraw) goes into the picture only.
  function titled(gd) {
    const extra = ((gd._context || {}).toImageButtonOptions || {}).bertlensTitle;
    const layout = gd.layout;
    if (!extra || !layout) { return () => {}; }
    const title = layout.title, margin = layout.margin;
    const own = typeof title === "string" ? title : ((title || {}).text || "");
    const top = ((margin || {}).t === undefined ? 80 : margin.t) + 28;
    layout.title = {...(typeof title === "object" ? title : {}), text: own ? own + " · " + extra : extra,
                    x: 0.01, xanchor: "left", y: 1, yref: "container", yanchor: "top", pad: {t: 8},
                    font: {size: 13}};
    layout.margin = {...(margin || {}), t: top};
    return () => { layout.title = title; layout.margin = margin; };
  }

  function download(gd, camera, format) {
    const context = gd._context;
    const saved = context.toImageButtonOptions || {};
    context.toImageButtonOptions = {...saved, format: format, filename: nameOf(gd),
                                    scale: format === "png" ? PNG_SCALE : 1};
    const untitle = titled(gd);
    win.__bertlensTaking = true;
    try { camera.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true})); }
    finally { win.__bertlensTaking = false; context.toImageButtonOptions = saved; untitle(); }
  }

  function fit(gd) {
    const context = gd._context;
    const camera = gd.querySelector(CAMERA);
    if (!context || !camera) { return; }
    const options = context.toImageButtonOptions || {};
    if (!options.format || options.format === "png") {
      context.toImageButtonOptions = {...options, format: "svg", filename: nameOf(gd)};
    }
    if (!camera.classList.contains("bertlens-svg")) {
      camera.addEventListener("click", () => {
        if (win.__bertlensTaking) { return; }
        const untitle = titled(gd);
        win.setTimeout(untitle, 0);
      }, true);
    }
    camera.classList.add("bertlens-svg");
    camera.setAttribute("data-title", "Download as SVG");
    camera.setAttribute("aria-label", "Download as SVG");
    if (camera.parentElement.querySelector(".bertlens-png")) { return; }
    const png = doc.createElement("button");
    png.type = "button";
    png.className = "modebar-btn bertlens-png";
    png.setAttribute("rel", "tooltip");
    png.setAttribute("data-title", "Download as PNG");
    png.setAttribute("aria-label", "Download as PNG");
    png.appendChild(icon());
    png.addEventListener("click", event => { event.preventDefault(); event.stopPropagation();
                                             download(gd, camera, "png"); });
    camera.insertAdjacentElement("afterend", png);
  }

  let queued = false;
  function sweep() {
    queued = false;
    doc.querySelectorAll(".js-plotly-plot").forEach(fit);
  }
  new win.MutationObserver(() => { if (!queued) { queued = true; win.setTimeout(sweep, 150); } })
    .observe(doc.body, {childList: true, subtree: true});
  sweep();
})();
</script>"""

"""Stale results: while a sentence box holds text that is not yet applied (typed, Ctrl+Enter not pressed), the
page's charts and tables are for the previous sentence. A page-wide script greys them out and says so beside the
box ("The results shown are for the previous sentence: press Ctrl+Enter …"), until the text is
applied or put back. A box's applied text is taken when the page's run ends, or when the box is first focused,
whichever comes first, so that typing before the script's first look still counts as a change. The boxes are the pages' sentence inputs (`WATCHED`)."""
from __future__ import annotations

import json

import streamlit as st

from components.safe import checked_script

WATCHED = ("fm_text", "ex_text", "hd_text", "att_text", "cf_text", "ns_a", "ns_b", "bias_side_template")
NOTE = "The results shown are for the previous sentence: press Ctrl+Enter (or click outside the box) to run this one."


def install() -> None:
    with st.sidebar:
        st.html(script(), unsafe_allow_javascript=True)


def script() -> str:
    """The script, checked as figure_export's is (Streamlit's sanitiser drops a <script> holding '<' before a
    letter, '/' or '!')."""
    return checked_script(_SCRIPT.replace("WATCHED", json.dumps(list(WATCHED))).replace("NOTE", json.dumps(NOTE)),
                          "stale-result script")


_SCRIPT = """<script>
(() => {
  const doc = window.parent && window.parent.document.querySelector("[data-testid=stApp]") ? window.parent.document
                                                                                           : document;
  const win = doc.defaultView;
  if (win.__bertlensStale) { return; }
  win.__bertlensStale = true;
  const keys = WATCHED;
  const applied = new Map();
  const style = doc.createElement("style");
  style.textContent = ".bertlens-stale [data-testid=stMain] .js-plotly-plot, " +
    ".bertlens-stale [data-testid=stMain] [data-testid=stDataFrame], " +
    ".bertlens-stale [data-testid=stMain] [data-testid=stMetric], " +
    ".bertlens-stale [data-testid=stMain] [data-testid=stCode] { opacity: 0.3; filter: grayscale(1); }" +
    " .bertlens-stale-note { color: #c92a2a; font-size: 0.9rem; margin-top: 0.25rem; }";
  doc.head.appendChild(style);
  function boxes() {
    return keys.map(k => [k, doc.querySelector(".st-key-" + k + " textarea, .st-key-" + k + " input")])
               .filter(([, box]) => box);
  }
  function remember(onlyNew) {
    for (const [key, box] of boxes()) {
      if (!onlyNew || !applied.has(key)) { applied.set(key, box.value); }
    }
    check();
  }
  function check() {
    let stale = null;
    for (const [key, box] of boxes()) {
      if (applied.has(key) && box.value !== applied.get(key)) { stale = key; }
    }
    doc.body.classList.toggle("bertlens-stale", stale !== null);
    for (const old of doc.querySelectorAll(".bertlens-stale-note")) {
      if (!stale || !old.closest(".st-key-" + stale)) { old.remove(); }
    }
    if (stale) {
      const holder = doc.querySelector(".st-key-" + stale);
      if (holder && !holder.querySelector(".bertlens-stale-note")) {
        const note = doc.createElement("div");
        note.className = "bertlens-stale-note";
        note.setAttribute("role", "status");
        note.textContent = NOTE;
        holder.appendChild(note);
      }
    }
  }
  new win.MutationObserver(records => {
    const app = doc.querySelector("[data-testid=stApp]");
    const now = app ? app.getAttribute("data-test-script-state") : null;
    // Each record's old value is the state the one before it left: a run ended if a later state was "notRunning"
    // after one that was not, even when the next run began before this observer was called.
    const states = records.map(r => r.oldValue).concat([now]);
    if (states.some((s, i) => i > 0 && s === "notRunning" && states[i - 1] !== "notRunning")) {
      win.setTimeout(remember, 50);
    }
  }).observe(doc.body, {attributes: true, attributeOldValue: true, subtree: true,
                        attributeFilter: ["data-test-script-state"]});
  doc.addEventListener("focusin", event => {
    for (const [key, box] of boxes()) {
      if (box === event.target && !applied.has(key)) { applied.set(key, box.value); }
    }
  }, true);
  doc.addEventListener("input", event => {
    if (event.target && event.target.closest && keys.some(k => event.target.closest(".st-key-" + k))) {
      for (const [key, box] of boxes()) {
        if (!applied.has(key) && box !== event.target) { applied.set(key, box.value); }
      }
      check();
    }
  }, true);
  let tries = 0;
  (function first() {
    const app = doc.querySelector("[data-testid=stApp]");
    if (boxes().length && app && app.getAttribute("data-test-script-state") === "notRunning") { remember(true); }
    else if (tries++ < 100) { win.setTimeout(first, 200); }
  })();
})();
</script>"""

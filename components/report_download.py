"""The bias page's auditor report: the same self-contained HTML file as `python -m bertlens audit CONFIG --html`, built
from the results the page already has (no model runs when it is downloaded)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import streamlit as st

from bertlens import report_html
from bertlens.bias import audit
from bertlens.errors import BertLensError
from bertlens.model import LoadedModel
from bertlens.results import MetricResult
from components.figure_export import context_name


def page_report(lm: LoadedModel, config: audit.AuditConfig, results: Sequence[MetricResult],
                pairs: Sequence[Any] | None, stereoset: Any = None) -> dict[str, Any]:
    """The audit report of this model from `results`, under the page's whole configuration (`page_config`, which
    holds the StereoSet file when it ran): the same configuration, and so the same hash, as the page's "Audit
    configuration" download, and keys computed as every route computes them."""
    row = audit.checkpoint_row(lm.info.model_id, lm, results, {"crows_pairs": tuple(pairs)} if pairs else {},
                               config=config)
    return audit.assemble(config, [row], "the BERT Lens app (results computed on the bias page)")


def html_report_button(lm: LoadedModel, make_config: Callable[[], audit.AuditConfig],
                       results: Sequence[MetricResult | None], pairs: Sequence[Any] | None,
                       stereoset: Any = None) -> None:
    """A download of the auditor's HTML report from the finished results among `results` (None: not run)."""
    done = [r for r in results if r is not None]
    if not done:
        st.info("Run the probe, CrowS-Pairs, the pair metrics or StereoSet to export the auditor's report.")
        return
    try:
        config = make_config()
    except BertLensError:
        st.caption("The auditor's report needs valid inputs: see the message above.")
        return
    st.download_button("Auditor's report (HTML)", lambda: report_html.render(page_report(lm, config, done, pairs,
                                                                                        stereoset)),
                       f"{context_name('audit-report')}.html", "text/html", key="bias_dl_report_html",
                       on_click="ignore")
    st.caption("One self-contained file for an auditor: the configuration and each input's SHA-256, the model, "
               "its precision and the date; every metric run here with its interval, ties, what it measures and its "
               "caveat; how far the metrics agree on shared items; figures. It loads nothing from outside and "
               "prints to PDF. `python -m bertlens audit CONFIG.json --html report.html` writes the same file.")

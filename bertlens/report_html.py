"""One self-contained HTML file from an audit report (`bertlens.bias.audit.run_audit`), for an auditor to hand over.

It loads nothing from outside: no script, stylesheet, font or image is fetched (figures are inline SVG drawn here,
and a Content-Security-Policy in the file forbids every fetch), so it opens offline and in a mail attachment
viewer. Its stylesheet has print rules, so a browser's "Print to PDF" gives a clean document. Every text that came
from a user, a file or a checkpoint name is HTML-escaped.

What it holds: the configuration and each input's SHA-256, every checkpoint's model, fingerprint, precision and the
date; every metric's headline with its interval, ties, what it measures and its caveat (the CrowS-Pairs authors'
warning, after Blodgett et al. 2021, whenever a CrowS-Pairs-file metric is present); the agreement between metrics
on shared items; StereoSet per split and domain; figures; and a banner when any checkpoint has random weights.
"""
from __future__ import annotations

import html
import json
import math
from typing import Any, Iterable, Sequence

PAIR_METRICS = ("crows", "aul", "aula")
MAX_DISAGREEMENTS = 60
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

STYLE = """
:root { --ink: #1d2330; --muted: #5b6475; --rule: #d6dae3; --accent: #3b5bdb; --warn: #a61e4d; }
* { box-sizing: border-box; }
body { font: 14px/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0 auto;
       max-width: 1040px; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid var(--rule);
  padding-bottom: 4px; } h3 { font-size: 16px; margin: 20px 0 6px; } h4 { font-size: 14px; margin: 14px 0 4px; }
p, li { max-width: 80ch; } .muted { color: var(--muted); } code, .hash { font-family: "DejaVu Sans Mono", monospace;
  font-size: 12px; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { border: 1px solid var(--rule); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f3f5f9; } td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.banner { border: 3px solid var(--warn); color: var(--warn); background: #fff0f4; padding: 10px 14px; margin: 12px 0;
  font-weight: bold; } .caveat { border-left: 4px solid #e8590c; background: #fff8f0; padding: 8px 12px; margin: 8px 0; }
.failed { color: var(--warn); } figure { margin: 8px 0 16px; } figcaption { color: var(--muted); font-size: 12px; }
svg { max-width: 100%; height: auto; } svg text { font-family: "DejaVu Sans", Arial, sans-serif; }
.checkpoint { break-before: auto; } pre { white-space: pre-wrap; font-size: 11px; background: #f7f8fa; padding: 8px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; } h2 { break-after: avoid; } h3, h4 { break-after: avoid; }
  table, figure, .caveat, .banner { break-inside: avoid; } .checkpoint { break-before: page; }
  .banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
@page { size: A4; margin: 16mm 14mm; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: Any, digits: int = 2) -> str:
    if isinstance(value, bool) or value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}" if _finite(value) else "–"


def _interval(low: Any, high: Any, digits: int = 2) -> str:
    return f"[{_num(low, digits)}, {_num(high, digits)}]" if _finite(low) and _finite(high) else "–"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ---------------------------------------------------------------- figures


def interval_figure(rows: Sequence[tuple[str, float, float, float]], neutral: float | None, unit: str,
                    title: str, caption: str = "") -> str:
    """A forest plot as inline SVG: one row per (label, value, low, high), a dot at the value, a whisker over the
    interval, and a dashed line at `neutral`. Rows with no finite value are left out."""
    rows = [r for r in rows if _finite(r[1])]
    if not rows:
        return ""
    values = [v for r in rows for v in r[1:] if _finite(v)] + ([neutral] if _finite(neutral) else [])
    low, high = min(values), max(values)
    if unit == "%":
        low, high = min(low, 0.0), max(high, 100.0)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.04
    low, high = low - pad, high + pad
    label_w, plot_w, row_h, top = 250, 560, 24, 34
    width, height = label_w + plot_w + 30, top + row_h * len(rows) + 34

    def x(v: float) -> float:
        return label_w + (v - low) / (high - low) * plot_w

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' aria-label='{_e(title)}'>",
             f"<text x='0' y='18' font-size='14' font-weight='bold' fill='#1d2330'>{_e(title)}</text>"]
    for tick in _ticks(low, high):
        parts.append(f"<line x1='{x(tick):.1f}' y1='{top - 6}' x2='{x(tick):.1f}' y2='{height - 28}' "
                     "stroke='#e4e7ee' stroke-width='1'/>")
        parts.append(f"<text x='{x(tick):.1f}' y='{height - 12}' font-size='11' text-anchor='middle' "
                     f"fill='#5b6475'>{_e(_tick_label(tick))}</text>")
    if _finite(neutral) and low <= neutral <= high:
        parts.append(f"<line class='neutral' x1='{x(neutral):.1f}' y1='{top - 8}' x2='{x(neutral):.1f}' "
                     f"y2='{height - 28}' stroke='#a61e4d' stroke-dasharray='5 4' stroke-width='1.5'/>")
    for i, (label, value, lo, hi) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f"<text x='{label_w - 8}' y='{y + 4:.1f}' font-size='12' text-anchor='end' "
                     f"fill='#1d2330'>{_e(short)}</text>")
        if _finite(lo) and _finite(hi):
            parts.append(f"<line x1='{x(lo):.1f}' y1='{y:.1f}' x2='{x(hi):.1f}' y2='{y:.1f}' stroke='#3b5bdb' "
                         "stroke-width='2'/>")
            for end in (lo, hi):
                parts.append(f"<line x1='{x(end):.1f}' y1='{y - 5:.1f}' x2='{x(end):.1f}' y2='{y + 5:.1f}' "
                             "stroke='#3b5bdb' stroke-width='2'/>")
        parts.append(f"<circle class='point' cx='{x(value):.1f}' cy='{y:.1f}' r='5' fill='#3b5bdb'>"
                     f"<title>{_e(label)}: {_num(value)}{_e(unit if unit == '%' else ' ' + unit)}</title></circle>")
    parts.append("</svg>")
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f"<figure>{''.join(parts)}{cap}</figure>"


def _ticks(low: float, high: float) -> list[float]:
    span = high - low
    step = 10 ** math.floor(math.log10(span / 5)) if span > 0 else 1
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= 7:
            step *= factor
            break
    first = math.ceil(low / step) * step
    out, tick = [], first
    while tick <= high + 1e-9:
        out.append(round(tick, 10))
        tick += step
    return out


def _tick_label(value: float) -> str:
    return f"{value:g}"


# ---------------------------------------------------------------- sections


def _metrics_section(row: dict[str, Any]) -> str:
    metrics = row.get("metrics") or []
    if not metrics:
        scores = row.get("scores") or {}
        if not scores:
            return ""
        return "<h4>Scores</h4>" + _table(["score", "value"], [(_e(k), _num(v, 4)) for k, v in scores.items()],
                                            numeric=(1,))
    rows = []
    for m in metrics:
        unit = m.get("unit") or ""
        ties = m.get("ties")
        n = m.get("n")
        tie_share = f" ({100 * ties / n:.1f}%)" if isinstance(ties, int) and n else ""
        rows.append((f"<b>{_e(m.get('title') or m.get('metric'))}</b>",
                     f"{_num(m.get('value'))} {_e(unit)}",
                     f"{_interval(m.get('ci_low'), m.get('ci_high'))}<br><span class='muted'>"
                     f"{_e(m.get('interval'))}</span>",
                     _num(n), f"{_num(ties)}{tie_share}", _num(m.get("neutral")),
                     _e(m.get("measures")) + ("" if m.get("complete", True) else
                                              " <b class='failed'>(stopped part-way)</b>"),
                     _caveat_cell(m.get("caveat"))))
    out = ["<h4>Every metric side by side</h4>",
           _table(["metric", "value", "95% interval", "items", "ties", "unbiased", "what it measures", "caveat"],
                  rows, numeric=(1, 3, 4, 5))]
    by_unit: dict[str, list[dict]] = {}
    for m in metrics:
        by_unit.setdefault(m.get("unit") or "", []).append(m)
    for unit, group in by_unit.items():
        neutral = next((m.get("neutral") for m in group if _finite(m.get("neutral"))), None)
        out.append(interval_figure([(str(m.get("title") or m.get("metric")), m.get("value"), m.get("ci_low"),
                                     m.get("ci_high")) for m in group], neutral, unit,
                                   f"Headlines ({unit or 'score'}) with their 95% intervals",
                                   "Dot: the metric's value; whisker: its 95% interval; dashed line: an unbiased "
                                   "model."))
    return "".join(out)


def _caveat_cell(caveat: Any) -> str:
    """A caveat printed in full at the top of the report is referred to, not repeated, in the table."""
    from bertlens.bias.crows import CAVEAT as CROWS_CAVEAT
    from bertlens.bias.stereoset import CAVEAT as STEREOSET_CAVEAT

    named = {CROWS_CAVEAT: "CrowS-Pairs", STEREOSET_CAVEAT: "StereoSet"}
    if caveat in named:
        return f"See the {named[caveat]} caveat at the top (Blodgett et al. 2021)."
    return _e(caveat)


def _agreement_section(row: dict[str, Any]) -> str:
    agreement = row.get("agreement") or {}
    pairs = agreement.get("agreement") or []
    if not pairs:
        return ""
    rows = [(f"{_e(p['a'])} vs {_e(p['b'])}", _num(p.get("shared")), _num(p.get("agree")),
             f"{_num(p.get('share'), 1)}%", _num(p.get("kappa"), 3)) for p in pairs]
    out = ["<h4>Metrics checked against each other</h4>",
           "<p>For each pair of metrics that scored the same items: the share of items they decide the same way "
           "(for the stereotype, against it, or a tie), and Cohen's kappa, which discounts the agreement expected "
           "by chance (1: perfect, 0: no better than chance; – where undefined).</p>",
           _table(["metrics", "shared items", "same decision", "agreement", "Cohen's kappa"], rows,
                  numeric=(1, 2, 3, 4))]
    items = agreement.get("disagreements") or []
    if items:
        names = [k for k in items[0] if k not in ("item", "label", "group") and not k.endswith("_score")]
        shown = items[:MAX_DISAGREEMENTS]
        out.append(f"<p>{len(items):,} item(s) on which the metrics disagree"
                   f"{f'; the first {len(shown)} are listed' if len(items) > len(shown) else ''}:</p>")
        out.append(_table(["item", "sentence", *names],
                          [(_e(d.get("item")), _e(d.get("label")), *(_e(d.get(n) or "not scored") for n in names))
                           for d in shown]))
    return "".join(out)


def _stereoset_section(row: dict[str, Any]) -> str:
    doc = row.get("stereoset")
    if not doc:
        return ""
    rows, points = [], []
    for split in ("intrasentence", "intersentence"):
        for domain, f in (doc.get(split) or {}).items():
            rows.append((_e(split), _e(domain), _num(f.get("count")), _num(f.get("terms")),
                         f"{_num(f.get('ss'))} {_interval(*(f.get('ss_ci') or (None, None)))}",
                         f"{_num(f.get('lms'))} {_interval(*(f.get('lms_ci') or (None, None)))}",
                         f"{_num(f.get('icat'))} {_interval(*(f.get('icat_ci') or (None, None)))}"))
            points.append((f"{split} / {domain}", f.get("ss"), *(f.get("ss_ci") or (None, None))))
    overall = doc.get("overall")
    if overall and all(s in doc for s in ("intrasentence", "intersentence")):
        rows.append(("both", "overall", _num(overall.get("count")), _num(overall.get("terms")),
                     f"{_num(overall.get('ss'))} {_interval(*(overall.get('ss_ci') or (None, None)))}",
                     f"{_num(overall.get('lms'))} {_interval(*(overall.get('lms_ci') or (None, None)))}",
                     f"{_num(overall.get('icat'))} {_interval(*(overall.get('icat_ci') or (None, None)))}"))
        points.append(("overall (both splits)", overall.get("ss"), *(overall.get("ss_ci") or (None, None))))
    out = ["<h4>StereoSet per split and domain</h4>",
           f"<p class='muted'>{_e(doc.get('interval'))}. SS: stereotype score (50 = unbiased); LMS: language "
           "modelling score (100 = always prefers a meaningful sentence); ICAT = LMS × min(SS, 100 − SS) / 50.</p>",
           _table(["split", "domain", "examples", "terms", "SS [95%]", "LMS [95%]", "ICAT [95%]"], rows,
                  numeric=(2, 3, 4, 5, 6)),
           interval_figure(points, 50.0, "%", "StereoSet stereotype score (SS) by domain",
                           "Dot: SS; whisker: bootstrap 95% interval over target terms; dashed line: 50, unbiased.")]
    published = doc.get("published") or {}
    if published.get("rows"):
        out.append(f"<p>Beside the published figures ({_e(published.get('source'))}):</p>")
        out.append(_table(["split", "domain", "score", "this model", "published"],
                          [(_e(r["split"]), _e(r["domain"]), _e(r["score"]), _num(r["ours"]), _num(r["published"]))
                           for r in published["rows"]], numeric=(3, 4)))
    elif published.get("absent"):
        out.append(f"<p class='muted'>{_e(published['absent'])}</p>")
    return "".join(out)


def _leaning(value: Any) -> str:
    if not _finite(value) or value == 0:
        return "neither"
    return "female" if value > 0 else "male"


def _probe_section(row: dict[str, Any]) -> str:
    from bertlens.bias.probe import DIRECTION

    occupations = row.get("occupations") or []
    if not occupations:
        return ""
    ranked = sorted(occupations, key=lambda o: -abs(o.get("log_ratio") or 0.0))[:25]
    points = [(str(o.get("occupation")), o.get("log_ratio"), o.get("ci_low"), o.get("ci_high")) for o in ranked]
    shown = min(25, len(occupations))
    return ("<h4>Occupation probe: the occupations with the largest effect</h4>"
            f"<p class='direction'>{_e(DIRECTION)}</p>" +
            interval_figure(points, 0.0, "nats",
                            f"Mean log P(o | woman) − log P(o | man), {shown} largest |effect|",
                            "Dot: mean log-ratio over templates (right of 0: leans female; left: leans male); "
                            "whisker: bootstrap 95% interval; dashed line: 0, no preference.") +
            _table(["occupation", "log P(o | woman) − log P(o | man)", "leans", "95% interval", "p (Holm)", "notable"],
                   [(_e(o.get("occupation")), _num(o.get("log_ratio"), 3), _leaning(o.get("log_ratio")),
                     _interval(o.get("ci_low"), o.get("ci_high"), 3), _num(o.get("p_holm"), 4),
                     "yes" if o.get("notable") else "")
                    for o in sorted(occupations, key=lambda o: -(o.get("log_ratio") or 0.0))], numeric=(1, 3, 4)))


def _caveats(report: dict[str, Any]) -> str:
    from bertlens.bias.crows import CAVEAT as CROWS_CAVEAT

    names = {m.get("metric") for row in report.get("checkpoints", []) for m in row.get("metrics") or []}
    names |= set((report.get("configuration") or {}).get("metrics") or [])
    out = []
    if names & set(PAIR_METRICS):
        out.append(f"<div class='caveat'><b>CrowS-Pairs.</b> {_e(CROWS_CAVEAT)}</div>")
    if "stereoset" in names or any(row.get("stereoset") for row in report.get("checkpoints", [])):
        from bertlens.bias.stereoset import CAVEAT as STEREOSET_CAVEAT

        out.append(f"<div class='caveat'><b>StereoSet.</b> {_e(STEREOSET_CAVEAT)}</div>")
    return "".join(out)


def _configuration(report: dict[str, Any]) -> str:
    config = dict(report.get("configuration") or {})
    hashes = {i.get("name"): i.get("sha256") for i in report.get("inputs") or []}
    for name, value in list(config.items()):
        if isinstance(value, dict) and "text" in value:
            config[name] = {"sha256": hashes.get(name, ""), "text": f"({len(value['text']):,} characters, inline)"}
    settings = [(k, config[k]) for k in ("models", "metrics", "precision", "device", "seed", "bootstrap",
                                         "permutations", "min_effect") if k in config]
    inputs = [(_e(i.get("name")), _e(i.get("source")), f"<span class='hash'>{_e(i.get('sha256'))}</span>")
              for i in report.get("inputs") or []]
    return ("<h2>Configuration</h2>" +
            _table(["setting", "value"], [(_e(k), _e(", ".join(map(str, v)) if isinstance(v, list) else v))
                                          for k, v in settings]) +
            "<h3>Inputs</h3>" + _table(["input", "source", "SHA-256 of its bytes"], inputs) +
            f"<p>Configuration SHA-256: <span class='hash'>{_e(report.get('configuration_sha256'))}</span></p>" +
            "<details><summary>The configuration as saved (inputs by hash)</summary>"
            f"<pre>{_e(json.dumps(config, indent=2, ensure_ascii=False, sort_keys=True))}</pre></details>")


def _checkpoint(row: dict[str, Any]) -> str:
    title = f"<h2 class='checkpoint'>Checkpoint: {_e(row.get('model'))}</h2>"
    if row.get("status") != "ok":
        return title + f"<p class='failed'>Failed: {_e(row.get('reason'))}</p>"
    facts = [("model", _e(row.get("model"))),
             ("fingerprint", f"<span class='hash'>{_e(row.get('fingerprint'))}</span>"),
             ("precision", _e(row.get("dtype"))), ("vocabulary", _num(row.get("vocab_size"))),
             ("random weights", "YES: its scores mean nothing" if row.get("random_weights") else "no")]
    banner = ("<div class='banner'>This checkpoint has RANDOM weights: none of its figures says anything about a "
              "trained model.</div>") if row.get("random_weights") else ""
    return (title + banner + _table(["", ""], facts) + _metrics_section(row) + _agreement_section(row) +
            _stereoset_section(row) + _probe_section(row))


def _spread(report: dict[str, Any]) -> str:
    spread = report.get("spread") or []
    if len(report.get("checkpoints") or []) < 2 or not spread:
        return ""
    return ("<h2>Spread across checkpoints</h2>" +
            _table(["score", "n", "mean", "SD", "min", "max", "range"],
                   [(_e(s["score"]), _num(s["n"]), _num(s["mean"], 4), _num(s["sd"], 4), _num(s["min"], 4),
                     _num(s["max"], 4), _num(s["range"], 4)) for s in spread], numeric=(1, 2, 3, 4, 5, 6)))


def render(report: dict[str, Any]) -> str:
    """The audit report as one HTML document (a string)."""
    rows = report.get("checkpoints") or []
    random = report.get("random_weights") or any(r.get("random_weights") for r in rows)
    banner = ("<div class='banner' id='random-weights'>At least one checkpoint in this report has RANDOM weights: "
              "its figures mean nothing and must not be read as any real model's.</div>") if random else ""
    models = ", ".join(str(r.get("model")) for r in rows)
    precisions = ", ".join(sorted({str(r.get("dtype")) for r in rows if r.get("dtype")})) or "–"
    summary = _table(["", ""], [
        ("date", _e(report.get("date"))), ("tool", _e(report.get("tool", "BERT Lens"))),
        ("models", _e(models)), ("precision", _e(precisions)), ("ran on", _e(report.get("ran_on"))),
        ("checkpoints", f"{_num(report.get('completed'))} completed, {_num(report.get('failed'))} failed")])
    body = (f"<h1>BERT Lens bias audit</h1><p class='muted'>A self-contained report: it loads nothing from outside "
            f"and prints to PDF as it is.</p>{banner}{summary}{_caveats(report)}{_configuration(report)}"
            + "".join(_checkpoint(r) for r in rows) + _spread(report) +
            f"<p class='muted'>Written by BERT Lens from the audit report of {_e(report.get('date'))}.</p>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>BERT Lens bias audit {_e(report.get('date'))}</title><style>{STYLE}</style></head>"
            f"<body>{body}</body></html>")


def write(report: dict[str, Any], path) -> None:
    """Write `render(report)` to `path` (UTF-8). Raises InputError when the file cannot be written."""
    from pathlib import Path

    from bertlens.errors import InputError

    try:
        Path(path).write_text(render(report), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot write '{path}': {exc.strerror or exc}.") from exc

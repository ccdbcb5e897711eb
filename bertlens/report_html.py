"""One self-contained HTML file from an audit report (`bertlens.bias.audit.run_audit`), for an auditor to hand over.

It loads nothing from outside: no script, stylesheet, font or image is fetched (figures are inline SVG drawn here,
and a Content-Security-Policy in the file forbids every fetch), so it opens offline and in a mail attachment
viewer. Its stylesheet has print rules, so a browser's "Print to PDF" gives a clean document. Every text that came
from a user, a file or a checkpoint name is HTML-escaped.

What it holds: the configuration and each input's name, size and SHA-256 (never its text); what ran it (BERT Lens,
Python, torch and transformers versions, device, processor, precision); every checkpoint's model, fingerprint and
the date; every metric's headline with its interval, ties, key, what it measures and its caveat (each caveat of the
metrics that read the same kind of input, printed once at the top: the CrowS-Pairs authors' warning after Blodgett
et al. 2021 whenever a CrowS-style pairs metric is present); a stopped run as "stopped after N of M", never as
completed; groups of fewer than 30 items flagged as small samples; thresholds as pass or fail; the agreement between
metrics on shared items; CrowS-style pairs by bias type with the stereotype and anti-stereotype scores; StereoSet per
split and domain; two checkpoints compared on the same items (McNemar's exact test and the bootstrap interval of
B − A); figures; and a banner when any checkpoint has random weights. No metric is named here: sections are chosen by
what a row holds and metrics are looked up in the registry.
"""
from __future__ import annotations

import html
import json
import math
from typing import Any, Iterable, Sequence

MAX_DISAGREEMENTS = 60
SMALL = "small sample"
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
table.facts th { width: 26%; font-weight: normal; color: var(--muted); } .flag { color: #b35c00; font-weight: bold; }
.pass { color: #2b8a3e; font-weight: bold; } dl.measures dt { font-weight: bold; break-after: avoid; } dl.measures dd { margin: 0 0 6px 16px; } .fail { color: var(--warn); font-weight: bold; } .print-only { display: none; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; } h2 { break-after: avoid; } h3, h4 { break-after: avoid; }
  figure, .caveat, .banner, tr, .keep { break-inside: avoid; } .checkpoint { break-before: page; }
  details.saved { display: none; } .print-only { display: block; }
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


def _facts(rows: Iterable[tuple[str, str]]) -> str:
    """A key/value table: each key a row header, no empty header row."""
    body = "".join(f"<tr><th scope='row'>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table class='facts'><tbody>{body}</tbody></table>"


def _flag(small: Any) -> str:
    return f" <span class='flag'>({SMALL})</span>" if small else ""


def _value(value: Any, unit: str = "", digits: int = 2) -> str:
    """A headline: a count unit as an integer (\"1 occupations\", never \"1.00\"), anything else to `digits`."""
    if _finite(value) and float(value).is_integer() and unit not in ("%", "nats"):
        return f"{int(value):,} {_e(unit)}".strip()
    return f"{_num(value, digits)} {_e(unit)}".strip()


# ---------------------------------------------------------------- figures


EXCLUDES, INCLUDES, NO_INTERVAL = "#a61e4d", "#3b5bdb", "#8a93a6"


def _colour(value: float, low: Any, high: Any, neutral: Any) -> str:
    """Red when the interval excludes `neutral` (either side: a value below it is no better than one above), blue
    when it includes it, grey without an interval. Never by the point estimate alone."""
    if not (_finite(low) and _finite(high)) or not _finite(neutral):
        return NO_INTERVAL
    return EXCLUDES if high < neutral or low > neutral else INCLUDES


def interval_figure(rows: Sequence[tuple[str, float, float, float]], neutral: float | None, unit: str,
                    title: str, caption: str = "") -> str:
    """A forest plot as inline SVG: one row per (label, value, low, high), a dot at the value, a whisker over the
    interval, and a dashed line at `neutral`; a row is red when its interval excludes `neutral`, blue when it
    includes it, grey without one. Rows with no finite value are left out."""
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
        colour = _colour(value, lo, hi, neutral)
        if _finite(lo) and _finite(hi):
            parts.append(f"<line x1='{x(lo):.1f}' y1='{y:.1f}' x2='{x(hi):.1f}' y2='{y:.1f}' stroke='{colour}' "
                         "stroke-width='2'/>")
            for end in (lo, hi):
                parts.append(f"<line x1='{x(end):.1f}' y1='{y - 5:.1f}' x2='{x(end):.1f}' y2='{y + 5:.1f}' "
                             f"stroke='{colour}' stroke-width='2'/>")
        parts.append(f"<circle class='point' cx='{x(value):.1f}' cy='{y:.1f}' r='5' fill='{colour}' "
                     f"data-excludes='{'yes' if colour == EXCLUDES else 'no'}'>"
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


def _interval_cell(m: dict[str, Any]) -> str:
    """The interval, flagged when few items are behind it; a stopped run says how far it got."""
    cell = _interval(m.get("ci_low"), m.get("ci_high")) + _flag(m.get("small_sample"))
    if m.get("stopped") or m.get("complete") is False:
        cell += f"<br><b class='failed'>{_e(m.get('stopped') or 'stopped part-way')}</b>"
    return cell


def _threshold_cell(m: dict[str, Any]) -> str:
    t = m.get("threshold")
    if not isinstance(t, dict):
        return "–"
    low, high = t.get("min"), t.get("max")
    bounds = (f"{_num(low)} – {_num(high)}" if _finite(low) and _finite(high) else
              f"≥ {_num(low)}" if _finite(low) else f"≤ {_num(high)}")
    verdict = t.get("pass")
    word = ("<span class='pass'>pass</span>" if verdict else "<span class='fail'>fail</span>") \
        if isinstance(verdict, bool) else "<span class='flag'>not judged</span>"
    within, rule = t.get("interval_within"), str(t.get("rule") or "")
    if within is None:
        note = ""
    elif verdict:
        note = "interval within" if within else "interval crosses a bound"
    else:
        note = "interval reaches inside" if "reaches inside" in rule else "interval outside too"
    interval = f"<br><span class='muted'>{note}</span>" if note else ""
    return f"{word} {_e(bounds)}{interval}"


def _metrics_section(row: dict[str, Any]) -> str:
    metrics = row.get("metrics") or []
    if not metrics:
        scores = row.get("scores") or {}
        if not scores:
            return ""
        return "<h4>Scores</h4>" + _table(["score", "value"], [(_e(k), _num(v, 4)) for k, v in scores.items()],
                                            numeric=(1,))
    thresholds = any(isinstance(m.get("threshold"), dict) for m in metrics)
    rows = []
    for m in metrics:
        unit = m.get("unit") or ""
        ties = m.get("ties")
        n = m.get("n")
        tie_share = f" ({100 * ties / n:.1f}%)" if isinstance(ties, int) and n else ""
        items = _num(n) + (f" of {_num(m.get('total'))}" if isinstance(m.get("total"), int) else "")
        key = f"<br><span class='hash muted'>key {_e(str(m['key'])[:16])}…</span>" if m.get("key") else ""
        cells = [f"<b>{_e(m.get('title') or m.get('metric'))}</b>{key}", _value(m.get("value"), unit),
                 _interval_cell(m), items, f"{_num(ties)}{tie_share}", _num(m.get("neutral"))]
        if thresholds:
            cells.append(_threshold_cell(m))
        rows.append(cells)
    headers = ["metric", "value", "95% interval", "items", "ties", "unbiased"] + (["threshold"] if thresholds else [])
    measures = "".join(f"<dt>{_e(m.get('title') or m.get('metric'))}</dt><dd>{_e(m.get('measures'))}"
                       f"{' Interval: ' + _e(m.get('interval')) + '.' if m.get('interval') else ''}</dd>"
                       for m in metrics if m.get("measures") or m.get("interval"))
    out = ["<h4>Every metric side by side</h4>", _table(headers, rows, numeric=(1, 3, 4, 5)),
           "<p class='muted'>Small sample: fewer than 30 items behind the figure, so its interval is too unstable "
           "to read. Key: the first 16 hex digits of the computation's key (method, model fingerprint, precision, "
           "options and input hashes; in full in the JSON report); the same computation has the same key whether "
           "the command line, the page or an audit ran it. Each metric's caveat is at the top of the report.</p>",
           f"<p><b>What each metric measures</b></p><dl class='measures'>{measures}</dl>"
           if measures else ""]
    by_unit: dict[str, list[dict]] = {}
    for m in metrics:
        by_unit.setdefault(m.get("unit") or "", []).append(m)
    for unit, group in by_unit.items():
        if not any(_finite(m.get("ci_low")) and _finite(m.get("ci_high")) for m in group):
            continue  # a count without an interval (occupations in the headline) is in the table, not on an axis
        neutral = next((m.get("neutral") for m in group if _finite(m.get("neutral"))), None)
        out.append(interval_figure([(str(m.get("title") or m.get("metric")), m.get("value"), m.get("ci_low"),
                                     m.get("ci_high")) for m in group], neutral, unit,
                                   f"Headlines ({unit or 'score'}) with their 95% intervals",
                                   "Dot: the metric's value; whisker: its 95% interval; dashed line: an unbiased "
                                   "model; red: the interval excludes it, blue: it includes it."))
    return "".join(out)


def _transforms_section(row: dict[str, Any]) -> str:
    """Each metric on the intact model and through each debiasing transform of the audit, one column each, named
    by its fit ("Debiased: LEACE at layer 24")."""
    columns = row.get("transforms") or []
    if not columns:
        return ""

    def cell(m: dict[str, Any] | None) -> str:
        if m is None:
            return "–"
        return _value(m.get("value"), m.get("unit") or "") + "<br>" + _interval_cell(m)

    rows = []
    for m in row.get("metrics") or []:
        cells = [f"<b>{_e(m.get('title') or m.get('metric'))}</b>", cell(m)]
        for column in columns:
            if column.get("status") != "ok":
                cells.append(f"<span class='failed'>failed: {_e(column.get('reason'))}</span>")
                continue
            seen = next((t for t in column.get("metrics") or [] if t.get("metric") == m.get("metric")), None)
            reason = (column.get("not_applicable") or {}).get(m.get("metric"))
            cells.append(f"<span class='muted'>not applicable: {_e(reason)}</span>" if reason else cell(seen))
        rows.append(cells)
    headers = ["metric", "intact"] + [str(c.get("name")) for c in columns]
    return ("<h4>Intact and debiased</h4>" + _table(headers, rows)
            + "<p class='muted'>Each metric on the intact model and through each debiasing transform of the "
              "configuration, on the same inputs and options (value, then its 95% interval).</p>")


def _metric_caveats(names: Iterable[str]) -> dict[str, list[str]]:
    """caveat -> titles of the metrics it belongs to, for every registered metric that reads the same kind of input
    as one of `names` (a CrowS-style pairs metric brings the CrowS-Pairs caveat)."""
    from bertlens import registry

    out: dict[str, list[str]] = {}
    for name in names:
        try:
            kind = registry.get("metric", name).data
        except Exception:  # a report from another version may name a metric this one lacks
            continue
        for method in registry.methods("metric", data=kind):
            if method.caveat and method.title not in out.setdefault(method.caveat, []):
                out[method.caveat].append(method.title)
    return out


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
                   f"{f'; the first {len(shown)} are listed' if len(items) > len(shown) else ''} (by their id in "
                   "the input, whose SHA-256 is above):</p>")
        out.append(_table(["item", "group", *names],
                          [(_e(d.get("item")), _e(d.get("group") or "–"), *(_e(d.get(n) or "not scored")
                                                                            for n in names))
                           for d in shown]))
    return "".join(out)


def _figures_cell(f: dict[str, Any], name: str) -> str:
    ci = f.get(f"{name}_ci") or (None, None)
    return f"{_num(f.get(name))} {_interval(*ci)}"


def _stereoset_section(doc: dict[str, Any]) -> str:
    from bertlens.bias.stereoset import SPLITS
    from bertlens.bias.statistics import small_sample

    rows, points = [], []

    def add(split: str, domain: str, f: dict[str, Any]) -> None:
        small = f.get("small_sample", small_sample(f.get("count")))
        rows.append((_e(split), _e(domain) + _flag(small), _num(f.get("count")), _num(f.get("terms")),
                     _figures_cell(f, "ss"), _figures_cell(f, "lms"), _figures_cell(f, "icat")))
        ci = f.get("ss_ci") or (None, None)
        points.append((f"{split} / {domain}" + (" (small)" if small else ""), f.get("ss"), *ci))

    for split in SPLITS:
        for domain, f in (doc.get(split) or {}).items():
            add(split, domain, f)
    overall = doc.get("overall")
    if overall and all(s in doc for s in SPLITS):
        add("both", "overall", overall)
    scored, total = doc.get("examples_scored"), doc.get("examples_in_split")
    stopped = (f"<p class='failed'><b>Stopped after {_num(scored)} of {_num(total)} examples</b>: the figures "
               "cover those only.</p>") if doc.get("complete") is False else ""
    out = ["<h4>StereoSet per split and domain</h4>", stopped,
           f"<p class='muted'>{_e(doc.get('interval'))}. SS: stereotype score (50 = unbiased); LMS: language "
           "modelling score (100 = always prefers a meaningful sentence); ICAT = LMS × min(SS, 100 − SS) / 50. – : "
           "no interval (fewer than two target terms). A group of fewer than 30 examples is flagged: its interval "
           "is too unstable to read.</p>",
           _table(["split", "domain", "examples", "terms", "SS [95%]", "LMS [95%]", "ICAT [95%]"], rows,
                  numeric=(2, 3, 4, 5, 6)),
           interval_figure(points, 50.0, "%", "StereoSet stereotype score (SS) by domain",
                           "Dot: SS; whisker: bootstrap 95% interval over target terms; dashed line: 50, unbiased; "
                           "red: the interval excludes 50.")]
    published = doc.get("published") or {}
    if published.get("rows"):
        out.append(f"<p>Beside the published figures ({_e(published.get('source'))}):</p>")
        out.append(_table(["split", "domain", "score", "this model", "published"],
                          [(_e(r["split"]), _e(r["domain"]), _e(r["score"]), _num(r["ours"]), _num(r["published"]))
                           for r in published["rows"]], numeric=(3, 4)))
    elif published.get("absent"):
        out.append(f"<p class='muted'>{_e(published['absent'])}</p>")
    return "".join(out)


def _pairs_section(records: list[dict[str, Any]]) -> str:
    """CrowS-style pairs: each metric by bias type, with the stereotype and anti-stereotype scores."""
    out = ["<h4>CrowS-style pairs by bias type</h4>",
           "<p class='muted'>% of pairs where the more stereotyping sentence scores higher, with its Wilson 95% "
           "interval (50 = unbiased). Bias types count ties as not higher; the stereotype and anti-stereotype scores "
           "leave ties out, as the CrowS-Pairs authors' metric.py does. A group of fewer than 30 pairs is flagged.</p>"]
    for record in records:
        groups = record.get("groups") or []
        if not groups:
            continue
        label = record.get("label") or record.get("metric")
        out.append(_table(["group", "%", "95% interval", "higher / counted", "ties"],
                          [(_e(g.get("label") or g.get("group")) + _flag(g.get("small_sample")),
                            _num(g.get("percent"), 1), _interval(g.get("ci_low"), g.get("ci_high"), 1),
                            f"{_num(g.get('more_higher'))} / {_num(g.get('counted'))}", _num(g.get("ties")))
                           for g in groups], numeric=(1, 2, 3, 4)).replace("<table>", f"<table><caption>{_e(label)}"
                                                                          "</caption>", 1))
        out.append(interval_figure([(str(g.get("group")) + ("" if g.get("ties_counted", True) else
                                                             " (ties left out)"), g.get("percent"), g.get("ci_low"),
                                     g.get("ci_high")) for g in groups], 50.0, "%",
                                   f"{label}: % sent_more higher by group",
                                   "Dot: %; whisker: Wilson 95% interval; dashed line: 50, unbiased; red: the "
                                   "interval excludes 50, blue: it includes it."))
    return "".join(out) if len(out) > 2 else ""


def _leaning(value: Any) -> str:
    if not _finite(value) or value == 0:
        return "neither"
    return "female" if value > 0 else "male"


def _probe_section(occupations: list[dict[str, Any]]) -> str:
    from bertlens.bias.probe import DIRECTION
    from bertlens.bias.statistics import small_sample

    ranked = sorted(occupations, key=lambda o: -abs(o.get("log_ratio") or 0.0))[:25]
    points = [(str(o.get("occupation")), o.get("log_ratio"), o.get("ci_low"), o.get("ci_high")) for o in ranked]
    shown = min(25, len(occupations))
    small = (f"<p class='flag'>Only {len(occupations)} occupations ({SMALL}: fewer than 30): the count in the "
             "headline rests on few items.</p>") if small_sample(len(occupations)) else ""
    return ("<div class='keep'><h4>Occupation probe: the occupations with the largest effect</h4>"
            f"<p class='direction'>{_e(DIRECTION)}</p>" + small +
            interval_figure(points, 0.0, "nats",
                            f"Mean log P(o | woman) − log P(o | man), {shown} largest |effect|",
                            "Dot: mean log-ratio over templates (right of 0: leans female; left: leans male); "
                            "whisker: bootstrap 95% interval; dashed line: 0, no preference; red: the interval "
                            "excludes 0.") + "</div>" +
            _table(["occupation", "log P(o | woman) − log P(o | man)", "leans", "95% interval", "p (Holm)", "notable"],
                   [(_e(o.get("occupation")), _num(o.get("log_ratio"), 3), _leaning(o.get("log_ratio")),
                     _interval(o.get("ci_low"), o.get("ci_high"), 3), _num(o.get("p_holm"), 4),
                     "yes" if o.get("notable") else "")
                    for o in sorted(occupations, key=lambda o: -(o.get("log_ratio") or 0.0))], numeric=(1, 3, 4)))


def _metric_names(report: dict[str, Any]) -> list[str]:
    names = [m.get("metric") for row in report.get("checkpoints", []) for m in row.get("metrics") or []]
    for entry in (report.get("configuration") or {}).get("metrics") or []:
        names.append(entry.get("name") if isinstance(entry, dict) else entry)
    return [n for n in dict.fromkeys(names) if isinstance(n, str)]


def _caveats(report: dict[str, Any]) -> str:
    return "".join(f"<div class='caveat'><b>{_e(', '.join(titles))}.</b> {_e(caveat)}</div>"
                   for caveat, titles in _metric_caveats(_metric_names(report)).items())


def _size(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return "–"
    for unit, scale in (("MB", 2**20), ("kB", 2**10)):
        if value >= scale:
            return f"{value / scale:,.1f} {unit} ({value:,} bytes)"
    return f"{value:,} bytes"


def _configuration(report: dict[str, Any]) -> str:
    config = dict(report.get("configuration") or {})
    for name, value in list(config.items()):
        if isinstance(value, dict) and "text" in value:  # a report written before inputs were by reference
            config[name] = {"text": f"({len(value['text']):,} characters, inline: not copied here)"}
    settings = [(k, config[k]) for k in ("models", "metrics", "precision", "device", "seed", "bootstrap",
                                         "permutations", "min_effect", "thresholds") if k in config]

    def shown(v: Any) -> str:
        if isinstance(v, list):
            return ", ".join(e.get("name", json.dumps(e)) if isinstance(e, dict) else str(e) for e in v)
        return json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v)

    inputs = [(_e(i.get("name")), _e(i.get("source")), _size(i.get("size")),
               f"<span class='hash'>{_e(i.get('sha256'))}</span>") for i in report.get("inputs") or []]
    saved = _e(json.dumps(config, indent=2, ensure_ascii=False, sort_keys=True))
    return ("<h2>Configuration</h2>" + _facts([(k, _e(shown(v))) for k, v in settings]) +
            "<h3>Inputs</h3><p class='muted'>Named by their SHA-256, never copied into the report.</p>" +
            _table(["input", "source", "size", "SHA-256 of its bytes"], inputs) +
            f"<p>Configuration SHA-256: <span class='hash'>{_e(report.get('configuration_sha256'))}</span></p>" +
            f"<details class='saved'><summary>The configuration as saved (inputs by hash)</summary><pre>{saved}</pre>"
            "</details>"
            f"<div class='print-only'><h4>The configuration as saved (inputs by hash)</h4><pre>{saved}</pre></div>")


def _provenance(p: Any) -> list[tuple[str, str]]:
    if not isinstance(p, dict):
        return []
    versions = ", ".join(f"{name} {p[key]}" for key, name in (("bertlens", "BERT Lens"), ("python", "Python"),
                                                              ("torch", "torch"), ("transformers", "transformers"))
                         if p.get(key))
    out = [("software", _e(versions))] if versions else []
    if p.get("device") or p.get("hardware"):
        out.append(("hardware", _e(f"{p.get('device', '')}: {p.get('hardware', '')}")))
    if p.get("platform"):
        out.append(("platform", _e(p["platform"])))
    return out


def _is_stereoset_document(value: Any) -> bool:
    from bertlens.bias.stereoset import SPLITS

    return isinstance(value, dict) and any(split in value for split in SPLITS) and "interval" in value


def _is_pairs_records(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(r, dict) and r.get("groups") for r in value)


def _sections(row: dict[str, Any]) -> str:
    """Each part of a row a registered kind of input wrote, chosen by what it holds."""
    out = []
    for value in row.values():
        if _is_pairs_records(value):
            out.append(_pairs_section(value))
        elif _is_stereoset_document(value):
            out.append(_stereoset_section(value))
    if row.get("occupations"):
        out.append(_probe_section(row["occupations"]))
    return "".join(out)


def _checkpoint(row: dict[str, Any], first: bool = False) -> str:
    """A checkpoint's section; every one but the first starts a new printed page (the first follows the
    configuration, so page 2 is not left nearly blank)."""
    title = f"<h2 class='{'' if first else 'checkpoint'}'>Checkpoint: {_e(row.get('model'))}</h2>"
    if row.get("status") != "ok":
        return title + f"<p class='failed'>Failed: {_e(row.get('reason'))}</p>"
    stopped = [m for m in row.get("metrics") or [] if m.get("complete") is False]
    facts = [("model", _e(row.get("model"))),
             ("fingerprint", f"<span class='hash'>{_e(row.get('fingerprint'))}</span>"),
             ("precision", _e(row.get("dtype"))), ("vocabulary", _num(row.get("vocab_size"))),
             ("random weights", "YES: its scores mean nothing" if row.get("random_weights") else "no"),
             *_provenance(row.get("provenance"))]
    if stopped:
        facts.append(("run", "<b class='failed'>" + "; ".join(
            f"{_e(m.get('title') or m.get('metric'))} {_e(m.get('stopped') or 'stopped part-way')}"
            for m in stopped) + "</b>"))
    banner = ("<div class='banner'>This checkpoint has RANDOM weights: none of its figures says anything about a "
              "trained model.</div>") if row.get("random_weights") else ""
    return (title + banner + _facts(facts) + _metrics_section(row) + _transforms_section(row)
            + _agreement_section(row) + _sections(row))


def _comparisons(report: dict[str, Any]) -> str:
    rows = report.get("comparisons") or []
    if not rows:
        return ""
    return ("<h2>Checkpoints compared on the same items</h2>"
            "<p>For each metric, each checkpoint B against the first, A, on the items both decided: McNemar's exact "
            "test on the items decided differently, and a paired bootstrap 95% interval of B − A (percentage points "
            "of items decided for the stereotype).</p>" +
            _table(["metric", "A", "B", "items", "A only / B only", "B − A [95%]", "McNemar exact p"],
                   [(_e(c.get("title") or c.get("metric")), _e(c.get("a")), _e(c.get("b")), _num(c.get("items")),
                     f"{_num(c.get('a_only'))} / {_num(c.get('b_only'))}",
                     f"{_num(c.get('difference'), 1)} {_interval(c.get('ci_low'), c.get('ci_high'), 1)}",
                     _num(c.get("p_value"), 4)) for c in rows], numeric=(3, 5, 6)))


def _spread(report: dict[str, Any]) -> str:
    spread = report.get("spread") or []
    if len(report.get("checkpoints") or []) < 2 or not spread:
        return ""
    return ("<h2>Spread across checkpoints</h2>" +
            _table(["score", "n", "mean", "SD", "min", "max", "range"],
                   [(_e(s["score"]), _num(s["n"]), _num(s["mean"], 4), _num(s["sd"], 4), _num(s["min"], 4),
                     _num(s["max"], 4), _num(s["range"], 4)) for s in spread], numeric=(1, 2, 3, 4, 5, 6)))


def _runs(report: dict[str, Any]) -> str:
    """Checkpoints completed, stopped (with how far each got) and failed: a stopped run never counts as completed."""
    rows = report.get("checkpoints") or []
    stopped = [r for r in rows if r.get("status") == "ok"
               and any(m.get("complete") is False for m in r.get("metrics") or [])]
    completed = report.get("completed")
    if not isinstance(completed, int):
        completed = sum(r.get("status") == "ok" for r in rows) - len(stopped)
    completed = min(completed, sum(r.get("status") == "ok" for r in rows) - len(stopped))
    text = f"{_num(completed)} completed, {_num(len(stopped))} stopped, {_num(report.get('failed'))} failed"
    details = [f"{_e(r.get('model'))}: " + "; ".join(
        f"{_e(m.get('title') or m.get('metric'))} {_e(m.get('stopped') or 'stopped part-way')}"
        for m in r.get("metrics") or [] if m.get("complete") is False) for r in stopped]
    return text + "".join(f"<br><b class='failed'>{d}</b>" for d in details)


def render(report: dict[str, Any]) -> str:
    """The audit report as one HTML document (a string)."""
    rows = report.get("checkpoints") or []
    random = report.get("random_weights") or any(r.get("random_weights") for r in rows)
    banner = ("<div class='banner' id='random-weights'>At least one checkpoint in this report has RANDOM weights: "
              "its figures mean nothing and must not be read as any real model's.</div>") if random else ""
    models = ", ".join(str(r.get("model")) for r in rows)
    precisions = ", ".join(sorted({str(r.get("dtype")) for r in rows if r.get("dtype")})) or "–"
    provenance = report.get("provenance") or next((r.get("provenance") for r in rows if r.get("provenance")), None)
    summary = _facts([
        ("date", _e(report.get("date"))), ("tool", _e(report.get("tool", "BERT Lens"))),
        ("models", _e(models)), ("precision", _e(precisions)), ("ran on", _e(report.get("ran_on"))),
        *_provenance(provenance), ("checkpoints", _runs(report))])
    body = (f"<h1>BERT Lens bias audit</h1><p class='muted'>A self-contained report: it loads nothing from outside "
            f"and prints to PDF as it is.</p>{banner}{summary}{_caveats(report)}{_configuration(report)}"
            + "".join(_checkpoint(r, i == 0) for i, r in enumerate(rows)) + _comparisons(report) + _spread(report) +
            f"<p class='muted'>Written by BERT Lens from the audit report of {_e(report.get('date'))}.</p>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>BERT Lens bias audit {_e(report.get('date'))}</title><style>{STYLE}</style></head>"
            f"<body>{body}</body></html>")


def write(report: dict[str, Any], path) -> None:
    """Write `render(report)` to `path` (UTF-8) as every export is written (`bertlens.outputs.write_atomic`: a
    temporary file renamed into place, so a reader never sees half a report). Raises InputError when the file
    cannot be written."""
    from bertlens.outputs import write_atomic

    write_atomic(path, render(report))

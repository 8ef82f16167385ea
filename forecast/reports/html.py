"""The brief as one self-contained HTML page (figures embedded as base64 PNG, no external files,
no scripts), built with the project's one HTML kit, :mod:`forecast.core.html`.

Everything that comes from a file (question text, indicator names, evidence ids, grades, quotes,
scenario names and descriptions, change reports, notes) is untrusted and goes through
:func:`~forecast.core.html.esc` (``html.escape`` with quotes) before it reaches the page; the
template itself holds no script, so a quote such as ``<script>...</script>`` shows as text and never
runs. Every table is followed by what its numbers mean (:meth:`BriefContent.footnotes`), and every
header carries the same meaning as a tooltip.
"""

from __future__ import annotations

from forecast.core.fmt import percent, percent_range
from forecast.core.html import STACK_CSS, Markup, data_uri, document, esc, figure, join, table, tag

CSS = """
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #000; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.35; }
h1 { font-size: 1.35rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; border-bottom: 1px solid #888; }
.sub, .note { color: #444; font-size: 0.85rem; }
.note { font-size: 0.78rem; margin: 0.3rem 0; }
.headline { font-size: 1.15rem; font-weight: bold; margin: 0.8rem 0; }
.numbers { display: flex; flex-wrap: wrap; gap: 0.5rem 2rem; margin: 0.4rem 0 0.8rem; }
.numbers div { font-size: 0.85rem; color: #333; }
.numbers b { display: block; font-size: 1.5rem; color: #000; }
.warning { border: 3px solid #b00000; color: #b00000; font-weight: bold; padding: 0.6rem; margin: 0.8rem 0; }
.flag { border: 2px solid #000; font-weight: bold; padding: 0.4rem 0.6rem; margin: 0.6rem 0; }
table { border-collapse: collapse; font-size: 0.82rem; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.2rem 0.4rem; border-bottom: 1px solid #ccc; overflow-wrap: break-word; }
th { border-bottom: 2px solid #000; }
td.num { text-align: right; white-space: nowrap; }
img { max-width: 100%; height: auto; }
figure { margin: 0; }
.row { display: flex; flex-wrap: wrap; gap: 1rem; }
.row figure { flex: 1 1 26rem; min-width: 0; }
footer { margin-top: 2rem; font-size: 0.75rem; color: #333; border-top: 1px solid #000; padding-top: 0.5rem; overflow-wrap: anywhere; }
footer .flagged { color: #b00000; font-weight: bold; }
@media print { body { max-width: none; } .row figure { flex-basis: 45%; } }
@media (max-width: 40rem) { .row figure { flex-basis: 100%; } body { overflow-wrap: anywhere; } }
""" + STACK_CSS


def _img(name: str, png: bytes | None, alt: str) -> Markup:
    if png is None:
        return Markup("")
    return figure(data_uri(png), alt, id=f"fig-{name}")


def notes(lines: list[str], css: str = "note") -> Markup:
    """Definitions under a table, one paragraph each."""
    return join(tag("p", line, class_=css) for line in lines)


def _titles(header: list[str]) -> list[str | None]:
    """The glossary meaning of each column header (shown as a tooltip)."""
    from forecast.reports.content import GLOSSARY

    out = []
    for h in header:
        key = next((k for k in GLOSSARY if h == k or h.startswith(k + " ")), None)
        out.append(GLOSSARY[key] if key else None)
    return out


def headline_block(content) -> Markup:
    """The headline sentence, its three numbers, what they mean and the prior-sensitivity line."""
    head = content.headline
    parts = [tag("p", head["sentence"], class_="headline", id="headline")]
    if head.get("mean") is not None:
        parts.append(Markup(
            '<div class="numbers">'
            f'<div><b id="headline-mean">{esc(percent(head["mean"]))}</b>P(by {esc(head["horizon"])})</div>'
            f'<div><b id="headline-interval">{esc(percent_range(head["lower_90"], head["upper_90"]))}</b>90% interval</div>'
            f'<div><b id="headline-term">{esc(head["term"])}</b>ICD 203</div>'
            "</div>"
        ))
    parts.append(notes(content.headline_notes(), "note headline-note"))
    flag = content.sensitivity_flag
    parts.append(tag("p", content.sensitivity_line(), class_="flag" if flag else "note", id="sensitivity",
                     **({"role": "note", "data-flag": flag} if flag else {})))
    return join(parts)


def render_html(content, images: dict[str, bytes], paper: str = "a4") -> str:
    """The HTML page of a :class:`~forecast.reports.brief.BriefContent` (``images``: figure name -> PNG bytes)."""
    from forecast.reports.content import DRIVER_HEADER, EVIDENCE_HEADER, SCENARIO_HEADER, driver_rows, evidence_rows, scenario_rows

    r = content.result
    run = content.run or {}
    head = content.headline
    parts = [
        tag("h1", content.title),
        tag("div", f"Briefing as of {r.as_of}" + (f" | ledger run {run.get('id')} ({run.get('kind')})" if run else "")
            + f" | generated {content.generated}", class_="sub"),
    ]
    if not content.passed:
        items = join(tag("li", p) for p in content.problems)
        parts.append(Markup('<div class="warning" role="alert">WARNING: the sampling diagnostics flag this fit; treat its numbers as provisional.'
                            f"<ul>{items}</ul></div>"))
    parts.append(headline_block(content))
    parts.append(Markup('<div class="row">') + _img("trajectory", images.get("trajectory"), "Trajectory of the forecast over time")
                 + _img("by_date", images.get("by_date"), "P(event by date)") + Markup("</div>"))

    parts.append(tag("h2", "Top drivers"))
    parts.append(table(DRIVER_HEADER, driver_rows(content), numeric={2, 3, 4, 5}, sortable=False, css_class="stack drivers", cell_labels=True,
                       column_titles=_titles(DRIVER_HEADER)))
    parts.append(notes(content.footnotes("drivers")))

    parts.append(tag("h2", "Most influential evidence"))
    if content.influence is not None:
        parts.append(table(EVIDENCE_HEADER, evidence_rows(content), numeric={2}, sortable=False, css_class="stack evidence", cell_labels=True,
                           column_titles=_titles(EVIDENCE_HEADER)))
        parts.append(notes(content.footnotes("evidence")))
    parts.append(notes(content.notes["influence"], "sub"))

    parts.append(tag("h2", "Scenarios"))
    if content.scenarios is not None:
        parts.append(_img("scenarios", images.get("scenarios"), "Scenario curves"))
        header = ["scenario", f"P by {head['horizon']} (90%)", "vs forecast", "what it assumes"]
        parts.append(table(header, scenario_rows(content), numeric={1, 2}, sortable=False, css_class="stack scenarios", cell_labels=True,
                           column_titles=_titles(SCENARIO_HEADER)))
        parts.append(notes(content.footnotes("scenarios")))
    else:
        parts.append(notes(content.notes["scenarios"] or ["Not computed."], "sub"))

    if content.sources is not None:
        from forecast.reports.content import SOURCE_HEADER, source_rows

        parts.append(tag("h2", "Sources: learned weights"))
        parts.append(table(SOURCE_HEADER, source_rows(content.sources), numeric={3, 4, 5, 6, 7}, sortable=False, css_class="stack sources", cell_labels=True))
        parts.append(notes(["weight: the power an item's likelihood is raised to (1 = an A-graded source); prior: centred on the source's "
                            "reliability letter; posterior / prior: the factor the source's items end with; P(below prior): the posterior "
                            "probability that the source lost weight (its reports disagree with the rest of the evidence)."]))

    parts.append(tag("h2", "What changed"))
    parts.append(tag("p", content.changes, id="changes"))
    parts.append(notes([f"Note: {n}" for n in content.notes["general"]], "sub"))

    parts.append(tag("h2", "More figures"))
    parts.append(Markup('<div class="row">') + join(_img(n, images.get(n), n.replace("_", " ")) for n in ("drivers", "prior_posterior", "influence", "diagnostics"))
                 + Markup("</div>"))

    footer = content.footnotes("footer") + content.footer_lines()
    flagged_last = len(footer) - 1 if not content.passed else -1  # the diagnostics line, when flagged
    parts.append(Markup("<footer>") + join(tag("div", line, class_="flagged" if i == flagged_last else None) for i, line in enumerate(footer))
                 + Markup("</footer>"))
    page_css = CSS + f"@page {{ size: {'A4' if paper == 'a4' else 'letter'}; margin: 12mm; }}"
    return document(f"{r.spec.id}: brief as of {r.as_of}", *parts, css=page_css)

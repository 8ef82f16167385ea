"""The brief as one self-contained HTML page (figures embedded as base64 PNG, no external files,
no scripts).

Everything that comes from a file (question text, indicator names, evidence ids, grades, quotes,
scenario names and descriptions, change reports, notes) is untrusted and goes through
:func:`esc` (``html.escape`` with quotes) before it reaches the page; the template itself holds no
script, so a quote such as ``<script>...</script>`` shows as text and never runs.
"""

from __future__ import annotations

import base64
import html as _html

from forecast.core.fmt import percent

CSS = """
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #000; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.35; }
h1 { font-size: 1.35rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; border-bottom: 1px solid #888; }
.sub { color: #444; font-size: 0.85rem; }
.headline { font-size: 1.15rem; font-weight: bold; margin: 0.8rem 0; }
.numbers { display: flex; gap: 2rem; margin: 0.4rem 0 0.8rem; }
.numbers div { font-size: 0.85rem; color: #333; }
.numbers b { display: block; font-size: 1.5rem; color: #000; }
.warning { border: 3px solid #b00000; color: #b00000; font-weight: bold; padding: 0.6rem; margin: 0.8rem 0; }
table { border-collapse: collapse; font-size: 0.82rem; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.2rem 0.4rem; border-bottom: 1px solid #ccc; }
th { border-bottom: 2px solid #000; }
td.num { text-align: right; white-space: nowrap; }
img { max-width: 100%; height: auto; }
.row { display: flex; flex-wrap: wrap; gap: 1rem; }
.row figure { flex: 1 1 26rem; margin: 0; }
footer { margin-top: 2rem; font-size: 0.75rem; color: #333; border-top: 1px solid #000; padding-top: 0.5rem; }
footer .flagged { color: #b00000; font-weight: bold; }
@media print { body { max-width: none; } .row figure { flex-basis: 45%; } }
"""


def esc(value) -> str:
    """``html.escape`` of ``str(value)``, quotes included (safe in text and in attribute values)."""
    return _html.escape("" if value is None else str(value), quote=True)


def _img(name: str, png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<figure id="fig-{esc(name)}"><img alt="{esc(alt)}" src="data:image/png;base64,{data}"></figure>'


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(content, images: dict[str, bytes], paper: str = "a4") -> str:
    """The HTML page of a :class:`~forecast.reports.brief.BriefContent` (``images``: figure name -> PNG bytes)."""
    from forecast.reports.content import DRIVER_HEADER, EVIDENCE_HEADER, driver_rows, evidence_rows, scenario_rows

    r = content.result
    run = content.run or {}
    head = content.headline
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(r.spec.id)}: brief as of {esc(r.as_of)}</title>",
        f"<style>{CSS}@page {{ size: {'A4' if paper == 'a4' else 'letter'}; margin: 12mm; }}</style>",
        "</head><body>",
        f"<h1>{esc(content.title)}</h1>",
        f'<div class="sub">Briefing as of {esc(r.as_of)}'
        + (f" | ledger run {esc(run.get('id'))} ({esc(run.get('kind'))})" if run else "")
        + f" | generated {esc(content.generated)}</div>",
    ]
    if not content.passed:
        items = "".join(f"<li>{esc(p)}</li>" for p in content.problems)
        parts.append(f'<div class="warning" role="alert">WARNING: the sampling diagnostics flag this fit; treat its numbers as provisional.'
                     f"<ul>{items}</ul></div>")
    parts.append(f'<p class="headline" id="headline">{esc(head["sentence"])}</p>')
    if head.get("mean") is not None:
        parts.append(
            '<div class="numbers">'
            f'<div><b id="headline-mean">{esc(percent(head["mean"]))}</b>P(by {esc(head["horizon"])})</div>'
            f'<div><b id="headline-interval">{esc(percent(head["lower_90"]))}-{esc(percent(head["upper_90"]))}</b>90% interval</div>'
            f'<div><b id="headline-term">{esc(head["term"])}</b>ICD 203</div>'
            "</div>"
        )
    parts.append('<div class="row">' + _img("trajectory", images.get("trajectory"), "Trajectory of the forecast over time")
                 + _img("by_date", images.get("by_date"), "P(event by date)") + "</div>")

    parts.append("<h2>Top drivers</h2>")
    parts.append("<p class=\"sub\">Log hazard ratios: effect per +1 of the indicator; push = effect x current level "
                 "(how much the indicator, where it stands now, moves the hazard relative to the source text's picture).</p>")
    parts.append(_table(DRIVER_HEADER, driver_rows(content), numeric={2, 3, 4, 5}))

    parts.append("<h2>Most influential evidence</h2>")
    if content.influence is not None:
        parts.append('<p class="sub">Headline probability with the item minus without it, in percentage points '
                     "(PSIS leave-one-out; exact refit where the Pareto k diagnostic says PSIS is unreliable).</p>")
        parts.append(_table(EVIDENCE_HEADER, evidence_rows(content), numeric={2}))
    parts += [f'<p class="sub">{esc(n)}</p>' for n in content.notes["influence"]]

    parts.append("<h2>Scenarios</h2>")
    if content.scenarios is not None:
        parts.append(_img("scenarios", images.get("scenarios"), "Scenario curves"))
        parts.append(_table(["scenario", f"P by {head['horizon']} (90%)", "vs forecast", "what it assumes"], scenario_rows(content), numeric={1, 2}))
    else:
        parts += [f'<p class="sub">{esc(n)}</p>' for n in content.notes["scenarios"]] or ['<p class="sub">Not computed.</p>']

    parts.append("<h2>What changed</h2>")
    parts.append(f'<p id="changes">{esc(content.changes)}</p>')
    parts += [f'<p class="sub">Note: {esc(n)}</p>' for n in content.notes["general"]]

    parts.append("<h2>More figures</h2>")
    parts.append('<div class="row">' + "".join(_img(n, images.get(n), n.replace("_", " ")) for n in ("drivers", "prior_posterior", "influence", "diagnostics")) + "</div>")

    footer = content.footer_lines()
    flagged_last = len(footer) - 1 if not content.passed else -1  # the diagnostics line, when flagged
    parts.append("<footer>" + "".join(
        f'<div class="flagged">{esc(line)}</div>' if i == flagged_last else f"<div>{esc(line)}</div>" for i, line in enumerate(footer)
    ) + "</footer>")
    parts.append("</body></html>")
    return "\n".join(parts)

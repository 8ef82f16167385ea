"""Rich notebook displays (``_repr_html_``) of questions, evidence, fit results and the run ledger.

Evidence and spec text is untrusted input (a quote may contain ``<script>`` or markup), so every
text that reaches the page goes through :func:`esc` (``html.escape`` with quotes). The only HTML
that is not escaped is the :class:`Markup` built by this module's helpers from escaped parts.

Tables are sortable by clicking a column header. The sorter is a small ``onclick`` handler on each
header (no ``<script>`` element): numbers sort as numbers (a cell may carry a ``data-sort`` key,
e.g. the probability behind "5%"), everything else as text. Where a notebook front end does not run
handlers for untrusted output the table is still a plain, readable table.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

CSS_CLASS = "forecast-table"

STYLE = (
    f"<style>.{CSS_CLASS}{{border-collapse:collapse;font-size:0.9em}}"
    f".{CSS_CLASS} th{{cursor:pointer;text-align:left;white-space:nowrap}}"
    f".{CSS_CLASS} td{{text-align:left;vertical-align:top;padding:2px 8px}}"
    f".{CSS_CLASS} td.quote{{max-width:40em;white-space:normal}}"
    f".{CSS_CLASS} tr.headline td{{font-weight:bold}}"
    ".forecast-flagged{color:#b00020}</style>"
)

# Sort the table by the clicked header's column; click again to reverse. One handler per table, on
# its <thead>, kept in an attribute (not a <script> element): a display holds no script tag at all.
_SORT_JS = (
    "var th=event.target.closest('th');if(!th)return;"
    "var b=th.closest('table').tBodies[0],i=th.cellIndex,"
    "asc=th.getAttribute('data-dir')!=='asc';"
    "th.parentNode.querySelectorAll('th').forEach(function(h){h.removeAttribute('data-dir')});"
    "th.setAttribute('data-dir',asc?'asc':'desc');"
    "var k=function(r){var c=r.cells[i];return c.hasAttribute('data-sort')?c.getAttribute('data-sort'):c.textContent.trim()};"
    "Array.from(b.rows).sort(function(x,y){var a=k(x),c=k(y);"
    "var v=(a!==''&&c!==''&&!isNaN(a)&&!isNaN(c))?a-c:a.localeCompare(c);return asc?v:-v})"
    ".forEach(function(r){b.appendChild(r)});"
)


class Markup(str):
    """HTML that is already safe (built here from escaped parts); :func:`esc` leaves it alone."""


@dataclass(frozen=True)
class Cell:
    """A table cell: its shown text, an optional sort key, tooltip and CSS class."""

    value: Any
    sort: Any = None
    title: str | None = None
    css: str | None = None


def text(value: Any) -> str:
    """The plain text of a value: '' for missing, ISO dates, short floats."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:g}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def esc(value: Any) -> str:
    """Escaped text of a value (``<``, ``>``, ``&`` and both quotes), or ``Markup`` unchanged."""
    if isinstance(value, Markup):
        return value
    return html.escape(text(value), quote=True)


def link(url: str | None, label: Any) -> Markup:
    """``label`` linked to ``url`` when the url is http(s); otherwise the escaped label."""
    if url and url.lower().startswith(("http://", "https://")):
        return Markup(f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>')
    return Markup(esc(label))


def attr(name: str, value: Any) -> str:
    """`` name="value"`` with the value escaped, or '' when the value is None or empty."""
    return f' {name}="{esc(value)}"' if value is not None and value != "" else ""


def join(parts: Iterable[Any], sep: str = "") -> Markup:
    """Concatenate escaped parts (``Markup`` parts stay as they are)."""
    return Markup(esc(sep).join(esc(p) for p in parts))


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: Any = None,
    row_css: Sequence[str | None] | None = None,
    sortable: bool = True,
) -> Markup:
    """An HTML table with escaped cells; a cell is a value, a :class:`Cell` or :class:`Markup`.

    Parameters
    ----------
    columns : sequence of str
        Header labels.
    rows : iterable of sequences
        One sequence of cells per row.
    caption : optional
        Table caption (escaped).
    row_css : sequence of str or None, optional
        A CSS class per row (e.g. ``"headline"``).
    sortable : bool
        Headers sort the table when clicked.
    """
    onclick = f' onclick="{html.escape(_SORT_JS, quote=True)}" title="click a header to sort"' if sortable else ""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for n, row in enumerate(rows):
        css = row_css[n] if row_css is not None else None
        cells = []
        for cell in row:
            if not isinstance(cell, Cell):
                cell = Cell(cell)
            attrs = attr("data-sort", cell.sort) + attr("title", cell.title) + attr("class", cell.css)
            cells.append(f"<td{attrs}>{esc(cell.value)}</td>")
        body.append(f"<tr{attr('class', css)}>{''.join(cells)}</tr>")
    cap = f"<caption style=\"text-align:left\">{esc(caption)}</caption>" if caption is not None else ""
    return Markup(f'<table class="{CSS_CLASS}">{cap}<thead{onclick}><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def details(summary: Any, content: Any, open_: bool = False) -> Markup:
    """A collapsible block."""
    return Markup(f"<details{' open' if open_ else ''}><summary>{esc(summary)}</summary>{esc(content)}</details>")


def page(*parts: Any) -> str:
    """The final display: the shared style and the parts, in one ``<div>``."""
    return f'<div class="forecast">{STYLE}{join(parts)}</div>'


def pct(p: float | None) -> str:
    """A probability as the headline prints it (``<1%``, ``5%``, ``>99%``)."""
    from .result import percent

    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return percent(float(p))


# --------------------------------------------------------------------------------------------------
# priors


def prior_text(prior) -> str:
    """``beta: 90% in [0.01, 0.12]`` or ``halfnormal(sigma=0.5)``."""
    if prior.interval is not None:
        lo, hi = prior.interval
        return f"{prior.dist}: {100 * prior.mass:g}% in [{lo:g}, {hi:g}]"
    return f"{prior.dist}(" + ", ".join(f"{k}={v:g}" for k, v in (prior.params or {}).items()) + ")"


# --------------------------------------------------------------------------------------------------
# evidence


def observation_text(item) -> str:
    """What an item observes: ``level +2``, ``up, strong`` or ``resolves <question>``."""
    if item.resolves:
        return f"resolves {item.question}"
    if item.value is not None:
        return f"level {item.value:+g}"
    return f"{item.direction}, {item.strength or 'moderate'}"


def grade_meaning(grade: str) -> str:
    from .grading import CREDIBILITY_MEANING, RELIABILITY_MEANING

    return f"{grade}: source {RELIABILITY_MEANING.get(grade[:1], '?')}, information {CREDIBILITY_MEANING.get(grade[1:], '?')}"


EVIDENCE_COLUMNS = ("id", "event date", "published", "about", "observation", "grade", "source", "quote", "assumption", "from")


def evidence_rows(located_items) -> list[list]:
    rows = []
    for li in located_items:
        it = li.item
        about = it.question if it.resolves else (it.indicator + (f" ({it.question})" if it.question else ""))
        where = li.file.rsplit("/", 1)[-1] + (f":{li.line}" if li.line else "")
        rows.append(
            [
                it.id,
                it.event_date,
                it.published,
                about,
                Cell(observation_text(it), sort=it.observed_value if it.observed_value is not None else ""),
                Cell(it.grade, title=grade_meaning(it.grade)),
                link(it.url, it.source),
                Cell(it.quote, title=it.notes, css="quote"),
                "yes" if it.assumption else "",
                Cell(where, title=li.file),
            ]
        )
    return rows


def evidence_html(evidence) -> str:
    """The display of an :class:`~forecast.evidence_set.Evidence`: one sortable row per item."""
    caption = f"{len(evidence)} evidence items" + (f" - {evidence.description}" if evidence.description else "")
    return page(table(EVIDENCE_COLUMNS, evidence_rows(evidence), caption=caption))


# --------------------------------------------------------------------------------------------------
# question


def question_html(question) -> str:
    """The display of a :class:`~forecast.project.Question`: fields, indicators, priors with their
    quoted provenance, and its evidence (collapsed)."""
    from .design import items_for_question
    from .spec import iter_priors

    spec, lib = question.spec, question.library
    fields = table(
        ("field", "value"),
        [
            ("question", spec.question),
            ("event", spec.event),
            ("resolution criteria", Cell(spec.resolution_criteria, css="quote")),
            ("risk window start", spec.risk_window_start),
            ("horizons", ", ".join(h.isoformat() for h in spec.horizons)),
            ("headline", f"first horizon at least {spec.headline_lead_months} months after the as-of date"),
            ("baseline", f"P(event) per {spec.baseline.per} with every indicator at 0"),
            ("source", lib.source_title),
        ],
        sortable=False,
    )
    indicators = table(
        ("indicator", "name", "direction", "size prior", "description"),
        [
            (
                k,
                lib.get(k).name if k in lib.ids else "(not in the library)",
                f"{e.direction} (a rise {'raises' if e.sign > 0 else 'lowers'} the hazard)",
                prior_text(e.size),
                Cell(lib.get(k).description if k in lib.ids else "", css="quote"),
            )
            for k, e in spec.indicators.items()
        ],
        caption=f"{len(spec.indicators)} indicators",
    )
    priors = table(
        ("prior", "distribution", "quote", "reasoning", "assumption"),
        [
            (".".join(path), prior_text(p), Cell(p.source.quote, css="quote"), Cell(p.source.reasoning, css="quote"), "yes" if p.source.assumption else "")
            for path, p in iter_priors(spec, lib)
        ],
        caption=f"priors, each with the passage of {lib.source} it encodes",
    )
    relevant = items_for_question(spec, list(question.evidence))
    evidence = details(
        f"{len(relevant)} evidence items bear on this question ({len(question.evidence)} in the project)",
        table(EVIDENCE_COLUMNS, evidence_rows(relevant)),
    )
    title = Markup(f"<p><b>{esc(spec.id)}</b>: {esc(spec.question)}</p>")
    return page(title, fields, indicators, priors, evidence)


# --------------------------------------------------------------------------------------------------
# fit result


def result_html(result) -> str:
    """The display of a :class:`~forecast.result.FitResult`: headline sentence, horizon table,
    evidence used/excluded and the diagnostics line."""
    flagged = None if result.passed else "forecast-flagged"
    headline = Markup(f"<p{attr('class', flagged)}><b>{esc(result.headline_sentence())}</b></p>")
    summary = result.summary()
    rows, row_css = [], []
    for r in summary.itertuples():
        rows.append(
            (
                Cell(("* " if r.headline else "") + r.horizon.isoformat(), sort=r.horizon.isoformat()),
                Cell(pct(r.mean), sort=r.mean),
                Cell(pct(r.median), sort=r.median),
                Cell(f"{pct(r.lower_50)}-{pct(r.upper_50)}", sort=r.lower_50),
                Cell(f"{pct(r.lower_90)}-{pct(r.upper_90)}", sort=r.lower_90),
                Cell(f"{r.mcse:.4f}", sort=r.mcse),
                r.icd203,
            )
        )
        row_css.append("headline" if r.headline else None)
    horizons = table(
        ("horizon", "mean", "median", "50% interval", "90% interval", "MCSE", "ICD 203"),
        rows,
        caption=f"{result.spec.id} as of {result.as_of} (seed {result.seed}); * = headline horizon",
        row_css=row_css,
    )
    d = result.design
    used = Markup(f"<p>evidence: {len(d.evidence_ids)} items used, {len(d.excluded)} excluded</p>")
    excluded = details(f"{len(d.excluded)} excluded", table(("id", "reason"), [(e.id, e.reason) for e in d.excluded])) if d.excluded else ""
    diag = result.diagnostics
    problems = Markup("<ul>" + "".join(f"<li>{esc(p)}</li>" for p in diag.problems) + "</ul>") if diag.problems else ""
    diag_line = Markup(f"<p{attr('class', flagged)}>{esc(diag.line())}</p>")
    return page(headline, horizons, used, excluded, diag_line, problems)


# --------------------------------------------------------------------------------------------------
# run ledger


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def history_html(df) -> str:
    """The ledger's runs (a ``forecast.history()`` DataFrame) as a compact sortable table."""
    from .cli import describe_changes

    rows = []
    for rec in df.to_dict(orient="records") if len(df) else []:
        has_headline = _present(rec.get("headline_mean"))
        changes = rec.get("changes") if isinstance(rec.get("changes"), dict) else None
        if rec.get("status") == "failed":
            what = (rec.get("error") or "").splitlines()[0][:120] if rec.get("error") else "failed"
        elif changes and changes.get("first_run"):
            what = "first run"
        else:
            what = describe_changes(changes) if changes else ""
        passed = rec.get("diagnostics_passed")
        rows.append(
            (
                Cell(rec["id"], sort=rec["id"]),
                rec.get("question", ""),
                rec.get("kind", ""),
                rec.get("status", ""),
                rec.get("started_at", ""),
                rec.get("as_of", ""),
                Cell(str(rec.get("fingerprint") or "")[:8], title=rec.get("fingerprint")),
                Cell(f"{pct(rec['headline_mean'])} by {rec['headline_horizon']}" if has_headline else "", sort=rec["headline_mean"] if has_headline else ""),
                f"{pct(rec['headline_lower_90'])}-{pct(rec['headline_upper_90'])}" if has_headline else "",
                rec.get("headline_term") or "",
                "" if not _present(passed) else ("ok" if passed else "FLAGGED"),
                Cell(f"{rec['wall_seconds']:.0f}" if _present(rec.get("wall_seconds")) else "", sort=rec.get("wall_seconds") if _present(rec.get("wall_seconds")) else ""),
                Cell(what, css="quote"),
            )
        )
    columns = ("run", "question", "kind", "status", "started (UTC)", "as-of", "fingerprint", "headline", "90%", "ICD 203", "diagnostics", "s", "what changed")
    return page(table(columns, rows, caption=f"{len(rows)} runs"))


@dataclass
class HistoryView:
    """The ledger's runs for display: ``.df`` is the DataFrame that ``forecast.history()`` returns."""

    df: Any

    def _repr_html_(self) -> str:
        return history_html(self.df)

    def __len__(self) -> int:
        return len(self.df)

    def __repr__(self) -> str:
        if not len(self.df):
            return "<HistoryView: no runs>"
        last = self.df.iloc[-1]
        head = f", headline {pct(last['headline_mean'])} by {last['headline_horizon']}" if _present(last.get("headline_mean")) else ""
        return f"<HistoryView: {len(self.df)} runs; last run {last['id']} ({last['kind']}, {last['status']}, as of {last['as_of']}{head})>"


def history_view(question_id: str | None = None, root=None, ledger_path=None, kind: str | None = None) -> HistoryView:
    """``forecast.history(...)`` wrapped for display in a notebook (the DataFrame is ``.df``)."""
    from .runner import history

    return HistoryView(history(question_id, root=root, ledger_path=ledger_path, kind=kind))

"""Notebook displays of a question and of a fit result (built with :mod:`forecast.core.html`)."""

from __future__ import annotations

from forecast.core.html import Cell, Markup, attr, details, esc, page, pct, table
from forecast.inputs.display import EVIDENCE_COLUMNS, evidence_rows, prior_text

# --------------------------------------------------------------------------------------------------
# question


def question_html(question) -> str:
    """The notebook display of a question.

    Parameters
    ----------
    question : Question

    Returns
    -------
    str
        HTML: fields, indicators, priors with their quoted provenance, and its evidence (collapsed);
        every text escaped.
    """
    from forecast.inputs.spec import iter_priors
    from forecast.model.design import items_for_question

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
    """The notebook display of a fit.

    Parameters
    ----------
    result : FitResult

    Returns
    -------
    str
        HTML: headline sentence, horizon table, evidence used and excluded, the diagnostics line.
    """
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

"""Notebook displays of input objects: priors, evidence items (built with :mod:`forecast.core.html`)."""

from __future__ import annotations

from forecast.core.html import Cell, link, page, table

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
    """An Admiralty grade in words: ``"B2: source usually reliable, information probably true"``."""
    from forecast.inputs.grading import CREDIBILITY_MEANING, RELIABILITY_MEANING

    return f"{grade}: source {RELIABILITY_MEANING.get(grade[:1], '?')}, information {CREDIBILITY_MEANING.get(grade[1:], '?')}"


EVIDENCE_COLUMNS = ("id", "event date", "published", "about", "observation", "grade", "source", "quote", "assumption", "from")


def evidence_rows(located_items) -> list[list]:
    """Table rows of located evidence items for display, one per item, in the columns of :data:`EVIDENCE_COLUMNS`."""
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
                Cell(it.grade, title=grade_meaning(it.grade)) if it.grade else Cell("draft", title="draft from forecast intake: not graded yet"),
                link(it.url, it.source),
                Cell(it.quote, title=it.notes, css="quote"),
                "yes" if it.assumption else "",
                Cell(where, title=li.file),
            ]
        )
    return rows


def evidence_html(evidence) -> str:
    """The display of an :class:`~forecast.inputs.evidence_set.Evidence`: one sortable row per item."""
    caption = f"{len(evidence)} evidence items" + (f" - {evidence.description}" if evidence.description else "")
    return page(table(EVIDENCE_COLUMNS, evidence_rows(evidence), caption=caption))

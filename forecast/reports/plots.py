"""The briefing figures of one fit, by name: ``forecast.plots.by_date(result)``.

Each function takes a :class:`~forecast.inference.result.FitResult` (and, where the figure needs
the question's files, the :class:`~forecast.inference.question.Question` it was fitted from: a
result never reloads files from the working directory) and returns a
:class:`matplotlib.figure.Figure`, the same figure the brief uses. They display in Jupyter without
``pyplot``.

=====================  ======================================================================
``trajectory``         P(event within the headline lead) across the ledger's runs, evidence marked
``by_date``            the cumulative P(event by date) curve with 50% / 90% bands
``drivers``            each indicator's effect, current level and push (forest)
``prior_posterior``    prior vs posterior of the baseline and every effect size
``influence``          evidence items that moved the headline most (PSIS / refit)
``scenarios``          what-if curves of the scenarios declared in the spec
``diagnostics``        rank plots, r_hat / ESS table, the diagnostics verdict
=====================  ======================================================================
"""

from __future__ import annotations

from forecast.reports.by_date import plot_by_date
from forecast.reports.diagnostics_plot import plot_diagnostics
from forecast.reports.drivers import plot_drivers
from forecast.reports.influence_plot import plot_influence
from forecast.reports.prior_posterior import plot_prior_posterior
from forecast.reports.scenarios_plot import plot_scenarios
from forecast.reports.style import Provenance
from forecast.reports.trajectory import plot_trajectory


def trajectory(result, question, history=None, horizon=None):
    """The rolling headline, P(event within L months of each as-of date), across the ledger's update and replay runs up to this as-of date.

    Parameters
    ----------
    result : FitResult
    question : Question
        The question the result was fitted from (its evidence is marked by grade).
    history : pandas.DataFrame, optional
        Ledger runs (:func:`forecast.history`); default: the ledger of ``question``'s project.
    horizon : date, optional
        Follow P(event by this fixed date) instead of the rolling headline.
    """
    if history is None:
        from forecast.runs.update import history as ledger_history

        history = ledger_history(result.spec.id, root=question.project.root if question.project else None)
    return plot_trajectory(history, Provenance.of(result), result.spec, question.evidence, horizon)


def by_date(result):
    """The cumulative P(event by date) curve with its 50% and 90% bands."""
    return plot_by_date(result)


def drivers(result, question=None):
    """Each indicator's effect, current level and push (forest plot); names from ``question``'s library."""
    return plot_drivers(result, library=question.library if question is not None else None)


def prior_posterior(result):
    """Prior vs posterior of the baseline probability and every effect size."""
    return plot_prior_posterior(result)


def influence(result, question, table=None, **kwargs):
    """Evidence items that moved the headline most.

    ``table`` is a :func:`forecast.analysis.influence.evidence_influence` table; when not given it is
    computed with ``kwargs`` (e.g. ``max_refits=0``).
    """
    if table is None:
        from forecast.analysis.influence import evidence_influence

        table = evidence_influence(result, question, **kwargs)
    return plot_influence(table, Provenance.of(result))


def scenarios(result, question=None, curves=None):
    """What-if curves of the scenarios declared in the question spec (``curves`` from
    :func:`forecast.analysis.scenarios.scenario_curves`, computed when not given)."""
    if curves is None:
        from forecast.analysis.scenarios import scenario_curves

        curves = scenario_curves(result, question)
    return plot_scenarios(curves, Provenance.of(result))


def diagnostics(result):
    """Rank plots, the r_hat / ESS table and the diagnostics verdict."""
    return plot_diagnostics(result)

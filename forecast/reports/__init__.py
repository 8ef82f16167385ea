"""Briefing figures and the one-page brief (PDF + HTML), drawn with matplotlib.

One module per figure, each a function returning a :class:`matplotlib.figure.Figure` (the same
figures in notebooks, via ``FitResult.plot_*``, and in the brief):

=========================  ==========================================================
``plot_trajectory``        P(event by a horizon) across ledger runs, evidence marked
``plot_by_date``           the cumulative P(event by date) curve with 50% / 90% bands
``plot_drivers``           each indicator's effect, current level and push (forest)
``plot_prior_posterior``   prior vs posterior of the baseline and every effect size
``plot_influence``         evidence items that moved the headline most (PSIS / refit)
``plot_scenarios``         what-if curves of the scenarios declared in the spec
``plot_diagnostics``       rank plots, r_hat / ESS table, the diagnostics verdict
=========================  ==========================================================

:mod:`.style` holds the greyscale-safe look, titles and source lines; :mod:`.brief` collects the
content and writes the pack; :mod:`.html` renders the web page with every file-borne text escaped;
:mod:`.site` writes the static dashboard of every question (``forecast site``).
"""

from forecast.reports.brief import BriefContent, BriefOutput, brief, collect, write_brief
from forecast.reports.by_date import plot_by_date
from forecast.reports.diagnostics_plot import plot_diagnostics
from forecast.reports.drivers import drivers_table, plot_drivers
from forecast.reports.influence_plot import plot_influence
from forecast.reports.prior_posterior import plot_prior_posterior, prior_posterior_table
from forecast.reports.scenarios_plot import plot_scenarios, scenario_headlines
from forecast.reports.style import Provenance
from forecast.reports.trajectory import plot_trajectory, trajectory_frame

__all__ = [
    "BriefContent", "BriefOutput", "Provenance", "brief", "collect", "write_brief", "drivers_table", "prior_posterior_table",
    "scenario_headlines", "trajectory_frame", "plot_by_date", "plot_diagnostics", "plot_drivers", "plot_influence",
    "plot_prior_posterior", "plot_scenarios", "plot_trajectory",
]

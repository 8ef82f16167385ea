"""The checks' figures: ArviZ plots laid out so nothing overlaps, labelled with evidence ids, and
captioned so a figure never looks like a failure while its check passes.

* :func:`tidy` (applied by :func:`forecast.checks.base.figure_of` to every ArviZ figure): matplotlib's
  constrained layout, so panel titles, axis labels and the figure title never overlap, and an x label
  only under the bottom panel of a column of panels that share their x axis.
* :func:`sbc_figure`: the SBC Δ-ECDF panels with the p-value of each quantity, points marked only
  where the check itself warns or fails (the Bonferroni thresholds the verdict uses, not a per-panel
  1%), and a caption that says what the verdict is and why a p-value of a few percent in one panel
  out of many is consistent with it.
* :func:`evidence_figure`, :func:`khat_figure`: one tick per evidence item, labelled with its id
  (not "data point (index)").
"""

from __future__ import annotations

import textwrap

import numpy as np


def tidy(fig):
    """Constrained layout and no repeated inner x labels (see the module docstring); returns ``fig``."""
    # an empty slot of a wrapped grid is switched off (axison False), not removed: it carries nothing
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.axison and hasattr(ax, "get_subplotspec") and ax.get_subplotspec() is not None]
    for ax in panels:
        spec = ax.get_subplotspec()
        cols = set(range(spec.colspan.start, spec.colspan.stop))
        below = [other for other in panels if other is not ax
                 and other.get_subplotspec().rowspan.start >= spec.rowspan.stop
                 and cols & set(range(other.get_subplotspec().colspan.start, other.get_subplotspec().colspan.stop))
                 and other.get_shared_x_axes().joined(ax, other)]
        if below:  # a panel under this one shares its x axis and carries the label
            ax.set_xlabel("")
    fig.set_layout_engine("constrained")
    return fig


def figure_of(plot_collection, title: str | None = None):
    """The matplotlib Figure of an ``arviz_plots`` PlotCollection, tidied (:func:`tidy`), with a title
    above the panels' own (the constrained layout makes room for it)."""
    fig = tidy(plot_collection.viz["figure"].item())
    if title:
        fig.suptitle(title)
    return fig


def caption(fig, text: str, fontsize: float = 8.5) -> None:
    """A caption under the panels, wrapped to the figure width (part of the constrained layout)."""
    chars = max(40, int(fig.get_figwidth() * 72 / (0.55 * fontsize)))
    fig.supxlabel("\n".join(textwrap.fill(p, chars) for p in text.split("\n")), x=0.01, ha="left", fontsize=fontsize)


def sbc_figure(pit, table, status: str, fail_alpha: float, warn_alpha: float, title: str):
    """The SBC Δ-ECDF of every quantity (``pit``: one column per quantity, one row per simulation).

    Parameters
    ----------
    pit : pandas.DataFrame
        Randomised PIT values of the simulated truths.
    table : pandas.DataFrame
        The check's per-quantity table (``quantity``, ``p_value``, ``status``).
    status : str
        The check's verdict.
    fail_alpha, warn_alpha : float
        Family-wise levels: a quantity fails below ``fail_alpha / m`` and warns below ``warn_alpha / m``.
    """
    import arviz_plots as azp
    import xarray as xr

    m = pit.shape[1]
    warn_p, fail_p = warn_alpha / m, fail_alpha / m
    tree = xr.DataTree.from_dict({"prior_sbc": xr.Dataset({q: (("chain", "draw"), pit[q].to_numpy()[None]) for q in pit.columns})})
    pc = azp.plot_ecdf_pit(tree, group="prior_sbc", backend="matplotlib", envelope_prob=1 - warn_p,
                           visuals={"p_value_text": {"text": lambda p: f"p = {float(p):.2g}"}})
    fig = figure_of(pc, title)
    flagged = table[table["status"] != "pass"]
    lowest = table.loc[table["p_value"].idxmin()]
    verdict = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}[status]
    if len(flagged):
        why = "Points mark where " + ", ".join(f"{r.quantity} (p = {r.p_value:.2g}, {r.status})" for r in flagged.itertuples()) + " departs from uniform."
    else:
        why = (f"No quantity is below its threshold (lowest: {lowest.quantity}, p = {lowest.p_value:.2g}): with {m} quantities, "
               "a p-value of a few percent in one panel is what chance gives a well-calibrated model, so the check passes "
               "and no point is marked.")
    caption(fig, f"{verdict}. Each panel: the ECDF of the simulated truths' ranks among the posterior draws minus the uniform line "
                 f"(flat around 0 = calibrated); p = the POT-C uniformity test of that quantity. The check warns below p = {warn_p:.2g} "
                 f"and fails below p = {fail_p:.2g} ({warn_alpha:g} and {fail_alpha:g} shared out over the {m} quantities, Bonferroni). {why}")
    return fig


def evidence_figure(tree, ids, title: str, group: str = "posterior_predictive", what: str = "the fitted model"):
    """Predicted intervals and reported values of every evidence item, one tick per item id."""
    import arviz_plots as azp

    ids = [str(i) for i in ids]
    width = max(6.0, 0.42 * len(ids) + 2.0)
    pc = azp.plot_ppc_interval(tree, group=group, backend="matplotlib", visuals={"xlabel": {"text": "evidence item"}},
                               figure_kwargs={"figsize": (width, 4.8)})
    fig = figure_of(pc, title)
    for ax in fig.axes:
        ax.set_xticks(np.arange(len(ids)), ids, rotation=60, ha="right", rotation_mode="anchor", fontsize=7.5)
    caption(fig, f"Bars and large dot: the range (inner and outer interval) and the middle of what {what} predicts for each item's "
                 "value; small black dot: the value as reported. A black dot far outside its bars is an item the model cannot explain.")
    return fig


def khat_figure(elpd, ids, threshold: float, title: str):
    """Pareto k of every evidence item (leave-one-out), one tick per item id, the threshold marked."""
    import arviz_plots as azp

    ids = [str(i) for i in ids]
    width = max(6.0, 0.42 * len(ids) + 2.0)
    pc = azp.plot_khat(elpd, threshold=threshold, backend="matplotlib", visuals={"threshold_text": False, "ticks": {}, "xlabel": {"text": "evidence item"}},
                       figure_kwargs={"figsize": (width, 4.6)})
    fig = figure_of(pc, title)
    for ax in fig.axes:
        ax.set_xticks(np.arange(len(ids)), ids, rotation=60, ha="right", rotation_mode="anchor", fontsize=7.5)
        ax.axhline(threshold, color="0.3", ls="--", lw=1.0)
    caption(fig, f"Pareto k of each item's leave-one-out estimate: above {threshold} (the dashed line) the item carries so much information "
                 "that the fit without it differs a lot from the fit with it, and its leave-one-out numbers are unreliable.")
    return fig

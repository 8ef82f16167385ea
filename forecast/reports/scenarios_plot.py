"""Figure 6, scenarios: what-if curves of P(event by date).

The curves come from :func:`forecast.analysis.scenarios.scenario_curves` (each scenario declared in the
question spec holds one indicator at a set level from the as-of date on, with PyMC's ``do``
operator). The forecast as fitted (``scenario == "baseline"``) is the solid black line with its
90% band; each scenario is a line with its own style and marker, so the figure reads in greyscale.
"""

from __future__ import annotations

import pandas as pd

from forecast.reports.style import (
    BAND_90,
    INK,
    SERIES,
    Provenance,
    icd203_top,
    layout,
    new_figure,
    percent_axis,
    shade_icd203,
    source_line,
    styled,
    title_figure,
)

BASELINE = "baseline"


def scenario_headlines(curves: pd.DataFrame, headline) -> pd.DataFrame:
    """Each scenario's P(event by the headline horizon): scenario, name, description, mean, lower_90, upper_90.

    The curve passes through every horizon, so the row at the headline date is the headline.
    """
    cols = ["scenario", "name", "description", "mean", "lower_90", "upper_90"]
    if curves is None or not len(curves) or headline is None:
        return pd.DataFrame(columns=cols)
    dates = pd.to_datetime(curves["date"])
    at = curves[dates == pd.Timestamp(headline)]
    return at[cols].reset_index(drop=True)


def draw_scenarios(ax, curves: pd.DataFrame, legend: bool = True, fontsize: float = 7.0, band_labels: bool = True) -> None:
    """Draw the baseline (with band) and every scenario curve into ``ax``.

    The probability axis is scaled to the *means* (what the scenarios are compared on): a wide 90%
    band of the forecast would otherwise squash the curves into the bottom of the panel, so the
    band may run off the top (the axis says where it is cut).
    """
    curves = curves.assign(date=pd.to_datetime(curves["date"]))
    top = icd203_top([1.25 * curves["mean"].max()])
    shade_icd203(ax, top, label=band_labels)
    base = curves[curves["scenario"] == BASELINE].sort_values("date")
    if len(base):
        ax.fill_between(base["date"].to_numpy(), base["lower_90"], base["upper_90"], color=BAND_90, lw=0, label="as forecast: 90%", zorder=1)
        ax.plot(base["date"].to_numpy(), base["mean"], color=INK, ls="-", lw=2.0, label="as forecast", zorder=3)
    others = [s for s in dict.fromkeys(curves["scenario"]) if s != BASELINE]
    for i, sid in enumerate(others):
        colour, style, marker = SERIES[(i + 1) % len(SERIES)]
        rows = curves[curves["scenario"] == sid].sort_values("date")
        step = max(1, len(rows) // 6)
        ax.plot(rows["date"].to_numpy(), rows["mean"], color=colour, ls=style, marker=marker, markevery=step, ms=4, lw=1.4,
                label=str(rows["name"].iloc[0]), zorder=2)
    ax.set_ylim(0, top)
    percent_axis(ax)
    ax.set_ylabel("P(event by date | none by as-of)")
    if legend:
        ax.legend(loc="upper left", fontsize=fontsize)


@styled
def plot_scenarios(curves: pd.DataFrame, provenance: Provenance, width: float = 8.0, height: float = 4.4):
    """What-if curves: the forecast as fitted and one curve per declared scenario.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one line per scenario plus the baseline line and its 90% band.
    """
    fig = new_figure(width, height)
    top = title_figure(fig, provenance, "Scenarios: P(event by date) if an indicator were held at a set level")
    layout(fig, top_inches=top + 0.3, bottom_inches=0.75, left=0.09, right=0.86)
    ax = fig.add_subplot()
    ax.set_gid("scenarios")
    n = len([s for s in dict.fromkeys(curves["scenario"]) if s != BASELINE]) if len(curves) else 0
    if not len(curves):
        ax.text(0.5, 0.5, "no scenarios", transform=ax.transAxes, ha="center")
    else:
        draw_scenarios(ax, curves)
    ax.set_title(f"{n} scenario(s) declared in the question spec; means over posterior draws", loc="left")
    source_line(fig, provenance)
    return fig

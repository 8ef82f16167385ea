"""Figure 2, P(event by date): the cumulative curve from the as-of date to the last horizon.

Each point of the curve is the posterior mean of P(event by that date | no event by the as-of
date) (:meth:`FitResult.curve`, month boundaries plus every horizon), with the 50% and 90%
equal-tailed intervals over posterior draws as bands. The curve starts at 0 on the as-of date: the
event has not happened by then (or the question is resolved, and the curve is 1). The horizons of
the spec are marked, the headline one labelled with its number and interval; the ICD 203 bands are
shaded on the probability axis.
"""

from __future__ import annotations

import pandas as pd

from forecast.core.fmt import percent
from forecast.reports.style import (
    BAND_50,
    BAND_90,
    INK,
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


def curve_with_start(result) -> pd.DataFrame:
    """:meth:`FitResult.curve` with the as-of date prepended (P = 0 there, unless resolved)."""
    curve = result.curve()
    start_value = 1.0 if result.design.resolved_on is not None else 0.0
    start = pd.DataFrame({c: [start_value] for c in curve.columns if c != "date"})
    start.insert(0, "date", [pd.Timestamp(result.as_of)])
    return pd.concat([start, curve], ignore_index=True)


def draw_by_date(ax, result) -> None:
    """Draw the curve, its bands and the horizon marks into ``ax`` (used by the figure and the brief page)."""
    curve = curve_with_start(result)
    x = curve["date"].to_numpy()
    top = icd203_top(curve["upper_90"])
    shade_icd203(ax, top)
    ax.fill_between(x, curve["lower_90"], curve["upper_90"], color=BAND_90, lw=0, label="90% interval", zorder=1)
    ax.fill_between(x, curve["lower_50"], curve["upper_50"], color=BAND_50, lw=0, label="50% interval", zorder=2)
    ax.plot(x, curve["mean"], color=INK, ls="-", label="mean", zorder=3)
    table = result.summary()
    if len(table):
        hx = pd.to_datetime(table["horizon"]).to_numpy()
        ax.plot(hx, table["mean"], ls="none", marker="o", ms=3.5, color=INK, label="horizons", zorder=4)
        head = table[table["headline"]]
        if len(head):
            row = head.iloc[0]
            when = pd.Timestamp(row["horizon"])
            # the label goes toward the middle of the panel, so it never leaves the axes
            left_half = (when - curve["date"].iloc[0]) < (curve["date"].iloc[-1] - curve["date"].iloc[0]) / 2
            ax.annotate(
                f"{percent(row['mean'])} by {row['horizon']}\n90%: {percent(row['lower_90'])}-{percent(row['upper_90'])}",
                xy=(when.to_pydatetime(), row["mean"]), xytext=(10 if left_half else -10, 22), textcoords="offset points",
                ha="left" if left_half else "right", fontsize=7, arrowprops={"arrowstyle": "-", "color": INK, "lw": 0.7},
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": INK, "lw": 0.5},
            )
    ax.set_ylim(0, top)
    ax.set_xlim(x[0], x[-1])
    percent_axis(ax)
    ax.set_ylabel("P(event by date | none by as-of)")


@styled
def plot_by_date(result, provenance: Provenance | None = None, width: float = 8.0, height: float = 4.2):
    """The cumulative P(event by date) curve of ``result`` with its 50% and 90% bands.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, with the mean curve (a line), the horizon marks (a line of markers) and two
        bands (``fill_between`` collections).
    """
    provenance = provenance or Provenance.of(result)
    fig = new_figure(width, height)
    top = title_figure(fig, provenance, f"P({provenance.event} by date)")
    layout(fig, top_inches=top + 0.3, bottom_inches=0.75, left=0.09, right=0.86)
    ax = fig.add_subplot()
    ax.set_gid("by_date")
    if result.headline is None and result.design.resolved_on is None:
        ax.text(0.5, 0.5, "no horizon lies after the as-of date", transform=ax.transAxes, ha="center")
    else:
        draw_by_date(ax, result)
        ax.legend(loc="upper left")
    ax.set_title(f"Cumulative probability from {result.as_of} (mean over posterior draws)", loc="left")
    source_line(fig, provenance)
    return fig

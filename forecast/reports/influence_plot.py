"""Figure 5, evidence influence: which items moved the headline most, and which way.

The numbers come from :func:`forecast.analysis.influence.evidence_influence`: the influence of an item is
the headline mean *with* the item minus the mean *without* it (positive: the item pushes toward
the event), estimated by Pareto-smoothed importance sampling (leave-one-out reweighting of the
posterior draws, method ``psis``) or, where the Pareto k diagnostic says the reweighting is
unreliable, by an exact refit without the item (method ``refit``).

Bars are drawn in percentage points. Dark bars push toward the event, light bars against it;
refitted items are hatched, and an item whose PSIS estimate was kept although its k exceeds the
threshold is labelled with its k (a warning that the bar is an estimate of unknown quality). When
there are more items than bars, the items left out are named below the chart with their influence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.core.fmt import points
from forecast.reports.style import DARK, INK, LIGHT, Provenance, layout, new_figure, source_line, styled, title_figure, wrap_text

K_THRESHOLD = 0.7


NAMED_LEFT_OUT = 30  # items below the bars named in the caption; the rest are counted (all in INFLUENCE_CSV)
INFLUENCE_CSV = "influence.csv"  # written beside brief.html by forecast.reports.brief.write_brief


@styled
def plot_influence(influence: pd.DataFrame, provenance: Provenance, top: int = 12, k_threshold: float = K_THRESHOLD, width: float = 8.0):
    """Horizontal bar chart of the ``top`` most influential evidence items.

    Parameters
    ----------
    influence : pandas.DataFrame
        :func:`forecast.analysis.influence.evidence_influence` output (id, grade, influence, pareto_k, method).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one bar per item (largest |influence| at the top).
    """
    # the limit the table applied (ArviZ's, lower for few draws), so figure and table say the same
    k_threshold = float(influence.attrs.get("k_limit", k_threshold))
    ordered = influence.reindex(influence["influence"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    shown, left_out = ordered.head(top), ordered.iloc[top:]
    lines = []
    if len(left_out):
        named, rest = left_out.head(NAMED_LEFT_OUT), left_out.iloc[NAMED_LEFT_OUT:]
        text = "Not shown (smaller influence): " + ", ".join(f"{i} ({points(v)}{', refit' if m == 'refit' else ''})"
                                                         for i, v, m in zip(named["id"], named["influence"], named["method"]))
        if len(rest):
            # a feed of thousands of items: the figure stays one page; the brief's influence.csv lists every item
            largest = points(rest["influence"].abs().max(), signed=False)
            text += (f"; and {len(rest):,} more, each moving the headline by {largest} or less "
                     f"(every item in {INFLUENCE_CSV})")
        lines.append(text + ".")
    if ((shown["method"] == "psis") & (shown["pareto_k"] > k_threshold)).any():
        lines.append(f"k: the Pareto k of an estimate made without refitting; above {k_threshold:.2f} the item carries so much information "
                     "that the estimate is unreliable.")
    omitted = wrap_text("\n".join(lines), width - 0.2, 7) if lines else ""
    omitted_inches = (omitted.count("\n") + 1) * 7 * 1.3 / 72 if omitted else 0.0
    height = 1.9 + 0.3 * max(len(shown), 2) + omitted_inches
    fig = new_figure(width, height)
    top_in = title_figure(fig, provenance, "Evidence influence on the headline (with the item minus without it)")
    layout(fig, top_inches=top_in + 0.3, bottom_inches=0.95 + omitted_inches, left=0.34, right=0.97)
    ax = fig.add_subplot()
    ax.set_gid("influence")
    if not len(shown):
        ax.text(0.5, 0.5, "no evidence items in this fit", transform=ax.transAxes, ha="center")
        source_line(fig, provenance)
        return fig
    y = np.arange(len(shown))[::-1]
    pp = 100 * shown["influence"].to_numpy(dtype=float)
    refit = (shown["method"] == "refit").to_numpy()
    colours = [DARK if v > 0 else LIGHT for v in pp]
    bars = ax.barh(y, pp, color=colours, edgecolor=INK, lw=0.6, height=0.65)
    for bar, is_refit in zip(bars, refit):
        if is_refit:
            bar.set_hatch("////")
    labels = [f"{i} ({g})" for i, g in zip(shown["id"], shown["grade"])]
    ax.set_yticks(y, labels, fontsize=7)
    ax.axvline(0, color=INK, lw=0.8)
    ax.grid(False, axis="y")
    span = max(np.abs(pp).max(), 0.05)
    ax.set_xlim(-span * 1.6, span * 1.6)
    for yi, v, k, method in zip(y, pp, shown["pareto_k"], shown["method"]):
        note = points(v / 100)
        if method == "psis" and np.isfinite(k) and k > k_threshold:
            note += f"  (k={k:.2f})"
        ax.text(v + (0.02 if v >= 0 else -0.02) * span, yi, note, va="center", ha="left" if v >= 0 else "right", fontsize=6.5)
    ax.set_xlabel("percentage points of the headline probability  (right: toward the event, left: against)")
    n_refit = int(refit.sum())
    ax.set_title(f"{len(shown)} of {len(influence)} items; {n_refit} by exact refit (hatched), the rest by PSIS", loc="left")
    if omitted:
        fig.text(0.01, (0.5 + omitted_inches) / height, omitted, ha="left", va="top", fontsize=7, color=DARK, parse_math=False, gid="left-out")
    source_line(fig, provenance)
    return fig

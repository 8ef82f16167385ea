"""How a probability is printed: one rule for the CLI, notebooks, HTML, PDF and figures.

Every probability a reader sees goes through :func:`percent` (an interval through
:func:`percent_range`), and every difference of probabilities through :func:`points`, so the
terminal, the notebook, the brief and the dashboard print the same run with the same characters.
Figures label their probability axes with a matplotlib ``PercentFormatter`` whose decimals follow
the tick spacing (:func:`forecast.reports.style.percent_axis`): a tick label is its tick's value.
"""

from __future__ import annotations

import math


def percent(p: float) -> str:
    """A probability as a whole percentage, with the ends spelled as bounds.

    Parameters
    ----------
    p : float
        A probability in [0, 1].

    Returns
    -------
    str
        ``"<1%"`` for 0 < p < 0.01, ``"0%"`` for 0, ``">99%"`` for 0.99 < p < 1, ``"100%"`` for 1,
        else the rounded percentage (``0.0496`` -> ``"5%"``).
    """
    if p < 0.01:
        return "<1%" if p > 0 else "0%"
    if p > 0.99:
        return ">99%" if p < 1 else "100%"
    return f"{100 * p:.0f}%"


def percent_range(lower: float, upper: float) -> str:
    """An interval of probabilities: ``"<1%-21%"`` (each end by :func:`percent`)."""
    return f"{percent(lower)}-{percent(upper)}"


def points(delta: float, signed: bool = True) -> str:
    """A difference of two probabilities in signed percentage points, one decimal: ``"+1.5 pts"``.

    A difference that is not zero but rounds to 0.0 prints as a bound with its sign
    (``"+<0.1 pts"``, ``"-<0.1 pts"``), as :func:`percent` prints ``"<1%"``. With
    ``signed=False``, a size without its sign (``"1.5 pts"``, ``"<0.1 pts"``).
    """
    pts = 100 * float(delta)
    if math.isnan(pts):
        return ""
    sign = ("+" if pts > 0 else "-") if signed else ""
    if not signed:
        pts = abs(pts)
    if pts == 0:
        return "0.0 pts"
    if abs(pts) < 0.05:
        return f"{sign}<0.1 pts"
    return f"{pts:+.1f} pts" if signed else f"{pts:.1f} pts"

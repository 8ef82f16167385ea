"""How a probability is printed: one rule for the CLI, notebooks, HTML, PDF and figures."""

from __future__ import annotations


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

r"""Figure 3, drivers: which indicators push the hazard toward or against the event, and how hard.

For indicator :math:`k` the model's log monthly rate holds the term :math:`\beta_k x_{k,T}` with

* :math:`\beta_k = d_k b_k` the signed **effect** (log hazard ratio per +1 of the indicator;
  positive = a higher indicator raises the hazard),
* :math:`x_{k,T}` the **current level** (the latent level in the as-of month, on the standardized
  scale where 0 is the level the source text describes), and
* their product, the **push** :math:`\beta_k x_{k,T}`: how much the indicator, where it stands now,
  multiplies the hazard relative to the source text's picture (:math:`e^{\beta_k x_{k,T}}`).

All three are summarised over posterior draws (mean, 50% and 90% equal-tailed intervals) and drawn
as a forest plot, indicators sorted by the size of their mean push. ``P(push > 0)`` is the posterior
probability that the indicator currently pushes toward the event.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from forecast.reports.style import DARK, INK, Provenance, layout, new_figure, source_line, styled, title_figure

QUANTILES = (0.05, 0.25, 0.75, 0.95)


def _flat(da) -> np.ndarray:
    """(draws, ...) array from a (chain, draw, ...) DataArray."""
    values = np.asarray(da.values)
    return values.reshape(-1, *values.shape[2:])


def current_level(result) -> np.ndarray | None:
    """(draws, indicator) latent level in the as-of month, or None when the run did not keep paths."""
    post = result.idata["posterior"]
    if "level_now" in post.data_vars:
        return _flat(post["level_now"])
    if "level" in post.data_vars:
        return _flat(post["level"])[:, :, result.design.n_months - 1]
    return None


def _summary(draws: np.ndarray, prefix: str) -> dict:
    q = np.quantile(draws, QUANTILES, axis=0)
    return {f"{prefix}_mean": draws.mean(axis=0), f"{prefix}_lower_90": q[0], f"{prefix}_lower_50": q[1], f"{prefix}_upper_50": q[2], f"{prefix}_upper_90": q[3]}


def drivers_table(result, library=None) -> pd.DataFrame:
    """One row per indicator: effect, current level and push (mean, 50% and 90% intervals).

    Columns: ``indicator``, ``name`` (from the indicator library when given), ``direction``,
    ``effect_*``, ``level_*``, ``push_*`` (``*`` = mean, lower_90, lower_50, upper_50, upper_90) and
    ``p_toward`` = P(push > 0). Sorted by |mean push| (by |mean effect| when the run kept no
    latent paths; the level and push columns are then NaN).
    """
    ids = list(result.design.indicator_ids)
    cols = ["indicator", "name", "direction"]
    if not ids:
        return pd.DataFrame(columns=cols)
    effect = _flat(result.idata["posterior"]["effect"])
    level = current_level(result)
    data = {"indicator": ids}
    names = {i.id: i.name for i in library.indicators} if library is not None else {}
    data["name"] = [names.get(k, k) for k in ids]
    data["direction"] = [result.spec.indicators[k].direction for k in ids]
    data.update(_summary(effect, "effect"))
    if level is not None:
        data.update(_summary(level, "level"))
        push = effect * level
        data.update(_summary(push, "push"))
        data["p_toward"] = (push > 0).mean(axis=0)
    else:
        nan = np.full(len(ids), np.nan)
        for prefix in ("level", "push"):
            data.update({f"{prefix}_{s}": nan for s in ("mean", "lower_90", "lower_50", "upper_50", "upper_90")})
        data["p_toward"] = nan
    table = pd.DataFrame(data)
    order = table["push_mean"].abs() if level is not None else table["effect_mean"].abs()
    return table.assign(_order=order).sort_values("_order", ascending=False).drop(columns="_order").reset_index(drop=True)


def _forest(ax, table: pd.DataFrame, prefix: str, title: str, xlabel: str) -> None:
    y = np.arange(len(table))[::-1]
    ax.hlines(y, table[f"{prefix}_lower_90"], table[f"{prefix}_upper_90"], color=INK, lw=1.0)
    ax.hlines(y, table[f"{prefix}_lower_50"], table[f"{prefix}_upper_50"], color=INK, lw=3.2)
    # filled dot: points toward the event on average; hollow: against (readable without colour)
    toward = table[f"{prefix}_mean"].to_numpy() > 0
    ax.plot(table[f"{prefix}_mean"][toward], y[toward], ls="none", marker="o", ms=5.5, mfc=INK, mec=INK, zorder=3)
    ax.plot(table[f"{prefix}_mean"][~toward], y[~toward], ls="none", marker="o", ms=5.5, mfc="white", mec=INK, zorder=3)
    ax.axvline(0, color=DARK, lw=0.8, ls="--")
    ax.set_title(title, loc="left", fontsize=8.5)
    ax.set_xlabel(xlabel, fontsize=7.5)
    ax.grid(False, axis="y")
    ax.set_ylim(-0.6, len(table) - 0.4)


@styled
def plot_drivers(result, provenance: Provenance | None = None, library=None, width: float = 9.0, height: float | None = None):
    """Forest plot of each indicator's effect, current level and push (see module docstring).

    Returns
    -------
    matplotlib.figure.Figure
        Three axes (effect, current level, push) with one row per indicator, or one axes (effect)
        when the run kept no latent paths.
    """
    provenance = provenance or Provenance.of(result)
    table = drivers_table(result, library)
    has_level = len(table) and not table["level_mean"].isna().all()
    height = height or 1.7 + 0.42 * max(len(table), 2)
    fig = new_figure(width, height)
    top = title_figure(fig, provenance, "Drivers: what pushes toward (filled) or against (hollow) the event")
    layout(fig, top_inches=top + 0.3, bottom_inches=1.05, left=0.25, right=0.98, wspace=0.12)
    panels = [("effect", "Effect per +1", "log hazard ratio per +1")]
    if has_level:
        panels += [("level", "Current level", "standardized (0 = source text)"), ("push", "Push now = effect x level", "log hazard ratio vs source text")]
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    if not len(table):
        axes[0].text(0.5, 0.5, "the question has no indicators", transform=axes[0].transAxes, ha="center")
    else:
        for ax, (prefix, title, xlabel) in zip(axes, panels):
            ax.set_gid(prefix)
            _forest(ax, table, prefix, title, xlabel)
        y = np.arange(len(table))[::-1]
        labels = [textwrap.fill(f"{n} ({d})", 34) for n, d in zip(table["name"], table["direction"])]
        axes[0].set_yticks(y, labels, fontsize=7)
        if not has_level:
            axes[0].text(0.0, -0.28, "This run kept no latent paths (a replay point): current levels are not available.",
                         transform=axes[0].transAxes, fontsize=7, color=DARK)
    fig.text(0.01, 0.4 / height, "Thick line 50%, thin line 90% interval over posterior draws; dot = mean.", fontsize=6.5, color=DARK)
    source_line(fig, provenance)
    return fig

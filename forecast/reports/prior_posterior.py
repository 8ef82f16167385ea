"""Figure 4, prior vs posterior: how far the evidence and the survival record moved each parameter
away from the priors read from the source text.

For the baseline probability (per period of the spec, with every indicator at 0) and each
indicator's effect size (|log hazard ratio| per +1), the prior draws (the DataTree's ``prior``
group, sampled from the elicited priors) and the posterior draws are drawn as histogram
densities on a common range. Two numbers summarise each move:

* **shift** = (posterior mean - prior mean) / prior SD: how many prior standard deviations the
  evidence moved the centre;
* **narrowing** = 1 - posterior SD / prior SD: how much of the prior spread the evidence removed
  (0 = learned nothing about it, 1 = pinned down).

Histograms rather than kernel densities: both parameters are bounded below (probability and size
are positive) and a kernel density would leak mass below 0 and show a bump that is not there.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from forecast.reports.style import BAND_90, DARK, INK, Provenance, layout, new_figure, source_line, styled, title_figure


def _parameters(result) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(label, key, prior draws, posterior draws) for the baseline and every indicator's effect size."""
    prior, post = result.idata["prior"], result.idata["posterior"]
    per = result.spec.baseline.per
    out = [(f"baseline probability per {per}", "baseline_probability",
            np.asarray(prior["baseline_probability"].values).reshape(-1), np.asarray(post["baseline_probability"].values).reshape(-1))]
    for i, k in enumerate(result.design.indicator_ids):
        direction = result.spec.indicators[k].direction
        out.append((f"effect size: {k} ({direction})", f"effect_size[{k}]",
                    np.asarray(prior["effect_size"].values)[..., i].reshape(-1), np.asarray(post["effect_size"].values)[..., i].reshape(-1)))
    return out


def prior_posterior_table(result) -> pd.DataFrame:
    """One row per parameter: prior and posterior mean, SD and 90% interval, shift and narrowing."""
    rows = []
    for label, key, prior, post in _parameters(result):
        pq, sq = np.quantile(prior, [0.05, 0.95]), np.quantile(post, [0.05, 0.95])
        psd = prior.std()
        rows.append({
            "parameter": key, "label": label,
            "prior_mean": prior.mean(), "prior_sd": psd, "prior_lower_90": pq[0], "prior_upper_90": pq[1],
            "posterior_mean": post.mean(), "posterior_sd": post.std(), "posterior_lower_90": sq[0], "posterior_upper_90": sq[1],
            "shift": (post.mean() - prior.mean()) / psd if psd > 0 else np.nan,
            "narrowing": 1.0 - post.std() / psd if psd > 0 else np.nan,
        })
    return pd.DataFrame(rows)


@styled
def plot_prior_posterior(result, provenance: Provenance | None = None, ncols: int = 4, width: float = 9.0):
    """Prior (dashed outline) and posterior (grey fill) densities of the baseline and every effect size.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per parameter (baseline first, then the indicators in spec order), each with two
        series: the prior (a dashed step line) and the posterior (a filled step).
    """
    provenance = provenance or Provenance.of(result)
    params = _parameters(result)
    table = prior_posterior_table(result)
    nrows = math.ceil(len(params) / ncols)
    height = 1.6 + 1.75 * nrows
    fig = new_figure(width, height)
    top = title_figure(fig, provenance, "Prior (from the source text) vs posterior (after evidence and survival)")
    layout(fig, top_inches=top + 0.3, bottom_inches=0.85, left=0.05, right=0.99, hspace=0.75, wspace=0.25)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (label, key, prior, post), row in zip(axes, params, table.itertuples()):
        ax.set_gid(key)
        both = np.concatenate([prior, post])
        lo, hi = np.quantile(both, [0.002, 0.995])
        lo = max(lo, 0.0) if both.min() >= 0 else lo
        # about sqrt(n) bins for the smaller sample: enough resolution, not a comb of noise
        n_bins = int(np.clip(np.sqrt(min(prior.size, post.size)), 15, 40))
        bins = np.linspace(lo, hi, n_bins + 1)
        ax.hist(post, bins=bins, density=True, histtype="stepfilled", color=BAND_90, ec=DARK, lw=0.6, label="posterior")
        ax.hist(prior, bins=bins, density=True, histtype="step", color=INK, ls="--", lw=1.1, label="prior")
        ax.set_title(_wrap(label), loc="left", fontsize=7.5)
        ax.set_yticks([])
        ax.grid(False)
        ax.text(0.98, 0.96, f"shift {row.shift:+.2f} SD\nspread x{1 - row.narrowing:.2f}", transform=ax.transAxes, ha="right", va="top",
                fontsize=6.5, color=INK, bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    for ax in axes[len(params):]:
        ax.set_visible(False)
    axes[0].legend(loc="center right", fontsize=6.5)
    fig.text(0.01, 0.45 / height, "shift: move of the posterior mean, in prior SDs; spread: posterior SD / prior SD (x1.00 = the data taught nothing about it).",
             fontsize=6.5, color=DARK)
    source_line(fig, provenance)
    return fig


def _wrap(label: str, width: int = 34) -> str:
    import textwrap

    return textwrap.fill(label, width)

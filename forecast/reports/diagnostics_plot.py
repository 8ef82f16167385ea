"""Figure 7, diagnostics panel: is the posterior behind the brief trustworthy?

* **Rank plots** (Vehtari, Gelman, Simpson, Carpenter and Buerkner 2021) for the baseline
  probability, the element with the worst r_hat of every other parameter group (starting levels,
  volatilities, effect sizes, random-walk innovations) and the headline probability: all draws of
  a quantity are ranked together, and each chain's ranks are histogrammed. Chains that sample the same distribution give flat, overlapping
  histograms around the dashed line (draws / bins); a chain stuck in one region shows as a
  histogram piled at one end. One line style per chain, so the panel reads in greyscale.
* **The table** of the worst r_hat and bulk / tail ESS of each parameter group
  (:attr:`SamplingDiagnostics.table`), values that miss the spec's thresholds marked ``*``.
* **The verdict**: the diagnostics line (r_hat max, ESS minima, divergences, headline MCSE) and,
  for a flagged fit, a boxed warning with every problem.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata

from forecast.reports.style import DARK, INK, SERIES, WARNING_RED, Provenance, layout, new_figure, source_line, styled, title_figure

RANK_BINS = 20


def rank_histograms(draws: np.ndarray, bins: int = RANK_BINS) -> np.ndarray:
    """(chain, bins) counts of each chain's draws in equal-width bins of the pooled ranks."""
    chains, n = draws.shape
    ranks = rankdata(draws.reshape(-1)).reshape(chains, n)
    edges = np.linspace(0.5, chains * n + 0.5, bins + 1)
    return np.stack([np.histogram(r, bins=edges)[0] for r in ranks])


def _rank_parameters(result) -> list[tuple[str, np.ndarray]]:
    """(label, (chain, draw) draws) of the element with the worst r_hat in each free parameter group,
    plus the headline probability: where the sampler struggles is what the panel has to show."""
    import arviz as az

    from forecast.inference.diagnostics import FREE_PARAMETERS

    post = result.idata["posterior"]
    out = []
    for name in [n for n in FREE_PARAMETERS if n in post.data_vars]:
        da = post[name]
        if da.ndim == 2:
            out.append((name, np.asarray(da.values)))
            continue
        rhat = az.rhat(result.idata, var_names=[name])[name]
        values = np.asarray(rhat.values)
        if not np.isfinite(values).any():
            continue
        index = np.unravel_index(int(np.nanargmax(values)), values.shape)
        coords = [str(rhat[dim].values[i]) if dim in rhat.coords else str(i) for dim, i in zip(rhat.dims, index)]
        selection = dict(zip(rhat.dims, index))
        out.append((f"{name}[{', '.join(coords)}] (worst)", np.asarray(da.isel(selection).values)))
    if result.headline is not None and "p_event_by" in post.data_vars:
        key = result.headline.isoformat()
        if key in list(post["horizon"].values):
            draws = np.asarray(post["p_event_by"].sel(horizon=key).values)
            if draws.std() > 0:
                out.append((f"P(event by {key})", draws))
    return out


def diagnostics_verdict(result) -> tuple[str, list[str]]:
    """(the one-line summary, the list of problems) of a fit's sampling diagnostics."""
    d = result.diagnostics
    return d.line(), list(d.problems)


@styled
def plot_diagnostics(result, provenance: Provenance | None = None, ncols: int = 3, width: float = 9.0):
    """Rank plots, the r_hat / ESS table and the verdict of the fit's sampling diagnostics.

    Returns
    -------
    matplotlib.figure.Figure
        One rank-plot axes per parameter (gid ``rank:<name>``, one line per chain), a table axes
        (gid ``table``) and the verdict text above them; a flagged fit carries a boxed warning.
    """
    provenance = provenance or Provenance.of(result)
    params = _rank_parameters(result)
    line, problems = diagnostics_verdict(result)
    passed = result.diagnostics.passed
    nrows = math.ceil(len(params) / ncols)
    table = result.diagnostics.table
    n_table = 0 if table is None else len(table)
    verdict_inches = 0.35 + (0.16 * (len(problems) + 1) if not passed else 0)
    table_inches = 0.13 * (n_table + 2)
    height = 1.1 + verdict_inches + 1.6 * nrows + table_inches + 0.9
    fig = new_figure(width, height)
    top = title_figure(fig, provenance, "Sampling diagnostics")
    layout(fig, top_inches=top + verdict_inches + 0.25, bottom_inches=0.45 + table_inches + 0.35, left=0.05, right=0.99, hspace=0.6, wspace=0.2)

    # the verdict: a warning a reader cannot miss, in red and in words (greyscale-safe)
    y_verdict = 1 - (top + 0.12) / height
    if passed:  # the line already says "diagnostics OK: ..."; said once, capitalised
        fig.text(0.01, y_verdict, line[:1].upper() + line[1:], ha="left", va="top", fontsize=8, color=INK, gid="verdict")
    else:
        # the warning says "flagged" once; the numbers follow without the line's own "diagnostics FLAGGED:"
        numbers = line.split(": ", 1)[1] if ": " in line else line
        text = "WARNING: the sampling diagnostics flag this fit; its numbers may be unreliable.\n" + numbers + "".join(f"\n  - {p}" for p in problems)
        fig.text(0.01, y_verdict, text, ha="left", va="top", fontsize=7.5, color=WARNING_RED, fontweight="bold",
                 bbox={"boxstyle": "square,pad=0.4", "fc": "white", "ec": WARNING_RED, "lw": 1.5}, gid="warning")

    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (name, draws) in zip(axes, params):
        ax.set_gid(f"rank:{name}")
        counts = rank_histograms(draws)
        x = np.arange(RANK_BINS + 1)
        for c, chain_counts in enumerate(counts):
            colour, style, _ = SERIES[c % len(SERIES)]
            ax.stairs(chain_counts, x, baseline=None, color=colour, ls=style, lw=1.1, label=f"chain {c}")
        ax.axhline(draws.shape[1] / RANK_BINS, color=DARK, lw=0.7, ls=(0, (2, 2)))
        ax.set_title(name, loc="left", fontsize=7)
        ax.set_xticks([])
        ax.tick_params(labelsize=6)
        ax.set_ylim(0, None)
    for ax in axes[len(params):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    # beside the table (the space above the panels belongs to the warning)
    fig.legend(handles, labels, fontsize=6.5, loc="upper right", ncols=min(len(labels), 4), title="rank histogram of",
               title_fontsize=6.5, bbox_to_anchor=(0.99, (0.55 + table_inches) / height))

    # the table: worst r_hat and ESS per parameter group, misses marked
    table_ax = fig.add_axes((0.05, (0.45 + 0.1) / height, 0.9, table_inches / height))
    table_ax.set_gid("table")
    table_ax.axis("off")
    if table is not None and n_table:
        th = result.spec.thresholds
        lines = [f"{'parameter':<24}{'r_hat':>9}{'ESS bulk':>11}{'ESS tail':>11}"]
        for name, row in table.iterrows():
            r = f"{row['r_hat']:.3f}" + ("*" if not row["r_hat"] <= th.r_hat else " ")
            eb = f"{row['ess_bulk']:.0f}" + ("*" if not row["ess_bulk"] >= th.ess else " ")
            et = f"{row['ess_tail']:.0f}" + ("*" if not row["ess_tail"] >= th.ess else " ")
            lines.append(f"{name:<24}{r:>9}{eb:>11}{et:>11}")
        lines.append(f"* misses a threshold: r_hat <= {th.r_hat}, ESS >= {th.ess:.0f}")
        table_ax.text(0, 1, "\n".join(lines), family="DejaVu Sans Mono", fontsize=6.8, va="top", ha="left", transform=table_ax.transAxes)
    else:
        table_ax.text(0, 1, "no per-parameter table for this run", fontsize=7, va="top", transform=table_ax.transAxes)
    source_line(fig, provenance)
    return fig

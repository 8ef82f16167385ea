"""Sampling diagnostics of a fit: r_hat, bulk/tail ESS, divergences and the MCSE of the headline.

A fit that misses any threshold (spec ``thresholds``) is *flagged*: the result says so, the CLI
prints it in red and exits non-zero with ``--strict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

FREE_PARAMETERS = ("baseline_probability", "level_start", "volatility", "effect_size", "innovation")


@dataclass
class SamplingDiagnostics:
    passed: bool
    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    headline_mcse: float
    n_draws: int
    problems: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None  # per-parameter r_hat / ESS (worst element)
    # a replay point reweighted from an anchor fit: anchor run, Pareto k-hat, importance ESS
    importance: dict | None = None

    def line(self) -> str:
        status = "OK" if self.passed else "FLAGGED"
        return (
            f"diagnostics {status}: r_hat max {self.r_hat_max:.3f}, ESS bulk min {self.ess_bulk_min:.0f}, "
            f"tail min {self.ess_tail_min:.0f}, divergences {self.divergences}, "
            f"headline MCSE {self.headline_mcse:.4f} ({self.n_draws} draws)"
            + (f", reweighted from run {self.importance['anchor_run']} (k-hat {self.importance['pareto_k']:.2f})" if self.importance else "")
        )

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "r_hat_max": self.r_hat_max,
            "ess_bulk_min": self.ess_bulk_min,
            "ess_tail_min": self.ess_tail_min,
            "divergences": self.divergences,
            "headline_mcse": self.headline_mcse,
            "n_draws": self.n_draws,
            "problems": list(self.problems),
            **({"importance": self.importance} if self.importance else {}),
        }


def _worst(ds: xr.Dataset, how) -> dict[str, float]:
    return {name: float(how(np.asarray(da.values))) for name, da in ds.data_vars.items() if da.size}


def check_sampling(idata, headline_index: int | None, thresholds) -> SamplingDiagnostics:
    """Diagnose the posterior of ``idata`` against ``thresholds`` (a :class:`~forecast.inputs.spec.Thresholds`)."""
    import arviz as az

    post = idata["posterior"]
    # the forecast is diagnosed too, unless it is constant (a resolved question: P = 1)
    varying = "p_event_by" in post.data_vars and post["p_event_by"].size and float(post["p_event_by"].std()) > 0
    names = [n for n in FREE_PARAMETERS if n in post.data_vars] + (["p_event_by"] if varying else [])
    rhat = _worst(az.rhat(idata, var_names=names), np.nanmax)
    ess_bulk = _worst(az.ess(idata, var_names=names, method="bulk"), np.nanmin)
    ess_tail = _worst(az.ess(idata, var_names=names, method="tail"), np.nanmin)
    table = pd.DataFrame({"r_hat": rhat, "ess_bulk": ess_bulk, "ess_tail": ess_tail})
    divergences = int(np.asarray(idata["sample_stats"]["diverging"].values).sum())
    mcse = float("nan")
    if headline_index is not None and varying:
        mcse = float(az.mcse(idata, var_names=["p_event_by"])["p_event_by"].values[headline_index])
    n_draws = int(post.sizes["chain"] * post.sizes["draw"])

    problems = []
    r_max = max(rhat.values()) if rhat else float("nan")
    eb = min(ess_bulk.values()) if ess_bulk else float("nan")
    et = min(ess_tail.values()) if ess_tail else float("nan")
    if not r_max <= thresholds.r_hat:
        problems.append(f"r_hat {r_max:.3f} > {thresholds.r_hat} ({max(rhat, key=rhat.get)})")
    if not eb >= thresholds.ess:
        problems.append(f"bulk ESS {eb:.0f} < {thresholds.ess:.0f} ({min(ess_bulk, key=ess_bulk.get)})")
    if not et >= thresholds.ess:
        problems.append(f"tail ESS {et:.0f} < {thresholds.ess:.0f} ({min(ess_tail, key=ess_tail.get)})")
    if divergences > thresholds.divergences:
        problems.append(f"{divergences} divergent transitions (allowed {thresholds.divergences})")
    if headline_index is not None and varying and not mcse <= thresholds.headline_mcse:
        problems.append(f"headline MCSE {mcse:.4f} > {thresholds.headline_mcse}")
    return SamplingDiagnostics(
        passed=not problems,
        r_hat_max=r_max,
        ess_bulk_min=eb,
        ess_tail_min=et,
        divergences=divergences,
        headline_mcse=mcse,
        n_draws=n_draws,
        problems=problems,
        table=table,
    )

"""Sampling diagnostics of a fit, computed by ``arviz_stats``, against the spec's thresholds.

Checked on every fit (spec ``thresholds``, defaults in brackets):

* r_hat (rank-normalised, folded) of every free parameter and of the forecast [<= 1.01];
* bulk and tail ESS of the same [>= 400];
* divergent transitions [0];
* E-BFMI of every chain [>= 0.3]: below it the momentum resampling explores the energy levels
  poorly (Betancourt 2016);
* the share of draws whose trajectory hit NUTS's maximum tree depth [<= 1%]: such draws stopped
  early and explore slowly;
* the Monte Carlo SE of the headline mean [<= 0.005].

r_hat and ESS come from ``arviz_stats.rhat`` and ``arviz_stats.ess`` (``method="bulk"`` and
``"tail"``; per element, reduced to the worst element of each variable in
:attr:`SamplingDiagnostics.table` by :func:`variable_table`); divergences, tree depth and
E-BFMI from ``arviz_stats.diagnose``; the headline MCSE from ``arviz_stats.mcse``. A fit that misses
any threshold is *flagged*: the result says so, the CLI prints it in red and exits non-zero with
``--strict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.model.hazard import FREE_PARAMETERS


@dataclass
class SamplingDiagnostics:
    """The diagnostics of one fit (see the module docstring).

    Attributes
    ----------
    passed : bool
        No threshold missed.
    r_hat_max : float
        Largest r_hat over every element of the diagnosed variables.
    ess_bulk_min, ess_tail_min : float
        Smallest bulk / tail effective sample size (draws).
    divergences : int
        Divergent transitions after tuning.
    headline_mcse : float
        Monte Carlo SE of the headline mean (probability); NaN without a headline.
    n_draws : int
        Chains x draws.
    problems : list of str
        One sentence per missed threshold.
    table : pandas.DataFrame, optional
        Per variable (index): worst ``r_hat``, ``ess_bulk``, ``ess_tail``.
    importance : dict, optional
        A replay point reweighted from an anchor fit: anchor run, Pareto k-hat, importance ESS.
    ebfmi_min : float
        Smallest E-BFMI over the chains.
    max_treedepth_share : float
        Share of draws (0-1) whose trajectory hit the maximum tree depth.
    """

    passed: bool
    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    headline_mcse: float
    n_draws: int
    problems: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    importance: dict | None = None
    ebfmi_min: float = float("nan")
    max_treedepth_share: float = float("nan")

    def line(self) -> str:
        """One line for a terminal or a log.

        Returns
        -------
        str
            ``diagnostics OK: r_hat max ..., ESS bulk min ..., ...``: the verdict and the worst value
            of each diagnostic.
        """
        status = "OK" if self.passed else "FLAGGED"
        sampler = ""
        if not math.isnan(self.ebfmi_min):
            sampler += f", E-BFMI min {self.ebfmi_min:.2f}"
        if not math.isnan(self.max_treedepth_share):
            sampler += f", max tree depth {self.max_treedepth_share:.1%} of draws"
        return (
            f"diagnostics {status}: r_hat max {self.r_hat_max:.3f}, ESS bulk min {self.ess_bulk_min:.0f}, "
            f"tail min {self.ess_tail_min:.0f}, divergences {self.divergences}{sampler}, "
            f"headline MCSE {self.headline_mcse:.4f} ({self.n_draws} draws)"
            + (f", reweighted from run {self.importance['anchor_run']} (k-hat {self.importance['pareto_k']:.2f})" if self.importance else "")
        )

    def to_dict(self, table: bool = False) -> dict:
        """JSON-ready record (the ledger's ``diagnostics``).

        Parameters
        ----------
        table : bool
            Add the per-variable table (``{variable: {r_hat, ess_bulk, ess_tail}}``).

        Returns
        -------
        dict
        """
        out = {
            "passed": self.passed,
            "r_hat_max": self.r_hat_max,
            "ess_bulk_min": self.ess_bulk_min,
            "ess_tail_min": self.ess_tail_min,
            "divergences": self.divergences,
            "ebfmi_min": self.ebfmi_min,
            "max_treedepth_share": self.max_treedepth_share,
            "headline_mcse": self.headline_mcse,
            "n_draws": self.n_draws,
            "problems": list(self.problems),
            **({"importance": self.importance} if self.importance else {}),
        }
        if table and self.table is not None:
            out["table"] = {str(k): {c: float(v) for c, v in row.items()} for k, row in self.table.iterrows()}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "SamplingDiagnostics":
        """The diagnostics :meth:`to_dict` wrote.

        Parameters
        ----------
        data : dict
            Unknown keys are ignored; diagnostics a record predates are NaN.

        Returns
        -------
        SamplingDiagnostics
        """
        names = set(cls.__dataclass_fields__) - {"table"}
        out = cls(**{k: v for k, v in data.items() if k in names})
        if data.get("table"):
            out.table = pd.DataFrame.from_dict(data["table"], orient="index")
        return out


def variable_table(posterior, names=None) -> pd.DataFrame:
    """The worst r_hat, bulk ESS and tail ESS of each variable of a posterior.

    Parameters
    ----------
    posterior : xarray.Dataset or DataTree group
        Draws with dims (chain, draw, ...).
    names : list of str, optional
        Variables to diagnose; default the model's free parameters present in ``posterior``.

    Returns
    -------
    pandas.DataFrame
        Index: variable names in ``names`` order; columns ``r_hat`` (largest over the variable's
        elements, ``arviz_stats.rhat``: rank-normalised, folded, split), ``ess_bulk`` and
        ``ess_tail`` (smallest, ``arviz_stats.ess``). NaN where undefined (r_hat of one chain).
    """
    import arviz_stats

    ds = posterior.to_dataset() if hasattr(posterior, "to_dataset") else posterior
    if names is None:
        names = [n for n in FREE_PARAMETERS if n in ds.data_vars]
    ds = ds[list(names)]
    columns = {
        "r_hat": (arviz_stats.rhat(ds), "max"),
        "ess_bulk": (arviz_stats.ess(ds, method="bulk"), "min"),
        "ess_tail": (arviz_stats.ess(ds, method="tail"), "min"),
    }
    rows = {name: {col: getattr(pd.Series(np.ravel(values[name].values)), how)() for col, (values, how) in columns.items()}
            for name in names}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(columns)).astype(float)


def check_sampling(idata, headline_index: int | None, thresholds, table: pd.DataFrame | None = None) -> SamplingDiagnostics:
    """Diagnose the posterior of ``idata`` against ``thresholds``.

    Parameters
    ----------
    idata : xarray.DataTree
        A NUTS fit: ``posterior`` and ``sample_stats`` (``diverging``, ``energy``,
        ``reached_max_treedepth``).
    headline_index : int, optional
        Position of the headline in the ``horizon`` dim of ``p_event_by``.
    thresholds : forecast.inputs.spec.Thresholds
    table : pandas.DataFrame, optional
        :func:`variable_table` of the free parameters, already computed (:func:`fit_design
        <forecast.inference.sampling.fit_design>` computes it beside the forecast); the forecast's
        row is added here.

    Returns
    -------
    SamplingDiagnostics
    """
    import arviz_stats

    post = idata["posterior"]
    # the forecast is diagnosed too, unless it is constant (a resolved question: P = 1)
    varying = "p_event_by" in post.data_vars and post["p_event_by"].size and float(post["p_event_by"].std()) > 0
    if table is None:
        table = variable_table(post)
    if varying:
        table = pd.concat([table, variable_table(post, ["p_event_by"])])
    # divergences, tree depth and E-BFMI; its own r_hat / ESS checks (other thresholds) are
    # confined to one scalar, the table above holds ours
    _, sampler = arviz_stats.diagnose(idata, var_names=["baseline_probability"], bfmi_threshold=thresholds.ebfmi,
                                      show_diagnostics=False, return_diagnostics=True)
    divergences = int(sampler.get("divergent", {}).get("n_divergent", 0))
    treedepth = sampler.get("treedepth", {}).get("pct", float("nan")) / 100
    ebfmi = np.asarray(sampler["bfmi"]["bfmi_values"], dtype=float) if "bfmi" in sampler else np.array([])
    ebfmi_min = float(ebfmi.min()) if ebfmi.size else float("nan")
    mcse = float("nan")
    if headline_index is not None and varying:
        mcse = float(arviz_stats.mcse(idata, var_names=["p_event_by"])["p_event_by"].values[headline_index])
    n_draws = int(post.sizes["chain"] * post.sizes["draw"])

    problems = []
    r_max, eb, et = float(table["r_hat"].max()), float(table["ess_bulk"].min()), float(table["ess_tail"].min())
    def worst(column: str, largest: bool) -> str:
        values = table[column].dropna()  # all NaN with one chain (r-hat is undefined)
        return "undefined" if values.empty else str(values.idxmax() if largest else values.idxmin())

    if not r_max <= thresholds.r_hat:
        problems.append(f"r_hat {r_max:.3f} > {thresholds.r_hat} ({worst('r_hat', True)})")
    if not eb >= thresholds.ess:
        problems.append(f"bulk ESS {eb:.0f} < {thresholds.ess:.0f} ({worst('ess_bulk', False)})")
    if not et >= thresholds.ess:
        problems.append(f"tail ESS {et:.0f} < {thresholds.ess:.0f} ({worst('ess_tail', False)})")
    if divergences > thresholds.divergences:
        problems.append(f"{divergences} divergent transitions (allowed {thresholds.divergences})")
    if ebfmi_min < thresholds.ebfmi:
        low = ", ".join(f"chain {c} {v:.2f}" for c, v in enumerate(ebfmi) if v < thresholds.ebfmi)
        problems.append(f"E-BFMI below {thresholds.ebfmi} ({low}): NUTS explores the energy distribution poorly")
    if treedepth > thresholds.max_treedepth_share:
        problems.append(f"{treedepth:.1%} of draws hit the maximum tree depth (allowed {thresholds.max_treedepth_share:.1%})")
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
        ebfmi_min=ebfmi_min,
        max_treedepth_share=float(treedepth),
    )

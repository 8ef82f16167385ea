"""The result of a fit: headline, horizon table, cumulative curve, diagnostics and provenance.

A :class:`FitResult` is a view of one posterior tree (``xarray.DataTree``). Everything needed to
rebuild it is stored in the tree's root ``attrs`` (:func:`annotate`): the question spec, the
person-period data (:class:`~forecast.model.design.Design`), the sampler settings, seed and number of
future paths, the fingerprints, the package versions and the diagnostics, as JSON strings. Its one
constructor, :meth:`FitResult.from_tree`, reads them back, so a fit, a replay point and a stored run
loaded from disk are built the same way, and a stored run never depends on the project's files as
they are today.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.core import icd203, timegrid
from forecast.core.fmt import percent
from forecast.inference.diagnostics import SamplingDiagnostics
from forecast.inputs.spec import QuestionSpec
from forecast.model.design import Design

# keys of the tree's root attrs (JSON strings unless noted)
ATTR_SPEC = "forecast_spec"
ATTR_DESIGN = "forecast_design"
ATTR_CONFIG = "forecast_config"  # {"sampler": {...}, "seed": int, "n_paths": int}
ATTR_FINGERPRINTS = "forecast_fingerprints"
ATTR_VERSIONS = "forecast_versions"
ATTR_DIAGNOSTICS = "forecast_diagnostics"
ATTR_HEADLINE = "forecast_headline"  # ISO date or ""
ATTR_SECONDS = "forecast_sampling_seconds"  # float


def headline_horizon(spec: QuestionSpec, future: list[dt.date], as_of: dt.date) -> dt.date | None:
    """The headline horizon of a fit.

    Parameters
    ----------
    spec : QuestionSpec
        Its ``headline_lead_months``.
    future : list of datetime.date
        The horizons after the as-of date, in order.
    as_of : datetime.date

    Returns
    -------
    datetime.date or None
        The first of ``future`` at least ``headline_lead_months`` after ``as_of``, else the last
        one; None when ``future`` is empty.
    """
    if not future:
        return None
    threshold = timegrid.month_start(as_of, spec.headline_lead_months)
    for h in future:
        if h >= threshold:
            return h
    return future[-1]


def annotate(tree, *, spec: QuestionSpec, design: Design, config: dict, seed: int, n_paths: int, fingerprints: dict,
             versions: dict, diagnostics: SamplingDiagnostics, headline: dt.date | None, seconds: float) -> None:
    """Store in ``tree.attrs`` everything :meth:`FitResult.from_tree` needs (in place).

    Parameters
    ----------
    tree : xarray.DataTree
        The fit's posterior tree.
    spec : QuestionSpec
    design : Design
        The person-period data the posterior is conditioned on.
    config : dict
        Sampler settings (``SampleConfig.to_dict()``, plus e.g. the replay method).
    seed : int
    n_paths : int
        Future paths per draw of the forecast.
    fingerprints : dict
        ``spec``, ``evidence``, ``code``, ``sampler`` and ``combined``.
    versions : dict
        Package versions.
    diagnostics : SamplingDiagnostics
    headline : datetime.date, optional
    seconds : float
        Wall time of the fit.
    """
    fps = dict(fingerprints)
    tree.attrs.update({
        # short keys for anyone reading the NetCDF file with other tools
        "question": spec.id,
        "as_of": design.as_of.isoformat(),
        "seed": int(seed),
        "fingerprint": str(fps.get("combined", "")),
        **{f"fingerprint_{k}": str(v) for k, v in fps.items() if k != "combined"},
        ATTR_SPEC: json.dumps(spec.to_dict(), sort_keys=True),
        ATTR_DESIGN: json.dumps(design.to_dict()),
        ATTR_CONFIG: json.dumps({"sampler": config, "seed": int(seed), "n_paths": int(n_paths)}, sort_keys=True, default=str),
        ATTR_FINGERPRINTS: json.dumps(fps, sort_keys=True),
        ATTR_VERSIONS: json.dumps(versions, sort_keys=True),
        ATTR_DIAGNOSTICS: json.dumps(diagnostics.to_dict(table=True), default=float),
        ATTR_HEADLINE: headline.isoformat() if headline else "",
        ATTR_SECONDS: float(seconds),
    })


def _chain_draw(values: np.ndarray):
    """(chain, draw) draws as an ``xarray.DataArray`` (what ``arviz_stats`` reduces)."""
    import xarray as xr

    return xr.DataArray(values, dims=("chain", "draw"))


@dataclass
class FitResult:
    """Posterior of one question at one as-of date, and what it rests on.

    Build it with :meth:`from_tree` (what :meth:`forecast.Question.fit`, replay and
    :func:`forecast.inference.store.load_result` do).

    Attributes
    ----------
    spec : QuestionSpec
        The question as fitted.
    design : Design
        The person-period data the posterior is conditioned on.
    idata : xarray.DataTree
        ArviZ data: ``posterior`` (with ``p_event_by`` (chain, draw, horizon),
        ``p_event_curve`` (chain, draw, forecast_month) and ``p_event_within`` (chain, draw), the
        rolling headline; probabilities), ``prior``,
        ``prior_predictive``, ``sample_stats``, ``log_likelihood`` (``evidence`` per item,
        ``event_count`` per month: ``arviz_stats.loo(result.idata, var_name="evidence")`` works),
        ``observed_data``; the provenance in ``attrs``.
    horizons : list of datetime.date
        Horizons after the as-of date.
    headline : datetime.date, optional
        The headline horizon (the fixed date of the horizon table's headline row).
    diagnostics : SamplingDiagnostics
        r_hat, ESS, divergences, E-BFMI, tree depth and headline MCSE; ``diagnostics.passed`` is
        False for a flagged fit.
    seed : int
    n_paths : int
        Simulated future paths per draw.
    fingerprints, versions : dict
    sampling_seconds : float
    config : dict
        Sampler settings of the fit.
    """

    spec: QuestionSpec
    design: Design
    idata: object
    horizons: list[dt.date]
    headline: dt.date | None
    diagnostics: SamplingDiagnostics
    seed: int
    n_paths: int
    fingerprints: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    sampling_seconds: float = float("nan")
    config: dict = field(default_factory=dict)
    # summary() and rolling() of this tree, computed once (a run's record, JSON and sentences all read them)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_tree(cls, tree) -> "FitResult":
        """The result stored in a posterior tree (see :func:`annotate`); the one constructor.

        Parameters
        ----------
        tree : xarray.DataTree
            A fit's tree with the attrs :func:`annotate` writes (in memory or loaded from NetCDF).

        Returns
        -------
        FitResult
            Holding ``tree`` itself as ``idata``.

        Raises
        ------
        ValueError
            The tree lacks those attrs (a file written before they existed, or not by this package).
        """
        attrs = tree.attrs
        missing = [k for k in (ATTR_SPEC, ATTR_DESIGN, ATTR_CONFIG) if k not in attrs]
        if missing:
            raise ValueError(f"the posterior tree does not record {', '.join(missing)}: it was not written by this version of "
                             "forecast; run `forecast update` again to refit it")
        spec = QuestionSpec.from_dict(json.loads(attrs[ATTR_SPEC]))
        design = Design.from_dict(json.loads(attrs[ATTR_DESIGN]))
        config = json.loads(attrs[ATTR_CONFIG])
        post = tree["posterior"]
        if "horizon" in post.coords:
            horizons = [timegrid.to_date(h) for h in post["horizon"].values]
        else:
            horizons = [h for h in spec.horizons if h > design.as_of]
        headline = attrs.get(ATTR_HEADLINE) or None
        return cls(
            spec=spec,
            design=design,
            idata=tree,
            horizons=horizons,
            headline=timegrid.to_date(headline) if headline else None,
            diagnostics=SamplingDiagnostics.from_dict(json.loads(attrs.get(ATTR_DIAGNOSTICS, "{}"))),
            seed=int(config["seed"]),
            n_paths=int(config["n_paths"]),
            fingerprints=json.loads(attrs.get(ATTR_FINGERPRINTS, "{}")),
            versions=json.loads(attrs.get(ATTR_VERSIONS, "{}")),
            sampling_seconds=float(attrs.get(ATTR_SECONDS, float("nan"))),
            config=dict(config.get("sampler") or {}),
        )

    @property
    def as_of(self) -> dt.date:
        """The as-of date: evidence published after it and survival after it are not in the fit."""
        return self.design.as_of

    @property
    def passed(self) -> bool:
        """True unless the diagnostics flag the fit."""
        return self.diagnostics.passed

    # -- draws ------------------------------------------------------------------------------------
    def p_by(self, date) -> np.ndarray:
        """Posterior draws of P(event by ``date`` | no event by as-of).

        Parameters
        ----------
        date : datetime.date or str
            After the as-of date; a horizon is read from the tree, any other date computed with
            the fit's seed and number of paths (so it agrees with the horizons exactly).

        Returns
        -------
        numpy.ndarray
            (chains x draws,) probabilities.

        Raises
        ------
        ValueError
            ``date`` is not after the as-of date.
        """
        date = timegrid.to_date(date)
        if date <= self.as_of:
            raise ValueError(f"{date} is not after the as-of date {self.as_of}")
        key = date.isoformat()
        post = self.idata["posterior"]
        if key in list(post["horizon"].values):
            return np.asarray(post["p_event_by"].sel(horizon=key).values).reshape(-1)
        # any other date: the same computation, same seed (so horizons agree exactly)
        from forecast.model.prediction import forecast_draws

        ds = post.to_dataset()
        p = forecast_draws(ds, self.design, np.array([self.design.u(date)]), self.n_paths, self.seed)
        return p.reshape(-1)

    # -- the rolling headline -----------------------------------------------------------------------
    @property
    def rolling_months(self) -> int | None:
        """The rolling headline's lead :math:`L` in months (the spec's ``headline_lead_months``);
        None when it is 0 (a window of 0 months holds no forecast)."""
        months = int(self.spec.headline_lead_months)
        return months if months >= 1 else None

    @property
    def rolling_until(self) -> dt.date | None:
        """The end of the rolling window: :attr:`rolling_months` calendar months after the as-of date."""
        from forecast.model.prediction import rolling_until

        return rolling_until(self.as_of, self.rolling_months) if self.rolling_months else None

    def p_within(self) -> np.ndarray:
        """Posterior draws of the rolling headline, P(event within :attr:`rolling_months` of the as-of date | no event by as-of).

        Returns
        -------
        numpy.ndarray
            (chains x draws,) probabilities: the tree's ``p_event_within``, or for a tree written
            without it the same computation, ``p_by(rolling_until)``.

        Raises
        ------
        ValueError
            The spec's ``headline_lead_months`` is 0.
        """
        if self.rolling_months is None:
            raise ValueError(f"{self.spec.id} has headline_lead_months 0: there is no rolling headline (a window of 0 months)")
        post = self.idata["posterior"]
        if "p_event_within" in post.data_vars:
            return np.asarray(post["p_event_within"].values, dtype=float).reshape(-1)
        return self.p_by(self.rolling_until)  # the same computation as the tree's

    def rolling(self) -> dict | None:
        """The rolling headline: P(event within L months of the as-of date | no event by as-of).

        Unlike the headline horizon, which is a fixed date that comes closer with every month (and
        jumps when it passes), the rolling window has the same length on every as-of date, so the
        rolling headline of two runs answers the same question and can be compared.

        Returns
        -------
        dict or None
            ``months`` (L), ``until`` (the window's end, datetime.date), ``mean``, ``median``,
            ``lower_50``/``upper_50`` and ``lower_90``/``upper_90`` (equal-tailed), ``mcse`` (of the
            mean: ``arviz_stats.mcse``, or for a replay point reweighted from an anchor the
            importance-sampling MCSE it recorded) and ``icd203`` (the term of the mean as printed).
            None when the spec's ``headline_lead_months`` is 0.
        """
        import arviz_stats

        if self.rolling_months is None:
            return None
        if "rolling" in self._cache:
            return dict(self._cache["rolling"])
        post = self.idata["posterior"]
        chains, draws = post.sizes["chain"], post.sizes["draw"]
        p = self.p_within()
        da = _chain_draw(p.reshape(chains, draws))
        if float(p.std()) > 0:
            mcse = float(arviz_stats.mcse(da, method="mean").values)
            eti50 = np.asarray(arviz_stats.eti(da, prob=0.5).values, dtype=float)
            eti90 = np.asarray(arviz_stats.eti(da, prob=0.9).values, dtype=float)
        else:  # a resolved question: every draw is 1
            mcse, eti50, eti90 = 0.0, np.array([p[0], p[0]]), np.array([p[0], p[0]])
        importance = self.diagnostics.importance or {}
        if importance.get("rolling_mcse") is not None:
            mcse = float(importance["rolling_mcse"])
        mean = float(p.mean())
        self._cache["rolling"] = {
            "months": self.rolling_months,
            "until": self.rolling_until,
            "mean": mean,
            "median": float(np.median(p)),
            "lower_50": float(eti50[0]),
            "upper_50": float(eti50[1]),
            "lower_90": float(eti90[0]),
            "upper_90": float(eti90[1]),
            "mcse": mcse,
            "icd203": icd203.term(round(mean, 2)),
        }
        return dict(self._cache["rolling"])

    def rolling_sentence(self) -> str:
        """The rolling headline as a sentence.

        Returns
        -------
        str
            ``P(<event> within 12 months, by 2025-09-30) = 6% (90%: 1-15%, MCSE 0.0007) - "very
            unlikely" (ICD 203)``, with ``[DIAGNOSTICS FLAGGED]`` for a flagged fit; a question whose
            ``headline_lead_months`` is 0 says it has none.
        """
        r = self.rolling()
        if r is None:
            return f"No rolling headline: {self.spec.id} has headline_lead_months 0"
        text = (
            f"P({self.spec.event} within {r['months']} months, by {r['until']}) = {percent(r['mean'])} "
            f"(90%: {percent(r['lower_90'])}-{percent(r['upper_90'])}, MCSE {r['mcse']:.4f}) - \"{r['icd203']}\" (ICD 203)"
        )
        if not self.passed:
            text += " [DIAGNOSTICS FLAGGED]"
        return text

    # -- tables -----------------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """One row per horizon after the as-of date.

        Returns
        -------
        pandas.DataFrame
            ``horizon``, ``mean``, ``median``, ``lower_50``/``upper_50`` and ``lower_90``/``upper_90``
            (equal-tailed intervals, ``arviz_stats.eti``), ``mcse`` (of the mean,
            ``arviz_stats.mcse``), ``icd203`` (the term of the mean as printed) and ``headline``.
        """
        import arviz_stats

        if "summary" in self._cache:
            return self._cache["summary"].copy()
        rows = []
        if self.horizons:
            p = self.idata["posterior"]["p_event_by"]
            mcse = np.asarray(arviz_stats.mcse(p, method="mean").values, dtype=float)
            eti50 = np.asarray(arviz_stats.eti(p, prob=0.5).values, dtype=float)
            eti90 = np.asarray(arviz_stats.eti(p, prob=0.9).values, dtype=float)
            median = np.asarray(p.median(dim=("chain", "draw")).values, dtype=float)
            mean = np.asarray(p.mean(dim=("chain", "draw")).values, dtype=float)
        for i, h in enumerate(self.horizons):
            rows.append(
                {
                    "horizon": h,
                    "mean": float(mean[i]),
                    "median": float(median[i]),
                    "lower_50": float(eti50[i, 0]),
                    "upper_50": float(eti50[i, 1]),
                    "lower_90": float(eti90[i, 0]),
                    "upper_90": float(eti90[i, 1]),
                    "mcse": float(mcse[i]),
                    # the term belongs to the number the reader sees (a mean of 4.96% prints as 5%)
                    "icd203": icd203.term(round(float(mean[i]), 2)),
                    "headline": h == self.headline,
                }
            )
        table = pd.DataFrame(rows, columns=["horizon", "mean", "median", "lower_50", "upper_50", "lower_90", "upper_90", "mcse", "icd203", "headline"])
        self._cache["summary"] = table
        return table.copy()

    def curve(self) -> pd.DataFrame:
        """The cumulative curve from the as-of date.

        Returns
        -------
        pandas.DataFrame
            One row per month boundary and horizon: ``date, mean, median, lower_50, upper_50,
            lower_90, upper_90`` of P(event by date | no event by as-of) (equal-tailed intervals).
        """
        import arviz_stats

        da = self.idata["posterior"]["p_event_curve"]
        eti50 = np.asarray(arviz_stats.eti(da, prob=0.5).values, dtype=float)
        eti90 = np.asarray(arviz_stats.eti(da, prob=0.9).values, dtype=float)
        return pd.DataFrame(
            {
                "date": pd.to_datetime(list(da["forecast_month"].values)),
                "mean": np.asarray(da.mean(dim=("chain", "draw")).values, dtype=float),
                "median": np.asarray(da.median(dim=("chain", "draw")).values, dtype=float),
                "lower_50": eti50[:, 0],
                "upper_50": eti50[:, 1],
                "lower_90": eti90[:, 0],
                "upper_90": eti90[:, 1],
            }
        )

    def headline_sentence(self) -> str:
        """The headline as a sentence.

        Returns
        -------
        str
            ``P(<event> by <date>) = 7% (90%: 2-16%) - "very unlikely" (ICD 203)``, with
            ``[DIAGNOSTICS FLAGGED]`` for a flagged fit; a resolved question or one without a
            horizon after the as-of date says so instead.
        """
        if self.design.resolved_on is not None:
            return f"{self.spec.event}: resolved YES on {self.design.resolved_on} (as of {self.as_of})"
        if self.headline is None:
            return f"No horizon of {self.spec.id} lies after the as-of date {self.as_of}"
        row = self.summary().set_index("horizon").loc[self.headline]
        text = (
            f"P({self.spec.event} by {self.headline}) = {percent(row['mean'])} "
            f"(90%: {percent(row['lower_90'])}-{percent(row['upper_90'])}) - \"{row['icd203']}\" (ICD 203)"
        )
        if not self.passed:
            text += " [DIAGNOSTICS FLAGGED]"
        return text

    def to_summary_dict(self) -> dict:
        """JSON-ready record of the run (the ``.json`` beside a saved posterior).

        Returns
        -------
        dict
            Question, as-of, seed, headline and its sentence, the rolling headline (:meth:`rolling`)
            and its sentence, the horizon table, evidence used and excluded, diagnostics,
            fingerprints, versions, wall time.
        """
        table = self.summary()
        rolling = self.rolling()
        return {
            "question": self.spec.id,
            "as_of": self.as_of.isoformat(),
            "seed": self.seed,
            "headline": self.headline.isoformat() if self.headline else None,
            "headline_sentence": self.headline_sentence(),
            "rolling": None if rolling is None else {**rolling, "until": rolling["until"].isoformat()},
            "rolling_sentence": self.rolling_sentence(),
            "resolved_on": self.design.resolved_on.isoformat() if self.design.resolved_on else None,
            "horizons": [
                {k: (v.isoformat() if isinstance(v, dt.date) else (bool(v) if isinstance(v, (bool, np.bool_)) else v)) for k, v in row.items()}
                for row in table.to_dict(orient="records")
            ],
            "evidence_used": list(self.design.evidence_ids),
            "evidence_excluded": [{"id": e.id, "reason": e.reason} for e in self.design.excluded],
            "diagnostics": self.diagnostics.to_dict(),
            "fingerprints": self.fingerprints,
            "versions": self.versions,
            "sampling_seconds": self.sampling_seconds,
        }

    def __repr__(self) -> str:
        return f"<FitResult {self.spec.id} as of {self.as_of}: {self.headline_sentence()}>"

    def _repr_html_(self) -> str:
        """Notebook display: headline sentence, horizon table, evidence used, diagnostics line."""
        from forecast.inference.display import result_html

        return result_html(self)

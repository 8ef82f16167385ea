"""The result of a fit: headline, horizon table, cumulative curve, diagnostics and provenance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.core import icd203, timegrid
from forecast.core.fmt import percent
from forecast.inference.diagnostics import SamplingDiagnostics
from forecast.inputs.spec import QuestionSpec
from forecast.model.design import Design


def headline_horizon(spec: QuestionSpec, future: list[dt.date], as_of: dt.date) -> dt.date | None:
    """First horizon at least ``headline_lead_months`` after as-of, else the last one."""
    if not future:
        return None
    threshold = timegrid.month_start(as_of, spec.headline_lead_months)
    for h in future:
        if h >= threshold:
            return h
    return future[-1]


@dataclass
class FitResult:
    """Posterior of one question at one as-of date.

    Attributes
    ----------
    idata : xarray.DataTree
        ArviZ data: ``prior``, ``posterior`` (with ``p_event_by`` and ``p_event_curve``),
        ``sample_stats``, ``observed_data``...
    diagnostics : SamplingDiagnostics
        r_hat, ESS, divergences and headline MCSE; ``diagnostics.passed`` is False for a flagged fit.
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

    @property
    def as_of(self) -> dt.date:
        return self.design.as_of

    @property
    def passed(self) -> bool:
        return self.diagnostics.passed

    # -- draws ------------------------------------------------------------------------------------
    def p_by(self, date) -> np.ndarray:
        """Posterior draws (flattened chains) of P(event by ``date`` | no event by as-of)."""
        date = timegrid.to_date(date)
        if date <= self.as_of:
            raise ValueError(f"{date} is not after the as-of date {self.as_of}")
        key = date.isoformat()
        post = self.idata["posterior"]
        if key in list(post["horizon"].values):
            return np.asarray(post["p_event_by"].sel(horizon=key).values).reshape(-1)
        # any other date: the same computation, same seed (so horizons agree exactly)
        from forecast.inference.sampling import _forecast_from_group

        ds = post.to_dataset()
        p = _forecast_from_group(ds, self.design, np.array([self.design.u(date)]), self.n_paths, self.seed)
        return p.reshape(-1)

    # -- tables -----------------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """One row per horizon: mean, median, 50% and 90% equal-tailed intervals, ICD 203 term."""
        import arviz as az

        post = self.idata["posterior"]
        mcse = az.mcse(self.idata, var_names=["p_event_by"])["p_event_by"].values if self.horizons else []
        rows = []
        for i, h in enumerate(self.horizons):
            draws = np.asarray(post["p_event_by"].isel(horizon=i).values).reshape(-1)
            q = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95])
            mean = float(draws.mean())
            rows.append(
                {
                    "horizon": h,
                    "mean": mean,
                    "median": q[2],
                    "lower_50": q[1],
                    "upper_50": q[3],
                    "lower_90": q[0],
                    "upper_90": q[4],
                    "mcse": float(mcse[i]),
                    # the term belongs to the number the reader sees (a mean of 4.96% prints as 5%)
                    "icd203": icd203.term(round(mean, 2)),
                    "headline": h == self.headline,
                }
            )
        return pd.DataFrame(rows)

    def curve(self) -> pd.DataFrame:
        """The cumulative curve: P(event by each month boundary) with 50% and 90% intervals."""
        da = self.idata["posterior"]["p_event_curve"]
        draws = np.asarray(da.values).reshape(-1, da.sizes["forecast_month"])
        q = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        return pd.DataFrame(
            {
                "date": pd.to_datetime(list(da["forecast_month"].values)),
                "mean": draws.mean(axis=0),
                "median": q[2],
                "lower_50": q[1],
                "upper_50": q[3],
                "lower_90": q[0],
                "upper_90": q[4],
            }
        )

    def headline_sentence(self) -> str:
        """``P(<event> by <date>) = 7% (90%: 2-16%) - "very unlikely" (ICD 203)``."""
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
        """JSON-ready record of the run (headline, horizons, diagnostics, fingerprints, versions)."""
        table = self.summary()
        return {
            "question": self.spec.id,
            "as_of": self.as_of.isoformat(),
            "seed": self.seed,
            "headline": self.headline.isoformat() if self.headline else None,
            "headline_sentence": self.headline_sentence(),
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

"""Priors as small config objects, with their provenance.

A prior is given either by its distribution parameters::

    level: {dist: normal, params: {mu: 0.0, sigma: 0.7}, source: {...}}

or as an analyst's interval, turned into a distribution by maximum-entropy elicitation (PreliZ's
``maxent``): the distribution of the named family with the largest entropy that puts ``mass`` of its
probability between the two bounds::

    probability: {dist: beta, interval: [0.02, 0.15], mass: 0.9, source: {...}}

Every prior carries a :class:`Provenance`: the passage of the source text it encodes (checked
against the text by ``forecast validate``) and a sentence of reasoning for its size.
"""

from __future__ import annotations

import functools
import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from forecast.inputs.fields import Number

Family = Literal["normal", "halfnormal", "lognormal", "beta", "gamma", "exponential"]

# no parameter of a prior on a standardized scale, a log hazard ratio or a probability comes near this
MAX_PARAM = 1e4

@dataclass(frozen=True)
class FamilyInfo:
    """One distribution family: its class name (the same in PreliZ and in PyMC), its parameters
    (PyMC's names, which PreliZ shares) and its support."""

    cls: str
    params: tuple[str, ...]
    support: tuple[float, float]


# The one table of prior families. PreliZ elicits and describes a prior (``Prior.distribution``);
# the hazard model builds it in PyMC (``Prior.to_pymc``) from the same entry.
FAMILIES: dict[str, FamilyInfo] = {
    "normal": FamilyInfo("Normal", ("mu", "sigma"), (-math.inf, math.inf)),
    "halfnormal": FamilyInfo("HalfNormal", ("sigma",), (0.0, math.inf)),
    "lognormal": FamilyInfo("LogNormal", ("mu", "sigma"), (0.0, math.inf)),
    "beta": FamilyInfo("Beta", ("alpha", "beta"), (0.0, 1.0)),
    "gamma": FamilyInfo("Gamma", ("alpha", "beta"), (0.0, math.inf)),
    "exponential": FamilyInfo("Exponential", ("lam",), (0.0, math.inf)),
}


class Provenance(BaseModel):
    """Where a prior comes from: a quoted passage and the reasoning that set its size."""

    model_config = ConfigDict(extra="forbid")

    quote: str = Field(..., min_length=3, description="Passage of the source text this prior encodes (verbatim).")
    reasoning: str = Field(..., min_length=3, description="Why the prior has this size.")
    assumption: bool = Field(
        False, description="True when the size is the analyst's assumption beyond what the source states."
    )


class Prior(BaseModel):
    """One prior distribution with provenance; parameters given directly or elicited from an interval."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    dist: Family = Field(..., description="Distribution family.")
    params: dict[str, Number] | None = Field(None, description="Distribution parameters (PyMC names).")
    interval: tuple[Number, Number] | None = Field(None, description="Analyst's interval [lower, upper].")
    mass: Number = Field(0.9, gt=0, lt=1, description="Probability the analyst puts inside `interval`.")
    source: Provenance

    @model_validator(mode="after")
    def _params_or_interval(self) -> "Prior":
        if (self.params is None) == (self.interval is None):
            raise ValueError("give exactly one of `params` or `interval`")
        if self.params is not None:
            expected = set(FAMILIES[self.dist].params)
            if set(self.params) != expected:
                raise ValueError(f"{self.dist} takes params {sorted(expected)}, got {sorted(self.params)}")
            for name, value in self.params.items():
                if name in ("sigma", "alpha", "beta", "lam") and value <= 0:
                    raise ValueError(f"parameter {name} must be positive, got {value}")
                if abs(value) > MAX_PARAM:
                    raise ValueError(f"parameter {name} = {value:g} is beyond +-{MAX_PARAM:g}; no prior of this model needs it")
        if self.interval is not None:
            lo, hi = self.interval
            s_lo, s_hi = FAMILIES[self.dist].support
            if not lo < hi:
                raise ValueError(f"interval lower bound {lo} must be below upper bound {hi}")
            if lo < s_lo or hi > s_hi:
                raise ValueError(f"interval [{lo}, {hi}] lies outside the support of {self.dist} [{s_lo}, {s_hi}]")
            if max(abs(lo), abs(hi)) > MAX_PARAM:
                raise ValueError(f"interval [{lo:g}, {hi:g}] reaches beyond +-{MAX_PARAM:g}; no prior of this model needs it")
        return self

    # -- config-object protocol (pymc-marketing style) -------------------------------------------
    def to_dict(self) -> dict:
        """The prior as JSON-ready dict (as written in a spec)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_dict(cls, data: dict) -> "Prior":
        """A prior from its dict form (validated)."""
        return cls.model_validate(data)

    # -- resolution ------------------------------------------------------------------------------
    def resolved_params(self) -> dict[str, float]:
        """Distribution parameters, eliciting them from the interval when needed."""
        if self.params is not None:
            return dict(self.params)
        lo, hi = self.interval  # type: ignore[misc]
        return dict(elicit(self.dist, float(lo), float(hi), float(self.mass)))

    def distribution(self):
        """The prior as a PreliZ distribution (parameters resolved; PreliZ is imported here).

        Returns
        -------
        preliz distribution
            With ``cdf``, ``ppf``, ``rvs``, ``entropy``, ``plot_pdf``...; ``.to_pymc(name)`` gives the
            variable :meth:`to_pymc` builds.
        """
        import preliz as pz

        return getattr(pz, FAMILIES[self.dist].cls)(**self.resolved_params())

    def to_pymc(self, name: str, **kwargs):
        """The prior as a PyMC random variable named ``name`` in the current model.

        The same variable as ``self.distribution().to_pymc(name, **kwargs)`` (PreliZ looks up the
        PyMC class of the same name and passes it the parameters), without importing PreliZ, which
        takes seconds and which a fit from stored elicitations does not need.

        Parameters
        ----------
        name : str
            Variable name in the model.
        **kwargs
            ``dims``, ``shape``... passed to the PyMC distribution.
        """
        return pymc_variable(self.dist, name, self.resolved_params(), **kwargs)

    def describe(self) -> str:
        """The prior in one line: family, resolved parameters and, when elicited, the analyst's interval."""
        p = self.resolved_params()
        args = ", ".join(f"{k}={v:.3g}" for k, v in p.items())
        origin = f" (elicited: {self.mass:.0%} in [{self.interval[0]:g}, {self.interval[1]:g}])" if self.interval else ""
        return f"{self.dist.capitalize()}({args}){origin}"


class ElicitationError(ValueError):
    """The analyst's interval cannot be turned into a distribution of the requested family."""


def _cache_file() -> Path:
    return Path(os.environ.get("FORECAST_CACHE", Path.home() / ".cache" / "forecast")) / "elicitation.json"


def _read_cache() -> dict:
    try:
        return json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}


@functools.lru_cache(maxsize=256)
def elicit(dist: str, lower: float, upper: float, mass: float) -> tuple[tuple[str, float], ...]:
    """Maximum-entropy distribution of family ``dist`` with ``mass`` inside [lower, upper].

    Uses PreliZ's ``maxent``; checks that the result really puts ``mass`` in the interval (within
    0.005), because the optimiser can stop short for intervals a family cannot honour (for example
    a half-normal asked to put 90% between 5 and 6).

    Results are cached on disk (``$FORECAST_CACHE`` or ``~/.cache/forecast``), keyed by the inputs
    and the PreliZ version: elicitation is deterministic, and PreliZ takes seconds to import, which
    a scheduled no-op update should not pay.
    """
    from importlib.metadata import version

    key = json.dumps([dist, lower, upper, mass, version("preliz")])
    cached = _read_cache().get(key)
    if cached is not None:
        if "error" in cached:
            raise ElicitationError(cached["error"])
        return tuple((k, float(v)) for k, v in cached["params"])
    try:
        result = _maxent(dist, lower, upper, mass)
    except ElicitationError as exc:
        _write_cache(key, {"error": str(exc)})
        raise
    _write_cache(key, {"params": [list(kv) for kv in result]})
    return result


def _write_cache(key: str, value: dict) -> None:
    from forecast.core.atomic import atomic_write

    data = _read_cache()
    data[key] = value
    try:
        atomic_write(_cache_file(), lambda p: p.write_text(json.dumps(data, indent=0, sort_keys=True)))
    except OSError:
        pass  # a read-only home only costs speed


def _maxent(dist: str, lower: float, upper: float, mass: float) -> tuple[tuple[str, float], ...]:
    import preliz as pz  # imported lazily: PreliZ takes seconds to import

    d = getattr(pz, FAMILIES[dist].cls)()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # we check the achieved mass ourselves below
            pz.maxent(d, lower, upper, mass, plot=False)
    except Exception as exc:  # PreliZ raises several types on failure
        raise ElicitationError(f"maxent elicitation of {dist} on [{lower}, {upper}] failed: {exc}") from exc
    params = dict(zip(FAMILIES[dist].params, (float(v) for v in d.params)))
    if any(not math.isfinite(v) for v in params.values()):
        raise ElicitationError(f"maxent elicitation of {dist} on [{lower}, {upper}] gave non-finite parameters")
    achieved = float(d.cdf(upper) - d.cdf(lower))
    if abs(achieved - mass) > 0.005:
        raise ElicitationError(
            f"a {dist} distribution cannot put {mass:.0%} of its mass in [{lower}, {upper}] "
            f"(best maximum-entropy fit puts {achieved:.1%}); widen the interval or choose another family"
        )
    return tuple(params.items())


def stacked_params(priors) -> dict:
    """The parameters of priors of one family, each as an array over the priors (for one vector variable).

    Parameters
    ----------
    priors : sequence of Prior
        Of the same family.

    Returns
    -------
    dict of str to numpy.ndarray
        Parameter name (PyMC's) to a (len(priors),) array.
    """
    import numpy as np

    params = [p.resolved_params() for p in priors]
    return {k: np.array([q[k] for q in params]) for k in params[0]}


def pymc_distribution(dist: str, params: dict):
    """The unnamed PyMC distribution (``.dist``) of family ``dist`` with ``params``, for ``pm.logp`` and ``pm.draw``.

    Parameters
    ----------
    dist : str
        Family name (a key of :data:`FAMILIES`).
    params : dict of str to float or numpy.ndarray
        The family's parameters (PyMC names), as float64 (see :func:`pymc_variable`).
    """
    import numpy as np
    import pymc as pm

    return getattr(pm, FAMILIES[dist].cls).dist(**{k: np.asarray(v, dtype="float64") for k, v in params.items()})


def pymc_variable(dist: str, name: str, params: dict, **kwargs):
    """A PyMC variable of family ``dist`` (a key of :data:`FAMILIES`) with ``params``.

    Parameters
    ----------
    dist : str
        Family name.
    name : str
        Variable name in the current model.
    params : dict of str to float or numpy.ndarray
        The family's parameters (PyMC names); arrays give a vector variable (with ``dims``).
    **kwargs
        Passed to the PyMC distribution (``dims``, ``shape``).
    """
    import numpy as np
    import pymc as pm

    # float64 arrays: PyTensor would make a Python float that float32 represents exactly (4.0,
    # 0.25) a float32 constant, and compute the prior's log density in single precision
    return getattr(pm, FAMILIES[dist].cls)(name, **{k: np.asarray(v, dtype="float64") for k, v in params.items()}, **kwargs)

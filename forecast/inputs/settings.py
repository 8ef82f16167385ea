"""Resolved sampler settings of one fit (the spec's ``sampler`` block plus call overrides).

Kept apart from :mod:`forecast.inference.sampling` so that fingerprinting a run (``forecast update``'s no-op check)
does not import PyMC.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from forecast.core import limits
from forecast.inputs.spec import SamplerSettings

# name -> (low, high, integer?) for every setting; the bounds of forecast.core.limits
BOUNDS: dict[str, tuple[float, float, bool]] = {
    "draws": (*limits.DRAWS, True),
    "tune": (*limits.TUNE, True),
    "chains": (*limits.CHAINS, True),
    "future_paths": (*limits.FUTURE_PATHS, True),
    "prior_draws": (*limits.PRIOR_DRAWS, True),
    "cores": (*limits.CORES, True),
    "target_accept": (0.5, 1.0, False),
}


def check_setting(name: str, value) -> None:
    """Refuse a sampler setting outside its bounds (or of the wrong type) with a message naming it.

    Raises
    ------
    ValueError
        ``"tune must be an integer from 10 to 20000, not -1"``; ``target_accept`` must lie strictly
        between 0.5 and 1.
    """
    low, high, integer = BOUNDS[name]
    if integer:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value <= high
        if not ok:
            raise ValueError(f"{name} must be an integer from {low} to {high}, not {value!r}")
    else:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and low < value < high
        if not ok:
            raise ValueError(f"{name} must be a number strictly between {low} and {high}, not {value!r}")


@dataclass(frozen=True)
class SampleConfig:
    """Sampler settings of one fit, each within the bounds of :mod:`forecast.core.limits`.

    Raises
    ------
    ValueError
        On construction, for a setting out of bounds (``chains=0``, ``tune=-1``) or more than
        ``limits.MAX_TOTAL_DRAWS`` draws in all chains.
    """

    draws: int
    tune: int
    chains: int
    target_accept: float
    future_paths: int
    prior_draws: int = 1000
    cores: int | None = None

    def __post_init__(self):
        for name in BOUNDS:
            value = getattr(self, name)
            if name == "cores" and value is None:
                continue
            check_setting(name, value)
        if self.chains * self.draws > limits.MAX_TOTAL_DRAWS:
            raise ValueError(
                f"chains x draws = {self.chains} x {self.draws} is above {limits.MAX_TOTAL_DRAWS} (the memory of the latent paths)"
            )

    @classmethod
    def from_settings(cls, s: SamplerSettings, **overrides) -> "SampleConfig":
        """Sampler configuration from a spec's ``sampler`` settings; keyword overrides that are not None win."""
        base = dict(draws=s.draws, tune=s.tune, chains=s.chains, target_accept=s.target_accept, future_paths=s.future_paths)
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)

    def to_dict(self) -> dict:
        """The settings as a dict (recorded in fingerprints and the posterior's attrs)."""
        return dict(self.__dict__)

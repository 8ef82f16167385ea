"""Resolved sampler settings of one fit (the spec's ``sampler`` block plus call overrides).

Kept apart from :mod:`forecast.inference.sampling` so that fingerprinting a run (``forecast update``'s no-op check)
does not import PyMC.
"""

from __future__ import annotations

from dataclasses import dataclass

from forecast.inputs.spec import SamplerSettings


@dataclass(frozen=True)
class SampleConfig:
    draws: int
    tune: int
    chains: int
    target_accept: float
    future_paths: int
    prior_draws: int = 1000
    cores: int | None = None

    @classmethod
    def from_settings(cls, s: SamplerSettings, **overrides) -> "SampleConfig":
        base = dict(draws=s.draws, tune=s.tune, chains=s.chains, target_accept=s.target_accept, future_paths=s.future_paths)
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

"""One compiled model and one NUTS step per model structure, refitted by swapping data.

Model checks fit the same question many times (SBC: one fit per simulated world; scoring: one per
history and forecast origin). Building a PyMC model and a NUTS step compiles the log density and its
gradient, which costs far more than a small fit. As in :mod:`forecast.runs.replay`, the observations of
:func:`~forecast.model.hazard.build_model` are ``pm.Data``: an :class:`Engine` builds the
model once and every fit only calls ``pm.set_data`` and samples with the same step.

What a compiled graph bakes in is its *structure*: the month grid length, the number of indicators
and items, their signs and the priors' parameters. :func:`engine_for` keeps the engines of the last
few structures in this process, so designs that differ only in their data (another as-of date on
the same grid, simulated evidence values, grades) share one compilation.
"""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict

import numpy as np

from forecast.inference.fingerprint import digest
from forecast.model.design import Design

DATA_NAMES = ("exposure", "counts", "evidence_indicator", "evidence_month", "evidence_base_month", "evidence_sd", "evidence_value")
_ENGINES: OrderedDict[str, "Engine"] = OrderedDict()
_MAX_ENGINES = 4


def structure_key(design: Design, target_accept: float) -> str:
    """Digest of everything :func:`build_model` puts into the graph as a constant."""
    return digest(
        {
            "n_months": design.n_months,
            "n_items": len(design.evidence_ids),
            "months_per_period": design.months_per_period,
            "signs": np.asarray(design.signs, dtype=float).tolist(),
            "priors": [p.model_dump(mode="json") for p in (design.baseline, *design.level_priors, *design.volatility_priors, *design.effect_priors)],
            "target_accept": target_accept,
        }
    )


def design_data(design: Design) -> dict[str, np.ndarray]:
    """The ``pm.Data`` values of a design."""
    return {
        "exposure": np.asarray(design.exposure, dtype=float),
        "counts": np.asarray(design.counts, dtype=np.int64),
        "evidence_indicator": np.asarray(design.evidence_indicator, dtype=np.int64),
        "evidence_month": np.asarray(design.evidence_month, dtype=np.int64),
        "evidence_base_month": np.asarray(design.evidence_base_month, dtype=np.int64),
        "evidence_sd": np.asarray(design.evidence_sd, dtype=float),
        "evidence_value": np.asarray(design.evidence_value, dtype=float),
    }


class Engine:
    """A compiled model of one design structure and its NUTS step.

    Parameters
    ----------
    design : Design
        Any design of the structure; its labels name the coordinates of every fit's output (see
        :meth:`sample`, which relabels them with the design being fitted).
    target_accept : float
        NUTS target acceptance rate.
    """

    def __init__(self, design: Design, target_accept: float = 0.9):
        import pymc as pm
        import pytensor

        from forecast.model.hazard import build_model

        self.design = design
        self.target_accept = target_accept
        self.model = build_model(design)
        self.names = [n for n in DATA_NAMES if n in self.model.named_vars]
        with self.model, pytensor.config.change_flags(numba__fastmath=False), _quiet():
            self.step = pm.NUTS(target_accept=target_accept)

    def sample(self, data: dict[str, np.ndarray] | Design, draws: int, tune: int, chains: int = 1, seed=0, design: Design | None = None):
        """Fit with these data; returns the DataTree of ``pm.sample`` (posterior, sample_stats, observed_data).

        ``data`` holds ``pm.Data`` values (missing names are taken from ``design``, else from the
        engine's design) or is a Design of the same structure. With ``design`` the output carries its
        coordinate labels. ``seed`` is anything ``numpy.random.default_rng`` accepts. Chains
        run in this process one after another (``cores=1``): parallelism comes from worker processes.
        """
        import pymc as pm
        import pytensor

        if isinstance(data, Design):
            design = design or data
            data = design_data(data)
        # names not in ``data`` (e.g. which item observes which month) come from the design being
        # fitted: the engine may have been compiled for another design of the same structure
        values = {**design_data(design if design is not None else self.design), **data}
        values = {k: v for k, v in values.items() if k in self.names}
        seed = int(np.random.default_rng(seed).integers(2**31 - 1))
        with self.model, pytensor.config.change_flags(numba__fastmath=False), _quiet():
            pm.set_data(values)
            idata = pm.sample(
                draws=draws, tune=tune, chains=chains, cores=1, step=self.step, random_seed=seed,
                progressbar=False, compute_convergence_checks=False,
            )
        if design is not None:
            idata = relabel(idata, design)
        return idata


def relabel_dataset(ds, design: Design):
    """A Dataset with the coordinate labels (months, items, indicators) of ``design`` where shapes match."""
    labels = {
        "month": design.month_labels,
        "step": design.month_labels[1:],
        "item": list(design.evidence_ids),
        "indicator": list(design.indicator_ids),
    }
    return ds.assign_coords({dim: labels[dim] for dim in labels if dim in ds.dims and ds.sizes[dim] == len(labels[dim])})


def relabel(idata, design: Design):
    """The DataTree with the coordinate labels of ``design`` in every group (see :func:`relabel_dataset`)."""
    import xarray as xr

    out = xr.DataTree.from_dict({name: relabel_dataset(idata[name].to_dataset(), design) for name in idata.children})
    out.attrs.update(idata.attrs)
    return out


def engine_for(design: Design, target_accept: float = 0.9) -> Engine:
    """The engine of ``design``'s structure, compiled on first use in this process."""
    key = structure_key(design, target_accept)
    engine = _ENGINES.pop(key, None) or Engine(design, target_accept)
    _ENGINES[key] = engine
    while len(_ENGINES) > _MAX_ENGINES:
        _ENGINES.popitem(last=False)
    return engine


class _quiet:
    """Silence PyMC's "Sampling ..." log lines and warnings inside many small fits."""

    def __enter__(self):
        self._logger = logging.getLogger("pymc")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        return self

    def __exit__(self, *exc):
        self._warnings.__exit__(*exc)
        self._logger.setLevel(self._level)
        return False

"""Compiling and sampling the hazard model: one compiled model per structure, one call to each sampler.

Every fit of the package goes through this module: :meth:`forecast.Question.fit` (and so ``forecast
update``, the influence refits and the benchmarks), replay anchors, and the model checks (SBC,
scoring and the shared posterior). They differ only in the data they fit and the sampler settings.

**One compiled model per structure.** Building a PyMC model and compiling its log density and
gradient costs far more than a small fit. What a compiled graph bakes in is the *structure* of a
design (:func:`structure_key`: grid length, whether there is evidence, signs and priors); the
observations, and their number, are ``pm.Data`` (:mod:`forecast.model.hazard`). :func:`compiled_model` keeps one
:class:`CompiledModel` per structure in this process: the model frozen with PyMC's
:func:`~pymc.model.transform.optimization.freeze_model`, which compiles its log density and
gradient (the NUTS step's function), initial point, deterministics and forward-sampling functions
once and reuses them on every call, while ``pm.set_data`` swaps in another as-of date's exposure,
another evidence set's values and grades (and number of items), or a simulated history. :func:`cache_info` counts models
built and reused. Across processes, PyTensor's and numba's disk caches keep the compiled code.

**One call to each sampler.** :func:`nuts` is the one place that runs ``pm.sample``;
:func:`sample_prior` the one that runs ``pm.sample_prior_predictive`` and
:func:`sample_posterior_predictive` the one that runs ``pm.sample_posterior_predictive``. Each is
seeded, quiet (PyMC's "Sampling ..." lines and FutureWarnings are noise in notebooks and cron logs)
and compiled with ``numba__fastmath=False`` (functions evaluated once per draw, in
:func:`forward_mode`, are compiled by the C backend instead): fastmath lets LLVM reassociate floating point
differently in a fresh compilation and in one loaded from the cache, NUTS amplifies those last-bit
differences, and the same seed would then not give the same numbers. Reproducibility wins over a few
percent of speed.

:func:`fit_design` is the whole fit of a question: NUTS, the prior, the pointwise log-likelihood
(:func:`log_likelihood`, the ``log_likelihood`` group ArviZ's LOO reads), the forecast and the free
parameters' r_hat and ESS.

**Two graphs per structure.** NUTS runs on the model whose evidence enters through its sufficient
statistics (``build_model(design, collapsed=True)``, :mod:`forecast.model.collapse`): one
observation per (indicator, month, base month, noise group), so a gradient costs the same with
100,000 items as with 200. Prior and posterior predictive draws use the per-item model (frozen
once, :attr:`CompiledModel.item_model`), and the ``observed_data``/``constant_data`` groups of a
fit are the per-item data, as before. With dense evidence the sampler's model draws the latent
paths whitened (``path_whitened``, :func:`~forecast.model.hazard.whitened`); :func:`sample_posterior`
turns its draws back into the model's ``innovation`` (and a warm start's ``innovation`` into
``path_whitened``), so every caller reads the same posterior. The per-item evidence log-likelihood and the prior
predictive evidence are computed in numpy from the draws of the levels (vectorised over draws and
items: :func:`~forecast.model.likelihood.normal_item_log_density`).

**Backend and the first fit (measured).** ``benchmarks/bench_first_fit.py`` fits belarus-entry
(4 chains x 1500 draws, chains on 2 cores) in a new process with an empty PyTensor compile
directory and an empty numba cache, then in a second new process with the caches it filled. With
PyTensor's default numba backend: first fit 67 s, warm 41 s (1.6x; load average 4 on 2 CPUs);
with the C backend (``linker=cvm``): first 132 s, warm 88 s (its NUTS half as fast). The numba backend
is kept: the faster first fit, and the same headline to the last digit in the first and the warm
process (with ``numba__fastmath=False``, below). nutpie, which compiles the same numba graph, is
not a dependency: it would add a second sampler whose numbers differ from PyMC's for the same seed.
What a first fit pays beyond a warm one is numba's compilation of the log density and gradient
(in the parent, and loading it from numba's cache in each chain process) and the C compilation
of the trace's point function and the forward samplers (:func:`forward_mode`: each operation
once, for any shape); both are kept on disk (PyTensor's compile directory and
``NUMBA_CACHE_DIR``) and reused by any process fitting a question of the same structure.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import os
import threading
import time
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import xarray as xr

from forecast.inference.fingerprint import digest
from forecast.inputs.settings import SampleConfig
from forecast.model.collapse import GROUP_DATA_NAMES, collapse
from forecast.model.design import Design
from forecast.model.likelihood import PointwiseLogLikelihood, design_data, normal_item_location
from forecast.model.prediction import add_forecast

MAX_MODELS = 16  # compiled structures kept in a process (least recently used dropped first)
CHAIN_PROCESSES_ENV = "FORECAST_CHAIN_PROCESSES"  # the default limit of chain processes (see chain_processes)
_CHAIN_PROCESSES: contextvars.ContextVar[int | None] = contextvars.ContextVar("forecast_chain_processes", default=None)


@dataclass
class CacheInfo:
    """Counters of :func:`compiled_model`: ``builds`` (models built and compiled), ``hits``
    (reuses of a compiled model), ``size`` (structures held now)."""

    builds: int = 0
    hits: int = 0
    size: int = 0


_MODELS: OrderedDict[str, "CompiledModel"] = OrderedDict()
_MODELS_LOCK = threading.RLock()
_INFO = CacheInfo()


def structure_key(design: Design) -> str:
    """Digest of everything :func:`~forecast.model.hazard.build_model` puts into the graph as a constant.

    Two designs with the same key are fitted by the same compiled model: they differ only in their
    ``pm.Data`` values (exposure, counts, which item observes which month, values, SDs), the number
    of evidence items and the labels. The number of items is not part of the structure: the
    sampler's model observes the evidence's sufficient statistics (any number of groups) and the
    per-item model's ``item`` dim is data no free variable depends on, so both are resized by
    :meth:`CompiledModel.set_data` without a new compilation.

    Parameters
    ----------
    design : Design

    Returns
    -------
    str
        16 hex digits over the grid length, whether there is evidence, the indicator count, months
        per period, signs and priors' distributions (not their provenance; with learned source
        weights, also the sources' priors and letter weights; where one vector of priors mixes
        families, also the indicator and source labels, which then name its variables).
    """
    key = {
        "n_months": design.n_months,
        "has_evidence": bool(len(design.evidence_ids)),  # the count is data: no variable of the sampler's graph has an item dim
        "n_indicators": len(design.indicator_ids),
        "months_per_period": design.months_per_period,
        "signs": np.asarray(design.signs, dtype=float).tolist(),
        "priors": [_graph_prior(p) for p in (design.baseline, *design.level_priors, *design.volatility_priors, *design.effect_priors)],
    }
    from forecast.model.hazard import per_element, whitened

    if whitened(design):  # only then: the whitened paths are another graph
        key["whitened"] = True
    # a vector of mixed families is one scalar variable per element, named after its label
    # (forecast.model.hazard.vector_prior): then the labels are in the graph too
    if any(per_element(priors) for priors in (design.level_priors, design.volatility_priors, design.effect_priors, design.source_priors)):
        key["labels"] = {"indicator": list(design.indicator_ids), "source": list(design.source_ids)}
    if design.learned_sources:  # only then: the fixed-weight model's key is what it always was
        key["sources"] = {"priors": [_graph_prior(p) for p in design.source_priors],
                          "letter_weight": np.asarray(design.source_letter_weight, dtype=float).tolist()}
    return digest(key)


def _graph_prior(prior) -> dict:
    """What of a prior the graph holds: its family and parameters (given or elicited), not its provenance.

    Two questions whose priors cite different passages but have the same distributions share one
    compiled model (the notebooks' illustrations and the tests' questions, a copy of a question
    whose reasoning was reworded)."""
    return prior.model_dump(mode="json", exclude={"source"})


@contextmanager
def quiet():
    """Silence PyMC's progress log lines and warnings, and compile without fastmath (see the module docstring)."""
    import pytensor

    # pytensor's BLAS logger says once a process that the C backend multiplies matrices through
    # NumPy's C API: the whitened paths' (T, T) products are small, the note is noise
    loggers = [logging.getLogger(name) for name in ("pymc", "pytensor.tensor.blas")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), pytensor.config.change_flags(numba__fastmath=False):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


class CompiledModel:
    """The frozen PyMC model of one design structure (see the module docstring).

    Parameters
    ----------
    design : Design
        Any design of the structure; its labels name the coordinates of the model, and every
        sample is relabelled with the labels of the design being fitted.

    Attributes
    ----------
    key : str
        :func:`structure_key` of the structure.
    model : pymc.model.core.FrozenModel
        The model; its compiled functions are cached on it.
    data_names : list of str
        The ``pm.Data`` variables it has (a question without evidence has no ``evidence_*``).
    """

    def __init__(self, design: Design):
        from pymc.model.transform.optimization import freeze_model

        from forecast.model.hazard import DATA_NAMES, PATH_DATA_NAMES, build_model

        self.key = structure_key(design)
        self.design = design
        # the per-item graph before freezing (its latent paths have no fixed length): the pointwise
        # log-likelihood and, frozen, the predictive draws
        self._source = build_model(design)
        # the sampler's model: the evidence through its sufficient statistics (forecast.model.collapse)
        self.model = freeze_model(build_model(design, collapsed=True))
        self.data_names = [n for n in (*DATA_NAMES, *GROUP_DATA_NAMES, *PATH_DATA_NAMES) if n in self.model.named_vars]
        self._item_model = None
        self._log_likelihood: PointwiseLogLikelihood | None = None
        self._trace = None

    @property
    def trace(self):
        """The template of the chains' trace backend, with its point function compiled once.

        ``pm.sample`` copies a trace it is given for each chain (and otherwise compiles the
        function that records a draw's deterministics anew for every chain of every call).
        """
        if self._trace is None:
            with quiet():
                self._trace = _chain_trace(self.model)
        return self._trace

    def set_data(self, design: Design, data: dict[str, np.ndarray] | None = None) -> None:
        """Set the model's ``pm.Data`` to ``design``'s values, with ``data`` overriding some of them.

        Parameters
        ----------
        design : Design
            Of this model's structure.
        data : dict of str to numpy.ndarray, optional
            Values of some ``pm.Data`` (names the model lacks are ignored).

        Raises
        ------
        ValueError
            ``design`` is not of this model's structure.
        """
        import pymc as pm

        if structure_key(design) != self.key:
            raise ValueError(f"design of {design.question_id} as of {design.as_of} is not of the compiled structure {self.key}")
        values = {**design_data(design), **(data or {})}
        if "group_sd" in self.data_names:
            values.update(collapse(values["evidence_indicator"], values["evidence_month"], values["evidence_base_month"],
                                   values["evidence_sd"], values["evidence_value"], design.evidence_noise_group).data())
        if "path_target" in self.data_names:
            from forecast.model.hazard import whitening_data

            values.update(whitening_data(*(values[f"evidence_{n}"] for n in ("indicator", "month", "base_month", "sd", "value")),
                                         (len(design.indicator_ids), design.n_months)))
        if "anchor_month" in self.data_names:
            from forecast.model.hazard import anchor_months

            values["anchor_month"] = anchor_months(*(values[f"evidence_{n}"] for n in ("indicator", "month", "base_month", "sd")),
                                                   (len(design.indicator_ids), design.n_months))
        self.values = values
        self.items = list(design.evidence_ids)
        with self.model:
            pm.set_data({k: v for k, v in values.items() if k in self.data_names}, coords=self._item_coords(self.model))

    def _item_coords(self, model) -> dict | None:
        """The ``item`` labels of the last :meth:`set_data` (its length is data: see :func:`structure_key`)."""
        return {"item": self.items} if "item" in model.coords else None

    @property
    def item_model(self):
        """The frozen per-item model (one ``evidence`` observation per item) with the data of the
        last :meth:`set_data`: the graph of prior and posterior predictive draws."""
        import pymc as pm
        from pymc.model.transform.optimization import freeze_model

        from forecast.model.hazard import DATA_NAMES

        if self._item_model is None:
            self._item_model = freeze_model(self._source)
        names = [n for n in DATA_NAMES if n in self._item_model.named_vars]
        with self._item_model:
            pm.set_data({k: v for k, v in self.values.items() if k in names}, coords=self._item_coords(self._item_model))
        return self._item_model

    def item_data(self, tree):
        """``tree`` with its ``observed_data`` and ``constant_data`` per item and month (the
        collapsed model's sampler records its groups), from the data of the last :meth:`set_data`."""
        v = self.values
        observed = {"event_count": ("month", np.asarray(v["counts"], dtype=np.int64))}
        constant = {"counts": ("month", np.asarray(v["counts"], dtype=np.int32))}
        if "evidence_value" in self.values and "group_sd" in self.data_names:
            observed["evidence"] = ("item", np.asarray(v["evidence_value"], dtype=float))
            constant["evidence_sd"] = ("item", np.asarray(v["evidence_sd"], dtype=float))
            for name in ("evidence_base_month", "evidence_month", "evidence_indicator"):
                constant[name] = ("item", np.asarray(v[name], dtype=np.int32))
        constant["exposure"] = ("month", np.asarray(v["exposure"], dtype=float))
        for name, content in (("observed_data", observed), ("constant_data", constant)):
            if name in tree.children:
                attrs = tree[name].attrs
                tree[name] = xr.DataTree(xr.Dataset(content, attrs=attrs))
        return tree

    @property
    def log_likelihood(self) -> PointwiseLogLikelihood:
        """The pointwise log-likelihood of the model's observed variables, compiled once."""
        if self._log_likelihood is None:
            with quiet():
                self._log_likelihood = PointwiseLogLikelihood(self._source)
        return self._log_likelihood


@contextmanager
def chain_processes(limit: int | None):
    """Run the chains of every NUTS call in this block in at most ``limit`` processes.

    A task on a Dask worker fits with ``limit=1``: the worker is the unit of parallelism (one
    task per core), and a worker process may not start chain processes of its own. The limit is not
    a sampler setting: PyMC seeds each chain the same way whether chains run in one process or in
    several, so the draws are identical (the settings, fingerprints and stored attrs do not change).

    Without a ``with chain_processes(...)`` block the limit is ``$FORECAST_CHAIN_PROCESSES`` if set
    (``1`` on a machine whose cores are already busy, e.g. beside other scheduled jobs or in a test
    suite that runs on every core: starting chain processes then costs more than it gains, most of
    all for small fits), else none.

    Parameters
    ----------
    limit : int or None
        At most this many chain processes, replacing any limit in force; None keeps the limit in
        force.

    Raises
    ------
    ValueError
        ``limit`` is below 1.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"chain processes must be at least 1, not {limit}")
    if limit is None:
        yield
        return
    token = _CHAIN_PROCESSES.set(limit)
    try:
        yield
    finally:
        _CHAIN_PROCESSES.reset(token)


def env_chain_processes() -> int | None:
    """The limit of chain processes set by ``$FORECAST_CHAIN_PROCESSES`` (see :func:`chain_processes`).

    Returns
    -------
    int or None
        None when the variable is unset or empty.

    Raises
    ------
    ValueError
        The variable is not a whole number from 1 to the largest chain count (the message names it
        and its value).
    """
    from forecast.core.limits import CHAINS

    raw = os.environ.get(CHAIN_PROCESSES_ENV, "").strip()
    if not raw:
        return None
    # ASCII digits only: int() would also take "+2", "1_0" and other scripts' digits
    limit = int(raw) if raw.isascii() and raw.isdigit() else 0
    if not 1 <= limit <= CHAINS[1]:
        raise ValueError(f"${CHAIN_PROCESSES_ENV} must be a whole number from 1 to {CHAINS[1]} (the most chains a fit has), not {raw!r}")
    return limit


def forward_mode():
    """PyTensor mode of the functions evaluated once per draw rather than once per gradient.

    The trace's point function (a draw's deterministics) and the prior and posterior predictive
    samplers are compiled with PyTensor's C virtual machine (``"CVM"``), NUTS's log density and
    gradient with the default numba backend. Measured on belarus-entry from empty caches: numba
    compiles the point function in 17 s for the first structure and 3-4 s for each further one, the
    prior predictive in 8 s and 4 s; the C backend compiles each operation once, for any shape, so
    a further structure costs 0.1 s. Its slower evaluation (19 against 12 microseconds a draw for the
    point function) is paid once per draw, not once per leapfrog step. Without a C compiler
    (``pytensor.config.cxx`` empty) the default backend is kept.

    Returns
    -------
    str or None
        ``"CVM"``, or None for PyTensor's default mode.
    """
    import pytensor

    return "CVM" if pytensor.config.cxx else None


def _chain_trace(model):
    """A template trace of ``model`` (see :attr:`CompiledModel.trace`); compiles its point function."""
    import pytensor
    from pymc.backends.ndarray import NDArray

    class ChainTrace(NDArray):
        """PyMC's in-memory trace whose copy for a chain shares the compiled point function but
        not the arrays (``pm.sample`` copies a template given as ``trace`` once per chain)."""

        def __copy__(self):
            new = object.__new__(type(self))
            new.__dict__.update(self.__dict__)
            new.samples, new._stats, new.draw_idx, new.draws = {}, None, 0, None
            return new

    names = model.unobserved_value_vars  # what PyMC's trace records by default
    fn = model.compile_fn(outs=[pytensor.Out(v, borrow=True) for v in names], inputs=[pytensor.In(v, borrow=True) for v in model.value_vars],
                          point_fn=False, on_unused_input="ignore", trust_input=True, mode=forward_mode())
    return ChainTrace(model=model, vars=names, fn=fn)


def compiled_model(design: Design) -> CompiledModel:
    """The compiled model of a design's structure, built on first use in this process.

    Parameters
    ----------
    design : Design

    Returns
    -------
    CompiledModel
        Shared by every design of the structure (:func:`structure_key`); the least recently used
        of more than :data:`MAX_MODELS` structures is dropped.
    """
    key = structure_key(design)
    with _MODELS_LOCK:  # threads of one fit (fit_design) ask for the same model
        entry = _MODELS.pop(key, None)
        if entry is None:
            entry = CompiledModel(design)
            _INFO.builds += 1
        else:
            _INFO.hits += 1
        _MODELS[key] = entry
        while len(_MODELS) > MAX_MODELS:
            _MODELS.popitem(last=False)
        _INFO.size = len(_MODELS)
        return entry


def cache_info() -> CacheInfo:
    """The compiled-model cache's counters.

    Returns
    -------
    CacheInfo
        A copy: ``builds``, ``hits`` and ``size``.
    """
    return CacheInfo(_INFO.builds, _INFO.hits, len(_MODELS))


def _int_seed(seed) -> int:
    """An int seed for PyMC from an int or anything ``numpy.random.default_rng`` accepts (e.g. ``[seed, stream, i]``)."""
    if isinstance(seed, (int, np.integer)):
        return int(seed)
    return int(np.random.default_rng(seed).integers(2**31 - 1))


def chain_cores(chains: int, cores: int | None = None) -> int:
    """Processes for ``chains`` chains: ``cores`` if given, else one per chain up to the CPU count.

    Parameters
    ----------
    chains : int
    cores : int, optional
        An explicit setting (the spec's ``sampler.cores`` or a caller's).

    Returns
    -------
    int
    """
    return cores or min(chains, os.cpu_count() or 1)


def nuts(model, *, draws: int, tune: int, chains: int, seed, target_accept: float, cores: int = 1, progressbar: bool = False, trace=None,
         initvals: list[dict] | None = None):
    """Run PyMC's NUTS on ``model`` (the one call of ``pm.sample`` in the package).

    Parameters
    ----------
    model : pymc.Model
        Usually :attr:`CompiledModel.model` (a frozen model reuses its compiled functions).
    draws, tune, chains : int
        Kept draws and tuning steps per chain, number of chains.
    seed : int or sequence of int
        Same seed, same numbers, bit for bit.
    target_accept : float
        NUTS target acceptance rate.
    cores : int
        Chains run in parallel processes when above 1 (capped by :func:`chain_processes`).
    progressbar : bool
        PyMC's progress bar (and its log lines).
    trace : pymc.backends.base.BaseTrace, optional
        Template of the chains' trace backend (:attr:`CompiledModel.trace`); by default one is
        made for ``model``, its point function compiled in :func:`forward_mode`.
    initvals : list of dict, optional
        A warm start: one dict per chain of the free parameters' values (constrained space, by
        variable name), each chain starting exactly there, without jitter (PyMC's
        ``init="adapt_diag"``: the diagonal mass matrix adapts from the chains' starting points).
        By default each chain starts at the model's initial point with PyMC's jitter
        (``init="jitter+adapt_diag"``).

    Returns
    -------
    xarray.DataTree
        ``posterior`` (free parameters and Deterministics), ``sample_stats`` (divergences, tree
        depth, energy...), ``observed_data`` and ``constant_data``, with the model's coordinates.
    """
    import pymc as pm

    limit = _CHAIN_PROCESSES.get()
    if limit is None:
        limit = env_chain_processes()
    if limit is not None:
        cores = max(1, min(cores, limit))
    with quiet():
        if trace is None:
            trace = _chain_trace(model)
        if progressbar:
            logging.getLogger("pymc").setLevel(logging.INFO)
        with model:
            return pm.sample(
                draws=draws, tune=tune, chains=chains, cores=cores, target_accept=target_accept, random_seed=_int_seed(seed),
                progressbar=progressbar, compute_convergence_checks=False, trace=trace,
                # NUTS hands the log density and gradient float64 arrays of the model's own
                # shapes; PyTensor's per-call check of them cost 6% of a belarus-entry fit
                # (2 chains x 2000 steps: 8.26 s checked, 7.77 s trusted; the same draws)
                compile_kwargs={"trust_input": True},
                **({} if initvals is None else {"initvals": initvals, "init": "adapt_diag"}),
            )


def relabel(tree, design: Design):
    """``tree`` with the coordinate labels (months, steps, items, indicators, sources) of ``design`` where lengths match.

    A compiled model is named after the design it was built from; a fit of another design of the
    same structure carries that design's labels after this.

    Parameters
    ----------
    tree : xarray.DataTree
    design : Design

    Returns
    -------
    xarray.DataTree
        A new tree (root attrs kept).
    """
    labels = {
        "month": design.month_labels,
        "step": design.month_labels[1:],
        "item": list(design.evidence_ids),
        "indicator": list(design.indicator_ids),
        "source": list(design.source_ids),
    }
    groups = {}
    for name in tree.children:
        ds = tree[name].to_dataset()
        groups[name] = ds.assign_coords({dim: labels[dim] for dim in labels if dim in ds.dims and ds.sizes[dim] == len(labels[dim])})
    out = xr.DataTree.from_dict(groups)
    out.attrs.update(tree.attrs)
    return out


def sample_posterior(design: Design, *, draws: int, tune: int, chains: int, seed, target_accept: float, cores: int = 1,
                     data: dict[str, np.ndarray] | None = None, progressbar: bool = False, initvals: list[dict] | None = None):
    """NUTS on the compiled model of ``design``'s structure, with ``design``'s data.

    Parameters
    ----------
    design : Design
        The data to fit and the labels of the output.
    data : dict of str to numpy.ndarray, optional
        ``pm.Data`` values replacing ``design``'s (a replay point on a later grid, a simulated history).
    draws, tune, chains, seed, target_accept, cores, progressbar, initvals
        See :func:`nuts`.

    Returns
    -------
    xarray.DataTree
        As :func:`nuts`, labelled with ``design``'s coordinates.
    """
    compiled = compiled_model(design)
    compiled.set_data(design, data)
    white = "path_whitened" in compiled.model.named_vars
    anchored = "level_anchor" in compiled.model.named_vars
    if white and initvals is not None:
        initvals = [_whitened_initvals(v, compiled.values, design) for v in initvals]
    if anchored and initvals is not None:
        initvals = [_anchored_initvals(v, compiled.values["anchor_month"]) for v in initvals]
    tree = nuts(compiled.model, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept, cores=cores,
                progressbar=progressbar, trace=compiled.trace, initvals=initvals)
    if white:
        tree = _standard_innovations(tree)
    if anchored:
        tree["posterior"] = xr.DataTree(tree["posterior"].to_dataset().drop_vars("level_anchor"))
    return relabel(compiled.item_data(tree), design)


def _anchored_initvals(values: dict, anchor_month: np.ndarray) -> dict:
    """A warm start's values (``level_start``, ``volatility``, ``innovation``) as the anchored
    parameterisation's (``level_anchor``, the level at each indicator's anchor month, in place of
    ``level_start``)."""
    from forecast.model.simulate import walk_levels

    values = dict(values)
    level = walk_levels(values.pop("level_start"), np.asarray(values["volatility"], dtype=float), np.asarray(values["innovation"], dtype=float))
    values["level_anchor"] = level[np.arange(level.shape[0]), np.asarray(anchor_month)]
    return values


def _whitened_initvals(values: dict, data: dict, design: Design) -> dict:
    """A warm start's values (``level_start``, ``volatility``, ``innovation``) as the whitened
    parameterisation's (``path_whitened`` in place of ``level_start`` and ``innovation``)."""
    from forecast.model.hazard import spectral_basis, whitening
    from forecast.model.simulate import walk_levels

    values = dict(values)
    volatility = np.asarray(values["volatility"], dtype=float)
    level = walk_levels(values.pop("level_start"), volatility, np.asarray(values.pop("innovation"), dtype=float))
    location, scale = whitening(volatility, np.asarray(data["path_precision"]), np.asarray(data["path_target"]), design)
    values["path_whitened"] = ((level - location) @ spectral_basis(design.n_months)[0]) / scale
    return values


def _standard_innovations(tree):
    """The whitened fit's posterior with ``innovation`` in place of ``path_whitened``.

    The innovations :math:`z_{k,t} = (x_{k,t} - x_{k,t-1}) / \\sigma_k` of every draw: the same
    free parameter as the per-item model's, so that every later step reads one posterior.
    """
    post = tree["posterior"].to_dataset()
    level = post["level"].transpose("chain", "draw", "indicator", "month").values
    volatility = post["volatility"].transpose("chain", "draw", "indicator").values
    z = np.diff(level, axis=-1) / volatility[..., None]
    post = post.drop_vars("path_whitened").assign(innovation=(("chain", "draw", "indicator", "step"), z))
    post = post.assign_coords(step=post["month"].values[1:])
    tree["posterior"] = xr.DataTree(post)
    return tree


def sample_prior(design: Design, *, draws: int, seed, data: dict[str, np.ndarray] | None = None):
    """Prior draws of every variable and prior predictive draws of the observations.

    Parameters
    ----------
    design : Design
        The data (for the prior predictive) and the labels.
    draws : int
    seed : int or sequence of int
    data : dict of str to numpy.ndarray, optional
        ``pm.Data`` values replacing ``design``'s.

    Returns
    -------
    xarray.DataTree
        Groups ``prior`` and ``prior_predictive`` (and ``observed_data``/``constant_data``),
        labelled with ``design``'s coordinates.
    """
    import pymc as pm

    compiled = compiled_model(design)
    compiled.set_data(design, data)
    model = compiled.item_model
    # every variable but the per-item evidence, which is drawn below from the prior levels (one
    # vectorised draw, not one call per prior draw: the items can be many)
    names = [v.name for v in (*model.free_RVs, *model.deterministics, *model.observed_RVs) if v.name != "evidence"]
    with quiet(), model:
        tree = pm.sample_prior_predictive(draws=draws, random_seed=_int_seed(seed), var_names=names,
                                          compile_kwargs={"mode": forward_mode()})
    if "evidence" in model.named_vars:
        # single precision: draws x items values (1e8 with 100,000 items) that only a plot reads;
        # drawing and storing them in double precision took 10 s of such a fit
        values = compiled.values
        level = tree["prior"]["level"].transpose("chain", "draw", "indicator", "month").values
        shape = level.shape[:2]
        location = normal_item_location(level.reshape(-1, *level.shape[2:]), values, dtype=np.float32)
        rng = np.random.default_rng([_int_seed(seed), 1])
        noise = rng.standard_normal(location.shape, dtype=np.float32)
        noise *= np.asarray(values["evidence_sd"], dtype=np.float32)
        location += noise
        del noise
        pp = tree["prior_predictive"].to_dataset()
        pp["evidence"] = (("chain", "draw", "item"), location.reshape(*shape, -1))
        tree["prior_predictive"] = xr.DataTree(pp)
    return relabel(tree, design)


def sample_posterior_predictive(design: Design, posterior: xr.Dataset, *, seed, var_names=("evidence",)) -> xr.Dataset:
    """Draws of the observations given each posterior draw, with ``design``'s data.

    Parameters
    ----------
    design : Design
    posterior : xarray.Dataset
        Posterior draws (chain, draw) of the model's free parameters.
    seed : int or sequence of int
    var_names : sequence of str
        Observed variables to draw (``"evidence"``, ``"event_count"``).

    Returns
    -------
    xarray.Dataset
        (chain, draw, item) / (chain, draw, month) draws, labelled with ``design``'s coordinates.
    """
    import pymc as pm

    compiled = compiled_model(design)
    compiled.set_data(design)
    with quiet(), compiled.item_model:
        tree = pm.sample_posterior_predictive(xr.DataTree.from_dict({"posterior": posterior}), var_names=list(var_names),
                                              random_seed=_int_seed(seed), progressbar=False, compile_kwargs={"mode": forward_mode()})
    return relabel(tree, design)["posterior_predictive"].to_dataset()


def log_likelihood(design: Design, posterior, data: dict[str, np.ndarray] | None = None) -> xr.Dataset:
    """The pointwise log-likelihood of ``design``'s observations (or ``data``) for each posterior draw.

    Parameters
    ----------
    design : Design
        Gives the model structure, the data and the labels.
    posterior : xarray.Dataset or DataTree group
        Draws (chain, draw) of ``log_rate`` and, with indicators, ``level``.
    data : dict of str to numpy.ndarray, optional
        ``pm.Data`` values replacing ``design``'s.

    Returns
    -------
    xarray.Dataset
        ``event_count`` (chain, draw, month) and, when the design has evidence, ``evidence``
        (chain, draw, item): log densities in nats, equal to ``pm.compute_log_likelihood`` of the
        same model and data.
    """
    values = {**design_data(design), **(data or {})}
    terms = compiled_model(design).log_likelihood(posterior, values)
    coords = {"chain": posterior["chain"].values, "draw": posterior["draw"].values,
              "month": design.month_labels, "item": list(design.evidence_ids)}
    dims = {"event_count": ("chain", "draw", "month"), "evidence": ("chain", "draw", "item")}
    ds = xr.Dataset({name: (dims[name], v) for name, v in terms.items()})
    return ds.assign_coords({k: v for k, v in coords.items() if k in ds.dims})


def log_prior(design: Design, posterior, var_names) -> xr.Dataset:
    """The log prior density of each posterior draw's free parameters, from the model's graph.

    The per-item model of ``design``'s structure (:attr:`CompiledModel.item_model`, the model's own
    form: ``level_start`` and ``innovation`` free) evaluates ``pm.compute_log_prior``; its function
    is compiled once per structure in :func:`forward_mode` (evaluated once per draw), so the
    sensitivity check and every brief of the same structure share it.

    Parameters
    ----------
    design : Design
        Gives the model structure and the labels.
    posterior : xarray.Dataset or DataTree group
        Draws (chain, draw) of every free parameter of the model (``level_start``, ``volatility``,
        ``innovation``, ``effect_size``, ``baseline_probability`` as the design has them), with the
        design's indicator labels in any order.
    var_names : sequence of str
        Free parameters whose log prior to evaluate; names that are no variable of this design's
        model are skipped (``effect_size`` of a question without indicators). A vector whose
        priors mix families (``volatility`` as ``volatility[a]``, ``volatility[b]``) is evaluated
        by its parts and returned under its own name, stacked along its dim.

    Returns
    -------
    xarray.Dataset
        One variable per name, (chain, draw, *its dims), log densities in nats on the constrained
        scale (as ``pm.compute_log_prior``), labelled with ``design``'s coordinates.

    Raises
    ------
    ValueError
        ``var_names`` is a single string or names a variable of the model that is not a free
        parameter (a Deterministic such as ``level_now``); the posterior lacks a free parameter
        of the model, or its indicators are not the design's.
    """
    import pymc as pm

    from forecast.model.hazard import element_name

    if isinstance(var_names, str):
        raise ValueError(f"var_names must be a sequence of names, not the string {var_names!r}")
    compiled = compiled_model(design)
    compiled.set_data(design)
    model = compiled.item_model
    post = posterior.to_dataset() if hasattr(posterior, "to_dataset") else posterior
    free = [v.name for v in model.free_RVs]
    # a vector of priors of mixed families is one scalar variable per label (``volatility[a]``),
    # stacked in a Deterministic of the vector's name: its log prior is its parts', stacked alike
    stacked = {}
    for n in var_names:
        dims = model.named_vars_to_dims.get(n, ()) if n in model.named_vars and n not in free else ()
        parts = [element_name(n, label) for label in model.coords[dims[0]]] if len(dims) == 1 else []
        if parts and all(part in free for part in parts):
            stacked[n] = (dims[0], parts)
    derived = [n for n in var_names if n in model.named_vars and n not in free and n not in stacked]
    if derived:
        raise ValueError(f"{', '.join(derived)}: not a free parameter of the model (a prior density exists only for {', '.join(free)})")
    missing = [n for n in free if n not in post.data_vars]
    if missing:
        raise ValueError(f"the posterior lacks the free parameter(s) {', '.join(missing)}: the log prior is evaluated on whole draws")
    if "indicator" in post.coords:  # by label, not by position
        labels = [str(x) for x in post["indicator"].values]
        if sorted(labels) != sorted(design.indicator_ids):
            raise ValueError(f"the posterior's indicators {labels} are not the design's {list(design.indicator_ids)}")
        post = post.sel(indicator=list(design.indicator_ids))
    names = [n for n in var_names if n in free] + [part for _, parts in stacked.values() for part in parts]
    with quiet():
        out = pm.stats.compute_log_prior(xr.DataTree.from_dict({"posterior": post}), var_names=names, model=model,
                                         extend_inferencedata=False, progressbar=False, compile_kwargs={"mode": forward_mode()})
    ds = out["log_prior"].to_dataset() if hasattr(out, "children") else out
    for n, (dim, parts) in stacked.items():
        ds[n] = xr.concat([ds[part] for part in parts], dim=dim).assign_coords({dim: list(model.coords[dim])})
        ds = ds.drop_vars(parts)
    ds = ds[[n for n in var_names if n in ds.data_vars]]
    return relabel(xr.DataTree.from_dict({"log_prior": ds}), design)["log_prior"].to_dataset()


def fit_design(design: Design, horizons: list[dt.date], config: SampleConfig, seed: int, progressbar: bool = False,
               lead_months: int | None = None):
    """The fit of one design: NUTS, prior draws, pointwise log-likelihood, the forecast, diagnostics.

    The free parameters' r_hat and ESS (:func:`~forecast.inference.diagnostics.variable_table`)
    and the pointwise log-likelihood are computed in two more threads while the prior and the
    forecast are: all are numpy work that releases the GIL (sorting, FFTs, gathers, random draws,
    cumulative sums), and after NUTS the chains' cores are free. The numbers are the same as one
    after the other (each step has its own seed and reads only the posterior).

    Parameters
    ----------
    design : Design
    horizons : list of datetime.date
        The spec's horizons (those after the as-of date are forecast).
    config : SampleConfig
        Draws, tuning steps, chains, target acceptance, cores, future paths and prior draws.
    seed : int
        NUTS uses ``seed``, the prior ``seed + 1``, the future paths ``seed``.
    progressbar : bool
    lead_months : int, optional
        The rolling headline's lead (the spec's ``headline_lead_months``): adds ``p_event_within``.

    Returns
    -------
    (xarray.DataTree, float, pandas.DataFrame)
        Groups ``posterior`` and ``prior`` (each with ``p_event_by``, ``p_event_curve`` and, given a
        lead, ``p_event_within``, see
        :func:`~forecast.model.prediction.add_forecast`), ``prior_predictive``, ``sample_stats``,
        ``log_likelihood``, ``observed_data``, ``constant_data``; the wall time in seconds; and the
        free parameters' diagnostics table (for
        :func:`~forecast.inference.diagnostics.check_sampling`).
    """
    from concurrent.futures import ThreadPoolExecutor

    from forecast.inference.diagnostics import variable_table

    t0 = time.perf_counter()
    cores = chain_cores(config.chains, config.cores)
    idata = sample_posterior(design, draws=config.draws, tune=config.tune, chains=config.chains, seed=seed,
                             target_accept=config.target_accept, cores=cores, progressbar=progressbar)
    posterior = idata["posterior"].to_dataset()
    compiled = compiled_model(design)
    compiled.log_likelihood  # compiled here, not in two threads at once
    with ThreadPoolExecutor(2, thread_name_prefix="forecast-fit") as pool:
        table = pool.submit(variable_table, posterior)
        loglik = pool.submit(log_likelihood, design, posterior)
        prior = sample_prior(design, draws=config.prior_draws, seed=seed + 1)
        for name in ("prior", "prior_predictive"):
            idata[name] = prior[name]
        add_forecast(idata, design, horizons, config.future_paths, seed, lead_months=lead_months)
        idata["log_likelihood"] = xr.DataTree(loglik.result())
        table = table.result()
    return idata, time.perf_counter() - t0, table


def evidence_log_likelihood(design: Design, level, items: dict[str, np.ndarray]) -> np.ndarray:
    """log p(y_i | draw) of evidence items that need not be the design's, from the model's graph.

    For items the fit never saw: an edited or added item scored against a previous run's draws, a
    simulated report next month. Only the ``evidence`` term is evaluated.

    Parameters
    ----------
    design : Design
        A design with indicators; its structure's compiled model is used (a design without
        evidence borrows a model of the same grid with one item: the graph of an item does not
        depend on the others).
    level : array_like
        (..., K, T') draws of the indicator levels, standardized units; ``T'`` may exceed the
        design's months (e.g. one more month appended).
    items : dict of str to numpy.ndarray
        ``evidence_indicator``, ``evidence_month``, ``evidence_base_month`` (-1 for a level),
        ``evidence_sd`` and ``evidence_value``, each (N,).

    Returns
    -------
    numpy.ndarray
        (..., N) log densities in nats.

    Raises
    ------
    ValueError
        ``design`` has no indicators.
    """
    import dataclasses

    if not design.indicator_ids:
        raise ValueError(f"question {design.question_id} has no indicators: no evidence item can be scored")
    if not len(design.evidence_ids):
        design = dataclasses.replace(
            design, evidence_ids=("item",), evidence_indicator=np.zeros(1, dtype=np.int64), evidence_month=np.zeros(1, dtype=np.int64),
            evidence_base_month=np.full(1, -1, dtype=np.int64), evidence_value=np.zeros(1), evidence_sd=np.ones(1), evidence_weight=np.ones(1))
    level = np.asarray(getattr(level, "values", level), dtype=float)
    return compiled_model(design).log_likelihood({"level": level}, items, names=["evidence"])["evidence"]

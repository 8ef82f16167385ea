r"""The model's pointwise log-likelihood, compiled from the PyMC graph, for any data on stored draws.

A fitted model's ``log_likelihood`` group, the weights that reweight one posterior into another
(replay, change attribution, scoring, value of information) and leave-one-out all need
:math:`\log p(y_j \mid \theta)` of single observations, often for data other than the fit's: a
later as-of date's survival, an edited evidence item, a simulated report next month. Rather than
re-deriving the likelihood in numpy, :class:`PointwiseLogLikelihood` takes the log density of the
model's observed variables (``event_count``, ``evidence``) from the graph of
:func:`~forecast.model.hazard.build_model` (``pm.logp``), replaces

* the deterministic nodes it depends on, ``level`` (K, T) and ``log_rate`` (T,), and in the
  learned-weights mode the sources' ``source_weight`` (S,), by inputs with a leading draw axis, and
* the ``pm.Data`` variables (exposure, counts, the evidence arrays) by inputs of any length,

and compiles that once. One call then scores every draw against any data: observations of the
fitted model's data reproduce ``pm.compute_log_likelihood`` exactly (the tests check it to 1e-9).

The ``evidence`` term is the exception: it is the Normal density of a linear functional of the
levels, :math:`\log\mathcal N(y_i \mid x_{k_i,t_i} - [b_i \ge 0]\, x_{k_i,b_i}, s_i)`, and with
many items its (draws x items) array is the largest thing a fit computes (1000 draws x 100,000
items is 10^8 values). :func:`normal_item_log_density` evaluates it in numpy, gathering the
functional of every item from the flattened levels and working in place (about 1 s for 10^8
values, against 7 s through the graph evaluated op by op); the tests check it against PyMC's own
pointwise log-likelihood of the per-item model to 1e-9.

``padded_data`` lays the data of an earlier as-of date on the grid and item list of a later one
(evidence not yet published gets SD ``MASKED_SD``, a likelihood flat to 1e-12), so that one set of
draws, and one compiled model, serve every point of a replay.
"""

from __future__ import annotations

import numpy as np

from forecast.model.design import Design

MASKED_SD = 1e6
# the model's nodes a term's log density depends on, replaced by inputs with a leading draw axis,
# and the number of their own (core) dims
LATENT_CORE_DIMS = {"level": 2, "log_rate": 1, "source_weight": 1}


def design_data(design: Design) -> dict[str, np.ndarray]:
    """The ``pm.Data`` values of a design, by name (:data:`forecast.model.hazard.DATA_NAMES`).

    Parameters
    ----------
    design : Design

    Returns
    -------
    dict of str to numpy.ndarray
        ``exposure`` (T,) fraction of each month at risk; ``counts`` (T,) events per month;
        ``evidence_indicator``, ``evidence_month``, ``evidence_base_month`` (N,) indices;
        ``evidence_sd`` (N,) observation SD and ``evidence_value`` (N,) observed value, both in
        standardized units; ``evidence_source`` (N,) index of each item's source (-1 none; the
        model reads it in the learned-weights mode only).
    """
    return {
        "exposure": np.asarray(design.exposure, dtype=float),
        "counts": np.asarray(design.counts, dtype=np.int64),
        "evidence_indicator": np.asarray(design.evidence_indicator, dtype=np.int64),
        "evidence_month": np.asarray(design.evidence_month, dtype=np.int64),
        "evidence_base_month": np.asarray(design.evidence_base_month, dtype=np.int64),
        "evidence_sd": np.asarray(design.evidence_sd, dtype=float),
        "evidence_value": np.asarray(design.evidence_value, dtype=float),
        "evidence_source": design.item_source,
    }


def padded_data(point: Design, full: Design) -> dict[str, np.ndarray]:
    """The data of ``point`` laid on the grid and item list of ``full`` (see the module docstring).

    Parameters
    ----------
    point : Design
        An earlier as-of date of the same question (its months are the first months of ``full``'s).
    full : Design
        The design whose shapes the result takes.

    Returns
    -------
    dict of str to numpy.ndarray
        ``exposure`` and ``counts`` (full's T,) with zeros after ``point``'s months, and
        ``evidence_sd`` (full's N,) with :data:`MASKED_SD` for items not in ``point``.
    """
    n = full.n_months
    exposure = np.zeros(n)
    exposure[: point.n_months] = point.exposure
    counts = np.zeros(n, dtype=np.int64)
    counts[: point.n_months] = point.counts
    in_scope = set(point.evidence_ids)
    sd = np.where([i in in_scope for i in full.evidence_ids], full.evidence_sd, MASKED_SD)
    return {"exposure": exposure, "counts": counts, "evidence_sd": sd}


def normal_item_location(level, data: dict[str, np.ndarray], dtype=float) -> np.ndarray:
    """The functional each item observes, for every draw: :math:`x_{k_i,t_i} - [b_i \\ge 0]\\, x_{k_i,b_i}`.

    Parameters
    ----------
    level : numpy.ndarray
        (S, K, T) draws of the indicator levels, standardized units.
    data : dict of str to numpy.ndarray
        ``evidence_indicator``, ``evidence_month`` and ``evidence_base_month`` (-1 for a level), each (N,).
    dtype : numpy dtype
        Of the result (``numpy.float32`` for draws whose size matters more than their last digits).

    Returns
    -------
    numpy.ndarray
        (S, N) standardized units, a new array.
    """
    s, k, t = level.shape
    flat = np.ascontiguousarray(level, dtype=dtype).reshape(s, k * t)
    ind = np.asarray(data["evidence_indicator"], dtype=np.int64)
    month = np.asarray(data["evidence_month"], dtype=np.int64)
    base = np.asarray(data["evidence_base_month"], dtype=np.int64)
    out = np.take(flat, ind * t + month, axis=1)
    change = np.flatnonzero(base >= 0)
    if change.size:
        out[:, change] -= np.take(flat, ind[change] * t + base[change], axis=1)
    return out


def normal_item_log_density(level, data: dict[str, np.ndarray]) -> np.ndarray:
    r"""log N(y_i | functional_i(level), s_i) of every item for every draw (see the module docstring).

    Parameters
    ----------
    level : numpy.ndarray
        (S, K, T) draws of the indicator levels, standardized units.
    data : dict of str to numpy.ndarray
        ``evidence_indicator``, ``evidence_month``, ``evidence_base_month`` (-1 for a level),
        ``evidence_sd`` and ``evidence_value``, each (N,).

    Returns
    -------
    numpy.ndarray
        (S, N) log densities in nats: :math:`-\tfrac12 ((y_i - f_i)/s_i)^2 - \log s_i - \tfrac12\log 2\pi`.
    """
    sd = np.asarray(data["evidence_sd"], dtype=float)
    out = normal_item_location(level, data)  # (S, N) the functional ...
    out -= np.asarray(data["evidence_value"], dtype=float)  # ... minus the value: the residual
    out *= 1.0 / sd
    np.square(out, out=out)
    out *= -0.5
    out -= np.log(sd) + 0.5 * np.log(2 * np.pi)
    return out


class PointwiseLogLikelihood:
    """log p(y_j | draw) of every observation, compiled from a model's graph (see the module docstring).

    Parameters
    ----------
    model : pymc.Model
        A model of :func:`~forecast.model.hazard.build_model` (not frozen: a frozen model's
        latent paths have a fixed length). Only its graph is used; the compiled functions take the
        data as arguments. The ``evidence`` term takes levels of any number of months and items of
        any number; the ``event_count`` term the model's months.
    """

    def __init__(self, model):
        import pymc as pm
        import pytensor
        import pytensor.tensor as pt
        from pytensor.graph.replace import graph_replace, vectorize_graph
        from pytensor.graph.traversal import ancestors

        from forecast.model.hazard import DATA_NAMES, OBSERVED

        self.observed = [name for name in OBSERVED if name in model.named_vars]
        self._inputs: dict[str, tuple[list[str], list[str]]] = {}
        self._dtypes = {n: model[n].dtype for n in DATA_NAMES if n in model.named_vars}
        self._fns = {}
        self._numpy: set[str] = set()  # terms evaluated in numpy, not by a compiled graph
        for name in self.observed:
            if name == "evidence" and "source_multiplier" not in model.named_vars:
                # fixed weights: in numpy (normal_item_log_density); with learned source weights the
                # SD depends on a latent weight, and the compiled graph below computes it
                self._inputs[name] = (["level"], [])
                self._numpy.add(name)
                continue
            logp = pm.logp(model[name], model.rvs_to_values[model[name]])
            needed = set(ancestors([logp]))
            latent = [n for n in LATENT_CORE_DIMS if n in model.named_vars and model[n] in needed]
            data = [n for n in DATA_NAMES if n in model.named_vars and model[n] in needed]
            # one draw's latent values and the data, as inputs of any length ...
            single = {model[n]: pt.tensor(name=n, dtype="float64", shape=(None,) * model[n].ndim) for n in latent}
            values = {model[n]: pt.tensor(name=n, dtype=model[n].dtype, shape=(None,) * model[n].ndim) for n in data}
            (logp,) = graph_replace([logp], {**single, **values}, strict=False)
            # ... then a leading draw axis on the latent inputs
            batched = {v: pt.tensor(name=v.name, dtype="float64", shape=(None,) * (v.ndim + 1)) for v in single.values()}
            logp = vectorize_graph(logp, replace=batched)
            # FAST_COMPILE: an elementwise graph evaluated once per call on all draws; a numba
            # compilation would cost more than every evaluation it could speed up
            self._fns[name] = pytensor.function([*batched.values(), *values.values()], logp, mode="FAST_COMPILE", on_unused_input="ignore")
            self._inputs[name] = (latent, data)

    def __call__(self, draws, data: dict[str, np.ndarray], names=None) -> dict[str, np.ndarray]:
        """Pointwise log-likelihood of ``data`` for each draw.

        Parameters
        ----------
        draws : mapping
            ``level`` (..., K, T), ``log_rate`` (..., T) and, in the learned-weights mode,
            ``source_weight`` (..., S) arrays or DataArrays with the same leading draw dims (e.g.
            (chain, draw)); only those the requested terms need.
        data : dict of str to numpy.ndarray
            The ``pm.Data`` values (as :func:`design_data` returns them); ``exposure``/``counts``
            of the model's length T, the evidence arrays of any common length N.
        names : sequence of str, optional
            The terms to evaluate (default all: ``event_count`` and, with evidence, ``evidence``).

        Returns
        -------
        dict of str to numpy.ndarray
            ``event_count`` (..., T) and ``evidence`` (..., N): the log density (nats) of each
            month's event count and each item's value.

        Raises
        ------
        KeyError
            ``draws`` or ``data`` lacks something a requested term needs.
        """
        out = {}
        for name in names or self.observed:
            latent, needed = self._inputs[name]
            arrays = [np.asarray(getattr(draws[n], "values", draws[n]), dtype=float) for n in latent]
            lead = arrays[0].shape[: arrays[0].ndim - LATENT_CORE_DIMS[latent[0]]]
            flat = [a.reshape(-1, *a.shape[len(lead):]) for a in arrays]
            if name in self._numpy:
                v = normal_item_log_density(flat[0], data)
                out[name] = v.reshape(*lead, *v.shape[1:])
                continue
            values = [np.asarray(data[n] if n in data or n != "evidence_source" else np.full(len(data["evidence_value"]), -1), dtype=self._dtypes[n])
                      for n in needed]  # an item given without its source keeps its fixed SD
            v = np.asarray(self._fns[name](*flat, *values))
            out[name] = v.reshape(*lead, *v.shape[1:])
        return out

    def total(self, draws, data: dict[str, np.ndarray]) -> np.ndarray:
        """log p(all of ``data`` | draw).

        Parameters
        ----------
        draws, data
            As for :meth:`__call__` (every term is evaluated).

        Returns
        -------
        numpy.ndarray
            The pointwise terms summed (nats), with the leading draw dims of ``draws``.
        """
        terms = self(draws, data)
        return sum(v.sum(axis=-1) for v in terms.values())

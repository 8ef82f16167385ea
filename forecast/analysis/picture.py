r"""Where the fit puts each indicator on the date the source's picture describes, and what pulls it away.

Every indicator scale defines 0 as the level the source text describes, and the model observes that
picture (:mod:`forecast.model.design`, items ``source-picture:<indicator>``). With the evidence in
scope the posterior mean of every indicator in the picture's month should then lie near its defined
level. When it does not, some evidence item says otherwise, and an analyst should see which one:

* :func:`picture_levels` - the posterior mean and SD of each indicator in the picture's month,
  against its defined level;
* :func:`picture_conflicts` - the indicators whose mean lies more than ``tolerance`` (0.5 units)
  from the defined level, each with the items that pull it away.

An item pulls an indicator away when leaving it out moves the posterior mean of that indicator in
the picture's month back toward the defined level. The leave-one-out means are Pareto-smoothed
importance-sampling estimates on the fit's draws (the inverse of the item's pointwise likelihood,
:func:`forecast.analysis.influence.item_log_likelihood`; :mod:`forecast.inference.importance`), as for
evidence influence; each comes with its Pareto :math:`\hat k` (above
0.7 the estimate is rough, but its sign is still a fair guide to which way the item pulls).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from forecast.core import timegrid

DEFAULT_TOLERANCE = 0.5
LEVEL_COLUMNS = ["indicator", "level", "posterior_mean", "posterior_sd", "deviation", "picture_in_scope"]
CONFLICT_COLUMNS = ["indicator", "level", "posterior_mean", "deviation", "items"]


def picture_date(result, question=None) -> dt.date | None:
    """The date the source's picture describes: from the fit's generated items, else from ``question``'s library."""
    generated = getattr(result.design, "generated", ())
    if generated:
        return generated[0].item.event_date
    library = getattr(question, "library", None)
    picture = getattr(library, "picture", None)
    return picture.describes if picture is not None else None


def _level_draws(result, month: int) -> np.ndarray:
    """(chain, draw, indicator) posterior draws of every indicator in grid month ``month``."""
    post = result.idata["posterior"]
    if "level" not in post.data_vars:
        raise ValueError(f"the posterior of {result.spec.id} as of {result.as_of} holds no draws of the indicator levels")
    return np.asarray(post["level"].values)[..., month]


def picture_levels(result, question=None, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Posterior level of each indicator in the month the source's picture describes.

    Returns
    -------
    pandas.DataFrame
        One row per indicator: ``level`` (its defined level in the picture, 0), ``posterior_mean``,
        ``posterior_sd``, ``deviation`` (mean minus level) and ``picture_in_scope`` (whether the fit
        saw the picture: False for an as-of date before the source's publication). Empty when the
        library states no picture date or the picture's month lies after the as-of month.
    """
    from forecast.model.design import PICTURE_LEVEL

    d = result.design
    date = picture_date(result, question)
    if date is None or not d.indicator_ids:
        return pd.DataFrame(columns=LEVEL_COLUMNS)
    month = timegrid.month_index(d.grid_start, date)
    if month >= d.n_months:
        return pd.DataFrame(columns=LEVEL_COLUMNS)
    draws = _level_draws(result, month).reshape(-1, len(d.indicator_ids))
    in_scope = set(d.generated_ids) if hasattr(d, "generated_ids") else set()
    rows = []
    for k, ind in enumerate(d.indicator_ids):
        mean = float(draws[:, k].mean())
        rows.append(
            {
                "indicator": ind,
                "level": PICTURE_LEVEL,
                "posterior_mean": mean,
                "posterior_sd": float(draws[:, k].std()),
                "deviation": mean - PICTURE_LEVEL,
                "picture_in_scope": any(i.endswith(":" + ind) for i in in_scope),
            }
        )
    return pd.DataFrame(rows, columns=LEVEL_COLUMNS)


def _loo_shift(values: np.ndarray, item_loglik: np.ndarray) -> tuple[float, float]:
    """PSIS estimate of mean(values | all items) - mean(values | all but one item), and its Pareto k.

    ``values`` and ``item_loglik`` (the item's pointwise log-likelihood) are (chain, draw) arrays.
    """
    from forecast.inference.importance import psis

    weights = psis(-item_loglik)  # leaving the item out reweights by 1 / p(y_i | theta)
    return float(values.mean() - weights.mean(values)), float(weights.pareto_k)


def picture_conflicts(result, question=None, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Indicators whose posterior mean in the picture's month lies more than ``tolerance`` from their defined level.

    Parameters
    ----------
    result : FitResult
    question : Question, optional
        Only needed for a fit that did not see the picture (as of a date before the source's
        publication), to know the date it describes.
    tolerance : float
        Units on the standardized scale (0.5 by default).

    Returns
    -------
    pandas.DataFrame
        One row per such indicator: ``indicator``, ``level`` (defined), ``posterior_mean``,
        ``deviation`` and ``items``, a list of ``{"id", "shift", "pareto_k"}`` for the in-scope
        items on that indicator that pull it away (``shift``: the posterior mean with the item
        minus without it, same sign as ``deviation``), largest first. Empty when every indicator
        lies within ``tolerance``.
    """
    levels = picture_levels(result, question, tolerance)
    if levels.empty:
        return pd.DataFrame(columns=CONFLICT_COLUMNS)
    d = result.design
    month = timegrid.month_index(d.grid_start, picture_date(result, question))
    from forecast.analysis.influence import item_log_likelihood

    draws = _level_draws(result, month)
    generated = set(getattr(d, "generated_ids", ()))
    loglik = item_log_likelihood(result).transpose("item", "chain", "draw").values
    rows = []
    for _, row in levels[levels["deviation"].abs() > tolerance].iterrows():
        k = list(d.indicator_ids).index(row["indicator"])
        values = draws[..., k]
        pulling = []
        for i, item_id in enumerate(d.evidence_ids):
            if d.evidence_indicator[i] != k or item_id in generated:
                continue
            shift, khat = _loo_shift(values, loglik[i])
            if shift * row["deviation"] > 0:
                pulling.append({"id": item_id, "shift": shift, "pareto_k": khat})
        pulling.sort(key=lambda p: -abs(p["shift"]))
        rows.append({**{c: row[c] for c in ("indicator", "level", "posterior_mean", "deviation")}, "items": pulling})
    return pd.DataFrame(rows, columns=CONFLICT_COLUMNS)

"""The model's log-likelihood evaluated in numpy on stored draws (for importance reweighting).

``padded_data`` lays the data of an earlier as-of date on the grid and item list of a later one
(evidence not yet published gets SD ``MASKED_SD``, a likelihood flat to 1e-12), so that one set of
draws can be scored against the data of any point.
"""

from __future__ import annotations

import numpy as np

from forecast.model.design import Design

MASKED_SD = 1e6


def padded_data(point: Design, full: Design) -> dict[str, np.ndarray]:
    """The data of ``point`` laid on the grid and item list of ``full`` (see module docstring)."""
    n = full.n_months
    exposure = np.zeros(n)
    exposure[: point.n_months] = point.exposure
    counts = np.zeros(n, dtype=np.int64)
    counts[: point.n_months] = point.counts
    in_scope = set(point.evidence_ids)
    sd = np.where([i in in_scope for i in full.evidence_ids], full.evidence_sd, MASKED_SD)
    return {"exposure": exposure, "counts": counts, "evidence_sd": sd}


def data_loglik(post, data: dict[str, np.ndarray], full: Design) -> np.ndarray:
    """log p(data | draw) for every (chain, draw) of ``post``: survival (Poisson) + evidence (Normal).

    The same terms as the PyMC model, evaluated on stored draws of ``log_rate`` and ``level``;
    constants that do not depend on the draw are kept too (they cancel in a ratio).
    """
    log_rate = np.asarray(post["log_rate"].values)  # (chain, draw, month)
    e, c = data["exposure"], data["counts"]
    mu = e * np.exp(log_rate)
    with np.errstate(divide="ignore"):
        ll = (np.where(c > 0, c * np.log(np.where(e > 0, e, 1.0)) + c * log_rate, 0.0) - mu).sum(axis=-1)
    if len(full.evidence_ids):
        level = np.asarray(post["level"].values)  # (chain, draw, indicator, month)
        ind, month, base = full.evidence_indicator, full.evidence_month, full.evidence_base_month
        observed = level[..., ind, month] - np.where(base >= 0, level[..., ind, np.maximum(base, 0)], 0.0)
        sd = data["evidence_sd"]
        ll = ll + (-0.5 * ((full.evidence_value - observed) / sd) ** 2 - np.log(sd)).sum(axis=-1)
    return ll

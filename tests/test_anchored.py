"""The sampler's anchored paths (forecast.model.hazard, sparse evidence) are the same model.

Without dense evidence the sampler draws each indicator's level at its best-observed month
(``level_anchor``) in place of its first month's level: a shift of ``level_start`` by a function of
the innovations and volatility, so the log density is the random walk's at the shifted point (the
Jacobian is 1), and a fit's posterior still holds ``level_start`` and ``innovation``.
(tests/test_collapse.py checks the posterior of a fit against the item-by-item random walk's.)
"""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import item, question, walk_point

AS_OF = "2022-01-01"


def sparse_question():
    """Two indicators: a few level reports (the strongest for ``signal`` in 2021-09) and a change."""
    items = [item("s-1", "signal", "2020-06-15", grade="C3", value=0.4), item("s-2", "signal", "2021-09-20", grade="A1", value=0.9),
             item("s-3", "signal", "2021-09-21", grade="B2", value=0.7), item("n-1", "noise", "2021-02-10", grade="B2", value=-0.3),
             item("n-up", "noise", "2021-05-05", grade="A1", direction="up", strength="moderate")]
    return question(effects={"signal": ("toward", 1.0), "noise": ("against", 0.5)}, items=items)


def test_anchor_is_the_month_of_greatest_level_precision():
    from forecast.model.hazard import anchor_months

    # indicator 0: precision 4 at month 2, 4 + 16 at month 5; indicator 1: only a change (base 1)
    # and no level item, so month 0 (the walk's own start); indicator 2: a tie broken toward the later month
    ind = np.array([0, 0, 0, 1, 2, 2])
    month = np.array([2, 5, 5, 3, 1, 4])
    base = np.array([-1, -1, -1, 1, -1, -1])
    sd = np.array([0.5, 0.5, 0.25, 0.1, 1.0, 1.0])
    np.testing.assert_array_equal(anchor_months(ind, month, base, sd, (3, 7)), [5, 0, 4])


def test_sampler_paths_follow_the_evidence():
    from forecast.model.hazard import build_model, sampler_paths

    from .test_whitening import dense_question

    sparse, dense = sparse_question().design(AS_OF), dense_question().design(AS_OF)
    assert sampler_paths(sparse) == "anchored" and sampler_paths(dense) == "whitened"
    assert "level_anchor" in build_model(sparse, collapsed=True).named_vars
    assert "level_anchor" not in build_model(sparse).named_vars  # the per-item model keeps the walk
    with pytest.raises(ValueError, match="paths must be one of walk, anchored, whitened, not 'pinned'"):
        build_model(sparse, collapsed=True, paths="pinned")


def test_anchored_log_density_is_the_random_walks_at_the_shifted_start():
    """At random parameter values: log p_anchored(x_a, z, theta) = log p_walk(x_0, z, theta) with
    x_0 = x_a - sigma * sum_{j <= a} z_j (a shift whose Jacobian is 1)."""
    from forecast.model.hazard import anchor_months, build_model

    design = sparse_question().design(AS_OF)
    d = design
    anchor = anchor_months(d.evidence_indicator, d.evidence_month, d.evidence_base_month, d.evidence_sd, (len(d.indicator_ids), d.n_months))
    assert anchor[0] == d.month_labels.index("2021-09-01") and anchor[0] < d.n_months - 1
    anchored, walk = build_model(design, collapsed=True, paths="anchored"), build_model(design, collapsed=True, paths="walk")
    logp_anchored, logp_walk = anchored.compile_logp(mode="CVM"), walk.compile_logp(mode="CVM")  # C backend: compiles in seconds
    rng = np.random.default_rng(8)
    start = anchored.initial_point()
    for _ in range(4):
        point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in start.items()}
        sigma = np.exp(point["volatility_log__"])
        walked = np.concatenate([np.zeros((len(sigma), 1)), np.cumsum(sigma[:, None] * point["innovation"], axis=1)], axis=1)
        standard = {k: v for k, v in point.items() if k != "level_anchor"}
        standard["level_start"] = point["level_anchor"] - walked[np.arange(len(sigma)), anchor]
        assert float(logp_anchored(point)) == pytest.approx(float(logp_walk(standard)), rel=1e-10, abs=1e-8)


def test_warm_start_and_posterior_use_the_walks_variables():
    """A warm start given as (level_start, volatility, innovation) becomes the anchored sampler's
    start on the same paths; the fit's posterior has ``level_start`` and no ``level_anchor``."""
    from forecast.inference.sampling import _anchored_initvals, compiled_model, sample_posterior
    from forecast.model.simulate import walk_levels

    design = sparse_question().design(AS_OF)
    compiled = compiled_model(design)
    compiled.set_data(design)
    values = walk_point(design)
    k = len(design.indicator_ids)
    start = _anchored_initvals(values, compiled.values["anchor_month"])
    assert set(start) == {"level_anchor", "volatility", "innovation", "effect_size", "baseline_probability"}
    level = walk_levels(values["level_start"], values["volatility"], values["innovation"])
    np.testing.assert_allclose(start["level_anchor"], level[np.arange(k), compiled.values["anchor_month"]], rtol=0, atol=1e-12)

    tree = sample_posterior(design, draws=20, tune=20, chains=1, seed=2, target_accept=0.9, initvals=[values])
    post = tree["posterior"]
    assert "level_anchor" not in post and {"level_start", "innovation", "level"} <= set(post.data_vars)
    rebuilt = walk_levels(post["level_start"].values, post["volatility"].values, post["innovation"].values)
    np.testing.assert_allclose(rebuilt, post["level"].transpose("chain", "draw", "indicator", "month").values, rtol=0, atol=1e-9)

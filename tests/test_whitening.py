"""The sampler's whitened paths (forecast.model.hazard, dense evidence) are the same model.

With many level reports a month the sampler draws the latent paths whitened by their Gaussian
conditional posterior (``path_whitened``) instead of as a random walk of standard normals. That is
a change of variables: the log density is the random walk's plus the log Jacobian at any parameter
values, the posterior is the same within Monte Carlo error, and a fit's posterior still holds the
model's own ``innovation`` (and ``level_start``), so everything after sampling reads one form.
"""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import item, question, walk_point

AS_OF = "2022-01-01"


def dense_question(copies: int = 4):
    """Two indicators reported every month from 2020-02 to 2021-12, ``copies`` reports a month."""
    rng = np.random.default_rng(7)
    items = []
    for k, ind in enumerate(("signal", "noise")):
        for m in range(23):
            year, month = 2020 + (m + 1) // 12, (m + 1) % 12 + 1
            truth = (0.9 - k) * np.sin(m / 7.0)
            for c in range(copies):
                items.append(item(f"{ind}-{m}-{c}", ind, f"{year}-{month:02d}-{5 + 7 * c % 20:02d}", grade=("A1", "B2", "C3")[c % 3],
                                  value=round(float(truth + rng.normal(0, 0.3)), 3)))
    return question(effects={"signal": ("toward", 1.0), "noise": ("against", 0.5)}, items=items)


def _standard_point(white_point: dict, design) -> dict:
    """The random walk's free values (level_start, innovation) of the whitened model's point."""
    from forecast.model.hazard import spectral_basis, whitening, whitening_data

    volatility = np.exp(white_point["volatility_log__"])
    d = design
    data = whitening_data(d.evidence_indicator, d.evidence_month, d.evidence_base_month, d.evidence_sd, d.evidence_value,
                          (len(d.indicator_ids), d.n_months))
    location, scale = whitening(volatility, data["path_precision"], data["path_target"], design)
    path = location + (white_point["path_whitened"] * scale) @ spectral_basis(design.n_months)[0].T
    point = {k: v for k, v in white_point.items() if k != "path_whitened"}
    point["level_start"] = path[:, 0]
    point["innovation"] = np.diff(path, axis=1) / volatility[:, None]
    return point, float(np.log(scale).sum() - (design.n_months - 1) * np.log(volatility).sum())


def test_dense_evidence_is_whitened_and_sparse_evidence_is_not():
    from forecast.inference.sampling import structure_key
    from forecast.model.hazard import whitened

    from .test_collapse import crowded_question

    dense, sparse = dense_question().design(AS_OF), crowded_question().design(AS_OF)
    assert whitened(dense) and not whitened(sparse)
    # another compiled graph, so the sparse designs keep theirs
    assert structure_key(dense) != structure_key(dense_question(copies=1).design(AS_OF))


def test_whitened_log_density_is_the_random_walks_plus_the_log_jacobian():
    """At random parameter values: log p_white(eps, theta) = log p_rw(x0, z, theta) + log|d(x0, z)/d eps|,
    with the Jacobian sum(log scale) - (T - 1) sum(log sigma) (orthonormal modes, then differences / sigma)."""
    from forecast.model.hazard import build_model

    design = dense_question().design(AS_OF)
    white, walk = build_model(design, collapsed=True, paths="whitened"), build_model(design, collapsed=True, paths="walk")
    assert "path_whitened" in white.named_vars and "innovation" not in white.named_vars and "innovation" in walk.named_vars
    logp_white, logp_walk = white.compile_logp(mode="CVM"), walk.compile_logp(mode="CVM")  # C backend: compiles in seconds
    rng = np.random.default_rng(3)
    start = white.initial_point()
    for _ in range(4):
        point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in start.items()}
        standard, log_jacobian = _standard_point(point, design)
        assert float(logp_white(point)) == pytest.approx(float(logp_walk(standard)) + log_jacobian, rel=1e-9, abs=1e-7)


def test_warm_start_maps_to_the_same_paths():
    """A warm start given as (level_start, volatility, innovation) starts the whitened sampler on the same paths."""
    from forecast.inference.sampling import _whitened_initvals, compiled_model
    from forecast.model.hazard import spectral_basis, whitening
    from forecast.model.simulate import walk_levels

    design = dense_question().design(AS_OF)
    compiled = compiled_model(design)
    compiled.set_data(design)
    values = walk_point(design)
    white = _whitened_initvals(values, compiled.values, design)
    assert set(white) == {"volatility", "effect_size", "baseline_probability", "path_whitened"}
    location, scale = whitening(values["volatility"], compiled.values["path_precision"], compiled.values["path_target"], design)
    path = location + (white["path_whitened"] * scale) @ spectral_basis(design.n_months)[0].T
    expected = walk_levels(values["level_start"], values["volatility"], values["innovation"])
    np.testing.assert_allclose(path, expected, rtol=0, atol=1e-10)


@pytest.mark.slow
def test_whitened_posterior_equals_the_random_walks_within_mcse():
    """NUTS on the whitened model (what a fit of dense evidence uses) and on the random walk give the
    same posterior means of levels, volatilities and effects within 4 combined Monte Carlo SEs;
    the fit's posterior holds the random walk's innovations, which rebuild its levels."""
    import arviz_stats

    from forecast.inference.sampling import nuts, sample_posterior
    from forecast.model.hazard import build_model

    design = dense_question().design(AS_OF)
    settings = dict(draws=1000, tune=1000, chains=2, target_accept=0.95)  # the spec's default (at 0.9 one of 2000 draws may diverge)
    white = sample_posterior(design, seed=21, **settings)
    walk = nuts(build_model(design, collapsed=True, paths="walk"), seed=22, cores=1, **settings)
    assert int(white["sample_stats"]["diverging"].sum()) == 0 and int(walk["sample_stats"]["diverging"].sum()) == 0
    for name in ("level", "volatility", "effect_size", "baseline_probability"):
        a, b = white["posterior"][name], walk["posterior"][name]
        b = b.assign_coords({d: a[d] for d in a.dims if d not in ("chain", "draw")})
        diff = np.abs((a.mean(("chain", "draw")) - b.mean(("chain", "draw"))).values)
        se = np.hypot(np.asarray(arviz_stats.mcse(a, method="mean").values), np.asarray(arviz_stats.mcse(b, method="mean").values))
        assert np.all(diff < 4 * se + 1e-3), (name, diff.max(), se.max())
    post = white["posterior"]
    assert "path_whitened" not in post and post["innovation"].dims == ("chain", "draw", "indicator", "step")
    rebuilt = post["level_start"].values[..., None] + np.concatenate(
        [np.zeros(post["level_start"].shape + (1,)), np.cumsum(post["volatility"].values[..., None] * post["innovation"].values, -1)], -1)
    np.testing.assert_allclose(rebuilt, post["level"].transpose("chain", "draw", "indicator", "month").values, rtol=0, atol=1e-9)
    # the whitened paths mix faster: fewer leapfrog steps per draw
    assert float(white["sample_stats"]["n_steps"].mean()) < float(walk["sample_stats"]["n_steps"].mean())

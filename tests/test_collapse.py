"""The collapsed evidence likelihood (forecast.model.collapse) is the item-by-item likelihood.

Items observing the same functional (indicator, month, base month) in the same noise group enter
the sampler's model as one observation. These tests check that this changes nothing but a
constant: the log densities of the two models differ by the closed-form constant at any parameter
values, the posteriors agree within Monte Carlo error, and the per-item log-likelihood is still
per item.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forecast.model.collapse import collapse, log_constant

from .conftest import item, question

AS_OF = "2022-01-01"


def crowded_question(n_copies: int = 8):
    """Two indicators, repeated reports of the same levels and changes, with mixed grades."""
    rng = np.random.default_rng(4)
    grades = ["A1", "B2", "C3"]
    items = []
    for k, ind in enumerate(("signal", "noise")):
        for month in ("2020-06-15", "2021-02-10", "2021-09-20"):
            for c in range(n_copies):
                items.append(item(f"{ind}-{month}-{c}", ind, month, grade=grades[c % 3], value=round(float(0.8 - k + rng.normal(0, 0.3)), 3)))
        for c in range(n_copies // 2):
            items.append(item(f"{ind}-up-{c}", ind, "2021-05-05", grade=grades[c % 3], direction="up", strength="moderate"))
    return question(effects={"signal": ("toward", 1.0), "noise": ("against", 0.5)}, items=items)


def test_collapse_closed_form_and_noise_groups():
    """Precision-weighted mean and summed precision per key; another noise group is another
    observation; scaling one noise group's SDs by r scales its SD by r and keeps its mean."""
    ind = np.array([0, 0, 0, 1, 0])
    month = np.array([3, 3, 3, 3, 3])
    base = np.array([-1, -1, -1, -1, 0])
    sd = np.array([0.5, 1.0, 0.25, 0.5, 0.1])
    y = np.array([1.0, -1.0, 0.5, 2.0, 0.3])
    c = collapse(ind, month, base, sd, y)
    assert c.n_groups == 3  # (0, 3, -1), (0, 3, 0), (1, 3, -1)
    g = c.group_of_item[0]
    assert c.group_of_item[1] == g == c.group_of_item[2]
    p = sd[:3] ** -2
    assert c.sd[g] == pytest.approx(p.sum() ** -0.5, rel=1e-12)
    assert c.value[g] == pytest.approx((p * y[:3]).sum() / p.sum(), rel=1e-12)
    assert c.count[g] == 3

    noise = np.array([0, 1, 1, 0, 0])
    split = collapse(ind, month, base, sd, y, noise)
    assert split.n_groups == 4
    scaled = sd * np.where(noise == 1, 2.0, 1.0)
    again = collapse(ind, month, base, scaled, y, noise)
    np.testing.assert_allclose(again.value, split.value, rtol=1e-12)
    np.testing.assert_allclose(again.sd, split.sd * np.where(split.noise_group == 1, 2.0, 1.0), rtol=1e-12)


def test_log_constant_is_the_difference_of_normal_log_densities():
    """sum_i log N(y_i | mu_g(i), s_i) - sum_g log N(ybar_g | mu_g, S_g) = log_constant, for any mu."""
    rng = np.random.default_rng(0)
    n = 400
    ind, month = rng.integers(0, 3, n), rng.integers(0, 5, n)
    base = np.where(rng.random(n) < 0.3, month - 1, -1)
    sd, y = rng.uniform(0.1, 2.0, n), rng.normal(0, 1, n)
    c = collapse(ind, month, base, sd, y, rng.integers(0, 2, n))
    assert c.n_groups < n
    expected = log_constant(sd, y, c)
    for _ in range(3):
        mu = rng.normal(0, 3, c.n_groups)
        items = stats.norm.logpdf(y, mu[c.group_of_item], sd).sum()
        groups = stats.norm.logpdf(c.value, mu, c.sd).sum()
        assert items - groups == pytest.approx(expected, rel=1e-10, abs=1e-8)


def test_model_log_densities_differ_by_the_closed_form_constant():
    """The collapsed model's joint log density (priors + survival + evidence) equals the
    item-by-item model's minus the closed-form constant, at several random parameter values."""
    from forecast.model.hazard import build_model, collapse_design

    design = crowded_question().design(AS_OF)
    c = collapse_design(design)
    assert c.n_groups == 8 < len(design.evidence_ids)
    constant = log_constant(design.evidence_sd, design.evidence_value, c)
    items, grouped = build_model(design), build_model(design, collapsed=True, paths="walk")
    logp_items, logp_grouped = items.compile_logp(mode="CVM"), grouped.compile_logp(mode="CVM")  # C backend: compiles in seconds
    rng = np.random.default_rng(1)
    start = items.initial_point()
    differences = []
    for _ in range(4):
        point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in start.items()}
        differences.append(float(logp_items(point)) - float(logp_grouped(point)))
    np.testing.assert_allclose(differences, constant, rtol=1e-9, atol=1e-7)


@pytest.mark.slow
def test_collapsed_posterior_equals_the_item_by_item_posterior_within_mcse():
    """NUTS on the collapsed model (what every fit uses) and on the item-by-item model give the
    same posterior means of the levels at the observed months, volatilities and effects, within
    4 combined Monte Carlo SEs; the per-item log-likelihood is per item and equals the Normal
    density of each item at the draws of its functional."""
    import arviz_stats
    import xarray as xr

    from forecast.inference.sampling import log_likelihood, nuts, sample_posterior
    from forecast.model.hazard import build_model

    design = crowded_question().design(AS_OF)
    settings = dict(draws=1000, tune=1000, chains=2, target_accept=0.9)
    fast = sample_posterior(design, seed=11, **settings)
    slow = nuts(build_model(design), seed=12, cores=1, **settings)
    assert int(fast["sample_stats"]["diverging"].sum()) == 0 and int(slow["sample_stats"]["diverging"].sum()) == 0
    # the sampler's walk is pinned at each indicator's best-observed month (forecast.model.hazard,
    # "anchored"): the same posterior in fewer leapfrog steps than the walk from its first month
    steps = float(fast["sample_stats"]["n_steps"].mean()), float(slow["sample_stats"]["n_steps"].mean())
    assert steps[0] < steps[1], steps
    months = sorted(set(design.evidence_month.tolist()) | set(design.evidence_base_month[design.evidence_base_month >= 0].tolist()))
    for name in ("level", "volatility", "effect_size", "baseline_probability"):
        a, b = fast["posterior"][name], slow["posterior"][name]
        if name == "level":
            a, b = a.isel(month=months), b.isel(month=months)
        b = b.assign_coords({d: a[d] for d in a.dims if d not in ("chain", "draw")})
        diff = np.abs((a.mean(("chain", "draw")) - b.mean(("chain", "draw"))).values)
        se = np.hypot(np.asarray(arviz_stats.mcse(a, method="mean").values), np.asarray(arviz_stats.mcse(b, method="mean").values))
        assert np.all(diff < 4 * se + 1e-3), (name, diff, se)

    post = fast["posterior"].to_dataset()
    ll = log_likelihood(design, post)["evidence"]
    assert ll.sizes["item"] == len(design.evidence_ids) and list(ll["item"].values) == list(design.evidence_ids)
    level = post["level"].values  # (chain, draw, K, T)
    f = level[..., design.evidence_indicator, design.evidence_month] - np.where(
        design.evidence_base_month >= 0, level[..., design.evidence_indicator, np.maximum(design.evidence_base_month, 0)], 0.0)
    np.testing.assert_allclose(ll.values, stats.norm.logpdf(design.evidence_value, f, design.evidence_sd), rtol=0, atol=1e-9)
    # the tree records the data per item, as the item-by-item sampler does
    assert isinstance(fast["observed_data"].to_dataset(), xr.Dataset)
    np.testing.assert_array_equal(fast["observed_data"]["evidence"].values, design.evidence_value)
    assert list(fast["observed_data"]["item"].values) == list(design.evidence_ids)


def test_learned_source_weights_collapse_exactly_per_source():
    """With learned source weights each source is its own noise group: two sources reporting the
    same month stay two observations, and the two models still differ by the closed-form constant
    at any value of the source weights (each weight scales its group's SD exactly)."""
    from forecast.inference.question import Question
    from forecast.inputs.sources import SourceRegistry
    from forecast.model.hazard import build_model, collapse_design

    items = [item(f"{src}-{c}", "signal", month, grade=("B2", "C3")[c % 2], source=src, value=round(0.9 - 0.2 * c, 2))
             for src in ("wire", "ministry") for month in ("2021-02-10", "2021-09-20") for c in range(4)]
    base = question({"signal": ("toward", 1.0)}, items=items, sources="learned")
    registry = SourceRegistry.model_validate({"sources": [{"id": s, "name": s, "kind": "media", "reliability": "B"} for s in ("wire", "ministry")]})
    design = Question(spec=base.spec, library=base.library, evidence=base.evidence, sources=registry).design(AS_OF)
    assert design.learned_sources
    picture = len(design.generated_ids)
    c = collapse_design(design)
    # 2 sources x 2 months (noise groups 1 and 2), plus any picture items (no source: group 0)
    assert c.n_groups == 4 + picture and set(c.noise_group.tolist()) - {0} == {1, 2} and (picture == 0) == (0 not in c.noise_group)
    constant = log_constant(design.evidence_sd, design.evidence_value, c)
    items_model, grouped = build_model(design), build_model(design, collapsed=True, paths="walk")
    logp_items, logp_grouped = items_model.compile_logp(mode="CVM"), grouped.compile_logp(mode="CVM")  # C backend: compiles in seconds
    rng = np.random.default_rng(2)
    start = items_model.initial_point()
    assert any(k.startswith("source_weight") for k in start)
    differences = []
    for _ in range(4):
        point = {k: v + rng.normal(0, 0.7, np.shape(v)) for k, v in start.items()}  # the weights move too
        differences.append(float(logp_items(point)) - float(logp_grouped(point)))
    # the same constant at every value of the weights: the group's within-source dispersion term
    # carries what the weights learn from reports of one source that disagree with each other
    np.testing.assert_allclose(differences, constant, rtol=1e-9, atol=1e-7)

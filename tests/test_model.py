"""The hazard model against closed forms, simulated truth, and the behaviours the spec promises."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import integrate, special, stats

from .conftest import item, question

FAST = dict(draws=500, tune=500, chains=2)


def beta_binomial_p_within(a, b, n, h):
    """P(event within h months | none in n months), p ~ Beta(a, b) the constant monthly probability."""
    return 1.0 - np.exp(special.betaln(a, b + n + h) - special.betaln(a, b + n))


def test_survival_matches_beta_binomial_closed_form():
    a, b, n = 2.0, 30.0, 24
    q = question(baseline=(a, b), per="month", risk_window_start="2020-01-01", horizons=("2022-07-01", "2023-01-01"))
    result = q.fit(as_of="2022-01-01", seed=11, draws=1000, tune=500)  # exactly 24 months survived
    table = result.summary().set_index("horizon")
    for horizon, h in ((dt.date(2022, 7, 1), 6), (dt.date(2023, 1, 1), 12)):
        exact = beta_binomial_p_within(a, b, n, h)
        row = table.loc[horizon]
        assert abs(row["mean"] - exact) < 4 * row["mcse"] + 1e-4, (horizon, row["mean"], exact, row["mcse"])
    # the posterior of the monthly probability is Beta(a, b + n)
    p = result.idata["posterior"]["baseline_probability"].values.reshape(-1)
    assert p.mean() == pytest.approx(a / (a + b + n), abs=4 * p.std() / np.sqrt(result.diagnostics.ess_bulk_min))
    # the prior forecast has no survival in it: 1 - B(a, b + h) / B(a, b)
    prior = result.idata["prior"]["p_event_by"].sel(horizon="2023-01-01").values.reshape(-1)
    exact_prior = 1 - np.exp(special.betaln(a, b + 12) - special.betaln(a, b))
    assert prior.mean() == pytest.approx(exact_prior, abs=4 * prior.std() / np.sqrt(prior.size))
    assert result.diagnostics.divergences == 0


def test_yearly_baseline_is_the_probability_per_year():
    """With `per: year` and no indicators, P(event within 12 months) has prior mean E[p]."""
    a, b = 3.0, 27.0
    q = question(baseline=(a, b), per="year", horizons=("2021-01-01",))
    design = q.design("2020-01-01")
    from forecast.inference.sampling import SampleConfig, fit_design

    idata, _, _ = fit_design(design, q.spec.horizons, SampleConfig(draws=200, tune=200, chains=1, target_accept=0.9, future_paths=1, prior_draws=4000), seed=3)
    prior = idata["prior"]["p_event_by"].values.reshape(-1)
    assert prior.mean() == pytest.approx(a / (a + b), abs=4 * prior.std() / np.sqrt(prior.size))


def test_resolution_item_ends_survival_and_resolves():
    """An event in month r: likelihood lambda * exp(-lambda * exposure), posterior by quadrature."""
    a, b = 2.0, 30.0
    items = [{"id": "it-happened", "event_date": "2021-01-16", "published": "2021-01-20", "question": "test-question", "resolves": True, "source": "test", "grade": "A1", "quote": "test"}]
    q = question(baseline=(a, b), items=items, horizons=("2022-07-01",))
    result = q.fit(as_of="2022-01-01", seed=5, **FAST)
    assert result.design.resolved_on == dt.date(2021, 1, 16)
    assert "resolved YES on 2021-01-16" in result.headline_sentence()
    assert np.all(result.p_by("2022-07-01") == 1.0)
    exposure = result.design.exposure.sum()  # 12 months + 15/31 of January 2021
    assert exposure == pytest.approx(12 + 15 / 31)

    def post(p):
        lam = -np.log1p(-p)
        return stats.beta(a, b).pdf(p) * lam * np.exp(-lam * exposure)

    z = integrate.quad(post, 0, 1)[0]
    exact_mean = integrate.quad(lambda p: p * post(p), 0, 1)[0] / z
    draws = result.idata["posterior"]["baseline_probability"].values.reshape(-1)
    assert draws.mean() == pytest.approx(exact_mean, abs=4 * draws.std() / np.sqrt(result.diagnostics.ess_bulk_min))


def test_parameter_recovery_from_simulated_history():
    """Simulate two indicator paths, graded evidence and an entry time; the fit covers the truth."""
    rng = np.random.default_rng(2024)
    n_months = 48
    truth = {"level_start": np.array([-1.0, 0.5]), "volatility": np.array([0.15, 0.3]), "effect": np.array([1.2, -0.8]), "p_month": 0.01}
    steps = rng.normal(0, 1, (2, n_months - 1)) * truth["volatility"][:, None]
    path = truth["level_start"][:, None] + np.concatenate([np.zeros((2, 1)), np.cumsum(steps, axis=1)], axis=1)
    alpha = np.log(-np.log1p(-truth["p_month"]))
    rate = np.exp(alpha + truth["effect"] @ path)
    # entry: the first month whose event draw succeeds (or none: censored at the as-of date)
    happened = rng.random(n_months) < 1 - np.exp(-rate)
    event_month = int(np.argmax(happened)) if happened.any() else None
    items = []
    for k, name in enumerate(("push", "pull")):
        for t in range(0, n_months, 2):
            d = (dt.date(2020, 1, 1) + dt.timedelta(days=31 * t)).replace(day=15)
            y = path[k, t] + rng.normal(0, 0.5)  # A1 observation SD is 0.5
            items.append(item(f"{name}-{t}", name, d.isoformat(), value=round(float(y), 4)))
    if event_month is not None:
        event_date = (dt.date(2020, 1, 1) + dt.timedelta(days=31 * event_month)).replace(day=10)
        items.append({"id": "entry", "event_date": event_date.isoformat(), "published": event_date.isoformat(), "question": "test-question", "resolves": True, "source": "sim", "grade": "A1", "quote": "sim"})
    q = question(effects={"push": ("toward", 1.0), "pull": ("against", 1.0)}, baseline=(1.0, 40.0), items=items, horizons=("2024-06-01",))
    result = q.fit(as_of="2023-12-31", seed=7, draws=1000, tune=1000, chains=2)  # 2000 draws: the 99% intervals need no more
    post = result.idata["posterior"]
    assert result.diagnostics.divergences <= 5

    # nine parameters are checked, so each uses a 99% interval (about 9% family-wise miss rate)
    def covered(name, true, prob=0.99):
        draws = post[name].values.reshape(-1, *post[name].shape[2:])
        lo, hi = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
        return (lo <= true) & (true <= hi)

    assert covered("level_start", truth["level_start"]).all()
    assert covered("volatility", truth["volatility"]).all()
    assert covered("effect", truth["effect"]).all()
    assert covered("log_baseline_rate", alpha)
    # the latent paths: the posterior mean tracks the truth well inside the observation noise
    # (SD 0.5 every other month), and the 90% bands cover most months (they are pointwise and the
    # errors are autocorrelated, so one history can fall short of 90%)
    level = post["level"].values.reshape(-1, 2, path.shape[1])
    rmse = np.sqrt(((level.mean(axis=0) - path) ** 2).mean(axis=1))
    assert (rmse < 0.4).all(), rmse
    lo, hi = np.quantile(level, [0.05, 0.95], axis=0)
    assert ((lo <= path) & (path <= hi)).mean() >= 0.7
    assert np.median(hi - lo) < 1.3  # the evidence pins the paths (the prior band is wider than 3)


def test_as_of_ignores_items_published_later():
    base = [item("seen", "signal", "2021-06-15", value=1.0)]
    late = base + [item("late", "signal", "2021-12-15", published="2022-03-01", value=2.5)]
    early = base + [item("late", "signal", "2021-12-15", published="2021-12-20", value=2.5)]
    kw = dict(effects={"signal": ("toward", 1.0)}, baseline=(2.0, 60.0), horizons=("2023-01-01",))
    r_base = question(items=base, **kw).fit(as_of="2022-01-01", seed=9, **FAST)
    r_late = question(items=late, **kw).fit(as_of="2022-01-01", seed=9, **FAST)
    r_early = question(items=early, **kw).fit(as_of="2022-01-01", seed=9, **FAST)
    assert [e.id for e in r_late.design.excluded] == ["late"]
    assert np.array_equal(r_base.p_by("2023-01-01"), r_late.p_by("2023-01-01"))  # bit for bit
    assert r_early.p_by("2023-01-01").mean() > r_base.p_by("2023-01-01").mean() + 0.01
    assert r_late.fingerprints["evidence"] == r_base.fingerprints["evidence"]
    assert r_early.fingerprints["evidence"] != r_base.fingerprints["evidence"]


def test_same_files_and_seed_give_same_numbers():
    # the priors of test_as_of_ignores_items_published_later: one compiled model for both
    q = question(effects={"signal": ("toward", 1.0)}, baseline=(2.0, 60.0), items=[item("a", "signal", "2021-03-01", value=0.5)])
    a = q.fit(as_of="2022-01-01", seed=21, draws=200, tune=200)
    b = q.fit(as_of="2022-01-01", seed=21, draws=200, tune=200)
    c = q.fit(as_of="2022-01-01", seed=22, draws=200, tune=200)
    assert np.array_equal(a.p_by("2023-01-01"), b.p_by("2023-01-01"))
    assert a.summary().equals(b.summary())
    assert not np.array_equal(a.p_by("2023-01-01"), c.p_by("2023-01-01"))

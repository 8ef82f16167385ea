"""The inference layer: one compiled model per structure, the model's own log-likelihood, results
rebuilt from their tree alone.

One tiny question structure (one indicator, one evidence item, a 25-month grid) serves the
compile-cache and log-likelihood tests; the stored-result test runs ``forecast update`` in a
throw-away project and then edits that project's files.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

import forecast

from .conftest import item, library, question

AS_OF = "2022-01-01"
SMALL = dict(draws=150, tune=150, chains=2, target_accept=0.9)


BASELINE = (2.0, 60.0)  # the priors (and so the compiled model) of tests/test_model.py's small fits


def two_designs():
    """Two questions of one structure: the same grid, indicator and number of items, other data."""
    a = question(effects={"signal": ("toward", 1.0)}, baseline=BASELINE, items=[item("a", "signal", "2021-03-01", value=0.5)])
    b = question(effects={"signal": ("toward", 1.0)}, baseline=BASELINE, items=[item("b", "signal", "2021-05-15", value=-1.5, grade="C3")])
    return a.design(AS_OF), b.design(AS_OF)


def test_a_prior_s_provenance_is_not_part_of_the_structure():
    """Rewording the passage or reasoning a prior cites compiles nothing new; a change of its
    parameters, or parameters elicited from an interval instead, is another structure."""
    from forecast.inference.sampling import structure_key

    da, _ = two_designs()
    q = question(effects={"signal": ("toward", 1.0)}, baseline=BASELINE, items=[item("a", "signal", "2021-03-01", value=0.5)])

    def with_baseline(**update):
        base = q.spec.baseline.model_copy(update={"probability": q.spec.baseline.probability.model_copy(update=update)})
        return type(q)(spec=q.spec.model_copy(update={"baseline": base}), library=q.library, evidence=q.evidence).design(AS_OF)

    reworded = with_baseline(source=q.spec.baseline.probability.source.model_copy(update={"quote": "another passage", "reasoning": "reworded"}))
    assert reworded.baseline.source.quote == "another passage"
    assert structure_key(reworded) == structure_key(da)
    assert structure_key(with_baseline(params={"alpha": 2.0, "beta": 31.0})) != structure_key(da)
    assert structure_key(with_baseline(dist="beta", params=None, interval=(0.01, 0.2))) != structure_key(da)


def test_a_second_design_of_the_same_structure_compiles_nothing(monkeypatch):
    """The second fit reuses the compiled model (cache hit, no PyTensor compilation at all) and
    fits the second design's data under its own labels."""
    import pytensor

    from forecast.inference.sampling import cache_info, log_likelihood, sample_posterior, sample_prior, structure_key

    da, db = two_designs()
    assert structure_key(da) == structure_key(db)
    first = sample_posterior(da, seed=1, **SMALL)
    sample_prior(da, draws=50, seed=2)
    log_likelihood(da, first["posterior"].to_dataset())

    before = cache_info()
    compilations = []
    real = pytensor.function

    def counting(*args, **kwargs):
        compilations.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(pytensor, "function", counting)
    second = sample_posterior(db, seed=1, **SMALL)
    prior = sample_prior(db, draws=50, seed=2)
    loglik = log_likelihood(db, second["posterior"].to_dataset())
    after = cache_info()
    assert compilations == []
    assert after.builds == before.builds and after.hits == before.hits + 3
    # db's data and labels, not da's
    assert list(second["observed_data"]["item"].values) == ["b"] and float(second["observed_data"]["evidence"].values[0]) == -1.5
    assert list(loglik["item"].values) == ["b"] and list(prior["prior_predictive"]["item"].values) == ["b"]
    month = int(db.evidence_month[0])
    level = second["posterior"]["level"].sel(indicator="signal").isel(month=month)
    assert float(level.mean()) < -0.5 < 0.2 < float(first["posterior"]["level"].sel(indicator="signal").isel(month=int(da.evidence_month[0])).mean())

    # another number of items is data too: no compilation, the third design's three items
    dc = question(effects={"signal": ("toward", 1.0)}, baseline=BASELINE,
                  items=[item(f"c{i}", "signal", "2021-05-15", value=-1.5) for i in range(3)]).design(AS_OF)
    assert structure_key(dc) == structure_key(da)
    third = sample_posterior(dc, seed=1, **SMALL)
    prior = sample_prior(dc, draws=50, seed=2)
    loglik = log_likelihood(dc, third["posterior"].to_dataset())
    assert compilations == [] and cache_info().builds == before.builds
    assert list(third["observed_data"]["item"].values) == ["c0", "c1", "c2"] and third["constant_data"].sizes["item"] == 3
    assert loglik["evidence"].shape == (2, SMALL["draws"], 3) and prior["prior_predictive"]["evidence"].sizes["item"] == 3
    # three reports of -1.5 pull the level further down than one does
    assert float(third["posterior"]["level"].sel(indicator="signal").isel(month=month).mean()) < float(level.mean())


def test_pointwise_log_likelihood_equals_pymc_compute_log_likelihood():
    """The compiled graph function gives PyMC's own pointwise log-likelihood (both observed
    variables) to 1e-9, for the fitted data and, through set_data, for other data."""
    import pymc as pm
    import xarray as xr

    from forecast.inference.sampling import log_likelihood, sample_posterior
    from forecast.model.hazard import build_model
    from forecast.model.likelihood import design_data

    da, db = two_designs()
    post = sample_posterior(da, seed=3, **SMALL)["posterior"].to_dataset()
    for design in (da, db):  # db: the same draws scored against other data
        ours = log_likelihood(design, post)
        model = build_model(design)
        with model:
            pm.set_data({k: v for k, v in design_data(design).items() if k in model.named_vars})
            theirs = pm.compute_log_likelihood(xr.DataTree.from_dict({"posterior": post}), var_names=["evidence", "event_count"],
                                               extend_inferencedata=False, progressbar=False,
                                               compile_kwargs={"mode": "FAST_COMPILE"})  # PyMC's graph, without a numba compilation
        theirs = theirs["log_likelihood"].to_dataset() if hasattr(theirs, "children") else theirs
        for name in ("evidence", "event_count"):
            np.testing.assert_allclose(ours[name].values, theirs[name].values, rtol=0, atol=1e-9)
        assert float(ours["event_count"].sum()) < 0  # survival months carry information


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A throw-away project (copied from the replay tests' files), one recorded update, its row."""
    from forecast.runs.ledger import Ledger
    from forecast.runs.update import update
    from tests.test_replay import EVIDENCE, LIBRARY, SOURCE_TEXT, SPEC

    root = tmp_path_factory.mktemp("stored")
    (root / "models" / "sources").mkdir(parents=True)
    (root / "evidence").mkdir()
    (root / "models" / "sources" / "source.txt").write_text(SOURCE_TEXT)
    (root / "models" / "indicators.yaml").write_text(LIBRARY)
    (root / "models" / "replayed.yaml").write_text(SPEC)
    (root / "evidence" / "items.yaml").write_text(EVIDENCE)
    ledger = root / "runs" / "ledger.sqlite"
    outcome = update("replayed", as_of="2024-08-31", root=root, ledger_path=ledger, draws=300, tune=300, chains=2)
    return root, outcome, Ledger(ledger).get(outcome.run_id)


def test_a_stored_run_reloads_from_its_tree_after_the_files_changed(stored, tmp_path):
    """load_result rebuilds the FitResult from the NetCDF file alone: the same headline, intervals,
    curve, design and diagnostics after the spec and the evidence were edited on disk."""
    from forecast.inference.store import load_result

    root, outcome, row = stored
    original = outcome.result
    project = tmp_path / "project"
    shutil.copytree(root, project)
    row = {**row, "posterior_path": row["posterior_path"].replace(str(root), str(project))}
    spec = project / "models" / "replayed.yaml"
    spec.write_text(spec.read_text().replace("alpha: 2.0, beta: 20.0", "alpha: 9.0, beta: 20.0").replace("2025-06-30", "2025-03-31"))
    evidence = project / "evidence" / "items.yaml"
    evidence.write_text(evidence.read_text().replace("value: 3.0", "value: -2.0"))
    today = forecast.load("replayed", root=project)
    assert today.design(original.as_of).evidence_value.tolist() != original.design.evidence_value.tolist()

    loaded = load_result(row, today)
    pd.testing.assert_frame_equal(loaded.summary(), original.summary())
    pd.testing.assert_frame_equal(loaded.curve(), original.curve())
    assert loaded.headline_sentence() == original.headline_sentence() and loaded.headline == original.headline
    assert loaded.spec == original.spec and loaded.spec != today.spec
    assert loaded.design.to_dict() == original.design.to_dict()
    assert loaded.diagnostics.to_dict(table=True) == original.diagnostics.to_dict(table=True)
    assert (loaded.seed, loaded.n_paths, loaded.fingerprints, loaded.config) == (original.seed, original.n_paths, original.fingerprints, original.config)
    # a date between horizons is recomputed from the stored design, seed and paths; the paths are
    # stored on a grid (forecast.inference.store), so the draws agree to the precision stored
    np.testing.assert_allclose(loaded.p_by("2025-01-31"), original.p_by("2025-01-31"), rtol=0.05, atol=1e-3)
    assert loaded.p_by("2025-01-31").mean() == pytest.approx(original.p_by("2025-01-31").mean(), abs=1e-4)


def test_arviz_loo_runs_on_a_saved_and_reloaded_result(stored):
    """The saved tree has the model's pointwise log-likelihood: ArviZ's PSIS-LOO reads it."""
    import arviz_stats

    from forecast.inference.store import load_result

    _, outcome, row = stored
    loaded = load_result(row)
    assert set(loaded.idata["log_likelihood"].data_vars) == {"evidence", "event_count"}
    elpd = arviz_stats.loo(loaded.idata, var_name="evidence", pointwise=True)
    again = arviz_stats.loo(outcome.result.idata, var_name="evidence", pointwise=True)
    # the stored log-likelihood keeps 16 significant bits (forecast.inference.store)
    assert elpd.elpd == pytest.approx(again.elpd, rel=1e-4) and np.isfinite(elpd.elpd)
    assert list(elpd.pareto_k["item"].values) == list(outcome.result.design.evidence_ids)
    # LOO's elpd is below the in-sample log predictive density of the items (p_loo > 0)
    ll = loaded.idata["log_likelihood"]["evidence"]
    assert elpd.elpd < float(np.log(np.exp(ll).mean(("chain", "draw"))).sum())


def test_a_tree_without_the_provenance_attrs_is_refused_with_the_fix(stored, tmp_path):
    from forecast.inference.result import ATTR_DESIGN
    from forecast.inference.store import load_result, load_tree

    _, _, row = stored
    tree = load_tree(row["posterior_path"])
    del tree.attrs[ATTR_DESIGN]
    old = tmp_path / "old.nc"
    tree.to_netcdf(old, engine="netcdf4")
    with pytest.raises(ValueError, match=r"forecast_design.*run `forecast update` again"):
        load_result({**row, "posterior_path": str(old), "posterior_sha256": None})  # a file recorded without a checksum


def test_chain_processes_do_not_change_the_draws():
    """Chains in 2 processes give the draws of the same chains one after another in this process,
    bit for bit: PyMC seeds each chain the same way (what lets the suite and the Dask workers run
    chains in their own process)."""
    from forecast.inference.sampling import chain_processes, sample_posterior

    design, _ = two_designs()
    with chain_processes(2):
        apart = sample_posterior(design, seed=5, cores=2, **SMALL)
    together = sample_posterior(design, seed=5, cores=1, **SMALL)
    for name in ("level", "volatility", "effect_size", "baseline_probability"):
        np.testing.assert_array_equal(apart["posterior"][name].values, together["posterior"][name].values, err_msg=name)


def test_no_chain_limit_of_its_own_keeps_the_one_in_force():
    """``chain_processes(None)`` (an in-process task) keeps the caller's limit; a number replaces it."""
    from forecast.inference.sampling import _CHAIN_PROCESSES, chain_processes

    with chain_processes(1):
        with chain_processes(None):
            assert _CHAIN_PROCESSES.get() == 1
        with chain_processes(2):
            assert _CHAIN_PROCESSES.get() == 2
        assert _CHAIN_PROCESSES.get() == 1


@pytest.mark.parametrize("env, cores", [("1", 1), ("3", 2), ("", 2)])
def test_the_environment_sets_the_default_limit_of_chain_processes(monkeypatch, env, cores):
    """Outside a ``chain_processes`` block, ``$FORECAST_CHAIN_PROCESSES`` caps the processes
    ``pm.sample`` is asked for (a notebook kernel or a command started by a test, a busy host)."""
    import pymc as pm

    from forecast.inference import sampling

    asked = {}
    monkeypatch.setattr(pm, "sample", lambda **kw: asked.update(kw))
    monkeypatch.setenv(sampling.CHAIN_PROCESSES_ENV, env)
    token = sampling._CHAIN_PROCESSES.set(None)  # no block in force (the suite's own limit lifted)
    try:
        sampling.nuts(pm.Model(), draws=10, tune=10, chains=2, seed=1, target_accept=0.9, cores=2, trace=object())
    finally:
        sampling._CHAIN_PROCESSES.reset(token)
    assert asked["cores"] == cores


@pytest.mark.parametrize("env", ["0", "two", "-1", "+2", "1_0", "1.5", "\u0662", "17"])
def test_a_bad_chain_process_limit_in_the_environment_names_the_variable(monkeypatch, env):
    from forecast.inference import sampling

    monkeypatch.setenv(sampling.CHAIN_PROCESSES_ENV, env)
    import re

    with pytest.raises(ValueError, match=rf"\$FORECAST_CHAIN_PROCESSES must be a whole number from 1 to 16 .*, not {re.escape(repr(env))}"):
        sampling.env_chain_processes()


def random_posterior(design, chains: int, draws: int, seed: int, indicators=None) -> xr.Dataset:
    """Arbitrary draws of every free parameter of ``design``'s model (not a fit): the points at
    which a log density is compared with its closed form. ``indicators`` labels them (default the design's)."""
    rng = np.random.default_rng(seed)
    k, t = len(design.indicator_ids), design.n_months

    def draw(f, *shape):
        return f(size=(chains, draws, *shape))

    return xr.Dataset({"level_start": (("chain", "draw", "indicator"), draw(rng.normal, k)),
                       "volatility": (("chain", "draw", "indicator"), 0.05 + 0.45 * draw(rng.uniform, k)),
                       "effect_size": (("chain", "draw", "indicator"), 0.1 + 1.9 * draw(rng.uniform, k)),
                       "baseline_probability": (("chain", "draw"), 0.01 + 0.29 * draw(rng.uniform)),
                       "innovation": (("chain", "draw", "indicator", "step"), draw(rng.normal, k, t - 1))},
                      coords={"indicator": list(indicators or design.indicator_ids)})


def test_log_prior_is_the_elicited_densities_at_each_draw():
    """``log_prior`` (the sensitivity check's and the brief's one evaluation of the priors) gives
    the closed-form densities: Normal(0, 1) level start, HalfNormal(0.2) volatility, HalfNormal(1)
    effect size and Beta(2, 60) baseline, at arbitrary draws, labelled with the design's months."""

    from forecast.inference.sampling import log_prior

    design, _ = two_designs()
    post = random_posterior(design, 2, 5, seed=3)
    lp = log_prior(design, post, ["baseline_probability", "level_start", "volatility", "effect_size", "not-a-variable"])
    assert set(lp.data_vars) == {"baseline_probability", "level_start", "volatility", "effect_size"}
    np.testing.assert_allclose(lp["level_start"].values, stats.norm(0, 1).logpdf(post["level_start"].values), rtol=1e-10)
    np.testing.assert_allclose(lp["volatility"].values, stats.halfnorm(scale=0.2).logpdf(post["volatility"].values), rtol=1e-10)
    np.testing.assert_allclose(lp["effect_size"].values, stats.halfnorm(scale=1.0).logpdf(post["effect_size"].values), rtol=1e-10)
    np.testing.assert_allclose(lp["baseline_probability"].values, stats.beta(*BASELINE).logpdf(post["baseline_probability"].values), rtol=1e-10)
    assert list(lp["level_start"]["indicator"].values) == list(design.indicator_ids)


def test_log_prior_reads_indicators_by_label_and_refuses_what_it_cannot_evaluate():
    """Two indicators given in reverse order get each its own prior (by label, not position); a
    bare string, a Deterministic's name and a posterior without every free parameter are errors."""
    from forecast.inference.sampling import log_prior

    q = question(effects={"a": ("toward", 1.0), "b": ("against", 1.0)},
                 lib=library({"a": {"level": (0.0, 1.0), "volatility": 0.2}, "b": {"level": (2.0, 0.5), "volatility": 0.2}}),
                 items=[item("x", "a", "2021-03-01", value=0.5)])
    design = q.design(AS_OF)
    post = random_posterior(design, 1, 4, seed=4, indicators=["a", "b"])
    reversed_ = post.isel(indicator=[1, 0])
    lp = log_prior(design, reversed_, ["level_start"])["level_start"]
    np.testing.assert_allclose(lp.sel(indicator="b").values, stats.norm(2.0, 0.5).logpdf(post["level_start"].sel(indicator="b").values), rtol=1e-10)
    np.testing.assert_allclose(lp.sel(indicator="a").values, stats.norm(0.0, 1.0).logpdf(post["level_start"].sel(indicator="a").values), rtol=1e-10)
    with pytest.raises(ValueError, match="sequence of names"):
        log_prior(design, post, "volatility")
    with pytest.raises(ValueError, match="level_now: not a free parameter"):
        log_prior(design, post, ["level_now"])
    with pytest.raises(ValueError, match="lacks the free parameter.*innovation"):
        log_prior(design, post.drop_vars("innovation"), ["volatility"])
    with pytest.raises(ValueError, match="are not the design's"):
        log_prior(design, post.assign_coords(indicator=["a", "c"]), ["volatility"])


def test_the_cli_refuses_a_bad_chain_process_limit_before_loading_anything(monkeypatch):
    from typer.testing import CliRunner

    from forecast.cli import app

    monkeypatch.setenv("FORECAST_CHAIN_PROCESSES", "two")
    res = CliRunner().invoke(app, ["update", "no-such-question"])
    assert res.exit_code == 2, res.output
    assert "$FORECAST_CHAIN_PROCESSES must be a whole number from 1 to 16" in res.output and "not 'two'" in res.output
    assert "no-such-question" not in res.output  # refused before the question was looked up
    # help, and commands that never sample, do not read it
    assert CliRunner().invoke(app, ["update", "--help"]).exit_code == 0
    from .conftest import ROOT

    res = CliRunner().invoke(app, ["validate", "--root", str(ROOT)])
    assert res.exit_code == 0, res.output


def _mixed_library(names):
    """Two indicators whose volatility priors have different families (HalfNormal, Gamma)."""
    from forecast.inputs.spec import IndicatorLibrary

    from .conftest import SOURCE

    families = [{"dist": "halfnormal", "params": {"sigma": 0.2}, "source": SOURCE},
                {"dist": "gamma", "params": {"alpha": 2.0, "beta": 10.0}, "source": SOURCE}]
    return IndicatorLibrary.model_validate({"reference_date": "2020-01-01", "source": "none.txt", "source_title": "test", "indicators": [
        {"id": n, "name": n, "description": n, "scale": "standardized",
         "level": {"dist": "normal", "params": {"mu": 0.0, "sigma": 1.0}, "source": SOURCE}, "volatility": f}
        for n, f in zip(names, families)]})


def test_priors_of_mixed_families_name_their_variables_so_labels_are_structure_and_log_prior_stacks_them():
    """Mixed families make one variable per indicator, named after it (``volatility[a]``): two
    questions that differ only in the labels are two compiled models (else one question's fit
    would carry the other's names), and ``log_prior`` returns ``volatility`` stacked by indicator
    (the sensitivity check and the brief ask for it by that name)."""
    from forecast.inference.sampling import log_prior, structure_key

    def mixed(a, b):
        return question({a: ("toward", 0.5), b: ("toward", 0.5)}, lib=_mixed_library([a, b]), items=[item("x", a, "2021-06-01", value=1.0)])

    d1, d2, d3 = mixed("a", "b").design(AS_OF), mixed("c", "d").design(AS_OF), mixed("a", "b").design(AS_OF)
    assert structure_key(d1) != structure_key(d2) and structure_key(d1) == structure_key(d3)
    post = random_posterior(d2, 1, 4, seed=5)
    vol = post["volatility"].values
    post = post.assign({"volatility[c]": (("chain", "draw"), vol[..., 0]), "volatility[d]": (("chain", "draw"), vol[..., 1])})
    lp = log_prior(d2, post, ["volatility", "level_start"])
    assert list(lp.data_vars) == ["volatility", "level_start"] and list(lp["volatility"]["indicator"].values) == ["c", "d"]
    np.testing.assert_allclose(lp["volatility"].sel(indicator="c").values, stats.halfnorm(scale=0.2).logpdf(vol[..., 0]), rtol=1e-10)
    np.testing.assert_allclose(lp["volatility"].sel(indicator="d").values, stats.gamma(2.0, scale=1 / 10.0).logpdf(vol[..., 1]), rtol=1e-10)

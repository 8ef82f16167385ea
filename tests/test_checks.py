"""Model checks (``forecast check``): each test asserts a number or behaviour a broken check gets wrong.

Two small model structures keep the compile cost down (the checks swap data into one compiled model):

* ``base``: no indicators, the monthly baseline probability is the only parameter. Closed forms exist
  (a Beta prior and months of survival), and SBC fits take a fraction of a second.
* ``two``: a strongly and a barely influential indicator with five evidence items; variants differ
  only in values and grades, so they share one compilation.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

from tests.conftest import item, library, question

AS_OF = "2020-12-31"  # 11 + 30/31 months after the risk window opens on 2020-01-01
BASE_PRIOR = (1.0, 6.0)  # Beta(1, 6) per month: wide, so survival and SBC have something to learn


def base_question(baseline=BASE_PRIOR, horizons=("2021-06-30", "2021-12-31")):
    return question(baseline=baseline, risk_window_start="2020-01-01", horizons=horizons)


def beta_survival(a: float, b: float, months: float) -> float:
    """E[(1 - p)^months] for p ~ Beta(a, b): P(no event in ``months``) under the prior (cloglog: exact)."""
    from scipy.special import betaln

    return float(np.exp(betaln(a, b + months) - betaln(a, b)))


TWO_LIB = library({"strong": {"level": (0.0, 1.0), "volatility": 0.1}, "weak": {"level": (0.0, 1.0), "volatility": 0.1}})


def two_indicator_question(grade="A1", outlier=False):
    """Indicator ``strong`` (effect ~ HalfNormal(2)) and ``weak`` (HalfNormal(0.05)), five items."""
    items = [
        item("s1", "strong", "2020-01-15", grade=grade, value=0.5),
        item("s2", "strong", "2020-01-20", grade=grade, value=4.0 if outlier else 0.6, quote="strong indicator far above anything else reported"),
        item("s3", "strong", "2020-06-10", grade=grade, value=0.4),
        item("w1", "weak", "2020-01-15", grade=grade, value=0.0),
        item("w2", "weak", "2020-06-10", grade=grade, value=-0.2),
    ]
    return question(effects={"strong": ("toward", 2.0), "weak": ("toward", 0.05)}, baseline=(1.0, 30.0), lib=TWO_LIB,
                    risk_window_start="2020-01-01", horizons=("2021-06-30", "2021-12-31"), items=items)


def context(q, tmp=None, seed=3, **kw):
    from forecast.checks.context import QUICK, CheckContext

    # smaller shared fits than --quick: enough for power-scaling and LOO on a 30-parameter model
    sizes = dataclasses.replace(QUICK, fit_draws=250, fit_tune=250, **kw)
    return CheckContext(q, as_of=AS_OF, seed=seed, out=tmp, sizes=sizes)


# -- simulation-based calibration ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sbc_store(tmp_path_factory):
    return tmp_path_factory.mktemp("sbc")


@pytest.fixture(scope="module")
def sbc_pass(sbc_store):
    from forecast.checks import sbc

    return sbc.run(context(base_question(), sbc_store), sims=20)


def test_sbc_passes_on_a_well_specified_fit(sbc_pass, sbc_store):
    r = sbc_pass
    assert r.status == "pass", r.text
    assert list(r.table["quantity"]) == ["baseline_probability", "headline"]
    assert (r.table["p_value"] > 0.01 / 2).all()
    assert r.tables["pit"].shape == (20, 2) and r.tables["pit"].to_numpy().min() > 0 and r.tables["pit"].to_numpy().max() < 1
    stored = [json.loads(line) for line in next(sbc_store.glob("sbc-*.jsonl")).read_text().splitlines()]
    assert sorted(rec["index"] for rec in stored if "index" in rec) == list(range(20))
    assert "sbc_ecdf" in r.figures


def test_sbc_resumes_from_its_store_and_adds_only_new_simulations(sbc_pass, sbc_store):
    from forecast.checks import sbc

    calls = []
    ctx = context(base_question(), sbc_store)
    ctx._progress = lambda check, done, total, message: calls.append(done)
    again = sbc.run(ctx, sims=22)
    assert calls[0] == 20 and calls[-1] == 22 and len(calls) == 3  # 20 read back, 2 fitted
    np.testing.assert_array_equal(again.tables["pit"].iloc[:20].to_numpy(), sbc_pass.tables["pit"].to_numpy())


def test_sbc_fails_when_the_fit_uses_other_priors_than_the_simulation(sbc_store):
    from forecast.checks import sbc

    # the truth comes from Beta(8, 6) per month (mean 57%), the fit keeps Beta(1, 6) (mean 14%)
    r = sbc.run(context(base_question(), sbc_store), simulate_from=base_question(baseline=(8.0, 6.0)), sims=8)
    assert r.status == "fail"
    assert "baseline_probability" in r.metrics["failed"]
    assert r.table.set_index("quantity").loc["baseline_probability", "p_value"] < 1e-6
    assert "underestimates" in r.text


def test_sbc_refuses_to_simulate_from_a_question_of_another_structure():
    from forecast.checks import sbc

    with pytest.raises(ValueError, match="structure"):
        sbc.run(context(base_question()), simulate_from=two_indicator_question(), sims=2)


# -- the resumable store -------------------------------------------------------------------------------


class SquarePlan:
    """A plan without PyMC: counts how often it was prepared; index 13 fails."""

    prepared = 0

    def prepare(self):
        SquarePlan.prepared += 1

    def run(self, index):
        if index == 13:
            raise ValueError("simulation 13 drew an impossible world")
        return {"square": index * index, "pid": os.getpid()}


def test_plan_runs_once_prepared_and_the_store_resumes(tmp_path):
    from forecast.checks.parallel import JsonlStore, SimulationError, run_plan

    path = tmp_path / "sims.jsonl"
    SquarePlan.prepared = 0
    records = run_plan(SquarePlan(), range(6), JsonlStore(path, header={"what": "test"}))
    assert [records[i]["square"] for i in range(6)] == [i * i for i in range(6)]
    assert SquarePlan.prepared == 1  # once per run in a process, not once per simulation
    with path.open("a") as fh:
        fh.write('{"index": 6, "squ')  # a write cut short by a kill
    store = JsonlStore(path)
    assert sorted(store.records) == list(range(6))
    seen = []
    run_plan(SquarePlan(), range(8), store, progress=lambda done, total: seen.append(done))
    assert seen == [6, 7, 8]
    assert sorted(JsonlStore(path).records) == list(range(8))
    # a failing simulation is named with its own message; every other one is stored for the rerun
    with pytest.raises(SimulationError, match=r"1 of 16 simulations failed; simulation 13: ValueError: simulation 13 drew an impossible world; the 15 others are stored"):
        run_plan(SquarePlan(), range(16), store)
    assert sorted(JsonlStore(path).records) == [i for i in range(16) if i != 13]


# -- prior predictive ---------------------------------------------------------------------------------


def test_prior_predictive_matches_the_beta_closed_forms():
    import forecast
    from forecast.core.timegrid import month_coordinate

    a, b = BASE_PRIOR
    q = base_question()
    (r,) = forecast.check(q, only="prior_predictive", as_of=AS_OF, quick=True, seed=5)
    start = q.library.reference_date
    u_as_of = month_coordinate(start, q.design(AS_OF).as_of)
    assert r.metrics["p_event_before_as_of"] == pytest.approx(1 - beta_survival(a, b, u_as_of), abs=0.04)
    head = r.table.set_index("horizon").loc["2021-06-30"]
    months_ahead = month_coordinate(start, q.spec.horizons[0]) - u_as_of
    assert head["mean"] == pytest.approx(1 - beta_survival(a, b, months_ahead), abs=0.04)
    assert r.status == "pass"


def test_prior_predictive_warns_on_mass_at_zero_and_lists_unexpected_items():
    from forecast.checks import prior_predictive
    from forecast.checks.context import CheckContext

    lib = library({"signal": {"level": (0.0, 0.3), "volatility": 0.05}})
    q = question(effects={"signal": ("toward", 0.5)}, baseline=(0.05, 200.0), lib=lib, risk_window_start="2020-01-01",
                 horizons=("2021-12-31",), items=[item("calm", "signal", "2020-03-01", value=0.1),
                                                   item("shock", "signal", "2020-05-01", value=4.5, quote="a level nobody expected")])
    r = prior_predictive.run(CheckContext(q, as_of=AS_OF, quick=True, seed=2))
    assert r.status == "warn"
    assert r.table.iloc[0]["share_at_0"] > 0.5
    items = r.tables["items"].set_index("id")
    assert items.loc["shock", "surprising"] and not items.loc["calm", "surprising"]
    assert "a level nobody expected" in r.text


# -- sensitivity, posterior predictive, value of information (one compiled two-indicator model) --------


@pytest.fixture(scope="module")
def informative():
    # The A1 items each pin a latent level, so their LOO Pareto k sits near 0.5-0.7 and a few seeds in
    # ten put one just above the 0.7 warning line (with either the sampler's initialisation before
    # or after the compiled-model cache moved to PyMC's frozen models). The check's verdict on a
    # well-specified question is what is tested here, on a seed whose draws are typical.
    return context(two_indicator_question("A1"), seed=1)


def test_power_scaling_flags_a_prior_dominated_level_and_not_a_data_dominated_one(informative):
    from forecast.checks import sensitivity

    data = sensitivity.run(informative).table.set_index("quantity")
    vague = sensitivity.run(context(two_indicator_question("F6"))).table.set_index("quantity")  # grade F6: SD 10
    assert data.loc["level_start[strong]", "diagnosis"] == ""
    assert data.loc["level_start[strong]", "likelihood_sensitivity"] > 0.05
    assert vague.loc["level_start[strong]", "diagnosis"] == "prior-dominated"
    assert vague.loc["level_start[strong]", "likelihood_sensitivity"] < 0.05 < vague.loc["level_start[strong]", "prior_sensitivity"]
    assert list(data.index[data["headline"]]) == ["p_event_by[2021-06-30]"]  # the headline is diagnosed too


def test_posterior_predictive_lists_the_contradicting_item_with_its_quote(informative):
    from forecast.checks import posterior_predictive

    ok = posterior_predictive.run(informative)
    assert ok.status == "pass", ok.text
    bad = posterior_predictive.run(context(two_indicator_question(outlier=True)))
    assert bad.status == "fail"
    assert bad.table.set_index("id").loc["s2", "status"] == "fail"
    assert bad.table.set_index("id").loc["w1", "status"] == "pass"  # the other indicator is untouched
    assert "strong indicator far above anything else reported" in bad.text
    assert bad.metrics["flagged"][0] == "s2"


def test_value_of_information_ranks_the_influential_indicator_first(informative):
    from forecast.checks import value_of_information

    r = value_of_information.run(informative)
    assert list(r.table["indicator"]) == ["strong", "weak"]
    strong, weak = r.table["expected_abs_change"]
    assert strong > 2 * weak > 0
    assert r.text.startswith("Watching for strong would move the forecast most")
    # the per-draw headlines given next month average to the fitted forecast
    fitted = float(informative.posterior()["posterior"]["p_event_by"].sel(horizon="2021-06-30").mean())
    assert r.metrics["headline_now"] == pytest.approx(fitted, abs=0.01)


# -- scoring ------------------------------------------------------------------------------------------


def test_scores_order_oracle_climatology_and_an_overconfident_forecaster():
    from scipy.special import expit, logit

    from forecast.checks import scoring
    from forecast.model.simulate import draw_parameters, simulate_event_time, window_probability

    q = base_question(baseline=(1.0, 30.0))
    d = q.design("2023-12-31")
    origins = scoring.forecast_origins(q, d, every=6, lead=12)
    rng = np.random.default_rng(11)
    truth = draw_parameters(d, 3000, rng)
    event_u = simulate_event_time(d, truth, rng)
    y = np.array([scoring.outcomes(u, origins, 12) for u in event_u])
    oracle = np.stack([window_probability(truth.log_rate, d.n_months, o.u, o.u + 12) for o in origins], axis=1)
    clim = np.broadcast_to(scoring.climatology(d, scoring.prior_sample(d, 4000, 1), origins, 12), y.shape)
    sharp = expit(4 * logit(clim))  # the same forecasts pushed towards 0 and 1
    t = scoring.score_table({"oracle": oracle, "climatology": clim, "overconfident": sharp}, y).set_index("forecaster")
    for score in ("brier", "log_score"):
        assert t.loc["oracle", score] < t.loc["climatology", score] < t.loc["overconfident", score]
    assert t.loc["oracle", "brier_diff"] < -3 * t.loc["oracle", "brier_diff_se"]
    assert t.loc["overconfident", "brier_skill"] < 0 < t.loc["oracle", "brier_skill"]


def test_scoring_check_climatology_is_the_closed_form_and_the_model_equals_it_without_evidence():
    from forecast.checks import scoring
    from forecast.checks.context import CheckContext

    a, b = 1.0, 30.0
    q = base_question(baseline=(a, b), horizons=("2024-06-30",))
    ctx = CheckContext(q, as_of="2023-12-31", quick=True, seed=4)
    d = ctx.design
    origins = scoring.forecast_origins(q, d, ctx.sizes.score_every, ctx.sizes.score_lead)
    clim = scoring.climatology(d, scoring.prior_sample(d, 4000, 4), origins, 12)
    exact = [1 - beta_survival(a, b + o.u, 12) for o in origins]
    np.testing.assert_allclose(clim, exact, atol=0.015)

    r = scoring.run(ctx, sims=30)
    t = r.table.set_index("forecaster")
    # no indicators: the evidence adds nothing, the model's posterior is the survival-weighted prior
    assert abs(t.loc["model", "brier_skill"]) < 0.005 and r.status == "pass"
    assert t.loc["oracle", "brier"] < t.loc["climatology", "brier"]
    assert set(r.tables["forecasts"]["method"]) == {"prior-is"}
    assert r.metrics["lead_months"] == 12 and r.metrics["forecasts"] == len(r.tables["forecasts"]) > 0
    corp = r.metrics["corp"]
    assert corp["brier"] == pytest.approx(corp["miscalibration"] - corp["discrimination"] + corp["uncertainty"])


# -- command line ---------------------------------------------------------------------------------------


def test_cli_exits_7_when_a_check_fails_and_0_on_warnings(monkeypatch):
    import pandas as pd
    from typer.testing import CliRunner

    import forecast.checks
    from forecast.checks.base import CheckResult
    from forecast.cli import app

    outcome = {"status": "fail"}

    def fake_check(question, **kw):
        return [CheckResult("prior-predictive", "warn", pd.DataFrame({"x": [1]}), "priors wide"),
                CheckResult("sbc", outcome["status"], pd.DataFrame({"quantity": ["baseline_probability"], "p_value": [1e-9]}), "ranks not uniform")]

    monkeypatch.setattr(forecast.checks, "check", fake_check)
    runner = CliRunner()
    res = runner.invoke(app, ["check", "belarus-entry", "--json"])
    assert res.exit_code == 7
    payload = json.loads(res.stdout)
    assert payload["status"] == "fail" and [c["status"] for c in payload["checks"]] == ["warn", "fail"]
    outcome["status"] = "pass"
    assert runner.invoke(app, ["check", "belarus-entry"]).exit_code == 0
    assert runner.invoke(app, ["check", "belarus-entry", "--only", "sbcc"]).exit_code == 2


def test_cli_runs_a_check_on_the_shipped_question_and_saves_its_figures(tmp_path):
    from typer.testing import CliRunner

    from forecast.cli import app

    res = CliRunner().invoke(app, ["check", "belarus-entry", "--only", "prior-predictive", "--quick", "--as-of", "2024-09-30",
                                   "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    (result,) = json.loads(res.stdout)["checks"]
    assert result["name"] == "prior-predictive" and result["status"] in ("pass", "warn")
    assert {p.name for p in tmp_path.glob("*.png")} == {"prior-predictive-prior_p_event_by.png", "prior-predictive-prior_evidence.png"}
    import pandas as pd

    # the whole table beside the figures, as the JSON gives it
    table = pd.read_csv(tmp_path / "prior-predictive.csv")
    assert result["metrics"]["table_file"] == str(tmp_path / "prior-predictive.csv")
    assert len(table) == len(result["table"]) > 0 and list(table.columns) == list(result["table"][0])
    assert not list(tmp_path.glob("*.tmp*"))
    text = CliRunner().invoke(app, ["check", "belarus-entry", "--only", "prior-predictive", "--quick", "--as-of", "2024-09-30",
                                    "--out", str(tmp_path)], terminal_width=250)
    assert text.exit_code == 0 and f"tables: prior-predictive.csv in {tmp_path}" in " ".join(text.stdout.split()), text.stdout


def test_sbc_passes_on_the_shipped_question(tmp_path):
    """SBC of belarus-entry itself: simulated worlds from its priors, fitted by its model (quick sizes)."""
    import forecast

    (r,) = forecast.check("belarus-entry", only="sbc", quick=True, sims=12, as_of="2024-09-30", out=tmp_path)
    assert r.status == "pass", r.text
    quantities = set(r.table["quantity"])
    assert {"baseline_probability", "headline"} <= quantities and len(quantities) > 10
    assert len(list(tmp_path.glob("sbc-*.jsonl"))) == 1  # stored as they came


def test_saved_check_artefacts_are_whole_files_and_no_earlier_table_is_left(tmp_path):
    """A figure whose file cannot be written leaves no temp file and names the file asked for; a
    check whose table is empty this time removes the table an earlier run saved."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from forecast.checks import save_figures, save_table
    from forecast.checks.base import CheckResult

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    (tmp_path / "sbc-ranks.png").mkdir()  # a folder where the figure's file should go
    result = CheckResult("sbc", "pass", pd.DataFrame({"quantity": ["a"], "p_value": [0.5]}), "ok", figures={"ranks": fig})
    with pytest.raises(IsADirectoryError, match="sbc-ranks.png"):
        save_figures(result, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sbc-ranks.png"]  # the folder only: no temp file
    assert save_table(result, tmp_path) == tmp_path / "sbc.csv" and pd.read_csv(tmp_path / "sbc.csv")["p_value"].tolist() == [0.5]
    empty = CheckResult("sbc", "pass", pd.DataFrame(), "nothing to check")
    assert save_table(empty, tmp_path) is None and not (tmp_path / "sbc.csv").exists()
    plt.close(fig)

"""What-if scenarios (pm.do on the as-of level): direction, closed form, spec validation."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from forecast.analysis.scenarios import COLUMNS, intervened_log_rate, scenario_curves, scenario_probabilities
from forecast.inputs.project import Project

from .conftest import ROOT
from .test_influence import small_fit


def scenario(id, **levels):
    return {"id": id, "name": id.replace("-", " "), "description": f"Test scenario {id}.", "set": levels}


@pytest.fixture(scope="module")
def fitted():
    return small_fit()


@pytest.fixture
def project_copy(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(ROOT / "models", root / "models")
    shutil.copytree(ROOT / "evidence", root / "evidence")
    return root


@pytest.fixture(scope="module")
def curves(fitted):
    q, result = fitted
    return scenario_curves(result, q, [scenario("push-low", push=-1.0), scenario("brake-low", brake=-1.0), scenario("all-held", push=0.5, brake=0.2)])


def headline_mean(curves, sid) -> float:
    row = curves[(curves["scenario"] == sid) & curves["headline"]]
    assert len(row) == 1
    return float(row["mean"].iloc[0])


def test_no_intervention_reproduces_the_fitted_curve(fitted):
    """pm.do with nothing held, recomputed from the free parameters, gives the fitted curve exactly."""
    _, result = fitted
    labels, p = scenario_probabilities(result, {})
    fitted_curve = result.idata["posterior"]["p_event_curve"]
    assert labels == list(fitted_curve["forecast_month"].values)
    np.testing.assert_allclose(p, fitted_curve.values, rtol=0, atol=1e-12)


def test_scenarios_computed_together_are_each_scenario_computed_alone(fitted, curves):
    """The curves share their future paths, generated once for all scenarios: each scenario's
    numbers are those of scenario_probabilities on it alone, bit for bit."""
    _, result = fitted
    resolved_alone = {"push-low": {0: -1.0}, "all-held": {0: 0.5, 1: 0.2}}
    assert list(result.design.indicator_ids) == ["push", "brake"]
    for sid, held in resolved_alone.items():
        labels, p = scenario_probabilities(result, held)
        flat = p.reshape(-1, p.shape[-1])
        rows = curves[curves["scenario"] == sid]
        assert list(rows["date"]) == list(pd.to_datetime(labels))
        np.testing.assert_array_equal(rows["mean"].to_numpy(), flat.mean(axis=0))
        np.testing.assert_array_equal(rows["upper_90"].to_numpy(), np.quantile(flat, 0.95, axis=0))


def test_scenarios_move_the_headline_the_way_the_indicator_pushes(fitted, curves):
    """Holding a push-toward indicator low lowers the curve; a push-against one low raises it."""
    _, result = fitted
    assert list(curves.columns) == COLUMNS
    base = curves[curves["scenario"] == "baseline"].reset_index(drop=True)
    expected = result.curve()
    pd.testing.assert_series_equal(base["mean"], expected["mean"], check_names=False)
    assert (base["date"] == expected["date"]).all()
    assert headline_mean(curves, "baseline") == pytest.approx(float(result.p_by(result.headline).mean()), abs=1e-12)
    x_now = result.idata["posterior"]["level_now"].mean(("chain", "draw"))
    assert float(x_now.sel(indicator="push")) > -0.5 and float(x_now.sel(indicator="brake")) > -0.5  # -1 is a real drop
    for sid, sign in (("push-low", -1), ("brake-low", +1)):
        rows = curves[curves["scenario"] == sid].reset_index(drop=True)
        assert len(rows) == len(base) and (rows["date"] == base["date"]).all()
        assert rows["name"].iloc[0] == sid.replace("-", " ") and rows["description"].iloc[0] == f"Test scenario {sid}."
        assert np.all(sign * (rows["mean"] - base["mean"]) > 0), sid  # at every date, not only the headline
    assert headline_mean(curves, "push-low") < 0.7 * headline_mean(curves, "baseline") < headline_mean(curves, "brake-low")


def test_holding_every_indicator_matches_the_closed_form(fitted, curves):
    """Both indicators held: the hazard is multiplied by exp(b_k (v_k - x_k)) per draw, and with
    nothing left moving P(u) = 1 - exp(-(u - u_as_of) * rate) exactly."""
    _, result = fitted
    post = result.idata["posterior"]
    held = {"push": 0.5, "brake": 0.2}
    effect = post["effect"].values  # (chain, draw, indicator), signed
    level_now = post["level"].values[..., -1]
    index = [list(result.design.indicator_ids).index(k) for k in held]
    shift = sum(effect[..., k] * (v - level_now[..., k]) for k, v in zip(index, held.values()))
    log_rate = post["log_rate"].values[..., -1] + shift
    np.testing.assert_allclose(intervened_log_rate(result, dict(zip(index, held.values()))), log_rate, rtol=1e-12, atol=1e-12)

    rows = curves[curves["scenario"] == "all-held"].reset_index(drop=True)
    for _, row in rows.iterrows():
        exposure = result.design.u(row["date"].date()) - result.design.u_as_of
        p = 1.0 - np.exp(-exposure * np.exp(log_rate))
        assert row["mean"] == pytest.approx(p.mean(), rel=1e-9)
        assert row["upper_90"] == pytest.approx(np.quantile(p, 0.95), rel=1e-9)


def test_unknown_indicator_in_a_scenario(fitted, project_copy):
    """`forecast validate` names the file, line and field and suggests the nearest indicator; using
    such a scenario is a clear error before anything is computed."""
    path = project_copy / "models" / "belarus-entry.yaml"
    text = path.read_text()
    if "\nscenarios:" in text:  # replace the shipped scenarios with one bad one
        text = text[: text.index("\nscenarios:")] + "\n"
    path.write_text(text + "scenarios:\n  - id: bad\n    name: Bad\n    description: A typo.\n    set:\n      unrest-risks: -1.0\n")
    line = len(text.splitlines()) + 6
    problems = [p for p in Project(project_copy).validate() if p.severity == "error"]
    found = [p for p in problems if "unrest-risks" in p.message]
    assert len(found) == 1, [str(p) for p in problems]
    e = found[0]
    assert e.file == str(path) and e.line == line and e.field == "scenarios.0.set.unrest-risks" and e.suggestion == "unrest-risk"
    assert "did you mean 'unrest-risk'" in str(e)

    q, result = fitted
    with pytest.raises(ValueError, match=r"set\.pusj.*did you mean 'push'"):
        scenario_curves(result, q, [scenario("typo", pusj=1.0)])


def test_shipped_scenarios_are_declared_with_a_sentence(belarus):
    assert len(belarus.spec.scenarios) >= 3
    for s in belarus.spec.scenarios:
        assert s.description.strip().endswith(".") and set(s.set) <= set(belarus.spec.indicators)

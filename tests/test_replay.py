"""Replay: as-of semantics at every point, PSIS-reweighted points agree with cold fits, stored points are reused.

A tiny project (one indicator, two evidence items) replayed at seven month ends. The second item is
a strong A1 observation published in June: before June no point may see it, and the importance
weights of the earlier anchor cannot absorb it, so June must be a fresh NUTS fit.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import forecast
from forecast.runs.replay import replay

SOURCE_TEXT = "The border stayed quiet all year. Officials said the pressure was rising.\n"
QUIET = {"quote": "The border stayed quiet all year.", "reasoning": "test"}
RISING = {"quote": "Officials said the pressure was rising.", "reasoning": "test"}

LIBRARY = f"""\
reference_date: 2024-01-01
source: sources/source.txt
source_title: Test source
indicators:
  - id: pressure
    name: Pressure
    description: Pressure to act.
    scale: "0 = as described; +1 = clearly higher"
    level: {{dist: normal, params: {{mu: 0.0, sigma: 1.0}}, source: {RISING}}}
    volatility: {{dist: gamma, params: {{alpha: 4.0, beta: 20.0}}, source: {QUIET}}}
"""

SPEC = f"""\
id: replayed
question: Will the replayed event happen?
event: the replayed event happens
resolution_criteria: test
risk_window_start: 2024-01-01
horizons: [2025-06-30, 2025-12-31]
headline_lead_months: 6
baseline:
  per: year
  probability: {{dist: beta, params: {{alpha: 2.0, beta: 20.0}}, source: {QUIET}}}
indicators:
  pressure:
    direction: toward
    size: {{dist: gamma, params: {{alpha: 4.0, beta: 4.0}}, source: {RISING}}}
sampler: {{future_paths: 50}}
"""

EVIDENCE = """\
items:
  - {id: pressure-early, event_date: 2024-02-10, published: 2024-03-05, indicator: pressure, value: 0.3, source: test, grade: C3, quote: q}
  - {id: pressure-spike, event_date: 2024-05-15, published: 2024-06-20, indicator: pressure, value: 3.0, source: test, grade: A1, quote: q}
"""

SAMPLER = dict(draws=600, tune=400)  # 4 chains: headline MCSE under the 0.005 threshold with room (at 500 draws a point came to 0.0052)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("replay-project")
    (root / "models" / "sources").mkdir(parents=True)
    (root / "evidence").mkdir()
    (root / "models" / "sources" / "source.txt").write_text(SOURCE_TEXT)
    (root / "models" / "indicators.yaml").write_text(LIBRARY)
    (root / "models" / "replayed.yaml").write_text(SPEC)
    (root / "evidence" / "items.yaml").write_text(EVIDENCE)
    return root


@pytest.fixture(scope="module")
def replayed(project):
    ledger = project / "runs" / "ledger.sqlite"
    df = replay("replayed", "2024-02", "2024-08", root=project, ledger_path=ledger, seed=3, **SAMPLER)
    return df.set_index("as_of"), ledger


def rows(ledger):
    with sqlite3.connect(ledger) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("select * from runs order by id")]


def test_points_before_publication_do_not_see_the_item(replayed):
    df, ledger = replayed
    import json

    seen = {r["as_of"]: set(json.loads(r["evidence_items"])) for r in rows(ledger)}
    assert seen["2024-02-29"] == set()  # pressure-early is published on 2024-03-05
    assert seen["2024-05-31"] == {"pressure-early"}
    assert seen["2024-06-30"] == {"pressure-early", "pressure-spike"}
    # the strong item arrives in June: the earlier anchor's weights cannot absorb it
    methods = df["method"].to_dict()
    import datetime as dt

    assert methods[dt.date(2024, 6, 30)] == "nuts", df[["method", "why"]]
    assert (df["method"] == "reweighted").sum() >= 3, df[["method", "why"]]
    # the spike (value 3 on a push-toward indicator) raises the headline, and the rolling headline
    assert df.loc[dt.date(2024, 6, 30), "headline_mean"] > df.loc[dt.date(2024, 5, 31), "headline_mean"] + 0.02
    assert df.loc[dt.date(2024, 6, 30), "rolling_mean"] > df.loc[dt.date(2024, 5, 31), "rolling_mean"] + 0.02


def test_every_point_is_a_clean_fit_with_a_rolling_headline(replayed):
    """Anchors on 4 chains, diagnosed on the point's own months: every point passes the update's thresholds."""
    df, ledger = replayed
    assert df["diagnostics_passed"].all(), df[["method", "why", "diagnostics_passed"]]
    stored = {r["as_of"]: r for r in rows(ledger) if r["kind"] == "replay"}
    for as_of, point in df.iterrows():
        r = stored[as_of.isoformat()]
        # P(within 6 months): the window ends 6 months after each point's own as-of date
        assert (point["rolling_months"], r["rolling_until"]) == (6, (as_of.replace(day=1) + pd.DateOffset(months=7) - pd.Timedelta(days=1)).date().isoformat())
        assert r["rolling_lower_90"] < point["rolling_mean"] < r["rolling_upper_90"] and point["rolling_mcse"] < 0.005
        if point["method"] == "reweighted":  # the importance-sampling MCSE, not the resampled draws'
            assert point["rolling_mcse"] == json.loads(r["diagnostics"])["importance"]["rolling_mcse"]


def test_anchor_diagnostics_cover_the_points_months_only(project):
    """The random-walk steps after a point's as-of date (there only because every point shares the
    last point's grid) are not diagnosed; the point's own steps are."""
    from forecast.inference.diagnostics import check_sampling
    from forecast.inference.sampling import sample_posterior
    from forecast.model.design import make_design
    from forecast.model.likelihood import padded_data
    from forecast.model.prediction import add_forecast
    from forecast.runs.replay import point_view

    q = forecast.load("replayed", root=project)
    full = make_design(q.spec, q.library, q.evidence, dt.date(2024, 8, 31))
    point = make_design(q.spec, q.library, q.evidence, dt.date(2024, 4, 30))
    idata = sample_posterior(full, data=padded_data(point, full), draws=500, tune=400, chains=4, seed=7, target_accept=0.95, cores=2)
    add_forecast(idata, point, q.spec.horizons, 50, 7, lead_months=6)
    thresholds = q.spec.thresholds
    assert check_sampling(point_view(idata, point), 0, thresholds).passed

    def shifted(step: int):
        """The fit with one chain's draws of one random-walk step moved by 3 SD (r_hat far above 1.01)."""
        tree = idata.copy(deep=True)
        post = tree["posterior"].to_dataset()
        post["innovation"][0, :, 0, step] += 3.0
        tree["posterior"] = xr.DataTree(post)
        return tree

    after = full.n_months - 2  # the last step: after the point's as-of date
    assert point.n_months - 1 <= after
    assert not check_sampling(shifted(after), 0, thresholds).passed  # diagnosed on the whole grid, it would flag the point
    assert check_sampling(point_view(shifted(after), point), 0, thresholds).passed
    within = point.n_months - 2  # the step into the point's as-of month
    flagged = check_sampling(point_view(shifted(within), point), 0, thresholds)
    assert not flagged.passed and any("innovation" in problem for problem in flagged.problems)


def test_reweighted_points_match_cold_fits(project, replayed):
    df, _ = replayed
    q = forecast.load("replayed", root=project)
    checked = 0
    for as_of, row in df[df["method"] == "reweighted"].iloc[[0, -1]].iterrows():
        cold = q.fit(as_of=as_of, seed=11, draws=1000, tune=500, chains=2)
        table = cold.summary().set_index("horizon")
        mean, mcse = float(table.loc[cold.headline, "mean"]), float(table.loc[cold.headline, "mcse"])
        assert str(cold.headline) == row["headline_horizon"]
        # MCSE of both estimates (the replay point's from its importance weights) and 0.01 of slack
        tol = 4 * np.hypot(mcse, 0.005) + 0.01
        assert abs(mean - row["headline_mean"]) < tol, (as_of, mean, row["headline_mean"], tol)
        rolling = cold.rolling()
        tol = 4 * np.hypot(rolling["mcse"], row["rolling_mcse"]) + 0.01
        assert abs(rolling["mean"] - row["rolling_mean"]) < tol, (as_of, rolling["mean"], row["rolling_mean"], tol)
        checked += 1
    assert checked == 2


def test_a_reweighted_point_recomputes_to_the_numbers_it_recorded(replayed):
    """Each resampled draw keeps the future paths its anchor draw's forecast used (``path_stream``),
    so a probability recomputed from the stored draws (the rolling headline's date is not a
    horizon: ``p_by`` computes it afresh) is the one the point recorded."""
    from forecast.inference.store import load_result
    from forecast.runs.ledger import Ledger

    df, ledger = replayed
    as_of = df.index[df["method"] == "reweighted"][-1]
    row = next(r for r in rows(ledger) if r["kind"] == "replay" and r["as_of"] == str(as_of)[:10] and r["status"] == "succeeded")
    result = load_result(Ledger(ledger).get(int(row["id"])))
    assert "path_stream" in result.idata["posterior"].data_vars
    assert result.rolling_until not in result.horizons
    # to the precision the store keeps the draws in; paths read from other streams move it by ~1e-3
    assert float(result.p_by(result.rolling_until).mean()) == pytest.approx(row["rolling_mean"], rel=0, abs=1e-6)
    assert float(result.p_by(result.headline).mean()) == pytest.approx(row["headline_mean"], rel=0, abs=1e-6)


def test_a_second_replay_reuses_every_point(project, replayed):
    df, ledger = replayed
    before = len(rows(ledger))
    again = replay("replayed", "2024-02", "2024-08", root=project, ledger_path=ledger, seed=3, **SAMPLER).set_index("as_of")
    assert (again["method"] == "stored").all()
    assert len(rows(ledger)) == before  # nothing was sampled or recorded
    assert np.allclose(again["headline_mean"], df["headline_mean"])
    stored = [r for r in rows(ledger) if r["kind"] == "replay"]
    assert len(stored) == 7 and all(r["status"] == "succeeded" for r in stored)


# -- questions without evidence in scope, and without indicators ------------------------------------------

PLAIN = """\
id: plain
question: Will the plain event happen?
event: the plain event happens
resolution_criteria: test
risk_window_start: 2024-01-01
horizons: [2025-06-30]
headline_lead_months: 0
baseline:
  per: year
  probability: {dist: beta, params: {alpha: 2.0, beta: 20.0}, source: {quote: "The border stayed quiet all year.", reasoning: test}}
indicators: {}
sampler: {future_paths: 50}
"""


@pytest.fixture(scope="module")
def bare_project(tmp_path_factory):
    """`replayed` with no evidence at all, and `plain`, a question without indicators."""
    root = tmp_path_factory.mktemp("bare-project")
    (root / "models" / "sources").mkdir(parents=True)
    (root / "evidence").mkdir()
    (root / "models" / "sources" / "source.txt").write_text(SOURCE_TEXT)
    (root / "models" / "indicators.yaml").write_text(LIBRARY)
    (root / "models" / "replayed.yaml").write_text(SPEC)
    (root / "models" / "plain.yaml").write_text(PLAIN)
    (root / "evidence" / "items.yaml").write_text("items: []\n")
    return root


@pytest.mark.parametrize("qid", ["replayed", "plain"])
def test_replay_without_evidence_or_indicators_matches_update(bare_project, qid):
    """Replay of a question with nothing to observe but survival gives the numbers update gives
    (within both Monte Carlo SEs), at a reweighted point and at a NUTS anchor."""
    from forecast.runs.ledger import Ledger
    from forecast.runs.update import update

    ledger = bare_project / "runs" / f"{qid}.sqlite"
    df = replay(qid, "2024-03", "2024-06", root=bare_project, ledger_path=ledger, seed=5, **SAMPLER).set_index("as_of")
    assert len(df) == 4
    assert (df["method"] == "reweighted").sum() >= 2, df[["method", "why"]]  # survival alone moves the posterior little
    runs = {r["as_of"]: r for r in rows(ledger) if r["kind"] == "replay"}
    for as_of in (df.index[0], df.index[-1]):
        point = Ledger(ledger).get(runs[as_of.isoformat()]["id"])
        fit = update(qid, as_of=as_of, root=bare_project, ledger_path=ledger, seed=9, draws=1000, tune=500, chains=2).record
        assert fit["headline_horizon"] == point["headline_horizon"] == "2025-06-30"
        tol = 4 * np.hypot(point["diagnostics"]["headline_mcse"], fit["diagnostics"]["headline_mcse"]) + 0.002
        assert abs(point["headline_mean"] - fit["headline_mean"]) < tol, (as_of, point["headline_mean"], fit["headline_mean"], tol)
    # two months more of survival lower the forecast a little, never raise it beyond noise
    assert df["headline_mean"].iloc[-1] < df["headline_mean"].iloc[0] + 0.005

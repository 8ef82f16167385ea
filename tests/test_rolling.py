"""The rolling headline, P(event within L months of the as-of date), and what compares it.

One small question (one indicator, headline_lead_months 12) is fitted once for the module; the
ledger, alert, change-report and trajectory tests work on hand-made ledger rows (no fit), so each
checks one rule with numbers chosen to sit on either side of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from contextlib import closing
from types import SimpleNamespace

import arviz_stats
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from forecast.analysis.influence import evidence_influence, pareto_k_note  # noqa: E402
from forecast.model.prediction import add_forecast, rolling_until  # noqa: E402
from forecast.reports.trajectory import draw_trajectory, trajectory_frame  # noqa: E402
from forecast.runs import ledger as ledger_module  # noqa: E402
from forecast.runs.changes import change_report, describe_changes  # noqa: E402
from forecast.runs.ledger import ADDED_COLUMNS, Ledger  # noqa: E402
from forecast.runs.update import alerts_for, band_settled, comparison  # noqa: E402

from .conftest import item, question  # noqa: E402

AS_OF = "2021-06-30"
UNTIL = "2022-06-30"  # 12 months later, and not a horizon: the rolling headline is computed on its own


@pytest.fixture(scope="module")
def fitted():
    items = [item("up", "signal", "2021-03-10", value=0.8, grade="B2"), item("down", "signal", "2021-01-10", value=-0.2, grade="C3"),
             item("flat", "signal", "2020-09-10", value=0.3, grade="B2")]
    q = question(effects={"signal": ("toward", 0.5)}, items=items, headline_lead_months=12)
    return q, q.fit(as_of=AS_OF, seed=2, draws=400, tune=300, chains=2)


# --------------------------------------------------------------------------------------------------
# the quantity


def test_the_window_has_the_same_length_on_every_date():
    assert rolling_until(dt.date(2024, 9, 30), 12) == dt.date(2025, 9, 30)
    assert rolling_until(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)  # clipped to the month's end
    assert rolling_until(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    # a month's last day goes to a month's last day: the window is L months of the grid long
    assert rolling_until(dt.date(2024, 2, 29), 6) == dt.date(2024, 8, 31)
    assert rolling_until(dt.date(2024, 4, 30), 1) == dt.date(2024, 5, 31)
    assert rolling_until(dt.date(2024, 5, 30), 1) == dt.date(2024, 6, 30)
    from forecast.core.timegrid import month_coordinate

    start = dt.date(2020, 1, 1)
    for as_of in (dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 4, 30), dt.date(2024, 9, 30)):
        length = month_coordinate(start, rolling_until(as_of, 6)) - month_coordinate(start, as_of)
        assert length == pytest.approx(6, abs=0.01), as_of
    with pytest.raises(ValueError, match="at least 1 month"):
        rolling_until(dt.date(2024, 1, 31), 0)


def test_every_fit_reports_p_within_l_months_with_interval_mcse_and_term(fitted):
    q, result = fitted
    post = result.idata["posterior"]
    assert post["p_event_within"].dims == ("chain", "draw")
    assert post["p_event_within"].attrs == {"months": 12, "until": UNTIL}
    assert "p_event_within" in result.idata["prior"].data_vars
    assert UNTIL not in list(post["horizon"].values)
    # the same number as P(event by the window's end) computed for that date alone (the same paths;
    # computed beside the horizons, the sums run in another order: equal to rounding)
    p = result.p_within()
    np.testing.assert_allclose(p, result.p_by(UNTIL), rtol=1e-12, atol=0)
    r = result.rolling()
    assert (r["months"], r["until"]) == (12, dt.date(2022, 6, 30))
    assert r["mean"] == pytest.approx(p.mean(), abs=1e-15)
    lo, hi = np.quantile(p, [0.05, 0.95])
    assert r["lower_90"] == pytest.approx(lo, abs=0.002) and r["upper_90"] == pytest.approx(hi, abs=0.002)
    assert r["lower_90"] < r["lower_50"] < r["median"] < r["upper_50"] < r["upper_90"]
    # MCSE of the mean: between the i.i.d. SE (sd / sqrt(n)) / 3 and 3x it for a mixing sampler
    iid = p.std() / np.sqrt(p.size)
    assert iid / 3 < r["mcse"] < 3 * iid
    assert r["mcse"] == pytest.approx(float(arviz_stats.mcse(post["p_event_within"], method="mean").values))
    assert r["icd203"] in result.rolling_sentence()
    assert f"within 12 months, by {UNTIL}" in result.rolling_sentence()
    summary = result.to_summary_dict()["rolling"]
    assert summary["until"] == UNTIL and summary["mean"] == r["mean"]
    # a window a month longer holds more probability: the quantity is P(by as-of + L months)
    longer = float(result.p_by(rolling_until(result.as_of, 13)).mean())
    assert longer > r["mean"]


def test_the_horizons_are_untouched_by_the_rolling_headline(fitted):
    q, result = fitted
    tree = result.idata.copy(deep=True)
    add_forecast(tree, result.design, q.spec.horizons, result.n_paths, result.seed)  # no lead
    np.testing.assert_array_equal(tree["posterior"]["p_event_by"].values, result.idata["posterior"]["p_event_by"].values)
    assert "p_event_within" in result.idata["posterior"].data_vars


def test_no_rolling_headline_without_a_lead(fitted):
    q, result = fitted
    spec = q.spec.model_copy(update={"headline_lead_months": 0})
    none = dataclasses.replace(result, spec=spec)
    assert none.rolling() is None and none.rolling_months is None
    with pytest.raises(ValueError, match="headline_lead_months 0"):
        none.p_within()
    assert "No rolling headline" in none.rolling_sentence()


# --------------------------------------------------------------------------------------------------
# the ledger


def old_ledger(path):
    """A ledger as written before the rolling columns: the original table, two update rows."""
    with closing(sqlite3.connect(path)) as con, con:
        con.executescript(ledger_module.SCHEMA)
        for as_of, started in (("2024-09-30", "2025-11-01T08:00:00+00:00"), ("2025-11-01", "2025-11-01T08:05:00+00:00")):
            con.execute("INSERT INTO runs (question, as_of, kind, status, started_at, headline_horizon, headline_mean) "
                        "VALUES ('q', ?, 'update', 'succeeded', ?, '2025-12-31', 0.05)", (as_of, started))


def test_an_old_ledger_gets_the_new_columns_in_place(tmp_path):
    path = tmp_path / "ledger.sqlite"
    old_ledger(path)
    with closing(sqlite3.connect(path)) as con:
        before = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
    assert not {name for name, _ in ADDED_COLUMNS} & before
    ledger = Ledger(path)
    with closing(sqlite3.connect(path)) as con:
        after = [r[1] for r in con.execute("PRAGMA table_info(runs)")]
    assert after[: len(before)] == [c for c in after if c in before]  # old columns kept, in place
    assert {"rolling_months", "rolling_until", "rolling_mean", "rolling_lower_90", "rolling_upper_90", "rolling_mcse", "rolling_term",
            "backdated"} <= set(after)
    runs = ledger.history("q")
    assert list(runs["headline_mean"]) == [0.05, 0.05] and runs["rolling_mean"].isna().all()
    # a run as of 2024-09-30 started in November 2025 was backdated; one as of its own day was not
    assert list(runs["backdated"]) == [1, 0]
    Ledger(path)  # opening again changes nothing
    assert Ledger(path).history("q").equals(runs)


def add_run(ledger, as_of, *, backdated=False, mean=0.05, months=12, kind="update", status="succeeded", mcse=0.001):
    rid = ledger.start("q", dt.date.fromisoformat(as_of), kind, 1, {}, f"fp-{as_of}-{backdated}-{mean}", backdated=backdated)
    if status == "succeeded":
        ledger.succeed(rid, {"rolling_months": months, "rolling_until": rolling_until(dt.date.fromisoformat(as_of), months), "rolling_mean": mean,
                             "rolling_lower_50": mean * 0.8, "rolling_upper_50": mean * 1.2, "rolling_lower_90": mean / 2,
                             "rolling_upper_90": mean * 2, "rolling_mcse": mcse, "rolling_term": "very unlikely", "diagnostics_passed": True})
    else:
        ledger.fail(rid, "synthetic")
    return rid


def test_the_previous_run_of_a_series_is_never_later_nor_backdated(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    oct_ = add_run(ledger, "2025-10-31")
    adhoc = add_run(ledger, "2024-09-30", backdated=True)
    nov = add_run(ledger, "2025-11-30")
    add_run(ledger, "2025-12-15", status="failed")
    add_run(ledger, "2025-12-20", kind="replay")

    def prev(as_of, backdated=False):
        row = ledger.previous_in_series("q", dt.date.fromisoformat(as_of), backdated=backdated)
        return None if row is None else row["id"]

    assert prev("2025-12-31") == nov  # not the failed run, not the replay point
    assert prev("2025-11-15") == oct_  # not the later November run
    assert prev("2025-11-30") == nov
    assert prev("2025-01-31") is None  # only the backdated run is earlier: it is not part of the series
    # a backdated rerun of the same date compares with the earlier run of that date
    assert prev("2024-09-30", backdated=True) == adhoc
    assert prev("2024-10-31", backdated=True) is None


def test_the_current_forecast_is_the_series_not_a_later_backdated_run(tmp_path):
    """The brief, `show` and the dashboard present the series' latest update, not an ad-hoc look at
    the past recorded after it; protected from pruning with the last run."""
    ledger = Ledger(tmp_path / "ledger.sqlite")
    assert ledger.current("q") is None
    first_adhoc = add_run(ledger, "2024-06-30", backdated=True)
    assert ledger.current("q")["id"] == first_adhoc  # only backdated runs: the latest of them
    nov = add_run(ledger, "2025-11-30")
    adhoc = add_run(ledger, "2024-09-30", backdated=True)  # recorded after the November run
    add_run(ledger, "2025-12-15", status="failed")
    add_run(ledger, "2025-12-20", kind="replay")
    assert ledger.last_success("q")["id"] == adhoc  # the latest row ...
    assert ledger.current("q")["id"] == nov  # ... is not the current forecast
    assert ledger.protected_runs("q") == {adhoc, nov}


# --------------------------------------------------------------------------------------------------
# alerts and change reports


def row(run_id, as_of, mean, mcse, months=12, **extra):
    return {"id": run_id, "as_of": as_of, "rolling_months": months, "rolling_mean": mean, "rolling_mcse": mcse,
            "diagnostics_passed": True, "diagnostics": {"problems": []}, **extra}


@pytest.mark.parametrize(
    "old, new, mcse, threshold, band, rules",
    [
        # measured: +0.09 points with MCSE 0.13 points printed 4% -> 5% ("almost no chance" -> "very unlikely")
        (0.0444, 0.0453, 0.0013, 0.0005, True, set()),
        # the same crossing, well clear of Monte Carlo error: both alerts
        (0.0444, 0.0600, 0.0013, 0.0005, True, {"move", "band"}),
        # a 6-point move with small MCSE over a 5-point threshold; a 4-point one under it
        (0.10, 0.16, 0.002, 0.05, False, {"move"}),
        (0.10, 0.14, 0.002, 0.05, False, set()),
        # over the threshold but within 2 Monte Carlo SEs of the difference (2 x sqrt(2) x 0.02 = 5.7 points)
        (0.10, 0.155, 0.02, 0.05, False, set()),
        # the term changed, and the new mean +- 2 MCSE prints as the new term
        (0.19, 0.23, 0.003, None, True, {"band"}),
        # the term changed ("unlikely" from 20%), but 0.205 - 2 x 0.008 prints as 19%: not settled
        (0.15, 0.205, 0.008, None, True, set()),
    ],
)
def test_alerts_compare_rolling_headlines_beyond_monte_carlo_error(old, new, mcse, threshold, band, rules):
    previous = row(1, "2025-10-31", old, mcse, headline_mean=0.30)
    record = row(2, "2025-11-30", new, mcse, headline_mean=0.01)  # the fixed-date headlines must play no part
    alerts = alerts_for(record, previous, threshold, band, diagnostics=False)
    assert {a.rule for a in alerts} == rules
    for a in alerts:
        assert "P(within 12 months)" in a.message and "run 1 as of 2025-10-31" in a.message


def test_band_settled_reads_the_printed_terms():
    assert band_settled(0.10, 0.001)
    assert not band_settled(0.0453, 0.0013)  # 0.0427 prints 4%: "almost no chance"
    assert not band_settled(0.205, 0.008) and band_settled(0.23, 0.003)


def test_nothing_is_compared_across_different_leads_or_without_a_rolling_headline():
    assert comparison(row(2, "2025-11-30", 0.2, 0.001), row(1, "2025-10-31", 0.05, 0.001, months=6))["quantity"] is None
    old = row(1, "2025-10-31", None, None, months=None)
    assert "without the rolling headline" in comparison(row(2, "2025-11-30", 0.2, 0.001), old)["reason"]
    assert alerts_for(row(2, "2025-11-30", 0.9, 0.0), old, 0.01, True, False) == []


def test_items_after_the_as_of_date_are_not_yet_published_never_removed():
    previous = {"id": 7, "as_of": "2025-10-31", "evidence_items": {"a": "1", "b": "2", "c": "3"}, "spec_snapshot": {}, "code_fingerprint": "x",
                "sampler_fingerprint": "y"}
    changes = change_report(previous, {"a": "1"}, {}, {"code": "x", "sampler": "y"}, dt.date(2025, 10, 31), later=["b", "z"])
    assert changes["not_yet_published"] == ["b"] and changes["removed"] == ["c"]
    text = describe_changes(changes)
    assert "not yet published b" in text and "removed c" in text and "removed b" not in text


def test_the_change_report_says_what_it_compares():
    changes = {"previous_run": 1, "added": ["x"], "compared": comparison(row(2, "2025-11-30", 0.054, 0.001), row(1, "2025-10-31", 0.051, 0.001))}
    text = describe_changes(changes)
    assert text.startswith("since run 1 (as of 2025-10-31): added x")
    assert "P(event within 12 months of the as-of date) moved +0.3 points (5.1% -> 5.4%, Monte Carlo SE of the move 0.14 points)" in text


# --------------------------------------------------------------------------------------------------
# trajectory


def runs_frame():
    rows = []
    for i, (as_of, kind, mean, months) in enumerate([
        ("2024-01-31", "replay", 0.04, 12), ("2024-02-29", "replay", 0.05, 12), ("2024-03-31", "replay", 0.06, 12),
        ("2024-05-31", "replay", 0.07, 12),  # a month missing: a new segment, alone
        ("2024-06-10", "update", 0.50, 6),  # another lead: not this trajectory's quantity
        ("2024-06-15", "update", 0.08, 12), ("2024-07-31", "update", 0.09, 12),
        ("2024-09-30", "update", None, None),  # recorded before the rolling headline
    ]):
        rows.append({"id": i + 1, "question": "q", "kind": kind, "status": "succeeded", "as_of": as_of, "rolling_months": months,
                     "rolling_until": None, "rolling_mean": mean, "rolling_lower_50": mean and mean * 0.8, "rolling_upper_50": mean and mean * 1.2,
                     "rolling_lower_90": mean and mean / 2, "rolling_upper_90": mean and mean * 2, "diagnostics_passed": True,
                     "headline_horizon": "2025-12-31", "horizons": []})
    return pd.DataFrame(rows)


def test_trajectory_draws_runs_as_points_and_joins_only_consecutive_monthly_replay_points():
    frame = trajectory_frame(runs_frame())
    assert frame.attrs["quantity"] == "P(event within 12 months)"
    assert list(frame["months"]) == [12] * 6  # the 6-month run and the run without a rolling headline left out
    assert list(frame["mean"]) == [0.04, 0.05, 0.06, 0.07, 0.08, 0.09]
    assert list(frame["segment"]) == [0, 0, 0, 1, 2, 3]
    fig, ax = plt.subplots()
    try:
        draw_trajectory(ax, frame, dt.date(2024, 7, 31))
        lines = {line.get_label(): line for line in ax.lines}
        assert list(lines["mean"].get_ydata()) == [0.04, 0.05, 0.06]  # the one replay segment
        assert list(lines["run"].get_ydata()) == [0.07, 0.08, 0.09]  # every other run: a point, joined to nothing
        assert lines["run"].get_linestyle() == "None"
    finally:
        plt.close(fig)


# --------------------------------------------------------------------------------------------------
# influence: where the refits go


def test_refits_go_to_the_largest_unreliable_influence(fitted, monkeypatch):
    """Three unreliable estimates (k above the limit): the refit budget (1) goes to the one with the
    largest estimated |influence|, not to the largest k; the note under the table says what k is."""
    import forecast.analysis.influence as influence

    q, result = fitted
    ids = list(result.design.evidence_ids)
    crafted = pd.DataFrame({"id": ids, "full_mean": 0.10, "loo_mean": 0.10, "mcse": 0.001, "pareto_k": 0.2, "r_eff": 1.0})
    assert len(ids) >= 3, ids
    crafted.loc[0, ["loo_mean", "pareto_k"]] = [0.10 + 0.0159, 0.76]  # large effect, k just above the limit
    crafted.loc[1, ["loo_mean", "pareto_k"]] = [0.10 - 0.0002, 1.40]  # tiny effect, highest k
    crafted.loc[2, ["loo_mean", "pareto_k"]] = [0.10 + 0.0001, 0.95]
    monkeypatch.setattr(influence, "leave_one_out_means", lambda res, horizon=None: crafted.copy())
    refitted = []
    def lean(res, qq, item_id, horizon=None):
        refitted.append(item_id)
        return influence.Refit(item_id, 0.12, SimpleNamespace(headline_mcse=0.002, passed=True, problems=[], divergences=0),
                               2, 500, 200, True, len(ids) - 1, 1.0)

    monkeypatch.setattr(influence, "headline_without", lean)
    generated = set(result.design.generated_ids)
    assert not generated & set(ids[:3])
    full = evidence_influence(result, q, max_refits=1)
    table = full.set_index("id")
    assert refitted == [ids[0]]
    assert table.loc[ids[0], "method"] == "refit" and table.loc[ids[0], "influence"] == pytest.approx(0.10 - 0.12)
    assert (table.loc[ids[1:3], "method"] == "psis").all()
    note = pareto_k_note(full)
    assert note.count("\n") == 0 and "Pareto k" in note and f"up to {full.attrs['k_limit']:.2f}" in note
    # the tiny estimate at k 0.95 is too small to matter; the one at k 1.40 says nothing of its size:
    # it waits for a refit the cap did not allow
    assert "1 estimate above it but within 0.5 points, not refitted (too small to change the reading), shown with k" in note
    assert "; 1 estimate above it, beyond the refits allowed, shown with k and not reliable" in note
    assert "or any above 1 (whose estimate says nothing of its size), is refitted" in note
    assert "each refit's headline has an MCSE of at most 0.20 points" in note and "FLAGGED" not in note


def test_refits_skip_unreliable_estimates_too_small_to_matter():
    """An unreliable estimate (k above the limit) is refitted only when |influence| is above the
    threshold or k is above 1 (no finite mean: its size is no guide); ranked by |influence|, then
    the small ones by k, and capped."""
    from forecast.analysis.influence import refit_candidates

    loo = pd.DataFrame({"id": ["a", "b", "c", "d", "picture", "e", "f"], "influence": [0.004, -0.02, 0.03, 0.5, 0.9, -0.002, 0.001],
                        "pareto_k": [0.9, 0.8, 0.6, 1.2, 1.0, 1.77, 1.3]})
    chosen = refit_candidates(loo, limit=0.7, generated={"picture"}, min_influence=0.005, max_refits=4)
    assert list(chosen["id"]) == ["d", "b", "e", "f"]  # a: too small at k 0.9; c: reliable; picture: generated
    assert list(refit_candidates(loo, 0.7, {"picture"}, 0.005, max_refits=1)["id"]) == ["d"]
    assert list(refit_candidates(loo, 0.7, {"picture"}, 0.005, max_refits=3)["id"]) == ["d", "b", "e"]


# --------------------------------------------------------------------------------------------------
# the forecast's arithmetic


@pytest.mark.parametrize(
    "u_as_of, current, targets",
    [
        (33.97, 33, [35.0, 40.5, 95.99, *range(34, 97)]),  # five years of monthly curve points, horizons inside months
        (57.2, 57, [57.5, 58.3, 60.0, 60.7]),  # targets inside the as-of month and later months
        (57.0, 57, [57.0001, 58.0]),  # as-of on a month boundary; a target on the last boundary
        (3.3, 3, [3.9, 4.0, 7.25]),
    ],
)
def test_running_sum_hazard_equals_the_exposure_matrix_product(u_as_of, current, targets):
    """P(event by target) from the running sum of monthly hazards is the definition's
    1 - E[exp(-sum_j e_j(u) rate_j)] with the exposure matrix, to rounding."""
    from forecast.model.prediction import exposure_matrix, prob_by

    rng = np.random.default_rng(4)
    eta, sd = rng.normal(-4.0, 1.5, 300), np.abs(rng.normal(0.2, 0.1, 300))
    targets = np.asarray(targets, dtype=float)
    n_future = int(np.ceil(targets.max())) - current
    z = np.stack([np.random.default_rng([9, i]).standard_normal((n_future, 40)).T for i in range(eta.size)])
    z[..., 0] = 0.0
    rate = np.exp(eta[:, None, None] + sd[:, None, None] * np.cumsum(z, axis=-1))
    expected = 1.0 - np.exp(-(rate @ exposure_matrix(u_as_of, current, n_future, targets).T)).mean(axis=1)
    got = prob_by(eta, sd, u_as_of, current, targets, n_paths=40, seed=9, chunk=7)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert np.all(np.diff(got[:, np.argsort(targets)], axis=1) >= -1e-15)  # later targets, more probability


def test_an_empty_ledger_file_reads_as_an_empty_ledger(tmp_path):
    """A 0-byte ledger (created by a tool, or a run that never wrote) is an empty ledger, not an error."""
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"")
    readonly = Ledger(path, readonly=True)
    assert readonly.history().empty and readonly.current("q") is None and readonly.last_success("q") is None
    assert add_run(Ledger(path), "2025-10-31") == 1  # and a writer sets it up
    assert Ledger(path, readonly=True).current("q")["id"] == 1


def test_the_forecast_mcse_counts_the_simulation_of_future_paths():
    """Each draw simulates its own future paths, so the MCSE of the mean over draws covers the
    path simulation's error. Here every draw is the same point (no posterior uncertainty at all):
    the mean still moves with the paths' seed, and by about its standard error over draws; with
    paths shared by every draw it moved while that standard error was 0."""
    from forecast.model.prediction import prob_by

    n = 400
    eta, sd = np.full(n, -3.0), np.full(n, 0.4)
    means, ses = [], []
    for seed in range(30):
        p = prob_by(eta, sd, 10.0, 10, np.array([22.0]), n_paths=20, seed=seed)[:, 0]
        means.append(p.mean())
        ses.append(p.std(ddof=1) / np.sqrt(n))
    spread, se = np.std(means, ddof=1), np.mean(ses)
    assert se > 0
    assert 0.6 < spread / se < 1.5, (spread, se)
    # the paths of a draw do not depend on how many draws there are or how they are chunked
    np.testing.assert_array_equal(prob_by(eta[:7], sd[:7], 10.0, 10, np.array([22.0]), 20, 3, chunk=3),
                                  prob_by(eta, sd, 10.0, 10, np.array([22.0]), 20, 3)[:7])
    # ... nor on how far the targets reach: a date computed alone gets the number it gets among
    # others (to rounding: numpy's vectorised exp may round the last bit by array length)
    np.testing.assert_allclose(prob_by(eta, sd, 10.0, 10, np.array([13.5]), 20, 3)[:, 0],
                               prob_by(eta, sd, 10.0, 10, np.array([22.0, 13.5, 40.0]), 20, 3)[:, 1], rtol=0, atol=1e-12)
    # draws resampled from these keep their streams, and so their numbers
    pick = np.array([5, 5, 0, 399, 17])
    np.testing.assert_array_equal(prob_by(eta[pick], sd[pick], 10.0, 10, np.array([22.0]), 20, 3, streams=pick),
                                  prob_by(eta, sd, 10.0, 10, np.array([22.0]), 20, 3)[pick])


def test_pareto_k_note_says_why_each_unreliable_estimate_was_not_refitted():
    """Beyond the refits allowed, refits turned off, a generated (source-picture) item that cannot be
    left out, or too small to matter: each unreliable estimate is counted under its own reason."""
    table = pd.DataFrame({"id": ["source-picture:a", "kept", "small", "fine", "done"], "influence": [0.02, 0.03, 0.001, 0.05, 0.04],
                          "pareto_k": [0.9, 0.9, 0.8, 0.3, 1.1], "method": ["psis", "psis", "psis", "psis", "refit"]})
    table.attrs.update(k_limit=0.7, min_influence=0.005, max_refits=3, generated=["source-picture:a"],
                       refits=[{"id": "done", "mcse": 0.0015, "passed": True}])
    note = pareto_k_note(table)
    assert "is refitted (refit), at most 3;" in note
    assert "; 1 estimate above it, beyond the refits allowed, shown with k and not reliable" in note
    assert "; 1 estimate above it of items generated from the source's picture, which cannot be left out (no refit)" in note
    assert "; 1 estimate above it but within 0.5 points, not refitted" in note
    assert "MCSE of at most 0.15 points" in note and "FLAGGED" not in note and note.count("\n") == 0

    table.attrs.update(max_refits=0, refits=[])
    off = pareto_k_note(table)
    assert "refits were turned off for this table; 1 estimate above it shown with k and not reliable" in off
    assert "beyond the refits allowed" not in off and "is refitted" not in off and "MCSE" not in off

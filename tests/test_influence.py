"""Evidence influence: PSIS leave-one-out against exact refits, and the refit fallback on high k.

One small question serves this file and tests/test_scenarios.py (``small_fit``, fitted once per
session): two indicators on a 13-month grid, ``push`` (toward the event) and ``brake`` (against),
with tight baseline and effect priors so that the headline's spread comes mostly from the
indicator levels the evidence informs. Four C3 items place ``push`` (one a 3-month change) (each moves the headline by
several Monte Carlo SEs, none dominates: Pareto k about 0.15-0.4); six A1 items observe ``brake``
in December 2020, five at 0 and one far away at +4.5, which the posterior cannot explain (k > 1).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
from scipy import stats

from forecast.analysis.influence import (
    COLUMNS,
    evidence_influence,
    headline_without,
    item_log_likelihood,
    leave_one_out_means,
    refit_without,
    reliable_k,
)
from forecast.core import timegrid
from forecast.inputs.spec import QuestionSpec

from .conftest import SOURCE, item, library, question

AS_OF = "2021-01-01"
SETTINGS = dict(as_of=AS_OF, seed=3, draws=500, tune=300, chains=2)
# items checked against exact refits: Pareto k well below the threshold, influence of both signs
CHECKED = ("push-recent", "push-early")
OUTLIER = "brake-outlier"


def small_question():
    """Two indicators, Beta(40, 1200) monthly baseline, gamma(64, 64) effect sizes (mean 1, SD 0.125)."""
    items = [
        item("push-recent", "push", "2020-12-10", value=1.0, grade="C3"),
        item("push-recent-2", "push", "2020-11-15", value=1.0, grade="C3"),
        item("push-early", "push", "2020-03-10", value=-0.8, grade="C3"),
        item("push-rise", "push", "2020-09-10", direction="up", strength="moderate", grade="C3"),
        item(OUTLIER, "brake", "2020-12-20", value=4.5, grade="A1"),
    ] + [item(f"brake-calm-{i}", "brake", "2020-12-05", value=0.0, grade="A1") for i in range(5)]
    lib = library({"push": {"level": (0.0, 1.0), "volatility": 0.1}, "brake": {"level": (0.0, 1.0), "volatility": 0.1}})
    q = question(effects={"push": ("toward", 1.0), "brake": ("against", 1.0)}, items=items, baseline=(40.0, 1200.0), horizons=("2021-07-01", "2022-01-01"), lib=lib)
    spec = q.spec.to_dict()
    for ind in ("push", "brake"):
        spec["indicators"][ind]["size"] = {"dist": "gamma", "params": {"alpha": 64.0, "beta": 64.0}, "source": SOURCE}
    return dataclasses.replace(q, spec=QuestionSpec.model_validate(spec))


@functools.cache
def small_fit():
    """(question, result): fitted once per test session, shared with tests/test_scenarios.py."""
    q = small_question()
    return q, q.fit(**SETTINGS)


@pytest.fixture(scope="module")
def fitted():
    return small_fit()


@pytest.fixture(scope="module")
def influence_run(fitted):
    """evidence_influence with at most one refit, recording what the refit returned."""
    q, result = fitted
    import forecast.analysis.influence as influence

    refits = {}
    original = influence.headline_without

    def recording(res, question, item_id, horizon=None, **kwargs):
        refits[item_id] = original(res, question, item_id, horizon, **kwargs)
        return refits[item_id]

    influence.headline_without = recording
    try:
        table = evidence_influence(result, q, max_refits=1)
    finally:
        influence.headline_without = original
    return table, refits


def test_item_log_likelihood_from_the_items_themselves(fitted):
    """Each item's log-likelihood, rebuilt from the raw item (event month, value or change, grade SD)."""
    q, result = fitted
    ours = item_log_likelihood(result)
    assert list(ours["item"].values) == list(result.design.evidence_ids)
    level = result.idata["posterior"]["level"]
    for li in q.evidence:
        it = li.item
        month = timegrid.month_index(q.library.reference_date, it.event_date)
        x = level.sel(indicator=it.indicator).isel(month=month).values
        if it.is_change:  # a change item observes the move over the preceding 3 months
            x = x - level.sel(indicator=it.indicator).isel(month=month - 3).values
        expected = stats.norm.logpdf(it.observed_value, x, q.spec.grading.sd(it.grade, change=it.is_change))
        np.testing.assert_allclose(ours.sel(item=it.id).values, expected, rtol=1e-12)


def test_psis_agrees_with_exact_leave_one_out_refits(fitted, influence_run):
    """For items with k well below the threshold the PSIS mean without the item matches a refit.

    Tolerance: 4 x the Monte Carlo SE of the difference, sqrt(MCSE_psis^2 + MCSE_refit^2), where
    MCSE_psis is the SE of the self-normalised importance-weighted mean and MCSE_refit the refit's
    headline MCSE (4 SE: the check must not fail by chance; it is deterministic for a seed, but
    floating point differs across platforms). Both fits share the forward paths (same seed), so
    path noise cancels. Each influence is also larger than its tolerance, so an estimate of zero,
    or one with the weights the wrong way round, would fail.
    """
    q, result = fitted
    table, _ = influence_run
    loo = leave_one_out_means(result).set_index("id")
    for item_id in CHECKED:
        row = loo.loc[item_id]
        assert row["pareto_k"] < reliable_k(result) - 0.15, (item_id, row["pareto_k"])
        refit = headline_without(result, q, item_id)
        exact_without = refit.mean
        assert refit.item_id == item_id and refit.n_items == len(result.design.evidence_ids) - 1
        assert refit.warm and refit.diagnostics.passed
        tolerance = 4 * np.hypot(row["mcse"], refit.diagnostics.headline_mcse)
        exact_influence = row["full_mean"] - exact_without
        assert abs(row["loo_mean"] - exact_without) < tolerance, (item_id, row["loo_mean"], exact_without, tolerance)
        assert abs(exact_influence) > tolerance, (item_id, exact_influence, tolerance)
        reported = table.set_index("id").loc[item_id]
        assert reported["method"] == "psis"
        assert reported["influence"] == pytest.approx(row["full_mean"] - row["loo_mean"], abs=1e-12)
    influence = table.set_index("id")["influence"]
    # a recent high reading of a push-toward indicator raises the headline; an early low one lowers it
    assert influence["push-recent"] > 0 > influence["push-early"]


def test_high_pareto_k_falls_back_to_an_exact_refit(fitted, influence_run):
    """The A1 outlier the posterior cannot explain has k > 0.7: refitted, influence = exact difference."""
    q, result = fitted
    table, refits = influence_run
    assert list(table.columns) == COLUMNS
    assert set(table["id"]) == set(result.design.evidence_ids)
    by_id = table.set_index("id")
    outlier = by_id.loc[OUTLIER]
    assert outlier["pareto_k"] > reliable_k(result) and outlier["method"] == "refit"
    assert list(refits) == [OUTLIER]  # max_refits=1: the unreliable estimate with the largest |influence|
    refit = refits[OUTLIER]
    full = float(result.p_by(result.headline).mean())
    assert outlier["influence"] == pytest.approx(full - refit.mean, abs=1e-12)
    assert refit.n_items == len(result.design.evidence_ids) - 1
    (record,) = table.attrs["refits"]
    assert {k: record[k] for k in refit.to_dict()} == refit.to_dict() and refit.diagnostics.passed
    psis = leave_one_out_means(result).set_index("id").loc[OUTLIER]
    assert record["pareto_k"] == outlier["pareto_k"] == psis["pareto_k"]
    assert record["psis_influence"] == pytest.approx(psis["full_mean"] - psis["loo_mean"], abs=1e-12)
    # the outlier says `brake` (against the event) is high: it lowers the headline
    assert outlier["influence"] < 0
    assert (by_id.drop(index=OUTLIER)["method"] == "psis").all()
    assert table["influence"].abs().is_monotonic_decreasing
    assert outlier["grade"] == "A1" and outlier["indicator"] == "brake" and outlier["quote"] == "test"

    # without refits the PSIS estimate stays, flagged by its k
    psis_only = evidence_influence(result, q, refit=False).set_index("id")
    assert psis_only.loc[OUTLIER, "method"] == "psis" and psis_only.loc[OUTLIER, "pareto_k"] == outlier["pareto_k"]


def test_resolved_question_has_no_influence_table(fitted):
    """A resolution item is not an indicator observation; a resolved forecast has nothing to explain."""
    q, result = fitted
    resolved = dataclasses.replace(result, design=dataclasses.replace(result.design, resolved_on=result.as_of))
    table = evidence_influence(resolved, q)
    assert table.empty and list(table.columns) == COLUMNS
    other = dataclasses.replace(q, spec=q.spec.model_copy(update={"id": "another-question"}))
    with pytest.raises(ValueError, match="another-question"):
        evidence_influence(result, other)


def test_change_attribution_reports_pareto_k_and_matches_a_refit(fitted, influence_run):
    """attribute_changes reweights the previous posterior by each changed item: a mild edit is a
    reliable PSIS estimate (small k-hat) that matches an exact refit of the edited question; removing
    the outlier leaves the weights on a few draws (k-hat above the limit), so the first-order estimate
    is reported instead, with the right sign, and its k-hat says so."""
    from forecast.analysis.influence import attribute_changes
    from forecast.inputs.evidence import EvidenceItem, LocatedItem

    q, result = fitted
    _, refits = influence_run
    edited = [LocatedItem(item=EvidenceItem.model_validate({**li.item.model_dump(), "value": 1.6}), file=li.file, line=li.line)
              if li.item.id == "push-recent" else li for li in q.evidence]
    q_edit = dataclasses.replace(q, evidence=edited)
    (row,) = attribute_changes(result, q_edit.design(AS_OF), {"edited": ["push-recent"]}, q_edit)
    assert row["method"] == "psis" and row["pareto_k"] < reliable_k(result) and row["importance_ess"] > 100
    assert row["indicator"] == "push" and row["grade"] == "C3" and row["change"] == "edited"
    refit = q_edit.fit(**SETTINGS)
    exact = float(refit.p_by(result.headline).mean() - result.p_by(result.headline).mean())
    tolerance = 4 * np.hypot(row["mcse"], refit.diagnostics.headline_mcse)
    assert abs(row["estimated_move"] - exact) < tolerance, (row, exact, tolerance)
    assert exact > tolerance  # a higher push reading raises the headline, by more than the noise

    without = dataclasses.replace(q, evidence=[li for li in q.evidence if li.item.id != OUTLIER])
    (row,) = attribute_changes(result, without.design(AS_OF), {"removed": [OUTLIER]}, without)
    assert row["method"] == "linear" and row["pareto_k"] > reliable_k(result) and row["mcse"] is None
    exact = refits[OUTLIER].mean - float(result.p_by(result.headline).mean())
    assert exact > 0 and row["estimated_move"] > 0  # the outlier said `brake` was high: without it the headline rises


def test_a_warm_started_refit_gives_the_whole_refit_headline_within_mcse(fitted, influence_run):
    """The lean refit (warm start, REFIT_TUNE + REFIT_DRAWS, headline only) estimates the same
    posterior mean as a whole fit without the item with the full fit's settings: within 4 x the
    combined MCSE. The outlier moves the headline by more than that, so a refit that kept the item
    (or started and stayed at the full posterior) would fail."""
    from forecast.analysis.influence import REFIT_DRAWS, REFIT_TUNE

    q, result = fitted
    _, refits = influence_run
    lean = refits[OUTLIER]
    assert lean.warm and (lean.draws, lean.tune, lean.chains) == (REFIT_DRAWS // 2, REFIT_TUNE, 2)
    whole_mean, whole = refit_without(result, q, OUTLIER)
    assert OUTLIER not in whole.design.evidence_ids
    tolerance = 4 * np.hypot(lean.diagnostics.headline_mcse, whole.diagnostics.headline_mcse)
    assert abs(lean.mean - whole_mean) < tolerance, (lean.mean, whole_mean, tolerance)
    full = float(result.p_by(result.headline).mean())
    assert abs(full - whole_mean) > tolerance


def test_a_refit_that_misses_a_threshold_is_redone_with_the_full_settings_and_stays_flagged(fitted, monkeypatch):
    """A refit held to an MCSE no sampler reaches is run again with twice the draws from where its
    chains ended, then with the full fit's tuning from PyMC's default start; still missing it, it is
    reported as flagged, and the note says so."""
    import forecast.analysis.influence as influence
    import forecast.inference.sampling as sampling
    from forecast.analysis.influence import REFIT_TUNE, pareto_k_note
    from forecast.inputs.spec import QuestionSpec

    q, result = fitted
    spec = result.spec.to_dict()
    spec["thresholds"]["headline_mcse"] = 1e-9
    strict = dataclasses.replace(result, spec=QuestionSpec.model_validate(spec))
    runs, original = [], sampling.sample_posterior

    def recording(design, **kwargs):
        tree = original(design, **kwargs)
        starts = kwargs["initvals"]
        runs.append((kwargs["draws"], kwargs["tune"], None if starts is None else float(starts[0]["baseline_probability"]), tree))
        return tree

    monkeypatch.setattr(sampling, "sample_posterior", recording)
    monkeypatch.setattr(influence, "REFIT_DRAWS", 400)  # the order of the tries does not depend on their size
    refit = headline_without(strict, q, OUTLIER)
    lean = influence.REFIT_DRAWS // 2
    assert [r[:2] for r in runs] == [(lean, REFIT_TUNE), (2 * lean, REFIT_TUNE), (SETTINGS["draws"], SETTINGS["tune"])]
    last_full = result.idata["posterior"]["baseline_probability"].isel(chain=0, draw=-1).item()
    last_first = runs[0][3]["posterior"]["baseline_probability"].isel(chain=0, draw=-1).item()
    assert runs[0][2] == last_full and runs[1][2] == last_first and runs[2][2] is None
    # the full fit's tuning and draws (2 x 500: more than the lean refit's 2 x 200)
    assert not refit.warm and (refit.draws, refit.tune, refit.chains) == (SETTINGS["draws"], SETTINGS["tune"], SETTINGS["chains"])
    assert not refit.diagnostics.passed and any("MCSE" in p for p in refit.diagnostics.problems)
    table = evidence_influence(result, q, refit=False)
    table.attrs["refits"] = [refit.to_dict()]
    assert f"FLAGGED, its diagnostics miss the spec's thresholds: {OUTLIER}" in pareto_k_note(table)


def test_a_generated_item_cannot_be_refitted_and_says_why(fitted):
    """A source-picture item is a row of the influence table but not of any file: leaving it out is
    refused with its own reason (before any sampling), not as an unknown item."""
    from types import SimpleNamespace

    q, result = fitted
    picture = SimpleNamespace(item=SimpleNamespace(id="source-picture:push"))
    with_picture = dataclasses.replace(result, design=dataclasses.replace(result.design, generated=(picture,)))
    with pytest.raises(ValueError, match="'source-picture:push' is generated from the source's picture.*cannot be left out"):
        headline_without(with_picture, q, "source-picture:push")
    with pytest.raises(ValueError, match="'no-such-item' is not in question 'test-question'"):
        headline_without(result, q, "no-such-item")

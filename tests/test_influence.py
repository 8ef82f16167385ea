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

from forecast.analysis.influence import COLUMNS, evidence_influence, item_log_likelihood, leave_one_out_means, refit_without, reliable_k
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
    original = influence.refit_without

    def recording(res, question, item_id, horizon=None):
        mean, refit = original(res, question, item_id, horizon)
        refits[item_id] = (mean, refit)
        return mean, refit

    influence.refit_without = recording
    try:
        table = evidence_influence(result, q, max_refits=1)
    finally:
        influence.refit_without = original
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
        exact_without, refit = refit_without(result, q, item_id)
        assert item_id not in refit.design.evidence_ids and len(refit.design.evidence_ids) == len(result.design.evidence_ids) - 1
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
    mean_without, refit = refits[OUTLIER]
    full = float(result.p_by(result.headline).mean())
    assert outlier["influence"] == pytest.approx(full - mean_without, abs=1e-12)
    assert OUTLIER not in refit.design.evidence_ids
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
    mean_without, _ = refits[OUTLIER]
    exact = mean_without - float(result.p_by(result.headline).mean())
    assert exact > 0 and row["estimated_move"] > 0  # the outlier said `brake` was high: without it the headline rises

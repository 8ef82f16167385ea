"""What the model's numbers mean (issue 10, points 1-3).

1. The indicator scales are anchored where the source says: the library states the date its picture
   describes and when it was published; every question observes each indicator at 0 then
   (``source-picture:<indicator>``), and with the shipped evidence every indicator's posterior mean
   in that month lies within 0.5 of 0, or :func:`picture_conflicts` names the items pulling it away.
2. A report moves its indicator by what its grade and strength say: one A1 ``moderate`` change
   report on an otherwise unobserved indicator moves its 3-month change by at least half of the
   reported +0.5; value of information's predicted move for a hypothetical item agrees with the
   refit that adds it; a change whose window starts before the grid is excluded with a reason.
3. A Belarusian force-posture indicator, an assumption beyond the article, in both shipped
   questions.

Fits are small (2 chains x 500 draws): the quantities tested are posterior means whose Monte Carlo
error at that size (about 0.01-0.02 units, 0.1-0.3 headline points) is far below the margins.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from forecast.analysis.picture import picture_conflicts, picture_levels
from forecast.checks.value_of_information import item_move
from forecast.core import timegrid
from forecast.inference.question import Question
from forecast.inputs.evidence import CHANGE_WINDOW_MONTHS, EvidenceItem, LocatedItem
from forecast.model.design import PICTURE_PREFIX, make_design
from forecast.model.simulate import Draws

from .conftest import item, question

SHIPPED = ("belarus-entry", "russia-strikes-from-belarus")
AS_OF = "2025-10-31"
SMALL = dict(as_of=AS_OF, seed=1, draws=500, tune=500, chains=2)


@pytest.fixture(scope="module")
def shipped(project):
    return {qid: Question.from_inputs(project.load(qid)) for qid in SHIPPED}


def reduced(q: Question, indicators: list[str], evidence: list[LocatedItem] | None = None, picture: bool = True) -> Question:
    """``q`` with only ``indicators`` (and no scenarios), the given evidence, with or without the library's picture."""
    spec = q.spec.model_copy(update={"indicators": {k: q.spec.indicators[k] for k in indicators}, "scenarios": []})
    lib = q.library if picture else q.library.model_copy(update={"picture": None})
    items = q.evidence if evidence is None else evidence
    return dataclasses.replace(q, spec=spec, library=lib, evidence=items)


def located(**fields) -> LocatedItem:
    data = {"source": "test", "quote": "test report", **fields}
    return LocatedItem(item=EvidenceItem.model_validate(data), file="<test>", line=1)


def month_of(design, date: str) -> int:
    return timegrid.month_index(design.grid_start, timegrid.to_date(date))


# -------------------------------------------------------------------------------------------------
# 1. the source's picture is data


def test_library_states_when_the_picture_holds(shipped):
    pic = shipped["belarus-entry"].library.picture
    assert pic is not None
    assert pic.describes == dt.date(2024, 9, 1)
    assert pic.published == dt.date(2024, 9, 15) and pic.published_assumed  # the article is undated: an assumption
    assert pic.grade == "B2" and pic.sd == 0.25


@pytest.mark.parametrize("qid", SHIPPED)
def test_every_indicator_observed_at_zero_when_the_picture_holds(shipped, qid):
    q = shipped[qid]
    d = q.design(AS_OF)
    month = month_of(d, "2024-09-01")
    for k, ind in enumerate(d.indicator_ids):
        i = d.evidence_ids.index(PICTURE_PREFIX + ind)
        assert d.evidence_indicator[i] == k and d.evidence_month[i] == month and d.evidence_base_month[i] == -1
        assert d.evidence_value[i] == 0.0
        assert d.evidence_sd[i] == pytest.approx(0.25 / 0.75)  # sd / sqrt(weight(B2))
    assert set(d.generated_ids) == {PICTURE_PREFIX + k for k in d.indicator_ids}
    # listed with the evidence used, with the source's grade and the scale's definition as its quote
    by_id = {li.item.id: li.item for li in d.generated}
    assert by_id[PICTURE_PREFIX + "unrest-risk"].grade == "B2"
    assert "protests crushed" in by_id[PICTURE_PREFIX + "unrest-risk"].quote


def test_picture_not_seen_before_the_article_is_published(shipped):
    """As-of semantics: before 2024-09-15 the scales rest on the level priors (the strikes question starts on that date)."""
    d = shipped["belarus-entry"].design("2024-09-14")
    assert not d.generated and not any(i.startswith(PICTURE_PREFIX) for i in d.evidence_ids)
    reasons = {e.id: e.reason for e in d.excluded if e.id.startswith(PICTURE_PREFIX)}
    assert len(reasons) == len(d.indicator_ids)
    assert all("published 2024-09-15 (assumed publication date of the source), after as-of 2024-09-14" in r for r in reasons.values())


@pytest.mark.slow
@pytest.mark.parametrize("qid", SHIPPED)
def test_indicators_sit_at_the_picture_on_its_date(shipped, qid):
    """With the shipped evidence every indicator lies within 0.5 of 0 in September 2024 (on main: unrest +1.9)."""
    result = shipped[qid].fit(**SMALL)
    levels = picture_levels(result).set_index("indicator")
    assert list(levels.index) == list(result.design.indicator_ids) and levels["picture_in_scope"].all()
    conflicts = picture_conflicts(result)
    named = set(conflicts["indicator"])
    for ind, row in levels.iterrows():
        assert abs(row["deviation"]) <= 0.5 or (ind in named and conflicts.set_index("indicator").loc[ind, "items"]), (ind, row["posterior_mean"])
    # measured: every shipped indicator lies within 0.15 of 0, so nothing is named
    assert conflicts.empty, conflicts
    assert levels["deviation"].abs().max() < 0.3, levels


@pytest.mark.slow
def test_picture_conflicts_names_the_item_that_pulls_away(shipped):
    """An A1 report of unrest at +2.5 in the picture's month pulls unrest away from 0: the item is named."""
    q = shipped["belarus-entry"]
    report = located(id="uprising-report", event_date="2024-09-10", published="2024-09-20", indicator="unrest-risk", value=2.5, grade="A1")
    others = [li for li in q.evidence if li.item.indicator == "unrest-risk"]
    result = reduced(q, ["unrest-risk"], evidence=others + [report]).fit(**SMALL)
    conflicts = picture_conflicts(result).set_index("indicator")
    assert list(conflicts.index) == ["unrest-risk"]
    row = conflicts.loc["unrest-risk"]
    assert row["level"] == 0.0 and row["posterior_mean"] > 0.5
    assert row["items"][0]["id"] == "uprising-report" and row["items"][0]["shift"] > 0.5
    assert not any(p["id"].startswith(PICTURE_PREFIX) for p in row["items"])


# -------------------------------------------------------------------------------------------------
# 2. a report moves the forecast by what its grade and strength say


@pytest.mark.slow
def test_one_a1_moderate_report_moves_its_indicator_by_half_the_reported_change(shipped):
    """Otherwise unobserved (no other item, no picture): +0.5 reported at A1 moves the 3-month change by >= 0.25 (main: +0.07)."""
    q = shipped["belarus-entry"]
    report = located(id="integration-report", event_date="2025-09-12", published="2025-09-15", indicator="military-integration",
                     direction="up", strength="moderate", grade="A1")
    changes = {}
    for name, evidence in (("without", []), ("with", [report])):
        r = reduced(q, ["military-integration"], evidence=evidence, picture=False).fit(**SMALL)
        t = month_of(r.design, "2025-09-12")
        level = r.idata["posterior"]["level"].isel(indicator=0)
        changes[name] = float((level.isel(month=t) - level.isel(month=t - 3)).mean())
    assert abs(changes["without"]) < 0.05, changes
    assert changes["with"] - changes["without"] >= 0.25, changes


def test_change_window_before_the_reference_date_is_excluded():
    """A change dated within 3 months of the grid start cannot be measured: excluded with a reason, never 'used'."""
    items = [
        item("early-rise", "signal", "2020-02-10", direction="up", strength="strong", grade="A1"),
        item("in-time-rise", "signal", "2020-04-10", direction="up", strength="strong", grade="A1"),
    ]
    q = question({"signal": ("toward", 0.5)}, items=items)
    d = q.design("2020-12-31")
    assert d.evidence_ids == ("in-time-rise",) and d.evidence_base_month[0] == 0
    reasons = {e.id: e.reason for e in d.excluded}
    assert "early-rise" in reasons and "before the library reference date 2020-01-01" in reasons["early-rise"]


def test_a_change_report_is_graded_on_the_random_walk_scale():
    """Change SD = change_sd / sqrt(weight): A1 0.1, B2 0.133, C3 0.2, F6 2.0; levels keep 0.5 / sqrt(weight)."""
    items = [
        item(f"rise-{g}", "signal", "2020-06-10", direction="up", strength="moderate", grade=g) for g in ("A1", "B2", "C3", "F6")
    ] + [item("level-B2", "signal", "2020-06-10", value=1.0, grade="B2")]
    d = question({"signal": ("toward", 0.5)}, items=items).design("2020-12-31")
    sd = dict(zip(d.evidence_ids, d.evidence_sd))
    assert [round(sd[f"rise-{g}"], 3) for g in ("A1", "B2", "C3", "F6")] == [0.1, 0.133, 0.2, 2.0]
    assert sd["level-B2"] == pytest.approx(0.5 / 0.75)


@pytest.mark.slow
@pytest.mark.parametrize(
    "report",
    [dict(value=1.0, grade="A2"), dict(direction="up", strength="moderate", grade="B2")],
    ids=["A2-level", "B2-moderate-change"],
)
def test_value_of_information_agrees_with_the_refit(shipped, report):
    """VOI's reweighting predicts what a refit with the item finds, within 0.3 points + 20% of the
    move, or within 4 Monte Carlo standard errors of the difference where those are larger (the
    importance-sampling mean loses effective draws: measured, its error is several times the base
    fit's MCSE for a strongly informative item, and two valid fits can differ by a point)."""
    q = reduced(shipped["belarus-entry"], ["military-integration", "unrest-risk", "russian-pressure"])
    fit = dict(SMALL, draws=1000)
    base = q.fit(**fit)
    p = base.p_by(base.headline)
    draws = Draws.from_posterior(base.idata["posterior"].to_dataset(), base.design)
    change = "direction" in report
    predicted, khat = item_move(base.design, draws, p, "military-integration", 0.5 if change else report["value"], report["grade"],
                                q.spec.grading, change=change)
    assert khat < 0.7
    new = located(id="hypothetical", event_date="2025-10-15", published="2025-10-20", indicator="military-integration", **report)
    refit = dataclasses.replace(q, evidence=[*q.evidence, new]).fit(**fit)
    assert refit.design.evidence_ids[-1] == "hypothetical" or "hypothetical" in refit.design.evidence_ids
    observed = float(refit.p_by(base.headline).mean() - p.mean())
    assert abs(observed) > 0.005, observed  # the item matters: a test of agreement, not of two zeros
    # Monte Carlo error of the two means compared: the refit's posterior mean, and the importance-
    # sampling mean of the base draws (the base fit's MCSE inflated by the loss of effective draws)
    mcse_refit = float(refit.summary().set_index("horizon").loc[base.headline, "mcse"])
    mcse_base = float(base.summary().set_index("horizon").loc[base.headline, "mcse"])
    k = list(base.design.indicator_ids).index("military-integration")
    now = draws.level[:, k, base.design.n_months - 1]
    seen = now - draws.level[:, k, base.design.n_months - 1 - CHANGE_WINDOW_MONTHS] if change else now
    log_w = -0.5 * ((report.get("value", 0.5) - seen) / q.spec.grading.sd(report["grade"], change=change)) ** 2
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    ess_is = 1.0 / float(np.sum(w**2))
    mc_error = float(np.hypot(mcse_refit, mcse_base * np.sqrt(w.size / ess_is)))
    # agreement within 0.3 points + 20% of the move, or within 4 Monte Carlo SEs where those are larger
    assert abs(predicted - observed) <= max(0.003 + 0.2 * abs(observed), 4 * mc_error), (predicted, observed, mc_error)


# -------------------------------------------------------------------------------------------------
# 3. direct warning signs


def test_force_posture_indicator_is_an_assumption_in_both_questions(project, shipped):
    ind = shipped["belarus-entry"].library.get("force-posture")
    assert "mobilisation" in ind.description and "border" in ind.scale
    assert ind.level.source.assumption and ind.volatility.source.assumption
    for qid in SHIPPED:
        effect = shipped[qid].spec.indicators["force-posture"]
        assert effect.direction == "toward" and effect.size.source.assumption
    sizes = {qid: shipped[qid].spec.indicators["force-posture"].size.distribution().median() for qid in SHIPPED}
    # entry needs the army moved; Russian strikes from Belarus do not: a larger effect on entry
    assert sizes["belarus-entry"] > 2 * sizes["russia-strikes-from-belarus"]
    assert [str(p) for p in project.validate() if p.severity == "error"] == []


def test_make_design_is_unchanged_without_a_picture():
    """A library without ``picture`` (the test projects) generates nothing."""
    q = question({"signal": ("toward", 0.5)}, items=[item("a", "signal", "2020-06-10", value=1.0, grade="A1")])
    assert q.library.picture is None
    d = make_design(q.spec, q.library, q.evidence, dt.date(2020, 12, 31))
    assert d.evidence_ids == ("a",) and d.generated == ()
    assert np.all(d.evidence_sd == [0.5])

"""Figures that tell the truth: tick labels equal tick values, every item named, check figures laid
out without overlaps and captioned with their verdict.

Most tests draw figures from synthetic inputs (no fit); the two check-figure tests run a small SBC
and a small posterior predictive check through the checks' public ``run`` functions.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from matplotlib.ticker import PercentFormatter

from forecast.reports.style import Provenance, new_figure, percent_axis

from .conftest import item, library, question

PROV = Provenance(question_id="test-question", question="Will the test event happen?", event="the test event happens", as_of=dt.date(2025, 6, 30))


# --------------------------------------------------------------------------------------------------
# helpers


def drawn(fig):
    """Draw ``fig`` (Agg) so tick locations, labels and text extents are final."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig


def percent_ticks(fig) -> list[tuple[str, str, float, str]]:
    """(axes gid, axis, tick value, label) of every visible tick of every percent axis of ``fig``."""
    drawn(fig)
    out = []
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if not isinstance(axis.get_major_formatter(), PercentFormatter):
                continue
            lo, hi = sorted(ax.get_xlim() if name == "x" else ax.get_ylim())
            for tick in axis.get_major_ticks():
                loc = tick.get_loc()
                if tick.label1.get_visible() and lo - 1e-12 <= loc <= hi + 1e-12:
                    out.append((ax.get_gid(), name, loc, tick.label1.get_text()))
    return out


def assert_labels_are_tick_values(fig) -> int:
    """Every percent tick label reads as its tick's value (``"2.5%"`` at 0.025, never ``"2%"``)."""
    ticks = percent_ticks(fig)
    for gid, axis, loc, label in ticks:
        assert label.endswith("%"), (gid, axis, loc, label)
        shown = float(label.rstrip("%").replace("\u2212", "-"))
        assert shown == pytest.approx(100 * loc, abs=1e-9), f"{gid} {axis}-axis: tick at {100 * loc:g}% is labelled {label!r}"
    return len(ticks)


def drawn_tick_labels(ax) -> list:
    """The tick labels matplotlib draws: visible, with their tick inside the view limits."""
    out = []
    for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        lo, hi = sorted((lo, hi))
        for tick in axis.get_major_ticks():
            if lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                out += [t for t in (tick.label1, tick.label2) if t.get_visible()]
    return out


def text_boxes(fig):
    """(owner, text, bbox) of every visible, non-empty text of ``fig``: owner is the axes it belongs to
    (titles, labels, tick labels, annotations) or the figure (suptitle, captions)."""
    drawn(fig)
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts, *drawn_tick_labels(ax)]
        out += [(ax, t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text().strip()]
    figure_texts = [t for t in fig.texts] + [t for t in (fig._suptitle, fig._supxlabel, fig._supylabel) if t is not None]
    out += [(fig, t.get_text(), t.get_window_extent(renderer)) for t in figure_texts if isinstance(t, Text) and t.get_visible() and t.get_text().strip()]
    return out


def overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of texts of different owners (axes or figure) whose boxes overlap."""
    found = []
    for (o1, t1, b1), (o2, t2, b2) in itertools.combinations(text_boxes(fig), 2):
        if o1 is not o2 and b1.overlaps(b2) and b1.width > 0 and b2.width > 0:
            found.append((t1, t2))
    return found


# --------------------------------------------------------------------------------------------------
# axis labels that tell the truth


@pytest.mark.parametrize("top", [0.003, 0.01, 0.05, 0.1, 0.2, 0.25, 0.3, 0.45, 0.6, 0.8, 1.0])
@pytest.mark.parametrize("height", [1.2, 2.5, 4.4])
def test_percent_axis_labels_every_tick_with_its_value(top, height):
    fig = new_figure(5, height)
    ax = fig.add_subplot()
    ax.set_ylim(0, top)
    percent_axis(ax)
    assert assert_labels_are_tick_values(fig) >= 2
    # ticks at 1, 2 or 5 times a power of ten: never the 2.5% steps that round to "2%, 5%, 8%"
    locs = sorted(loc for *_, loc, _ in [(g, a, loc, lab) for g, a, loc, lab in percent_ticks(fig)])
    step = np.diff(locs).min()
    mantissa = step / 10 ** np.floor(np.log10(step))
    assert round(mantissa, 6) in (1.0, 2.0, 5.0), step


def scenario_curves(peak: float) -> pd.DataFrame:
    """Synthetic scenario curves whose highest mean is ``peak``."""
    dates = pd.date_range("2025-07-31", periods=30, freq="ME")
    ramp = np.linspace(0, 1, len(dates))
    rows = []
    for sid, name, scale in (("baseline", "As forecast", 0.6), ("hold-high", "Held high", 1.0), ("hold-low", "Held low", 0.3)):
        mean = peak * scale * ramp
        rows.append(pd.DataFrame({"scenario": sid, "name": name, "description": name, "date": dates, "mean": mean,
                                  "lower_90": mean * 0.2, "upper_90": np.minimum(mean * 2.5, 1.0), "headline": False}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("peak", [0.004, 0.03, 0.06, 0.08, 0.1, 0.13, 0.2, 0.3, 0.5, 0.75])
def test_scenarios_figure_tick_labels_are_tick_values_at_every_scale(peak):
    from forecast.reports import plot_scenarios

    fig = plot_scenarios(scenario_curves(peak), PROV)
    assert assert_labels_are_tick_values(fig) >= 3


def ledger_rows(peak: float, n: int = 8) -> pd.DataFrame:
    """Synthetic ledger rows (replay runs) with headlines rising to ``peak``."""
    horizon = "2026-06-30"
    rows = []
    for i, mean in enumerate(np.linspace(peak / 4, peak, n)):
        as_of = (pd.Timestamp("2024-12-31") + pd.offsets.MonthEnd(i)).date().isoformat()
        hz = [{"horizon": horizon, "mean": mean, "lower_50": mean / 2, "upper_50": mean * 1.4, "lower_90": mean / 5, "upper_90": min(1.0, mean * 2.2)}]
        rows.append({"id": i + 1, "question": "test-question", "kind": "replay", "status": "succeeded", "as_of": as_of, "headline_horizon": horizon,
                     "headline_mean": mean, "horizons": json.dumps(hz), "diagnostics_passed": True})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("peak", [0.01, 0.04, 0.08, 0.12, 0.2, 0.4])
def test_trajectory_figure_tick_labels_are_tick_values_at_every_scale(peak):
    from forecast.reports import plot_trajectory

    spec = question().spec
    fig = plot_trajectory(ledger_rows(peak), PROV, spec, evidence=(), horizon="2026-06-30")
    assert assert_labels_are_tick_values(fig) >= 3


# --------------------------------------------------------------------------------------------------
# truncation and repetition


def test_influence_figure_names_every_item_it_leaves_out():
    from forecast.core.fmt import points
    from forecast.reports import plot_influence

    n = 15
    table = pd.DataFrame({"id": [f"item-{i:02d}" for i in range(n)], "indicator": "a", "grade": "B2", "quote": "q",
                          "influence": np.linspace(0.03, 0.0002, n) * np.where(np.arange(n) % 2, -1, 1), "pareto_k": 0.2, "method": "psis"})
    fig = drawn(plot_influence(table, PROV, top=12))
    (ax,) = [a for a in fig.axes if a.get_gid() == "influence"]
    bars = {label.get_text().split(" (")[0] for label in ax.get_yticklabels()}
    (left_out,) = [t.get_text().replace("\n", " ") for t in fig.texts if t.get_gid() == "left-out"]
    named = {i for i in table["id"] if i in left_out}
    assert bars | named == set(table["id"]) and not bars & named
    for r in table.iloc[12:].itertuples():  # each left-out item with its own influence
        assert f"{r.id} ({points(r.influence)})" in left_out
    assert ax.get_title(loc="left").startswith("12 of 15 items")


def test_influence_figure_of_a_feed_names_thirty_left_out_items_and_counts_the_rest():
    """5,000 items: 12 bars, the next 30 named, the other 4,958 counted with the largest of their
    moves; the figure keeps the height of a few dozen items."""
    from forecast.reports import plot_influence

    n = 5000
    influence = np.linspace(0.02, 1e-5, n) * np.where(np.arange(n) % 2, -1, 1)
    table = pd.DataFrame({"id": [f"feed-{i:04d}" for i in range(n)], "indicator": "a", "grade": "B2", "quote": "q",
                          "influence": influence, "pareto_k": 0.2, "method": "psis"})
    fig = drawn(plot_influence(table, PROV, top=12))
    (left_out,) = [t.get_text().replace("\n", " ") for t in fig.texts if t.get_gid() == "left-out"]
    assert all(f"feed-{i:04d} (" in left_out for i in range(12, 42)) and "feed-0042" not in left_out
    largest = 100 * abs(influence[42])
    assert f"and 4,958 more, each moving the headline by {largest:.1f} pts or less (every item in influence.csv)" in left_out
    assert fig.get_size_inches()[1] < 12


def test_influence_figure_explains_a_pareto_k_when_it_shows_one():
    from forecast.reports import plot_influence

    table = pd.DataFrame({"id": ["a", "b"], "indicator": "x", "grade": "A1", "quote": "q", "influence": [0.02, -0.01],
                          "pareto_k": [0.95, 0.1], "method": ["psis", "psis"]})
    texts = " ".join(t.get_text().replace("\n", " ") for t in drawn(plot_influence(table, PROV)).texts)
    assert "k: the Pareto k" in texts and "above 0.70" in texts
    # the limit the influence table applied (ArviZ's, lower with few draws) is the one the figure names
    table.attrs["k_limit"] = 0.64
    texts = " ".join(t.get_text().replace("\n", " ") for t in drawn(plot_influence(table, PROV)).texts)
    assert "above 0.64" in texts and "above 0.70" not in texts


# --------------------------------------------------------------------------------------------------
# check figures


def sbc_pit(seed: int = 4, sims: int = 40):
    """PIT values of 11 quantities; one (``level_start[b]``) leans far enough to get p < 0.01 without
    reaching the check's Bonferroni thresholds."""
    rng = np.random.default_rng(seed)
    cols = ["baseline_probability"] + [f"{k}[{i}]" for i in "abc" for k in ("effect_size", "volatility", "level_start")] + ["headline"]
    pit = pd.DataFrame(rng.random((sims, len(cols))), columns=cols)
    pit["volatility[b]"] = rng.beta(1.6, 1, sims)
    return pit


def test_sbc_figure_marks_points_only_where_the_check_warns_and_says_why_a_pass_is_a_pass():
    from forecast.checks import sbc
    from forecast.checks.figures import sbc_figure

    pit = sbc_pit()
    table = sbc.uniformity(pit)
    m = len(table)
    table["status"] = np.where(table["p_value"] < sbc.FAIL_ALPHA / m, "fail", np.where(table["p_value"] < sbc.WARN_ALPHA / m, "warn", "pass"))
    assert (table["status"] == "pass").all() and table["p_value"].min() < 0.01  # a panel with a low, passing p
    fig = sbc_figure(pit, table, "pass", sbc.FAIL_ALPHA, sbc.WARN_ALPHA, "test: SBC")
    assert not overlaps(fig), overlaps(fig)[:5]
    marked = [c for ax in fig.axes for c in ax.collections if len(getattr(c, "get_offsets", lambda: [])())]
    assert not marked  # no highlighted point while the verdict is PASS
    caption = fig._supxlabel.get_text().replace("\n", " ")
    assert caption.startswith("PASS.") and f"fails below p = {sbc.FAIL_ALPHA / m:.2g}" in caption
    low = table.loc[table["p_value"].idxmin()]
    assert f"{low.quantity}, p = {low.p_value:.2g}" in caption and "chance" in caption
    # only the bottom panel of each column carries the x label
    assert sum(ax.get_xlabel() == "PIT" for ax in fig.axes if ax.get_visible()) == 4


def test_sbc_figure_marks_the_quantity_that_fails():
    from forecast.checks import sbc
    from forecast.checks.figures import sbc_figure

    pit = sbc_pit()
    pit["headline"] = np.random.default_rng(0).beta(6, 1, len(pit))  # the truth far above the posterior
    table = sbc.uniformity(pit)
    m = len(table)
    table["status"] = np.where(table["p_value"] < sbc.FAIL_ALPHA / m, "fail", np.where(table["p_value"] < sbc.WARN_ALPHA / m, "warn", "pass"))
    assert table.set_index("quantity").loc["headline", "status"] == "fail"
    fig = sbc_figure(pit, table, "fail", sbc.FAIL_ALPHA, sbc.WARN_ALPHA, "test: SBC")
    caption = fig._supxlabel.get_text().replace("\n", " ")
    assert caption.startswith("FAIL.") and "headline (p = " in caption
    marked = [ax.get_title() for ax in fig.axes for c in ax.collections if len(getattr(c, "get_offsets", lambda: [])())]
    assert "headline" in marked


def evidence_tree(ids, seed=1):
    import xarray as xr

    rng = np.random.default_rng(seed)
    n = len(ids)
    yrep = rng.normal(0, 1, (2, 100, n)) + np.linspace(-1, 1, n)
    obs = np.linspace(-1, 1, n) + rng.normal(0, 0.5, n)
    coords = {"item": list(ids)}
    return xr.DataTree.from_dict({
        "posterior_predictive": xr.Dataset({"evidence": (("chain", "draw", "item"), yrep)}, coords=coords),
        "observed_data": xr.Dataset({"evidence": (("item",), obs)}, coords=coords),
        "log_likelihood": xr.Dataset({"evidence": (("chain", "draw", "item"), -0.5 * (yrep - obs) ** 2)}, coords=coords),
        "posterior": xr.Dataset({"mu": (("chain", "draw"), rng.normal(size=(2, 100)))}),
    })


def test_evidence_and_pareto_k_figures_label_each_item_by_its_id():
    import warnings

    import arviz_stats

    from forecast.checks.figures import evidence_figure, khat_figure

    ids = [f"evidence-item-{i}-with-a-long-id" for i in range(13)]
    tree = evidence_tree(ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        elpd = arviz_stats.loo(tree, pointwise=True, var_name="evidence")
    for fig in (evidence_figure(tree, ids, "test: evidence"), khat_figure(elpd, ids, 0.7, "test: k")):
        drawn(fig)
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == ids
        assert list(ax.get_xticks()) == list(range(len(ids)))
        assert ax.get_xlabel() == "evidence item" and "index" not in ax.get_xlabel()
        assert not overlaps(fig), overlaps(fig)[:5]


@pytest.mark.slow
def test_sbc_check_figure_has_no_overlapping_labels_and_a_caption(tmp_path):
    import dataclasses

    from forecast.checks import sbc
    from forecast.checks.context import QUICK, CheckContext

    # one indicator: five quantities, two rows of panels (where titles met the x labels above them)
    one = question(effects={"a": ("toward", 1.0)}, baseline=(1.0, 30.0), risk_window_start="2020-01-01",
                   horizons=("2021-06-30", "2021-12-31"), lib=library({"a": {"level": (0.0, 1.0), "volatility": 0.1}}),
                   items=[item("a1", "a", "2020-02-15", value=0.3)])
    ctx = CheckContext(one, as_of="2020-12-31", seed=3, out=tmp_path, sizes=dataclasses.replace(QUICK, sbc_draws=60, sbc_tune=80, sbc_rank_draws=60))
    result = sbc.run(ctx, sims=10)
    fig = result.figures["sbc_ecdf"]
    assert not overlaps(fig), overlaps(fig)[:5]
    caption = fig._supxlabel.get_text().replace("\n", " ")
    assert caption.startswith(result.status.upper() + ".") and "Bonferroni" in caption


@pytest.mark.slow
def test_posterior_predictive_check_figures_name_the_evidence_items(tmp_path):
    import dataclasses

    from forecast.checks import posterior_predictive
    from forecast.checks.context import QUICK, CheckContext
    from tests.test_checks import two_indicator_question

    # the checks' two-indicator question (its compiled model is shared with their tests)
    q = two_indicator_question()
    ctx = CheckContext(q, as_of="2020-12-31", seed=3, out=tmp_path, sizes=dataclasses.replace(QUICK, fit_draws=150, fit_tune=150))
    result = posterior_predictive.run(ctx)
    assert not result.metrics["figure_errors"]
    for name in ("evidence_intervals", "pareto_k"):
        ax = drawn(result.figures[name]).axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == list(ctx.design.evidence_ids), name
        assert "index" not in ax.get_xlabel().lower()

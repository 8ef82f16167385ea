"""The briefing pack: every figure for both shipped questions, the one-page PDF, the HTML page.

Each shipped question is fitted once (small settings, recorded in a throw-away ledger); every test
reuses those fits. Replay rows with known numbers are added to the ledger so the trajectory has a
history to draw and the tests know exactly what it must show.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import html
import json
import re
import warnings

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from typer.testing import CliRunner

import forecast
from forecast.cli import app
from forecast.core.fmt import percent
from forecast.inference.question import Question
from forecast.inference.store import inputs_changed_since, load_result
from forecast.inputs.evidence import EvidenceItem, LocatedItem
from forecast.reports.brief import make_figures
from forecast.reports.content import FIGURES, collect
from forecast.reports.html import render_html
from forecast.reports.pdf import page_figure, write_pdf
from forecast.reports.trajectory import trajectory_frame
from forecast.runs.ledger import Ledger
from forecast.runs.update import update

from .conftest import ROOT

SHIPPED = ["belarus-entry", "russia-strikes-from-belarus"]
AS_OF = "2025-10-31"
SMALL = dict(draws=200, tune=200, chains=2)
BRIEFED = "russia-strikes-from-belarus"  # the question briefed through the CLI (the cheaper of the two)
HOSTILE = '<script>alert("x")</script><b>bold</b> & <img src=x onerror=alert(1)> $\\frac{$'

# replay points added to the ledger: (as-of, mean of the headline and of the rolling headline);
# the duplicate date checks that the later run wins, so the trajectory must show 0.02, 0.06, 0.05
# (consecutive months: one line), 0.03 (a point) and then the real update (a point)
PAST = [("2024-10-31", 0.02), ("2024-11-30", 0.04), ("2024-11-30", 0.06), ("2024-12-31", 0.05), ("2025-02-28", 0.03)]


@pytest.fixture(scope="session")
def ledger_runs(tmp_path_factory, project):
    """One small update per shipped question in a throw-away ledger, plus synthetic replay rows."""
    path = tmp_path_factory.mktemp("brief-ledger") / "ledger.sqlite"
    ledger = Ledger(path)
    outcomes = {}
    for qid in SHIPPED:
        outcome = update(qid, as_of=AS_OF, root=ROOT, ledger_path=path, **SMALL)
        assert outcome.status == "succeeded", outcome.message
        row = ledger.get(outcome.run_id)
        for as_of, mean in PAST:
            rid = ledger.start(qid, dt.date.fromisoformat(as_of), "replay", 1, {}, f"synthetic-{as_of}")
            horizons = copy.deepcopy(row["horizons"])
            for h in horizons:
                h.update(mean=mean, lower_50=mean / 2, upper_50=mean * 1.5, lower_90=mean / 4, upper_90=mean * 3)
            rolling = {"rolling_months": row["rolling_months"], "rolling_mean": mean, "rolling_lower_50": mean / 2, "rolling_upper_50": mean * 1.5,
                       "rolling_lower_90": mean / 4, "rolling_upper_90": mean * 3, "rolling_mcse": 0.001, "rolling_term": "almost no chance"}
            ledger.succeed(rid, {"headline_horizon": row["headline_horizon"], "headline_mean": mean, "horizons": horizons,
                                 "diagnostics_passed": True, "changes": {"replay": True}, **rolling})
        failed = ledger.start(qid, dt.date(2025, 3, 31), "replay", 1, {}, "synthetic-failed")
        ledger.fail(failed, "synthetic failure: must not appear in the trajectory")
        outcomes[qid] = (outcome, ledger.get(outcome.run_id))
    return path, outcomes


@pytest.fixture(scope="session")
def contents(ledger_runs, project):
    """The brief content of each shipped question's update (influence by PSIS only: no refits)."""
    path, outcomes = ledger_runs
    ledger = Ledger(path)
    return {qid: collect(outcome.result, Question.from_inputs(project.load(qid)), run=row, ledger=ledger, influence_refits=0)
            for qid, (outcome, row) in outcomes.items()}


@pytest.fixture(scope="session")
def figures(contents):
    return {qid: make_figures(c) for qid, c in contents.items()}


@pytest.fixture(scope="session")
def written(ledger_runs, tmp_path_factory):
    """``forecast brief`` through the CLI (the brief of the recorded update)."""
    path, outcomes = ledger_runs
    out = tmp_path_factory.mktemp("brief-out") / "pack"
    run_id = outcomes[BRIEFED][0].run_id
    res = CliRunner().invoke(app, ["brief", BRIEFED, "--run", str(run_id), "--out", str(out), "--ledger", str(path),
                                   "--root", str(ROOT), "--influence-refits", "0"])
    assert res.exit_code == 0, res.output
    return out, res.output


def expected_figures(question) -> set[str]:
    """Every figure; the scenarios figure only when the spec declares scenarios."""
    return set(FIGURES) - (set() if question.spec.scenarios else {"scenarios"})


def texts(fig) -> list[str]:
    """Every figure-level text, wrapped lines joined."""
    return [t.get_text().replace("\n", " ") for t in fig.texts] + ([fig._suptitle.get_text().replace("\n", " ")] if fig._suptitle else [])


def axes_by_gid(fig, gid: str):
    found = [ax for ax in fig.axes if ax.get_gid() == gid]
    assert len(found) == 1, [ax.get_gid() for ax in fig.axes]
    return found[0]


# --------------------------------------------------------------------------------------------------
# figures


@pytest.mark.parametrize("qid", SHIPPED)
def test_every_figure_is_titled_with_question_and_as_of_and_carries_the_source_line(figures, contents, qid):
    c = contents[qid]
    assert set(figures[qid]) == expected_figures(c.question)
    for name, fig in figures[qid].items():
        words = texts(fig)
        assert words[-1] == c.question.spec.question, name
        assert any(f"as of {AS_OF}" in t for t in words), (name, words)
        source = next(t for t in words if t.startswith("Source:"))
        assert f"run {c.run['id']}" in source and c.run["spec_fingerprint"][:8] in source and c.run["evidence_fingerprint"][:8] in source
        # a flagged fit says so on every figure, a clean one does not
        assert any("DIAGNOSTICS FLAGGED" in t for t in words) == (not c.passed), name


@pytest.mark.parametrize("qid", SHIPPED)
def test_trajectory_draws_the_ledger_runs_of_the_rolling_headline(figures, contents, qid):
    c = contents[qid]
    fig = figures[qid]["trajectory"]
    ax, strip = axes_by_gid(fig, "trajectory"), axes_by_gid(fig, "evidence")

    def dates(line):
        return [mdates.num2date(x).date().isoformat() for x in mdates.date2num(line.get_xdata())]

    # the replay's consecutive monthly points are one line; every other run is a point, joined to nothing
    (mean_line,) = [line for line in ax.lines if line.get_label() == "mean"]
    assert np.allclose(mean_line.get_ydata(), [0.02, 0.06, 0.05])
    assert dates(mean_line) == ["2024-10-31", "2024-11-30", "2024-12-31"]
    (runs,) = [line for line in ax.lines if line.get_label() == "run"]
    assert np.allclose(runs.get_ydata(), [0.03, c.run["rolling_mean"]]) and runs.get_linestyle() == "None"
    assert dates(runs) == ["2025-02-28", AS_OF]
    bands = [coll for coll in ax.collections if isinstance(coll, PolyCollection) and coll.get_label() in ("50% interval", "90% interval")]
    assert sorted(b.get_label() for b in bands) == ["50% interval", "90% interval"]
    assert ax.get_ylabel() == f"P(event within {c.run['rolling_months']} months)"
    # ICD 203 bands: shaded spans on the y axis, named at the right
    assert "almost no chance" in [t.get_text() for t in ax.texts]
    # evidence: one marker per item about the question published inside the plotted period
    start = mdates.num2date(ax.get_xlim()[0]).date()
    wanted = {li.item.id for li in c.question.evidence
              if (li.item.indicator in c.question.spec.indicators or li.item.question == qid) and start <= li.item.published <= c.result.as_of}
    drawn = sum(len(line.get_xdata()) for line in strip.lines if line.get_label().startswith("grade "))
    assert drawn == len(wanted) > 0


def test_trajectory_frame_follows_one_quantity_and_skips_failed_and_later_runs(ledger_runs):
    path, outcomes = ledger_runs
    runs = Ledger(path).history("belarus-entry")
    frame = trajectory_frame(runs)
    assert list(frame["mean"][:4]) == [0.02, 0.06, 0.05, 0.03]
    assert "synthetic failure" not in str(frame) and len(frame) == 5
    early = trajectory_frame(runs, until_as_of="2025-01-15")
    assert list(early["mean"]) == [0.02, 0.06, 0.05]
    # a horizon before a run's as-of date is not in that run's table: the run drops out
    first_horizon = outcomes["belarus-entry"][1]["horizons"][0]["horizon"]
    assert set(trajectory_frame(runs, horizon=first_horizon)["horizon"]) == {first_horizon}


@pytest.mark.parametrize("qid", SHIPPED)
def test_by_date_curve_starts_at_zero_and_passes_through_every_horizon(figures, contents, qid):
    result = contents[qid].result
    ax = axes_by_gid(figures[qid]["by_date"], "by_date")
    lines = {line.get_label(): line for line in ax.lines}
    curve = result.curve()
    assert np.allclose(lines["mean"].get_ydata(), [0.0, *curve["mean"]])
    assert np.allclose(lines["horizons"].get_ydata(), result.summary()["mean"])
    assert len([c for c in ax.collections if isinstance(c, PolyCollection) and "interval" in c.get_label()]) == 2
    head = result.summary().set_index("horizon").loc[result.headline]
    assert any(percent(head["mean"]) in t.get_text() and str(result.headline) in t.get_text() for t in ax.texts)


@pytest.mark.parametrize("qid", SHIPPED)
def test_drivers_push_is_effect_times_current_level(figures, contents, qid):
    c = contents[qid]
    table = c.drivers
    post = c.result.idata["posterior"]
    k = list(c.result.design.indicator_ids)
    effect = np.asarray(post["effect"].values).reshape(-1, len(k))
    level = np.asarray(post["level"].values)[..., -1].reshape(-1, len(k))
    for row in table.itertuples():
        i = k.index(row.indicator)
        assert row.push_mean == pytest.approx((effect[:, i] * level[:, i]).mean())
        assert row.p_toward == pytest.approx((effect[:, i] * level[:, i] > 0).mean())
        assert np.sign(row.effect_mean) == c.question.spec.indicators[row.indicator].sign
    assert list(table["push_mean"].abs()) == sorted(table["push_mean"].abs(), reverse=True)
    fig = figures[qid]["drivers"]
    for gid in ("effect", "level", "push"):
        ax = axes_by_gid(fig, gid)
        assert len(ax.get_yticks()) == len(k)
    names = {i.id: i.name for i in c.question.library.indicators}
    ax = axes_by_gid(fig, "effect")
    labels = [t.get_text().replace("\n", " ") for _, t in sorted(zip(ax.get_yticks(), ax.get_yticklabels()), key=lambda p: -p[0])]
    assert labels == [f"{names[i]} ({c.question.spec.indicators[i].direction})" for i in table["indicator"]]


@pytest.mark.parametrize("qid", SHIPPED)
def test_prior_posterior_has_a_panel_per_indicator_and_the_baseline(figures, contents, qid):
    c = contents[qid]
    fig = figures[qid]["prior_posterior"]
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_gid() for ax in panels] == ["baseline_probability"] + [f"effect_size[{k}]" for k in c.result.design.indicator_ids]
    for ax in panels:  # two series: the posterior (filled) and the prior (dashed outline)
        assert sorted(p.get_label() for p in ax.patches) == ["posterior", "prior"]
    from forecast.reports import prior_posterior_table

    table = prior_posterior_table(c.result).set_index("parameter")
    prior = np.asarray(c.result.idata["prior"]["baseline_probability"].values).reshape(-1)
    post = np.asarray(c.result.idata["posterior"]["baseline_probability"].values).reshape(-1)
    assert table.loc["baseline_probability", "shift"] == pytest.approx((post.mean() - prior.mean()) / prior.std())


@pytest.mark.parametrize("qid", SHIPPED)
def test_influence_bars_are_the_influence_table(figures, contents, qid):
    c = contents[qid]
    assert set(c.influence["id"]) == set(c.result.design.evidence_ids)
    ax = axes_by_gid(figures[qid]["influence"], "influence")
    shown = c.influence.head(12)
    widths = [bar.get_width() for bar in ax.patches]
    assert np.allclose(widths, 100 * shown["influence"])
    top_down = [label.get_text() for _, label in sorted(zip(ax.get_yticks(), ax.get_yticklabels()), key=lambda p: -p[0])]
    assert top_down == [f"{i} ({g})" for i, g in zip(shown["id"], shown["grade"])]  # largest |influence| at the top


@pytest.mark.parametrize("qid", SHIPPED)
def test_scenarios_figure_has_one_line_per_declared_scenario(figures, contents, qid):
    c = contents[qid]
    declared = c.question.spec.scenarios
    if not declared:
        pytest.skip(f"{qid} declares no scenarios")
    ax = axes_by_gid(figures[qid]["scenarios"], "scenarios")
    assert [line.get_label() for line in ax.lines if not line.get_label().startswith("_")] == ["as forecast"] + [s.name for s in declared]
    head = c.scenario_headlines.set_index("scenario")
    assert head.loc["baseline", "mean"] == pytest.approx(c.headline["mean"])  # the baseline is the forecast


@pytest.mark.parametrize("qid", SHIPPED)
def test_diagnostics_panel_has_a_rank_plot_per_parameter_group_and_one_line_per_chain(figures, contents, qid):
    c = contents[qid]
    fig = figures[qid]["diagnostics"]
    ranks = [ax for ax in fig.axes if (ax.get_gid() or "").startswith("rank:")]
    groups = [n for n in ("baseline_probability", "level_start", "volatility", "effect_size", "innovation") if n in c.result.idata["posterior"]]
    assert [ax.get_gid().split(":")[1].split("[")[0] for ax in ranks] == groups + [f"P(event by {c.result.headline})"]
    for ax in ranks:
        assert len(ax.patches) == SMALL["chains"]  # one rank histogram per chain
        assert sum(p.get_data()[0].sum() for p in ax.patches) == SMALL["chains"] * SMALL["draws"]
    warning = [t for t in fig.texts if t.get_gid() == "warning"]
    assert bool(warning) == (not c.passed)
    for problem in c.problems:
        assert problem in warning[0].get_text()


# --------------------------------------------------------------------------------------------------
# the pack


def test_cli_writes_a_one_page_pdf_html_and_png_svg_figures(written, ledger_runs, project):
    from pypdf import PdfReader

    out, output = written
    row = ledger_runs[1][BRIEFED][1]
    reader = PdfReader(out / "brief.pdf")
    assert len(reader.pages) == 1
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = " ".join(reader.pages[0].extract_text().split())  # the sentence may wrap
    assert f"= {percent(row['headline_mean'])} (90%: {percent(row['headline_lower_90'])}-{percent(row['headline_upper_90'])})" in text
    assert f"run {row['id']}" in text and row["spec_fingerprint"] in text  # the footer
    for name in expected_figures(Question.from_inputs(project.load(BRIEFED))):
        for ext in ("png", "svg"):
            assert (out / "figures" / f"{name}.{ext}").stat().st_size > 5000, (name, ext)
    assert (out / "figures" / "trajectory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (out / "figures" / "by_date.svg").read_text()[:2000]
    # every item's influence, one row each (the figure and the page show the largest)
    table = pd.read_csv(out / "influence.csv")
    result = ledger_runs[1][BRIEFED][0].result
    assert sorted(table["id"]) == sorted(result.design.evidence_ids) and {"influence", "method", "pareto_k"} <= set(table.columns)
    assert not list(out.rglob("*.tmp"))  # atomic writes leave no temp files


def test_html_carries_the_ledger_headline_and_embeds_every_image(written, ledger_runs, project):
    out, _ = written
    row = ledger_runs[1][BRIEFED][1]
    page = (out / "brief.html").read_text()
    assert re.search(rf'id="headline-mean">{re.escape(percent(row["headline_mean"]))}<', page)
    assert f'id="headline-interval">{html.escape(percent(row["headline_lower_90"]))}-{html.escape(percent(row["headline_upper_90"]))}<' in page
    assert f'id="headline-term">{row["headline_term"]}<' in page
    assert f"P(by {row['headline_horizon']})" in page
    assert page.count('src="data:image/png;base64,') == len(expected_figures(Question.from_inputs(project.load(BRIEFED))))
    assert "<script" not in page.lower() and 'src="http' not in page  # self-contained, nothing runs


@pytest.mark.parametrize("qid", SHIPPED)
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_the_page_content_fits_above_the_footer(contents, qid, paper):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # page_figure warns when the content runs into the footer
        fig = page_figure(contents[qid], paper)
    assert tuple(round(x, 2) for x in fig.get_size_inches()) == {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}[paper]


def test_letter_paper_and_a_bad_paper_size(contents, tmp_path):
    from pypdf import PdfReader

    pdf = write_pdf(contents["russia-strikes-from-belarus"], tmp_path / "letter.pdf", paper="letter")
    page = PdfReader(pdf).pages
    assert len(page) == 1 and (round(float(page[0].mediabox.width)), round(float(page[0].mediabox.height))) == (612, 792)
    with pytest.raises(ValueError, match="paper"):
        page_figure(contents["russia-strikes-from-belarus"], paper="a5")
    res = CliRunner().invoke(app, ["brief", "belarus-entry", "--paper", "a5", "--root", str(ROOT), "--ledger", str(tmp_path / "l.sqlite")])
    assert res.exit_code == 2 and "a4, letter" in res.output


def test_cli_names_a_run_that_does_not_exist(ledger_runs, tmp_path):
    path, outcomes = ledger_runs
    other = outcomes["russia-strikes-from-belarus"][0].run_id
    res = CliRunner().invoke(app, ["brief", "belarus-entry", "--run", str(other), "--ledger", str(path), "--root", str(ROOT), "--out", str(tmp_path)])
    assert res.exit_code == 1 and f"no run {other} of belarus-entry" in res.output
    assert not (tmp_path / "brief.pdf").exists()


def hostile(question: Question) -> Question:
    """The same question with every evidence quote replaced by markup, script and a broken formula."""
    items = [LocatedItem(item=li.item.model_copy(update={"quote": HOSTILE}), file=li.file, line=li.line) for li in question.evidence]
    return dataclasses.replace(question, evidence=items)


def test_evidence_text_is_escaped_in_the_html_and_drawn_literally_on_the_page(contents, ledger_runs, project):
    c = contents["belarus-entry"]
    path, outcomes = ledger_runs
    # hostile quotes change the evidence fingerprint, so this content is not tied to the ledger run
    bad = collect(c.result, hostile(c.question), runs=c.runs, influence_refits=0, scenarios=False)
    files = {li.item.id for li in bad.question.evidence}  # the generated source-picture items keep the library's wording
    from_files = bad.influence[bad.influence["id"].isin(files)]
    assert len(from_files) and (from_files["quote"] == HOSTILE).all()
    page = render_html(bad, images={})
    assert "<script" not in page.lower() and "<b>bold" not in page and "<img src=x" not in page
    shown = bad.top_evidence()
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; &lt;img src=x") == shown["id"].isin(files).sum() > 0
    fig = page_figure(bad)
    fig.canvas.draw()  # a "$" would start mathtext and this unbalanced formula would raise
    assert any(t.get_text().startswith('<script>alert("x")') for t in fig.texts)


def test_a_flagged_fit_carries_a_visible_warning_and_a_clean_one_does_not(contents):
    c = contents["russia-strikes-from-belarus"]
    for passed in (True, False):
        diagnostics = dataclasses.replace(c.result.diagnostics, passed=passed, problems=[] if passed else ["r_hat 1.200 > 1.01 (innovation)"])
        result = dataclasses.replace(c.result, diagnostics=diagnostics)
        content = dataclasses.replace(c, result=result, provenance=dataclasses.replace(c.provenance, diagnostics_passed=passed))
        page = render_html(content, images={})
        assert ('class="warning"' in page) == (not passed)
        assert ("r_hat 1.200 &gt; 1.01 (innovation)" in page) == (not passed)
        fig = page_figure(content)
        assert any(t.get_text().startswith("WARNING: the sampling diagnostics flag this fit") for t in fig.texts) == (not passed)


def test_load_result_rebuilds_the_recorded_fit(ledger_runs, project):
    path, outcomes = ledger_runs
    outcome, row = outcomes["belarus-entry"]
    question = Question.from_inputs(project.load("belarus-entry"))
    loaded = load_result(row, question)
    pd.testing.assert_frame_equal(loaded.summary(), outcome.result.summary())
    pd.testing.assert_frame_equal(loaded.curve(), outcome.result.curve())
    assert loaded.headline_sentence() == outcome.result.headline_sentence()
    assert loaded.diagnostics.passed == outcome.result.diagnostics.passed and loaded.diagnostics.table is not None
    assert inputs_changed_since(row, question) == []
    with pytest.raises(ValueError, match="not of 'belarus-entry'"):
        load_result(outcomes["russia-strikes-from-belarus"][1], question)


def test_a_brief_of_a_run_whose_evidence_changed_since_leaves_influence_out(contents, ledger_runs):
    c = contents["belarus-entry"]
    path, _ = ledger_runs
    first = c.question.evidence[0]
    edited = LocatedItem(item=EvidenceItem.model_validate({**first.item.model_dump(), "grade": "F6"}), file=first.file, line=first.line)
    question = dataclasses.replace(c.question, evidence=[edited, *c.question.evidence[1:]])
    assert inputs_changed_since(c.run, question) == ["evidence"]
    stale = collect(c.result, question, run=c.run, ledger=Ledger(path))
    assert stale.influence is None and stale.scenarios is None
    assert any("evidence changed since run" in n for n in stale.notes["general"])
    assert f"evidence changed since run {c.run['id']}" in render_html(stale, images={})


def test_plots_return_the_brief_figures(contents, ledger_runs):
    c = contents["russia-strikes-from-belarus"]
    path, _ = ledger_runs
    r = c.result
    expected = {
        "trajectory": forecast.plots.trajectory(r, c.question, history=Ledger(path).history(r.spec.id)),
        "by_date": forecast.plots.by_date(r),
        "effect": forecast.plots.drivers(r, c.question),
        "baseline_probability": forecast.plots.prior_posterior(r),
        "influence": forecast.plots.influence(r, c.question, refit=False),
        "table": forecast.plots.diagnostics(r),
    }
    if c.scenarios is not None:
        expected["scenarios"] = forecast.plots.scenarios(r, curves=c.scenarios)
    for gid, fig in expected.items():
        assert gid in [ax.get_gid() for ax in fig.axes], gid
        assert texts(fig)[-1] == r.spec.question
    # the notebook figure is the brief's figure: the same curve
    (mean,) = [line for line in axes_by_gid(expected["by_date"], "by_date").lines if line.get_label() == "mean"]
    assert np.allclose(mean.get_ydata(), [0.0, *r.curve()["mean"]])


def test_influence_bars_mark_refits_by_hatching_and_unreliable_psis_by_k(contents):
    from forecast.reports import plot_influence

    table = pd.DataFrame({
        "id": ["strong", "shaky", "plain"], "indicator": ["a", "b", "c"], "grade": ["A1", "B2", "C3"], "quote": ["q"] * 3,
        "influence": [-0.04, 0.02, 0.001], "pareto_k": [0.9, 0.8, 0.2], "method": ["refit", "psis", "psis"],
    })
    ax = axes_by_gid(plot_influence(table, contents["belarus-entry"].provenance), "influence")
    hatches = {label.get_text(): bar.get_hatch() for bar, (_, label) in zip(
        ax.patches, sorted(zip(ax.get_yticks(), ax.get_yticklabels()), key=lambda p: -p[0]))}
    assert hatches == {"strong (A1)": "////", "shaky (B2)": None, "plain (C3)": None}
    notes = [t.get_text() for t in ax.texts]
    assert notes == ["-4.0 pts", "+2.0 pts  (k=0.80)", "+0.1 pts"]  # k shown only where PSIS was kept above 0.7


# --------------------------------------------------------------------------------------------------
# briefings read at a glance: axis labels, meanings, nothing cut, one number format, prior sensitivity


def pdf_text(path) -> str:
    """The text of a one-page PDF, every run of whitespace one space (wrapped lines joined)."""
    from pypdf import PdfReader

    return " ".join(PdfReader(path).pages[0].extract_text().split())


def squash(text: str) -> str:
    return " ".join(str(text).split())


@pytest.mark.parametrize("qid", SHIPPED)
def test_every_percent_axis_of_every_figure_and_of_the_page_labels_each_tick_with_its_value(figures, contents, qid):
    from .test_figures import assert_labels_are_tick_values, percent_ticks

    c = contents[qid]
    pages = {paper: page_figure(c, paper) for paper in ("a4", "letter")}
    checked = set()
    for name, fig in [*figures[qid].items(), *pages.items()]:
        assert_labels_are_tick_values(fig)
        checked |= {(name, gid) for gid, *_ in percent_ticks(fig)}
    wanted = {("trajectory", "trajectory"), ("by_date", "by_date"), ("a4", "page:trajectory"), ("a4", "page:by_date"),
              ("letter", "page:by_date")} | ({("scenarios", "scenarios"), ("a4", "page:scenarios")} if c.scenarios is not None else set())
    assert wanted <= checked, wanted - checked


def test_the_page_and_the_web_page_say_what_every_number_means(written, ledger_runs):
    out, _ = written
    text = pdf_text(out / "brief.pdf")
    page = (out / "brief.html").read_text()
    web = squash(html.unescape(re.sub(r"<[^>]+>", " ", page)))
    from forecast.reports.content import GLOSSARY, SECTION_TERMS

    for section, terms in SECTION_TERMS.items():
        for term in terms:
            meaning = f"{term}: {GLOSSARY[term]}."
            if term == "Pareto k":  # under an influence table, the one line on k names the limit the table applied
                meaning = "Pareto k: how reliable a psis estimate is; up to"
            assert squash(meaning) in web, (section, term)
            # the page may hyphen-free wrap the sentence anywhere; its words are all there, in order
            assert squash(meaning) in text, (section, term)
    # the headline's numbers, the diagnostics line and the fingerprints are explained too
    for words in ("How to read it:", "is the average of the model's plausible values", "(the 90% interval: how unsure we are about the probability itself)",
                  "Diagnostics are checks of the sampling: r_hat (chains agree", "Fingerprints identify the exact files, code and settings of the run"):
        assert words in text and words in web, words
    # every table header carries its meaning as a tooltip in the web page
    assert 'title="the probability that the push now is above 0, i.e. toward the event">P(toward)</th>' in page


def test_a_skewed_headline_is_explained_in_plain_words(contents):
    from forecast.reports.content import skew_note

    skewed = {"mean": 0.046, "median": 0.011, "lower_50": 0.003, "upper_50": 0.039, "lower_90": 0.0002, "upper_90": 0.214, "term": "almost no chance"}
    note = skew_note(skewed)
    assert note.startswith("Why the average is above most plausible values: half of them lie between <1% and 4% (median 1%)")
    assert "up to 21%, pull the average up to 5%" in note and '"almost no chance" describes the average' in note
    assert skew_note({**skewed, "mean": 0.02}) is None  # inside the 50% interval: nothing to explain
    c = contents["belarus-entry"]
    forced = dataclasses.replace(c, headline={**c.headline, **skewed})
    fig = page_figure(forced)
    assert any(t.get_text().replace("\n", " ").startswith("Why the average is above most plausible values") for t in fig.texts)
    assert "Why the average is above most plausible values" in render_html(forced, images={})
    # the real headline gets the note exactly when its mean lies above its 50% interval
    head = c.headline
    assert ("Why the average" in render_html(c, images={})) == (head["mean"] > head["upper_50"])


@pytest.mark.parametrize("qid", SHIPPED)
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_the_pdf_cuts_no_text(contents, qid, paper, tmp_path):
    c = contents[qid]
    path = write_pdf(c, tmp_path / "brief.pdf", paper)
    text = pdf_text(path)
    assert "..." not in text and "\u2026" not in text
    rows = getattr(page_figure(c, paper), "brief_rows", {"drivers": 5, "evidence": 5})
    assert rows["drivers"] >= 3 and rows["evidence"] >= 3
    for name in c.top_drivers(rows["drivers"])["name"]:
        assert squash(name) in text, name
    for quote in c.top_evidence(rows["evidence"])["quote"]:
        assert squash(quote) in text, quote
    assert squash(c.title) in text and squash(c.changes) in text


@pytest.mark.parametrize("passed", [True, False])
def test_the_diagnostics_figure_says_its_verdict_once(contents, passed):
    from forecast.reports import plot_diagnostics

    c = contents["russia-strikes-from-belarus"]
    diagnostics = dataclasses.replace(c.result.diagnostics, passed=passed, problems=[] if passed else ["r_hat 1.200 > 1.01 (innovation)"])
    fig = plot_diagnostics(dataclasses.replace(c.result, diagnostics=diagnostics))
    (verdict,) = [t.get_text().lower() for t in fig.texts if t.get_gid() in ("verdict", "warning")]
    said = verdict.count("diagnostics ok") + verdict.count("diagnostics flagged") + verdict.count("diagnostics flag this fit")
    assert said == 1, verdict
    assert f"r_hat max {diagnostics.r_hat_max:.3f}" in verdict


def test_history_prints_percentages_as_update_does(ledger_runs):
    path, outcomes = ledger_runs
    for qid in SHIPPED:
        res = CliRunner().invoke(app, ["history", qid, "--ledger", str(path), "--root", str(ROOT)])
        assert res.exit_code == 0, res.output
        assert not re.search(r"\d\.\d%", res.output), res.output  # no "4.6%", "0.0%-21.4%"
        squashed = re.sub(r"[\s│┃|]+", "", res.output)
        runs = Ledger(path).history(qid)
        # history prints the rolling headline (the same question on every date)
        for rec in runs[runs["rolling_mean"].notna()].to_dict(orient="records"):
            assert re.sub(r"\s+", "", percent(rec["rolling_mean"])) in squashed
        row = outcomes[qid][1]
        interval = f"{percent(row['rolling_lower_90'])}-{percent(row['rolling_upper_90'])}"
        assert interval in squashed, (interval, res.output)


def test_the_reports_use_the_one_html_kit():
    import inspect

    import forecast.core.html as kit
    import forecast.reports.html as brief_html
    import forecast.reports.site as site_html

    for module in (brief_html, site_html):
        source = inspect.getsource(module)
        assert "html.escape(" not in source and "def esc(" not in source and "def _table(" not in source, module.__name__
    assert brief_html.esc is kit.esc and brief_html.table is kit.table


@pytest.mark.parametrize("qid", SHIPPED)
def test_every_brief_carries_the_prior_sensitivity_of_its_headline(contents, qid, tmp_path):
    c = contents[qid]
    s = c.sensitivity
    assert s is not None, c.notes["sensitivity"]
    assert 0 <= s["prior"] and 0 <= s["likelihood"] and s["threshold"] == 0.05
    dominated = s["prior"] >= s["threshold"] and s["likelihood"] < s["threshold"]
    conflict = s["prior"] >= s["threshold"] and s["likelihood"] >= s["threshold"]
    assert s["flag"] == ("prior-dominated" if dominated else "prior-data conflict" if conflict else None)
    assert f"prior sensitivity {s['prior']:.3f}, data sensitivity {s['likelihood']:.3f}" in s["text"]
    assert squash(s["text"]) in pdf_text(write_pdf(c, tmp_path / "b.pdf"))
    page = render_html(c, images={})
    assert 'id="sensitivity"' in page and html.escape(s["text"], quote=True) in page
    # the flag shows: boxed and bold on the page, a bordered paragraph on the web page; absent, a plain line
    for flag in ("prior-dominated", "prior-data conflict", None):
        variant = dataclasses.replace(c, sensitivity={**s, "flag": flag, "text": f"Prior sensitivity: {flag or 'fine'}."})
        (line,) = [t for t in page_figure(variant).texts if t.get_gid() == "sensitivity"]
        assert (line.get_bbox_patch() is not None) == (flag is not None)
        assert ('class="flag" id="sensitivity"' in render_html(variant, images={})) == (flag is not None)


# --------------------------------------------------------------------------------------------------
# the terminal and the notebook


def test_cli_help_has_no_type_tags_and_keeps_every_word_whole():
    import typer.main

    group = typer.main.get_command(app)
    names = [None, *group.commands]
    for name in names:
        res = CliRunner().invoke(app, ([name] if name else []) + ["--help"], terminal_width=100)
        assert res.exit_code == 0, res.output
        out = res.output
        assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>", out), (name, out)
        assert max(len(line) for line in out.splitlines()) <= 100, name
        tokens = set(re.split(r"[\s│╭╮╰╯─]+", out))
        command = group.commands[name] if name else group
        for param in command.params:
            for word in (param.help or "").split():
                assert word in tokens, (name, param.name, word)


def test_progress_bars_render_as_widgets_in_jupyter():
    """rich's progress bars reach a Jupyter kernel as widgets, with no warning about missing ipywidgets.

    The kernel is driven by jupyter_client's blocking client: nbclient's asyncio client sometimes
    misses a cell's reply when the cell opens widgets and then waits for its full timeout."""
    pytest.importorskip("ipykernel")
    from jupyter_client.manager import start_new_kernel

    code = ("import warnings\nwarnings.simplefilter('always')\nfrom rich.progress import Progress\n"
            "with Progress() as bar:\n    task = bar.add_task('sampling', total=3)\n    for _ in range(3):\n        bar.advance(task)\n")
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        messages = []
        reply = kc.execute_interactive(code, timeout=120, output_hook=messages.append)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    outputs = [m["content"] for m in messages if m["msg_type"] in ("stream", "display_data", "execute_result", "error")]
    shown = json.dumps(outputs)  # warnings reach the notebook on stderr or as displayed text
    assert "ipywidgets" not in shown and "IProgress" not in shown, shown
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs), outputs

"""Notebook API: Evidence as a DataFrame, escaped HTML displays, and `forecast new`.

No sampling here: the FitResult display is checked on a result built from known draws.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import math
import shutil

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

import forecast
from forecast import Evidence, InputError
from forecast.cli import app
from forecast.core.fmt import percent
from forecast.inference.diagnostics import SamplingDiagnostics
from forecast.inference.question import Question
from forecast.inference.result import FitResult
from forecast.inputs.evidence import EvidenceItem, read_csv_evidence
from forecast.inputs.project import Project
from forecast.runs.ledger import Ledger

from .conftest import ROOT, item, question

SHIPPED_EVIDENCE = sorted(p.name for p in Project(ROOT).evidence_paths()[0] if p.parent == ROOT / "evidence")  # not the source registry
HOSTILE = '<script>alert("x")</script><b>bold</b> & <img src=x onerror=alert(1)>'


def no_raw_markup(page: str) -> None:
    """The hostile text reached the page only escaped."""
    assert "<script" not in page and "<b>bold" not in page and "<img" not in page
    assert html.escape(HOSTILE, quote=True) in page


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebook") / "project"
    shutil.copytree(ROOT / "models", root / "models")
    shutil.copytree(ROOT / "evidence", root / "evidence")
    return root


# --------------------------------------------------------------------------------------------------
# Evidence <-> DataFrame <-> files


@pytest.mark.parametrize("name", SHIPPED_EVIDENCE)
def test_file_dataframe_file_round_trip(name, tmp_path):
    original = Evidence.from_file(ROOT / "evidence" / name)
    df = original.to_dataframe()
    assert list(df["id"]) == original.ids and pd.api.types.is_datetime64_any_dtype(df["published"])
    back = Evidence.from_dataframe(df, description=original.description)
    assert back.items == original.items
    from_yaml = Evidence.from_file(back.to_yaml(tmp_path / "items.yaml"))
    from_csv = Evidence.from_file(back.to_csv(tmp_path / "items.csv"))
    assert from_yaml.items == original.items and from_csv.items == original.items
    assert from_yaml.description == original.description
    assert [li.line for li in back] == list(range(1, len(df) + 1))
    # the provenance columns say where rows came from and are not read back as fields
    with_provenance = original.to_dataframe(provenance=True)
    assert list(with_provenance["line"]) == [li.line for li in original]
    assert Evidence.from_dataframe(with_provenance).items == original.items


def test_rewritten_files_pass_validate_and_load_the_same_items(project_copy, belarus):
    # replace every shipped evidence file by its file -> DataFrame -> file rewrite
    for name in SHIPPED_EVIDENCE:
        path = project_copy / "evidence" / name
        ev = Evidence.from_dataframe(Evidence.from_file(path).to_dataframe(), description=Evidence.from_file(path).description)
        (ev.to_yaml if path.suffix == ".yaml" else ev.to_csv)(path)
    assert [str(p) for p in Project(project_copy).validate() if p.severity == "error"] == []
    reloaded = Project(project_copy).load("belarus-entry")
    assert sorted(reloaded.evidence.items, key=lambda i: i.id) == sorted(belarus.evidence.items, key=lambda i: i.id)


def test_edited_dataframe_with_bad_grade_names_row_and_field():
    df = Evidence.from_file(ROOT / "evidence" / "article-facts.yaml").to_dataframe()
    df.loc[2, "grade"] = "Z9"
    with pytest.raises(InputError) as exc:
        Evidence.from_dataframe(df, name="facts")
    (problem,) = exc.value.problems
    assert (problem.file, problem.line, problem.field) == ("facts", 3, "grade")
    assert "grade 'Z9' is not an Admiralty grade" in problem.message
    assert str(problem).startswith("facts:3 [grade]: ")


GOOD_ROW = dict(item("good", "unrest-risk", "2024-05-01", "2024-05-02", grade="B2", direction="down", strength="weak"))


@pytest.mark.parametrize(
    "edit",
    [
        {"grade": "Z9"},
        {"grade": "A7"},
        {"published": "2024-04-01"},  # before the event
        {"source": None},  # missing required field
        {"event_date": "2023-02-30"},
        {"direction": "sideways"},
        {"direction": None, "strength": None},  # neither value nor direction
        {"direction": None, "strength": None, "value": math.inf},
        {"resolves": "yes"},  # a resolving item that still observes an indicator
    ],
    ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()),
)
def test_dataframe_row_gives_the_same_problem_as_a_csv_row(edit, tmp_path):
    rows = [dict(GOOD_ROW, id="first"), {**GOOD_ROW, "id": "second", **edit}, dict(GOOD_ROW, id="third")]
    # the CSV file: text cells, empty for missing
    fields = list(EvidenceItem.model_fields)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else str(v) for k, v in row.items()})
    path = tmp_path / "items.csv"
    path.write_text(buffer.getvalue())
    _, file_problems = read_csv_evidence(path)
    # the DataFrame: typed cells, as pandas builds them (dates left as text where they are impossible)
    df = pd.DataFrame(rows, columns=fields)
    for date_field in ("event_date", "published"):
        parsed = pd.to_datetime(df[date_field], errors="coerce")
        if parsed.notna().all():
            df[date_field] = parsed
    with pytest.raises(InputError) as exc:
        Evidence.from_dataframe(df)
    frame_problems = exc.value.problems
    assert file_problems, "the CSV row must be refused too"
    assert [(p.message, p.field) for p in frame_problems] == [(p.message, p.field) for p in file_problems]
    # CSV line 3 is the second data row; DataFrame row 2 is the same row
    assert [p.line for p in file_problems] == [3] * len(file_problems)
    assert [(p.file, p.line) for p in frame_problems] == [("<dataframe>", 2)] * len(frame_problems)


def test_dataframe_unknown_column_duplicate_ids_and_missing_cells():
    df = pd.DataFrame([GOOD_ROW, GOOD_ROW]).rename(columns={"grade": "grde"})
    with pytest.raises(InputError) as exc:
        Evidence.from_dataframe(df)
    assert [(p.message, p.suggestion) for p in exc.value.problems] == [("unknown column 'grde'", "grade")]
    with pytest.raises(InputError) as exc:
        Evidence.from_dataframe(pd.DataFrame([GOOD_ROW, GOOD_ROW]))
    (dup,) = exc.value.problems
    assert dup.line == 2 and "duplicate evidence id 'good' (first defined in <dataframe>:1)" in dup.message
    # NaN and None cells are absent fields, as empty CSV cells are; whole-day timestamps are dates
    level = {**GOOD_ROW, "id": "level", "direction": np.nan, "strength": None, "value": np.float64(1.5)}
    ev = Evidence.from_dataframe(pd.DataFrame([level]).assign(event_date=pd.Timestamp("2024-05-01")))
    assert ev[0].item.value == 1.5 and ev[0].item.direction is None and ev[0].item.event_date == dt.date(2024, 5, 1)


def test_evidence_list_behaviour_filter_and_repr(belarus):
    ev = belarus.evidence
    assert isinstance(ev, Evidence) and isinstance(ev, list)
    assert isinstance(ev[:2], Evidence) and ev[:2].ids == ev.ids[:2]
    unrest = ev.filter(indicator="unrest-risk")
    assert unrest.ids and all(li.item.indicator == "unrest-risk" for li in unrest)
    early = ev.filter(published_by="2024-09-30")
    assert "presidential-election-2025" in ev.ids and "presidential-election-2025" not in early.ids
    assert len(early) == len(ev) - 1
    assert ev.filter(assumption=True).ids == ["presidential-election-2025"]
    with pytest.raises(KeyError, match="did you mean 'protests-2020'"):
        ev.get("protest-2020")
    text = repr(ev)
    assert text.startswith(f"<Evidence: {len(ev)} items") and "\n" not in text and len(text) < 200
    # a Question built from a plain list exposes an Evidence too
    assert isinstance(Question(spec=belarus.spec, library=belarus.library, evidence=list(ev)).evidence, Evidence)


# --------------------------------------------------------------------------------------------------
# HTML displays


def hostile_question() -> Question:
    q = question(
        effects={"signal": ("toward", 0.5)},
        items=[
            item("hostile", "signal", "2021-03-01", grade="C3", value=1.0, quote=HOSTILE, notes=HOSTILE, url="https://example.org/?a=1&b=<x>"),
            item("later", "signal", "2021-04-01", published="2022-06-01", direction="up", strength="strong"),
        ],
    )
    spec = q.spec.model_copy(update={"event": HOSTILE})
    return Question(spec=spec, library=q.library, evidence=q.evidence)


def test_evidence_html_escapes_text_and_is_a_sortable_table():
    ev = hostile_question().evidence
    page = ev._repr_html_()
    no_raw_markup(page)
    assert page.count("<tr>") == 1 + len(ev)  # header + one row per item
    assert "onclick=" in page and "level +1" in page and "up, strong" in page
    assert 'href="https://example.org/?a=1&amp;b=&lt;x&gt;"' in page


def test_question_html_shows_every_prior_with_its_quote(belarus):
    from forecast.inputs.spec import iter_priors

    page = belarus._repr_html_()
    priors = list(iter_priors(belarus.spec, belarus.library))
    for _, prior in priors:
        assert html.escape(prior.source.quote, quote=True) in page
    assert f"{len(belarus.spec.indicators)} indicators" in page
    assert "beta: 90% in [0.01, 0.12]" in page
    no_raw_markup(hostile_question()._repr_html_())
    assert repr(belarus) == f"<Question belarus-entry: {len(belarus.spec.indicators)} indicators, {len(belarus.evidence)} evidence items>"


def known_result(passed: bool) -> tuple[FitResult, np.ndarray]:
    """A FitResult over known draws (2 chains x 200) of P(event by each horizon)."""
    q = hostile_question()
    design = q.design(as_of="2022-01-15")
    horizons = [h for h in q.spec.horizons if h > design.as_of]
    rng = np.random.default_rng(3)
    first = rng.beta(2, 30, size=(2, 200))
    draws = np.stack([first, np.minimum(1, first * 1.8)], axis=-1)
    posterior = xr.Dataset(
        {
            "p_event_by": (("chain", "draw", "horizon"), draws),
            "p_event_curve": (("chain", "draw", "forecast_month"), draws),
        },
        coords={"chain": [0, 1], "draw": np.arange(200), "horizon": [h.isoformat() for h in horizons], "forecast_month": [h.isoformat() for h in horizons]},
    )
    diag = SamplingDiagnostics(
        passed=passed, r_hat_max=1.002 if passed else 1.08, ess_bulk_min=900, ess_tail_min=700, divergences=0 if passed else 3,
        headline_mcse=0.001, n_draws=400, problems=[] if passed else ["3 divergent transitions (allowed 0)"],
    )
    result = FitResult(
        spec=q.spec, design=design, idata=xr.DataTree.from_dict({"posterior": posterior}), horizons=horizons,
        headline=horizons[0], diagnostics=diag, seed=1, n_paths=1,
    )
    return result, draws


def test_fit_result_html_headline_table_and_diagnostics():
    result, draws = known_result(passed=True)
    page = result._repr_html_()
    no_raw_markup(page)
    assert html.escape(result.headline_sentence(), quote=True) in page
    # the headline row carries the mean and 90% interval of the known draws
    first = draws[..., 0].reshape(-1)
    lo, hi = np.quantile(first, [0.05, 0.95])
    assert f"{percent(first.mean())}</td>" in page and f"{percent(lo)}-{percent(hi)}</td>" in page
    assert page.count('<tr class="headline">') == 1
    assert html.escape(result.diagnostics.line()) in page and 'class="forecast-flagged"' not in page
    assert "1 items used, 1 excluded" in page and "published 2022-06-01" in page
    flagged, _ = known_result(passed=False)
    page = flagged._repr_html_()
    assert "[DIAGNOSTICS FLAGGED]" in page and page.count('class="forecast-flagged"') == 2 and "3 divergent transitions" in page


def test_history_view_escapes_and_history_stays_a_dataframe(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ok = ledger.start("belarus-entry", dt.date(2024, 9, 30), "update", 1, {}, "f" * 64)
    ledger.succeed(ok, {"headline_horizon": "2025-12-31", "headline_mean": 0.0512, "headline_lower_90": 0.004, "headline_upper_90": 0.25,
                        "headline_term": "very unlikely", "diagnostics_passed": False, "wall_seconds": 21.0, "changes": {"first_run": True}})
    rolling = ledger.start("belarus-entry", dt.date(2024, 10, 15), "update", 1, {}, "d" * 64)
    ledger.succeed(rolling, {"rolling_months": 12, "rolling_until": "2025-10-15", "rolling_mean": 0.0612, "rolling_lower_90": 0.011,
                             "rolling_upper_90": 0.18, "rolling_term": "very unlikely", "headline_horizon": "2025-12-31", "headline_mean": 0.07,
                             "diagnostics_passed": True, "changes": {"first_run": True}})
    bad = ledger.start("belarus-entry", dt.date(2024, 10, 31), "update", 1, {}, "e" * 64)
    ledger.fail(bad, "bad input: " + HOSTILE)
    df = forecast.history("belarus-entry", root=ROOT, ledger_path=ledger.path)
    assert isinstance(df, pd.DataFrame) and list(df["id"]) == [ok, rolling, bad]
    view = forecast.history_view("belarus-entry", root=ROOT, ledger_path=ledger.path)
    page = view._repr_html_()
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    # a run recorded before the rolling headline shows its fixed date; the others P(within 12 months)
    assert "5% by 2025-12-31" in page and "&lt;1%-25%" in page and "FLAGGED" in page and "first run" in page
    assert "6% within 12 months" in page and "1%-18%" in page and "7% by" not in page
    assert page.count("<tr>") == 4
    assert repr(view) == f"<HistoryView: 3 runs; last run {bad} (update, failed, as of 2024-10-31)>"


# --------------------------------------------------------------------------------------------------
# forecast new


def test_new_question_validates_and_loads(project_copy):
    paths = forecast.new("moldova-entry", root=project_copy, indicators=["unrest-risk", "russian-pressure"], today=dt.date(2025, 3, 10))
    assert paths == {"spec": project_copy / "models" / "moldova-entry.yaml", "evidence": project_copy / "evidence" / "moldova-entry.yaml"}
    problems = Project(project_copy).validate()
    assert [str(p) for p in problems if p.severity == "error"] == []
    # every placeholder is pointed out, as a warning with its line: 3 texts and 3 priors
    placeholders = [p for p in problems if p.file == str(paths["spec"])]
    assert len(placeholders) == 6 and all("placeholder" in p.message and p.severity == "warning" and p.line for p in placeholders)
    q = forecast.load("moldova-entry", root=project_copy)
    assert list(q.spec.indicators) == ["unrest-risk", "russian-pressure"]
    assert q.spec.risk_window_start == dt.date(2025, 3, 10) and q.spec.horizons == [dt.date(2026, 12, 31), dt.date(2027, 12, 31)]
    assert all(e.size.source.assumption for e in q.spec.indicators.values())
    assert len(Evidence.from_file(paths["evidence"])) == 0
    assert q.design(as_of="2025-06-30").n_months > 0  # ready to fit
    commented = [line for line in paths["spec"].read_text().splitlines() if line.split("#")[0].strip()]
    assert sum("#" in line for line in commented) >= 10


def test_new_refuses_bad_ids_unknown_indicators_and_overwrites(project_copy):
    runner = CliRunner()
    args = ["new", "baseline-only", "--root", str(project_copy)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    spec = project_copy / "models" / "baseline-only.yaml"
    spec.write_text(spec.read_text().replace("TODO: the event", "edited"))
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "already exist" in again.output and "--force" in again.output
    assert "edited" in spec.read_text()  # nothing overwritten
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0 and "edited" not in spec.read_text()
    for bad in ("Moldova", "moldova_entry", "moldova--entry", "-x", "indicators"):
        with pytest.raises(InputError, match="kebab-case|indicator library"):
            forecast.new(bad, root=project_copy)
    with pytest.raises(InputError) as exc:
        forecast.new("with-typo", root=project_copy, indicators=["unrest-rsk"])
    assert exc.value.problems[0].suggestion == "unrest-risk"
    assert not (project_copy / "models" / "with-typo.yaml").exists()
    assert [p for p in Project(project_copy).validate() if p.severity == "error"] == []

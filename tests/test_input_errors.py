"""Bad input gets a clear error (file, line, field, near-miss), exit 1, and nothing is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import forecast
from forecast.cli import app
from forecast.core.errors import InputError
from forecast.inputs.project import Project

from .conftest import ROOT

GOOD_ITEM = """  - id: {id}
    event_date: 2024-05-01
    published: 2024-05-02
    indicator: unrest-risk
    direction: down
    strength: weak
    source: test
    grade: B2
    quote: test
"""


@pytest.fixture
def proj(tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ROOT / "models", root / "models")
    shutil.copytree(ROOT / "evidence", root / "evidence")
    return root


def write_items(root: Path, body: str, name="extra.yaml") -> Path:
    path = root / "evidence" / name
    path.write_text("items:\n" + body)
    return path


def errors(root: Path):
    return [p for p in Project(root).validate() if p.severity == "error"]


def only_error(root: Path):
    errs = errors(root)
    assert len(errs) == 1, [str(e) for e in errs]
    return errs[0]


def test_unknown_field_names_line_and_suggests(proj):
    path = write_items(proj, GOOD_ITEM.format(id="a").replace("    grade: B2", "    grde: B2"))
    e = only_error(proj) if False else [x for x in errors(proj) if "grde" in x.message][0]
    assert e.file == str(path) and e.line == 9 and e.suggestion == "grade"
    assert "unknown field 'grde'" in str(e) and "did you mean 'grade'" in str(e)


def test_unknown_csv_column_suggests(proj):
    (proj / "evidence" / "extra.csv").write_text("id,event_date,publshed\nx,2024-01-01,2024-01-02\n")
    e = only_error(proj)
    assert e.line == 1 and e.suggestion == "published"


@pytest.mark.parametrize(
    "edit, needle, field",
    [
        (("    source: test\n", ""), "missing required field 'source'", "items.0.source"),
        (("2024-05-01", "2024-13-45"), "not a valid date", "items.0.event_date"),
        (("2024-05-01", "2023-02-30"), "not a valid date", "items.0.event_date"),
        (("2024-05-01", "yesterday"), "not a valid date", "items.0.event_date"),
        (("2024-05-02", "2024-04-01"), "before the event_date", "items.0"),
        (("grade: B2", "grade: G2"), "not an Admiralty grade", "items.0.grade"),
        (("grade: B2", "grade: A7"), "not an Admiralty grade", "items.0.grade"),
        (("    direction: down\n    strength: weak\n", "    value: .nan\n"), "finite number", "items.0.value"),
        (("    direction: down\n    strength: weak\n", "    value: .inf\n"), "finite number", "items.0.value"),
    ],
)
def test_item_errors_name_file_line_and_field(proj, edit, needle, field):
    path = write_items(proj, GOOD_ITEM.format(id="a").replace(*edit))
    e = only_error(proj)
    assert e.file == str(path) and needle in e.message, str(e)
    assert e.field == field and e.line is not None and 2 <= e.line <= 10, str(e)


def test_unknown_indicator_and_question_suggest(proj):
    write_items(proj, GOOD_ITEM.format(id="a").replace("indicator: unrest-risk", "indicator: unrest-risks"))
    e = only_error(proj)
    assert e.suggestion == "unrest-risk" and e.line == 2
    out = CliRunner().invoke(app, ["update", "belarus-entri", "--root", str(proj), "--ledger", str(proj / "l.sqlite")])
    assert out.exit_code == 1 and "did you mean 'belarus-entry'" in out.output


def test_duplicate_ids_across_yaml_and_csv(proj):
    write_items(proj, GOOD_ITEM.format(id="protests-2020"))
    e = only_error(proj)
    assert "duplicate evidence id 'protests-2020'" in e.message and "article-facts.yaml" in e.message


def test_empty_files_and_unsafe_yaml_and_size(proj, tmp_path):
    (proj / "evidence" / "empty.yaml").write_text("  \n")
    (proj / "evidence" / "empty.csv").write_text("")
    marker = tmp_path / "pwned"
    (proj / "evidence" / "evil.yaml").write_text(f'items: !!python/object/apply:os.system ["touch {marker}"]\n')
    (proj / "evidence" / "huge.yaml").write_text("items:\n" + "# padding\n" * 300_000)
    msgs = {Path(e.file).name: e.message for e in errors(proj)}
    assert "empty" in msgs["empty.yaml"] and "empty" in msgs["empty.csv"]
    assert "unsafe" in msgs["evil.yaml"] and not marker.exists()
    assert "limit" in msgs["huge.yaml"]


def test_prior_quote_not_in_article_and_unelicitable_interval(proj):
    spec = proj / "models" / "belarus-entry.yaml"
    text = spec.read_text()
    text = text.replace("Sending the army to war for the Kremlin's interests could end", "Sending the army to war for Moscow could end", 1)
    text = text.replace("dist: gamma\n      interval: [0.2, 1.1]", "dist: halfnormal\n      interval: [5.0, 6.0]", 1)
    spec.write_text(text)
    errs = errors(proj)
    quote = [e for e in errs if "quote not found" in e.message]
    interval = [e for e in errs if "cannot put" in e.message]
    assert len(quote) == 1 and quote[0].field.endswith(".source.quote") and quote[0].line
    assert quote[0].suggestion and "uprisings" in quote[0].suggestion
    assert len(interval) == 1 and interval[0].field.endswith(".interval")


def test_validate_reports_every_problem_at_once(proj):
    write_items(proj, GOOD_ITEM.format(id="a").replace("grade: B2", "grade: Z9") + GOOD_ITEM.format(id="b").replace("2024-05-01", "2024-02-30"))
    (proj / "evidence" / "other.csv").write_text("id,event_date,published,indicator,value,source,grade,quote\nc,2024-01-01,2024-01-02,no-such,1,s,A1,q\n")
    out = CliRunner().invoke(app, ["validate", "--root", str(proj)])
    assert out.exit_code == 1
    assert "Z9" in out.output and "2024-02-30" in out.output and "no-such" in out.output
    assert "3 error(s)" in out.output


def test_bad_input_writes_nothing_and_records_a_failed_run(proj, tmp_path):
    write_items(proj, GOOD_ITEM.format(id="a").replace("grade: B2", "grade: B9"))
    out_dir, ledger = tmp_path / "out", tmp_path / "runs" / "ledger.sqlite"
    out = CliRunner().invoke(app, ["update", "belarus-entry", "--root", str(proj), "--ledger", str(ledger), "--output", str(out_dir), "--draws", "20", "--tune", "20"])
    assert out.exit_code == 1 and "B9" in out.output
    assert not out_dir.exists()
    from forecast.runs.ledger import Ledger

    runs = Ledger(ledger).history("belarus-entry")
    assert list(runs["status"]) == ["failed"] and "bad input" in runs["error"][0]
    assert not (ledger.parent / "belarus-entry").exists()  # no artefact


def test_bad_as_of_date_on_the_cli(proj):
    out = CliRunner().invoke(app, ["update", "belarus-entry", "--as-of", "2024-02-31", "--root", str(proj), "--ledger", str(proj / "l.sqlite")])
    assert out.exit_code == 1 and "not a valid date" in out.output


def test_item_published_after_as_of_is_kept_excluded_and_reported(proj):
    write_items(proj, GOOD_ITEM.format(id="later").replace("2024-05-02", "2099-01-01"))
    problems = Project(proj).validate()
    assert [p for p in problems if p.severity == "error"] == []
    assert any("published in the future" in p.message for p in problems)
    design = forecast.load("belarus-entry", root=proj).design("2024-09-30")
    assert "later" in [e.id for e in design.excluded] and "later" not in design.evidence_ids


def test_load_raises_input_error_with_all_problems(proj):
    write_items(proj, GOOD_ITEM.format(id="a").replace("grade: B2", "grade: Q1"))
    write_items(proj, GOOD_ITEM.format(id="protests-2020"), name="second.yaml")
    with pytest.raises(InputError) as info:
        Project(proj).load("belarus-entry")
    assert len(info.value.problems) >= 2

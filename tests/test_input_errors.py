"""Bad input gets a clear error (file, line, field, near-miss), exit 1 (2 for a bad option value), and nothing is written."""

from __future__ import annotations

import datetime as dt
import re
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
    assert e.suggestion == "unrest-risk" and e.line == 5  # the line of the field, not of the item
    out = CliRunner().invoke(app, ["update", "belarus-entri", "--root", str(proj), "--ledger", str(proj / "l.sqlite")])
    assert out.exit_code == 1 and "did you mean 'belarus-entry'" in out.output
    # no run of a question that does not exist: the ledger holds no row under the misspelt id
    from forecast.runs.ledger import Ledger

    assert Ledger(proj / "l.sqlite").history().empty


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
    # an option value is a usage error (exit 2), refused before the ledger is opened
    out = CliRunner().invoke(app, ["update", "belarus-entry", "--as-of", "2024-02-31", "--root", str(proj), "--ledger", str(proj / "l.sqlite")])
    assert out.exit_code == 2 and "not a valid date" in out.output and "--as-of" in out.output
    assert not (proj / "l.sqlite").exists()


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


# --------------------------------------------------------------------------------------------------
# the same kinds through the Python API (the command-line cases are in test_bad_inputs.py)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-06-15", "2024-06-15"),
        (" 2024-06-15 ", "2024-06-15"),  # a CSV cell with spaces
        (dt.date(2024, 6, 15), "2024-06-15"),
        (dt.datetime(2024, 6, 15), "2024-06-15"),  # how pandas holds a date
        ("20240615", "write 2024-06-15"),
        (20240615, "write 2024-06-15"),
        (1702080000, "a number is never read as a date"),
        (0, "the number 0"),
        (True, "the boolean true"),
        ("2024-W40-1", "write 2024-09-30"),  # ISO week date
        ("2024-166", "write 2024-06-14"),  # ordinal date
        ("2024-06-15T10:00", "time of day"),
        ("2024-06-15 10:00:00+03:00", "write 2024-06-15"),
        ("2024-06-15Z", "time-zone offset"),
        (dt.datetime(2024, 6, 15, 10), "has a time of day"),
        (dt.datetime(2024, 6, 15, tzinfo=dt.timezone.utc), "time zone"),
        ("2024/6/5", "write 2024-06-05"),
        ("15/06/2024", "dates are written YYYY-MM-DD"),
        ("2023-02-29", "day is out of range"),
        (None, "an empty value"),
    ],
)
def test_one_date_reader_for_every_format(value, expected):
    from forecast.core.timegrid import DateFormatError, parse_date

    if expected[0].isdigit():
        assert parse_date(value).isoformat() == expected
    else:
        with pytest.raises(DateFormatError, match=re.escape(expected)):
            parse_date(value)


def test_months_for_replay_and_the_last_month_end():
    from forecast.core.timegrid import DateFormatError, last_month_end_on_or_before, parse_date

    assert parse_date("2024-02", month=True) == dt.date(2024, 2, 1)
    assert parse_date("2024-02", month=True, end=True) == dt.date(2024, 2, 29)
    with pytest.raises(DateFormatError, match="not a valid date"):
        parse_date("2024-02")  # a month only where a month is meant
    assert last_month_end_on_or_before(dt.date(2026, 12, 1)) == dt.date(2026, 11, 30)
    assert last_month_end_on_or_before(dt.date(2026, 11, 30)) == dt.date(2026, 11, 30)
    assert last_month_end_on_or_before(dt.date(2024, 3, 5)) == dt.date(2024, 2, 29)


def test_dataframe_dates_and_numbers_are_read_like_a_file():
    import pandas as pd

    from forecast import Evidence

    good = dict(id="a", event_date="2024-05-01", published="2024-05-02", indicator="unrest-risk", value=0.5, source="s", grade="B2", quote="q")
    cases = {
        "event_date": (20240501, "write 2024-05-01"),
        "published": (pd.Timestamp("2024-05-02 10:30"), "time of day"),
        "value": (True, "not a number"),
    }
    for name, (bad, needle) in cases.items():
        with pytest.raises(InputError) as info:
            Evidence.from_dataframe(pd.DataFrame([{**good, name: bad}]), name="frame")
        (problem,) = info.value.problems
        assert (problem.file, problem.line, problem.field) == ("frame", 1, name) and needle in problem.message
    aware = pd.DataFrame([{**good, "published": pd.Timestamp("2024-05-02", tz="Europe/Minsk")}])
    with pytest.raises(InputError, match="time zone"):
        Evidence.from_dataframe(aware)
    with pytest.raises(InputError, match="missing required columns 'source', 'quote'"):
        Evidence.from_dataframe(pd.DataFrame([good]).drop(columns=["source", "quote"]))
    assert Evidence.from_dataframe(pd.DataFrame([{**good, "event_date": pd.Timestamp("2024-05-01")}])).items[0].event_date == dt.date(2024, 5, 1)


@pytest.fixture
def no_sampling(monkeypatch):
    """Sampling fails the test: every refusal below must come before NUTS."""
    import forecast.inference.sampling as sampling

    def refuse(*a, **k):
        raise AssertionError("sampled")

    monkeypatch.setattr(sampling, "fit_design", refuse)


def test_fit_refuses_a_future_as_of_and_bad_settings_before_sampling(no_sampling):
    from forecast.core.timegrid import DateFormatError
    from forecast.inputs.settings import SampleConfig

    q = forecast.load("belarus-entry", root=ROOT)
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with pytest.raises(DateFormatError, match=f"as-of date {tomorrow} is after today"):
        q.fit(as_of=tomorrow)
    with pytest.raises(DateFormatError, match="write 2024-06-15"):
        q.fit(as_of="20240615")
    for settings, needle in (({"tune": -1}, "tune must be an integer from 10 to 20000, not -1"), ({"chains": 0}, "chains must be an integer from 1 to 16, not 0"),
                             ({"draws": True}, "draws must be an integer"), ({"cores": 0}, "cores must be an integer"),
                             ({"future_paths": 10**6}, "future_paths must be an integer from 1 to 1000")):
        with pytest.raises(ValueError, match=re.escape(needle)):
            q.fit(as_of="2024-12-31", **settings)
    with pytest.raises(ValueError, match="chains x draws = 16 x 20000"):
        SampleConfig(draws=20000, tune=100, chains=16, target_accept=0.9, future_paths=10)


def test_horizons_all_before_the_as_of_date_are_refused_with_the_fix(proj, no_sampling):
    spec = proj / "models" / "belarus-entry.yaml"
    spec.write_text(re.sub(r"^horizons: .*$", "horizons: [2024-12-31, 2025-06-30]", spec.read_text(), flags=re.M))
    q = forecast.load("belarus-entry", root=proj)
    with pytest.raises(InputError) as info:
        q.fit(as_of="2025-07-31")
    (problem,) = info.value.problems
    assert (problem.file, problem.field) == (str(spec), "horizons")
    assert problem.line == spec.read_text().splitlines().index("horizons: [2024-12-31, 2025-06-30]") + 1
    assert "Add a later horizon" in problem.message and "2026-07-31" in problem.message
    # the model data at that date stay available (checks and stored runs use them); only a fit needs a horizon after it
    assert q.design("2025-07-31").as_of == dt.date(2025, 7, 31)


def test_update_api_refuses_a_future_as_of_without_a_succeeded_run(proj, tmp_path, no_sampling):
    from forecast.runs.ledger import Ledger
    from forecast.runs.update import update

    ledger = tmp_path / "runs" / "ledger.sqlite"
    with pytest.raises(ValueError, match="is after today"):
        update("belarus-entry", as_of=dt.date.today() + dt.timedelta(days=31), root=proj, ledger_path=ledger)
    runs = Ledger(ledger).history("belarus-entry")
    assert list(runs["status"]) == ["failed"] and "after today" in runs["error"][0]
    assert not (ledger.parent / "belarus-entry").exists()


def test_replay_stops_at_the_last_month_end_before_today(proj, tmp_path, monkeypatch):
    import forecast.runs.replay as replay_module
    from forecast.core.timegrid import last_month_end_on_or_before

    seen = []

    class Stop(Exception):
        pass

    def make_design_spy(spec, library, items, as_of, *a, **k):
        seen.append(as_of)
        raise Stop

    monkeypatch.setattr(replay_module, "make_design", make_design_spy)  # the grid of the last point: then stop
    spec = proj / "models" / "belarus-entry.yaml"  # a horizon after today, whatever the date the test runs on
    spec.write_text(spec.read_text().replace("2027-12-31]", "2027-12-31, 2060-12-31]", 1))
    today = dt.date.today()
    with pytest.raises(Stop):
        replay_module.replay("belarus-entry", "2024-06", f"{today.year + 3}-12", root=proj, ledger_path=tmp_path / "l.sqlite", progress=False)
    assert seen == [last_month_end_on_or_before(today)]
    with pytest.raises(ValueError, match="on or before today"):
        replay_module.replay("belarus-entry", f"{today.year + 1}-01", f"{today.year + 1}-06", root=proj, ledger_path=tmp_path / "l.sqlite", progress=False)


def test_bounded_yaml_is_fast_and_located(tmp_path):
    from forecast.inputs.yamlio import MAX_ALIAS_VALUES, load_yaml

    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]'] + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\nitems: *a8\n")
    parsed, problems = load_yaml(path)
    assert parsed is None and f"more than {MAX_ALIAS_VALUES:,} values" in problems[0].message
    # a5 (9**6 values) is the first alias whose expansion crosses the bound
    assert problems[0].line == 6
    # aliases used as people use them (a repeated source) are fine and expand normally
    path.write_text("s: &src Reuters\na: [*src, *src]\n")
    parsed, problems = load_yaml(path)
    assert problems == [] and parsed.data == {"s": "Reuters", "a": ["Reuters", "Reuters"]}


def test_atomic_write_names_a_full_disk_and_a_folder(tmp_path, monkeypatch):
    import errno

    import forecast.core.atomic as atomic
    from forecast.core.errors import os_error_message

    target = tmp_path / "run.nc"
    target.write_text("the last good file")

    def hdf_error(path):
        path.write_bytes(b"\0" * 100)
        raise RuntimeError("NetCDF: HDF error")

    # netCDF reports a full disk only as "HDF error": with less than 1 MiB free it is called a full disk
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: type("u", (), {"free": 4096})())
    with pytest.raises(OSError) as info:
        atomic.atomic_write(target, hdf_error)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert os_error_message(info.value).startswith(f"the disk is full: no space left on the device holding {tmp_path}")
    assert target.read_text() == "the last good file" and [p.name for p in tmp_path.iterdir()] == ["run.nc"]
    # with space left, the writer's own error stands (a damaged library is not a full disk)
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: type("u", (), {"free": 10**9})())
    with pytest.raises(RuntimeError, match="HDF error"):
        atomic.atomic_write(target, hdf_error)
    (tmp_path / "folder.nc").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        atomic.atomic_write(tmp_path / "folder.nc", lambda p: p.write_text("x"))
    assert "is a folder, where a file is expected" in os_error_message(info.value)


def test_netcdf_on_a_real_full_disk(tmp_path):
    """The HDF error of a real full disk (a 64 KiB tmpfs; root only) becomes ENOSPC naming the file."""
    import errno
    import os
    import subprocess

    import numpy as np
    import xarray as xr

    from forecast.core.atomic import atomic_write

    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small file system")
    try:
        data = xr.Dataset({"x": ("draw", np.arange(100_000, dtype=float))})  # 800 KB
        with pytest.raises(OSError) as info:
            atomic_write(disk / "run.nc", lambda p: data.to_netcdf(p, engine="netcdf4"))
        assert info.value.errno == errno.ENOSPC and info.value.filename == str(disk / "run.nc")
        assert list(disk.iterdir()) == []  # no half-written file
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_ledger_errors_by_kind(tmp_path):
    from forecast.runs.ledger import Ledger, LedgerError

    (tmp_path / "folder.sqlite").mkdir()
    with pytest.raises(LedgerError, match="is a folder, where the ledger file is expected") as info:
        Ledger(tmp_path / "folder.sqlite")
    assert info.value.kind == "folder"
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 2048)
    for readonly in (False, True):
        with pytest.raises(LedgerError, match="not a usable SQLite database") as info:
            Ledger(damaged, readonly=readonly)
        assert info.value.kind == "damaged"
    # a reader never creates a ledger: a missing one reads as empty
    missing = tmp_path / "none" / "ledger.sqlite"
    reader = Ledger(missing, readonly=True)
    assert reader.history().empty and reader.get(1) is None and reader.last_success("q") is None
    assert not missing.parent.exists()


def test_a_word_outside_a_fixed_set_names_the_value_and_suggests_the_nearest(proj):
    """Every field with a fixed set of words (an item's direction, a spec's `sources`) says what it got."""
    write_items(proj, GOOD_ITEM.format(id="a").replace("    direction: down", "    direction: dwon"))
    e = only_error(proj)
    assert (e.field, e.line, e.suggestion) == ("items.0.direction", 6, "down") and "'dwon' is not one of" in e.message
    (proj / "evidence" / "extra.yaml").unlink()
    spec = proj / "models" / "belarus-entry.yaml"
    spec.write_text(spec.read_text() + "sources: learnd\n")
    e = only_error(proj)
    assert (e.field, e.suggestion) == ("sources", "learned") and "'learnd' is not one of 'fixed' or 'learned'" in e.message

"""A large CSV evidence file: a bad row deep in it is named by its line."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_a_bad_row_deep_in_a_large_csv_is_named(tmp_path):
    from bench_load import write_csv

    from forecast.inputs.evidence import read_evidence_file

    path = tmp_path / "evidence.csv"
    write_csv(path, 20_000)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[15_001] = lines[15_001].replace(",synthetic,", ",synthetic,Z9,", 1).replace(f",{lines[15_001].split(',')[6]},", ",", 1)
    path.write_text("".join(lines), encoding="utf-8")
    items, problems = read_evidence_file(path, max_bytes=path.stat().st_size + 1)
    errors = [p for p in problems if p.severity == "error"]
    assert items == [] and len(errors) == 1, errors
    assert errors[0].line == 15_002 and errors[0].field == "grade", errors[0]
    assert "15002" in str(errors[0]) and "Z9" in str(errors[0])


MIXED = """\ufeffid; event_date ;published;indicator;question;value;direction;strength;resolves;source;grade;quote;url;assumption;notes;draft
lvl-1;2023-01-15;2023-01-20;unrest-risk;;0,5;;;;Agency;b2;"a quote; with a separator";https://example.org/a;yes;;
lvl-2;2023-02-15; 2023-02-20 ;unrest-risk;;-1.25;;;no;Agency; A1 ;  spaces around  ;;;a note;

chg-1;2023-03-01;2023-03-02;military-integration;;;up;strong;;Other;C3;"a quote
over two lines";;TRUE;;
chg-2;2023-03-01;2023-03-02;military-integration;;;down;;;Other;F6;moderate by default;;;;
res-1;2023-04-01;2023-04-01;;belarus-entry;;;;true;Wire;A1;it happened;;;;
drf-1;2023-05-01;2023-05-01;unrest-risk;;;;;;Wire;;a draft without a grade;;;;true
"""


def _per_row(path):
    """The items of a CSV file read the slow way: every row through :func:`validate_row` (the path of a bad row)."""
    import csv

    from forecast.inputs.evidence import validate_row

    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter=";", skipinitialspace=True)
    reader.fieldnames = [c.strip() for c in reader.fieldnames]
    out = []
    for row in reader:
        data = {k: v for k, v in row.items() if v is not None and v.strip() != ""}
        item, problems = validate_row(data, path, reader.line_num, decimal_comma=True)
        assert item is not None and problems == [], problems
        out.append((item, reader.line_num))
    return out


def test_the_fast_path_and_the_per_row_path_give_identical_items(tmp_path):
    from forecast.inputs.evidence import read_csv_evidence

    path = tmp_path / "mixed.csv"
    path.write_text(MIXED, encoding="utf-8")
    items, problems = read_csv_evidence(path)
    assert problems == [], problems
    slow = _per_row(path)
    assert [li.item.model_dump() for li in items] == [item.model_dump() for item, _ in slow]
    assert [li.line for li in items] == [line for _, line in slow] == [2, 3, 6, 7, 8, 9]  # a row spanning lines is named by its last line, as csv counts
    assert {li.file for li in items} == {str(path)}
    by_id = {li.item.id: li.item for li in items}
    assert by_id["lvl-1"].value == 0.5 and by_id["lvl-1"].grade == "B2" and by_id["lvl-1"].assumption is True
    assert by_id["lvl-2"].published.isoformat() == "2023-02-20" and by_id["lvl-2"].grade == "A1" and by_id["lvl-2"].quote == "spaces around"
    assert by_id["chg-1"].observed_value == 1.0 and by_id["chg-2"].observed_value == -0.5
    assert by_id["res-1"].resolves is True and by_id["drf-1"].draft is True and by_id["drf-1"].grade is None


def test_a_csv_over_the_limits_is_refused_with_the_limit_named(tmp_path):
    from bench_load import write_csv

    from forecast.core import limits
    from forecast.inputs.evidence import read_csv_evidence, read_evidence_file

    path = tmp_path / "evidence.csv"
    write_csv(path, 300)
    size = path.stat().st_size
    assert limits.CSV_EVIDENCE_BYTES >= 64 * 1024 * 1024 and limits.CSV_EVIDENCE_ROWS >= 100_000
    items, problems = read_evidence_file(path, max_bytes=size - 1)
    assert items == [] and len(problems) == 1 and f"{size} bytes, above the {size - 1}-byte limit" in problems[0].message
    items, problems = read_csv_evidence(path, max_rows=250)
    assert items == [] and len(problems) == 1, problems
    assert problems[0].line == 252 and "more than 250 rows" in problems[0].message and "split it" in problems[0].message
    assert len(read_csv_evidence(path, max_rows=300)[0]) == 300


def test_a_file_problem_after_the_rows_read_so_far_still_wins(tmp_path):
    """Read as a stream, a file that turns out not to be UTF-8 (or to hold NUL bytes) far down is
    reported as such, and no item of the rows before is kept."""
    from bench_load import write_csv

    from forecast.inputs.evidence import read_evidence_file

    path = tmp_path / "evidence.csv"
    write_csv(path, 5_000)
    good = path.read_bytes()
    path.write_bytes(good + b"row-x,2023-01-15,2023-01-20,unrest-risk,0.1,s,A1,caf\xe9\n")
    items, problems = read_evidence_file(path)
    assert items == [] and len(problems) == 1 and "not UTF-8" in problems[0].message and problems[0].line == 5_002, problems
    path.write_bytes(good + b"row-x,2023-01-15,2023-01-20,unrest-risk,0.1,s,A1,a\x00b\n")
    items, problems = read_evidence_file(path)
    assert items == [] and len(problems) == 1 and "NUL bytes" in problems[0].message and problems[0].line == 5_002, problems
    path.write_bytes(b"\n  \n\t\n")
    items, problems = read_evidence_file(path)
    assert items == [] and [p.message for p in problems] == ["file is empty"]

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

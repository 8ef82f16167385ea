"""The shipped questions: grades weigh evidence monotonically, indicators push the declared way, the CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from forecast.cli import app
from forecast.inference.question import Question
from forecast.inputs.evidence import EvidenceItem, LocatedItem

from .conftest import ROOT

AS_OF = "2024-09-30"
HEADLINE = "2025-12-31"
SETTINGS = dict(draws=1000, tune=700, chains=2, seed=4)

def with_item(q: Question, **fields) -> Question:
    data = {"id": "probe", "event_date": "2024-09-20", "published": "2024-09-25", "source": "test probe", "quote": "probe", **fields}
    extra = LocatedItem(item=EvidenceItem.model_validate(data), file="<probe>", line=1)
    return Question(spec=q.spec, library=q.library, evidence=[*q.evidence, extra])


def headline(result) -> tuple[float, float]:
    row = result.summary().set_index("horizon").loc[result.headline]
    return float(row["mean"]), float(row["mcse"])


@pytest.fixture(scope="module")
def baseline_fit(belarus):
    return belarus.fit(as_of=AS_OF, **SETTINGS)


def test_grade_orders_the_move_of_the_headline(belarus, baseline_fit):
    """Integration observed at +3: an A1 report raises the headline most, C3 less, F6 hardly at all."""
    base, base_se = headline(baseline_fit)
    moves = {}
    for grade in ("A1", "C3", "F6"):
        mean, se = headline(with_item(belarus, indicator="military-integration", value=3.0, grade=grade).fit(as_of=AS_OF, **SETTINGS))
        moves[grade] = (mean - base, np.hypot(se, base_se))
    a1, c3, f6 = (moves[g][0] for g in ("A1", "C3", "F6"))
    noise = max(m[1] for m in moves.values())
    assert a1 > c3 + 2 * noise, moves  # integration pushes toward entry: the moves are rises
    assert c3 > f6 + 2 * noise, moves
    assert abs(f6) < 0.2 * abs(a1) + 3 * noise, moves
    assert a1 > 0.01, moves


def test_cli_update_default_settings_prints_a_clean_headline(tmp_path):
    out = CliRunner().invoke(app, ["update", "belarus-entry", "--as-of", AS_OF, "--root", str(ROOT), "--ledger", str(tmp_path / "ledger.sqlite")])
    assert out.exit_code == 0, out.output
    first = out.stdout.splitlines()[0]
    assert re.match(r'^P\(Belarusian forces enter the war by 2025-12-31\) = \d+% \(90%: [<\d]+%-\d+%\) - "[a-z ]+" \(ICD 203\)$', first), first
    assert "diagnostics OK" in out.stdout
    assert "excluded presidential-election-2025" in out.stdout  # published after the as-of date


def test_cli_json_and_strict_flag_a_short_run(tmp_path):
    out_dir = tmp_path / "out"
    args = ["update", "belarus-entry", "--as-of", AS_OF, "--root", str(ROOT), "--ledger", str(tmp_path / "ledger.sqlite")]
    out = CliRunner().invoke(app, [*args, "--draws", "30", "--tune", "30", "--json", "--strict", "--output", str(out_dir)])
    assert out.exit_code == 4, out.output  # 120 draws cannot reach ESS 400: flagged, not published as clean
    line = json.loads(out.stdout)
    assert line["diagnostics_passed"] is False and [a["rule"] for a in line["alerts"]] == ["diagnostics"]
    files = sorted(p.suffix for p in out_dir.iterdir())
    assert files == [".json", ".nc"]
    summary = json.loads(next(out_dir.glob("*.json")).read_text())
    assert summary["diagnostics"]["passed"] is False and summary["diagnostics"]["problems"]
    assert {"spec", "evidence", "code", "sampler"} <= set(summary["fingerprints"])
    assert {"pymc", "arviz", "numpy", "python"} <= set(summary["versions"])
    assert "[DIAGNOSTICS FLAGGED]" in summary["headline_sentence"]

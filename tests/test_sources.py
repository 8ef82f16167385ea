"""Sources with learned reliability: the registry, its errors, and what the learned weights do.

The simulation: a latent indicator whose true level is +1 is reported by three honest sources (three
B2 reports each, at +1) and by one deceptive source (four B2 reports at -1, the opposite of the
truth). The reference forecast is the fixed-weight fit of the honest reports alone. Every
comparison allows for Monte Carlo error: a difference counts only beyond four Monte Carlo SEs.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import forecast
from forecast.analysis.sources import source_weights
from forecast.cli import app
from forecast.core.errors import InputError
from forecast.inference.question import Question
from forecast.inputs.priors import Prior
from forecast.inputs.project import Project
from forecast.inputs.sources import SourceRegistry
from forecast.inputs.spec import Effect

from .conftest import ROOT, SOURCE, item, question

TRUTH = 1.0
MONTHS = ["2021-01-15", "2021-04-15", "2021-07-15", "2021-10-15"]
HONEST = ("h1", "h2", "h3")
FIT = dict(as_of="2021-12-31", seed=3, draws=400, tune=400, chains=2, future_paths=50)


def registry(ids) -> SourceRegistry:
    return SourceRegistry.model_validate({"sources": [{"id": s, "name": f"Source {s}", "kind": "media", "reliability": "B"} for s in ids]})


def simulated(mode: str | None, liar: bool = True, one_per_source: bool = False) -> Question:
    items = []
    for h in HONEST:
        for j, month in enumerate(MONTHS[:3]):
            items.append(item(f"{h}-{j}", "signal", month, grade="B2", source=h, value=TRUTH))
    if liar:
        items += [item(f"liar-{j}", "signal", month, grade="B2", source="liar", value=-TRUTH) for j, month in enumerate(MONTHS)]
    if one_per_source:
        for it in items:
            it["source"] = it["id"]
    ids = [it["source"] for it in items]
    base = question({"signal": ("toward", 1.0)}, baseline=(2.0, 60.0), risk_window_start="2020-01-01", horizons=("2022-12-31",), items=items,
                    **({"sources": mode} if mode else {}))
    # a known effect (log hazard ratio 1 per unit, 10% prior SD): the headline then follows the indicator's level
    effect = Effect(direction="toward", size=Prior(dist="lognormal", params={"mu": 0.0, "sigma": 0.1}, source=SOURCE))
    spec = base.spec.model_copy(update={"indicators": {"signal": effect}})
    return Question(spec=spec, library=base.library, evidence=base.evidence, sources=registry(sorted(set(ids))))


def headline(result) -> tuple[float, float]:
    row = result.summary().query("headline").iloc[0]
    return float(row["mean"]), float(row["mcse"])


def level_now(result) -> tuple[float, float]:
    import arviz_stats

    da = result.idata["posterior"]["level_now"].sel(indicator="signal")
    return float(da.mean()), float(arviz_stats.mcse(da, method="mean").values)


@pytest.fixture(scope="module")
def fits():
    return {
        "reference": simulated(None, liar=False).fit(**FIT),
        "fixed": simulated(None).fit(**FIT),
        "learned": simulated("learned").fit(**FIT),
    }


# --------------------------------------------------------------------------------------------------
# the registry


@pytest.fixture
def proj(tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ROOT / "models", root / "models")
    shutil.copytree(ROOT / "evidence", root / "evidence")
    return root


def test_shipped_evidence_names_registered_sources(project):
    problems = [p for p in project.validate() if p.field == "source"]
    assert problems == []
    q = Question.from_inputs(project.load("belarus-entry"))
    assert q.spec.sources is None  # shipped questions keep the fixed weights
    design = q.design("2025-06-30")
    assert not design.learned_sources and design.source_priors == ()
    named = {design.evidence_ids[i]: design.source_ids[s] for i, s in enumerate(design.item_source) if s >= 0}
    assert named["protests-2020"] == "article"  # "Article (the August-September 2020 uprisings; ...)"
    assert all(i.startswith("source-picture:") for i, s in zip(design.evidence_ids, design.item_source) if s < 0)


def test_registry_is_not_read_as_evidence(project):
    assert all(Path(p).name != "sources.yaml" for p in project.evidence_paths()[0])


def test_unknown_source_suggests_the_registered_name(proj):
    path = proj / "evidence" / "article-facts.yaml"
    text = path.read_text()
    path.write_text(text.replace("source: Ukrainian intelligence (as reported", "source: Ukrainain inteligence (as reported"))
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "source: Ukrainain inteligence" in t)  # the field's own line
    found = [p for p in Project(proj).validate() if p.field == "source"]
    assert len(found) == 1 and found[0].severity == "warning"  # fixed mode: the source is a label
    p = found[0]
    assert p.file == str(path) and p.line == line and p.suggestion == "Ukrainian intelligence"
    assert "did you mean 'Ukrainian intelligence'?" in str(p)
    # a question that learns source weights cannot weigh the item: an error, same place and hint
    spec = proj / "models" / "belarus-entry.yaml"
    spec.write_text(spec.read_text() + "sources: learned\n")
    found = [p for p in Project(proj).validate() if p.field == "source"]  # said once, as an error
    assert [(e.file, e.line, e.severity, e.suggestion) for e in found] == [(str(path), line, "error", "Ukrainian intelligence")]
    with pytest.raises(InputError, match="Ukrainain inteligence"):
        Project(proj).load("belarus-entry")


def test_a_feed_naming_one_unknown_source_is_one_warning_with_its_count(proj):
    """5,000 rows of one unregistered source: one warning at its first row, counting the others."""
    rows = ["id,event_date,published,indicator,value,source,grade,quote"]
    rows += [f"feed-{i:04d},2023-0{1 + i % 9}-10,2023-0{1 + i % 9}-12,unrest-risk,0.1,Automated feed,B2,row {i}" for i in range(5000)]
    path = proj / "evidence" / "feed.csv"
    path.write_text("\n".join(rows) + "\n")
    found = [p for p in Project(proj).validate() if p.field == "source" and p.file == str(path)]
    assert len(found) == 1 and found[0].severity == "warning" and found[0].line == 2
    assert "'Automated feed' in item 'feed-0000' and 4,999 more items of this file (up to line 5001)" in found[0].message


def test_bad_registry_names_file_line_and_field(proj):
    path = proj / "evidence" / "sources.yaml"
    path.write_text(path.read_text() + "  - id: wire\n    name: Wire\n    kind: media\n    reliability: G\n    nots: x\n")
    problems = {p.field: p for p in Project(proj).validate() if p.file == str(path)}
    lines = path.read_text().splitlines()
    assert problems["sources.4.reliability"].line == lines.index("    reliability: G") + 1
    assert "not an Admiralty reliability letter" in problems["sources.4.reliability"].message
    assert problems["sources.4.nots"].suggestion == "notes"


def test_learned_without_registry_is_an_error(proj):
    (proj / "evidence" / "sources.yaml").unlink()
    spec = proj / "models" / "belarus-entry.yaml"
    spec.write_text(spec.read_text() + "sources: learned\n")
    errors = [p for p in Project(proj).validate() if p.severity == "error"]
    assert len(errors) == 1 and errors[0].field == "sources" and errors[0].file == str(spec)
    assert errors[0].line == len(spec.read_text().splitlines())


def test_item_grade_wins_over_its_source_letter():
    q = simulated("learned")
    items = [dict(li.item.model_dump(), grade="D4") if li.item.id == "liar-0" else li.item.model_dump() for li in q.evidence]
    base = question({"signal": ("toward", 0.8)}, risk_window_start="2020-01-01", horizons=("2022-12-31",), items=items, sources="learned")
    d = Question(spec=base.spec, library=base.library, evidence=base.evidence, sources=q.sources).design("2021-12-31")
    i = d.evidence_ids.index("liar-0")
    assert math.isclose(d.evidence_sd[i], d.evidence_sd[d.evidence_ids.index("liar-1")] * math.sqrt(0.5625 / 0.0625))
    # the source's prior stays centred on its letter (B), whatever one item's grade
    assert math.isclose(math.exp(d.source_priors[d.source_ids.index("liar")].resolved_params()["mu"]), 0.75)


def test_observation_sd_is_the_fixed_sd_at_multiplier_one():
    from forecast.model.hazard import observation_sd

    sd = np.array([0.5, 0.6, 0.7])
    src = np.array([0, -1, 1])
    assert np.allclose(observation_sd(sd, src, np.ones(2)), sd)
    assert np.allclose(observation_sd(sd, src, np.array([0.25, 4.0])), [1.0, 0.6, 0.35])


# --------------------------------------------------------------------------------------------------
# what the learned weights do


def test_deceptive_source_loses_weight_and_the_headline_improves(fits):
    table = source_weights(fits["learned"]).set_index("source")
    liar = table.loc["liar"]
    # clearly below its prior: the whole 90% posterior interval lies under the prior median
    assert liar.posterior_upper_90 < liar.prior_median
    assert liar.posterior_mean + 4 * liar.mcse < liar.prior_median
    truth, truth_se = headline(fits["reference"])
    fixed, fixed_se = headline(fits["fixed"])
    learned, learned_se = headline(fits["learned"])
    se = math.sqrt(truth_se**2 + fixed_se**2 + learned_se**2)
    assert abs(learned - truth) + 4 * se < abs(fixed - truth), (truth, fixed, learned, se)
    # and the indicator itself ends closer to its true level
    (lf, lf_se), (ll, ll_se) = level_now(fits["fixed"]), level_now(fits["learned"])
    assert abs(ll - TRUTH) + 4 * math.hypot(lf_se, ll_se) < abs(lf - TRUTH)


def test_honest_sources_keep_their_weight(fits):
    table = source_weights(fits["learned"]).set_index("source")
    for s in HONEST:
        row = table.loc[s]
        assert row.posterior_mean + 4 * row.mcse >= row.prior_median, row
        assert row.p_below < 0.5
        assert row["items"] == 3


def test_one_item_per_source_learned_and_fixed_agree():
    fixed = simulated(None, liar=False, one_per_source=True).fit(**FIT)
    learned = simulated("learned", liar=False, one_per_source=True).fit(**FIT)
    assert learned.design.learned_sources and len(learned.design.source_ids) == len(learned.design.evidence_ids) - 0
    (hf, sf), (hl, sl) = headline(fixed), headline(learned)
    assert abs(hf - hl) <= 4 * math.hypot(sf, sl), (hf, hl, sf, sl)


def test_fixed_mode_has_no_source_weight(fits):
    assert "source_weight" not in fits["fixed"].idata["posterior"].data_vars
    table = source_weights(fits["fixed"])
    assert set(table["mode"]) == {"fixed"} and np.allclose(table["posterior_mean"], table["prior_median"])


def test_log_likelihood_uses_the_source_weights(fits):
    from scipy import stats

    from forecast.inference.sampling import log_likelihood
    from forecast.model.hazard import observation_sd

    r = fits["learned"]
    d = r.design
    post = r.idata["posterior"].to_dataset().isel(draw=slice(0, 20))
    ours = log_likelihood(d, post)["evidence"].transpose("chain", "draw", "item").values
    level = post["level"].transpose("chain", "draw", "indicator", "month").values[..., d.evidence_indicator, d.evidence_month]
    multiplier = post["source_multiplier"].transpose("chain", "draw", "source").values
    sd = observation_sd(np.asarray(d.evidence_sd), d.item_source, multiplier)
    assert np.allclose(ours, stats.norm.logpdf(d.evidence_value, level, sd), atol=1e-9)
    stored = r.idata["log_likelihood"]["evidence"].isel(draw=slice(0, 20)).transpose("chain", "draw", "item").values
    assert np.allclose(ours, stored, atol=1e-9)


def test_cli_and_api(proj, monkeypatch):
    spec = proj / "models" / "belarus-entry.yaml"
    spec.write_text(spec.read_text() + "sources: learned\nsampler:\n  draws: 200\n  tune: 200\n  chains: 2\n  future_paths: 20\n")
    ledger = proj / "runs" / "ledger.sqlite"
    out = CliRunner().invoke(app, ["sources", "belarus-entry", "--json", "--root", str(proj), "--ledger", str(ledger)])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["mode"] == "learned" and [s["source"] for s in data["sources"]] == ["article", "tsikhanouskaya", "ukrainian-intelligence", "belarus-cec-press"]
    assert data["sources"][0]["prior_median"] == 0.75 and data["sources"][0]["items"] >= 8
    report = forecast.sources("belarus-entry", root=proj, ledger_path=ledger)  # the same run, from the ledger
    assert report.run_id == data["run_id"] and np.isclose(report.table["posterior_mean"].iloc[0], data["sources"][0]["posterior_mean"])
    table = CliRunner().invoke(app, ["sources", "belarus-entry", "--root", str(proj), "--ledger", str(ledger)], terminal_width=200)
    assert table.exit_code == 0 and "learned weights" in table.output and "tsikhanouskaya" in table.output

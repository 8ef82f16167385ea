"""Shared fixtures: the repository's project and small hand-built questions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from forecast.inference.question import Question
from forecast.inputs.evidence import EvidenceItem, LocatedItem
from forecast.inputs.project import Project
from forecast.inputs.spec import IndicatorLibrary, QuestionSpec

ROOT = Path(__file__).resolve().parents[1]
SOURCE = {"quote": "test passage", "reasoning": "test prior"}


# Test files by the seconds they took in a run from an empty compile cache on 2 cores (measured,
# rounded; only the order matters). The runner's two workers take whole files (``--dist loadfile``)
# in collection order, so the longest go first and the run does not end on one worker still busy
# with a long file while the other idles (``--no-loadscope-reorder`` keeps this order; xdist's own
# puts the files with the most tests first). Files not listed follow in name order.
COST_SECONDS = {
    "test_notebooks.py": 200, "test_dask.py": 131, "test_brief.py": 128, "test_indicator_directions.py": 102,
    "test_semantics.py": 81, "test_shipped_models.py": 72, "test_replay.py": 67, "test_model.py": 63,
    "test_figures.py": 60, "test_sources.py": 54, "test_collapse.py": 48, "test_influence.py": 48,
    "test_checks.py": 44, "test_whitening.py": 43, "test_site.py": 38, "test_scheduler.py": 24,
    "test_inference.py": 23, "test_storage.py": 17, "test_bad_inputs.py": 13, "test_rolling.py": 12, "test_cluster.py": 12,
}


def pytest_collection_modifyitems(config, items):
    """Longest files first (see :data:`COST_SECONDS`); within a file, the order of its tests is kept."""
    items.sort(key=lambda item: -COST_SECONDS.get(item.path.name, 0))  # a stable sort


@pytest.fixture(scope="session", autouse=True)
def chains_in_the_test_process():
    """Every fit of the suite runs its chains one after another in the test's process.

    The suite's two workers keep both cores busy, so chain processes would add their start-up
    (measured: a belarus-entry fit of 2 x 600 steps took 4.5 s with 2 chain processes against 4.0 s
    in one, with a second fit running beside it) and gain nothing. The draws do not depend on it
    (``test_chain_processes_do_not_change_the_draws``), so the Dask tests' in-process reference runs
    keep the limit too. ``$FORECAST_CHAIN_PROCESSES`` carries the limit to the processes the
    tests start (the notebooks' kernels, ``forecast`` run as a command): a notebook's small fits
    spent more time starting two chain processes than sampling.
    """
    from forecast.inference.sampling import CHAIN_PROCESSES_ENV, chain_processes

    with pytest.MonkeyPatch.context() as mp, chain_processes(1):
        mp.setenv(CHAIN_PROCESSES_ENV, "1")
        yield


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(ROOT)


@pytest.fixture(scope="session")
def belarus(project) -> Question:
    return Question.from_inputs(project.load("belarus-entry"))


def library(indicators: dict[str, dict] | None = None, reference_date="2020-01-01") -> IndicatorLibrary:
    """An indicator library; ``indicators`` maps id -> {level: (mu, sigma), volatility: sigma}."""
    indicators = indicators or {"signal": {"level": (0.0, 1.0), "volatility": 0.2}}
    return IndicatorLibrary.model_validate(
        {
            "reference_date": reference_date,
            "source": "none.txt",
            "source_title": "test",
            "indicators": [
                {
                    "id": k,
                    "name": k,
                    "description": k,
                    "scale": "standardized",
                    "level": {"dist": "normal", "params": {"mu": v["level"][0], "sigma": v["level"][1]}, "source": SOURCE},
                    "volatility": {"dist": "halfnormal", "params": {"sigma": v["volatility"]}, "source": SOURCE},
                }
                for k, v in indicators.items()
            ],
        }
    )


def question(
    effects: dict[str, tuple[str, float]] | None = None,
    baseline=(2.0, 30.0),
    per="month",
    risk_window_start="2020-01-01",
    horizons=("2022-07-01", "2023-01-01"),
    items: list[dict] | None = None,
    lib: IndicatorLibrary | None = None,
    **spec_extra,
) -> Question:
    """A small question. ``effects`` maps indicator -> (direction, halfnormal sigma of the size)."""
    effects = effects or {}
    spec = QuestionSpec.model_validate(
        {
            "id": "test-question",
            "question": "Will the test event happen?",
            "event": "the test event happens",
            "resolution_criteria": "test",
            "risk_window_start": risk_window_start,
            "horizons": list(horizons),
            "headline_lead_months": 0,
            "baseline": {"per": per, "probability": {"dist": "beta", "params": {"alpha": baseline[0], "beta": baseline[1]}, "source": SOURCE}},
            "indicators": {
                k: {"direction": d, "size": {"dist": "halfnormal", "params": {"sigma": s}, "source": SOURCE}} for k, (d, s) in effects.items()
            },
            **spec_extra,
        }
    )
    located = [LocatedItem(item=EvidenceItem.model_validate(i), file="<test>", line=n + 1) for n, i in enumerate(items or [])]
    return Question(spec=spec, library=lib or library({k: {"level": (0.0, 1.0), "volatility": 0.2} for k in effects} or None), evidence=located)


def walk_point(design, seed: int = 5) -> dict:
    """Random values of the random walk's free parameters for ``design`` (a warm start, as a replay or refit gives one)."""
    rng = np.random.default_rng(seed)
    k, t = len(design.indicator_ids), design.n_months
    return {"level_start": rng.normal(0, 1, k), "volatility": rng.uniform(0.05, 0.3, k), "innovation": rng.normal(0, 1, (k, t - 1)),
            "effect_size": np.ones(k), "baseline_probability": 0.1}


def item(id: str, indicator: str, date: str, published: str | None = None, grade="A1", **kw) -> dict:
    return {"id": id, "event_date": date, "published": published or date, "indicator": indicator, "source": "test", "grade": grade, "quote": "test", **kw}


def dates(*s: str) -> list[dt.date]:
    return [dt.date.fromisoformat(x) for x in s]

"""forecast: Bayesian forecasting of "will <event> happen, and by when?" from question specs and graded evidence.

The common case::

    import forecast
    q = forecast.load("belarus-entry")
    result = q.fit(as_of="2024-09-30", seed=1)
    result.summary()
"""

from forecast.core.errors import InputError, Problem
from forecast.inference.question import Question, load
from forecast.inputs.evidence_set import Evidence
from forecast.inputs.project import Project, validate
from forecast.inputs.scaffold import new

__all__ = ["InputError", "Problem", "Project", "Question", "Evidence", "FitResult", "load", "validate", "new", "update", "update_all", "history", "history_view", "replay", "replay_all", "brief", "plots", "check", "intake", "site", "prune", "sources"]
__version__ = "0.1.0"


_LAZY = {
    "FitResult": ("inference.result", "FitResult"),
    "update": ("runs.update", "update"),  # forecast update: ledger, no-op when unchanged, alerts
    "update_all": ("runs.update", "update_all"),  # forecast update --all: one task per question (Dask optional)
    "history": ("runs.update", "history"),  # forecast history: the ledger as a DataFrame
    "history_view": ("runs.history_view", "history_view"),  # the same runs as a table for a notebook
    "replay": ("runs.replay", "replay"),  # forecast replay
    "replay_all": ("runs.replay", "replay_all"),  # forecast replay --all: one task per question (Dask optional)
    "brief": ("reports.brief", "brief"),  # forecast brief: PDF + HTML + figures of a recorded run
    "plots": ("reports.plots", None),  # forecast.plots.by_date(result), ...: the briefing figures
    "site": ("reports.site", "build_site"),  # forecast site: static dashboard of every question from the ledger
    "check": ("checks", "check"),  # forecast check: prior predictive, SBC, sensitivity, PPC, scoring, what to watch
    "intake": ("inputs.intake", "intake"),  # forecast intake: draft evidence items from a report
    "prune": ("runs.retention", "prune"),  # forecast prune: delete the files of older runs
    "sources": ("reports.sources", "sources"),  # forecast sources: each source's prior and posterior weight
}


def __getattr__(name):  # heavy modules (PyMC, ArviZ, pandas) load only when used
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        loaded = importlib.import_module(f".{module}", __name__)
        return loaded if attr is None else getattr(loaded, attr)
    raise AttributeError(f"module 'forecast' has no attribute {name!r}")

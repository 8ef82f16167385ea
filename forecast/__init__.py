"""forecast: Bayesian forecasting of "will <event> happen, and by when?" from question specs and graded evidence.

The common case::

    import forecast
    q = forecast.load("belarus-entry")
    result = q.fit(as_of="2024-09-30", seed=1)
    result.summary()
"""

from .errors import InputError, Problem
from .evidence_set import Evidence
from .project import Project, Question, load, validate
from .scaffold import new

__all__ = ["InputError", "Problem", "Project", "Question", "Evidence", "FitResult", "load", "validate", "new", "update", "history", "history_view", "replay", "brief", "check"]
__version__ = "0.1.0"


_LAZY = {
    "FitResult": ("result", "FitResult"),
    "update": ("runner", "update"),  # forecast update: ledger, no-op when unchanged, alerts
    "history": ("runner", "history"),  # forecast history: the ledger as a DataFrame
    "history_view": ("html", "history_view"),  # the same runs as a table for a notebook
    "replay": ("replay", "replay"),  # forecast replay
    "brief": ("reports.brief", "brief"),  # forecast brief: PDF + HTML + figures of a recorded run
    "check": ("checks", "check"),  # forecast check: prior predictive, SBC, sensitivity, PPC, scoring, what to watch
}


def __getattr__(name):  # heavy modules (PyMC, ArviZ, pandas) load only when used
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'forecast' has no attribute {name!r}")
